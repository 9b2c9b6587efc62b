//! Mailgun: HMAC-SHA256 keyed with the HTTP webhook signing key over `timestamp` (Unix
//! seconds, as sent) followed by `token`, in hex. Webhooks send them in the JSON body's
//! `signature` object (with a `parent-signature` for subaccounts, signed with the primary
//! account's key); legacy webhooks and routes send `timestamp`, `token` and `signature` as
//! form fields, URL-encoded or multipart.
//! <https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/securing-webhooks>
//!
//! Only the timestamp and token are signed: the rest of the body is a hint.

use serde_json::Value;

use super::{
    InboundRequest, Provider, Verified, Verifier, VerifyError, any_hex_matches, check_fresh,
    form_pairs, hmac_sha256, json_object, json_text, plain_secret, replay_key, seconds_to_ms,
    signed_until,
};

/// Mailgun tokens are 50 characters; anything far longer is not one.
const MAX_TOKEN_LEN: usize = 256;

pub struct MailgunVerifier;

/// The signed fields, wherever the body carried them.
struct Signed {
    timestamp: String,
    token: String,
    signatures: Vec<String>,
    event_id: Option<String>,
    event_type: Option<String>,
}

impl Verifier for MailgunVerifier {
    fn provider(&self) -> Provider {
        Provider::Mailgun
    }

    fn verify(
        &self,
        secret: &str,
        request: &InboundRequest<'_>,
        now_ms: i64,
    ) -> Result<Verified, VerifyError> {
        let key = plain_secret(secret)?;
        let signed = match request.media_type().as_deref() {
            Some("application/json") => from_json(request.body)?,
            Some("application/x-www-form-urlencoded") => from_form(form_pairs(request.body)?)?,
            Some("multipart/form-data") => from_form(multipart_fields(request)?)?,
            Some(_) => {
                return Err(VerifyError::Malformed(
                    "the body is neither JSON nor a form",
                ));
            }
            None if request.body.trim_ascii_start().starts_with(b"{") => from_json(request.body)?,
            None => from_form(form_pairs(request.body)?)?,
        };
        if signed.token.len() > MAX_TOKEN_LEN {
            return Err(VerifyError::Malformed("the token is too long"));
        }
        let signed_ms = seconds_to_ms(&signed.timestamp)?;
        let expected = hmac_sha256(key, &[signed.timestamp.as_bytes(), signed.token.as_bytes()])?;
        if !any_hex_matches(signed.signatures.iter().map(String::as_str), &expected) {
            return Err(VerifyError::BadSignature);
        }
        check_fresh(signed_ms, now_ms)?;
        Ok(Verified {
            event_id: signed.event_id,
            event_type: signed.event_type,
            replay_key: replay_key(Provider::Mailgun, &expected),
            replay_until_ms: signed_until(signed_ms),
        })
    }
}

fn from_json(body: &[u8]) -> Result<Signed, VerifyError> {
    let body = json_object(body).ok_or(VerifyError::Malformed("the body is not a JSON object"))?;
    let signature = body
        .get("signature")
        .filter(|s| s.is_object())
        .ok_or(VerifyError::MissingField("signature"))?;
    // Signed fields are read whatever their length; the length is checked afterwards.
    let text = |name: &str| match signature.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let field = |name: &'static str| text(name).ok_or(VerifyError::MissingField(name));
    let mut signatures = vec![field("signature")?];
    signatures.extend(text("parent-signature"));
    let event: Option<&Value> = body.get("event-data");
    Ok(Signed {
        timestamp: field("timestamp")?,
        token: field("token")?,
        signatures,
        event_id: json_text(event, &["id"]),
        event_type: json_text(event, &["event"]),
    })
}

fn from_form(fields: Vec<(String, String)>) -> Result<Signed, VerifyError> {
    let take = |name: &'static str| {
        fields
            .iter()
            .find(|(n, v)| n == name && !v.is_empty())
            .map(|(_, v)| v.clone())
            .ok_or(VerifyError::MissingField(name))
    };
    Ok(Signed {
        timestamp: take("timestamp")?,
        token: take("token")?,
        signatures: vec![take("signature")?],
        // Form deliveries carry no id of their own; a message id is shared by its events.
        event_id: None,
        event_type: take("event").ok().filter(|e| e.len() <= 64),
    })
}

/// The small text fields of a `multipart/form-data` body (parts with a file name, such as
/// attachments, are skipped).
fn multipart_fields(request: &InboundRequest<'_>) -> Result<Vec<(String, String)>, VerifyError> {
    let content_type = request.header("content-type").unwrap_or_default();
    let boundary = content_type
        .split(';')
        .filter_map(|p| p.trim().split_once('='))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("boundary"))
        .map(|(_, value)| value.trim().trim_matches('"'))
        .filter(|b| !b.is_empty() && b.len() <= 200)
        .ok_or(VerifyError::Malformed("the multipart body has no boundary"))?;
    let delimiter = format!("--{boundary}");
    let mut fields = Vec::new();
    for part in split(request.body, delimiter.as_bytes())
        .into_iter()
        .skip(1)
    {
        if part.starts_with(b"--") {
            break;
        }
        let part = part.strip_prefix(b"\r\n").unwrap_or(part);
        let Some(split_at) = find(part, b"\r\n\r\n") else {
            continue;
        };
        let (head, content) = (
            part.get(..split_at).unwrap_or_default(),
            part.get(split_at + 4..).unwrap_or_default(),
        );
        let content = content.strip_suffix(b"\r\n").unwrap_or(content);
        let Some(name) = field_name(head) else {
            continue;
        };
        if content.len() <= 1024
            && let Ok(value) = String::from_utf8(content.to_vec())
        {
            fields.push((name, value));
        }
    }
    Ok(fields)
}

