//! OpenID Connect, the pure part: ID-token verification against a provider's JWKS, and PKCE.
//!
//! Strict by construction: only RS256, ES256 and EdDSA signatures (never `none`, never an HMAC
//! keyed with a public key); the key is chosen by `kid` from the provider's published set and
//! must match the token's algorithm; `iss`, `aud` (and `azp` when several audiences), `exp`,
//! `iat`, `nonce` and `email_verified` are all checked before a claim is used.
//! Threat note: docs/design/oidc.md.

use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ED25519, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents,
    UnparsedPublicKey,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// Clock skew tolerated on `exp` and `iat`, in seconds.
const LEEWAY_S: i64 = 60;

/// A provider's published signing keys (`jwks_uri`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Jwks {
    #[serde(default)]
    pub keys: Vec<Jwk>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Jwk {
    pub kty: String,
    #[serde(default)]
    pub kid: Option<String>,
    #[serde(default)]
    pub alg: Option<String>,
    #[serde(default, rename = "use")]
    pub key_use: Option<String>,
    #[serde(default)]
    pub n: Option<String>,
    #[serde(default)]
    pub e: Option<String>,
    #[serde(default)]
    pub crv: Option<String>,
    #[serde(default)]
    pub x: Option<String>,
    #[serde(default)]
    pub y: Option<String>,
}

impl Jwks {
    pub fn has_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }
}

/// What the relying party expects of this ID token.
#[derive(Debug, Clone)]
pub struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub nonce: &'a str,
    pub now_s: i64,
}

/// A verified identity: who the provider says signed in, with a verified email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedIdentity {
    pub issuer: String,
    pub subject: String,
    /// Lower-cased.
    pub email: String,
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdTokenError {
    #[error("the ID token is malformed")]
    Malformed,
    #[error("the ID token is signed with {0}, which Holdfast does not accept")]
    UnsupportedAlgorithm(String),
    #[error("the ID token names a signing key the provider does not publish")]
    UnknownKey,
    #[error("the ID token's signature does not verify")]
    BadSignature,
    #[error("the ID token comes from another issuer")]
    WrongIssuer,
    #[error("the ID token was issued to another application (audience)")]
    WrongAudience,
    #[error("the ID token has expired")]
    Expired,
    #[error("the ID token is dated in the future")]
    IssuedInFuture,
    #[error("the ID token does not belong to this sign-in (nonce)")]
    WrongNonce,
    #[error("the provider did not share an email address; allow the email scope")]
    NoEmail,
    #[error(
        "the provider has not verified this email address; verify it there, then sign in again"
    )]
    EmailUnverified,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Flag {
    Bool(bool),
    Text(String),
}

#[derive(Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    aud: Audience,
    exp: i64,
    iat: i64,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verified: Option<Flag>,
    #[serde(default)]
    name: Option<String>,
}

/// The `kid` of a token's header, to decide whether the cached key set must be refreshed.
pub fn key_id(token: &str) -> Option<String> {
    let header = token.split('.').next()?;
    let header: Header = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
    header.kid
}

/// Verifies an ID token's signature and claims; returns the identity it proves.
pub fn verify_id_token(
    token: &str,
    jwks: &Jwks,
    expected: &Expected<'_>,
) -> Result<VerifiedIdentity, IdTokenError> {
    if token.len() > 16 * 1024 {
        return Err(IdTokenError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(IdTokenError::Malformed);
    };
    let decode = |part: &str| {
        URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| IdTokenError::Malformed)
    };
    let header: Header =
        serde_json::from_slice(&decode(h)?).map_err(|_| IdTokenError::Malformed)?;
    let signature = decode(s)?;
    let key = choose_key(jwks, &header)?;
    verify_signature(&header.alg, key, format!("{h}.{c}").as_bytes(), &signature)?;
    let claims: Claims =
        serde_json::from_slice(&decode(c)?).map_err(|_| IdTokenError::Malformed)?;
    check_claims(claims, expected)
}

