//! Who may sign in to the portal: a contact's own setting (`portal_access`) when staff chose
//! one, else the workspace's default (`workspaces.portal_default`). The rule itself is
//! `holdfast_core::portal::has_access`.

use crate::db::Db;
use crate::error::StoreError;
use crate::tenant::{Tenant, TenantTx};
use holdfast_core::access::modules::ModuleSet;
use holdfast_core::brand::{Brand, Colour};
use holdfast_core::ids::{ContactId, WorkspaceId};

/// A workspace as its portal shows it.
#[derive(Debug, Clone)]
pub struct PortalSite {
    pub slug: String,
    pub name: String,
    pub modules: ModuleSet,
    pub portal_default: bool,
    /// The portal's accent colour and logo digest (`holdfast_core::brand`).
    pub colour: Option<Colour>,
    pub logo: Option<String>,
}

impl PortalSite {
    /// How the portal's pages show the workspace.
    pub fn brand(&self) -> Brand {
        Brand {
            name: self.name.clone(),
            slug: self.slug.clone(),
            colour: self.colour,
            logo: self.logo.clone(),
        }
    }
}

#[derive(sqlx::FromRow)]
struct SiteRow {
    id: String,
    slug: String,
    name: String,
    modules: String,
    portal_default: i64,
    portal_colour: Option<String>,
    portal_logo_sha256: Option<String>,
}

impl SiteRow {
    fn site(self) -> PortalSite {
        PortalSite {
            slug: self.slug,
            name: self.name,
            modules: ModuleSet::from_json(&self.modules),
            portal_default: self.portal_default == 1,
            colour: self.portal_colour.as_deref().and_then(Colour::parse),
            logo: self.portal_logo_sha256,
        }
    }
}

/// The workspace whose portal is at `/portal/{slug}`: the portal's sign-in pages' one read
/// before a customer is known. `None` for an unknown slug.
pub async fn unscoped_portal_site(
    db: &Db,
    slug: &str,
) -> Result<Option<(Tenant, PortalSite)>, StoreError> {
    let row: Option<SiteRow> = sqlx::query_as(
        "SELECT id, slug, name, modules, portal_default, portal_colour, portal_logo_sha256 \
         FROM workspaces WHERE slug = $1",
    )
    .bind(slug)
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.map(|r| {
        (
            Tenant::new(WorkspaceId::from_trusted(r.id.clone())),
            r.site(),
        )
    }))
}

/// The transaction's workspace as its portal shows it.
pub async fn site(tx: &mut TenantTx<'_>) -> Result<PortalSite, StoreError> {
    let ws = tx.ws().to_owned();
    let row: SiteRow = sqlx::query_as(
        "SELECT id, slug, name, modules, portal_default, portal_colour, portal_logo_sha256 \
         FROM workspaces WHERE id = $1",
    )
    .bind(ws)
    .fetch_one(tx.conn())
    .await?;
    Ok(row.site())
}

/// Whether the contact may sign in now: they exist, have an email address, and their own
/// setting (or the workspace's default) lets them.
pub async fn allowed(tx: &mut TenantTx<'_>, contact: &ContactId) -> Result<bool, StoreError> {
    let ws = tx.ws().to_owned();
    let row: Option<(Option<String>, Option<i64>, i64)> = sqlx::query_as(
        "SELECT c.email, a.allowed, w.portal_default FROM contacts c \
         JOIN workspaces w ON w.id = c.workspace_id \
         LEFT JOIN portal_access a ON a.workspace_id = c.workspace_id AND a.contact_id = c.id \
         WHERE c.workspace_id = $1 AND c.id = $2",
    )
    .bind(ws)
    .bind(contact.as_str())
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.is_some_and(|(email, own, default)| {
        holdfast_core::portal::has_access(
            own.map(|a| a == 1),
            default == 1,
            email.is_some_and(|e| !e.trim().is_empty()),
        )
    }))
}

