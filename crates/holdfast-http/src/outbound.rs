//! Outbound HTTP, in one place: every request Holdfast makes to another server goes through a
//! client built here. It follows no redirects (a redirect could point anywhere, including the
//! internal network), has connect and total timeouts, names itself, speaks TLS through rustls
//! on aws-lc-rs with the webpki roots, and reads at most a bounded body.

use std::time::Duration;

/// Makes aws-lc-rs the process's TLS provider (Holdfast compiles no other), which the HTTP
/// client requires. Idempotent.
pub fn install_crypto_provider() {
    // Err only means a provider is installed already.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// A client for calls to operator-configured services (the OpenID provider).
pub fn client(timeout: Duration) -> reqwest::Client {
    install_crypto_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(5))
        .timeout(timeout)
        .user_agent(concat!("Holdfast/", env!("CARGO_PKG_VERSION")))
        .https_only(false)
        .build()
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "outbound HTTP client could not be configured; using defaults");
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default()
        })
}

#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    #[error("could not reach {0}")]
    Unreachable(String),
    #[error("{0} answered HTTP {1}")]
    Status(String, u16),
    #[error("{0} sent more than {1} bytes")]
    TooLarge(String, usize),
    #[error("{0} sent a body that is not the expected JSON")]
    BadJson(String),
}

/// Sends the request and reads a JSON body of at most `max_bytes` from a 2xx answer.
pub async fn json<T: serde::de::DeserializeOwned>(
    request: reqwest::RequestBuilder,
    what: &str,
    max_bytes: usize,
) -> Result<T, OutboundError> {
    let mut response = request.send().await.map_err(|e| {
        tracing::warn!(error = %e, target = what, "outbound request failed");
        OutboundError::Unreachable(what.to_owned())
    })?;
    let status = response.status();
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|_| OutboundError::Unreachable(what.to_owned()))?
    {
        if body.len() + chunk.len() > max_bytes {
            return Err(OutboundError::TooLarge(what.to_owned(), max_bytes));
        }
        body.extend_from_slice(&chunk);
    }
    if !status.is_success() {
        tracing::warn!(
            status = status.as_u16(),
            target = what,
            body = %String::from_utf8_lossy(&body[..body.len().min(300)]),
            "outbound request refused"
        );
        return Err(OutboundError::Status(what.to_owned(), status.as_u16()));
    }
    serde_json::from_slice(&body).map_err(|_| OutboundError::BadJson(what.to_owned()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_client_builds_with_the_single_crypto_provider() {
        // Building configures rustls; with two providers compiled in this would panic.
        let _ = super::client(std::time::Duration::from_secs(1));
    }
}
