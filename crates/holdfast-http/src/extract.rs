//! Body and query extractors whose every rejection is a helpful problem+json.

use crate::problem::Problem;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use holdfast_core::client_addr::ClientAddr;
use holdfast_core::error::ErrorCode;
use holdfast_core::token::sha256_hex;
use serde::de::DeserializeOwned;

/// A JSON body parsed into `T`, with the SHA-256 of its bytes (for idempotency checks).
pub struct JsonBody<T> {
    pub value: T,
    pub digest: String,
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = is_json(req.headers());
        if !is_json {
            return Err(Problem::new(
                ErrorCode::UnsupportedMediaType,
                "send the body as JSON with 'Content-Type: application/json'",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status().as_u16() == 413 {
                Problem::new(
                    ErrorCode::PayloadTooLarge,
                    "the request body exceeds the size limit",
                )
            } else {
                Problem::new(
                    ErrorCode::MalformedBody,
                    "the request body could not be read",
                )
            }
        })?;
        let value = parse_json::<T>(&bytes)?;
        let digest = sha256_hex(&String::from_utf8_lossy(&bytes));
        Ok(JsonBody { value, digest })
    }
}

/// Whether the request says its body is JSON (`application/json` or `application/…+json`).
pub(crate) fn is_json(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            let v = v.trim().to_ascii_lowercase();
            v == "application/json" || (v.starts_with("application/") && v.ends_with("+json"))
        })
}

/// A JSON body as `T`: 422 when it is JSON of the wrong shape, 400 when it is not JSON, each
/// with serde's words for where and why. Every JSON body is read through here.
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    serde_json::from_slice::<T>(bytes).map_err(|e| {
        use serde_json::error::Category;
        match e.classify() {
            Category::Data => Problem::new(
                ErrorCode::Validation,
                format!("the JSON does not match the expected shape: {e}"),
            ),
            _ => Problem::new(
                ErrorCode::MalformedBody,
                format!("the body is not valid JSON: {e}"),
            ),
        }
    })
}

/// Where a request came from, for audit, session and consent records: the client address the
/// edge decided once (`holdfast_core::client_addr`, honouring `trusted_proxies`).
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// The client address the edge decided for this request; `None` only for a router served
/// without connection info.
pub(crate) fn client_addr(extensions: &axum::http::Extensions) -> Option<ClientAddr> {
    extensions.get::<ClientAddr>().copied()
}

/// The client address as a rate-limit key part.
pub(crate) fn client_key(extensions: &axum::http::Extensions) -> String {
    client_addr(extensions)
        .map(|a| a.ip.to_string())
        .unwrap_or_else(|| "unknown".to_owned())
}

impl<S: Send + Sync> FromRequestParts<S> for ClientInfo {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let ip = client_addr(&parts.extensions).map(|a| a.ip.to_string());
        let user_agent = parts
            .headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(200).collect());
        Ok(ClientInfo { ip, user_agent })
    }
}

/// A route's `{id}` as a text that may name nothing: an id that does not decode (`%ff`) is
/// the empty text, whose parse fails like any unknown id's, so it meets the same 404 rather
/// than the router's 400 for a path it cannot decode.
pub struct AnyId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for AnyId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let id = axum::extract::RawPathParams::from_request_parts(parts, state)
            .await
            .ok()
            .and_then(|params| {
                params
                    .iter()
                    .find(|(name, _)| *name == "id")
                    .map(|(_, value)| value.to_owned())
            })
            .unwrap_or_default();
        Ok(AnyId(id))
    }
}

/// Query parameters parsed into `T` (which should deny unknown fields).
pub struct QueryParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryParams<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        serde_urlencoded::from_str::<T>(query)
            .map(QueryParams)
            .map_err(|e| Problem::new(ErrorCode::Validation, format!("invalid query string: {e}")))
    }
}

/// The request's `Idempotency-Key`, when it has one: 1 to 255 visible ASCII characters (422
/// otherwise).
pub(crate) fn idempotency_key(headers: &axum::http::HeaderMap) -> Result<Option<String>, Problem> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or_default();
    if text.is_empty() || text.len() > 255 || !text.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Err(Problem::field(
            ErrorCode::Validation,
            "Idempotency-Key",
            "must be 1 to 255 visible ASCII characters, e.g. a UUID",
        ));
    }
    Ok(Some(text.to_owned()))
}
