//! `/app/settings/widget`: the website widget — on or off, its allowed origins, the embed
//! snippet (shown as text), replacing its public key, and the identity-verification secret
//! (made anew or shown, both audited). The same guards as `/api/v1/widget`
//! (`settings.security`, step-up to change), through `holdfast_app::helpdesk::widget_settings`.

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
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use holdfast_app::helpdesk::widget_settings::{
    change_widget, reveal_identity_secret, rotate_identity_secret, rotate_widget_key,
    widget_settings,
};
use holdfast_core::access::modules::Module;
use holdfast_core::access::policy::Permission;
use holdfast_core::helpdesk::widget::{WidgetSettingsIn, WidgetSettingsOut};
use holdfast_store::identity::auth::Actor;
use serde::Deserialize;

const HERE: &str = "/app/settings/widget";
const CHANGE: Guard = Guard::StaffStepUp {
    permission: Permission::SettingsSecurity,
};

pub fn routes(t: &mut RouteTable) {
    t.module(Module::Helpdesk, |t| {
        t.add(
            Method::GET,
            HERE,
            Guard::Staff {
                permission: Permission::SettingsSecurity,
            },
            Doc::page(
                "Console",
                "The website widget: state, origins, the embed snippet",
            ),
            get(widget_page),
        );
        t.add(
            Method::POST,
            HERE,
            CHANGE,
            Doc::page("Console", "Turn the widget on or off and set its origins").redirect(),
            post(widget_change),
        );
        t.add(
            Method::POST,
            "/app/settings/widget/rotate-key",
            CHANGE,
            Doc::page("Console", "Replace the widget's public key").redirect(),
            post(key_rotate),
        );
        t.add(
            Method::POST,
            "/app/settings/widget/identity-secret/rotate",
            CHANGE,
            Doc::page("Console", "Make a new identity secret (shown)"),
            post(identity_rotate),
        );
        t.add(
            Method::POST,
            "/app/settings/widget/identity-secret/reveal",
            CHANGE,
            Doc::page("Console", "Show the identity secret (audited)"),
            post(identity_reveal),
        );
    });
}

#[derive(Template)]
#[template(path = "settings/widget.html")]
struct WidgetPage {
    frame: Frame,
    shell: Shell,
    widget: WidgetSettingsOut,
    /// The origins' text area: one a line, as stored or as sent.
    origins: String,
    identity_secret: Option<String>,
}

async fn render(
    state: &AppState,
    actor: &Actor,
    status: StatusCode,
    shell: Shell,
    origins: Option<String>,
    identity_secret: Option<String>,
) -> ApiResult<Response> {
    let widget = widget_settings(state, actor).await?;
    let page = WidgetPage {
        frame: Frame::new(state, actor, "/app/settings").await?,
        shell,
        origins: origins.unwrap_or_else(|| widget.allowed_origins.join("\n")),
        widget,
        identity_secret,
    };
    Ok(console::render(status, &page))
}

#[derive(Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

async fn widget_page(
    State(state): State<AppState>,
    Authed(actor): Authed,
    QueryParams(query): QueryParams<DoneQuery>,
) -> ApiResult<Response> {
    let done = match query.done.as_deref() {
        Some("saved") => Some("Saved."),
        Some("rotated") => {
            Some("The widget has a new public key; update the snippet on your site.")
        }
        _ => None,
    };
    let shell = Shell::new(&actor, HERE).done(done);
    render(&state, &actor, StatusCode::OK, shell, None, None).await
}

#[derive(Deserialize)]
struct WidgetForm {
    enabled: Option<String>,
    #[serde(default)]
    allowed_origins: String,
}

async fn widget_change(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let form: WidgetForm = console::form(&headers, &body)?;
    let input = WidgetSettingsIn {
        enabled: Some(form.enabled.as_deref() == Some("true")),
        allowed_origins: Some(
            form.allowed_origins
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect(),
        ),
    };
    let changed = match input.validate() {
        Err(errors) => Err(Problem::validation(errors)),
        Ok(change) => {
            let origin = audit::origin(&actor, &client);
            change_widget(&state, &actor, &origin, change)
                .await
                .map(|_| ())
                .map_err(Problem)
        }
    };
    match changed {
        Ok(()) => Ok(see_other(&format!("{HERE}?done=saved"), is_htmx(&headers))),
        Err(problem) => {
            let (status, message) = console::explain(&problem);
            let shell = Shell::new(&actor, HERE).error(message);
            render(
                &state,
                &actor,
                status,
                shell,
                Some(form.allowed_origins),
                None,
            )
            .await
        }
    }
}

#[derive(Deserialize)]
struct RotateForm {
    revoke_visitors: Option<String>,
}

async fn key_rotate(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let form: RotateForm = console::form(&headers, &body)?;
    let revoke = form.revoke_visitors.as_deref() == Some("true");
    let origin = audit::origin(&actor, &client);
    rotate_widget_key(&state, &actor, &origin, revoke).await?;
    Ok(see_other(
        &format!("{HERE}?done=rotated"),
        is_htmx(&headers),
    ))
}

async fn identity_rotate(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
) -> ApiResult<Response> {
    let origin = audit::origin(&actor, &client);
    let secret = rotate_identity_secret(&state, &actor, &origin).await?;
    let shell = Shell::new(&actor, HERE).done(Some(
        "A new identity secret is made; the old one no longer verifies.",
    ));
    render(&state, &actor, StatusCode::OK, shell, None, Some(secret)).await
}

async fn identity_reveal(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
) -> ApiResult<Response> {
    let origin = audit::origin(&actor, &client);
    let secret = reveal_identity_secret(&state, &actor, &origin).await?;
    render(
        &state,
        &actor,
        StatusCode::OK,
        Shell::new(&actor, HERE),
        None,
        Some(secret),
    )
    .await
}
