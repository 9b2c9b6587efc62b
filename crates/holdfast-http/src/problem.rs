//! RFC 9457 problem+json: the one rendering of every error. Threat note: error bodies carry
//! the code, a helpful detail and the request id; never SQL, paths, stack traces or secrets.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use holdfast_core::error::{ApiError, ErrorCode};
use holdfast_core::validate::FieldError;
use holdfast_store::StoreError;
use schemars::JsonSchema;
use serde::Serialize;

pub const PROBLEM_JSON: &str = "application/problem+json";

tokio::task_local! {
    /// The current request's id, set by the edge for the whole handling of one request.
    pub static REQUEST_ID: String;
}

pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// The problem document as served.
#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct ProblemOut {
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable error code, e.g. `HF-REQ-004`.
    pub code: String,
    pub request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// An error on its way out as problem+json.
#[derive(Debug)]
pub struct Problem(pub ApiError);

impl Problem {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self(ApiError::new(code, detail))
    }
    pub fn validation(errors: Vec<FieldError>) -> Self {
        Self(ApiError::validation(errors))
    }
    pub fn not_found(what: &str) -> Self {
        Self(ApiError::not_found(what))
    }
    pub fn field(code: ErrorCode, field: &str, message: &str) -> Self {
        Self(ApiError::field(code, field, message))
    }
}

impl From<ApiError> for Problem {
    fn from(e: ApiError) -> Self {
        Self(e)
    }
}

impl From<StoreError> for Problem {
    fn from(err: StoreError) -> Self {
        Self(ApiError::from(err))
    }
}

pub fn render(err: &ApiError) -> Response {
    let status =
        StatusCode::from_u16(err.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = ProblemOut {
        type_: err.code.type_uri(),
        title: err.code.title().to_owned(),
        status: status.as_u16(),
        detail: err.detail.clone(),
        code: err.code.code().to_owned(),
        request_id: current_request_id(),
        errors: err.errors.clone(),
    };
    let json = serde_json::to_vec(&body).unwrap_or_default();
    let mut response = (status, json).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    if let Some(secs) = err.retry_after
        && let Ok(v) = HeaderValue::from_str(&secs.to_string())
    {
        headers.insert(header::RETRY_AFTER, v);
    }
    if err.code == ErrorCode::AuthMissing || err.code == ErrorCode::AuthInvalid {
        headers.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"holdfast\""),
        );
    }
    response
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        render(&self.0)
    }
}

pub type ApiResult<T> = Result<T, Problem>;

/// An erasure's outcome as an answer: 404 for a contact this workspace does not have, 409 while
/// a legal hold protects it (nothing changed), else the report. `action` names what was asked
/// ("erased", "deleted (deleting erases it)") so the detail says what to do about it.
pub(crate) fn erasure_outcome(
    outcome: holdfast_store::privacy::Erased,
    action: &str,
) -> ApiResult<holdfast_store::privacy::ErasureReport> {
    use holdfast_store::privacy::Erased;
    match outcome {
        Erased::NotFound => Err(Problem::not_found("contact")),
        Erased::Held => Err(Problem::new(
            ErrorCode::Conflict,
            format!(
                "this contact is on legal hold, so it cannot be {action}; lift the hold \
                 (PATCH /api/v1/contacts/{{id}}/privacy with legal_hold false and a reason) first"
            ),
        )),
        Erased::Done(report) => Ok(report),
    }
}
