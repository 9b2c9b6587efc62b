//! Square: `x-square-hmacsha256-signature: <base64>`, HMAC-SHA256 keyed with the
//! subscription's signature key over the notification URL (exactly as configured in Square)
//! followed by the raw body. No timestamp is signed, so a delivery is remembered for
//! [`super::REMEMBER_UNSIGNED_MS`] and the body's `event_id` is the idempotency key Square
//! asks receivers to use. <https://developer.squareup.com/docs/webhooks/step3validate>

use super::{
    InboundRequest, Provider, Verified, Verifier, VerifyError, ct_eq, from_base64, hmac_sha256,
    json_object, json_text, plain_secret, replay_key, unsigned_until,
};

const HEADER: &str = "x-square-hmacsha256-signature";

pub struct SquareVerifier;

impl Verifier for SquareVerifier {
    fn provider(&self) -> Provider {
        Provider::Square
    }

    fn verify(
        &self,
        secret: &str,
        request: &InboundRequest<'_>,
        now_ms: i64,
    ) -> Result<Verified, VerifyError> {
        let key = plain_secret(secret)?;
        let header = request.signature_header(HEADER)?;
        let presented =
            from_base64(header).ok_or(VerifyError::Malformed("the signature is not base64"))?;
        if request.url.is_empty() {
            return Err(VerifyError::Malformed("the notification URL is unknown"));
        }
        let expected = hmac_sha256(key, &[request.url.as_bytes(), request.body])?;
        if !ct_eq(&presented, &expected) {
            return Err(VerifyError::BadSignature);
        }
        let body = json_object(request.body);
        Ok(Verified {
            event_id: json_text(body.as_ref(), &["event_id"]),
            event_type: json_text(body.as_ref(), &["type"]),
            replay_key: replay_key(Provider::Square, &expected),
            replay_until_ms: unsigned_until(now_ms),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::REMEMBER_UNSIGNED_MS;
    use super::super::testing::*;
    use super::*;

    // square/square-python-sdk tests/integration/test_webhooks_helper.py (and
    // tests/utilities/test_webhooks_helper.py): REQUEST_BODY, SIGNATURE_HEADER, SIGNATURE_KEY,
    // NOTIFICATION_URL.
    const SDK_BODY: &str = r#"{"merchant_id":"MLEFBHHSJGVHD","type":"webhooks.test_notification","event_id":"ac3ac95b-f97d-458c-a6e6-18981597e05f","created_at":"2022-07-13T20:30:59.037339943Z","data":{"type":"webhooks","id":"bc368e64-01aa-407e-b46e-3231809b1129"}}"#;
    const SDK_SIGNATURE: &str = "GF4YkrJgGBDZ9NIYbNXBnMzqb2HoL4RW/S6vkZ9/2N4=";
    const SDK_KEY: &str = "Ibxx_5AKakO-3qeNVR61Dw";
    const SDK_URL: &str = "https://webhook.site/679a4f3a-dcfa-49ee-bac5-9d0edad886b9";

    fn verify_with(
        url: &str,
        signature: Option<&str>,
        body: &[u8],
        key: &str,
    ) -> Result<Verified, VerifyError> {
        let headers = match signature {
            Some(s) => headers(&[(HEADER, s)]),
            None => headers(&[("content-type", "application/json")]),
        };
        let request = InboundRequest {
            url,
            headers: &headers,
            body,
        };
        SquareVerifier.verify(key, &request, NOW_MS)
    }

    #[test]
    fn square_sdk_vector_verifies() {
        let verified =
            verify_with(SDK_URL, Some(SDK_SIGNATURE), SDK_BODY.as_bytes(), SDK_KEY).unwrap();
        assert_eq!(
            verified.event_id.as_deref(),
            Some("ac3ac95b-f97d-458c-a6e6-18981597e05f")
        );
        assert_eq!(
            verified.event_type.as_deref(),
            Some("webhooks.test_notification")
        );
        assert!(verified.replay_key.starts_with("square:"));
        assert_eq!(verified.replay_until_ms, NOW_MS + REMEMBER_UNSIGNED_MS);
    }

    #[test]
    fn square_docs_curl_example_verifies() {
        // developer.squareup.com/docs/webhooks/step3validate sample server: key "asdf1234",
        // URL "https://example.com/webhook", body {"hello":"world"}.
        let verified = verify_with(
            "https://example.com/webhook",
            Some("2kRE5qRU2tR+tBGlDwMEw2avJ7QM4ikPYD/PJ3bd9Og="),
            br#"{"hello":"world"}"#,
            "asdf1234",
        )
        .unwrap();
        assert_eq!(verified.event_id, None);
    }

    #[test]
    fn tampered_body_or_url_is_refused() {
        let reformatted = SDK_BODY.replace("2022-07-13", "2022-06-13");
        assert_eq!(
            verify_with(
                SDK_URL,
                Some(SDK_SIGNATURE),
                reformatted.as_bytes(),
                SDK_KEY
            ),
            Err(VerifyError::BadSignature)
        );
        let other_url = "https://webhook.site/79a4f3a-dcfa-49ee-bac5-9d0edad886b9";
        assert_eq!(
            verify_with(other_url, Some(SDK_SIGNATURE), SDK_BODY.as_bytes(), SDK_KEY),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn wrong_secret_is_refused() {
        assert_eq!(
            verify_with(
                SDK_URL,
                Some(SDK_SIGNATURE),
                SDK_BODY.as_bytes(),
                "MCmhFRxGX82xMwg5FsaoQA"
            ),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn a_replayed_delivery_is_refused() {
        let verified =
            verify_with(SDK_URL, Some(SDK_SIGNATURE), SDK_BODY.as_bytes(), SDK_KEY).unwrap();
        assert_replay_refused(&verified, NOW_MS);
    }

    #[test]
    fn missing_header_is_reported() {
        assert_eq!(
            verify_with(SDK_URL, None, SDK_BODY.as_bytes(), SDK_KEY),
            Err(VerifyError::MissingHeader(HEADER))
        );
    }

    #[test]
    fn garbled_headers_are_malformed_or_refused_never_a_panic() {
        for header in ["not base64!", "====", "GF4Ykr"] {
            assert!(
                matches!(
                    verify_with(SDK_URL, Some(header), SDK_BODY.as_bytes(), SDK_KEY),
                    Err(VerifyError::Malformed(_))
                ),
                "{header}"
            );
        }
        // Valid base64 of the wrong length (an old HMAC-SHA1 x-square-signature, say).
        assert_eq!(
            verify_with(
                SDK_URL,
                Some("1z2n3DEJJiUPKcPzQo1ftvbxGdw="),
                SDK_BODY.as_bytes(),
                SDK_KEY
            ),
            Err(VerifyError::BadSignature)
        );
        assert!(matches!(
            verify_with("", Some(SDK_SIGNATURE), SDK_BODY.as_bytes(), SDK_KEY),
            Err(VerifyError::Malformed(_))
        ));
    }

    #[test]
    fn empty_body_is_refused() {
        assert_eq!(
            verify_with(SDK_URL, Some(SDK_SIGNATURE), b"", SDK_KEY),
            Err(VerifyError::BadSignature)
        );
    }
}
