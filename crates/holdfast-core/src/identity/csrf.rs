//! CSRF tokens for console (cookie) sessions: HMAC-SHA256 of the session id under a key derived
//! from the master key. The console reads the token from a readable cookie and echoes it in the
//! `X-CSRF-Token` header; a cross-site page can send the session cookie but can neither read
//! the token nor compute it. Threat note: docs/design/sign-in.md.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

#[derive(Clone)]
pub struct CsrfKey([u8; 32]);

impl std::fmt::Debug for CsrfKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CsrfKey([redacted])")
    }
}

fn mac(key: &[u8]) -> Option<HmacSha256> {
    <HmacSha256 as Mac>::new_from_slice(key).ok()
}

impl CsrfKey {
    pub fn derive(master_key: &[u8]) -> CsrfKey {
        let mut key = [0u8; 32];
        if let Some(mut m) = mac(master_key) {
            m.update(b"holdfast/csrf/v1");
            key.copy_from_slice(&m.finalize().into_bytes());
        }
        CsrfKey(key)
    }

    /// The token bound to one session.
    pub fn token_for(&self, session_id: &str) -> String {
        let Some(mut m) = mac(&self.0) else {
            return String::new();
        };
        m.update(b"csrf|");
        m.update(session_id.as_bytes());
        URL_SAFE_NO_PAD.encode(m.finalize().into_bytes())
    }

    /// Constant-time check of a presented token against the session's.
    pub fn verify(&self, session_id: &str, presented: &str) -> bool {
        let expected = self.token_for(session_id);
        !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(presented.as_bytes()))
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
}
