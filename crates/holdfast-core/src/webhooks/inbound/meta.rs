//! Meta (Facebook, Instagram, WhatsApp, Messenger): `X-Hub-Signature-256: sha256=<hex>`,
//! HMAC-SHA256 keyed with the app secret over the raw body (which Meta sends with non-ASCII
//! characters already escaped, so the raw bytes are what is signed). The legacy SHA-1
//! `X-Hub-Signature` is not accepted. No timestamp is signed and the body carries no event
//! id, so a delivery is remembered for [`super::REMEMBER_UNSIGNED_MS`] and its event id is a
//! digest of the signed body: a resent notification has the same one.
//! <https://developers.facebook.com/docs/graph-api/webhooks/getting-started#validate-payloads>

use super::{
    InboundRequest, Provider, Verified, Verifier, VerifyError, ct_eq, from_hex, hmac_sha256,
    json_object, json_text, plain_secret, replay_key, sha256, to_hex, unsigned_until,
};

const HEADER: &str = "x-hub-signature-256";

pub struct MetaVerifier;

impl Verifier for MetaVerifier {
    fn provider(&self) -> Provider {
        Provider::Meta
    }

    fn verify(
        &self,
        secret: &str,
        request: &InboundRequest<'_>,
        now_ms: i64,
    ) -> Result<Verified, VerifyError> {
        let key = plain_secret(secret)?;
        let header = request.signature_header(HEADER)?;
        let presented = header
            .strip_prefix("sha256=")
            .and_then(from_hex)
            .filter(|mac| !mac.is_empty())
            .ok_or(VerifyError::Malformed(
                "the signature is not sha256= followed by hex",
            ))?;
        let expected = hmac_sha256(key, &[request.body])?;
        if !ct_eq(&presented, &expected) {
            return Err(VerifyError::BadSignature);
        }
        let body = json_object(request.body);
        Ok(Verified {
            event_id: Some(format!("sha256:{}", to_hex(&sha256(&[request.body])))),
            event_type: json_text(body.as_ref(), &["object"]),
            replay_key: replay_key(Provider::Meta, &expected),
            replay_until_ms: unsigned_until(now_ms),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::REMEMBER_UNSIGNED_MS;
    use super::super::testing::*;
    use super::*;

    // Meta publishes no fixed vector. X-Hub-Signature-256 is the same scheme GitHub documents,
    // with this published vector (docs.github.com/en/webhooks/using-webhooks/
    // validating-webhook-deliveries, "Testing the webhook payload validation"):
    const GITHUB_SECRET: &str = "It's a Secret to Everybody";
    const GITHUB_SIGNATURE: &str =
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    // A Meta-shaped notification; expected value from an independent implementation:
    //   python3 -c 'import hmac,hashlib;print(hmac.new(b"0123456789abcdef0123456789abcdef",
    //   open("body","rb").read(),hashlib.sha256).hexdigest())'  (body = BODY below, no newline)
    const APP_SECRET: &str = "0123456789abcdef0123456789abcdef";
    const BODY: &str = r#"{"object":"page","entry":[{"id":"1234567890","time":1700000000,"changes":[{"field":"feed","value":{"message":"caf\u00e9"}}]}]}"#;
    const BODY_SIGNATURE: &str =
        "sha256=1c0a00223de9f6fe8ce70d71030d95ba2812a905ef3208b815e720a1215d4324";

    fn verify_with(
        signature: Option<&str>,
        body: &[u8],
        secret: &str,
    ) -> Result<Verified, VerifyError> {
        let headers = match signature {
            Some(s) => headers(&[(HEADER, s), ("x-hub-signature", "sha1=0000")]),
            None => headers(&[("x-hub-signature", "sha1=0000")]),
        };
        let request = InboundRequest {
            url: "https://hooks.example.com/meta",
            headers: &headers,
            body,
        };
        MetaVerifier.verify(secret, &request, NOW_MS)
    }

    fn sign(body: &[u8]) -> String {
        format!("sha256={}", hex(&hmac256(APP_SECRET.as_bytes(), &[body])))
    }

    #[test]
    fn github_published_x_hub_signature_256_vector_verifies() {
        let verified =
            verify_with(Some(GITHUB_SIGNATURE), b"Hello, World!", GITHUB_SECRET).unwrap();
        assert_eq!(verified.event_type, None);
        assert_eq!(verified.replay_until_ms, NOW_MS + REMEMBER_UNSIGNED_MS);
    }

    #[test]
    fn a_meta_notification_verifies_with_a_stable_event_id() {
        assert_eq!(sign(BODY.as_bytes()), BODY_SIGNATURE);
        let verified = verify_with(Some(BODY_SIGNATURE), BODY.as_bytes(), APP_SECRET).unwrap();
        assert_eq!(verified.event_type.as_deref(), Some("page"));
        let again = verify_with(Some(BODY_SIGNATURE), BODY.as_bytes(), APP_SECRET).unwrap();
        assert_eq!(verified.event_id, again.event_id);
        assert!(
            verified
                .event_id
                .is_some_and(|id| id.starts_with("sha256:") && id.len() == 71)
        );
        assert!(verified.replay_key.starts_with("meta:"));
    }

    #[test]
    fn tampered_body_is_refused() {
        let tampered = BODY.replace("feed", "home");
        assert_eq!(
            verify_with(Some(BODY_SIGNATURE), tampered.as_bytes(), APP_SECRET),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn wrong_secret_is_refused() {
        assert_eq!(
            verify_with(
                Some(BODY_SIGNATURE),
                BODY.as_bytes(),
                "fedcba9876543210fedcba9876543210"
            ),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn a_replayed_delivery_is_refused() {
        let verified = verify_with(Some(BODY_SIGNATURE), BODY.as_bytes(), APP_SECRET).unwrap();
        assert_replay_refused(&verified, NOW_MS);
    }

    #[test]
    fn missing_header_is_reported_even_with_the_legacy_sha1_header() {
        assert_eq!(
            verify_with(None, BODY.as_bytes(), APP_SECRET),
            Err(VerifyError::MissingHeader(HEADER))
        );
    }

    #[test]
    fn garbled_headers_are_malformed_never_a_panic() {
        let bare = BODY_SIGNATURE.trim_start_matches("sha256=");
        for header in [
            bare,
            "sha1=abcd",
            "sha256=",
            "sha256=xyz",
            "sha256=abc",
            "sha256=ü",
        ] {
            let result = verify_with(Some(header), BODY.as_bytes(), APP_SECRET);
            assert!(
                matches!(result, Err(VerifyError::Malformed(_))),
                "{header}: {result:?}"
            );
        }
        assert_eq!(
            verify_with(Some("sha256=00"), BODY.as_bytes(), APP_SECRET),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn empty_body_is_refused() {
        assert_eq!(
            verify_with(Some(BODY_SIGNATURE), b"", APP_SECRET),
            Err(VerifyError::BadSignature)
        );
    }
}
