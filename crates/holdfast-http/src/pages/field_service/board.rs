//! `/app/jobs`: the dispatch board — one day of the workspace's calendar (in its time zone, so
//! a day the clocks change is 23 or 25 hours), a lane per technician with their jobs in time
//! order, jobs nobody is assigned to, and the requests not yet scheduled; double bookings are
//! marked. A technician (no `jobs.all`) sees the same board limited to their own jobs: the
//! store's `JobScope` decides, as for the API. `/app/jobs/new` books a job.

use crate::audit;
use crate::console::jobs::{checklist_of, member_names, status_label};
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
use holdfast_app::field_service::jobs as app;
use holdfast_core::access::fields::{Field, Visible};
use holdfast_core::access::modules::Module;
use holdfast_core::access::policy::Permission;
use holdfast_core::field_service::jobs::{JobIn, JobOut, JobStatus, WindowIn};
use holdfast_core::field_service::time_zone::ZoneName;
use holdfast_core::ids::{ContactId, UserId};
use holdfast_core::validate::Errors;
use holdfast_store::Lock;
use holdfast_store::field_service::jobs::{Filter, JobScope};
use holdfast_store::identity::auth::Actor;
use jiff::civil::Date;
use serde::Deserialize;
use std::collections::BTreeMap;

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
            "/app/jobs",
            READ,
            Doc::page("Console", "The dispatch board: a day's jobs by technician"),
            get(board_page),
        );
        t.add(
            Method::GET,
            "/app/jobs/new",
            WRITE,
            Doc::page("Console", "Book a job"),
            get(new_page),
        );
        t.add(
            Method::POST,
            "/app/jobs",
            WRITE,
            Doc::page("Console", "Book a job (the form)").redirect(),
            post(job_create),
        );
    });
}

/// The most jobs one day's board shows; a busier day is narrowed by technician or status.
const BOARD_LIMIT: i64 = 400;
/// The most unscheduled requests listed beside the board.
const REQUESTS_SHOWN: i64 = 50;

/// A job on the board.
pub(crate) struct Card {
    pub id: String,
    pub title: String,
    /// `09:00–11:30`, or with dates when the window is not within the day.
    pub time: String,
    pub status: &'static str,
    pub status_label: &'static str,
    pub overlaps: bool,
}

fn card(job: &JobOut, day: &str) -> Card {
    let time = match &job.window {
        Some(w) => {
            let (start_day, start_time) = w.start_local.split_once('T').unwrap_or(("", ""));
            let (end_day, end_time) = w.end_local.split_once('T').unwrap_or(("", ""));
            if start_day == day && end_day == day {
                format!("{start_time}–{end_time}")
            } else {
                format!("{start_day} {start_time} – {end_day} {end_time}")
            }
        }
        None => "not scheduled".to_owned(),
    };
    Card {
        id: job.id.clone(),
        title: job.title.clone(),
        time,
        status: job.status.as_str(),
        status_label: status_label(job.status),
        overlaps: !job.overlapping_job_ids.is_empty(),
    }
}

struct Lane {
    name: String,
    cards: Vec<Card>,
}

#[derive(Template)]
#[template(path = "jobs_board.html")]
struct BoardPage {
    frame: Frame,
    day: String,
    day_label: String,
    previous: String,
    next: String,
    today: String,
    zone: String,
    technician: String,
    status: String,
    /// (user id, name) for the technician filter.
    technicians: Vec<(String, String)>,
    statuses: Vec<(&'static str, &'static str)>,
    lanes: Vec<Lane>,
    unassigned: Vec<Card>,
    requests: Vec<Card>,
    more: bool,
    may_book: bool,
    /// The caller reaches only their own jobs.
    own_only: bool,
}

#[derive(Deserialize)]
struct BoardQuery {
    day: Option<String>,
    technician: Option<String>,
    status: Option<String>,
}

fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// The board's day: the one asked for (`YYYY-MM-DD`), else today in the workspace's zone.
fn board_day(asked: Option<&str>, zone: &ZoneName, now_ms: i64, errors: &mut Errors) -> Date {
    let today = zone.date(now_ms);
    match asked {
        None => today,
        Some(text) => match text.parse::<Date>() {
            Ok(day) if (2000..2100).contains(&day.year()) => day,
            _ => {
                errors.push("day", "must be a date like 2026-12-08 (years 2000 to 2099)");
                today
            }
        },
    }
}

fn board_href(day: Date, technician: &str, status: &str) -> String {
    let mut pairs = vec![("day", day.to_string())];
    if !technician.is_empty() {
        pairs.push(("technician", technician.to_owned()));
    }
    if !status.is_empty() {
        pairs.push(("status", status.to_owned()));
    }
    format!(
        "/app/jobs?{}",
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    )
}

