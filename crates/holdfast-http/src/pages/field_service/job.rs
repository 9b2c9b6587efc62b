//! `/app/jobs/{id}`: a job, made to be used on a phone by the technician on site — the
//! customer and where to go, big buttons for the next status (on the way, started, done), the
//! checklist to tick, materials and services used, notes (internal or for the customer), and
//! the customer's link; the dispatcher edits the details and window here too. Every action goes
//! through `holdfast_app::field_service` exactly as the API's, within the caller's `JobScope`
//! (a technician's other jobs are 404 here as there).

use crate::audit;
use crate::console::jobs::{checklist_of, member_names, status_label};
use crate::console::{self, Frame, is_htmx, see_other};
use crate::extract::ClientInfo;
use crate::guard::{Authed, Guard};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use askama::Template;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use holdfast_app::field_service::jobs as app;
use holdfast_app::field_service::{files, public_links};
use holdfast_core::access::fields::{Field, Visible};
use holdfast_core::access::modules::Module;
use holdfast_core::access::policy::Permission;
use holdfast_core::error::ErrorCode;
use holdfast_core::field_service::jobs::{
    JobOut, JobPatch, JobStatus, LineItem, LineKind, NoteIn, NoteVisibility, StatusIn, WindowIn,
};
use holdfast_core::ids::{ContactId, JobId};
use holdfast_store::Lock;
use holdfast_store::identity::auth::Actor;
use serde::Deserialize;

const READ: Guard = Guard::Staff {
    permission: Permission::JobsRead,
};
const WRITE: Guard = Guard::Staff {
    permission: Permission::JobsWrite,
};

pub fn routes(t: &mut RouteTable) {
    t.module(Module::FieldService, |t| {
        t.add(
            Method::GET,
            "/app/jobs/{id}",
            READ,
            Doc::page("Console", "A job: status, checklist, materials, notes"),
            get(job_page),
        );
        for (path, summary, handler) in [
            (
                "/app/jobs/{id}/status",
                "Move a job to its next status",
                post(status_change),
            ),
            (
                "/app/jobs/{id}/checklist",
                "Tick or untick an item of a job's checklist",
                post(checklist_tick),
            ),
            (
                "/app/jobs/{id}/items",
                "Add a service or material used on a job",
                post(item_add),
            ),
            (
                "/app/jobs/{id}/items/remove",
                "Remove a service or material from a job",
                post(item_remove),
            ),
            (
                "/app/jobs/{id}/notes",
                "Add a note to a job",
                post(note_add),
            ),
            (
                "/app/jobs/{id}/details",
                "Change a job's details, window and technicians",
                post(details_change),
            ),
            (
                "/app/jobs/{id}/link/revoke",
                "Revoke the job's customer link",
                post(link_revoke),
            ),
        ] {
            t.add(
                Method::POST,
                path,
                WRITE,
                Doc::page("Console", summary).redirect(),
                handler,
            );
        }
        t.add(
            Method::POST,
            "/app/jobs/{id}/files",
            WRITE,
            Doc::page(
                "Console",
                "Upload a photo or file to a job (multipart/form-data, one part named file)",
            )
            .redirect(),
            post(file_upload),
        );
        t.add(
            Method::POST,
            "/app/jobs/{id}/link",
            WRITE,
            Doc::page(
                "Console",
                "Make a new link for the customer to follow the job (shown once)",
            ),
            post(link_issue),
        );
    });
}

/// A status button: where it moves the job, and its words.
struct Move {
    to: &'static str,
    label: &'static str,
    /// The way forward (a primary button) rather than a step back or a cancellation.
    forward: bool,
}

/// The buttons for a job in `status`, forward first.
fn moves(status: JobStatus) -> Vec<Move> {
    let mut moves: Vec<Move> = status
        .next()
        .iter()
        .map(|to| {
            let (label, forward) = match to {
                JobStatus::Requested if status == JobStatus::Cancelled => ("Request again", true),
                JobStatus::Requested => ("Back to requested", false),
                JobStatus::Scheduled if status == JobStatus::Requested => ("Schedule", true),
                JobStatus::Scheduled => ("Back to scheduled", false),
                JobStatus::EnRoute => ("On my way", true),
                JobStatus::InProgress => ("Start work", true),
                JobStatus::Completed => ("Complete", true),
                JobStatus::Cancelled => ("Cancel the job", false),
            };
            Move {
                to: to.as_str(),
                label,
                forward,
            }
        })
        .collect();
    moves.sort_by_key(|m| !m.forward);
    moves
}

