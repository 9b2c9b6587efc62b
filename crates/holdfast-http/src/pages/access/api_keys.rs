//! `/app/settings/api-keys`: the workspace's API keys (never their secrets), creating one (the
//! key shown once) and revoking one — the same guards as `/api/v1/api-keys` (seeing them needs
//! `settings.security`, changing them also a step-up), through `holdfast_app::access::api_keys`.

use crate::audit;
use crate::console::settings::{RoleChoice, Shell, role_choices, role_name};
use crate::console::{self, Frame, is_htmx, see_other};
use crate::extract::{ClientInfo, QueryParams};
use crate::guard::{Authed, Guard};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use holdfast_app::access::api_keys::{create_key, revoke_key};
use holdfast_app::access::roles::all_roles;
use holdfast_core::access::api_keys::{ApiKeyCreated, ApiKeyIn};
use holdfast_core::access::policy::Permission;
use holdfast_core::ids::ApiKeyId;
use holdfast_store::access::api_keys;
use holdfast_store::identity::auth::Actor;
use serde::Deserialize;

const HERE: &str = "/app/settings/api-keys";
const SEE: Guard = Guard::Staff {
    permission: Permission::SettingsSecurity,
};
const CHANGE: Guard = Guard::StaffStepUp {
    permission: Permission::SettingsSecurity,
};

pub fn routes(t: &mut RouteTable) {
    t.add(
        Method::GET,
        HERE,
        SEE,
        Doc::page("Console", "The workspace's API keys"),
        get(keys_page),
    );
    t.add(
        Method::POST,
        HERE,
        CHANGE,
        Doc::page("Console", "Create an API key (shown once)"),
        post(key_create),
    );
    t.add(
        Method::POST,
        "/app/settings/api-keys/{id}/revoke",
        CHANGE,
        Doc::page("Console", "Revoke an API key").redirect(),
        post(key_revoke),
    );
}

struct ShownKey {
    id: String,
    name: String,
    role: String,
    prefix: String,
    created: String,
    last_used: String,
    revoked: bool,
}

struct Created {
    name: String,
    secret: String,
}

#[derive(Template)]
#[template(path = "settings/api_keys.html")]
struct KeysPage {
    frame: Frame,
    shell: Shell,
    keys: Vec<ShownKey>,
    roles: Vec<RoleChoice>,
    created: Option<Created>,
    /// The form's values, kept after a refusal.
    name: String,
    role: String,
}

async fn render(
    state: &AppState,
    actor: &Actor,
    status: StatusCode,
    shell: Shell,
    created: Option<ApiKeyCreated>,
    (name, role): (String, String),
) -> ApiResult<Response> {
    let mut tx = state.db.read(&actor.tenant).await?;
    let keys = api_keys::list(&mut tx).await?;
    let roles = all_roles(&mut tx).await?;
    tx.commit().await?;
    let keys = keys
        .into_iter()
        .rev()
        .map(|k| ShownKey {
            role: role_name(&roles, &k.role),
            created: console::when(k.created_at),
            last_used: k
                .last_used_at
                .map(console::when)
                .unwrap_or_else(|| "never".to_owned()),
            revoked: k.revoked_at.is_some(),
            id: k.id,
            name: k.name,
            prefix: k.prefix,
        })
        .collect();
    let page = KeysPage {
        frame: Frame::new(state, actor, "/app/settings").await?,
        shell,
        keys,
        roles: role_choices(&roles),
        created: created.map(|c| Created {
            name: c.key.name,
            secret: c.secret,
        }),
        name,
        role: if role.is_empty() {
            "viewer".to_owned()
        } else {
            role
        },
    };
    Ok(console::render(status, &page))
}

#[derive(Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

async fn keys_page(
    State(state): State<AppState>,
    Authed(actor): Authed,
    QueryParams(query): QueryParams<DoneQuery>,
) -> ApiResult<Response> {
    let done = match query.done.as_deref() {
        Some("revoked") => Some("The key is revoked: it no longer works."),
        _ => None,
    };
    let shell = Shell::new(&actor, HERE).done(done);
    render(
        &state,
        &actor,
        StatusCode::OK,
        shell,
        None,
        Default::default(),
    )
    .await
}

#[derive(Deserialize)]
struct KeyForm {
    name: String,
    role: String,
}

async fn key_create(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let form: KeyForm = console::form(&headers, &body)?;
    let input = ApiKeyIn {
        name: form.name.clone(),
        role: form.role.clone(),
    };
    let created = match input.validate() {
        Err(errors) => Err(Problem::validation(errors)),
        Ok((name, requested)) => {
            let origin = audit::origin(&actor, &client);
            create_key(&state, &actor, &origin, &name, &requested)
                .await
                .map_err(Problem)
        }
    };
    match created {
        Ok(created) => {
            let shell = Shell::new(&actor, HERE).done(Some("The key is made."));
            let kept = (String::new(), String::new());
            render(
                &state,
                &actor,
                StatusCode::CREATED,
                shell,
                Some(created),
                kept,
            )
            .await
        }
        Err(refused) => {
            let (status, message) = console::explain(&refused);
            let shell = Shell::new(&actor, HERE).error(message);
            render(&state, &actor, status, shell, None, (form.name, form.role)).await
        }
    }
}

async fn key_revoke(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let id = ApiKeyId::parse(&id).ok_or_else(|| Problem::not_found("api key"))?;
    let origin = audit::origin(&actor, &client);
    if !revoke_key(&state, &actor, &origin, &id).await? {
        return Err(Problem::not_found("api key"));
    }
    Ok(see_other(
        &format!("{HERE}?done=revoked"),
        is_htmx(&headers),
    ))
}
