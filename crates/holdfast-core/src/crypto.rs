//! Secrets at rest: XChaCha20-Poly1305 under a key derived from the master key
//! (HMAC-SHA256(master, "holdfast/seal/vN")). Sealed text is `vN:` + base64(nonce ‖ ciphertext);
//! the version names the key, so the master-derived key can rotate while old values still open.
//! Each value is bound to its place (associated data such as `totp:usr_…`), so a sealed value
//! copied to another row does not open. Threat note: docs/design/secrets.md.

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

#[derive(Clone)]
pub struct Sealer {
    /// (version, key), newest first.
    keys: Vec<(u32, [u8; 32])>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer([redacted])")
    }
}

impl Sealer {
    pub fn derive(master_key: &[u8], generations: u32) -> Sealer {
        let keys = (1..=generations.max(1))
            .rev()
            .filter_map(|n| {
                let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(master_key).ok()?;
                mac.update(format!("holdfast/seal/v{n}").as_bytes());
                let mut key = [0u8; 32];
                key.copy_from_slice(&mac.finalize().into_bytes());
                Some((n, key))
            })
            .collect();
        Sealer { keys }
    }

    pub fn seal(&self, plaintext: &[u8], context: &str) -> Option<String> {
        let (version, key) = self.keys.first()?;
        let nonce: [u8; 24] = rand::random();
        let cipher = XChaCha20Poly1305::new(key.into());
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
        let (version, body) = sealed.strip_prefix('v')?.split_once(':')?;
        let version: u32 = version.parse().ok()?;
        let (_, key) = self.keys.iter().find(|(v, _)| *v == version)?;
        let bytes = STANDARD_NO_PAD.decode(body).ok()?;
        if bytes.len() < 24 + 16 {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(24);
        XChaCha20Poly1305::new(key.into())
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
}
