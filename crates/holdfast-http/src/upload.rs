//! One way to read an uploaded file (a job's photo or document, from the API or the console's
//! job page; a workspace's portal logo): a `multipart/form-data` body with one part named `file`, read with multer under
//! its own caps; too large is 413 problem+json, not a form is 415, anything else about the form
//! a 4xx with what to do. The edge lets `UPLOAD_BODY_LIMIT` through on the upload paths only
//! (`core::field_service::files::is_upload_path`).

use crate::problem::{ApiResult, Problem};
use axum::body::Body;
use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use holdfast_core::error::{ApiError, ErrorCode};
use holdfast_core::field_service::files::{self, MAX_FILE_BYTES, UPLOAD_BODY_LIMIT};

/// The form's other parts (none are expected) may hold at most this much each.
const SMALL_PART: u64 = 1024;

/// The one file the form carried: its name, declared type and bytes.
pub(crate) struct Sent {
    pub filename: String,
    pub declared_type: Option<String>,
    pub bytes: Vec<u8>,
}

/// Reads a job file's upload form: see [`one_file_within`], at most [`MAX_FILE_BYTES`].
pub(crate) async fn one_file(headers: &HeaderMap, body: Body) -> ApiResult<Sent> {
    one_file_within(headers, body, MAX_FILE_BYTES, files::too_large).await
}

/// Reads an upload form: exactly one part named `file`, at most `max` bytes (over it, or cut
/// off by the edge's body limit: `too_large`'s 413); any other part is refused by name, so a
/// client sending the wrong field learns it at once (the console's form sends its CSRF token
/// as a header, never as a part).
pub(crate) async fn one_file_within(
    headers: &HeaderMap,
    body: Body,
    max: usize,
    too_large: fn() -> ApiError,
) -> ApiResult<Sent> {
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let boundary = content_type
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
        .then(|| multer::parse_boundary(content_type).ok())
        .flatten()
        .ok_or_else(|| {
            Problem::new(
                ErrorCode::UnsupportedMediaType,
                "send the file as multipart/form-data with one part named file",
            )
        })?;
    let limits = multer::SizeLimit::new()
        .whole_stream(UPLOAD_BODY_LIMIT as u64)
        .per_field(SMALL_PART)
        .for_field("file", max as u64);
    let mut form = multer::Multipart::with_constraints(
        body.into_data_stream(),
        boundary,
        multer::Constraints::new().size_limit(limits),
    );
    let mut sent: Option<Sent> = None;
    let refused = |e| form_error(e, too_large);
    while let Some(field) = form.next_field().await.map_err(refused)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name != "file" {
            return Err(Problem::new(
                ErrorCode::Validation,
                format!(
                    "the form has a part named '{}'; send only one part, named file",
                    name.chars().take(40).collect::<String>()
                ),
            ));
        }
        if sent.is_some() {
            return Err(Problem::new(
                ErrorCode::Validation,
                "the form has more than one file; send one file per request",
            ));
        }
        let filename = field.file_name().unwrap_or_default().to_owned();
        let declared_type = field.content_type().map(|m| m.essence_str().to_owned());
        let bytes = field.bytes().await.map_err(refused)?;
        sent = Some(Sent {
            filename,
            declared_type,
            bytes: bytes.to_vec(),
        });
    }
    sent.ok_or_else(|| {
        Problem::new(
            ErrorCode::Validation,
            "the form has no part named file; send the photo or document as the part file",
        )
    })
}

/// A form that could not be read: too large (the file's limit, or the body cut off by the
/// edge at the upload limit), or not a form at all.
fn form_error(e: multer::Error, too_large: fn() -> ApiError) -> Problem {
    let over = match &e {
        multer::Error::FieldSizeExceeded { .. } | multer::Error::StreamSizeExceeded { .. } => true,
        multer::Error::StreamReadFailed(source) => is_length_limit(source.as_ref()),
        _ => false,
    };
    if over {
        return too_large().into();
    }
    Problem::new(
        ErrorCode::MalformedBody,
        "the form could not be read as multipart/form-data; send the file again",
    )
}

/// Whether a body error is the edge's cap (`http_body_util::Limited`), at any depth.
fn is_length_limit(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(e);
    while let Some(error) = current {
        if error.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        current = error.source();
    }
    false
}
