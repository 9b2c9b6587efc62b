//! `Idempotency-Key` for the operations that must happen once however often a client retries
//! them (an invoice made, money recorded): the answer of the first request is kept for 24 hours
//! in the same transaction as its effect, and a retry with the same key and the same body gets
//! that answer again without doing anything; the same key with another body is refused (422).
//! A key is the caller's own for one operation: it is kept together with the credential and
//! the operation, so another credential or another route using the same text is another key.
//! Two retries at the same moment cannot both act: the second one's record collides with the
//! first's (unique per workspace and key) and its transaction is rolled back (409).

use crate::AppResult;
use holdfast_core::error::{ApiError, ErrorCode};
use holdfast_store::TenantTx;
use holdfast_store::idempotency;
use holdfast_store::identity::auth::{Actor, Principal};

/// A request sent with an `Idempotency-Key`: the key, scoped to the caller and the operation,
/// and the digest of the request's body.
#[derive(Debug, Clone)]
pub struct Retry {
    key: String,
    digest: String,
}

impl Retry {
    /// `key` as the client sent it (checked for shape by the edge), for `operation` (like
    /// `invoice.payment:ivc_…`), with the SHA-256 of the request body.
    pub fn new(actor: &Actor, operation: &str, key: &str, digest: &str) -> Retry {
        let caller = match &actor.principal {
            Principal::User { user_id, .. } => format!("user:{user_id}"),
            Principal::ApiKey(id) => format!("api_key:{id}"),
        };
        Retry {
            key: format!("{caller}|{operation}|{key}"),
            digest: digest.to_owned(),
        }
    }
}

/// The answer kept for this retry, when the same request was answered before; a refusal when
/// the key was used with another body. Call it in the operation's transaction, after any lock
/// the operation takes.
pub async fn replayed(
    tx: &mut TenantTx<'_>,
    retry: Option<&Retry>,
    now_ms: i64,
) -> AppResult<Option<serde_json::Value>> {
    let Some(retry) = retry else {
        return Ok(None);
    };
    let Some(stored) = idempotency::find(tx, &retry.key, now_ms).await? else {
        return Ok(None);
    };
    if stored.request_hash != retry.digest {
        return Err(ApiError::new(
            ErrorCode::IdempotencyMismatch,
            "this Idempotency-Key was already used with a different body; use a new key for a new request",
        ));
    }
    serde_json::from_str(&stored.response_body)
        .map(Some)
        .map_err(|e| {
            tracing::error!(error = %e, "a stored idempotent answer is unreadable");
            ApiError::internal()
        })
}

/// Keeps `answer` for retries of this request, in the operation's transaction.
pub async fn remember(
    tx: &mut TenantTx<'_>,
    retry: Option<&Retry>,
    status: u16,
    answer: &serde_json::Value,
    now_ms: i64,
) -> AppResult<()> {
    if let Some(retry) = retry {
        idempotency::save(
            tx,
            &retry.key,
            &retry.digest,
            status,
            &answer.to_string(),
            now_ms,
        )
        .await?;
    }
    Ok(())
}
