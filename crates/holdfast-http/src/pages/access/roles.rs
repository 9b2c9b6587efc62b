//! `/app/settings/roles`: the built-in roles and the workspace's own, with their permissions and
//! field rules; creating and editing a custom role with a permission matrix of checkboxes and a
//! field rule per field (visible, read-only, hidden); deleting one nobody holds. The same guards
//! as `/api/v1/roles`, through `holdfast_app::access::roles`.

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
use holdfast_app::access::roles::{all_roles, create_role, delete_role, fields_of, update_role};
use holdfast_core::access::fields::{Access, Field, Resource};
use holdfast_core::access::policy::{BuiltinRole, Permission};
use holdfast_core::access::roles::{RoleIn, RoleOut, RolePatch};
use holdfast_core::error::ErrorCode;
use holdfast_core::ids::RoleId;
use holdfast_store::access::roles;
use holdfast_store::identity::auth::Actor;
use serde::Deserialize;
use std::collections::BTreeMap;

const HERE: &str = "/app/settings/roles";
const READ: Guard = Guard::Staff {
    permission: Permission::MembersRead,
};
const EDIT: Guard = Guard::Staff {
    permission: Permission::SettingsSecurity,
};
const CHANGE: Guard = Guard::StaffStepUp {
    permission: Permission::SettingsSecurity,
};

pub fn routes(t: &mut RouteTable) {
    t.add(
        Method::GET,
        HERE,
        READ,
        Doc::page("Console", "Roles, their permissions and field rules"),
        get(roles_page),
    );
    t.add(
        Method::GET,
        "/app/settings/roles/new",
        EDIT,
        Doc::page("Console", "The form for a new custom role"),
        get(role_new),
    );
    t.add(
        Method::POST,
        HERE,
        CHANGE,
        Doc::page("Console", "Create a custom role").redirect(),
        post(role_create),
    );
    t.add(
        Method::GET,
        "/app/settings/roles/{id}",
        EDIT,
        Doc::page("Console", "The form to change a custom role"),
        get(role_edit),
    );
    t.add(
        Method::POST,
        "/app/settings/roles/{id}",
        CHANGE,
        Doc::page("Console", "Change a custom role").redirect(),
        post(role_update),
    );
    t.add(
        Method::POST,
        "/app/settings/roles/{id}/delete",
        CHANGE,
        Doc::page("Console", "Delete a custom role nobody holds").redirect(),
        post(role_delete),
    );
}

struct ShownRole {
    id: String,
    name: String,
    description: String,
    permissions: Vec<String>,
    rules: Vec<String>,
    builtin: bool,
    editable: bool,
}

#[derive(Template)]
#[template(path = "settings/roles.html")]
struct RolesPage {
    frame: Frame,
    shell: Shell,
    roles: Vec<ShownRole>,
    may_edit: bool,
}

#[derive(Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

/// How a field rule reads on the page.
fn rule_text(field: &str, access: &str) -> String {
    let access = match access {
        "read" => "read-only",
        other => other,
    };
    format!("{field}: {access}")
}

async fn roles_page(
    State(state): State<AppState>,
    Authed(actor): Authed,
    QueryParams(query): QueryParams<DoneQuery>,
) -> ApiResult<Response> {
    let mut tx = state.db.read(&actor.tenant).await?;
    let listed = all_roles(&mut tx).await?;
    tx.commit().await?;
    let may_edit = actor.role.grants(Permission::SettingsSecurity);
    let roles = listed
        .into_iter()
        .map(|r| ShownRole {
            rules: r
                .fields
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| rule_text(k, v.as_str().unwrap_or("hidden")))
                        .collect()
                })
                .unwrap_or_default(),
            editable: may_edit && !r.builtin,
            id: r.id,
            name: r.name,
            description: r.description,
            permissions: r.permissions,
            builtin: r.builtin,
        })
        .collect();
    let done = match query.done.as_deref() {
        Some("created") => Some("The role is made; give it to members, invitations or keys."),
        Some("saved") => Some("The role is changed; its holders get it on their next request."),
        Some("deleted") => Some("The role is deleted."),
        _ => None,
    };
    let page = RolesPage {
        frame: Frame::new(&state, &actor, "/app/settings").await?,
        shell: Shell::new(&actor, HERE).done(done),
        roles,
        may_edit,
    };
    Ok(console::render(StatusCode::OK, &page))
}

/// The matrix's columns: the actions permissions name, in this order.
const ACTIONS: &[&str] = &[
    "read", "write", "export", "erase", "manage", "use", "decide", "security",
];