fn choose_key<'a>(jwks: &'a Jwks, header: &Header) -> Result<&'a Jwk, IdTokenError> {
    let kty = match header.alg.as_str() {
        "RS256" => "RSA",
        "ES256" => "EC",
        "EdDSA" => "OKP",
        other => return Err(IdTokenError::UnsupportedAlgorithm(other.to_owned())),
    };
    let usable = |k: &&Jwk| {
        k.kty == kty
            && k.key_use.as_deref().is_none_or(|u| u == "sig")
            && k.alg.as_deref().is_none_or(|a| a == header.alg)
    };
    match &header.kid {
        Some(kid) => jwks
            .keys
            .iter()
            .filter(usable)
            .find(|k| k.kid.as_deref() == Some(kid.as_str()))
            .ok_or(IdTokenError::UnknownKey),
        None => {
            let mut candidates = jwks.keys.iter().filter(usable);
            match (candidates.next(), candidates.next()) {
                (Some(only), None) => Ok(only),
                _ => Err(IdTokenError::UnknownKey),
            }
        }
    }
}

fn verify_signature(
    alg: &str,
    key: &Jwk,
    message: &[u8],
    signature: &[u8],
) -> Result<(), IdTokenError> {
    let field = |v: &Option<String>| {
        v.as_deref()
            .and_then(|t| URL_SAFE_NO_PAD.decode(t).ok())
            .ok_or(IdTokenError::UnknownKey)
    };
    let verified = match alg {
        "RS256" => {
            let (n, e) = (field(&key.n)?, field(&key.e)?);
            RsaPublicKeyComponents { n: &n, e: &e }
                .verify(&RSA_PKCS1_2048_8192_SHA256, message, signature)
                .is_ok()
        }
        "ES256" => {
            if key.crv.as_deref() != Some("P-256") {
                return Err(IdTokenError::UnknownKey);
            }
            let (x, y) = (field(&key.x)?, field(&key.y)?);
            if x.len() != 32 || y.len() != 32 {
                return Err(IdTokenError::UnknownKey);
            }
            let mut point = Vec::with_capacity(65);
            point.push(0x04);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point)
                .verify(message, signature)
                .is_ok()
        }
        "EdDSA" => {
            if key.crv.as_deref() != Some("Ed25519") {
                return Err(IdTokenError::UnknownKey);
            }
            let x = field(&key.x)?;
            UnparsedPublicKey::new(&ED25519, &x)
                .verify(message, signature)
                .is_ok()
        }
        other => return Err(IdTokenError::UnsupportedAlgorithm(other.to_owned())),
    };
    if verified {
        Ok(())
    } else {
        Err(IdTokenError::BadSignature)
    }
}

/// Google documents that its ID tokens name the issuer with or without the scheme.
const GOOGLE_ISSUER: &str = "https://accounts.google.com";

fn check_claims(c: Claims, expected: &Expected<'_>) -> Result<VerifiedIdentity, IdTokenError> {
    let google_alias = expected.issuer == GOOGLE_ISSUER && c.iss == "accounts.google.com";
    if c.iss != expected.issuer && !google_alias {
        return Err(IdTokenError::WrongIssuer);
    }
    let audience_ok = match &c.aud {
        Audience::One(a) => a == expected.client_id,
        Audience::Many(list) => {
            list.iter().any(|a| a == expected.client_id)
                && (list.len() == 1 || c.azp.as_deref() == Some(expected.client_id))
        }
    };
    if !audience_ok || c.azp.as_deref().is_some_and(|a| a != expected.client_id) {
        return Err(IdTokenError::WrongAudience);
    }
    if c.exp + LEEWAY_S <= expected.now_s {
        return Err(IdTokenError::Expired);
    }
    if c.iat > expected.now_s + LEEWAY_S {
        return Err(IdTokenError::IssuedInFuture);
    }
    let nonce_ok = c.nonce.as_deref().is_some_and(|n| {
        !expected.nonce.is_empty()
            && bool::from(subtle::ConstantTimeEq::ct_eq(
                n.as_bytes(),
                expected.nonce.as_bytes(),
            ))
    });
    if !nonce_ok {
        return Err(IdTokenError::WrongNonce);
    }
    let email = c
        .email
        .map(|e| e.trim().to_lowercase())
        .filter(|e| e.contains('@'))
        .ok_or(IdTokenError::NoEmail)?;
    let verified = matches!(c.email_verified, Some(Flag::Bool(true)))
        || matches!(&c.email_verified, Some(Flag::Text(t)) if t == "true");
    if !verified {
        return Err(IdTokenError::EmailUnverified);
    }
    if c.sub.is_empty() || c.sub.len() > 255 {
        return Err(IdTokenError::Malformed);
    }
    Ok(VerifiedIdentity {
        // One name per provider, whichever form the token used.
        issuer: expected.issuer.to_owned(),
        subject: c.sub,
        email,
        name: c.name.filter(|n| !n.trim().is_empty()),
    })
}

