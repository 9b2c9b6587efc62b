//! Access tokens: compact JWS with HS256 only, signed by keys derived from the master key and
//! kept as a ring (the newest signs; every ring key verifies, so rotation logs nobody out).
//! Strict by construction: the header must say `HS256` and a known `kid`; `typ`, `iss`, `aud`
//! and `exp` are checked before the claims are used. Threat note: docs/design/tokens.md.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

pub const ISSUER: &str = "holdfast";
pub const AUDIENCE: &str = "holdfast-api";
/// Clock skew tolerated on `iat`, in seconds.
const LEEWAY_S: i64 = 30;

type HmacSha256 = Hmac<Sha256>;

/// Every token kind Holdfast issues. A token of one kind is refused wherever another is expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenType {
    Access,
    Refresh,
    Reset,
    Invite,
    OidcState,
    Magic,
    Portal,
}

impl TokenType {
    pub const ALL: [TokenType; 7] = [
        TokenType::Access,
        TokenType::Refresh,
        TokenType::Reset,
        TokenType::Invite,
        TokenType::OidcState,
        TokenType::Magic,
        TokenType::Portal,
    ];
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// The user id.
    pub sub: String,
    /// The workspace id.
    pub ws: String,
    /// The session id.
    pub sid: String,
    pub typ: TokenType,
    pub iat: i64,
    pub exp: i64,
    /// The OpenID Connect nonce an `oidc_state` token carries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Header {
    alg: String,
    typ: String,
    kid: String,
}

/// Signing keys, newest first.
#[derive(Clone)]
pub struct KeyRing {
    keys: Vec<(String, [u8; 32])>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<&str> = self.keys.iter().map(|(k, _)| k.as_str()).collect();
        write!(f, "KeyRing({kids:?})")
    }
}

fn mac(key: &[u8], data: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut m = <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable_mac());
    m.update(data);
    m
}

#[allow(clippy::panic)]
fn unreachable_mac() -> HmacSha256 {
    panic!("HMAC-SHA256 rejected a key; HMAC takes keys of any length")
}

impl KeyRing {
    /// Derives `generations` keys from the master key: HMAC-SHA256(master, "holdfast/jwt/vN").
    /// Raising `generations` rotates: the new key signs, the older ones still verify.
    pub fn derive(master_key: &[u8], generations: u32) -> KeyRing {
        let keys = (1..=generations.max(1))
            .rev()
            .map(|n| {
                let bytes = mac(master_key, format!("holdfast/jwt/v{n}").as_bytes())
                    .finalize()
                    .into_bytes();
                let mut key = [0u8; 32];
                key.copy_from_slice(&bytes);
                (format!("v{n}"), key)
            })
            .collect();
        KeyRing { keys }
    }

    pub fn sign(&self, claims: &Claims) -> String {
        let (kid, key) = &self.keys[0];
        let header = Header {
            alg: "HS256".into(),
            typ: "JWT".into(),
            kid: kid.clone(),
        };
        let encode = |v: &[u8]| URL_SAFE_NO_PAD.encode(v);
        let input = format!(
            "{}.{}",
            encode(&serde_json::to_vec(&header).unwrap_or_default()),
            encode(&serde_json::to_vec(claims).unwrap_or_default())
        );
        let signature = mac(key, input.as_bytes()).finalize().into_bytes();
        format!("{input}.{}", encode(&signature))
    }

