//! Console session cookies and their CSRF defence, in one place.
//!
//! The session cookie is `__Host-hf_session`: HttpOnly, Secure, SameSite=Lax, Path=/, no
//! Domain, so only this exact origin ever receives it and scripts cannot read it. The CSRF
//! token rides in a readable `__Host-hf_csrf` cookie and must come back in `X-CSRF-Token` on
//! every state-changing request (signed double submit, bound to the session id). A request
//! whose `Origin` names another site, or whose `Sec-Fetch-Site` says `cross-site`, is refused
//! before the token is even looked at. When Holdfast is served over plain HTTP on a
//! non-loopback host (a development setup), browsers drop `Secure` cookies, so the names lose
//! their `__Host-` prefix and the `Secure` flag; the server warns at start.
//! Threat note: docs/design/sign-in.md.

use axum::http::header::{COOKIE, HOST, ORIGIN};
use axum::http::{HeaderMap, HeaderValue, Method};
use holdfast_core::identity::csrf::CsrfKey;

/// The header the console echoes the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

#[derive(Debug, Clone)]
pub struct CookiePolicy {
    /// `scheme://host[:port]` of the public URL: the console's own origin.
    pub origin: String,
    pub secure: bool,
    pub session_name: &'static str,
    pub csrf_name: &'static str,
    /// Binds a single sign-on flow to the browser that started it.
    pub sso_name: &'static str,
    /// A customer's client portal session: never read by a staff route (and the staff
    /// session is never read by a portal route).
    pub portal_name: &'static str,
}

impl CookiePolicy {
    /// Secure (and `__Host-` prefixed) unless the public URL is plain HTTP on a non-loopback host.
    pub fn for_public_url(public_url: &str) -> CookiePolicy {
        let secure = public_url.starts_with("https://") || is_loopback_url(public_url);
        let origin = public_url
            .split_once("://")
            .map(|(scheme, rest)| format!("{scheme}://{}", rest.split('/').next().unwrap_or("")))
            .unwrap_or_default();
        if secure {
            CookiePolicy {
                origin,
                secure,
                session_name: "__Host-hf_session",
                csrf_name: "__Host-hf_csrf",
                sso_name: "__Host-hf_sso",
                portal_name: "__Host-hf_portal",
            }
        } else {
            CookiePolicy {
                origin,
                secure,
                session_name: "hf_session",
                csrf_name: "hf_csrf",
                sso_name: "hf_sso",
                portal_name: "hf_portal",
            }
        }
    }

    fn attributes(&self, max_age_s: i64, http_only: bool) -> String {
        format!(
            "Path=/; Max-Age={max_age_s}; SameSite=Lax{}{}",
            if http_only { "; HttpOnly" } else { "" },
            if self.secure { "; Secure" } else { "" }
        )
    }

    /// The two cookies of a console session just started.
    pub fn set(&self, session: &str, csrf_token: &str, max_age_s: i64) -> [HeaderValue; 2] {
        [
            header(format!(
                "{}={session}; {}",
                self.session_name,
                self.attributes(max_age_s, true)
            )),
            header(format!(
                "{}={csrf_token}; {}",
                self.csrf_name,
                self.attributes(max_age_s, false)
            )),
        ]
    }

    /// Expires both cookies (sign-out).
    pub fn clear(&self) -> [HeaderValue; 2] {
        [
            header(format!(
                "{}=; {}",
                self.session_name,
                self.attributes(0, true)
            )),
            header(format!(
                "{}=; {}",
                self.csrf_name,
                self.attributes(0, false)
            )),
        ]
    }

    /// The single sign-on cookie (HttpOnly; Lax, so it comes back on the provider's redirect).
    pub fn set_sso(&self, value: &str, max_age_s: i64) -> HeaderValue {
        header(format!(
            "{}={value}; {}",
            self.sso_name,
            self.attributes(max_age_s, true)
        ))
    }

    pub fn clear_sso(&self) -> HeaderValue {
        header(format!("{}=; {}", self.sso_name, self.attributes(0, true)))
    }