struct Cell {
    name: &'static str,
    about: &'static str,
    checked: bool,
}

struct MatrixRow {
    area: &'static str,
    cells: Vec<Option<Cell>>,
}

struct RuleRow {
    key: String,
    label: String,
    value: &'static str,
}

#[derive(Template)]
#[template(path = "settings/role_form.html")]
struct RoleForm {
    frame: Frame,
    shell: Shell,
    /// `None` for a new role.
    id: Option<String>,
    action: String,
    name: String,
    description: String,
    actions: &'static [&'static str],
    matrix: Vec<MatrixRow>,
    rules: Vec<RuleRow>,
    rule_options: [(&'static str, &'static str); 3],
}

/// What the form shows: a role's values, or what was sent.
struct Values {
    name: String,
    description: String,
    permissions: Vec<String>,
    /// Field key → `read` or `hidden` (absent: visible).
    rules: BTreeMap<String, String>,
}

impl Values {
    fn of(role: &RoleOut) -> Values {
        let fields = fields_of(role);
        Values {
            name: role.name.clone(),
            description: role.description.clone(),
            permissions: role.permissions.clone(),
            rules: Field::ALL
                .iter()
                .filter_map(|f| match fields.field_rules.cap(*f) {
                    Access::Write => None,
                    access => Some((f.key(), access.as_str().to_owned())),
                })
                .collect(),
        }
    }
}

/// The permission matrix: one row per area (`contacts`, `tickets` …), one column per action;
/// `owners.manage` belongs to the owner role alone and is not offered.
fn matrix(checked: &[String]) -> Vec<MatrixRow> {
    let mut rows: Vec<MatrixRow> = Vec::new();
    for permission in Permission::ALL {
        if *permission == Permission::OwnersManage {
            continue;
        }
        let name = permission.as_str();
        let Some((area, action)) = name.split_once('.') else {
            continue;
        };
        let Some(column) = ACTIONS.iter().position(|a| *a == action) else {
            continue;
        };
        let at = match rows.iter().position(|r| r.area == area) {
            Some(at) => at,
            None => {
                rows.push(MatrixRow {
                    area,
                    cells: ACTIONS.iter().map(|_| None).collect(),
                });
                rows.len() - 1
            }
        };
        if let Some(cell) = rows[at].cells.get_mut(column) {
            *cell = Some(Cell {
                name,
                about: permission.describe(),
                checked: checked.iter().any(|c| c == name),
            });
        }
    }
    rows
}

/// A field's label on the form: `Contact email`.
fn field_label(field: Field) -> String {
    let resource = match field.resource() {
        Resource::Contacts => "Contact",
        Resource::Invoices => "Invoice",
    };
    format!("{resource} {}", field.name())
}

async fn render_form(
    state: &AppState,
    actor: &Actor,
    status: StatusCode,
    shell: Shell,
    id: Option<String>,
    values: Values,
) -> ApiResult<Response> {
    let action = match &id {
        Some(id) => format!("{HERE}/{id}"),
        None => HERE.to_owned(),
    };
    let rules = Field::ALL
        .iter()
        .map(|f| {
            let key = f.key();
            let value = match values.rules.get(&key).map(String::as_str) {
                Some("hidden") => "hidden",
                Some("read") => "read",
                _ => "",
            };
            RuleRow {
                label: field_label(*f),
                key,
                value,
            }
        })
        .collect();
    let page = RoleForm {
        frame: Frame::new(state, actor, "/app/settings").await?,
        shell,
        id,
        action,
        name: values.name,
        description: values.description,
        actions: ACTIONS,
        matrix: matrix(&values.permissions),
        rules,
        rule_options: [
            ("", "Visible (as the permissions allow)"),
            ("read", "Read-only"),
            ("hidden", "Hidden"),
        ],
    };
    Ok(console::render(status, &page))
}

async fn role_new(State(state): State<AppState>, Authed(actor): Authed) -> ApiResult<Response> {
    let values = Values {
        name: String::new(),
        description: String::new(),
        permissions: Vec::new(),
        rules: BTreeMap::new(),
    };
    render_form(
        &state,
        &actor,
        StatusCode::OK,
        Shell::new(&actor, HERE),
        None,
        values,
    )
    .await
}

