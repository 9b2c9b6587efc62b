//! Mercado Pago: `x-signature: ts=<timestamp>,v1=<hex>`, HMAC-SHA256 keyed with the
//! application's secret signature over the manifest `id:{data.id};request-id:{x-request-id};ts:{ts};`
//! where `data.id` comes from the notification URL's query and `x-request-id` from its header;
//! a part whose value is absent is left out. The documentation asks for an alphanumeric
//! `data.id` in lower case while the official SDKs disagree on whether to lowercase it, so
//! both the id as received and its lower-case form are tried.
//! <https://www.mercadopago.com.br/developers/en/docs/your-integrations/notifications/webhooks>
//!
//! `ts` is in milliseconds in real deliveries and in the official SDKs (sdk-java and
//! sdk-nodejs `WebhookSignatureValidator`), while the documentation's example shows ten digits;
//! a value below 10^11 is therefore read as seconds.
//!
//! The body is not signed: it is a hint. It must name the signed `data.id` when it names one,
//! and the server should fetch the resource by that id before acting on it.

use super::{
    InboundRequest, Provider, Verified, Verifier, VerifyError, any_hex_matches, check_fresh,
    digits, hmac_sha256, json_object, json_text, plain_secret, query_param, replay_key,
    signed_until, timestamp_and_signatures,
};

const SIGNATURE: &str = "x-signature";
const REQUEST_ID: &str = "x-request-id";

/// Timestamps at or above this are milliseconds (as seconds it would be the year 5138).
const MILLISECONDS_FROM: i64 = 100_000_000_000;

pub struct MercadoPagoVerifier;

fn manifest(data_id: Option<&str>, request_id: Option<&str>, ts: &str) -> String {
    let mut text = String::new();
    if let Some(id) = data_id {
        text.push_str(&format!("id:{id};"));
    }
    if let Some(id) = request_id {
        text.push_str(&format!("request-id:{id};"));
    }
    text.push_str(&format!("ts:{ts};"));
    text
}

impl Verifier for MercadoPagoVerifier {
    fn provider(&self) -> Provider {
        Provider::MercadoPago
    }

