//! `/api/v1/api-keys`: a workspace's API keys (admins only).

use crate::api::Page;
use crate::api::roles::{grantable, may_act_on};
use crate::audit;
use crate::extract::{ClientInfo, JsonBody};
use crate::guard::Authed;
use crate::problem::{ApiResult, Problem};
use crate::routes::{Doc, Guard, RouteTable};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::routing::{delete, get, post};
use holdfast_core::access::api_keys::{ApiKeyCreated, ApiKeyIn, ApiKeyOut};
use holdfast_core::access::policy::Permission;
use holdfast_core::ids::ApiKeyId;
use holdfast_store::access::api_keys;
use holdfast_store::identity::auth::Principal;
use serde_json::json;

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
    let mut tx = state.db.write(&actor.tenant).await?;
    let role = grantable(&mut tx, &actor, &requested).await?;
    let now = state.clock.now_ms();
    // A key made by a key answers to the same user as its parent: otherwise a member could
    // mint, with their own key, one that survives their removal.
    let maker = match &actor.principal {
        Principal::User { user_id, .. } => Some(user_id.to_string()),
        Principal::ApiKey(key) => api_keys::maker_of(&mut tx, key).await?,
    };
    let created = api_keys::create(&mut tx, &name, &role, maker.as_deref(), now).await?;
    let event = audit::by(
        &actor,
        &client,
        "api_key.created",
        "api_key",
        created.key.id.as_str(),
        json!({"name": name, "role": role.as_str()}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    tracing::info!(key_id = %created.key.id, role = role.as_str(), "api key created");
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
    let mut tx = state.db.write(&actor.tenant).await?;
    let now = state.clock.now_ms();
    // Revoking someone's key is acting on them: it needs every permission the key holds.
    if let Some(role) = api_keys::role_of(&mut tx, &id).await? {
        may_act_on(&mut tx, &actor, &role).await?;
    }
    if !api_keys::revoke(&mut tx, &id, now).await? {
        return Err(Problem::not_found("api key"));
    }
    let event = audit::by(
        &actor,
        &client,
        "api_key.revoked",
        "api_key",
        id.as_str(),
        json!({}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    tracing::info!(key_id = %id, "api key revoked");
    Ok(StatusCode::NO_CONTENT)
}
