//! `/api/v1/api-keys`: a workspace's API keys (admins only).

use crate::audit;
use crate::extract::{ClientInfo, JsonBody};
use crate::guard::Authed;
use crate::guard::Guard;
use crate::paging::Page;
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::routing::{delete, get, post};
use holdfast_app::access::api_keys::{create_key, revoke_key};
use holdfast_core::access::api_keys::{ApiKeyCreated, ApiKeyIn, ApiKeyOut};
use holdfast_core::access::policy::Permission;
use holdfast_core::ids::ApiKeyId;
use holdfast_store::access::api_keys;

/// API keys are security settings: seeing them needs `settings.security`, changing them also
/// a step-up.
const SEE: Guard = Guard::Staff {
    permission: Permission::SettingsSecurity,
};
const CHANGE: Guard = Guard::StaffStepUp {
    permission: Permission::SettingsSecurity,
};

pub fn routes(t: &mut RouteTable) {
    let doc = |summary| Doc::new("api-keys", summary);
    t.add(
        Method::POST,
        "/api/v1/api-keys",
        CHANGE,
        doc("Create an API key (the secret is shown once)")
            .request::<ApiKeyIn>()
            .response::<ApiKeyCreated>(201),
        post(api_key_create),
    );
    t.add(
        Method::GET,
        "/api/v1/api-keys",
        SEE,
        doc("List API keys (never their secrets)").response::<Page<ApiKeyOut>>(200),
        get(api_key_list),
    );
    t.add(
        Method::DELETE,
        "/api/v1/api-keys/{id}",
        CHANGE,
        doc("Revoke an API key, effective immediately").no_content(),
        delete(api_key_revoke),
    );
}

async fn api_key_create(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    body: JsonBody<ApiKeyIn>,
) -> ApiResult<(StatusCode, Json<ApiKeyCreated>)> {
    let (name, requested) = body.value.validate().map_err(Problem::validation)?;
    let origin = audit::origin(&actor, &client);
    let created = create_key(&state, &actor, &origin, &name, &requested).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

async fn api_key_list(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> ApiResult<Json<Page<ApiKeyOut>>> {
    let mut tx = state.db.read(&actor.tenant).await?;
    let keys = api_keys::list(&mut tx).await?;
    tx.commit().await?;
    Ok(Json(Page {
        data: keys,
        next_cursor: None,
    }))
}

async fn api_key_revoke(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = ApiKeyId::parse(&id).ok_or_else(|| Problem::not_found("api key"))?;
    let origin = audit::origin(&actor, &client);
    if !revoke_key(&state, &actor, &origin, &id).await? {
        return Err(Problem::not_found("api key"));
    }
    Ok(StatusCode::NO_CONTENT)
}