    /// A request from a page of another site: `Sec-Fetch-Site: cross-site`, or an `Origin` that
    /// is neither the public URL's origin nor the host the browser addressed (behind a proxy
    /// that rewrites `Host`, the public URL still matches).
    pub fn is_cross_site(&self, headers: &HeaderMap) -> bool {
        let same_as_public = headers
            .get(ORIGIN)
            .and_then(|o| o.to_str().ok())
            .is_some_and(|o| !self.origin.is_empty() && o.eq_ignore_ascii_case(&self.origin));
        let fetch_cross = headers
            .get("sec-fetch-site")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site"));
        !same_as_public && (fetch_cross || is_cross_site(headers))
    }

    /// The portal session cookie of a customer just signed in (HttpOnly; Lax).
    pub fn set_portal(&self, value: &str, max_age_s: i64) -> HeaderValue {
        header(format!(
            "{}={value}; {}",
            self.portal_name,
            self.attributes(max_age_s, true)
        ))
    }

    /// Expires the portal session cookie (signing out).
    pub fn clear_portal(&self) -> HeaderValue {
        header(format!(
            "{}=; {}",
            self.portal_name,
            self.attributes(0, true)
        ))
    }

    /// The portal session cookie's value, if the request carries one.
    pub fn portal_session<'a>(&self, headers: &'a HeaderMap) -> Option<&'a str> {
        cookie(headers, self.portal_name)
    }

    /// The session cookie's value, if the request carries one.
    pub fn session<'a>(&self, headers: &'a HeaderMap) -> Option<&'a str> {
        cookie(headers, self.session_name)
    }
}

