//! Stripe: `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…]`, where each `v1` is
//! HMAC-SHA256 keyed with the whole endpoint secret (`whsec_…`, as text) over
//! `"{t}.{raw body}"`. Several `v1` appear while a secret is being rolled; other schemes (`v0`)
//! are ignored. <https://docs.stripe.com/webhooks#verify-manually>

use super::{
    InboundRequest, Provider, TimestampedHmac, Verified, Verifier, VerifyError, plain_secret,
};

const HEADER: &str = "stripe-signature";

const SCHEME: TimestampedHmac = TimestampedHmac {
    provider: Provider::Stripe,
    header: HEADER,
    separator: ',',
    timestamp_name: "t",
    signature_name: "v1",
    missing_signature: "the signature header has no v1 signature",
    joiner: b".",
    id_field: "id",
    type_field: "type",
};

pub struct StripeVerifier;

impl Verifier for StripeVerifier {
    fn provider(&self) -> Provider {
        Provider::Stripe
    }

    fn verify(
        &self,
        secret: &str,
        request: &InboundRequest<'_>,
        now_ms: i64,
    ) -> Result<Verified, VerifyError> {
        SCHEME.verify(secret, request, now_ms)
    }

    fn validate_secret(&self, secret: &str) -> Result<(), VerifyError> {
        plain_secret(secret)?;
        match secret.strip_prefix("whsec_") {
            Some(rest) if rest.len() >= 16 && rest.bytes().all(|b| b.is_ascii_alphanumeric()) => {
                Ok(())
            }
            _ => Err(VerifyError::BadSecret(
                "a Stripe signing secret starts with whsec_ followed by letters and digits",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    // stripe/stripe-python tests/test_webhook.py: DUMMY_WEBHOOK_PAYLOAD, DUMMY_WEBHOOK_SECRET
    // and the fixed timestamp 12345 of test_timestamp_off_but_no_tolerance. The SDK computes the
    // signature at run time, so the expected value comes from an independent implementation:
    //   python3 -c 'import hmac,hashlib;p="{\n  \"id\": \"evt_test_webhook\",\n  \"object\":
    //   \"event\",\n  \"data\": { \"object\": { \"id\": \"rdr_123\", \"object\":
    //   \"terminal.reader\" } }\n}";print(hmac.new(b"whsec_test_secret",("12345."+p).encode(),
    //   hashlib.sha256).hexdigest())'
    const SECRET: &str = "whsec_test_secret";
    const PAYLOAD: &str = "{\n  \"id\": \"evt_test_webhook\",\n  \"object\": \"event\",\n  \"data\": { \"object\": { \"id\": \"rdr_123\", \"object\": \"terminal.reader\" } }\n}";
    const SDK_TS: i64 = 12345;
    const SDK_V1: &str = "07b1ede164afb7b5de91267ffa656f568c65d6e0783ce0ac55ee094643578eda";

    fn verify_with(
        header: &str,
        body: &[u8],
        secret: &str,
        now_ms: i64,
    ) -> Result<Verified, VerifyError> {
        let headers = headers(&[(HEADER, header)]);
        let request = InboundRequest {
            url: "https://hooks.example.com/stripe",
            headers: &headers,
            body,
        };
        StripeVerifier.verify(secret, &request, now_ms)
    }

    fn signed_now(body: &[u8]) -> String {
        let t = NOW_MS / 1000;
        let sig = hmac256(SECRET.as_bytes(), &[t.to_string().as_bytes(), b".", body]);
        format!("t={t},v1={}", hex(&sig))
    }

    #[test]
    fn stripe_python_sdk_inputs_verify() {
        let header = format!(
            "t={SDK_TS},v1={SDK_V1},v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39"
        );
        let verified = verify_with(&header, PAYLOAD.as_bytes(), SECRET, SDK_TS * 1000).unwrap();
        assert_eq!(verified.event_id.as_deref(), Some("evt_test_webhook"));
        assert_eq!(verified.event_type, None);
        assert_eq!(verified.replay_key, format!("stripe:{SDK_V1}"));
        assert_eq!(
            verified.replay_until_ms,
            SDK_TS * 1000 + super::super::TOLERANCE_MS
        );
    }

    #[test]
    fn any_one_of_several_v1_signatures_suffices() {
        let header = format!("t={SDK_TS},v1=bad_signature,v1={SDK_V1},v2=whatever");
        assert!(verify_with(&header, PAYLOAD.as_bytes(), SECRET, SDK_TS * 1000).is_ok());
    }

    #[test]
    fn tampered_body_is_refused() {
        let header = signed_now(PAYLOAD.as_bytes());
        let tampered = PAYLOAD.replace("evt_test_webhook", "evt_forged");
        assert_eq!(
            verify_with(&header, tampered.as_bytes(), SECRET, NOW_MS),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn wrong_secret_is_refused() {
        let header = signed_now(PAYLOAD.as_bytes());
        assert_eq!(
            verify_with(&header, PAYLOAD.as_bytes(), "whsec_other", NOW_MS),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            verify_with(&header, PAYLOAD.as_bytes(), "", NOW_MS),
            Err(VerifyError::BadSecret("no secret is configured"))
        );
    }

    #[test]
    fn stale_and_future_timestamps_are_refused() {
        let header = signed_now(PAYLOAD.as_bytes());
        let tolerance = super::super::TOLERANCE_MS;
        assert!(verify_with(&header, PAYLOAD.as_bytes(), SECRET, NOW_MS + tolerance).is_ok());
        assert_eq!(
            verify_with(
                &header,
                PAYLOAD.as_bytes(),
                SECRET,
                NOW_MS + tolerance + 1000
            ),
            Err(VerifyError::Stale)
        );
        assert_eq!(
            verify_with(
                &header,
                PAYLOAD.as_bytes(),
                SECRET,
                NOW_MS - tolerance - 1000
            ),
            Err(VerifyError::Stale)
        );
    }

    #[test]
    fn a_replayed_delivery_is_refused() {
        let header = signed_now(PAYLOAD.as_bytes());
        let verified = verify_with(&header, PAYLOAD.as_bytes(), SECRET, NOW_MS).unwrap();
        assert_replay_refused(&verified, NOW_MS);
    }

    #[test]
    fn missing_header_is_reported() {
        let request = InboundRequest {
            url: "https://hooks.example.com/stripe",
            headers: &[],
            body: PAYLOAD.as_bytes(),
        };
        assert_eq!(
            StripeVerifier.verify(SECRET, &request, NOW_MS),
            Err(VerifyError::MissingHeader(HEADER))
        );
    }

    #[test]
    fn garbled_headers_are_malformed_never_a_panic() {
        for header in [
            "i'm not even a real signature header",
            "t=,v1=",
            "v1=abc",
            "t=12a,v1=00",
            "t=-5,v1=00",
            ",,,=,=",
            "t=99999999999999999999,v1=00",
        ] {
            let result = verify_with(header, PAYLOAD.as_bytes(), SECRET, NOW_MS);
            assert!(
                matches!(result, Err(VerifyError::Malformed(_))),
                "{header}: {result:?}"
            );
        }
        let v0_only = format!("t={SDK_TS},v0={SDK_V1}");
        assert!(matches!(
            verify_with(&v0_only, PAYLOAD.as_bytes(), SECRET, SDK_TS * 1000),
            Err(VerifyError::Malformed(_))
        ));
        let long = format!("t=1,{}", "v1=00,".repeat(2000));
        assert!(matches!(
            verify_with(&long, PAYLOAD.as_bytes(), SECRET, NOW_MS),
            Err(VerifyError::Malformed(_))
        ));
    }

    #[test]
    fn empty_body_is_refused_but_an_empty_signed_body_verifies() {
        let header = signed_now(PAYLOAD.as_bytes());
        assert_eq!(
            verify_with(&header, b"", SECRET, NOW_MS),
            Err(VerifyError::BadSignature)
        );
        let verified = verify_with(&signed_now(b""), b"", SECRET, NOW_MS).unwrap();
        assert_eq!(verified.event_id, None);
    }

    #[test]
    fn secret_shape_is_checked_on_save() {
        assert_eq!(
            StripeVerifier.validate_secret("whsec_A2EdfajGiGHx9jFmkP7ia6j25VXh9IWV"),
            Ok(())
        );
        for bad in [
            "",
            "sk_live_abc",
            "whsec_",
            "whsec_short",
            " whsec_A2EdfajGiGHx9jFmkP7ia6j25VXh9IWV",
        ] {
            assert!(StripeVerifier.validate_secret(bad).is_err(), "{bad}");
        }
    }
}
