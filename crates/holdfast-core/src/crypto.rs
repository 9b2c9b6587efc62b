//! Secrets at rest: XChaCha20-Poly1305 under a key derived from the master key of generation N
//! (HMAC-SHA256(master_N, "holdfast/seal/vN")). Sealed text is `vN:` + base64(nonce ‖
//! ciphertext); the version names the master key's generation, so during a rotation
//! (`holdfast keys rotate-master`) values of both generations open while new ones seal under
//! the newer. Each value is bound to its place (associated data such as `totp:usr_…`), so a
//! sealed value copied to another row does not open. Threat note: docs/design/secrets.md.
//!
//! [`Generations`] is the one holder of keys by generation, shared by every clone and replaced
//! in place, so a running server takes up a rotation without restarting; the sealer and the
//! token keys (access tokens, CSRF, preference links, widget form tokens) all keep theirs in it.

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::sync::{Arc, RwLock};

/// A key per generation, newest first. Clones share one set, and [`Generations::replace`]
/// changes it for all of them at once.
#[derive(Clone, Default)]
pub struct Generations(Arc<RwLock<Arc<Keys>>>);

/// (generation, key), newest first.
type Keys = Vec<(u32, [u8; 32])>;

impl std::fmt::Debug for Generations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Generations({:?}, [redacted])", self.numbers())
    }
}

impl Generations {
    pub fn new(keys: Vec<(u32, [u8; 32])>) -> Generations {
        let set = Generations::default();
        set.replace(keys);
        set
    }

    /// Puts `keys` in place of the current set, for every clone.
    pub fn replace(&self, mut keys: Vec<(u32, [u8; 32])>) {
        keys.sort_by_key(|(generation, _)| std::cmp::Reverse(*generation));
        keys.dedup_by_key(|(generation, _)| *generation);
        let mut slot = self.0.write().unwrap_or_else(|e| e.into_inner());
        *slot = Arc::new(keys);
    }

    /// Every key, newest first.
    pub fn all(&self) -> Arc<Vec<(u32, [u8; 32])>> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The newest generation and its key: the one that signs or seals.
    pub fn newest(&self) -> Option<(u32, [u8; 32])> {
        self.all().first().copied()
    }

    pub fn get(&self, generation: u32) -> Option<[u8; 32]> {
        self.all()
            .iter()
            .find(|(n, _)| *n == generation)
            .map(|(_, key)| *key)
    }

    /// The generations held, newest first.
    pub fn numbers(&self) -> Vec<u32> {
        self.all().iter().map(|(n, _)| *n).collect()
    }
}

/// HMAC-SHA256(`key`, `label`): how every purpose key is derived from a master key.
pub fn derive_key(key: &[u8], label: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    // HMAC takes keys of any length, so this cannot fail.
    if let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(key) {
        mac.update(label.as_bytes());
        out.copy_from_slice(&mac.finalize().into_bytes());
    }
    out
}

/// The master key generation a sealed value was sealed under (`vN:` prefix).
pub fn generation_of(sealed: &str) -> Option<u32> {
    let (version, _) = sealed.strip_prefix('v')?.split_once(':')?;
    version.parse().ok()
}

#[derive(Clone)]
pub struct Sealer {
    keys: Generations,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer([redacted])")
    }
}

impl Sealer {
    /// Sealing keys of generations 1 to `generations`, all from one master key (tests).
    pub fn derive(master_key: &[u8], generations: u32) -> Sealer {
        let masters: Vec<(u32, &[u8])> =
            (1..=generations.max(1)).map(|n| (n, master_key)).collect();
        Sealer::from_masters(&masters)
    }

    /// The sealer of these master keys, each with its generation; the newest seals.
    pub fn from_masters(masters: &[(u32, &[u8])]) -> Sealer {
        let sealer = Sealer {
            keys: Generations::default(),
        };
        sealer.replace_masters(masters);
        sealer
    }