struct Shown {
    label: &'static str,
    internal: bool,
    by: String,
    when: String,
    body: String,
}

/// A photo or file of the job, downloaded through the API's guarded route.
struct FileShown {
    href: String,
    name: String,
    size: String,
}

struct HistoryLine {
    when: String,
    text: String,
}

#[derive(Template)]
#[template(path = "job.html")]
struct JobPage {
    frame: Frame,
    job: JobOut,
    status_label: &'static str,
    when: Option<String>,
    zone: String,
    /// The customer as the role may see them: (label, value).
    customer: Vec<(&'static str, String)>,
    customer_href: Option<String>,
    technicians: Vec<String>,
    moves: Vec<Move>,
    may_write: bool,
    /// The job can still be changed (not completed or cancelled).
    open: bool,
    notes: Vec<Shown>,
    history: Vec<HistoryLine>,
    /// (user id, name, ticked) for the details form.
    members: Vec<(String, String, bool)>,
    start: String,
    end: String,
    checklist_text: String,
    overlaps: Vec<String>,
    /// A link just made for the customer (shown this once).
    issued_link: Option<String>,
    /// Why the last action was refused, shown above the page.
    error: Option<String>,
    may_invoice: bool,
    /// Photos the browser shows (JPEG, PNG, WebP).
    photos: Vec<FileShown>,
    /// Other files (HEIC photos, PDFs), as links.
    documents: Vec<FileShown>,
}

/// Whether a browser shows the file as a picture (what the download answers inline).
fn shows_inline(content_type: &str) -> bool {
    matches!(content_type, "image/jpeg" | "image/png" | "image/webp")
}

fn job_id(text: &str) -> ApiResult<JobId> {
    JobId::parse(text).ok_or_else(|| Problem::not_found("job"))
}

/// The job's id when the caller reaches it: an action on a job out of reach (another
/// technician's, another workspace's) is 404 before its form is read.
async fn reach(state: &AppState, actor: &Actor, id: &str) -> ApiResult<JobId> {
    app::get(state, actor, id).await?;
    job_id(id)
}

fn who(by: &str, names: &[(String, String, String)]) -> String {
    match by.split_once(':') {
        Some(("user", id)) => names
            .iter()
            .find(|(user, _, _)| user == id)
            .map(|(_, name, _)| name.clone())
            .unwrap_or_else(|| "a former member".to_owned()),
        Some(("api_key", _)) => "an API key".to_owned(),
        Some(("contact", _)) => "the customer".to_owned(),
        _ => "Holdfast".to_owned(),
    }
}

async fn customer_of(
    state: &AppState,
    actor: &Actor,
    contact_id: &str,
) -> ApiResult<Vec<(&'static str, String)>> {
    if !actor.role.grants(Permission::ContactsRead) {
        return Ok(Vec::new());
    }
    let Some(id) = ContactId::parse(contact_id) else {
        return Ok(Vec::new());
    };
    let mut tx = state.db.read(&actor.tenant).await?;
    let contact = holdfast_store::crm::contacts::get(&mut tx, &id, Lock::Read).await?;
    tx.commit().await?;
    Ok(contact
        .map(|c| {
            let seen = Visible::contact(&actor.role, &c);
            [
                ("Name", Field::ContactsName),
                ("Phone", Field::ContactsPhone),
                ("Email", Field::ContactsEmail),
            ]
            .into_iter()
            .filter_map(|(label, field)| seen.text(field).map(|v| (label, v.to_owned())))
            .collect()
        })
        .unwrap_or_default())
}

/// The job's page as `actor` sees it, with a refusal or a fresh link to show.
async fn render(
    state: &AppState,
    actor: &Actor,
    id: &str,
    status: StatusCode,
    error: Option<String>,
    issued_link: Option<String>,
) -> ApiResult<Response> {
    let job = app::get(state, actor, id).await?;
    let zone = app::zone(state, &actor.tenant).await?;
    let names = member_names(state, actor).await?;
    let customer = customer_of(state, actor, &job.contact_id).await?;
    let notes = job
        .notes
        .iter()
        .rev()
        .map(|n| Shown {
            label: match n.visibility {
                NoteVisibility::Customer => "For the customer",
                NoteVisibility::Internal => "Internal",
            },
            internal: n.visibility == NoteVisibility::Internal,
            by: who(&n.by, &names),
            when: console::when(n.created_at),
            body: n.body.clone(),
        })
        .collect();
    let history = job
        .history
        .iter()
        .rev()
        .map(|h| HistoryLine {
            when: console::when(h.at),
            text: format!(
                "{} — {}{}",
                status_label(h.to),
                who(&h.by, &names),
                h.note
                    .as_deref()
                    .map(|n| format!(": {n}"))
                    .unwrap_or_default()
            ),
        })
        .collect();
    let technicians = job
        .technician_ids
        .iter()
        .map(|t| {
            names
                .iter()
                .find(|(user, _, _)| user == t)
                .map(|(_, name, _)| name.clone())
                .unwrap_or_else(|| t.clone())
        })
        .collect();
    let members = names
        .iter()
        .map(|(user, name, _)| {
            (
                user.clone(),
                name.clone(),
                job.technician_ids.contains(user),
            )
        })
        .collect();
    let (start, end, when) = match &job.window {
        Some(w) => (
            w.start_local.clone(),
            w.end_local.clone(),
            Some(format!(
                "{} – {}",
                w.start_local.replace('T', " "),
                w.end_local.replace('T', " ")
            )),
        ),
        None => (String::new(), String::new(), None),
    };
    let open = !matches!(job.status, JobStatus::Completed | JobStatus::Cancelled);
    // Pictures the browser shows inline as thumbnails; HEIC photos and PDFs as links.
    let (photos, documents): (Vec<_>, Vec<_>) = job
        .files
        .iter()
        .map(|f| {
            let shown = FileShown {
                href: format!("/api/v1/jobs/{}/files/{}", job.id, f.id),
                name: f.filename.clone(),
                size: console::size_text(f.size),
            };
            (shows_inline(&f.content_type), shown)
        })
        .partition(|(inline, _)| *inline);
    let photos = photos.into_iter().map(|(_, f)| f).collect();
    let documents = documents.into_iter().map(|(_, f)| f).collect();
    let page = JobPage {
        frame: Frame::new(state, actor, "/app/jobs").await?,
        status_label: status_label(job.status),
        when,
        zone: zone.as_str().to_owned(),
        customer_href: (actor.role.grants(Permission::ContactsRead))
            .then(|| format!("/app/contacts/{}", job.contact_id)),
        customer,
        technicians,
        moves: moves(job.status),
        may_write: actor.role.grants(Permission::JobsWrite),
        open,
        notes,
        history,
        members,
        start,
        end,
        checklist_text: job
            .checklist
            .iter()
            .map(|i| i.text.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        overlaps: job.overlapping_job_ids.clone(),
        issued_link,
        error,
        may_invoice: actor.modules.contains(Module::Invoicing)
            && actor.role.grants(Permission::InvoicesWrite),
        photos,
        documents,
        job,
    };
    Ok(console::render(status, &page))
}

async fn job_page(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    render(&state, &actor, &id, StatusCode::OK, None, None).await
}

/// After an action: back to the job, or the job's page with the refusal shown above it (a job
/// the caller does not reach stays 404, the page the guard would answer).
async fn after(
    state: &AppState,
    actor: &Actor,
    id: &JobId,
    headers: &HeaderMap,
    result: Result<(), Problem>,
) -> ApiResult<Response> {
    match result {
        Ok(()) => Ok(see_other(&format!("/app/jobs/{id}"), is_htmx(headers))),
        Err(problem) if problem.0.code == ErrorCode::NotFound => Err(problem),
        Err(problem) => {
            let (status, detail) = console::explain(&problem);
            render(state, actor, id.as_str(), status, Some(detail), None).await
        }
    }
}

#[derive(Deserialize)]
struct StatusForm {
    status: String,
    note: Option<String>,
}

async fn status_change(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let id = reach(&state, &actor, &id).await?;
    let form: StatusForm = console::form(&headers, &body)?;
    let result = match JobStatus::parse(&form.status) {
        None => Err(Problem::new(
            ErrorCode::Validation,
            "status: must be requested, scheduled, en_route, in_progress, completed or cancelled",
        )),
        Some(status) => {
            let origin = audit::origin(&actor, &client);
            let body = StatusIn {
                status,
                note: form.note,
            };
            app::change_status(&state, &actor, &origin, id.as_str(), &body)
                .await
                .map(|_| ())
                .map_err(Problem::from)
        }
    };
    after(&state, &actor, &id, &headers, result).await
}

/// Changes the job as the API's `PATCH` does (validated, audited, published).
async fn change(
    state: &AppState,
    actor: &Actor,
    client: &ClientInfo,
    id: &JobId,
    patch: &JobPatch,
) -> Result<(), Problem> {
    let origin = audit::origin(actor, client);
    app::update(state, actor, &origin, id.as_str(), patch)
        .await
        .map(|_| ())
        .map_err(Problem::from)
}

/// A change of one item of a list the page showed: which (its position) and what it said
/// then, so a list changed meanwhile is not changed at the wrong place.
#[derive(Deserialize)]
struct ItemForm {
    index: String,
    text: String,
    done: Option<String>,
}

fn stale() -> Problem {
    Problem::new(
        ErrorCode::Conflict,
        "the job changed since this page was shown; look again and repeat the change",
    )
}

fn position(form: &ItemForm, texts: &[&str]) -> Result<usize, Problem> {
    form.index
        .parse::<usize>()
        .ok()
        .filter(|i| texts.get(*i).is_some_and(|t| *t == form.text))
        .ok_or_else(stale)
}

async fn checklist_tick(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let job = app::get(&state, &actor, &id).await?;
    let id = job_id(&id)?;
    let form: ItemForm = console::form(&headers, &body)?;
    let texts: Vec<&str> = job.checklist.iter().map(|i| i.text.as_str()).collect();
    let result = match position(&form, &texts) {
        Err(problem) => Err(problem),
        Ok(at) => {
            let mut checklist = job.checklist.clone();
            checklist[at].done = form.done.as_deref() == Some("1");
            let patch = JobPatch {
                checklist: Some(checklist),
                ..JobPatch::default()
            };
            change(&state, &actor, &client, &id, &patch).await
        }
    };
    after(&state, &actor, &id, &headers, result).await
}

#[derive(Deserialize)]
struct NewItemForm {
    kind: String,
    description: String,
    quantity: String,
}

async fn item_add(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let job = app::get(&state, &actor, &id).await?;
    let id = job_id(&id)?;
    let form: NewItemForm = console::form(&headers, &body)?;
    let kind = match form.kind.as_str() {
        "material" => LineKind::Material,
        "service" => LineKind::Service,
        _ => {
            let refused = Err(Problem::field(
                ErrorCode::Validation,
                "kind",
                "must be service or material",
            ));
            return after(&state, &actor, &id, &headers, refused).await;
        }
    };
    let mut items = job.line_items.clone();
    items.push(LineItem {
        kind,
        description: form.description.trim().to_owned(),
        quantity: form.quantity.trim().to_owned(),
    });
    let patch = JobPatch {
        line_items: Some(items),
        ..JobPatch::default()
    };
    let result = change(&state, &actor, &client, &id, &patch).await;
    after(&state, &actor, &id, &headers, result).await
}

async fn item_remove(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let job = app::get(&state, &actor, &id).await?;
    let id = job_id(&id)?;
    let form: ItemForm = console::form(&headers, &body)?;
    let texts: Vec<&str> = job
        .line_items
        .iter()
        .map(|i| i.description.as_str())
        .collect();
    let result = match position(&form, &texts) {
        Err(problem) => Err(problem),
        Ok(at) => {
            let mut items = job.line_items.clone();
            items.remove(at);
            let patch = JobPatch {
                line_items: Some(items),
                ..JobPatch::default()
            };
            change(&state, &actor, &client, &id, &patch).await
        }
    };
    after(&state, &actor, &id, &headers, result).await
}

#[derive(Deserialize)]
struct NoteForm {
    body: String,
    visibility: Option<String>,
}

async fn note_add(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let id = reach(&state, &actor, &id).await?;
    let form: NoteForm = console::form(&headers, &body)?;
    let visibility = match form.visibility.as_deref() {
        Some("customer") => NoteVisibility::Customer,
        None | Some("internal") => NoteVisibility::Internal,
        Some(_) => {
            let refused = Err(Problem::field(
                ErrorCode::Validation,
                "visibility",
                "must be internal (the team) or customer (also on the customer's link)",
            ));
            return after(&state, &actor, &id, &headers, refused).await;
        }
    };
    let origin = audit::origin(&actor, &client);
    let note = NoteIn {
        body: form.body,
        visibility,
    };
    let result = app::add_note(&state, &actor, &origin, id.as_str(), &note)
        .await
        .map(|_| ())
        .map_err(Problem::from);
    after(&state, &actor, &id, &headers, result).await
}

async fn details_change(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let job = app::get(&state, &actor, &id).await?;
    let id = job_id(&id)?;
    let sent: Vec<(String, String)> = console::form(&headers, &body)?;
    let field = |name: &str| {
        sent.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    let optional = |name: &str| {
        let text = field(name);
        Some((!text.is_empty()).then_some(text))
    };
    let (start, end) = (field("start"), field("end"));
    let window = if start.is_empty() && end.is_empty() {
        Some(None)
    } else {
        Some(Some(WindowIn { start, end }))
    };
    // The checklist as typed, one item per line; an item kept keeps its tick.
    let checklist = checklist_of(&field("checklist"))
        .into_iter()
        .map(|mut item| {
            item.done = job
                .checklist
                .iter()
                .any(|old| old.text == item.text && old.done);
            item
        })
        .collect();
    let patch = JobPatch {
        title: Some(field("title")),
        description: optional("description"),
        service_address: optional("service_address"),
        window,
        technician_ids: Some(
            sent.iter()
                .filter(|(k, _)| k == "technician")
                .map(|(_, v)| v.clone())
                .collect(),
        ),
        checklist: Some(checklist),
        line_items: None,
    };
    let result = change(&state, &actor, &client, &id, &patch).await;
    after(&state, &actor, &id, &headers, result).await
}

/// A photo from the phone's camera or a file: the job out of reach is 404 before the body is
/// read; a refused file (too large, not a picture or PDF, the 51st) is shown on the job's page.
async fn file_upload(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let id = reach(&state, &actor, &id).await?;
    let result = match crate::upload::one_file(&headers, body).await {
        Err(problem) => Err(problem),
        Ok(sent) => {
            let origin = audit::origin(&actor, &client);
            files::add(
                &state,
                &actor,
                &origin,
                id.as_str(),
                &sent.filename,
                sent.declared_type.as_deref(),
                &sent.bytes,
            )
            .await
            .map(|_| ())
            .map_err(Problem::from)
        }
    };
    after(&state, &actor, &id, &headers, result).await
}

#[derive(Deserialize)]
struct EmptyForm {}

async fn link_issue(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let id = reach(&state, &actor, &id).await?;
    let _: EmptyForm = console::form(&headers, &body)?;
    let origin = audit::origin(&actor, &client);
    let issued = public_links::issue_job_link(&state, &actor, &origin, id.as_str()).await?;
    // Shown once, on the answer itself: the link never goes into an address or a redirect.
    render(
        &state,
        &actor,
        id.as_str(),
        StatusCode::OK,
        None,
        Some(issued.url.expose().clone()),
    )
    .await
}

async fn link_revoke(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let id = reach(&state, &actor, &id).await?;
    let _: EmptyForm = console::form(&headers, &body)?;
    let origin = audit::origin(&actor, &client);
    public_links::revoke_job_link(&state, &actor, &origin, id.as_str()).await?;
    Ok(see_other(&format!("/app/jobs/{id}"), is_htmx(&headers)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_way_forward_comes_first() {
        let labels = |s| {
            moves(s)
                .iter()
                .map(|m| m.label)
                .collect::<Vec<_>>()
                .join(", ")
        };
        assert_eq!(
            labels(JobStatus::Scheduled),
            "On my way, Start work, Back to requested, Cancel the job"
        );
        assert_eq!(labels(JobStatus::Completed), "");
    }

    #[test]
    fn an_item_is_changed_only_where_the_page_showed_it() {
        let texts = ["Shut off water", "Replace valve"];
        let form = |index: &str, text: &str| ItemForm {
            index: index.to_owned(),
            text: text.to_owned(),
            done: None,
        };
        assert_eq!(position(&form("1", "Replace valve"), &texts).ok(), Some(1));
        for (index, text) in [("0", "Replace valve"), ("2", "x"), ("-1", "x"), ("a", "x")] {
            assert!(position(&form(index, text), &texts).is_err(), "{index}");
        }
    }
}
