//! CSRF tokens for console (cookie) sessions: HMAC-SHA256 of the session id under a key derived
//! from the master key. The console reads the token from a readable cookie and echoes it in the
//! `X-CSRF-Token` header; a cross-site page can send the session cookie but can neither read
//! the token nor compute it. Threat note: docs/design/sign-in.md.

use crate::crypto::{Generations, derive_key};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// By generation: the newest makes tokens, every one held still verifies (a rotation's overlap).
#[derive(Clone)]
pub struct CsrfKey(Generations);

impl std::fmt::Debug for CsrfKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CsrfKey([redacted])")
    }
}

fn mac(key: &[u8]) -> Option<HmacSha256> {
    <HmacSha256 as Mac>::new_from_slice(key).ok()
}

/// The label of the key a Holdfast that never rotated its token keys derives from the master.
pub const FIRST_LABEL: &str = "holdfast/csrf/v1";

fn token_under(key: &[u8; 32], session_id: &str) -> String {
    let Some(mut m) = mac(key) else {
        return String::new();
    };
    m.update(b"csrf|");
    m.update(session_id.as_bytes());
    URL_SAFE_NO_PAD.encode(m.finalize().into_bytes())
}

impl CsrfKey {
    pub fn derive(master_key: &[u8]) -> CsrfKey {
        CsrfKey::from_generations(vec![(1, derive_key(master_key, FIRST_LABEL))])
    }

    pub fn from_generations(keys: Vec<(u32, [u8; 32])>) -> CsrfKey {
        CsrfKey(Generations::new(keys))
    }

    /// Puts these keys in place of the current ones, for every clone.
    pub fn replace(&self, keys: Vec<(u32, [u8; 32])>) {
        self.0.replace(keys);
    }

    /// The token bound to one session, under the newest key.
    pub fn token_for(&self, session_id: &str) -> String {
        self.0
            .newest()
            .map(|(_, key)| token_under(&key, session_id))
            .unwrap_or_default()
    }

    /// Constant-time check of a presented token against the session's, under every key held.
    pub fn verify(&self, session_id: &str, presented: &str) -> bool {
        let mut ok = false;
        for (_, key) in self.0.all().iter() {
            let expected = token_under(key, session_id);
            ok |=
                !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(presented.as_bytes()));
        }
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_verifies_only_for_its_session_and_key() {
        let key = CsrfKey::derive(b"master");
        let token = key.token_for("ses_1");
        assert_eq!(token.len(), 43);
        assert!(key.verify("ses_1", &token));
        assert!(!key.verify("ses_2", &token));
        assert!(!key.verify("ses_1", ""));
        assert!(!key.verify("ses_1", &token[..42]));
        assert!(!CsrfKey::derive(b"other").verify("ses_1", &token));
    }

    #[test]
    fn a_token_of_the_previous_generation_verifies_through_the_overlap() {
        let key = CsrfKey::derive(b"master");
        let old = key.token_for("ses_1");
        key.replace(vec![
            (1, derive_key(b"master", FIRST_LABEL)),
            (2, [3u8; 32]),
        ]);
        let new = key.token_for("ses_1");
        assert_ne!(old, new);
        assert!(key.verify("ses_1", &old) && key.verify("ses_1", &new));
        key.replace(vec![(2, [3u8; 32])]);
        assert!(!key.verify("ses_1", &old) && key.verify("ses_1", &new));
    }
}
