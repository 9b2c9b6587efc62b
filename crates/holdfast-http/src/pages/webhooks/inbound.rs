//! `/app/settings/inbound-hooks`: each provider's receiver URL and whether its signing secret
//! is set; setting (stored sealed, never shown) or removing a secret — the same guards as
//! `/api/v1/inbound-hooks` (`settings.security`, step-up to change). And
//! `/app/settings/inbound-events`: the events received, newest first, by provider, with keyset
//! paging, as `GET /api/v1/inbound-events` (`automation.manage`; bodies withheld from a role
//! that hides any contact field). Both through `holdfast_app::webhooks::receivers`.

use crate::audit;
use crate::console::settings::Shell;
use crate::console::{self, Frame, is_htmx, see_other};
use crate::extract::{ClientInfo, QueryParams};
use crate::guard::{Authed, Guard};
use crate::paging::{page_of, page_params_into};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use holdfast_app::webhooks::receivers::{
    provider_filter, received_events, receivers, remove_secret, set_secret,
};
use holdfast_core::access::modules::Module;
use holdfast_core::access::policy::Permission;
use holdfast_core::validate::Errors;
use holdfast_core::webhooks::inbound::InboundEventOut;
use holdfast_core::webhooks::inbound::Provider;
use holdfast_store::identity::auth::Actor;
use serde::Deserialize;

const HERE: &str = "/app/settings/inbound-hooks";
const EVENTS: &str = "/app/settings/inbound-events";

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
        t.add(
            Method::GET,
            EVENTS,
            Guard::Staff {
                permission: Permission::AutomationManage,
            },
            Doc::page("Console", "Events received from providers, newest first"),
            get(events_page),
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
    /// The role may read the received events (`automation.manage`).
    may_see_events: bool,
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
        may_see_events: actor.role.grants(Permission::AutomationManage),
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

#[derive(Deserialize)]
struct EventsQuery {
    provider: Option<String>,
    cursor: Option<String>,
}

struct ShownEvent {
    id: String,
    provider: String,
    event_type: String,
    event_key: String,
    received: String,
    /// `received` (waiting to be handled) or `handled`, with when.
    state: String,
    handled: bool,
    /// The body as received, when the role may read it and it is text.
    body: Option<String>,
    /// Why the body is not shown.
    body_note: &'static str,
}

impl ShownEvent {
    fn of(e: InboundEventOut) -> ShownEvent {
        let handled = e.state == "handled";
        let state = match e.handled_at {
            Some(at) if handled => format!("handled {}", console::when(at)),
            _ => e.state.clone(),
        };
        let (body, body_note) = match e.body_encoding.as_str() {
            "utf8" => (Some(e.body), ""),
            "withheld" => (
                None,
                "withheld: your role hides contact fields, and a raw payload names the person",
            ),
            _ => (
                None,
                "not text (a mail with attachments): read it over the API",
            ),
        };
        ShownEvent {
            id: e.id,
            provider: e.provider,
            event_type: e.event_type.unwrap_or_default(),
            event_key: e.event_key,
            received: console::when(e.received_at),
            state,
            handled,
            body,
            body_note,
        }
    }
}

#[derive(Template)]
#[template(path = "settings/inbound_events.html")]
struct EventsPage {
    frame: Frame,
    shell: Shell,
    /// Every provider for the filter, with whether it is the one chosen; `provider` is that
    /// one (empty: all).
    providers: Vec<(&'static str, bool)>,
    provider: String,
    events: Vec<ShownEvent>,
    next_page: Option<String>,
}

const PAGE_SIZE: &str = "50";

/// The received events, 50 a page, newest first; a provider the filter does not know, or a
/// cursor this page did not issue, is a 422 on the page with the filter to correct it.
async fn events_page(
    State(state): State<AppState>,
    Authed(actor): Authed,
    QueryParams(query): QueryParams<EventsQuery>,
) -> ApiResult<Response> {
    let mut errors = Errors::default();
    let (limit, before) = page_params_into(Some(PAGE_SIZE), query.cursor.as_deref(), &mut errors);
    let chosen = query
        .provider
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty());
    let shown = chosen.unwrap_or_default().to_owned();
    let listed = match (errors.finish(()), provider_filter(chosen)) {
        (Err(errors), _) => Err(Problem::validation(errors)),
        (Ok(()), Err(e)) => Err(Problem(e)),
        (Ok(()), Ok(provider)) => {
            received_events(&state, &actor, provider, before.as_deref(), limit + 1)
                .await
                .map_err(Problem)
        }
    };
    let (status, shell, events, next_page) = match listed {
        Ok(rows) => {
            let page = page_of(rows, limit, |e| e.id.clone());
            let next_page = page.next_cursor.map(|cursor| {
                let mut pairs = vec![("cursor", cursor)];
                if !shown.is_empty() {
                    pairs.push(("provider", shown.clone()));
                }
                format!(
                    "{EVENTS}?{}",
                    serde_urlencoded::to_string(&pairs).unwrap_or_default()
                )
            });
            let events = page.data.into_iter().map(ShownEvent::of).collect();
            (
                StatusCode::OK,
                Shell::new(&actor, EVENTS),
                events,
                next_page,
            )
        }
        Err(problem) if problem.0.code == holdfast_core::error::ErrorCode::Validation => {
            let (status, message) = console::explain(&problem);
            let shell = Shell::new(&actor, EVENTS).error(message);
            (status, shell, Vec::new(), None)
        }
        Err(problem) => return Err(problem),
    };
    let page = EventsPage {
        frame: Frame::new(&state, &actor, "/app/settings").await?,
        shell,
        providers: Provider::ALL
            .iter()
            .map(|p| (p.slug(), p.slug() == shown))
            .collect(),
        provider: shown,
        events,
        next_page,
    };
    Ok(console::render(status, &page))
}
