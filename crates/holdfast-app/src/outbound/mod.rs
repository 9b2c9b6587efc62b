//! Outbound HTTP, in one place: every request Holdfast makes to another server goes through a
//! [`SafeClient`]. It reaches only public addresses unless the operator's allowlist
//! (`outbound_allow`) permits one, checking IP literals before sending and what a name resolves
//! to at connection time (so DNS rebinding cannot bypass it) and again on every redirect it
//! follows itself; it has connect and total timeouts, reads a bounded body, names itself, and
//! speaks TLS through rustls on aws-lc-rs with the webpki roots.
//!
//! Threat: server-side request forgery — a URL a user saves (a webhook endpoint) or a provider
//! returns, pointing at this machine, the private network or the cloud metadata service. The
//! address rules live in `holdfast_core::netguard`. Logs and errors name the host only: URL
//! paths and queries, header values and bodies can carry secrets.

mod guard;
#[cfg(test)]
mod tests;

use holdfast_core::netguard::{Allowlist, Blocked};
use reqwest::Url;
use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

pub use reqwest::Method;

/// Makes aws-lc-rs the process's TLS provider (Holdfast compiles no other), which the HTTP
/// client requires. Idempotent.
/// `host[:port]` of a URL, for audit trails, mail and logs: never its path, query or user info
/// (some webhook URLs carry a secret in the path). `(invalid URL)` when it does not parse.
pub fn url_host(url: &str) -> String {
    guard::parse_url(url)
        .map(|u| guard::host_label(&u))
        .unwrap_or_else(|_| "(invalid URL)".to_owned())
}

pub fn install_crypto_provider() {
    // Err only means a provider is installed already.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// How long and how much.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Resolving the name and opening the connection, per hop.
    pub connect_timeout: Duration,
    /// The whole exchange: every hop, and reading the body.
    pub total_timeout: Duration,
    /// Body bytes kept; `send` discards the rest, `send_json` fails.
    pub max_response_bytes: usize,
    /// Redirects followed before giving up.
    pub max_redirects: usize,
    /// Follow only redirects that keep the method and body (307, 308); a 301, 302 or 303 is
    /// then the answer itself. Webhook deliveries set this: a POST turned into a body-less GET
    /// would otherwise count as delivered.
    pub keep_method: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            connect_timeout: Duration::from_secs(5),
            total_timeout: Duration::from_secs(15),
            max_response_bytes: 64 * 1024,
            max_redirects: 3,
            keep_method: false,
        }
    }
}

/// A request to send. Its `Debug` shows no header values, body or query.
#[derive(Clone)]
pub struct OutboundRequest {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl OutboundRequest {
    pub fn get(url: impl Into<String>) -> Self {
        OutboundRequest {
            method: Method::GET,
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn post(url: impl Into<String>, body: Vec<u8>) -> Self {
        OutboundRequest {
            method: Method::POST,
            body,
            ..OutboundRequest::get(url)
        }
    }

    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

impl std::fmt::Debug for OutboundRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let host = Url::parse(&self.url)
            .map(|u| guard::host_label(&u))
            .unwrap_or_else(|_| "(invalid URL)".into());
        f.debug_struct("OutboundRequest")
            .field("method", &self.method)
            .field("host", &host)
            .field(
                "headers",
                &self.headers.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// What came back. `body` holds at most `max_response_bytes`; `truncated` says the rest was
/// discarded. Its `Debug` shows no header values or body.
#[derive(Clone)]
pub struct OutboundResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub truncated: bool,
    pub elapsed: Duration,
    /// The URL that answered, after redirects.
    pub final_url: String,
}

impl OutboundResponse {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl std::fmt::Debug for OutboundResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboundResponse")
            .field("status", &self.status)
            .field(
                "headers",
                &self.headers.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field("body_len", &self.body.len())
            .field("truncated", &self.truncated)
            .field("elapsed", &self.elapsed)
            .finish()
    }
}

/// Why an outbound request failed. The texts can be shown to the workspace user: they name the
/// host (with its port), never a path, query, header value or body.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    #[error(
        "{host} is not allowed: it is {class}, and outbound requests go only to public addresses"
    )]
    Blocked { host: String, class: Blocked },
    #[error("the URL is not usable: {0}")]
    InvalidUrl(String),
    #[error("the request is not valid: {0}")]
    InvalidRequest(String),
    #[error("{host} did not answer in time")]
    Timeout { host: String },
    #[error("could not reach {host}")]
    Unreachable { host: String },
    #[error("{host} redirected more than {max} times")]
    TooManyRedirects { host: String, max: usize },
    #[error("{host} sent more than {max} bytes")]
    TooLarge { host: String, max: usize },
    #[error("{host} answered HTTP {status}")]
    Status { host: String, status: u16 },
    #[error("{host} sent a body that is not the expected JSON")]
    BadJson { host: String },
}

/// What to do with a body over the cap.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Overflow {
    Truncate,
    Fail,
}

