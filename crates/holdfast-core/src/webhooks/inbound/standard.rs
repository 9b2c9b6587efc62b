//! Standard Webhooks: headers `webhook-id`, `webhook-timestamp` (Unix seconds) and
//! `webhook-signature`, a space-separated list of `v1,<base64>` where each is HMAC-SHA256
//! keyed with the base64-decoded secret (after its `whsec_` prefix) over
//! `"{id}.{timestamp}.{raw body}"`; unknown versions (`v1a`…) are ignored. Svix sends the same
//! scheme under `svix-*` names, accepted as a fallback.
//! <https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md>
//!
//! [`sign`] and [`decode_secret`] are the one implementation outbound delivery reuses.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::{
    InboundRequest, MAX_SIGNATURES, Provider, Verified, Verifier, VerifyError, check_fresh, ct_eq,
    from_base64, hmac_sha256, json_object, json_text, replay_key, seconds_to_ms, signed_until,
};

const ID: &str = "webhook-id";
const TIMESTAMP: &str = "webhook-timestamp";
const SIGNATURE: &str = "webhook-signature";
const PREFIX: &str = "whsec_";

/// Secrets the specification allows: 24 to 64 bytes.
const MIN_KEY_BYTES: usize = 24;
const MAX_KEY_BYTES: usize = 64;

pub struct StandardVerifier;

/// The HMAC key of a `whsec_<base64>` secret (the prefix is optional, as in the reference
/// libraries).
pub fn decode_secret(secret: &str) -> Result<Vec<u8>, VerifyError> {
    let encoded = secret.strip_prefix(PREFIX).unwrap_or(secret);
    if encoded.is_empty() {
        return Err(VerifyError::BadSecret("no secret is configured"));
    }
    from_base64(encoded).ok_or(VerifyError::BadSecret(
        "the secret is not whsec_ followed by valid base64",
    ))
}

/// The `webhook-signature` value for one key: `v1,<base64 HMAC-SHA256 of "{id}.{ts}.{body}">`.
pub fn sign(key: &[u8], msg_id: &str, timestamp_s: i64, body: &[u8]) -> String {
    match mac(key, msg_id, &timestamp_s.to_string(), body) {
        Ok(mac) => format!("v1,{}", STANDARD.encode(mac)),
        // HMAC accepts keys of any length, so this cannot happen; an empty value never verifies.
        Err(_) => String::new(),
    }
}

fn mac(key: &[u8], msg_id: &str, timestamp: &str, body: &[u8]) -> Result<[u8; 32], VerifyError> {
    hmac_sha256(
        key,
        &[msg_id.as_bytes(), b".", timestamp.as_bytes(), b".", body],
    )
}

/// A Standard header, or its `svix-` twin when only that one is present.
fn header<'a>(
    request: &InboundRequest<'a>,
    name: &'static str,
    svix: &'static str,
) -> Result<&'a str, VerifyError> {
    if request.header(name).is_none() && request.header(svix).is_some() {
        return request.signature_header(svix);
    }
    request.signature_header(name)
}

impl Verifier for StandardVerifier {
    fn provider(&self) -> Provider {
        Provider::Standard
    }

    fn verify(
        &self,
        secret: &str,
        request: &InboundRequest<'_>,
        now_ms: i64,
    ) -> Result<Verified, VerifyError> {
        let key = decode_secret(secret)?;
        let id = header(request, ID, "svix-id")?;
        let timestamp = header(request, TIMESTAMP, "svix-timestamp")?;
        let signatures = header(request, SIGNATURE, "svix-signature")?;
        let signed_ms = seconds_to_ms(timestamp)?;
        let expected = mac(&key, id, timestamp, request.body)?;
        let mut found = false;
        let mut any_v1 = false;
        for item in signatures.split(' ').take(MAX_SIGNATURES) {
            let Some(("v1", encoded)) = item.split_once(',') else {
                continue;
            };
            any_v1 = true;
            if let Some(presented) = from_base64(encoded) {
                found |= ct_eq(&presented, &expected);
            }
        }
        if !any_v1 {
            return Err(VerifyError::Malformed(
                "the signature header has no v1 signature",
            ));
        }
        if !found {
            return Err(VerifyError::BadSignature);
        }
        check_fresh(signed_ms, now_ms)?;
        let body = json_object(request.body);
        Ok(Verified {
            event_id: Some(id.to_owned()),
            event_type: json_text(body.as_ref(), &["type"]),
            replay_key: replay_key(Provider::Standard, &expected),
            replay_until_ms: signed_until(signed_ms),
        })
    }

