//! `/api/v1/jobs` (module `field_service`): book, list (a dispatch board by date range,
//! technician and status), read, change, note (internal or customer-visible) and move jobs
//! through their statuses; and
//! `/api/v1/field-service/time-zone`, the workspace's zone windows are typed in. Reading needs
//! `jobs.read`, changing `jobs.write`; without `jobs.all` a member reaches only the jobs they
//! are assigned to (the store's `JobScope`), and every other job answers 404.

use crate::audit;
use crate::extract::{ClientInfo, JsonBody, QueryParams};
use crate::guard::{Authed, Guard};
use crate::paging::{CURSOR, LIMIT, Page, page_of, page_params_into};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::table::{Doc, QueryParam, RouteTable};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::routing::{get, patch, post, put};
use holdfast_app::field_service::jobs as app;
use holdfast_core::access::policy::Permission;
use holdfast_core::field_service::jobs::{JobIn, JobOut, JobPatch, JobStatus, NoteIn, StatusIn};
use holdfast_core::ids::JobId;
use holdfast_core::validate::Errors;
use holdfast_store::field_service::jobs::Filter;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

const READ: Guard = Guard::Staff {
    permission: Permission::JobsRead,
};
const WRITE: Guard = Guard::Staff {
    permission: Permission::JobsWrite,
};

const LIST_QUERY: &[QueryParam] = &[
    LIMIT,
    CURSOR,
    QueryParam {
        name: "from",
        description: "Jobs whose window ends after this time (local like 2026-12-08T00:00, or with an offset)",
        integer: false,
    },
    QueryParam {
        name: "to",
        description: "Jobs whose window starts before this time",
        integer: false,
    },
    QueryParam {
        name: "technician_id",
        description: "Jobs assigned to this member (user id)",
        integer: false,
    },
    QueryParam {
        name: "status",
        description: "requested, scheduled, en_route, in_progress, completed or cancelled",
        integer: false,
    },
];

/// The workspace's time zone.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TimeZoneBody {
    /// An IANA name, like Europe/London.
    #[schemars(length(min = 1, max = 64))]
    pub time_zone: String,
}

pub fn routes(t: &mut RouteTable) {
    let doc = |summary| Doc::new("jobs", summary);
    t.add(
        Method::POST,
        "/api/v1/jobs",
        WRITE,
        doc("Book a job for a contact (status requested; a window in the workspace's time zone)")
            .request::<JobIn>()
            .response::<JobOut>(201),
        post(job_create),
    );
    t.add(
        Method::GET,
        "/api/v1/jobs",
        READ,
        doc("List jobs for a dispatch board: by window, technician and status")
            .query(LIST_QUERY)
            .response::<Page<JobOut>>(200),
        get(job_list),
    );
    t.add(
        Method::GET,
        "/api/v1/jobs/{id}",
        READ,
        doc("Get a job with its history and any overlapping jobs of its technicians")
            .response::<JobOut>(200),
        get(job_get),
    );
    t.add(
        Method::PATCH,
        "/api/v1/jobs/{id}",
        WRITE,
        doc("Change a job's details, window, technicians, checklist or line items (merge patch)")
            .request::<JobPatch>()
            .response::<JobOut>(200),
        patch(job_update),
    );
    t.add(
        Method::POST,
        "/api/v1/jobs/{id}/status",
        WRITE,
        doc("Move a job to another status (the allowed moves are checked; 409 names them)")
            .request::<StatusIn>()
            .response::<JobOut>(200),
        post(job_status),
    );
    t.add(
        Method::POST,
        "/api/v1/jobs/{id}/notes",
        WRITE,
        doc("Add a note to a job: internal (the default) or customer-visible")
            .request::<NoteIn>()
            .response::<JobOut>(201),
        post(job_note),
    );
    t.add(
        Method::GET,
        "/api/v1/field-service/time-zone",
        READ,
        doc("The time zone job windows are typed and shown in").response::<TimeZoneBody>(200),
        get(zone_get),
    );
    t.add(
        Method::PUT,
        "/api/v1/field-service/time-zone",
        Guard::StaffStepUp {
            permission: Permission::WorkspaceManage,
        },
        doc("Set the workspace's time zone (scheduled jobs keep their times)")
            .request::<TimeZoneBody>()
            .response::<TimeZoneBody>(200),
        put(zone_set),
    );
}