/// The `name` of a part whose `Content-Disposition` is `form-data` without a `filename`.
fn field_name(head: &[u8]) -> Option<String> {
    let head = std::str::from_utf8(head).ok()?;
    let disposition = head.split("\r\n").find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("content-disposition")
            .then_some(value)
    })?;
    let mut name = None;
    for param in disposition.split(';').skip(1) {
        let (key, value) = param.trim().split_once('=')?;
        match key.trim().to_ascii_lowercase().as_str() {
            "filename" | "filename*" => return None,
            "name" => name = Some(value.trim().trim_matches('"').to_owned()),
            _ => {}
        }
    }
    name
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn split<'a>(mut haystack: &'a [u8], needle: &[u8]) -> Vec<&'a [u8]> {
    let mut pieces = Vec::new();
    while let Some(at) = find(haystack, needle) {
        pieces.push(haystack.get(..at).unwrap_or_default());
        haystack = haystack.get(at + needle.len()..).unwrap_or_default();
    }
    pieces.push(haystack);
    pieces
}

#[cfg(test)]
mod tests {
    use super::super::TOLERANCE_MS;
    use super::super::testing::*;
    use super::*;

    // mailgun/mailgun-php tests/Api/WebhookTest.php, testVerifyWebhookGood (and
    // testVerifyWebhookBad for the wrong token).
    const KEY: &str = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0";
    const TS: &str = "1403645220";
    const TS_MS: i64 = 1_403_645_220_000;
    const TOKEN: &str = "5egbgr1vjgqxtrnp65xfznchgdccwh5d6i09vijqi3whgowmn6";
    const SIGNATURE: &str = "9cfc5c41582e51246e73c88d34db3af0a3a2692a76fbab81492842f000256d33";

    fn json_body(ts: &str, token: &str, signature: &str) -> String {
        format!(
            r#"{{"signature":{{"timestamp":"{ts}","token":"{token}","signature":"{signature}"}},"event-data":{{"event":"delivered","id":"CPgfbmQMTCKtHW6uIWtuVe","timestamp":1403645220.1}}}}"#
        )
    }

    fn verify_with(
        content_type: Option<&str>,
        body: &[u8],
        key: &str,
        now_ms: i64,
    ) -> Result<Verified, VerifyError> {
        let headers = content_type
            .map(|c| headers(&[("content-type", c)]))
            .unwrap_or_default();
        let request = InboundRequest {
            url: "https://hooks.example.com/mailgun",
            headers: &headers,
            body,
        };
        MailgunVerifier.verify(key, &request, now_ms)
    }

    fn sdk_json() -> String {
        json_body(TS, TOKEN, SIGNATURE)
    }

    #[test]
    fn mailgun_php_vector_verifies_in_a_json_webhook() {
        let verified =
            verify_with(Some("application/json"), sdk_json().as_bytes(), KEY, TS_MS).unwrap();
        assert_eq!(verified.event_id.as_deref(), Some("CPgfbmQMTCKtHW6uIWtuVe"));
        assert_eq!(verified.event_type.as_deref(), Some("delivered"));
        assert_eq!(verified.replay_key, format!("mailgun:{SIGNATURE}"));
        assert_eq!(verified.replay_until_ms, TS_MS + TOLERANCE_MS);
        // Without a content type the JSON is recognised too.
        assert!(verify_with(None, sdk_json().as_bytes(), KEY, TS_MS).is_ok());
    }

    #[test]
    fn a_subaccount_parent_signature_verifies() {
        let body = format!(
            r#"{{"signature":{{"timestamp":"{TS}","token":"{TOKEN}","signature":"{}","parent-signature":"{SIGNATURE}"}}}}"#,
            "0".repeat(64)
        );
        assert!(verify_with(Some("application/json"), body.as_bytes(), KEY, TS_MS).is_ok());
    }