/// The contact's own setting: `None` when staff never chose (the workspace's default holds).
pub async fn own_setting(
    tx: &mut TenantTx<'_>,
    contact: &ContactId,
) -> Result<Option<bool>, StoreError> {
    let ws = tx.ws().to_owned();
    let allowed: Option<i64> = sqlx::query_scalar(
        "SELECT allowed FROM portal_access WHERE workspace_id = $1 AND contact_id = $2",
    )
    .bind(ws)
    .bind(contact.as_str())
    .fetch_optional(tx.conn())
    .await?;
    Ok(allowed.map(|a| a == 1))
}

/// Sets (or, with `None`, clears back to the workspace's default) the contact's own setting.
pub async fn set_own(
    tx: &mut TenantTx<'_>,
    contact: &ContactId,
    allowed: Option<bool>,
    by: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    match allowed {
        None => {
            sqlx::query("DELETE FROM portal_access WHERE workspace_id = $1 AND contact_id = $2")
                .bind(ws)
                .bind(contact.as_str())
                .execute(tx.conn())
                .await?;
        }
        Some(allowed) => {
            sqlx::query(
                "INSERT INTO portal_access (workspace_id, contact_id, allowed, changed_by, changed_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (workspace_id, contact_id) \
                 DO UPDATE SET allowed = excluded.allowed, changed_by = excluded.changed_by, \
                 changed_at = excluded.changed_at",
            )
            .bind(ws)
            .bind(contact.as_str())
            .bind(i64::from(allowed))
            .bind(by)
            .bind(now_ms)
            .execute(tx.conn())
            .await?;
        }
    }
    Ok(())
}

/// Sets the workspace's default for contacts whose access staff never chose; turning it off
/// ends those contacts' sessions and spends their links (turning it on later brings none back).
pub async fn set_default(
    tx: &mut TenantTx<'_>,
    allowed: bool,
    now_ms: i64,
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    sqlx::query("UPDATE workspaces SET portal_default = $1 WHERE id = $2")
        .bind(i64::from(allowed))
        .bind(ws)
        .execute(tx.conn())
        .await?;
    if !allowed {
        super::sessions::close(tx, super::sessions::Closing::DefaultFollowers, now_ms).await?;
    }
    Ok(())
}

/// The company the contact is the billing contact of, while they still belong to it (staff's
/// mark on an earlier company of theirs opens nothing).
pub async fn billing_company(
    tx: &mut TenantTx<'_>,
    contact: &ContactId,
) -> Result<Option<String>, StoreError> {
    let ws = tx.ws().to_owned();
    Ok(sqlx::query_scalar(
        "SELECT b.company_id FROM portal_billing_contacts b JOIN contacts c \
         ON c.workspace_id = b.workspace_id AND c.id = b.contact_id AND c.company_id = b.company_id \
         WHERE b.workspace_id = $1 AND b.contact_id = $2",
    )
    .bind(ws)
    .bind(contact.as_str())
    .fetch_optional(tx.conn())
    .await?)
}

/// The company a contact belongs to now, if any.
pub async fn company_of(
    tx: &mut TenantTx<'_>,
    contact: &ContactId,
) -> Result<Option<String>, StoreError> {
    let ws = tx.ws().to_owned();
    let company: Option<Option<String>> =
        sqlx::query_scalar("SELECT company_id FROM contacts WHERE workspace_id = $1 AND id = $2")
            .bind(ws)
            .bind(contact.as_str())
            .fetch_optional(tx.conn())
            .await?;
    Ok(company.flatten())
}

/// Marks the contact the billing contact of `company` (their company now), or, with `None`,
/// of no company: every earlier mark of theirs goes.
pub async fn set_billing(
    tx: &mut TenantTx<'_>,
    contact: &ContactId,
    company: Option<&str>,
    by: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    sqlx::query("DELETE FROM portal_billing_contacts WHERE workspace_id = $1 AND contact_id = $2")
        .bind(&ws)
        .bind(contact.as_str())
        .execute(tx.conn())
        .await?;
    if let Some(company) = company {
        sqlx::query(
            "INSERT INTO portal_billing_contacts (workspace_id, contact_id, company_id, \
             marked_by, marked_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&ws)
        .bind(contact.as_str())
        .bind(company)
        .bind(by)
        .bind(now_ms)
        .execute(tx.conn())
        .await?;
    }
    Ok(())
}
