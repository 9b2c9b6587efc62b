//! Whether a browser page of an origin may read the portal API's answers (CORS): for a
//! signed-in customer's request, when their workspace lists the origin; for a preflight or a
//! request without a portal credential (which name no workspace), when any workspace does.
//! Staff routes never answer these origins. Set with the portal's settings (`access`).

use crate::{App, AppResult};
use holdfast_store::Tenant;
use holdfast_store::portal::origins;

/// Whether the workspace lets pages of `origin` call its portal API.
pub async fn allowed(app: &App, tenant: &Tenant, origin: &str) -> AppResult<bool> {
    let mut tx = app.db.read(tenant).await?;
    let listed = origins::listed(&mut tx, origin).await?;
    tx.commit().await?;
    Ok(listed)
}

/// Whether some workspace lets pages of `origin` call its portal API.
pub async fn listed_anywhere(app: &App, origin: &str) -> AppResult<bool> {
    Ok(origins::unscoped_listed(&app.db, origin).await?)
}