    #[test]
    fn mailgun_php_vector_verifies_as_form_fields() {
        let form = format!(
            "timestamp={TS}&token={TOKEN}&signature={SIGNATURE}&event=delivered&Message-Id=%3C1%40example.com%3E"
        );
        let verified = verify_with(
            Some("application/x-www-form-urlencoded"),
            form.as_bytes(),
            KEY,
            TS_MS,
        )
        .unwrap();
        assert_eq!(verified.event_type.as_deref(), Some("delivered"));
        assert_eq!(verified.event_id, None);
        assert!(verify_with(None, form.as_bytes(), KEY, TS_MS).is_ok());

        let multipart = format!(
            "preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"timestamp\"\r\n\r\n{TS}\r\n--XyZ\r\nContent-Disposition: form-data; name=\"attachment-1\"; filename=\"token\"\r\nContent-Type: text/plain\r\n\r\nnot the token\r\n--XyZ\r\ncontent-disposition: form-data; name=\"token\"\r\n\r\n{TOKEN}\r\n--XyZ\r\nContent-Disposition: form-data; name=\"signature\"\r\n\r\n{SIGNATURE}\r\n--XyZ--\r\n"
        );
        assert!(
            verify_with(
                Some("multipart/form-data; boundary=\"XyZ\""),
                multipart.as_bytes(),
                KEY,
                TS_MS
            )
            .is_ok()
        );
    }

    #[test]
    fn tampered_token_or_timestamp_is_refused() {
        // testVerifyWebhookBad: another token under the same signature.
        let other_token = json_body(
            TS,
            "owyldpe6nxhmrn78epljl6bj0orrki1u3d2v5e6cnlmmuox8jr",
            SIGNATURE,
        );
        assert_eq!(
            verify_with(Some("application/json"), other_token.as_bytes(), KEY, TS_MS),
            Err(VerifyError::BadSignature)
        );
        let other_ts = json_body("1403645221", TOKEN, SIGNATURE);
        assert_eq!(
            verify_with(Some("application/json"), other_ts.as_bytes(), KEY, TS_MS),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn wrong_secret_is_refused() {
        assert_eq!(
            verify_with(
                Some("application/json"),
                sdk_json().as_bytes(),
                "key-other",
                TS_MS
            ),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn stale_timestamp_is_refused() {
        assert_eq!(
            verify_with(
                Some("application/json"),
                sdk_json().as_bytes(),
                KEY,
                TS_MS + TOLERANCE_MS + 1
            ),
            Err(VerifyError::Stale)
        );
        assert_eq!(
            verify_with(Some("application/json"), sdk_json().as_bytes(), KEY, NOW_MS),
            Err(VerifyError::Stale)
        );
    }

    #[test]
    fn a_replayed_delivery_is_refused() {
        let verified =
            verify_with(Some("application/json"), sdk_json().as_bytes(), KEY, TS_MS).unwrap();
        assert_replay_refused(&verified, TS_MS);
    }

    #[test]
    fn missing_signature_fields_are_reported() {
        let no_object = r#"{"event-data":{"event":"delivered"}}"#;
        assert_eq!(
            verify_with(Some("application/json"), no_object.as_bytes(), KEY, TS_MS),
            Err(VerifyError::MissingField("signature"))
        );
        let no_token =
            format!(r#"{{"signature":{{"timestamp":"{TS}","signature":"{SIGNATURE}"}}}}"#);
        assert_eq!(
            verify_with(Some("application/json"), no_token.as_bytes(), KEY, TS_MS),
            Err(VerifyError::MissingField("token"))
        );
        let form = format!("timestamp={TS}&token={TOKEN}");
        assert_eq!(
            verify_with(
                Some("application/x-www-form-urlencoded"),
                form.as_bytes(),
                KEY,
                TS_MS
            ),
            Err(VerifyError::MissingField("signature"))
        );
    }

    #[test]
    fn garbled_bodies_are_malformed_never_a_panic() {
        for (content_type, body) in [
            ("application/json", "{not json".to_owned()),
            ("application/json", "[1,2]".to_owned()),
            ("application/json", json_body("soon", TOKEN, SIGNATURE)),
            ("application/json", json_body("-5", TOKEN, SIGNATURE)),
            (
                "application/json",
                json_body(TS, &"t".repeat(300), SIGNATURE),
            ),
            ("text/plain", "hello".to_owned()),
            ("multipart/form-data", "--x\r\n".to_owned()),
            (
                "application/x-www-form-urlencoded",
                "timestamp=%FF&token=a&signature=b".to_owned(),
            ),
        ] {
            let result = verify_with(Some(content_type), body.as_bytes(), KEY, TS_MS);
            assert!(
                matches!(result, Err(VerifyError::Malformed(_))),
                "{content_type} {body}: {result:?}"
            );
        }
        assert_eq!(
            verify_with(
                Some("application/json"),
                json_body(TS, TOKEN, "zz").as_bytes(),
                KEY,
                TS_MS
            ),
            Err(VerifyError::BadSignature)
        );
        // A multipart body with broken parts yields no fields rather than an error or a panic.
        let broken =
            "--b\r\nno headers here--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--";
        assert_eq!(
            verify_with(
                Some("multipart/form-data; boundary=b"),
                broken.as_bytes(),
                KEY,
                TS_MS
            ),
            Err(VerifyError::MissingField("timestamp"))
        );
    }

    #[test]
    fn empty_body_is_refused() {
        assert_eq!(
            verify_with(Some("application/json"), b"", KEY, TS_MS),
            Err(VerifyError::Malformed("the body is not a JSON object"))
        );
        assert_eq!(
            verify_with(None, b"", KEY, TS_MS),
            Err(VerifyError::MissingField("timestamp"))
        );
    }
}