    fn validate_secret(&self, secret: &str) -> Result<(), VerifyError> {
        if !secret.starts_with(PREFIX) {
            return Err(VerifyError::BadSecret("the secret must start with whsec_"));
        }
        let key = decode_secret(secret)?;
        if !(MIN_KEY_BYTES..=MAX_KEY_BYTES).contains(&key.len()) {
            return Err(VerifyError::BadSecret(
                "the secret must decode to between 24 and 64 bytes",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::TOLERANCE_MS;
    use super::super::testing::*;
    use super::*;

    // standard-webhooks/standard-webhooks libraries/rust/src/lib.rs, test_sign.
    const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const MSG_ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
    const TS: i64 = 1_649_367_553;
    const BODY: &str = r#"{"email":"test@example.com","username":"test_user"}"#;
    const SIGNATURE_V1: &str = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";

    fn request_headers(id: &str, ts: &str, signature: &str) -> Vec<(String, String)> {
        headers(&[(ID, id), (TIMESTAMP, ts), (SIGNATURE, signature)])
    }

    fn verify_with(
        headers: &[(String, String)],
        body: &[u8],
        secret: &str,
        now_ms: i64,
    ) -> Result<Verified, VerifyError> {
        let request = InboundRequest {
            url: "https://hooks.example.com/standard",
            headers,
            body,
        };
        StandardVerifier.verify(secret, &request, now_ms)
    }

    fn vector_headers() -> Vec<(String, String)> {
        request_headers(MSG_ID, &TS.to_string(), SIGNATURE_V1)
    }

    #[test]
    fn reference_library_vector_signs_and_verifies() {
        let key = decode_secret(SECRET).unwrap();
        assert_eq!(sign(&key, MSG_ID, TS, BODY.as_bytes()), SIGNATURE_V1);
        let verified = verify_with(&vector_headers(), BODY.as_bytes(), SECRET, TS * 1000).unwrap();
        assert_eq!(verified.event_id.as_deref(), Some(MSG_ID));
        assert_eq!(verified.event_type, None);
        assert_eq!(verified.replay_until_ms, TS * 1000 + TOLERANCE_MS);
        assert!(verified.replay_key.starts_with("standard:"));
    }

    #[test]
    fn svix_documented_vector_signs() {
        // docs.svix.com/receiving/verifying-payloads/how-manual and the svix libraries' tests.
        let key = decode_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(
            sign(
                &key,
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_330,
                br#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn any_v1_in_the_list_suffices_and_unknown_versions_are_ignored() {
        let list = format!(
            "v1a,c2lnbmVk v1,tFtCZ5RDCPxzWQRWXWPgrCgE2frDBe9gjpbWQxnVfsQ= {SIGNATURE_V1} v1,!!!"
        );
        let headers = request_headers(MSG_ID, &TS.to_string(), &list);
        assert!(verify_with(&headers, BODY.as_bytes(), SECRET, TS * 1000).is_ok());
        let none = request_headers(
            MSG_ID,
            &TS.to_string(),
            "v1,tFtCZ5RDCPxzWQRWXWPgrCgE2frDBe9gjpbWQxnVfsQ= v1,Mm7xgUVICxZfQ3bgf0h0Dof65L/IFx+PnZvnDWPCX6Q=",
        );
        assert_eq!(
            verify_with(&none, BODY.as_bytes(), SECRET, TS * 1000),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn svix_branded_headers_are_accepted() {
        let headers = headers(&[
            ("svix-id", MSG_ID),
            ("svix-timestamp", &TS.to_string()),
            ("svix-signature", SIGNATURE_V1),
        ]);
        assert!(verify_with(&headers, BODY.as_bytes(), SECRET, TS * 1000).is_ok());
    }

    #[test]
    fn event_type_comes_from_a_json_body() {
        let key = decode_secret(SECRET).unwrap();
        let body = br#"{"type":"invoice.paid","data":{}}"#;
        let ts = NOW_MS / 1000;
        let headers = request_headers("msg_1", &ts.to_string(), &sign(&key, "msg_1", ts, body));
        let verified = verify_with(&headers, body, SECRET, NOW_MS).unwrap();
        assert_eq!(verified.event_type.as_deref(), Some("invoice.paid"));
    }

    #[test]
    fn tampered_body_id_or_timestamp_is_refused() {
        let tampered = BODY.replace("test_user", "admin");
        assert_eq!(
            verify_with(&vector_headers(), tampered.as_bytes(), SECRET, TS * 1000),
            Err(VerifyError::BadSignature)
        );
        let other_id = request_headers("msg_other", &TS.to_string(), SIGNATURE_V1);
        assert_eq!(
            verify_with(&other_id, BODY.as_bytes(), SECRET, TS * 1000),
            Err(VerifyError::BadSignature)
        );
        let other_ts = request_headers(MSG_ID, &(TS + 1).to_string(), SIGNATURE_V1);
        assert_eq!(
            verify_with(&other_ts, BODY.as_bytes(), SECRET, TS * 1000),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn wrong_secret_is_refused() {
        assert_eq!(
            verify_with(
                &vector_headers(),
                BODY.as_bytes(),
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                TS * 1000
            ),
            Err(VerifyError::BadSignature)
        );
        assert!(matches!(
            verify_with(&vector_headers(), BODY.as_bytes(), "whsec_!!", TS * 1000),
            Err(VerifyError::BadSecret(_))
        ));
        assert!(matches!(
            verify_with(&vector_headers(), BODY.as_bytes(), "", TS * 1000),
            Err(VerifyError::BadSecret(_))
        ));
    }

    #[test]
    fn stale_and_future_timestamps_are_refused() {
        assert_eq!(
            verify_with(
                &vector_headers(),
                BODY.as_bytes(),
                SECRET,
                TS * 1000 + TOLERANCE_MS + 1000
            ),
            Err(VerifyError::Stale)
        );
        assert_eq!(
            verify_with(
                &vector_headers(),
                BODY.as_bytes(),
                SECRET,
                TS * 1000 - TOLERANCE_MS - 1000
            ),
            Err(VerifyError::Stale)
        );
    }

    #[test]
    fn a_replayed_delivery_is_refused() {
        let verified = verify_with(&vector_headers(), BODY.as_bytes(), SECRET, TS * 1000).unwrap();
        assert_replay_refused(&verified, TS * 1000);
    }

    #[test]
    fn missing_headers_are_reported() {
        let ts = TS.to_string();
        assert_eq!(
            verify_with(
                &headers(&[(TIMESTAMP, &ts), (SIGNATURE, SIGNATURE_V1)]),
                BODY.as_bytes(),
                SECRET,
                TS * 1000
            ),
            Err(VerifyError::MissingHeader(ID))
        );
        assert_eq!(
            verify_with(
                &headers(&[(ID, MSG_ID), (SIGNATURE, SIGNATURE_V1)]),
                BODY.as_bytes(),
                SECRET,
                TS * 1000
            ),
            Err(VerifyError::MissingHeader(TIMESTAMP))
        );
        assert_eq!(
            verify_with(
                &headers(&[(ID, MSG_ID), (TIMESTAMP, &ts)]),
                BODY.as_bytes(),
                SECRET,
                TS * 1000
            ),
            Err(VerifyError::MissingHeader(SIGNATURE))
        );
    }

    #[test]
    fn garbled_headers_are_malformed_never_a_panic() {
        for (ts, signature) in [
            ("1649367553.5", SIGNATURE_V1),
            ("-1", SIGNATURE_V1),
            ("soon", SIGNATURE_V1),
            ("1649367553", "tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="),
            ("1649367553", "v2,abc"),
            ("1649367553", ",,, ,"),
        ] {
            let result = verify_with(
                &request_headers(MSG_ID, ts, signature),
                BODY.as_bytes(),
                SECRET,
                TS * 1000,
            );
            assert!(
                matches!(result, Err(VerifyError::Malformed(_))),
                "{ts} {signature}: {result:?}"
            );
        }
        assert_eq!(
            verify_with(
                &request_headers(MSG_ID, "1649367553", "v1,not-base64"),
                BODY.as_bytes(),
                SECRET,
                TS * 1000
            ),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn empty_body_is_refused() {
        assert_eq!(
            verify_with(&vector_headers(), b"", SECRET, TS * 1000),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn secret_shape_is_checked_on_save() {
        assert_eq!(StandardVerifier.validate_secret(SECRET), Ok(()));
        let long = format!("whsec_{}", STANDARD.encode([7u8; 64]));
        assert_eq!(StandardVerifier.validate_secret(&long), Ok(()));
        let short = format!("whsec_{}", STANDARD.encode([7u8; 23]));
        let too_long = format!("whsec_{}", STANDARD.encode([7u8; 65]));
        for bad in [
            "",
            "whsec_",
            "C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
            "whsec_not base64!",
            short.as_str(),
            too_long.as_str(),
        ] {
            assert!(
                matches!(
                    StandardVerifier.validate_secret(bad),
                    Err(VerifyError::BadSecret(_))
                ),
                "{bad}"
            );
        }
        assert_eq!(
            super::super::validate_secret(Provider::Standard, SECRET),
            Ok(())
        );
    }
}
