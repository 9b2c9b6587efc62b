//! How the workspace's client portal looks, for staff: `GET`/`PUT /api/v1/portal/branding`
//! (the accent colour) and `PUT`/`DELETE /api/v1/portal/branding/logo` (the logo, a
//! `multipart/form-data` body with one part named `file`). Changing the look needs
//! `workspace.manage` (the workspace's name and general settings) and a step-up, like the
//! workspace's name: customers trust a page by the business's name and logo. Through
//! `holdfast_app::portal::brand`.

use crate::audit;
use crate::extract::{ClientInfo, JsonBody};
use crate::guard::{Authed, Guard};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::routing::{get, put};
use holdfast_app::portal::brand as app;
use holdfast_core::access::policy::Permission;
use holdfast_core::brand::{BrandingIn, BrandingOut, LOGO_MAX_BYTES, logo_too_large};

const MANAGE: Guard = Guard::StaffStepUp {
    permission: Permission::WorkspaceManage,
};

pub fn routes(t: &mut RouteTable) {
    let doc = |summary| Doc::new("Client portal", summary);
    t.add(
        Method::GET,
        "/api/v1/portal/branding",
        Guard::Staff {
            permission: Permission::WorkspaceManage,
        },
        doc("How the workspace's client portal looks: its accent colour and logo")
            .response::<BrandingOut>(200),
        get(branding_get),
    );
    t.add(
        Method::PUT,
        "/api/v1/portal/branding",
        MANAGE,
        doc(
            "Set the client portal's accent colour (#rrggbb; null for the portal's own). The \
             text on it is white or black, whichever contrasts more",
        )
        .request::<BrandingIn>()
        .response::<BrandingOut>(200),
        put(branding_put),
    );
    t.add(
        Method::PUT,
        "/api/v1/portal/branding/logo",
        MANAGE,
        doc(
            "Upload the client portal's logo: multipart/form-data with one part named file, a \
             PNG, JPEG or WebP image of at most 256 KiB",
        )
        .upload("file")
        .response::<BrandingOut>(200),
        put(logo_put),
    );
    t.add(
        Method::DELETE,
        "/api/v1/portal/branding/logo",
        MANAGE,
        doc("Remove the client portal's logo").no_content(),
        axum::routing::delete(logo_delete),
    );
}

async fn branding_get(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> ApiResult<Json<BrandingOut>> {
    Ok(Json(app::branding(&state, &actor).await?))
}

async fn branding_put(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    JsonBody { value: body, .. }: JsonBody<BrandingIn>,
) -> ApiResult<Json<BrandingOut>> {
    let colour = body.validate().map_err(Problem::validation)?;
    let origin = audit::origin(&actor, &client);
    Ok(Json(
        app::set_colour(&state, &actor, &origin, colour).await?,
    ))
}

async fn logo_put(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<BrandingOut>> {
    let sent =
        crate::upload::one_file_within(&headers, body, LOGO_MAX_BYTES, logo_too_large).await?;
    let origin = audit::origin(&actor, &client);
    Ok(Json(
        app::set_logo(&state, &actor, &origin, &sent.bytes).await?,
    ))
}

async fn logo_delete(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
) -> ApiResult<StatusCode> {
    let origin = audit::origin(&actor, &client);
    app::remove_logo(&state, &actor, &origin).await?;
    Ok(StatusCode::NO_CONTENT)
}
