//! Paddle Billing: `Paddle-Signature: ts=<unix seconds>;h1=<hex>[;h1=<hex>…]`, each `h1`
//! HMAC-SHA256 keyed with the notification destination's secret key (as text) over
//! `"{ts}:{raw body}"`. Several `h1` appear while a secret is being rotated; other schemes
//! are ignored. <https://developer.paddle.com/webhooks/signature-verification>

use super::{InboundRequest, Provider, TimestampedHmac, Verified, Verifier, VerifyError};

const HEADER: &str = "paddle-signature";

const SCHEME: TimestampedHmac = TimestampedHmac {
    provider: Provider::Paddle,
    header: HEADER,
    separator: ';',
    timestamp_name: "ts",
    signature_name: "h1",
    missing_signature: "the signature header has no h1 signature",
    joiner: b":",
    id_field: "event_id",
    type_field: "event_type",
};

pub struct PaddleVerifier;

impl Verifier for PaddleVerifier {
    fn provider(&self) -> Provider {
        Provider::Paddle
    }

    fn verify(
        &self,
        secret: &str,
        request: &InboundRequest<'_>,
        now_ms: i64,
    ) -> Result<Verified, VerifyError> {
        SCHEME.verify(secret, request, now_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::super::TOLERANCE_MS;
    use super::super::testing::*;
    use super::*;

    // PaddleHQ/paddle-node-sdk src/__tests__/notifications/webhooks-validator.test.ts:
    // "Valid signature" and "Valid signature with multiple hashes" (secret VALID_SECRET,
    // ts=1698796800, i.e. 2023-11-01T00:00:00Z).
    const SECRET: &str = "VALID_SECRET";
    const SDK_TS_MS: i64 = 1_698_796_800_000;
    const SDK_BODY: &str = r#"{"data": ["1", "2"]}"#;
    const SDK_HEADER: &str =
        "ts=1698796800;h1=a300428748dce5c70e4da19bffd60769591ea969c99dea3105d0ec9612cf43f9";
    const SDK_MULTI_BODY: &str = r#"{"data": "value"}"#;
    const SDK_MULTI_HEADER: &str = "ts=1698796800;h1=28981e941fae76e53db32f3d2a83cb69db41476595e84e1970a1b5d98f62b261;h1=28981e941fae76e53db32f3d2a83cb69db41476595e84e1970a1b5d98f62b261;h2=RANDOM_HASH";

    const EVENT: &str = r#"{"event_id":"evt_01h8bzakzx3hm2fmen703n5q45","event_type":"transaction.completed","occurred_at":"2023-08-21T11:57:47.390028Z","notification_id":"ntf_01h8bzam1z32agrxjwhjgqk8w6","data":{"id":"txn_01h8bz"}}"#;

    fn verify_with(
        header: Option<&str>,
        body: &[u8],
        secret: &str,
        now_ms: i64,
    ) -> Result<Verified, VerifyError> {
        let headers = header.map(|h| headers(&[(HEADER, h)])).unwrap_or_default();
        let request = InboundRequest {
            url: "https://hooks.example.com/paddle",
            headers: &headers,
            body,
        };
        PaddleVerifier.verify(secret, &request, now_ms)
    }

    fn signed_now(body: &[u8]) -> String {
        let ts = NOW_MS / 1000;
        let sig = hmac256(SECRET.as_bytes(), &[ts.to_string().as_bytes(), b":", body]);
        format!("ts={ts};h1={}", hex(&sig))
    }

    #[test]
    fn paddle_sdk_vectors_verify() {
        let verified = verify_with(
            Some(SDK_HEADER),
            SDK_BODY.as_bytes(),
            SECRET,
            SDK_TS_MS + 1000,
        )
        .unwrap();
        assert_eq!(
            verified.replay_key,
            "paddle:a300428748dce5c70e4da19bffd60769591ea969c99dea3105d0ec9612cf43f9"
        );
        assert_eq!(verified.replay_until_ms, SDK_TS_MS + TOLERANCE_MS);
        assert!(
            verify_with(
                Some(SDK_MULTI_HEADER),
                SDK_MULTI_BODY.as_bytes(),
                SECRET,
                SDK_TS_MS
            )
            .is_ok()
        );
        // The SDK's "Invalid data - has more space" case.
        assert_eq!(
            verify_with(
                Some(SDK_HEADER),
                br#"{ "data": [ "1", "2" ]}"#,
                SECRET,
                SDK_TS_MS
            ),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn event_id_and_type_come_from_the_body() {
        let verified = verify_with(
            Some(&signed_now(EVENT.as_bytes())),
            EVENT.as_bytes(),
            SECRET,
            NOW_MS,
        )
        .unwrap();
        assert_eq!(
            verified.event_id.as_deref(),
            Some("evt_01h8bzakzx3hm2fmen703n5q45")
        );
        assert_eq!(
            verified.event_type.as_deref(),
            Some("transaction.completed")
        );
    }

    #[test]
    fn tampered_body_is_refused() {
        let tampered = EVENT.replace("completed", "refunded");
        assert_eq!(
            verify_with(
                Some(&signed_now(EVENT.as_bytes())),
                tampered.as_bytes(),
                SECRET,
                NOW_MS
            ),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn wrong_secret_is_refused() {
        assert_eq!(
            verify_with(
                Some(SDK_HEADER),
                SDK_BODY.as_bytes(),
                "INVALID_VALID_SECRET",
                SDK_TS_MS
            ),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn stale_timestamp_is_refused() {
        // The SDK's "Will reject if current time is more than a few days" case.
        assert_eq!(
            verify_with(
                Some(SDK_HEADER),
                SDK_BODY.as_bytes(),
                SECRET,
                SDK_TS_MS + 4 * 86_400_000
            ),
            Err(VerifyError::Stale)
        );
        assert_eq!(
            verify_with(
                Some(SDK_HEADER),
                SDK_BODY.as_bytes(),
                SECRET,
                SDK_TS_MS - TOLERANCE_MS - 1
            ),
            Err(VerifyError::Stale)
        );
    }

    #[test]
    fn a_replayed_delivery_is_refused() {
        let verified = verify_with(
            Some(&signed_now(EVENT.as_bytes())),
            EVENT.as_bytes(),
            SECRET,
            NOW_MS,
        )
        .unwrap();
        assert_replay_refused(&verified, NOW_MS);
    }

    #[test]
    fn missing_header_is_reported() {
        assert_eq!(
            verify_with(None, SDK_BODY.as_bytes(), SECRET, SDK_TS_MS),
            Err(VerifyError::MissingHeader(HEADER))
        );
    }

    #[test]
    fn garbled_headers_are_malformed_never_a_panic() {
        // The SDK's header cases, plus a few of our own.
        for header in [
            "invalid_header",
            "h1=invalid_header",
            "ts=1234;h2=invalid_header",
            "ts=abc;h1=00",
            ";;;",
            "ts=;h1=",
        ] {
            let result = verify_with(Some(header), SDK_BODY.as_bytes(), SECRET, SDK_TS_MS);
            assert!(
                matches!(result, Err(VerifyError::Malformed(_))),
                "{header}: {result:?}"
            );
        }
        assert_eq!(
            verify_with(
                Some("ts=1698796800;h1=invalid_signature"),
                SDK_BODY.as_bytes(),
                SECRET,
                SDK_TS_MS
            ),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn empty_body_is_refused() {
        assert_eq!(
            verify_with(Some(SDK_HEADER), b"", SECRET, SDK_TS_MS),
            Err(VerifyError::BadSignature)
        );
    }
}
