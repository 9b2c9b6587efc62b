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
        hex(&Sha256::digest(canonical.to_string().as_bytes()))
    }
}

/// An entry's hash in two steps, so that the work before an append takes the chain's head is
/// as much as it can be: [`Sealer::new`] writes the canonical form of every field but `seq` and
/// `prev_hash` and hashes what precedes `seq`; [`Sealer::seal`], with the head locked, adds the
/// place in the chain. The result is exactly [`AuditEntry::compute_hash`] of the entry at that
/// place (a test below holds them together).
#[derive(Clone)]
pub struct Sealer {
    /// SHA-256 state after `["holdfast-audit-v1","<workspace>",`.
    head: Sha256,
    /// `,"<id>",<at>,…,"<request_id>",`: everything between `seq` and `prev_hash`.
    middle: String,
}

impl Sealer {
    /// The canonical form of `entry` without its place in the chain (`seq`, `prev_hash` and
    /// `hash` are not read).
    pub fn new(entry: &AuditEntry) -> Sealer {
        let text = |s: &str| serde_json::Value::from(s).to_string();
        let mut head = Sha256::new();
        head.update(format!(
            "[{},{},",
            text("holdfast-audit-v1"),
            text(&entry.workspace_id)
        ));
        let middle = format!(
            ",{},{},{},{},{},{},{},{},{},{},{},",
            text(&entry.id),
            entry.at,
            text(&entry.actor_type),
            text(&entry.actor_id),
            text(&entry.action),
            text(&entry.entity_type),
            text(&entry.entity_id),
            text(&entry.summary),
            text(&entry.ip),
            text(&entry.user_agent),
            text(&entry.request_id),
        );
        Sealer { head, middle }
    }

    /// The entry's hash at sequence number `seq` after the entry whose hash is `prev_hash`.
    pub fn seal(&self, seq: i64, prev_hash: &str) -> String {
        let mut digest = self.head.clone();
        digest.update(seq.to_string());
        digest.update(&self.middle);
        digest.update(serde_json::Value::from(prev_hash).to_string());
        digest.update("]");
        hex(&digest.finalize())
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
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
    fn sealing_in_two_steps_is_the_same_hash() {
        let mut entry = chain(3).pop().unwrap();
        for (summary, agent) in [
            (r#"{"fields":["name"]}"#, "test"),
            (
                "quote \" backslash \\ newline \n tab \t",
                "Ünïcødé ✓ \u{0001}",
            ),
            ("", ""),
        ] {
            entry.summary = summary.into();
            entry.user_agent = agent.into();
            entry.at = -5;
            let sealer = Sealer::new(&entry);
            for (seq, prev) in [(1, GENESIS), (i64::MAX, "a\"b"), (42, "")] {
                entry.seq = seq;
                entry.prev_hash = prev.into();
                assert_eq!(
                    sealer.seal(seq, prev),
                    entry.compute_hash(),
                    "{summary} {seq}"
                );
            }
        }
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
