//! Time-based one-time passwords (RFC 6238: HMAC-SHA1, 6 digits, 30-second steps), their
//! `otpauth://` enrolment URI and QR code, and recovery codes.

use hmac::{Hmac, Mac};
use sha1::Sha1;

pub const STEP_S: i64 = 30;
pub const DIGITS: u32 = 6;
pub const RECOVERY_CODES: usize = 10;

fn hotp(secret: &[u8], counter: u64, digits: u32) -> Option<u32> {
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(secret).ok()?;
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let slice: [u8; 4] = digest[offset..offset + 4].try_into().ok()?;
    let binary = u32::from_be_bytes(slice) & 0x7fff_ffff;
    Some(binary % 10u32.pow(digits))
}

/// The code for time `now_s`.
pub fn code_at(secret: &[u8], now_s: i64) -> Option<String> {
    let step = u64::try_from(now_s.div_euclid(STEP_S)).ok()?;
    hotp(secret, step, DIGITS).map(|c| format!("{c:06}"))
}

/// The step whose code matches, within one step of `now_s` either way. The caller refuses a
/// step at or before the last one accepted, so a code works once.
pub fn matching_step(secret: &[u8], code: &str, now_s: i64) -> Option<i64> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let current = now_s.div_euclid(STEP_S);
    (current - 1..=current + 1).find(|step| {
        u64::try_from(*step)
            .ok()
            .and_then(|s| hotp(secret, s, DIGITS))
            .is_some_and(|c| crate::token::constant_time_eq(&format!("{c:06}"), code))
    })
}

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

pub fn base32(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let bits = u64::from_be_bytes([0, 0, 0, buf[0], buf[1], buf[2], buf[3], buf[4]]);
        let chars = (chunk.len() * 8).div_ceil(5);
        for i in 0..chars {
            out.push(char::from(
                BASE32[usize::try_from((bits >> (35 - 5 * i)) & 31).unwrap_or(0)],
            ));
        }
    }
    out
}

/// A new 160-bit secret.
pub fn new_secret() -> [u8; 20] {
    rand::random()
}

fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn otpauth_uri(secret: &[u8], account: &str) -> String {
    format!(
        "otpauth://totp/Holdfast:{}?secret={}&issuer=Holdfast&algorithm=SHA1&digits=6&period=30",
        percent(account),
        base32(secret)
    )
}

/// The URI as an SVG QR code, for authenticator apps.
pub fn qr_svg(uri: &str) -> Option<String> {
    let code = qrcode::QrCode::new(uri.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .build(),
    )
}

/// Ten recovery codes like `7f3k-x9qp-2mwd`, each usable once instead of a TOTP code.
pub fn new_recovery_codes() -> Vec<String> {
    const ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";
    (0..RECOVERY_CODES)
        .map(|_| {
            let raw: [u8; 12] = rand::random();
            raw.chunks(4)
                .map(|c| {
                    c.iter()
                        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
                        .collect::<String>()
                })
                .collect::<Vec<_>>()
                .join("-")
        })
        .collect()
}

/// Recovery codes are compared by digest of their normalised form.
pub fn recovery_digest(code: &str) -> String {
    let normal: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_lowercase();
    crate::token::sha256_hex(&format!("recovery:{normal}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn matches_rfc6238_appendix_b_sha1_vectors() {
        for (t, expected) in [
            (59, 94287082),
            (1111111109, 7081804),
            (1111111111, 14050471),
            (1234567890, 89005924),
            (2000000000, 69279037),
        ] {
            let step = u64::try_from(t / 30).unwrap();
            assert_eq!(hotp(RFC_SECRET, step, 8), Some(expected), "T={t}");
        }
        assert_eq!(code_at(RFC_SECRET, 59).as_deref(), Some("287082"));
    }

    #[test]
    fn accepts_one_step_of_skew_and_nothing_else() {
        let now = 1_800_000_000;
        let code = code_at(RFC_SECRET, now).unwrap();
        assert_eq!(matching_step(RFC_SECRET, &code, now), Some(now / 30));
        assert!(matching_step(RFC_SECRET, &code, now + 30).is_some());
        assert!(matching_step(RFC_SECRET, &code, now - 30).is_some());
        assert_eq!(matching_step(RFC_SECRET, &code, now + 90), None);
        assert_eq!(matching_step(RFC_SECRET, "12345", now), None);
        assert_eq!(matching_step(RFC_SECRET, "abcdef", now), None);
    }

    #[test]
    fn base32_matches_rfc4648_and_the_uri_carries_it() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(
            base32(b"12345678901234567890"),
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        );
        let uri = otpauth_uri(RFC_SECRET, "ada@example.com");
        assert!(
            uri.starts_with("otpauth://totp/Holdfast:ada%40example.com?secret=GEZDGNBV"),
            "{uri}"
        );
        assert!(qr_svg(&uri).is_some_and(|svg| svg.contains("<svg")));
    }

    #[test]
    fn recovery_codes_are_distinct_and_normalise() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 10);
        assert_eq!(
            recovery_digest(&codes[0]),
            recovery_digest(&codes[0].to_uppercase().replace('-', " "))
        );
    }
}