fn header(text: String) -> HeaderValue {
    // Cookie values are base62/base64url and names are constants: always a valid header.
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn is_loopback_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .unwrap_or(url);
    let authority = rest.split('/').next().unwrap_or_default();
    let host = if authority.starts_with('[') {
        authority.split(']').next().map(|h| format!("{h}]"))
    } else {
        authority.split(':').next().map(str::to_owned)
    }
    .unwrap_or_default();
    host == "localhost"
        || host == "[::1]"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// One cookie's value from the `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// Whether the request was sent by a page of another site: a `Sec-Fetch-Site: cross-site`, or
/// an `Origin` whose host differs from the `Host` the browser addressed. A page answered with
/// `Referrer-Policy: no-referrer` (the client portal's, a public link's) makes the browser send
/// `Origin: null` with its own forms and htmx requests; then the browser's
/// `Sec-Fetch-Site: same-origin`, which no page can set, says where it came from (an opaque
/// origin, such as a sandboxed frame's, is never `same-origin`). `null` without it is refused.
pub fn is_cross_site(headers: &HeaderMap) -> bool {
    let fetch_site = headers.get("sec-fetch-site").map(|v| v.as_bytes());
    if fetch_site.is_some_and(|v| v.eq_ignore_ascii_case(b"cross-site")) {
        return true;
    }
    let Some(origin) = headers.get(ORIGIN) else {
        return false;
    };
    let origin = origin.to_str().unwrap_or("null");
    if origin == "null" && fetch_site.is_some_and(|v| v.eq_ignore_ascii_case(b"same-origin")) {
        return false;
    }
    let origin_host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    let host = headers.get(HOST).and_then(|h| h.to_str().ok());
    match (origin_host, host) {
        (Some(o), Some(h)) => !o.eq_ignore_ascii_case(h),
        _ => true,
    }
}

/// Safe methods change nothing, so they need no CSRF token.
pub fn is_state_changing(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The CSRF check of a cookie-authenticated, state-changing request. `Err` names what failed.
pub fn check_csrf(
    policy: &CookiePolicy,
    key: &CsrfKey,
    session_id: &str,
    headers: &HeaderMap,
) -> Result<(), &'static str> {
    if policy.is_cross_site(headers) {
        return Err("a page of another site sent this request; it was refused");
    }
    let presented = headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or("send the session's CSRF token (the hf_csrf cookie) in the X-CSRF-Token header")?;
    if key.verify(session_id, presented.trim()) {
        Ok(())
    } else {
        Err("the X-CSRF-Token header does not match this session; reload the console")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn secure_names_unless_plain_http_off_loopback() {
        for url in [
            "https://ops.example.com",
            "http://127.0.0.1:8080",
            "http://localhost:3000",
            "http://[::1]:80",
        ] {
            let p = CookiePolicy::for_public_url(url);
            assert!(p.secure, "{url}");
            assert_eq!(p.session_name, "__Host-hf_session");
        }
        let p = CookiePolicy::for_public_url("http://ops.lan:8080");
        assert!(!p.secure);
        assert_eq!(p.session_name, "hf_session");
        assert!(!CookiePolicy::for_public_url("http://127.example.com").secure);
    }

    #[test]
    fn set_cookie_attributes() {
        let p = CookiePolicy::for_public_url("https://ops.example.com");
        let [session, csrf] = p.set("hfs_x", "tok", 60);
        let session = session.to_str().unwrap();
        assert_eq!(
            session,
            "__Host-hf_session=hfs_x; Path=/; Max-Age=60; SameSite=Lax; HttpOnly; Secure"
        );
        assert!(!csrf.to_str().unwrap().contains("HttpOnly"));
        assert!(p.clear()[0].to_str().unwrap().contains("Max-Age=0"));
        assert_eq!(
            p.set_portal("hfps_x", 60).to_str().unwrap(),
            "__Host-hf_portal=hfps_x; Path=/; Max-Age=60; SameSite=Lax; HttpOnly; Secure"
        );
        assert!(p.clear_portal().to_str().unwrap().contains("Max-Age=0"));
    }

    #[test]
    fn cookie_parsing_finds_the_exact_name() {
        let h = headers(&[("cookie", "a=1; __Host-hf_session=hfs_abc; b=2")]);
        assert_eq!(cookie(&h, "__Host-hf_session"), Some("hfs_abc"));
        let p = CookiePolicy::for_public_url("https://ops.example.com");
        assert_eq!(
            p.portal_session(&h),
            None,
            "a staff session is no portal session"
        );
        assert_eq!(cookie(&h, "hf_session"), None);
    }

    #[test]
    fn cross_site_detection() {
        assert!(!is_cross_site(&headers(&[("host", "ops.example.com")])));
        assert!(!is_cross_site(&headers(&[
            ("host", "ops.example.com"),
            ("origin", "https://ops.example.com")
        ])));
        assert!(is_cross_site(&headers(&[
            ("host", "ops.example.com"),
            ("origin", "https://evil.example")
        ])));
        assert!(is_cross_site(&headers(&[
            ("host", "ops.example.com"),
            ("origin", "null")
        ])));
        assert!(is_cross_site(&headers(&[("sec-fetch-site", "cross-site")])));
        // A no-referrer page's own form: `Origin: null`, and the browser says same-origin.
        assert!(!is_cross_site(&headers(&[
            ("host", "ops.example.com"),
            ("origin", "null"),
            ("sec-fetch-site", "same-origin")
        ])));
        for site in ["same-site", "cross-site", "none"] {
            assert!(
                is_cross_site(&headers(&[
                    ("host", "ops.example.com"),
                    ("origin", "null"),
                    ("sec-fetch-site", site)
                ])),
                "{site}"
            );
        }
        assert!(is_cross_site(&headers(&[
            ("host", "ops.example.com"),
            ("origin", "https://evil.example"),
            ("sec-fetch-site", "same-origin")
        ])));
    }

    #[test]
    fn csrf_needs_the_sessions_token() {
        let key = CsrfKey::derive(b"m");
        let policy = CookiePolicy::for_public_url("https://ops.example.com");
        let token = key.token_for("ses_1");
        let ok = headers(&[("host", "h"), ("x-csrf-token", &token)]);
        assert!(check_csrf(&policy, &key, "ses_1", &ok).is_ok());
        assert!(check_csrf(&policy, &key, "ses_2", &ok).is_err());
        assert!(check_csrf(&policy, &key, "ses_1", &headers(&[("host", "h")])).is_err());
        let cross = headers(&[
            ("host", "h"),
            ("origin", "https://evil.example"),
            ("x-csrf-token", &token),
        ]);
        assert!(check_csrf(&policy, &key, "ses_1", &cross).is_err());
        // Behind a proxy that rewrites Host, the public origin still counts as same-site.
        let proxied = headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "https://ops.example.com"),
            ("x-csrf-token", &token),
        ]);
        assert!(check_csrf(&policy, &key, "ses_1", &proxied).is_ok());
    }
}