    fn verify(
        &self,
        secret: &str,
        request: &InboundRequest<'_>,
        now_ms: i64,
    ) -> Result<Verified, VerifyError> {
        let key = plain_secret(secret)?;
        let header = request.signature_header(SIGNATURE)?;
        let (timestamp, signatures) = timestamp_and_signatures(
            header,
            ',',
            "ts",
            "v1",
            "the signature header has no v1 signature",
        )?;
        let number = digits(timestamp)?;
        let signed_ms = if number >= MILLISECONDS_FROM {
            number
        } else {
            number
                .checked_mul(1000)
                .ok_or(VerifyError::Malformed("the timestamp is out of range"))?
        };
        let request_id = request.header(REQUEST_ID);
        let data_id = query_param(request.url, "data.id")
            .map(|id| id.trim().to_owned())
            .filter(|id| !id.is_empty());
        let mut candidates = vec![data_id.clone()];
        if let Some(id) = &data_id
            && id.to_lowercase() != *id
        {
            candidates.push(Some(id.to_lowercase()));
        }
        let mut matched = None;
        for candidate in &candidates {
            let text = manifest(candidate.as_deref(), request_id, timestamp);
            let expected = hmac_sha256(key, &[text.as_bytes()])?;
            if any_hex_matches(signatures.iter().copied(), &expected) {
                matched = Some(expected);
                break;
            }
        }
        let expected = matched.ok_or(VerifyError::BadSignature)?;
        check_fresh(signed_ms, now_ms)?;
        let body = json_object(request.body);
        if let (Some(signed), Some(named)) = (&data_id, json_text(body.as_ref(), &["data", "id"]))
            && !signed.eq_ignore_ascii_case(&named)
        {
            return Err(VerifyError::Malformed(
                "the body's data.id is not the signed one",
            ));
        }
        Ok(Verified {
            event_id: json_text(body.as_ref(), &["id"]),
            event_type: json_text(body.as_ref(), &["action"])
                .or_else(|| json_text(body.as_ref(), &["type"])),
            replay_key: replay_key(Provider::MercadoPago, &expected),
            replay_until_ms: signed_until(signed_ms),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::TOLERANCE_MS;
    use super::super::testing::*;
    use super::*;

    // mercadopago/sdk-java src/test/java/com/mercadopago/webhook/WebhookSignatureValidatorTest.java
    // (and sdk-nodejs src/utils/webhook/webhook.spec.ts): SECRET, REQUEST_ID, DATA_ID_RAW,
    // DATA_ID_LOWER, TS. Both SDKs compute the hash at run time, so the expected value comes
    // from an independent implementation:
    //   python3 -c 'import hmac,hashlib;print(hmac.new(b"your_secret_key_here",
    //   b"id:ord01jq4s4ky8hwq6na5pxb65b3d3;request-id:2066ca19-c6f1-498a-be75-1923005edd06;ts:1742505638683;",
    //   hashlib.sha256).hexdigest())'
    const SECRET: &str = "your_secret_key_here";
    const REQUEST: &str = "2066ca19-c6f1-498a-be75-1923005edd06";
    const DATA_ID_RAW: &str = "ORD01JQ4S4KY8HWQ6NA5PXB65B3D3";
    const DATA_ID_LOWER: &str = "ord01jq4s4ky8hwq6na5pxb65b3d3";
    const TS: &str = "1742505638683";
    const TS_MS: i64 = 1_742_505_638_683;
    const V1: &str = "633f91233312dd391ec75fa0bea539cfc2d6c4918873305b84a96cc1c58db71c";

    const BODY: &str = r#"{"action":"order.processed","api_version":"v1","data":{"id":"ORD01JQ4S4KY8HWQ6NA5PXB65B3D3"},"date_created":"2025-03-20T21:20:38Z","id":123456789,"live_mode":false,"type":"order","user_id":"1234"}"#;

    fn url(data_id: &str) -> String {
        format!("https://hooks.example.com/mp?data.id={data_id}&type=order")
    }

    fn verify_with(
        url: &str,
        signature: Option<&str>,
        request_id: Option<&str>,
        body: &[u8],
        secret: &str,
        now_ms: i64,
    ) -> Result<Verified, VerifyError> {
        let mut pairs = Vec::new();
        if let Some(s) = signature {
            pairs.push((SIGNATURE, s));
        }
        if let Some(r) = request_id {
            pairs.push((REQUEST_ID, r));
        }
        let headers = headers(&pairs);
        let request = InboundRequest {
            url,
            headers: &headers,
            body,
        };
        MercadoPagoVerifier.verify(secret, &request, now_ms)
    }

    fn sdk_header() -> String {
        format!("ts={TS},v1={V1}")
    }

    #[test]
    fn sdk_inputs_verify_with_the_lower_case_data_id() {
        let verified = verify_with(
            &url(DATA_ID_LOWER),
            Some(&sdk_header()),
            Some(REQUEST),
            BODY.as_bytes(),
            SECRET,
            TS_MS,
        )
        .unwrap();
        assert_eq!(verified.replay_key, format!("mercadopago:{V1}"));
        assert_eq!(verified.replay_until_ms, TS_MS + TOLERANCE_MS);
        assert_eq!(verified.event_id.as_deref(), Some("123456789"));
        assert_eq!(verified.event_type.as_deref(), Some("order.processed"));
    }

    #[test]
    fn an_upper_case_data_id_is_also_tried_in_lower_case() {
        // sdk-nodejs "case 2 — uppercase dataId is lowercased before HMAC".
        assert!(
            verify_with(
                &url(DATA_ID_RAW),
                Some(&sdk_header()),
                Some(REQUEST),
                BODY.as_bytes(),
                SECRET,
                TS_MS
            )
            .is_ok()
        );
        // sdk-java "uppercaseDataIdIsPreserved": a hash over the id as received also verifies.
        let manifest = format!("id:{DATA_ID_RAW};request-id:{REQUEST};ts:{TS};");
        let header = format!(
            "ts={TS},v1={}",
            hex(&hmac256(SECRET.as_bytes(), &[manifest.as_bytes()]))
        );
        assert!(
            verify_with(
                &url(DATA_ID_RAW),
                Some(&header),
                Some(REQUEST),
                BODY.as_bytes(),
                SECRET,
                TS_MS
            )
            .is_ok()
        );
    }

    #[test]
    fn absent_parts_are_left_out_of_the_manifest_and_seconds_are_accepted() {
        let ts = NOW_MS / 1000;
        let manifest = format!("ts:{ts};");
        let header = format!(
            "ts={ts},v1={}",
            hex(&hmac256(SECRET.as_bytes(), &[manifest.as_bytes()]))
        );
        let verified = verify_with(
            "https://hooks.example.com/mp",
            Some(&header),
            None,
            b"{}",
            SECRET,
            NOW_MS,
        )
        .unwrap();
        assert_eq!(verified.replay_until_ms, NOW_MS + TOLERANCE_MS);
        assert_eq!(verified.event_id, None);
    }

    #[test]
    fn a_body_naming_another_data_id_is_refused() {
        let other = BODY.replace("ORD01JQ4S4KY8HWQ6NA5PXB65B3D3", "ORD0SOMETHINGELSE");
        assert!(matches!(
            verify_with(
                &url(DATA_ID_LOWER),
                Some(&sdk_header()),
                Some(REQUEST),
                other.as_bytes(),
                SECRET,
                TS_MS
            ),
            Err(VerifyError::Malformed(_))
        ));
    }

    #[test]
    fn tampered_signed_parts_are_refused() {
        assert_eq!(
            verify_with(
                &url("ord01other"),
                Some(&sdk_header()),
                Some(REQUEST),
                b"{}",
                SECRET,
                TS_MS
            ),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            verify_with(
                &url(DATA_ID_LOWER),
                Some(&sdk_header()),
                Some("another-request"),
                BODY.as_bytes(),
                SECRET,
                TS_MS
            ),
            Err(VerifyError::BadSignature)
        );
        let shifted = format!("ts={},v1={V1}", TS_MS + 1);
        assert_eq!(
            verify_with(
                &url(DATA_ID_LOWER),
                Some(&shifted),
                Some(REQUEST),
                BODY.as_bytes(),
                SECRET,
                TS_MS
            ),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn wrong_secret_is_refused() {
        assert_eq!(
            verify_with(
                &url(DATA_ID_LOWER),
                Some(&sdk_header()),
                Some(REQUEST),
                BODY.as_bytes(),
                "another_secret",
                TS_MS
            ),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn stale_timestamp_is_refused() {
        assert_eq!(
            verify_with(
                &url(DATA_ID_LOWER),
                Some(&sdk_header()),
                Some(REQUEST),
                BODY.as_bytes(),
                SECRET,
                TS_MS + 30 * 60 * 1000
            ),
            Err(VerifyError::Stale)
        );
    }

    #[test]
    fn a_replayed_delivery_is_refused() {
        let verified = verify_with(
            &url(DATA_ID_LOWER),
            Some(&sdk_header()),
            Some(REQUEST),
            BODY.as_bytes(),
            SECRET,
            TS_MS,
        )
        .unwrap();
        assert_replay_refused(&verified, TS_MS);
    }

    #[test]
    fn missing_header_is_reported() {
        assert_eq!(
            verify_with(
                &url(DATA_ID_LOWER),
                None,
                Some(REQUEST),
                BODY.as_bytes(),
                SECRET,
                TS_MS
            ),
            Err(VerifyError::MissingHeader(SIGNATURE))
        );
    }

    #[test]
    fn garbled_headers_are_malformed_never_a_panic() {
        // The SDKs' malformed, missing-ts and missing-v1 cases, plus a few of our own.
        for header in [
            "this-is-garbage".to_owned(),
            format!("v1={V1}"),
            format!("ts={TS}"),
            format!("ts={TS},v2=somehash"),
            format!("ts=17425056386.5,v1={V1}"),
            "ts=,v1=,".to_owned(),
        ] {
            let result = verify_with(
                &url(DATA_ID_LOWER),
                Some(&header),
                Some(REQUEST),
                BODY.as_bytes(),
                SECRET,
                TS_MS,
            );
            assert!(
                matches!(result, Err(VerifyError::Malformed(_))),
                "{header}: {result:?}"
            );
        }
        let tampered = format!("ts={TS},v1={}00", V1.get(..62).unwrap());
        assert_eq!(
            verify_with(
                &url(DATA_ID_LOWER),
                Some(&tampered),
                Some(REQUEST),
                BODY.as_bytes(),
                SECRET,
                TS_MS
            ),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn empty_body_still_verifies_because_mercado_pago_does_not_sign_it() {
        let verified = verify_with(
            &url(DATA_ID_LOWER),
            Some(&sdk_header()),
            Some(REQUEST),
            b"",
            SECRET,
            TS_MS,
        )
        .unwrap();
        assert_eq!((verified.event_id, verified.event_type), (None, None));
    }
}
