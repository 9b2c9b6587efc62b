//! `POST /api/portal/v1/auth/magic-link` `{workspace, email}`: asks for a client portal
//! sign-in link. Always 202 at once (no enumeration, no timing signal): the look-up and the
//! mail happen afterwards (`holdfast_app::portal::sign_in::request_link`). Public, limited per
//! client address like sign-in, and per address mailed (`LINKS_PER_EMAIL_PER_HOUR`).

use crate::extract::JsonBody;
use crate::guard::{Guard, RateLimit};
use crate::problem::ApiResult;
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use axum::Json;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::routing::post;
use holdfast_app::portal::sign_in as app;
use holdfast_core::portal::MagicLinkIn;
use schemars::JsonSchema;
use serde::Serialize;

/// The answer to a sign-in link request: the same for every address.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MagicLinkOut {
    pub detail: String,
}

pub fn routes(t: &mut RouteTable) {
    t.add(
        Method::POST,
        "/api/portal/v1/auth/magic-link",
        Guard::Public {
            rate_limit: RateLimit::Auth,
        },
        Doc::new(
            "portal",
            "Ask for a client portal sign-in link by email (202 for every address)",
        )
        .request::<MagicLinkIn>()
        .response::<MagicLinkOut>(202),
        post(magic_link),
    );
}

async fn magic_link(
    State(state): State<AppState>,
    JsonBody { value: body, .. }: JsonBody<MagicLinkIn>,
) -> ApiResult<(StatusCode, Json<MagicLinkOut>)> {
    app::request_link(&state, &body)?;
    Ok((
        StatusCode::ACCEPTED,
        Json(MagicLinkOut {
            detail: "if this address may sign in to this workspace's portal, a sign-in link is \
                     on its way; it works once, within 24 hours"
                .to_owned(),
        }),
    ))
}