    /// Verifies signature, header, type, issuer, audience and expiry. `None` for anything else.
    pub fn verify(&self, token: &str, expected: TokenType, now_s: i64) -> Option<Claims> {
        let mut parts = token.split('.');
        let (h, c, s) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || token.len() > 4096 {
            return None;
        }
        let header: Header = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).ok()?).ok()?;
        if header.alg != "HS256" || header.typ != "JWT" {
            return None;
        }
        let (_, key) = self.keys.iter().find(|(kid, _)| *kid == header.kid)?;
        let signature = URL_SAFE_NO_PAD.decode(s).ok()?;
        mac(key, format!("{h}.{c}").as_bytes())
            .verify_slice(&signature)
            .ok()?;
        let claims: Claims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(c).ok()?).ok()?;
        let valid = claims.typ == expected
            && claims.iss == ISSUER
            && claims.aud == AUDIENCE
            && claims.exp > now_s
            && claims.iat <= now_s + LEEWAY_S;
        valid.then_some(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(typ: TokenType, exp: i64) -> Claims {
        Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: "usr_1".into(),
            ws: "ws_1".into(),
            sid: "ses_1".into(),
            typ,
            iat: 1000,
            exp,
            nonce: None,
        }
    }

    #[test]
    fn a_token_of_one_type_is_refused_as_every_other_type() {
        let ring = KeyRing::derive(b"m", 1);
        for signed_as in TokenType::ALL {
            let token = ring.sign(&claims(signed_as, 2000));
            for expected in TokenType::ALL {
                assert_eq!(
                    ring.verify(&token, expected, 1500).is_some(),
                    signed_as == expected,
                    "{signed_as:?} presented where {expected:?} is expected"
                );
            }
        }
    }

    #[test]
    fn hmac_matches_rfc7515_appendix_a1() {
        let key = URL_SAFE_NO_PAD
            .decode("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow")
            .unwrap();
        let input = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
        let sig = URL_SAFE_NO_PAD.encode(mac(&key, input.as_bytes()).finalize().into_bytes());
        assert_eq!(sig, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
    }

    #[test]
    fn round_trip_and_every_check() {
        let ring = KeyRing::derive(b"master key bytes", 1);
        let token = ring.sign(&claims(TokenType::Access, 2000));
        assert_eq!(
            ring.verify(&token, TokenType::Access, 1500),
            Some(claims(TokenType::Access, 2000))
        );
        assert_eq!(
            ring.verify(&token, TokenType::Access, 2000),
            None,
            "expired"
        );
        assert_eq!(
            ring.verify(&token, TokenType::Refresh, 1500),
            None,
            "wrong type"
        );
        assert_eq!(
            ring.verify(&token, TokenType::Access, 900),
            None,
            "issued in the future"
        );
        let other = KeyRing::derive(b"another master key", 1);
        assert_eq!(
            other.verify(&token, TokenType::Access, 1500),
            None,
            "other key"
        );
        let mut forged = token.clone();
        forged.pop();
        forged.push(if token.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(
            ring.verify(&forged, TokenType::Access, 1500),
            None,
            "tampered signature"
        );
    }

    #[test]
    fn alg_none_and_foreign_headers_are_refused() {
        let ring = KeyRing::derive(b"k", 1);
        let token = ring.sign(&claims(TokenType::Access, 2000));
        let payload = token.split('.').nth(1).unwrap();
        for header in [
            r#"{"alg":"none","typ":"JWT","kid":"v1"}"#,
            r#"{"alg":"HS512","typ":"JWT","kid":"v1"}"#,
            r#"{"alg":"HS256","typ":"JWT","kid":"v9"}"#,
        ] {
            let h = URL_SAFE_NO_PAD.encode(header);
            assert_eq!(
                ring.verify(&format!("{h}.{payload}."), TokenType::Access, 1500),
                None
            );
            assert_eq!(
                ring.verify(
                    &format!("{h}.{payload}.{}", token.split('.').nth(2).unwrap()),
                    TokenType::Access,
                    1500
                ),
                None
            );
        }
    }

    #[test]
    fn rotation_keeps_old_tokens_valid() {
        let old = KeyRing::derive(b"m", 1).sign(&claims(TokenType::Access, 2000));
        let rotated = KeyRing::derive(b"m", 2);
        assert!(rotated.verify(&old, TokenType::Access, 1500).is_some());
        let new = rotated.sign(&claims(TokenType::Access, 2000));
        assert!(
            new.split('.')
                .next()
                .map(|h| URL_SAFE_NO_PAD.decode(h).unwrap())
                .is_some_and(|h| String::from_utf8_lossy(&h).contains("\"v2\""))
        );
        assert!(
            KeyRing::derive(b"m", 1)
                .verify(&new, TokenType::Access, 1500)
                .is_none()
        );
    }
}