/// The S256 PKCE challenge of a code verifier (RFC 7636).
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{
        ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair,
    };
    use serde_json::{Value, json};

    const ISS: &str = "https://idp.example.com";
    const CLIENT: &str = "holdfast-client";
    const NOW: i64 = 1_800_000_000;

    struct Signer {
        key: EcdsaKeyPair,
        kid: String,
    }

    impl Signer {
        fn new(kid: &str) -> Signer {
            let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
            Signer {
                key,
                kid: kid.into(),
            }
        }
        fn jwk(&self) -> Value {
            let point = self.key.public_key().as_ref();
            json!({"kty": "EC", "crv": "P-256", "kid": self.kid, "use": "sig", "alg": "ES256",
                   "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..65])})
        }
        fn sign(&self, header: Value, claims: &Value) -> String {
            let input = format!(
                "{}.{}",
                URL_SAFE_NO_PAD.encode(header.to_string()),
                URL_SAFE_NO_PAD.encode(claims.to_string())
            );
            let sig = self
                .key
                .sign(&SystemRandom::new(), input.as_bytes())
                .unwrap();
            format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
        }
        fn token(&self, claims: &Value) -> String {
            self.sign(json!({"alg": "ES256", "kid": self.kid}), claims)
        }
    }

    fn jwks(keys: &[Value]) -> Jwks {
        serde_json::from_value(json!({ "keys": keys })).unwrap()
    }

    fn claims() -> Value {
        json!({"iss": ISS, "sub": "248289761001", "aud": CLIENT, "exp": NOW + 300, "iat": NOW,
               "nonce": "n-0S6_WzA2Mj", "email": "Jane@Example.com", "email_verified": true})
    }

    fn expected() -> Expected<'static> {
        Expected {
            issuer: ISS,
            client_id: CLIENT,
            nonce: "n-0S6_WzA2Mj",
            now_s: NOW,
        }
    }

    fn with(change: impl FnOnce(&mut Value)) -> Value {
        let mut c = claims();
        change(&mut c);
        c
    }

    #[test]
    fn a_valid_token_yields_the_verified_identity() {
        let s = Signer::new("k1");
        let id = verify_id_token(&s.token(&claims()), &jwks(&[s.jwk()]), &expected()).unwrap();
        assert_eq!(id.subject, "248289761001");
        assert_eq!(id.email, "jane@example.com");
        assert_eq!(key_id(&s.token(&claims())).as_deref(), Some("k1"));
    }

    #[test]
    fn each_claim_is_checked() {
        let s = Signer::new("k1");
        let set = jwks(&[s.jwk()]);
        let cases: Vec<(Value, IdTokenError)> = vec![
            (
                with(|c| c["iss"] = json!("https://evil.example")),
                IdTokenError::WrongIssuer,
            ),
            (
                with(|c| c["aud"] = json!("another-app")),
                IdTokenError::WrongAudience,
            ),
            (
                with(|c| c["aud"] = json!([CLIENT, "another-app"])),
                IdTokenError::WrongAudience,
            ),
            (
                with(|c| c["azp"] = json!("another-app")),
                IdTokenError::WrongAudience,
            ),
            (with(|c| c["exp"] = json!(NOW - 61)), IdTokenError::Expired),
            (
                with(|c| c["iat"] = json!(NOW + 600)),
                IdTokenError::IssuedInFuture,
            ),
            (
                with(|c| c["nonce"] = json!("replayed")),
                IdTokenError::WrongNonce,
            ),
            (
                with(|c| {
                    c.as_object_mut().unwrap().remove("nonce");
                }),
                IdTokenError::WrongNonce,
            ),
            (
                with(|c| c["email_verified"] = json!(false)),
                IdTokenError::EmailUnverified,
            ),
            (
                with(|c| {
                    c.as_object_mut().unwrap().remove("email_verified");
                }),
                IdTokenError::EmailUnverified,
            ),
            (
                with(|c| {
                    c.as_object_mut().unwrap().remove("email");
                }),
                IdTokenError::NoEmail,
            ),
        ];
        for (claims, error) in cases {
            assert_eq!(
                verify_id_token(&s.token(&claims), &set, &expected()),
                Err(error),
                "{claims}"
            );
        }
        let many = with(|c| {
            c["aud"] = json!([CLIENT, "another-app"]);
            c["azp"] = json!(CLIENT);
        });
        assert!(verify_id_token(&s.token(&many), &set, &expected()).is_ok());
        let text_flag = with(|c| c["email_verified"] = json!("true"));
        assert!(verify_id_token(&s.token(&text_flag), &set, &expected()).is_ok());
    }

    #[test]
    fn signatures_keys_and_algorithms_are_strict() {
        let s = Signer::new("k1");
        let other = Signer::new("k1");
        let set = jwks(&[s.jwk()]);
        // Signed by another key under the same kid.
        assert_eq!(
            verify_id_token(&other.token(&claims()), &set, &expected()),
            Err(IdTokenError::BadSignature)
        );
        // Tampered payload.
        let token = s.token(&claims());
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(with(|c| c["sub"] = json!("admin")).to_string());
        parts[1] = &forged;
        assert_eq!(
            verify_id_token(&parts.join("."), &set, &expected()),
            Err(IdTokenError::BadSignature)
        );
        // Unknown kid (the caller then refreshes the key set once).
        assert_eq!(
            verify_id_token(&Signer::new("k9").token(&claims()), &set, &expected()),
            Err(IdTokenError::UnknownKey)
        );
        // alg none, and HS256 keyed with something public.
        let unsigned = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(json!({"alg": "none"}).to_string()),
            URL_SAFE_NO_PAD.encode(claims().to_string())
        );
        assert_eq!(
            verify_id_token(&unsigned, &set, &expected()),
            Err(IdTokenError::UnsupportedAlgorithm("none".into()))
        );
        let hs = s.sign(json!({"alg": "HS256", "kid": "k1"}), &claims());
        assert_eq!(
            verify_id_token(&hs, &set, &expected()),
            Err(IdTokenError::UnsupportedAlgorithm("HS256".into()))
        );
        // The key's declared algorithm must match the header's.
        let mut rsa_labelled = s.jwk();
        rsa_labelled["alg"] = json!("RS256");
        assert_eq!(
            verify_id_token(&token, &jwks(&[rsa_labelled]), &expected()),
            Err(IdTokenError::UnknownKey)
        );
        for garbage in ["", "a.b", "a.b.c.d", "!!.!!.!!"] {
            assert!(verify_id_token(garbage, &set, &expected()).is_err());
        }
    }

    #[test]
    fn ed25519_tokens_verify() {
        let rng = SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let key = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(json!({"alg": "EdDSA", "kid": "ed"}).to_string()),
            URL_SAFE_NO_PAD.encode(claims().to_string())
        );
        let token = format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(key.sign(input.as_bytes()).as_ref())
        );
        let jwk = json!({"kty": "OKP", "crv": "Ed25519", "kid": "ed",
                         "x": URL_SAFE_NO_PAD.encode(key.public_key().as_ref())});
        assert!(verify_id_token(&token, &jwks(&[jwk]), &expected()).is_ok());
    }

    #[test]
    fn googles_schemeless_issuer_is_the_same_issuer() {
        let s = Signer::new("k1");
        let google = Expected {
            issuer: GOOGLE_ISSUER,
            ..expected()
        };
        let token = s.token(&with(|c| c["iss"] = json!("accounts.google.com")));
        let id = verify_id_token(&token, &jwks(&[s.jwk()]), &google).unwrap();
        assert_eq!(id.issuer, GOOGLE_ISSUER);
        assert_eq!(
            verify_id_token(&token, &jwks(&[s.jwk()]), &expected()),
            Err(IdTokenError::WrongIssuer),
            "only for Google"
        );
    }

    #[test]
    fn pkce_matches_rfc7636_appendix_b() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
