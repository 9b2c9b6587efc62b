//! Audit events of Holdfast itself: what the job worker and other work outside a request does,
//! and [`Origin`]: who acts and from where, as an entry point (an API request, a console form)
//! hands it to an application operation that records what it did. The entry point builds the
//! origin (the HTTP layer knows the address, user agent and request id).
//! The verification of a workspace's chain (`verify`, `verdict`) serves the command line, the
//! console and the check of a backup.

use crate::AppResult;
use holdfast_core::ops::audit::{AuditEntry, Broken, GENESIS, verify_chain};
use holdfast_core::validate::Errors;
use holdfast_store::ops::audit::{self, NewEvent};
use holdfast_store::{Db, Tenant};
use serde_json::Value;

/// An event done by Holdfast itself (the job worker), outside any request.
pub fn by_system(
    action: &'static str,
    entity_type: &'static str,
    entity_id: impl Into<String>,
    summary: Value,
) -> NewEvent {
    NewEvent {
        actor_type: "system",
        actor_id: "worker".to_owned(),
        action,
        entity_type,
        entity_id: entity_id.into(),
        summary,
        ip: String::new(),
        user_agent: String::new(),
        request_id: String::new(),
    }
}

/// Who acts (an API key or a user) and from where (address, user agent, request id): what an
/// application operation needs to record its audit events, whichever entry point called it.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub actor_type: &'static str,
    pub actor_id: String,
    pub ip: String,
    pub user_agent: String,
    pub request_id: String,
}

impl Origin {
    /// An event done by this origin's actor.
    pub fn event(
        &self,
        action: &'static str,
        entity_type: &'static str,
        entity_id: impl Into<String>,
        summary: Value,
    ) -> NewEvent {
        NewEvent {
            actor_type: self.actor_type,
            actor_id: self.actor_id.clone(),
            action,
            entity_type,
            entity_id: entity_id.into(),
            summary,
            ip: self.ip.clone(),
            user_agent: self.user_agent.clone(),
            request_id: self.request_id.clone(),
        }
    }
}

/// A workspace's audit chain, verified: how many entries it has, and where it first breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub entries: u64,
    pub broken: Option<Broken>,
}

/// Verifies a workspace's whole audit chain, for `holdfast audit verify` and the console's
/// audit page alike: every entry's hash and its link to the one before, and that the chain
/// reaches the recorded head (entries removed from its end show there).
pub async fn verify(db: &Db, tenant: &Tenant) -> AppResult<Verdict> {
    // The head first: entries appended meanwhile only lengthen the chain read next.
    let mut tx = db.read(tenant).await?;
    let head = audit::head(&mut tx).await?;
    let entries: Vec<AuditEntry> = audit::chain(&mut tx).await?;
    tx.commit().await?;
    Ok(verdict(entries, head))
}

/// As [`verify`], for the operator's `holdfast audit verify`: a suspended workspace's chain
/// is verified too (its tenant transactions are otherwise refused).
pub async fn verify_as_operator(db: &Db, tenant: &Tenant) -> AppResult<Verdict> {
    let (head, entries) = holdfast_store::ops::controls::operator_audit_chain(db, tenant).await?;
    Ok(verdict(entries, head))
}

/// The verdict on one workspace's chain, its entries in order and its recorded head: for the
/// live database and for a backup's rows alike.
pub fn verdict(entries: Vec<AuditEntry>, head: Option<(i64, String)>) -> Verdict {
    let count = entries.last().map(|e| e.seq).unwrap_or(0);
    let (head_seq, head_hash) = head.unwrap_or((0, GENESIS.to_owned()));
    let reaches_head = head_seq == 0
        || entries
            .iter()
            .any(|e| e.seq == head_seq && e.hash == head_hash);
    let broken = match verify_chain(entries) {
        Err(broken) => Some(broken),
        Ok(_) if !reaches_head => Some(Broken {
            seq: count + 1,
            reason: "entries after this point were removed (the chain is shorter than its head)",
        }),
        Ok(n) if n > 0 && head_seq == 0 => Some(Broken {
            seq: 1,
            reason: "the chain has entries but no recorded head",
        }),
        Ok(_) => None,
    };
    Verdict {
        entries: u64::try_from(count).unwrap_or(0),
        broken,
    }
}

/// One text criterion of a search of the trail (actor, action, entity): trimmed, at most 200
/// plain characters (else an error for `field`); empty matches every entry. For the API's and
/// the console's filters alike.
pub fn criterion(errors: &mut Errors, field: &str, value: Option<String>) -> String {
    match value {
        Some(v) if v.len() > 200 || v.chars().any(char::is_control) => {
            errors.push(field, "must be at most 200 plain characters");
            String::new()
        }
        Some(v) => v.trim().to_owned(),
        None => String::new(),
    }
}
