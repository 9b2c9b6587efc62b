//! `/api/v1/jobs/{id}/files` (module `field_service`): a job's photos and files. Upload one as
//! `multipart/form-data` with a single part named `file` (at most 10 MiB; JPEG, PNG, WebP,
//! HEIC/HEIF or PDF as their bytes show; at most 50 per job), list them, download one, remove
//! one. Reading needs `jobs.read`, adding and removing `jobs.write` (what changing the job
//! needs: a technician adds photos to their own jobs); without `jobs.all` a member reaches only
//! the jobs assigned to them, and every other job's files answer 404. The work is in
//! `holdfast_app::field_service::files`; this slice reads the form and shapes the answers.
//!
//! The upload's body may be larger than the configured limit: the edge lets
//! `UPLOAD_BODY_LIMIT` through on this path only (`core::field_service::files::is_upload_path`),
//! and this handler reads it with its own caps (413 problem+json beyond them).

use crate::audit;
use crate::extract::ClientInfo;
use crate::guard::{Authed, Guard};
use crate::problem::ApiResult;
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::{delete, get, post};
use holdfast_app::field_service::files as app;
use holdfast_core::access::policy::Permission;
use holdfast_core::field_service::files::JobFileOut;
use schemars::JsonSchema;
use serde::Serialize;

const READ: Guard = Guard::Staff {
    permission: Permission::JobsRead,
};
const WRITE: Guard = Guard::Staff {
    permission: Permission::JobsWrite,
};

/// A job's photos and files, oldest first (at most 50: no paging).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct JobFilesOut {
    pub data: Vec<JobFileOut>,
}

pub fn routes(t: &mut RouteTable) {
    let doc = |summary| Doc::new("jobs", summary);
    t.add(
        Method::POST,
        "/api/v1/jobs/{id}/files",
        WRITE,
        doc("Add a photo or file to a job: multipart/form-data with one part named file (up to 10 MiB; JPEG, PNG, WebP, HEIC/HEIF or PDF, told by the bytes; at most 50 per job)")
            .upload("file")
            .response::<JobFileOut>(201),
        post(file_upload),
    );
    t.add(
        Method::GET,
        "/api/v1/jobs/{id}/files",
        READ,
        doc("List a job's photos and files").response::<JobFilesOut>(200),
        get(file_list),
    );
    t.add(
        Method::GET,
        "/api/v1/jobs/{id}/files/{file_id}",
        READ,
        doc("Download a job's photo or file (JPEG, PNG and WebP inline for thumbnails; everything else as a file)")
            .text("application/octet-stream"),
        get(file_download),
    );
    t.add(
        Method::DELETE,
        "/api/v1/jobs/{id}/files/{file_id}",
        WRITE,
        doc("Remove a photo or file from a job").no_content(),
        delete(file_remove),
    );
}

async fn file_upload(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<JobFileOut>)> {
    // A job out of reach is 404 before any of the body is read.
    app::check_reach(&state, &actor, &id).await?;
    let sent = crate::upload::one_file(&headers, body).await?;
    let origin = audit::origin(&actor, &client);
    let out = app::add(
        &state,
        &actor,
        &origin,
        &id,
        &sent.filename,
        sent.declared_type.as_deref(),
        &sent.bytes,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(out)))
}

async fn file_list(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<JobFilesOut>> {
    Ok(Json(JobFilesOut {
        data: app::list(&state, &actor, &id).await?,
    }))
}

async fn file_download(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path((id, file_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let file = app::open(&state, &actor, &id, &file_id).await?;
    Ok(crate::download::file_response(
        file.bytes,
        &file.content_type,
        &file.filename,
        file.inline,
    ))
}

async fn file_remove(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path((id, file_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let origin = audit::origin(&actor, &client);
    app::remove(&state, &actor, &origin, &id, &file_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
