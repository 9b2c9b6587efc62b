//! Access tokens: compact JWS with HS256 only, signed by keys derived from the master key and
//! kept as a ring (the newest signs; every ring key verifies, so rotation logs nobody out).
//! Strict by construction: the header must say `HS256` and a known `kid`; `typ`, `iss`, `aud`
//! and `exp` are checked before the claims are used. Threat note: docs/design/tokens.md.

use crate::crypto::{Generations, derive_key};
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

/// Signing keys by generation (`kid` `vN`): the newest signs, every one held verifies.
#[derive(Clone)]
pub struct KeyRing {
    keys: Generations,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyRing({:?})", self.keys.numbers())
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

/// The label generation `n`'s access-token key is derived under when it comes from the
/// master key (generation 1 of a Holdfast that never rotated its token keys).
pub fn derivation_label(n: u32) -> String {
    format!("holdfast/jwt/v{n}")
}

impl KeyRing {
    /// Derives `generations` keys from the master key: HMAC-SHA256(master, "holdfast/jwt/vN").
    pub fn derive(master_key: &[u8], generations: u32) -> KeyRing {
        KeyRing::from_generations(
            (1..=generations.max(1))
                .map(|n| (n, derive_key(master_key, &derivation_label(n))))
                .collect(),
        )
    }

    /// A ring of these keys by generation.
    pub fn from_generations(keys: Vec<(u32, [u8; 32])>) -> KeyRing {
        KeyRing {
            keys: Generations::new(keys),
        }
    }

    /// Puts these keys in place of the current ones, for every clone of this ring.
    pub fn replace(&self, keys: Vec<(u32, [u8; 32])>) {
        self.keys.replace(keys);
    }

    pub fn sign(&self, claims: &Claims) -> String {
        let (generation, key) = self.keys.newest().unwrap_or((0, [0u8; 32]));
        let header = Header {
            alg: "HS256".into(),
            typ: "JWT".into(),
            kid: format!("v{generation}"),
        };
        let encode = |v: &[u8]| URL_SAFE_NO_PAD.encode(v);
        let input = format!(
            "{}.{}",
            encode(&serde_json::to_vec(&header).unwrap_or_default()),
            encode(&serde_json::to_vec(claims).unwrap_or_default())
        );
        let signature = mac(&key, input.as_bytes()).finalize().into_bytes();
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
        let generation: u32 = header.kid.strip_prefix('v')?.parse().ok()?;
        let key = self.keys.get(generation)?;
        let signature = URL_SAFE_NO_PAD.decode(s).ok()?;
        mac(&key, format!("{h}.{c}").as_bytes())
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

    #[test]
    fn a_new_generation_signs_while_the_old_verifies_until_it_is_retired() {
        let ring = KeyRing::derive(b"m", 1);
        let old = ring.sign(&claims(TokenType::Access, 2000));
        let clone = ring.clone();
        ring.replace(vec![
            (1, derive_key(b"m", &derivation_label(1))),
            (2, [7u8; 32]),
        ]);
        let new = clone.sign(&claims(TokenType::Access, 2000));
        assert!(
            new.starts_with(&URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT","kid":"v2"}"#))
        );
        assert!(
            clone.verify(&old, TokenType::Access, 1500).is_some(),
            "overlap"
        );
        assert!(clone.verify(&new, TokenType::Access, 1500).is_some());
        ring.replace(vec![(2, [7u8; 32])]);
        assert!(
            clone.verify(&old, TokenType::Access, 1500).is_none(),
            "retired"
        );
        assert!(clone.verify(&new, TokenType::Access, 1500).is_some());
    }
}
