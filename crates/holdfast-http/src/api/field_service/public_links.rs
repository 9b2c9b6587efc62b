//! `/api/v1/jobs/{id}/public-link` (module `field_service`, `jobs.write`): issue a job's public
//! link for the customer — again to replace it, the old link opening nothing from then on — and
//! revoke it. The answer to an issue carries the token and the page's address this once; only
//! its SHA-256 is kept. Limited to the jobs the caller reaches (a technician: their own; any
//! other job is 404). The page itself is `pages/field_service/job_link.rs`.

use crate::audit;
use crate::extract::ClientInfo;
use crate::guard::{Authed, Guard};
use crate::problem::ApiResult;
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::routing::{delete, post};
use holdfast_app::field_service::public_links as app;
use holdfast_core::access::policy::Permission;
use schemars::JsonSchema;
use serde::Serialize;

const WRITE: Guard = Guard::Staff {
    permission: Permission::JobsWrite,
};

/// A job's public link, shown once.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PublicLinkOut {
    /// The page's address to send the customer (`…/p/jobs/hfpj_…`).
    pub url: String,
    /// The link's token (256 bits; only its SHA-256 is kept).
    pub token: String,
}

pub fn routes(t: &mut RouteTable) {
    let doc = |summary| Doc::new("jobs", summary);
    t.add(
        Method::POST,
        "/api/v1/jobs/{id}/public-link",
        WRITE,
        doc("Issue the job's public link for the customer (again: the old link opens nothing); the token is shown once")
            .response::<PublicLinkOut>(201),
        post(public_link_issue),
    );
    t.add(
        Method::DELETE,
        "/api/v1/jobs/{id}/public-link",
        WRITE,
        doc("Revoke the job's public link: it opens nothing from now on").no_content(),
        delete(public_link_revoke),
    );
}

async fn public_link_issue(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<PublicLinkOut>)> {
    let origin = audit::origin(&actor, &client);
    let issued = app::issue_job_link(&state, &actor, &origin, &id).await?;
    Ok((
        StatusCode::CREATED,
        Json(PublicLinkOut {
            url: issued.url.expose().clone(),
            token: issued.token.expose().clone(),
        }),
    ))
}

async fn public_link_revoke(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let origin = audit::origin(&actor, &client);
    app::revoke_job_link(&state, &actor, &origin, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
