//! Twilio: `X-Twilio-Signature: <base64>`, HMAC-SHA1 keyed with the account's auth token over
//! the full URL followed by every POST parameter, sorted by name (then value), as
//! `name` + `value` with no separators. A JSON body is not signed directly: the URL then
//! carries `bodySHA256`, the hex SHA-256 of the body, and the URL alone is signed. As in the
//! official SDKs, the URL is tried both without its port and with the scheme's default port,
//! since Twilio is not consistent about it. No timestamp is signed, so a delivery is
//! remembered for [`super::REMEMBER_UNSIGNED_MS`]; its event id is a digest of the signed
//! content (a resent callback has the same one).
//! <https://www.twilio.com/docs/usage/webhooks/webhooks-security>

use super::{
    InboundRequest, Provider, Verified, Verifier, VerifyError, ct_eq, form_pairs, from_base64,
    hmac_sha1, plain_secret, query_param, replay_key, sha256, to_hex, unsigned_until,
};

const HEADER: &str = "x-twilio-signature";

pub struct TwilioVerifier;

impl Verifier for TwilioVerifier {
    fn provider(&self) -> Provider {
        Provider::Twilio
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
            return Err(VerifyError::Malformed("the request URL is unknown"));
        }
        let params = match query_param(request.url, "bodySHA256") {
            Some(hash) => {
                let actual = to_hex(&sha256(&[request.body]));
                if !ct_eq(actual.as_bytes(), hash.to_ascii_lowercase().as_bytes()) {
                    return Err(VerifyError::BadSignature);
                }
                Vec::new()
            }
            None => {
                let mut params = form_pairs(request.body)?;
                params.sort();
                params
            }
        };
        let tail: String = params.iter().map(|(n, v)| format!("{n}{v}")).collect();
        let mut matched = None;
        for url in port_variants(request.url) {
            let expected = hmac_sha1(key, &[url.as_bytes(), tail.as_bytes()])?;
            if ct_eq(&presented, &expected) {
                matched = Some(expected);
                break;
            }
        }
        let expected = matched.ok_or(VerifyError::BadSignature)?;
        let content = sha256(&[request.url.as_bytes(), b"\n", tail.as_bytes()]);
        Ok(Verified {
            event_id: Some(format!("sha256:{}", to_hex(&content))),
            event_type: event_type(&params),
            replay_key: replay_key(Provider::Twilio, &expected),
            replay_until_ms: unsigned_until(now_ms),
        })
    }

    fn validate_secret(&self, secret: &str) -> Result<(), VerifyError> {
        if secret.len() == 32 && secret.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(())
        } else {
            Err(VerifyError::BadSecret(
                "a Twilio auth token is 32 hexadecimal characters",
            ))
        }
    }
}

/// `message.<status>` or `call.<status>` from a status callback's parameters.
fn event_type(params: &[(String, String)]) -> Option<String> {
    let find = |name: &str| {
        params
            .iter()
            .find(|(n, v)| n == name && !v.is_empty() && v.len() <= 64)
            .map(|(_, v)| v.to_ascii_lowercase())
    };
    find("MessageStatus")
        .or_else(|| find("SmsStatus"))
        .map(|s| format!("message.{s}"))
        .or_else(|| find("CallStatus").map(|s| format!("call.{s}")))
}

/// The URL without its port, then with it (the scheme's default when it had none).
fn port_variants(url: &str) -> Vec<String> {
    let unchanged = vec![url.to_owned()];
    let Some((scheme, after)) = url.split_once("://") else {
        return unchanged;
    };
    let end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let (Some(authority), Some(rest)) = (after.get(..end), after.get(end..)) else {
        return unchanged;
    };
    let (userinfo, host_port) = match authority.rfind('@') {
        Some(at) => (
            authority.get(..=at).unwrap_or_default(),
            authority.get(at + 1..).unwrap_or_default(),
        ),
        None => ("", authority),
    };
    let port_at = host_port.rfind(':').filter(|at| {
        !host_port.ends_with(']')
            && host_port
                .get(at + 1..)
                .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    });
    let host = match port_at {
        Some(at) => host_port.get(..at).unwrap_or_default(),
        None => host_port,
    };
    let without = format!("{scheme}://{userinfo}{host}{rest}");
    let with = match port_at {
        Some(_) => url.to_owned(),
        None => {
            let port = if scheme.eq_ignore_ascii_case("https") {
                443
            } else {
                80
            };
            format!("{scheme}://{userinfo}{host}:{port}{rest}")
        }
    };
    vec![without, with]
}