    /// Puts these master keys in place of the current ones, for every clone of this sealer.
    pub fn replace_masters(&self, masters: &[(u32, &[u8])]) {
        self.keys.replace(
            masters
                .iter()
                .map(|(n, master)| (*n, derive_key(master, &format!("holdfast/seal/v{n}"))))
                .collect(),
        );
    }

    /// The master key generations this sealer opens, newest (the one that seals) first.
    pub fn generations(&self) -> Vec<u32> {
        self.keys.numbers()
    }

    pub fn seal(&self, plaintext: &[u8], context: &str) -> Option<String> {
        let (version, key) = self.keys.newest()?;
        let nonce: [u8; 24] = rand::random();
        let cipher = XChaCha20Poly1305::new((&key).into());
        let sealed = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: context.as_bytes(),
                },
            )
            .ok()?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Some(format!("v{version}:{}", STANDARD_NO_PAD.encode(out)))
    }

    /// `None` for a wrong key, wrong context, or tampered text.
    pub fn open(&self, sealed: &str, context: &str) -> Option<Vec<u8>> {
        let (_, body) = sealed.split_once(':')?;
        let key = self.keys.get(generation_of(sealed)?)?;
        let bytes = STANDARD_NO_PAD.decode(body).ok()?;
        if bytes.len() < 24 + 16 {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(24);
        XChaCha20Poly1305::new((&key).into())
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::Sealer;

    #[test]
    fn seals_and_opens_only_in_its_own_context() {
        let s = Sealer::derive(b"master", 1);
        let sealed = s.seal(b"JBSWY3DPEHPK3PXP", "totp:usr_1").unwrap();
        assert!(sealed.starts_with("v1:") && !sealed.contains("JBSWY3DP"));
        assert_eq!(
            s.open(&sealed, "totp:usr_1").as_deref(),
            Some(&b"JBSWY3DPEHPK3PXP"[..])
        );
        assert_eq!(s.open(&sealed, "totp:usr_2"), None, "bound to its row");
        assert_eq!(
            Sealer::derive(b"other", 1).open(&sealed, "totp:usr_1"),
            None
        );
        let mut tampered = sealed.clone();
        tampered.replace_range(10..11, if &sealed[10..11] == "A" { "B" } else { "A" });
        assert_eq!(s.open(&tampered, "totp:usr_1"), None);
        assert_ne!(s.seal(b"x", "c"), s.seal(b"x", "c"), "random nonces");
    }

    #[test]
    fn rotation_opens_old_values() {
        let old = Sealer::derive(b"m", 1).seal(b"secret", "c").unwrap();
        let rotated = Sealer::derive(b"m", 2);
        assert_eq!(rotated.open(&old, "c").as_deref(), Some(&b"secret"[..]));
        assert!(rotated.seal(b"secret", "c").unwrap().starts_with("v2:"));
    }

    #[test]
    fn a_new_master_generation_seals_while_the_old_still_opens_until_replaced() {
        let old = Sealer::from_masters(&[(1, b"first master")]);
        let sealed_old = old.seal(b"secret", "c").unwrap();
        let during = Sealer::from_masters(&[(1, b"first master"), (2, b"second master")]);
        let sealed_new = during.seal(b"secret", "c").unwrap();
        assert_eq!(super::generation_of(&sealed_new), Some(2));
        assert_eq!(
            during.open(&sealed_old, "c").as_deref(),
            Some(&b"secret"[..])
        );
        // A clone sees the replacement: the old generation no longer opens.
        let clone = during.clone();
        during.replace_masters(&[(2, b"second master")]);
        assert_eq!(clone.generations(), vec![2]);
        assert_eq!(clone.open(&sealed_old, "c"), None);
        assert_eq!(
            clone.open(&sealed_new, "c").as_deref(),
            Some(&b"secret"[..])
        );
        // Generation 2 under another master key does not open it.
        assert_eq!(
            Sealer::from_masters(&[(2, b"first master")]).open(&sealed_new, "c"),
            None
        );
    }
}
