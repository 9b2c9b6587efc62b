//! Key generations: which master key generations and token-key generations a process holds,
//! and the rules of a rotation (`holdfast keys rotate-master`, `holdfast keys rotate-tokens`).
//!
//! - **Master keys.** Each master key has a generation and a check value (an HMAC of a fixed
//!   label, which names the key without revealing it). Sealed values carry the generation
//!   (`vN:`). A rotation adds generation N+1 as `active` and marks N `draining`; each key is
//!   stored sealed under the other for its duration, so a process holding either learns the
//!   other and opens both. When every value is re-sealed, N is `retired` and both wraps are
//!   wiped: the old key opens nothing any more.
//! - **Token keys** (access tokens, CSRF, preference links, widget form tokens) are data, kept
//!   sealed in the database by generation: the newest live generation signs, every live one
//!   verifies, and a generation whose overlap ended is retired (its keys wiped). Generation 1
//!   holds the keys a Holdfast that never rotated derived from its master key, so tokens issued
//!   before keys were kept in the database stay valid.

use crate::crypto::derive_key;
use serde::{Deserialize, Serialize};

/// A master key generation's place in a rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MasterState {
    /// Seals new values (and opens its own).
    Active,
    /// Being rotated away from: its values still open until the rotation finishes.
    Draining,
    /// Rotated away from: opens nothing; a process started with it is refused.
    Retired,
}

impl MasterState {
    pub fn as_str(self) -> &'static str {
        match self {
            MasterState::Active => "active",
            MasterState::Draining => "draining",
            MasterState::Retired => "retired",
        }
    }

    pub fn parse(text: &str) -> Option<MasterState> {
        [
            MasterState::Active,
            MasterState::Draining,
            MasterState::Retired,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// The check value of a master key: hex of HMAC-SHA256(key, "holdfast/key-check"). It tells
/// which generation a key is without storing the key.
pub fn check_value(master_key: &[u8]) -> String {
    derive_key(master_key, "holdfast/key-check")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The associated data a master key is sealed under when stored for a rotation.
pub fn master_wrap_context(generation: u32) -> String {
    format!("master-key:{generation}")
}

/// The associated data of a token-key generation's sealed keys.
pub fn token_keys_context(generation: u32) -> String {
    format!("token-keys:{generation}")
}

/// One generation of token keys.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenKeySet {
    #[serde(with = "hex32")]
    pub access: [u8; 32],
    #[serde(with = "hex32")]
    pub csrf: [u8; 32],
    #[serde(with = "hex32")]
    pub link: [u8; 32],
    #[serde(with = "hex32")]
    pub form: [u8; 32],
}

impl std::fmt::Debug for TokenKeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKeySet([redacted])")
    }
}

impl TokenKeySet {
    /// Generation 1: the keys a Holdfast that never rotated derives from its master key, so
    /// that tokens, CSRF tokens, mailed preference links and open forms stay valid.
    pub fn first_generation(master_key: &[u8]) -> TokenKeySet {
        TokenKeySet {
            access: derive_key(master_key, &crate::identity::jwt::derivation_label(1)),
            csrf: derive_key(master_key, crate::identity::csrf::FIRST_LABEL),
            link: derive_key(master_key, crate::crm::consent::LINK_KEY_FIRST_LABEL),
            form: derive_key(master_key, crate::helpdesk::widget::FORM_KEY_FIRST_LABEL),
        }
    }

    /// A new generation: four independent random keys.
    pub fn random() -> TokenKeySet {
        TokenKeySet {
            access: rand::random(),
            csrf: rand::random(),
            link: rand::random(),
            form: rand::random(),
        }
    }
}

/// A token-key generation as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenGeneration {
    pub generation: u32,
    /// Verifies until then (ms); `None` while it is the newest.
    pub verify_until: Option<i64>,
    pub retired: bool,
}

impl TokenGeneration {
    /// Whether its keys were derived from a master key: generation 1 always is (the keys of a
    /// Holdfast from before token keys were kept), so a master key rotation ends it.
    pub fn derived_from_master(&self) -> bool {
        self.generation == 1
    }

    /// Whether its tokens are still accepted at `now_ms`.
    pub fn live(&self, now_ms: i64) -> bool {
        !self.retired && self.verify_until.is_none_or(|until| until > now_ms)
    }
}

/// The default overlap after `rotate-tokens`: old links in customers' mailboxes (unsubscribe
/// and preferences) keep working this long, which covers the 30 days unsubscribe links must
/// work after a mail is sent.
pub const DEFAULT_TOKEN_OVERLAP_DAYS: u32 = 30;

mod hex32 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(key: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&key.iter().map(|b| format!("{b:02x}")).collect::<String>())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        let mut key = [0u8; 32];
        if text.len() != 64 || !text.is_ascii() {
            return Err(serde::de::Error::custom("a key is 64 hex digits"));
        }
        for (i, byte) in key.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16)
                .map_err(|_| serde::de::Error::custom("a key is 64 hex digits"))?;
        }
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_generation_is_what_an_unrotated_holdfast_derived() {
        let master = b"a master key of thirty-two bytes";
        let first = TokenKeySet::first_generation(master);
        let ring = crate::identity::jwt::KeyRing::derive(master, 1);
        let from_set = crate::identity::jwt::KeyRing::from_generations(vec![(1, first.access)]);
        assert_eq!(format!("{ring:?}"), format!("{from_set:?}"));
        let csrf = crate::identity::csrf::CsrfKey::derive(master);
        let csrf_from_set = crate::identity::csrf::CsrfKey::from_generations(vec![(1, first.csrf)]);
        assert_eq!(csrf.token_for("ses_1"), csrf_from_set.token_for("ses_1"));
        let link = crate::crm::consent::LinkKey::derive(master);
        let link_from_set = crate::crm::consent::LinkKey::from_generations(vec![(1, first.link)]);
        assert_eq!(
            link.preference_token("ws", "ct", 0),
            link_from_set.preference_token("ws", "ct", 0)
        );
        let form = crate::helpdesk::widget::FormKey::derive(master);
        let form_from_set =
            crate::helpdesk::widget::FormKey::from_generations(vec![(1, first.form)]);
        assert_eq!(form.issue("wgt", 5), form_from_set.issue("wgt", 5));
    }

    #[test]
    fn a_key_set_survives_its_stored_form_and_hides_in_debug() {
        let set = TokenKeySet::random();
        let text = serde_json::to_string(&set).unwrap();
        assert_eq!(serde_json::from_str::<TokenKeySet>(&text).unwrap(), set);
        assert_eq!(format!("{set:?}"), "TokenKeySet([redacted])");
        assert!(
            serde_json::from_str::<TokenKeySet>(r#"{"access":"zz","csrf":"","link":"","form":""}"#)
                .is_err()
        );
    }

    #[test]
    fn check_values_name_keys_and_generations_live_through_their_overlap() {
        assert_eq!(check_value(b"k").len(), 64);
        assert_ne!(check_value(b"k"), check_value(b"l"));
        let g = |verify_until, retired| TokenGeneration {
            generation: 1,
            verify_until,
            retired,
        };
        assert!(g(None, false).live(10));
        assert!(g(Some(11), false).live(10));
        assert!(!g(Some(10), false).live(10));
        assert!(!g(None, true).live(10));
        assert_eq!(MasterState::parse("draining"), Some(MasterState::Draining));
        assert_eq!(MasterState::parse("other"), None);
    }
}