async fn job_create(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    body: JsonBody<JobIn>,
) -> ApiResult<(StatusCode, Json<JobOut>)> {
    let origin = audit::origin(&actor, &client);
    let out = app::create(&state, &actor, &origin, &body.value).await?;
    Ok((StatusCode::CREATED, Json(out)))
}

async fn job_get(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<JobOut>> {
    Ok(Json(app::get(&state, &actor, &id).await?))
}

async fn job_update(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    body: JsonBody<JobPatch>,
) -> ApiResult<Json<JobOut>> {
    let origin = audit::origin(&actor, &client);
    Ok(Json(
        app::update(&state, &actor, &origin, &id, &body.value).await?,
    ))
}

async fn job_status(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    body: JsonBody<StatusIn>,
) -> ApiResult<Json<JobOut>> {
    let origin = audit::origin(&actor, &client);
    Ok(Json(
        app::change_status(&state, &actor, &origin, &id, &body.value).await?,
    ))
}

async fn job_note(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    body: JsonBody<NoteIn>,
) -> ApiResult<(StatusCode, Json<JobOut>)> {
    let origin = audit::origin(&actor, &client);
    let out = app::add_note(&state, &actor, &origin, &id, &body.value).await?;
    Ok((StatusCode::CREATED, Json(out)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    limit: Option<String>,
    cursor: Option<String>,
    from: Option<String>,
    to: Option<String>,
    technician_id: Option<String>,
    status: Option<String>,
}

async fn job_list(
    State(state): State<AppState>,
    Authed(actor): Authed,
    QueryParams(query): QueryParams<ListQuery>,
) -> ApiResult<Json<Page<JobOut>>> {
    let zone = app::zone(&state, &actor.tenant).await?;
    let mut errors = Errors::default();
    let (limit, after) =
        page_params_into(query.limit.as_deref(), query.cursor.as_deref(), &mut errors);
    let after = after.and_then(|text| {
        let id = JobId::parse(&text);
        if id.is_none() {
            errors.push("cursor", "is not a cursor this API issued");
        }
        id
    });
    let mut filter = Filter {
        from_ms: query
            .from
            .as_deref()
            .and_then(|t| errors.take(zone.instant("from", t))),
        to_ms: query
            .to
            .as_deref()
            .and_then(|t| errors.take(zone.instant("to", t))),
        ..Filter::default()
    };
    if let Some(text) = &query.technician_id {
        match holdfast_core::ids::UserId::parse(text) {
            Some(user) => filter.technician = Some(user.to_string()),
            None => errors.push("technician_id", "is not a member's user id"),
        }
    }
    if let Some(text) = &query.status {
        match JobStatus::parse(text) {
            Some(status) => filter.status = Some(status),
            None => errors.push(
                "status",
                "must be requested, scheduled, en_route, in_progress, completed or cancelled",
            ),
        }
    }
    errors.finish(()).map_err(Problem::validation)?;
    let rows = app::list(
        &state,
        &actor,
        &filter,
        after.as_ref(),
        i64::from(limit) + 1,
    )
    .await?;
    Ok(Json(page_of(rows, limit, |j| j.id.clone())))
}

async fn zone_get(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> ApiResult<Json<TimeZoneBody>> {
    let zone = app::zone(&state, &actor.tenant).await?;
    Ok(Json(TimeZoneBody {
        time_zone: zone.as_str().to_owned(),
    }))
}

async fn zone_set(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    body: JsonBody<TimeZoneBody>,
) -> ApiResult<Json<TimeZoneBody>> {
    let origin = audit::origin(&actor, &client);
    let time_zone = app::set_zone(&state, &actor, &origin, &body.value.time_zone).await?;
    Ok(Json(TimeZoneBody { time_zone }))
}
