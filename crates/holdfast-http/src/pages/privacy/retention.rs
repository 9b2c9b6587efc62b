//! `/app/settings/retention`: the workspace's retention periods, a preview of what would go
//! now, and running it now — the same guards as `/api/v1/settings/retention` (`contacts.erase`,
//! step-up to change or run), through `holdfast_app::privacy`.

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
use holdfast_app::privacy;
use holdfast_core::access::policy::Permission;
use holdfast_core::privacy::{RetentionIn, RetentionPreview};
use holdfast_core::validate::FieldError;
use holdfast_store::identity::auth::Actor;
use holdfast_store::privacy as store;
use serde::Deserialize;
use serde_json::json;

const HERE: &str = "/app/settings/retention";
const SEE: Guard = Guard::Staff {
    permission: Permission::ContactsErase,
};
const CHANGE: Guard = Guard::StaffStepUp {
    permission: Permission::ContactsErase,
};

pub fn routes(t: &mut RouteTable) {
    t.add(
        Method::GET,
        HERE,
        SEE,
        Doc::page("Console", "Retention periods and what would go now"),
        get(retention_page),
    );
    t.add(
        Method::POST,
        HERE,
        CHANGE,
        Doc::page("Console", "Set the retention periods").redirect(),
        post(retention_change),
    );
    t.add(
        Method::POST,
        "/app/settings/retention/run",
        CHANGE,
        Doc::page("Console", "Run retention now").redirect(),
        post(retention_run),
    );
}

#[derive(Template)]
#[template(path = "settings/retention.html")]
struct RetentionPage {
    frame: Frame,
    shell: Shell,
    closed: String,
    messages: String,
    inactive: String,
    preview: RetentionPreview,
    last_run: Option<String>,
}

/// The form's values: the periods (empty: forever), or what was sent.
type Periods = (String, String, String);

async fn render(
    state: &AppState,
    actor: &Actor,
    status: StatusCode,
    shell: Shell,
    sent: Option<Periods>,
) -> ApiResult<Response> {
    let mut tx = state.db.read(&actor.tenant).await?;
    let (settings, last_run) = store::retention(&mut tx).await?;
    tx.commit().await?;
    let preview =
        privacy::retention_preview(&state.db, &actor.tenant, state.clock.now_ms()).await?;
    let text = |days: Option<i64>| days.map(|d| d.to_string()).unwrap_or_default();
    let (closed, messages, inactive) = sent.unwrap_or_else(|| {
        (
            text(settings.closed_tickets_days),
            text(settings.messages_days),
            text(settings.inactive_contacts_days),
        )
    });
    let page = RetentionPage {
        frame: Frame::new(state, actor, "/app/settings").await?,
        shell,
        closed,
        messages,
        inactive,
        preview,
        last_run: last_run.map(|r| {
            format!(
                "{}: {} tickets, {} messages, {} contacts",
                r.day, r.counts.tickets, r.counts.messages, r.counts.contacts
            )
        }),
    };
    Ok(console::render(status, &page))
}

#[derive(Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

async fn retention_page(
    State(state): State<AppState>,
    Authed(actor): Authed,
    QueryParams(query): QueryParams<DoneQuery>,
) -> ApiResult<Response> {
    let done = match query.done.as_deref() {
        Some("saved") => Some("The periods are saved; the daily run follows them."),
        Some("ran") => Some("Retention ran; what it removed is in the audit trail."),
        _ => None,
    };
    render(
        &state,
        &actor,
        StatusCode::OK,
        Shell::new(&actor, HERE).done(done),
        None,
    )
    .await
}

#[derive(Deserialize)]
struct PeriodsForm {
    #[serde(default)]
    closed_tickets_days: String,
    #[serde(default)]
    messages_days: String,
    #[serde(default)]
    inactive_contacts_days: String,
}

/// A period from the form: empty is forever, else a whole number of days.
fn days(field: &str, text: &str, errors: &mut Vec<FieldError>) -> Option<i64> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    match text.parse::<i64>() {
        Ok(n) => Some(n),
        Err(_) => {
            errors.push(FieldError::new(
                field,
                "must be a whole number of days, or empty to keep forever",
            ));
            None
        }
    }
}

async fn retention_change(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let form: PeriodsForm = console::form(&headers, &body)?;
    let mut errors = Vec::new();
    let input = RetentionIn {
        closed_tickets_days: days(
            "closed_tickets_days",
            &form.closed_tickets_days,
            &mut errors,
        ),
        messages_days: days("messages_days", &form.messages_days, &mut errors),
        inactive_contacts_days: days(
            "inactive_contacts_days",
            &form.inactive_contacts_days,
            &mut errors,
        ),
    };
    let changed = if !errors.is_empty() {
        Err(Problem::validation(errors))
    } else {
        match input.validate() {
            Err(errors) => Err(Problem::validation(errors)),
            Ok(settings) => {
                let origin = audit::origin(&actor, &client);
                privacy::set_retention(&state, &actor, &origin, &settings)
                    .await
                    .map(|_| ())
                    .map_err(Problem)
            }
        }
    };
    match changed {
        Ok(()) => Ok(see_other(&format!("{HERE}?done=saved"), is_htmx(&headers))),
        Err(problem) => {
            let (status, message) = console::explain(&problem);
            let shell = Shell::new(&actor, HERE).error(message);
            let sent = (
                form.closed_tickets_days,
                form.messages_days,
                form.inactive_contacts_days,
            );
            render(&state, &actor, status, shell, Some(sent)).await
        }
    }
}

async fn retention_run(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let by = audit::origin(&actor, &client).event("retention.purged", "workspace", "", json!({}));
    privacy::run_retention(
        &state.db,
        &state.config.data_dir,
        &actor.tenant,
        state.clock.now_ms(),
        false,
        Some(by),
    )
    .await?;
    Ok(see_other(&format!("{HERE}?done=ran"), is_htmx(&headers)))
}
