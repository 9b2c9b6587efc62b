//! The audit trail's tamper evidence, the pure part: every entry's hash covers its canonical form
//! and the previous entry's hash, per workspace, so editing, deleting or reordering any entry
//! breaks the chain from that entry on. Threat note: docs/design/audit.md.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The `prev_hash` of a workspace's first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One entry as stored (and as exported, one JSON object per line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AuditEntry {
    pub workspace_id: String,
    /// 1, 2, 3 … within the workspace.
    pub seq: i64,
    pub id: String,
    /// Epoch milliseconds.
    pub at: i64,
    /// `user`, `api_key`, `system` or `anonymous` (a failed sign-in).
    pub actor_type: String,
    pub actor_id: String,
    /// e.g. `auth.sign_in`, `auth.sign_in_failed`, `api_key.created`, `contact.updated`.
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    /// What changed, as JSON text (field names and safe values; never a secret).
    pub summary: String,
    pub ip: String,
    pub user_agent: String,
    pub request_id: String,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditEntry {
    /// SHA-256 (hex) of the canonical form: a JSON array of every field but `hash`, in a fixed
    /// order. JSON arrays of strings and integers serialise one way only.
    pub fn compute_hash(&self) -> String {
        let canonical = serde_json::json!([
            "holdfast-audit-v1",
            self.workspace_id,
            self.seq,
            self.id,
            self.at,
            self.actor_type,
            self.actor_id,
            self.action,
            self.entity_type,
            self.entity_id,
            self.summary,
            self.ip,
            self.user_agent,
            self.request_id,
            self.prev_hash,
        ]);
        let digest = Sha256::digest(canonical.to_string().as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Where a chain first breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    pub seq: i64,
    pub reason: &'static str,
}

/// Walks entries in `seq` order; `Ok(count)` when every link holds.
pub fn verify_chain(entries: impl IntoIterator<Item = AuditEntry>) -> Result<u64, Broken> {
    let mut prev = GENESIS.to_owned();
    let mut count = 0;
    for (expected_seq, entry) in (1..).zip(entries) {
        if entry.seq != expected_seq {
            return Err(Broken {
                seq: expected_seq,
                reason: "an entry is missing (the sequence skips)",
            });
        }
        if entry.prev_hash != prev {
            return Err(Broken {
                seq: entry.seq,
                reason: "the link to the previous entry does not match",
            });
        }
        if entry.compute_hash() != entry.hash {
            return Err(Broken {
                seq: entry.seq,
                reason: "the entry's content does not match its hash (edited)",
            });
        }
        prev = entry.hash;
        count += 1;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<AuditEntry> {
        let mut prev = GENESIS.to_owned();
        (1..=n)
            .map(|seq| {
                let mut e = AuditEntry {
                    workspace_id: "ws_1".into(),
                    seq,
                    id: format!("aud_{seq}"),
                    at: 1000 + seq,
                    actor_type: "user".into(),
                    actor_id: "usr_1".into(),
                    action: "contact.updated".into(),
                    entity_type: "contact".into(),
                    entity_id: "ct_1".into(),
                    summary: r#"{"fields":["name"]}"#.into(),
                    ip: "127.0.0.1".into(),
                    user_agent: "test".into(),
                    request_id: "r".into(),
                    prev_hash: prev.clone(),
                    hash: String::new(),
                };
                e.hash = e.compute_hash();
                prev = e.hash.clone();
                e
            })
            .collect()
    }

    #[test]
    fn an_intact_chain_verifies() {
        assert_eq!(verify_chain(chain(5)), Ok(5));
        assert_eq!(verify_chain(Vec::new()), Ok(0));
    }

    #[test]
    fn edits_deletions_and_rehashing_are_pinpointed() {
        let mut edited = chain(5);
        edited[2].action = "contact.deleted".into();
        assert_eq!(verify_chain(edited).unwrap_err().seq, 3);

        let mut removed = chain(5);
        removed.remove(3);
        assert_eq!(verify_chain(removed).unwrap_err().seq, 4);

        // Rewriting an entry and its own hash still breaks the next link.
        let mut rehashed = chain(5);
        rehashed[1].summary = "{}".into();
        rehashed[1].hash = rehashed[1].compute_hash();
        let broken = verify_chain(rehashed).unwrap_err();
        assert_eq!(broken.seq, 3);
        assert!(broken.reason.contains("link"));
    }
}
