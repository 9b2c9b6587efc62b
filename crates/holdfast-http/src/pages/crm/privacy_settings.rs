//! `/app/settings/privacy`: the workspace's privacy mode (GDPR opt-in or CCPA opt-out) and the
//! channels with double opt-in — seen with `contacts.read`, changed with `workspace.manage` and
//! a step-up, as `/api/v1/settings/privacy`, through
//! `holdfast_app::crm::consent::save_privacy_settings`.

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
use holdfast_app::crm::consent::save_privacy_settings;
use holdfast_core::access::modules::Module;
use holdfast_core::access::policy::Permission;
use holdfast_core::crm::consent::{Channel, PrivacySettingsIn};
use holdfast_store::crm::consent as store;
use holdfast_store::identity::auth::Actor;
use serde::Deserialize;
use std::collections::BTreeMap;

const HERE: &str = "/app/settings/privacy";

pub fn routes(t: &mut RouteTable) {
    t.module(Module::Crm, |t| {
        t.add(
            Method::GET,
            HERE,
            Guard::Staff {
                permission: Permission::ContactsRead,
            },
            Doc::page("Console", "The privacy mode and double opt-in"),
            get(privacy_page),
        );
        t.add(
            Method::POST,
            HERE,
            Guard::StaffStepUp {
                permission: Permission::WorkspaceManage,
            },
            Doc::page("Console", "Set the privacy mode and double opt-in").redirect(),
            post(privacy_change),
        );
    });
}

#[derive(Template)]
#[template(path = "settings/privacy.html")]
struct PrivacyPage {
    frame: Frame,
    shell: Shell,
    mode: &'static str,
    /// Each channel, and whether it has double opt-in.
    channels: Vec<(&'static str, bool)>,
    may_change: bool,
}

async fn render(
    state: &AppState,
    actor: &Actor,
    status: StatusCode,
    shell: Shell,
) -> ApiResult<Response> {
    let mut tx = state.db.read(&actor.tenant).await?;
    let settings = store::settings(&mut tx).await?;
    tx.commit().await?;
    let page = PrivacyPage {
        frame: Frame::new(state, actor, "/app/settings").await?,
        shell,
        mode: settings.mode.as_str(),
        channels: Channel::ALL
            .iter()
            .map(|c| (c.as_str(), settings.double_opt_in.contains(c)))
            .collect(),
        may_change: actor.role.grants(Permission::WorkspaceManage),
    };
    Ok(console::render(status, &page))
}

#[derive(Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

async fn privacy_page(
    State(state): State<AppState>,
    Authed(actor): Authed,
    QueryParams(query): QueryParams<DoneQuery>,
) -> ApiResult<Response> {
    let done = (query.done.as_deref() == Some("saved")).then_some("Saved.");
    render(
        &state,
        &actor,
        StatusCode::OK,
        Shell::new(&actor, HERE).done(done),
    )
    .await
}

async fn privacy_change(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let sent: BTreeMap<String, String> = console::form(&headers, &body)?;
    let input = PrivacySettingsIn {
        mode: sent.get("mode").cloned().unwrap_or_default(),
        double_opt_in: sent
            .keys()
            .filter_map(|k| k.strip_prefix("double_opt_in:"))
            .map(str::to_owned)
            .collect(),
    };
    let changed = match input.validate() {
        Err(errors) => Err(Problem::validation(errors)),
        Ok(settings) => {
            let origin = audit::origin(&actor, &client);
            save_privacy_settings(&state, &actor, &origin, &settings)
                .await
                .map_err(Problem)
        }
    };
    match changed {
        Ok(()) => Ok(see_other(&format!("{HERE}?done=saved"), is_htmx(&headers))),
        Err(problem) => {
            let (status, message) = console::explain(&problem);
            render(
                &state,
                &actor,
                status,
                Shell::new(&actor, HERE).error(message),
            )
            .await
        }
    }
}
