//! `/app/settings/workspace`, `/app/settings/security` and `/app/settings/modules`: the
//! workspace's name, its security policy (two-factor sign-in for everyone, console session
//! lengths) and which modules are on. Seeing them takes `members.read` (as
//! `GET /api/v1/workspace` and `/api/v1/modules`); renaming takes `workspace.manage` and a
//! step-up (as `PATCH /api/v1/workspace`), the others `settings.security` and a step-up, through
//! `holdfast_app::access::settings`.

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
use holdfast_app::access::settings::{module_listing, rename, set_modules, set_security};
use holdfast_core::access::modules::{ModuleOut, ModulesIn};
use holdfast_core::access::policy::Permission;
use holdfast_core::access::workspaces::{SecuritySettingsIn, WorkspaceOut, WorkspacePatch};
use holdfast_core::error::ErrorCode;
use holdfast_core::validate::FieldError;
use holdfast_store::access::workspaces;
use holdfast_store::identity::auth::Actor;
use serde::Deserialize;
use std::collections::BTreeMap;

const WORKSPACE: &str = "/app/settings/workspace";
const SECURITY: &str = "/app/settings/security";
const MODULES: &str = "/app/settings/modules";
const SEE: Guard = Guard::Staff {
    permission: Permission::MembersRead,
};
const CHANGE: Guard = Guard::StaffStepUp {
    permission: Permission::SettingsSecurity,
};
const RENAME: Guard = Guard::StaffStepUp {
    permission: Permission::WorkspaceManage,
};

pub fn routes(t: &mut RouteTable) {
    t.add(
        Method::GET,
        WORKSPACE,
        SEE,
        Doc::page("Console", "The workspace's name and address"),
        get(workspace_page),
    );
    t.add(
        Method::POST,
        WORKSPACE,
        RENAME,
        Doc::page("Console", "Rename the workspace").redirect(),
        post(workspace_rename),
    );
    t.add(
        Method::GET,
        SECURITY,
        SEE,
        Doc::page("Console", "The workspace's security policy"),
        get(security_page),
    );
    t.add(
        Method::POST,
        SECURITY,
        CHANGE,
        Doc::page("Console", "Change the security policy").redirect(),
        post(security_change),
    );
    t.add(
        Method::GET,
        MODULES,
        SEE,
        Doc::page("Console", "The modules on offer and which are on"),
        get(modules_page),
    );
    t.add(
        Method::POST,
        MODULES,
        CHANGE,
        Doc::page("Console", "Turn modules on or off").redirect(),
        post(modules_change),
    );
}

#[derive(Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

fn saved(query: &DoneQuery) -> Option<&'static str> {
    (query.done.as_deref() == Some("saved")).then_some("Saved.")
}

#[derive(Template)]
#[template(path = "settings/workspace.html")]
struct WorkspacePage {
    frame: Frame,
    shell: Shell,
    workspace: WorkspaceOut,
    created: String,
    may_change: bool,
    /// The form's value: the workspace's name, or what was sent.
    name: String,
}

async fn render_workspace(
    state: &AppState,
    actor: &Actor,
    status: StatusCode,
    shell: Shell,
    sent: Option<String>,
) -> ApiResult<Response> {
    let mut tx = state.db.read(&actor.tenant).await?;
    let workspace = workspaces::get(&mut tx)
        .await?
        .ok_or_else(|| Problem::not_found("workspace"))?;
    tx.commit().await?;
    let page = WorkspacePage {
        frame: Frame::new(state, actor, "/app/settings").await?,
        shell,
        may_change: actor.role.grants(Permission::WorkspaceManage),
        created: console::when(workspace.created_at),
        name: sent.unwrap_or_else(|| workspace.name.clone()),
        workspace,
    };
    Ok(console::render(status, &page))
}

async fn workspace_page(
    State(state): State<AppState>,
    Authed(actor): Authed,
    QueryParams(query): QueryParams<DoneQuery>,
) -> ApiResult<Response> {
    let shell = Shell::new(&actor, WORKSPACE).done(saved(&query));
    render_workspace(&state, &actor, StatusCode::OK, shell, None).await
}

#[derive(Deserialize)]
struct WorkspaceForm {
    #[serde(default)]
    name: String,
}

async fn workspace_rename(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let form: WorkspaceForm = console::form(&headers, &body)?;
    let patch = WorkspacePatch { name: form.name };
    let renamed = match patch.validate() {
        Err(errors) => Err(Problem::validation(errors)),
        Ok(name) => {
            let origin = audit::origin(&actor, &client);
            rename(&state, &actor, &origin, &name)
                .await
                .map(|_| ())
                .map_err(Problem)
        }
    };
    match renamed {
        Ok(()) => Ok(see_other(
            &format!("{WORKSPACE}?done=saved"),
            is_htmx(&headers),
        )),
        Err(problem) => {
            let (status, message) = console::explain(&problem);
            let shell = Shell::new(&actor, WORKSPACE).error(message);
            render_workspace(&state, &actor, status, shell, Some(patch.name)).await
        }
    }
}

#[derive(Template)]
#[template(path = "settings/security.html")]
struct SecurityPage {
    frame: Frame,
    shell: Shell,
    workspace: WorkspaceOut,
    may_change: bool,
    /// The form's values: the policy's, or what was sent.
    idle: String,
    max: String,
}

