//! `/app/settings/inbound-hooks`: each provider's receiver URL and whether its signing secret
//! is set; setting (stored sealed, never shown) or removing a secret — the same guards as
//! `/api/v1/inbound-hooks` (`settings.security`, step-up to change), through
//! `holdfast_app::webhooks::receivers`.

use crate::audit;
use crate::console::settings::Shell;
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
use holdfast_app::webhooks::receivers::{receivers, remove_secret, set_secret};
use holdfast_core::access::modules::Module;
use holdfast_core::access::policy::Permission;
use holdfast_core::webhooks::inbound::Provider;
use holdfast_store::identity::auth::Actor;
use serde::Deserialize;

const HERE: &str = "/app/settings/inbound-hooks";

pub fn routes(t: &mut RouteTable) {
    t.module(Module::Automation, |t| {
        t.add(
            Method::GET,
            HERE,
            Guard::Staff {
                permission: Permission::SettingsSecurity,
            },
            Doc::page("Console", "Each provider's receiver URL and secret state"),
            get(inbound_page),
        );
        t.add(
            Method::POST,
            "/app/settings/inbound-hooks/{provider}",
            Guard::StaffStepUp {
                permission: Permission::SettingsSecurity,
            },
            Doc::page("Console", "Set a provider's signing secret").redirect(),
            post(secret_set),
        );
        t.add(
            Method::POST,
            "/app/settings/inbound-hooks/{provider}/remove",
            Guard::StaffStepUp {
                permission: Permission::SettingsSecurity,
            },
            Doc::page("Console", "Remove a provider's signing secret").redirect(),
            post(secret_remove),
        );
    });
}

struct ShownReceiver {
    provider: &'static str,
    url: String,
    hint: &'static str,
    set_at: Option<String>,
}

#[derive(Template)]
#[template(path = "settings/inbound.html")]
struct InboundPage {
    frame: Frame,
    shell: Shell,
    receivers: Vec<ShownReceiver>,
}

async fn render(
    state: &AppState,
    actor: &Actor,
    status: StatusCode,
    shell: Shell,
) -> ApiResult<Response> {
    let all = receivers(state, &actor.tenant).await?;
    let page = InboundPage {
        frame: Frame::new(state, actor, "/app/settings").await?,
        shell,
        receivers: all
            .into_iter()
            .map(|r| ShownReceiver {
                provider: r.provider.slug(),
                hint: r.provider.secret_hint(),
                set_at: r.updated_at.map(console::when),
                url: r.url,
            })
            .collect(),
    };
    Ok(console::render(status, &page))
}

#[derive(Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

async fn inbound_page(
    State(state): State<AppState>,
    Authed(actor): Authed,
    QueryParams(query): QueryParams<DoneQuery>,
) -> ApiResult<Response> {
    let done = match query.done.as_deref() {
        Some("set") => Some("The secret is saved; deliveries signed with it are received."),
        Some("removed") => Some("The secret is removed; that provider's deliveries are refused."),
        _ => None,
    };
    render(
        &state,
        &actor,
        StatusCode::OK,
        Shell::new(&actor, HERE).done(done),
    )
    .await
}

fn provider_of(text: &str) -> ApiResult<Provider> {
    Provider::from_slug(text).ok_or_else(|| Problem::not_found("provider"))
}

#[derive(Deserialize)]
struct SecretForm {
    #[serde(default)]
    secret: String,
}

async fn secret_set(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(provider): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let provider = provider_of(&provider)?;
    let form: SecretForm = console::form(&headers, &body)?;
    let origin = audit::origin(&actor, &client);
    match set_secret(&state, &actor, &origin, provider, &form.secret).await {
        Ok(_) => Ok(see_other(&format!("{HERE}?done=set"), is_htmx(&headers))),
        Err(e) => {
            let (status, message) = console::explain(&Problem(e));
            let shell = Shell::new(&actor, HERE).error(format!("{}: {message}", provider.slug()));
            render(&state, &actor, status, shell).await
        }
    }
}

async fn secret_remove(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(provider): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let provider = provider_of(&provider)?;
    let origin = audit::origin(&actor, &client);
    if !remove_secret(&state, &actor, &origin, provider).await? {
        return Err(Problem::not_found("inbound hook secret"));
    }
    Ok(see_other(
        &format!("{HERE}?done=removed"),
        is_htmx(&headers),
    ))
}