/// A custom role's id; built-in roles cannot be changed (403, as the API), anything else is
/// 404.
fn role_id(text: &str) -> ApiResult<RoleId> {
    if BuiltinRole::parse(text).is_some() {
        return Err(Problem::new(
            ErrorCode::Forbidden,
            "built-in roles cannot be changed or deleted; create a custom role instead",
        ));
    }
    RoleId::parse(text).ok_or_else(|| Problem::not_found("role"))
}

/// This workspace's custom role, or 404.
async fn existing(state: &AppState, actor: &Actor, id: &str) -> ApiResult<(RoleId, RoleOut)> {
    let id = role_id(id)?;
    let mut tx = state.db.read(&actor.tenant).await?;
    let found = roles::get(&mut tx, &id).await?;
    tx.commit().await?;
    found
        .map(|role| (id, role))
        .ok_or_else(|| Problem::not_found("role"))
}

async fn role_edit(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let (id, role) = existing(&state, &actor, &id).await?;
    let shell = Shell::new(&actor, HERE);
    let values = Values::of(&role);
    render_form(
        &state,
        &actor,
        StatusCode::OK,
        shell,
        Some(id.to_string()),
        values,
    )
    .await
}

/// The form's fields: `name`, `description`, `perm:<permission>` for each box ticked and
/// `field:<field>` = `read` | `hidden` (empty: visible).
fn values_of(sent: &BTreeMap<String, String>) -> Values {
    Values {
        name: sent.get("name").cloned().unwrap_or_default(),
        description: sent.get("description").cloned().unwrap_or_default(),
        permissions: sent
            .keys()
            .filter_map(|k| k.strip_prefix("perm:"))
            .map(str::to_owned)
            .collect(),
        rules: sent
            .iter()
            .filter_map(|(k, v)| {
                k.strip_prefix("field:")
                    .filter(|_| !v.is_empty())
                    .map(|f| (f.to_owned(), v.clone()))
            })
            .collect(),
    }
}

fn rules_json(values: &Values) -> serde_json::Value {
    serde_json::Value::Object(
        values
            .rules
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::from(v.as_str())))
            .collect(),
    )
}

async fn role_create(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let sent: BTreeMap<String, String> = console::form(&headers, &body)?;
    let values = values_of(&sent);
    let input = RoleIn {
        name: values.name.clone(),
        description: Some(values.description.clone()),
        permissions: values.permissions.clone(),
        fields: Some(rules_json(&values)),
    };
    let created = match input.validate() {
        Err(errors) => Err(Problem::validation(errors)),
        Ok(fields) => {
            let origin = audit::origin(&actor, &client);
            create_role(&state, &actor, &origin, &fields)
                .await
                .map_err(Problem)
        }
    };
    match created {
        Ok(_) => Ok(see_other(
            &format!("{HERE}?done=created"),
            is_htmx(&headers),
        )),
        Err(problem) => {
            let (status, message) = console::explain(&problem);
            let shell = Shell::new(&actor, HERE).error(message);
            render_form(&state, &actor, status, shell, None, values).await
        }
    }
}

async fn role_update(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let (id, _) = existing(&state, &actor, &id).await?;
    let sent: BTreeMap<String, String> = console::form(&headers, &body)?;
    let values = values_of(&sent);
    let patch = RolePatch {
        name: Some(values.name.clone()),
        description: Some(values.description.clone()),
        permissions: Some(values.permissions.clone()),
        fields: Some(rules_json(&values)),
    };
    let origin = audit::origin(&actor, &client);
    match update_role(&state, &actor, &origin, &id, &patch).await {
        Ok(Some(_)) => Ok(see_other(&format!("{HERE}?done=saved"), is_htmx(&headers))),
        Ok(None) => Err(Problem::not_found("role")),
        Err(e) => {
            let (status, message) = console::explain(&Problem(e));
            let shell = Shell::new(&actor, HERE).error(message);
            render_form(&state, &actor, status, shell, Some(id.to_string()), values).await
        }
    }
}

async fn role_delete(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let (id, role) = existing(&state, &actor, &id).await?;
    let origin = audit::origin(&actor, &client);
    match delete_role(&state, &actor, &origin, &id).await {
        Ok(true) => Ok(see_other(
            &format!("{HERE}?done=deleted"),
            is_htmx(&headers),
        )),
        Ok(false) => Err(Problem::not_found("role")),
        Err(e) => {
            let (status, message) = console::explain(&Problem(e));
            let shell = Shell::new(&actor, HERE).error(message);
            let values = Values::of(&role);
            render_form(&state, &actor, status, shell, Some(id.to_string()), values).await
        }
    }
}
