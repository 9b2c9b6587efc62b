//! API key format: `hf_live_` followed by 43 base62 characters (256 bits of entropy).
//! Only a SHA-256 digest and a short lookup prefix are stored; comparison is constant-time.
//! Threat note: docs/design/api-keys.md.

use crate::secret::Secret;
use rand::Rng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub const API_KEY_PREFIX: &str = "hf_live_";
const BODY_LEN: usize = 43;
const LOOKUP_LEN: usize = 8;
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A freshly minted key: the full text is shown once, the rest is what we store.
pub struct NewApiKey {
    pub plaintext: Secret<String>,
    pub lookup: String,
    pub hash: String,
}

pub fn generate_api_key() -> NewApiKey {
    let mut rng = rand::rng();
    let body: String = (0..BODY_LEN)
        .map(|_| char::from(BASE62[rng.random_range(0..BASE62.len())]))
        .collect();
    let plaintext = format!("{API_KEY_PREFIX}{body}");
    NewApiKey {
        lookup: body[..LOOKUP_LEN].to_owned(),
        hash: sha256_hex(&plaintext),
        plaintext: Secret::new(plaintext),
    }
}

/// A presented key that has the right shape; `lookup` finds candidate rows.
#[derive(Debug)]
pub struct PresentedKey {
    pub lookup: String,
    pub hash: String,
}

/// Checks the shape of a presented key. A wrong shape is rejected before any database work.
pub fn parse_api_key(text: &str) -> Option<PresentedKey> {
    let body = text.strip_prefix(API_KEY_PREFIX)?;
    if body.len() != BODY_LEN || !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    Some(PresentedKey {
        lookup: body[..LOOKUP_LEN].to_owned(),
        hash: sha256_hex(text),
    })
}

/// An opaque, single-purpose token: `<prefix>_` and 43 base62 characters. The prefix names
/// the kind (`hfr` for refresh tokens), so one kind is never accepted as another.
pub fn generate_opaque(prefix: &str) -> (Secret<String>, String) {
    let mut rng = rand::rng();
    let body: String = (0..BODY_LEN)
        .map(|_| char::from(BASE62[rng.random_range(0..BASE62.len())]))
        .collect();
    let text = format!("{prefix}_{body}");
    let hash = sha256_hex(&text);
    (Secret::new(text), hash)
}

/// The SHA-256 of a presented opaque token of kind `prefix`, or `None` when its shape is wrong.
pub fn parse_opaque(prefix: &str, text: &str) -> Option<String> {
    let body = text.strip_prefix(prefix)?.strip_prefix('_')?;
    (body.len() == BODY_LEN && body.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then(|| sha256_hex(text))
}

pub fn sha256_hex(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        out.push(char::from(b"0123456789abcdef"[usize::from(b & 0xf)]));
    }
    out
}

/// `bytes` random bytes as lowercase hex: lease tokens and other unguessable handles that are
/// not credentials.
pub fn random_hex(bytes: usize) -> String {
    let mut rng = rand::rng();
    (0..bytes)
        .map(|_| format!("{:02x}", rng.random::<u8>()))
        .collect()
}

/// Constant-time equality for digests and tokens.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_parse_to_their_stored_digest() {
        let key = generate_api_key();
        let text = key.plaintext.expose();
        assert!(text.starts_with("hf_live_") && text.len() == 8 + 43);
        let parsed = parse_api_key(text);
        assert_eq!(
            parsed.as_ref().map(|p| p.hash.as_str()),
            Some(key.hash.as_str())
        );
        assert_eq!(parsed.map(|p| p.lookup), Some(key.lookup));
        assert_ne!(generate_api_key().hash, key.hash);
    }

    #[test]
    fn malformed_keys_are_rejected_by_shape() {
        let key = generate_api_key();
        let text = key.plaintext.expose();
        assert!(parse_api_key(&text[..text.len() - 1]).is_none());
        assert!(parse_api_key(&text.replace("hf_live_", "hf_test_")).is_none());
        assert!(parse_api_key(&format!("{}!", &text[..text.len() - 1])).is_none());
        assert!(parse_api_key("").is_none());
    }

    #[test]
    fn opaque_tokens_carry_their_kind() {
        let (token, hash) = generate_opaque("hfr");
        assert_eq!(parse_opaque("hfr", token.expose()), Some(hash));
        assert_eq!(parse_opaque("hfx", token.expose()), None);
        assert_eq!(
            parse_opaque("hfr", generate_api_key().plaintext.expose()),
            None
        );
    }

    #[test]
    fn sha256_matches_published_vector() {
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(constant_time_eq("abc", "abc") && !constant_time_eq("abc", "abd"));
    }
}