/// The one way out. Cheap to clone (the connection pool is shared).
#[derive(Clone)]
pub struct SafeClient {
    /// `None` when the TLS stack could not be configured: then every request fails (closed).
    http: Option<reqwest::Client>,
    allow: Arc<Allowlist>,
    limits: Limits,
}

impl SafeClient {
    pub fn new(allow: Arc<Allowlist>, limits: Limits) -> SafeClient {
        install_crypto_provider();
        let http = reqwest::Client::builder()
            // Followed by `send`, which checks every hop.
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would resolve names itself, out of the guard's sight.
            .no_proxy()
            .dns_resolver(Arc::new(guard::GuardedResolver {
                allow: Arc::clone(&allow),
            }))
            .connect_timeout(limits.connect_timeout)
            .timeout(limits.total_timeout)
            .user_agent(concat!("Holdfast/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                tracing::error!(error = %e, "outbound HTTP client could not be configured; outbound requests will fail");
            })
            .ok();
        SafeClient {
            http,
            allow,
            limits,
        }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Checks a URL as `send` would before connecting: syntax, scheme, no credentials, and its
    /// address (an IP literal, or every address its name resolves to now, of which one must be
    /// allowed). For validating a URL when a user saves it; `send` checks again anyway.
    pub async fn check_url(&self, url: &str) -> Result<(), OutboundError> {
        let url = guard::parse_url(url)?;
        guard::check_literal(&url, &self.allow)?;
        if guard::literal(&url).is_some() {
            return Ok(());
        }
        let host = url.host_str().unwrap_or_default().to_owned();
        let lookup = guard::resolve_checked(&host, &self.allow);
        match tokio::time::timeout(self.limits.connect_timeout, lookup).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => match guard::refused_in(e.as_ref()) {
                Some(class) => Err(guard::blocked(&url, class)),
                None => Err(OutboundError::Unreachable {
                    host: guard::host_label(&url),
                }),
            },
            Err(_) => Err(OutboundError::Timeout {
                host: guard::host_label(&url),
            }),
        }
    }

    /// Sends the request, following up to `max_redirects` redirects (307/308 keep the method
    /// and body; 301/302/303 become a GET without one). Any status is an answer; a body over
    /// the cap is cut (`truncated`).
    pub async fn send(&self, request: OutboundRequest) -> Result<OutboundResponse, OutboundError> {
        self.execute(request, Overflow::Truncate).await
    }