#[cfg(test)]
mod tests {
    use super::super::REMEMBER_UNSIGNED_MS;
    use super::super::testing::*;
    use super::*;

    // twilio/twilio-python tests/unit/test_request_validator.py: token "12345", uri, params
    // and the expected signatures of each test.
    const TOKEN: &str = "12345";
    const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";
    const PARAMS: &str = "CallSid=CA1234567890ABCDE&Digits=1234&From=%2B14158675309&To=%2B18005551212&Caller=%2B14158675309";
    const EXPECTED: &str = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
    const JSON_BODY: &str = r#"{"property": "value", "boolean": true}"#;
    const BODY_HASH: &str = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";

    fn verify_with(
        url: &str,
        signature: Option<&str>,
        body: &[u8],
        token: &str,
    ) -> Result<Verified, VerifyError> {
        let headers = match signature {
            Some(s) => headers(&[
                (HEADER, s),
                ("content-type", "application/x-www-form-urlencoded"),
            ]),
            None => headers(&[("content-type", "application/x-www-form-urlencoded")]),
        };
        let request = InboundRequest {
            url,
            headers: &headers,
            body,
        };
        TwilioVerifier.verify(token, &request, NOW_MS)
    }

    #[test]
    fn twilio_python_vector_verifies() {
        let verified = verify_with(URL, Some(EXPECTED), PARAMS.as_bytes(), TOKEN).unwrap();
        assert!(verified.replay_key.starts_with("twilio:"));
        assert_eq!(verified.replay_until_ms, NOW_MS + REMEMBER_UNSIGNED_MS);
        assert!(
            verified
                .event_id
                .as_ref()
                .is_some_and(|id| id.starts_with("sha256:"))
        );
        assert_eq!(verified.event_type, None);
        // Parameter order in the body does not matter; the event id stays the same.
        let reordered = "Caller=%2B14158675309&To=%2B18005551212&From=%2B14158675309&Digits=1234&CallSid=CA1234567890ABCDE";
        let again = verify_with(URL, Some(EXPECTED), reordered.as_bytes(), TOKEN).unwrap();
        assert_eq!(again.event_id, verified.event_id);
    }

    #[test]
    fn repeated_parameters_are_sorted_by_value() {
        // test_compute_signature_duplicate_query_dict
        let body = b"Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234";
        assert!(verify_with(URL, Some("IK+Dwps556ElfBT0I3Rgjkr1wJU="), body, TOKEN).is_ok());
    }

    #[test]
    fn the_port_quirk_is_handled_both_ways() {
        let with_port = URL.replace(".com", ".com:1234");
        // test_validation_removes_port_on_https
        assert!(verify_with(&with_port, Some(EXPECTED), PARAMS.as_bytes(), TOKEN).is_ok());
        // test_validation_removes_port_on_http: signed with the port kept
        let http_with_port = with_port.replace("https", "http");
        assert!(
            verify_with(
                &http_with_port,
                Some("Zmvh+3yNM1Phv2jhDCwEM3q5ebU="),
                PARAMS.as_bytes(),
                TOKEN
            )
            .is_ok()
        );
        // test_validation_adds_port_on_https / _on_http
        assert!(
            verify_with(
                URL,
                Some("kvajT1Ptam85bY51eRf/AJRuM3w="),
                PARAMS.as_bytes(),
                TOKEN
            )
            .is_ok()
        );
        let http = URL.replace("https", "http");
        assert!(
            verify_with(
                &http,
                Some("0ZXoZLH/DfblKGATFgpif+LLRf4="),
                PARAMS.as_bytes(),
                TOKEN
            )
            .is_ok()
        );
    }