async fn render_security(
    state: &AppState,
    actor: &Actor,
    status: StatusCode,
    shell: Shell,
    sent: Option<(String, String)>,
) -> ApiResult<Response> {
    let mut tx = state.db.read(&actor.tenant).await?;
    let workspace = workspaces::get(&mut tx)
        .await?
        .ok_or_else(|| Problem::not_found("workspace"))?;
    tx.commit().await?;
    let (idle, max) = sent.unwrap_or_else(|| {
        (
            workspace.console_idle_minutes.to_string(),
            workspace.console_max_hours.to_string(),
        )
    });
    let page = SecurityPage {
        frame: Frame::new(state, actor, "/app/settings").await?,
        shell,
        may_change: actor.role.grants(Permission::SettingsSecurity),
        workspace,
        idle,
        max,
    };
    Ok(console::render(status, &page))
}

async fn security_page(
    State(state): State<AppState>,
    Authed(actor): Authed,
    QueryParams(query): QueryParams<DoneQuery>,
) -> ApiResult<Response> {
    let shell = Shell::new(&actor, SECURITY).done(saved(&query));
    render_security(&state, &actor, StatusCode::OK, shell, None).await
}

#[derive(Deserialize)]
struct SecurityForm {
    require_2fa: Option<String>,
    #[serde(default)]
    console_idle_minutes: String,
    #[serde(default)]
    console_max_hours: String,
}

/// A whole number from a form's field, or what is wrong with it.
fn number(field: &str, text: &str) -> Result<i64, FieldError> {
    text.trim()
        .parse::<i64>()
        .map_err(|_| FieldError::new(field, "must be a whole number"))
}

async fn security_change(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let form: SecurityForm = console::form(&headers, &body)?;
    let idle = number("console_idle_minutes", &form.console_idle_minutes);
    let max = number("console_max_hours", &form.console_max_hours);
    let changed = match (idle, max) {
        (Ok(idle), Ok(max)) => {
            let change = SecuritySettingsIn {
                require_2fa: Some(form.require_2fa.as_deref() == Some("true")),
                console_idle_minutes: Some(idle),
                console_max_hours: Some(max),
            };
            match change.validate() {
                Err(errors) => Err(Problem::validation(errors)),
                Ok(()) => {
                    let origin = audit::origin(&actor, &client);
                    set_security(&state, &actor, &origin, &change)
                        .await
                        .map(|_| ())
                        .map_err(Problem)
                }
            }
        }
        (idle, max) => Err(Problem::validation(
            [idle.err(), max.err()].into_iter().flatten().collect(),
        )),
    };
    match changed {
        Ok(()) => Ok(see_other(
            &format!("{SECURITY}?done=saved"),
            is_htmx(&headers),
        )),
        Err(problem) => {
            let (status, message) = console::explain(&problem);
            let shell = Shell::new(&actor, SECURITY).error(message);
            let sent = (form.console_idle_minutes, form.console_max_hours);
            render_security(&state, &actor, status, shell, Some(sent)).await
        }
    }
}

#[derive(Template)]
#[template(path = "settings/modules.html")]
struct ModulesPage {
    frame: Frame,
    shell: Shell,
    modules: Vec<ModuleOut>,
    may_change: bool,
}

async fn render_modules(
    state: &AppState,
    actor: &Actor,
    status: StatusCode,
    shell: Shell,
) -> ApiResult<Response> {
    let mut tx = state.db.read(&actor.tenant).await?;
    let set = workspaces::modules(&mut tx).await?;
    tx.commit().await?;
    let page = ModulesPage {
        frame: Frame::new(state, actor, "/app/settings").await?,
        shell,
        modules: module_listing(set, state.offered),
        may_change: actor.role.grants(Permission::SettingsSecurity),
    };
    Ok(console::render(status, &page))
}

async fn modules_page(
    State(state): State<AppState>,
    Authed(actor): Authed,
    QueryParams(query): QueryParams<DoneQuery>,
) -> ApiResult<Response> {
    let shell = Shell::new(&actor, MODULES).done(saved(&query));
    render_modules(&state, &actor, StatusCode::OK, shell).await
}

async fn modules_change(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let sent: BTreeMap<String, String> = console::form(&headers, &body)?;
    let wanted = ModulesIn {
        enabled: sent
            .keys()
            .filter_map(|k| k.strip_prefix("module:"))
            .map(str::to_owned)
            .collect(),
    }
    .validate(state.offered);
    let changed = match wanted {
        Err(e) => Err(Problem::field(ErrorCode::Validation, &e.field, &e.message)),
        Ok(wanted) => {
            let origin = audit::origin(&actor, &client);
            set_modules(&state, &actor, &origin, wanted, state.offered)
                .await
                .map_err(Problem)
        }
    };
    match changed {
        Ok(()) => Ok(see_other(
            &format!("{MODULES}?done=saved"),
            is_htmx(&headers),
        )),
        Err(problem) => {
            let (status, message) = console::explain(&problem);
            let shell = Shell::new(&actor, MODULES).error(message);
            render_modules(&state, &actor, status, shell).await
        }
    }
}