    /// GETs a JSON document from a 2xx answer; a body over the cap is an error.
    pub async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
    ) -> Result<T, OutboundError> {
        self.send_json(OutboundRequest::get(url)).await
    }

    /// Sends the request and reads a JSON body from a 2xx answer; a body over the cap, another
    /// status or other content is an error.
    pub async fn send_json<T: serde::de::DeserializeOwned>(
        &self,
        request: OutboundRequest,
    ) -> Result<T, OutboundError> {
        let response = self.execute(request, Overflow::Fail).await?;
        let host = Url::parse(&response.final_url)
            .map(|u| guard::host_label(&u))
            .unwrap_or_default();
        if !(200..300).contains(&response.status) {
            // The operator needs the provider's reason (`invalid_client` …); a short prefix of a
            // refusal carries it, and error bodies do not echo credentials.
            let shown = &response.body[..response.body.len().min(300)];
            tracing::warn!(
                target_host = %host,
                status = response.status,
                body = %String::from_utf8_lossy(shown),
                "outbound request refused"
            );
            return Err(OutboundError::Status {
                host,
                status: response.status,
            });
        }
        serde_json::from_slice(&response.body).map_err(|_| OutboundError::BadJson { host })
    }

    async fn execute(
        &self,
        request: OutboundRequest,
        overflow: Overflow,
    ) -> Result<OutboundResponse, OutboundError> {
        let started = Instant::now();
        let url = guard::parse_url(&request.url)?;
        let host = guard::host_label(&url);
        let method = request.method.clone();
        let exchange = self.exchange(request, url, overflow, started);
        let result = match tokio::time::timeout(self.limits.total_timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(OutboundError::Timeout { host: host.clone() }),
        };
        match &result {
            Ok(r) => tracing::debug!(
                %method,
                target_host = %host,
                status = r.status,
                elapsed_ms = r.elapsed.as_millis() as u64,
                "outbound request"
            ),
            Err(e) => {
                tracing::warn!(%method, target_host = %host, error = %e, "outbound request failed")
            }
        }
        result
    }

    async fn exchange(
        &self,
        request: OutboundRequest,
        mut url: Url,
        overflow: Overflow,
        started: Instant,
    ) -> Result<OutboundResponse, OutboundError> {
        let Some(http) = &self.http else {
            return Err(OutboundError::Unreachable {
                host: guard::host_label(&url),
            });
        };
        let mut headers = header_map(&request.headers)?;
        let mut method = request.method;
        let mut body = request.body;
        let mut redirects = 0;
        let mut response = loop {
            guard::check_literal(&url, &self.allow)?;
            let mut builder = http
                .request(method.clone(), url.clone())
                .headers(headers.clone());
            if !body.is_empty() {
                builder = builder.body(body.clone());
            }
            let response = builder.send().await.map_err(|e| self.send_error(e, &url))?;
            let status = response.status().as_u16();
            let Some(next) = self.redirect_target(&response, &url, &mut redirects)? else {
                break response;
            };
            carry_over_redirect(&url, &next, status, &mut method, &mut body, &mut headers);
            url = next;
        };
        let status = response.status().as_u16();
        let response_headers = response
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let (kept, truncated) = self.read_body(&mut response, &url, overflow).await?;
        Ok(OutboundResponse {
            status,
            headers: response_headers,
            body: kept,
            truncated,
            elapsed: started.elapsed(),
            final_url: url.to_string(),
        })
    }

    /// Where a response redirects to, when it is a redirect to follow (within the limits, to a
    /// URL that passes the checks); `None` when it is the answer itself.
    fn redirect_target(
        &self,
        response: &reqwest::Response,
        url: &Url,
        redirects: &mut usize,
    ) -> Result<Option<Url>, OutboundError> {
        let status = response.status().as_u16();
        let follow = if self.limits.keep_method {
            matches!(status, 307 | 308)
        } else {
            matches!(status, 301 | 302 | 303 | 307 | 308)
        };
        if !follow {
            return Ok(None);
        }
        let Some(location) = response.headers().get(header::LOCATION) else {
            return Ok(None);
        };
        if *redirects >= self.limits.max_redirects {
            return Err(OutboundError::TooManyRedirects {
                host: guard::host_label(url),
                max: self.limits.max_redirects,
            });
        }
        *redirects += 1;
        let next = location
            .to_str()
            .ok()
            .and_then(|l| url.join(l).ok())
            .ok_or_else(|| {
                OutboundError::InvalidUrl("the server redirected to an invalid URL".into())
            })?;
        guard::validate_url(&next)?;
        Ok(Some(next))
    }

    /// The response body up to the size cap; past it, cut short or an error, as `overflow` says.
    async fn read_body(
        &self,
        response: &mut reqwest::Response,
        url: &Url,
        overflow: Overflow,
    ) -> Result<(Vec<u8>, bool), OutboundError> {
        let cap = self.limits.max_response_bytes;
        let mut kept = Vec::new();
        let mut truncated = false;
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.send_error(e, url))?
        {
            let room = cap - kept.len();
            if chunk.len() > room {
                if overflow == Overflow::Fail {
                    return Err(OutboundError::TooLarge {
                        host: guard::host_label(url),
                        max: cap,
                    });
                }
                kept.extend_from_slice(&chunk[..room]);
                // Dropping the response closes the connection; the rest is never read.
                truncated = true;
                break;
            }
            kept.extend_from_slice(&chunk);
        }
        Ok((kept, truncated))
    }

    fn send_error(&self, e: reqwest::Error, url: &Url) -> OutboundError {
        if let Some(class) = guard::refused_in(&e) {
            return guard::blocked(url, class);
        }
        let host = guard::host_label(url);
        // Without the URL: reqwest would print it whole, query included.
        let e = e.without_url();
        tracing::debug!(target_host = %host, error = %error_chain(&e), "outbound transport error");
        if e.is_timeout() {
            OutboundError::Timeout { host }
        } else {
            OutboundError::Unreachable { host }
        }
    }
}

/// What of a request follows a redirect from `url` to `next`: credentials only to the same
/// origin; the method and body only through 307 and 308 (a 301, 302 or 303 turns it into a GET,
/// HEAD excepted).
fn carry_over_redirect(
    url: &Url,
    next: &Url,
    status: u16,
    method: &mut Method,
    body: &mut Vec<u8>,
    headers: &mut HeaderMap,
) {
    if next.origin() != url.origin() {
        // Credentials meant for one origin must not follow a redirect to another.
        for name in [
            header::AUTHORIZATION,
            header::COOKIE,
            header::PROXY_AUTHORIZATION,
        ] {
            headers.remove(name);
        }
    }
    if (301..=303).contains(&status) && *method != Method::HEAD {
        *method = Method::GET;
        *body = Vec::new();
        for name in [
            header::CONTENT_TYPE,
            header::CONTENT_LENGTH,
            header::CONTENT_ENCODING,
            header::TRANSFER_ENCODING,
        ] {
            headers.remove(name);
        }
    }
}

/// The error and its sources on one line.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Header values are marked sensitive, so no `Debug` below this prints them.
fn header_map(headers: &[(String, String)]) -> Result<HeaderMap, OutboundError> {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            OutboundError::InvalidRequest(format!("'{name}' is not a valid header name"))
        })?;
        let mut value = HeaderValue::from_str(value).map_err(|_| {
            OutboundError::InvalidRequest(format!("the value of header '{name}' is not valid"))
        })?;
        value.set_sensitive(true);
        map.append(name, value);
    }
    Ok(map)
}