    #[test]
    fn a_json_body_is_checked_against_body_sha256() {
        // test_validation_of_body_succeeds
        let url = format!("{URL}&bodySHA256={BODY_HASH}");
        assert!(
            verify_with(
                &url,
                Some("a9nBmqA0ju/hNViExpshrM61xv4="),
                JSON_BODY.as_bytes(),
                TOKEN
            )
            .is_ok()
        );
        let tampered = JSON_BODY.replace("true", "false");
        assert_eq!(
            verify_with(
                &url,
                Some("a9nBmqA0ju/hNViExpshrM61xv4="),
                tampered.as_bytes(),
                TOKEN
            ),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn status_callbacks_name_their_event_type() {
        let token = "0123456789abcdef0123456789abcdef";
        let body = b"MessageSid=SM1&MessageStatus=Delivered&To=%2B15551234567";
        let data = format!("{URL}MessageSidSM1MessageStatusDeliveredTo+15551234567");
        let signature = b64(&hmac1(token.as_bytes(), &[data.as_bytes()]));
        let verified = verify_with(URL, Some(&signature), body, token).unwrap();
        assert_eq!(verified.event_type.as_deref(), Some("message.delivered"));
    }

    #[test]
    fn tampered_body_is_refused() {
        let tampered = PARAMS.replace("Digits=1234", "Digits=9999");
        assert_eq!(
            verify_with(URL, Some(EXPECTED), tampered.as_bytes(), TOKEN),
            Err(VerifyError::BadSignature)
        );
        let tampered_url = URL.replace("foo=1", "foo=2");
        assert_eq!(
            verify_with(&tampered_url, Some(EXPECTED), PARAMS.as_bytes(), TOKEN),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn wrong_secret_is_refused() {
        assert_eq!(
            verify_with(URL, Some(EXPECTED), PARAMS.as_bytes(), "54321"),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn a_replayed_delivery_is_refused() {
        let verified = verify_with(URL, Some(EXPECTED), PARAMS.as_bytes(), TOKEN).unwrap();
        assert_replay_refused(&verified, NOW_MS);
    }

    #[test]
    fn missing_header_is_reported() {
        assert_eq!(
            verify_with(URL, None, PARAMS.as_bytes(), TOKEN),
            Err(VerifyError::MissingHeader(HEADER))
        );
    }

    #[test]
    fn garbled_headers_and_urls_never_panic() {
        for header in ["not base64!", "RSOYDt4T1cUTdK1PDd93/VVr8B8", "===="] {
            assert!(
                matches!(
                    verify_with(URL, Some(header), PARAMS.as_bytes(), TOKEN),
                    Err(VerifyError::Malformed(_))
                ),
                "{header}"
            );
        }
        for url in [
            "",
            "no-scheme",
            "https://",
            "https://[::1",
            "https://u:p@host:99999999999999999999/x",
            "https://[::1]:8443/é?x=%ff",
            "://:",
        ] {
            let result = verify_with(url, Some(EXPECTED), PARAMS.as_bytes(), TOKEN);
            assert!(result.is_err(), "{url}");
        }
        assert!(matches!(
            verify_with(URL, Some(EXPECTED), b"Body=%FF", TOKEN),
            Err(VerifyError::Malformed(_))
        ));
    }

    #[test]
    fn port_variants_cover_userinfo_and_ipv6() {
        assert_eq!(
            port_variants("https://u:p@h.test:8443/a?b"),
            vec!["https://u:p@h.test/a?b", "https://u:p@h.test:8443/a?b"]
        );
        assert_eq!(
            port_variants("http://[::1]/a"),
            vec!["http://[::1]/a", "http://[::1]:80/a"]
        );
        assert_eq!(
            port_variants("https://[::1]:9/a"),
            vec!["https://[::1]/a", "https://[::1]:9/a"]
        );
        assert_eq!(port_variants("weird"), vec!["weird"]);
    }

    #[test]
    fn empty_body_is_refused() {
        assert_eq!(
            verify_with(URL, Some(EXPECTED), b"", TOKEN),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn secret_shape_is_checked_on_save() {
        assert_eq!(
            TwilioVerifier.validate_secret("0123456789abcdef0123456789ABCDEF"),
            Ok(())
        );
        for bad in [
            "",
            "12345",
            "0123456789abcdef0123456789abcdeg",
            "0123456789abcdef0123456789abcdef0",
        ] {
            assert!(TwilioVerifier.validate_secret(bad).is_err(), "{bad}");
        }
    }
}