async fn board_page(
    State(state): State<AppState>,
    Authed(actor): Authed,
    QueryParams(query): QueryParams<BoardQuery>,
) -> ApiResult<Response> {
    let zone = app::zone(&state, &actor.tenant).await?;
    let mut errors = Errors::default();
    let day = board_day(given(&query.day), &zone, state.clock.now_ms(), &mut errors);
    let technician = given(&query.technician).and_then(|t| match UserId::parse(t) {
        Some(user) => Some(user.to_string()),
        None => {
            errors.push("technician", "is not a member of this workspace");
            None
        }
    });
    let status = given(&query.status).and_then(|s| match JobStatus::parse(s) {
        Some(status) => Some(status),
        None => {
            errors.push(
                "status",
                "must be requested, scheduled, en_route, in_progress, completed or cancelled",
            );
            None
        }
    });
    errors.finish(()).map_err(Problem::validation)?;
    let (from_ms, to_ms) = zone.day_bounds(day).ok_or_else(|| {
        Problem::validation(vec![holdfast_core::validate::FieldError::new(
            "day",
            "is not a day this time zone has",
        )])
    })?;
    let filter = Filter {
        from_ms: Some(from_ms),
        to_ms: Some(to_ms),
        technician: technician.clone(),
        status,
    };
    let mut jobs = app::list(&state, &actor, &filter, None, BOARD_LIMIT + 1).await?;
    let more = jobs.len() > BOARD_LIMIT as usize;
    jobs.truncate(BOARD_LIMIT as usize);
    jobs.sort_by(|a, b| {
        let start = |j: &JobOut| j.window.as_ref().map(|w| w.start.clone());
        start(a).cmp(&start(b)).then_with(|| a.id.cmp(&b.id))
    });
    // Requests without a window, oldest first (the dispatcher's queue); not on a filtered board.
    let requests: Vec<Card> = if technician.is_none() && status.is_none() {
        let filter = Filter {
            status: Some(JobStatus::Requested),
            ..Filter::default()
        };
        app::list(&state, &actor, &filter, None, REQUESTS_SHOWN)
            .await?
            .iter()
            .filter(|j| j.window.is_none())
            .map(|j| card(j, ""))
            .collect()
    } else {
        Vec::new()
    };
    let members = member_names(&state, &actor).await?;
    let scope = JobScope::of(&actor);
    let day_text = day.to_string();
    // A lane for each member with jobs that day, and each technician free all day (the
    // dispatcher's view); a technician's own board has their lane only.
    let mut lanes: BTreeMap<String, Lane> = BTreeMap::new();
    for (user_id, name, role) in &members {
        let shown = match scope.member() {
            Some(me) => me == user_id,
            None => {
                role == "technician" && technician.as_ref().is_none_or(|t| t == user_id)
                    || jobs.iter().any(|j| j.technician_ids.contains(user_id))
            }
        };
        if shown {
            lanes.insert(
                user_id.clone(),
                Lane {
                    name: name.clone(),
                    cards: Vec::new(),
                },
            );
        }
    }
    let mut unassigned = Vec::new();
    for job in &jobs {
        if job.technician_ids.is_empty() {
            unassigned.push(card(job, &day_text));
        }
        for user in &job.technician_ids {
            if let Some(lane) = lanes.get_mut(user) {
                lane.cards.push(card(job, &day_text));
            }
        }
    }
    let mut lanes: Vec<Lane> = lanes.into_values().collect();
    lanes.sort_by_key(|a| a.name.to_lowercase());
    let technician_text = technician.unwrap_or_default();
    let status_text = status.map(JobStatus::as_str).unwrap_or("").to_owned();
    let page = BoardPage {
        frame: Frame::new(&state, &actor, "/app/jobs").await?,
        day_label: day.strftime("%A %-d %B %Y").to_string(),
        previous: board_href(
            day.yesterday().unwrap_or(day),
            &technician_text,
            &status_text,
        ),
        next: board_href(
            day.tomorrow().unwrap_or(day),
            &technician_text,
            &status_text,
        ),
        today: board_href(
            zone.date(state.clock.now_ms()),
            &technician_text,
            &status_text,
        ),
        day: day_text,
        zone: zone.as_str().to_owned(),
        technicians: if scope.member().is_some() {
            Vec::new()
        } else {
            members
                .iter()
                .map(|(id, name, _)| (id.clone(), name.clone()))
                .collect()
        },
        technician: technician_text,
        status: status_text,
        statuses: JobStatus::ALL
            .iter()
            .map(|s| (s.as_str(), status_label(*s)))
            .collect(),
        lanes,
        unassigned,
        requests,
        more,
        may_book: actor.role.grants(Permission::JobsWrite)
            && actor.role.grants(Permission::ContactsRead),
        own_only: scope.member().is_some(),
    };
    Ok(console::render(StatusCode::OK, &page))
}

/// What the booking form shows: what was sent (or a contact to start from), and why it was
/// refused.
#[derive(Default)]
struct Booking {
    contact: String,
    title: String,
    description: String,
    address: String,
    start: String,
    end: String,
    technicians: Vec<String>,
    checklist: String,
}

#[derive(Template)]
#[template(path = "job_new.html")]
struct NewPage {
    frame: Frame,
    values: Booking,
    /// (user id, name, ticked).
    members: Vec<(String, String, bool)>,
    error: Option<String>,
    zone: String,
}

#[derive(Deserialize)]
struct NewQuery {
    contact: Option<String>,
}

async fn render_new(
    state: &AppState,
    actor: &Actor,
    status: StatusCode,
    values: Booking,
    error: Option<String>,
) -> ApiResult<Response> {
    let zone = app::zone(state, &actor.tenant).await?;
    let members = member_names(state, actor)
        .await?
        .into_iter()
        .map(|(id, name, _)| {
            let ticked = values.technicians.contains(&id);
            (id, name, ticked)
        })
        .collect();
    let page = NewPage {
        frame: Frame::new(state, actor, "/app/jobs").await?,
        values,
        members,
        error,
        zone: zone.as_str().to_owned(),
    };
    Ok(console::render(status, &page))
}

async fn new_page(
    State(state): State<AppState>,
    Authed(actor): Authed,
    QueryParams(query): QueryParams<NewQuery>,
) -> ApiResult<Response> {
    let mut values = Booking {
        contact: given(&query.contact).unwrap_or_default().to_owned(),
        ..Booking::default()
    };
    // A technician books jobs they do themselves: ticked for them from the start.
    if let Some(me) = JobScope::of(&actor).member() {
        values.technicians.push(me.to_owned());
    }
    render_new(&state, &actor, StatusCode::OK, values, None).await
}

/// The contact a booking names: its id, or the email of a contact the role may see.
async fn contact_of(state: &AppState, actor: &Actor, text: &str) -> ApiResult<Option<String>> {
    if let Some(id) = ContactId::parse(text) {
        return Ok(Some(id.to_string()));
    }
    if !text.contains('@') || !actor.role.grants(Permission::ContactsRead) {
        return Ok(None);
    }
    let mut tx = state.db.read(&actor.tenant).await?;
    let found = holdfast_store::crm::contacts::find_by_email(&mut tx, text, Lock::Read).await?;
    tx.commit().await?;
    // Finding a contact by email is reading its email: only for a role that may.
    Ok(found
        .filter(|c| {
            Visible::contact(&actor.role, c)
                .text(Field::ContactsEmail)
                .is_some()
        })
        .map(|c| c.id))
}

async fn job_create(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let sent: Vec<(String, String)> = console::form(&headers, &body)?;
    let field = |name: &str| {
        sent.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    let values = Booking {
        contact: field("contact"),
        title: field("title"),
        description: field("description"),
        address: field("service_address"),
        start: field("start"),
        end: field("end"),
        technicians: sent
            .iter()
            .filter(|(k, _)| k == "technician")
            .map(|(_, v)| v.clone())
            .collect(),
        checklist: field("checklist"),
    };
    let Some(contact_id) = contact_of(&state, &actor, &values.contact).await? else {
        let error = "Contact: give the contact's id (ct_…) or the email of one of the \
                     workspace's contacts."
            .to_owned();
        return render_new(
            &state,
            &actor,
            StatusCode::UNPROCESSABLE_ENTITY,
            values,
            Some(error),
        )
        .await;
    };
    let optional = |text: &str| (!text.is_empty()).then(|| text.to_owned());
    let window = match (values.start.is_empty(), values.end.is_empty()) {
        (true, true) => None,
        _ => Some(WindowIn {
            start: values.start.clone(),
            end: values.end.clone(),
        }),
    };
    let body = JobIn {
        contact_id,
        company_id: None,
        title: values.title.clone(),
        description: optional(&values.description),
        service_address: optional(&values.address),
        window,
        technician_ids: values.technicians.clone(),
        checklist: checklist_of(&values.checklist),
        line_items: Vec::new(),
    };
    let origin = audit::origin(&actor, &client);
    match app::create(&state, &actor, &origin, &body).await {
        Ok(job) => Ok(see_other(
            &format!("/app/jobs/{}", job.id),
            is_htmx(&headers),
        )),
        Err(e) => {
            let (status, detail) = console::explain(&Problem::from(e));
            render_new(&state, &actor, status, values, Some(detail)).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_board_day_is_asked_for_or_today() {
        let zone = ZoneName::from_trusted("Pacific/Auckland");
        let mut errors = Errors::default();
        // 2026-12-07T12:00Z is already the 8th in Auckland.
        let now = 1_796_644_800_000;
        assert_eq!(
            board_day(None, &zone, now, &mut errors).to_string(),
            "2026-12-08"
        );
        assert_eq!(
            board_day(Some("2026-02-28"), &zone, now, &mut errors).to_string(),
            "2026-02-28"
        );
        assert!(errors.finish(()).is_ok());
        for bad in ["2026-02-30", "tomorrow", "1999-12-31", "2026-1-1x"] {
            let mut errors = Errors::default();
            board_day(Some(bad), &zone, now, &mut errors);
            assert!(errors.finish(()).is_err(), "{bad} was taken");
        }
    }
}
