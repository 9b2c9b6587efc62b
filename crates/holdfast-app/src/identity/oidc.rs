//! The OpenID provider, as Holdfast talks to it: discovery (cached an hour, its `issuer` must be
//! the configured one), the signing keys (cached an hour; a token naming an unknown `kid` makes
//! one refetch, at most once a second, so a key rotation is picked up at once and a flood of bogus
//! key ids cannot turn into a flood of fetches), the code exchange with PKCE and client
//! authentication, and ID-token verification (in `holdfast_core::identity::oidc`).
//! Threat note: docs/design/oidc.md.

use crate::outbound::{Limits, OutboundError, OutboundRequest, SafeClient};
use base64::Engine;
use holdfast_core::identity::oidc::{
    Expected, IdTokenError, Jwks, VerifiedIdentity, key_id, verify_id_token,
};
use holdfast_core::netguard::Allowlist;
use holdfast_core::ops::config::{OidcSettings, is_loopback_http};
use serde::Deserialize;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, RwLock};

/// The sealing context of a sign-in flow's PKCE verifier: bound to its flow.
pub fn verifier_context(flow_id: &str) -> String {
    format!("oidc:{flow_id}")
}

const CACHE_MS: i64 = 3600 * 1000;
const MIN_REFETCH_MS: i64 = 1000;
const MAX_BODY: usize = 256 * 1024;

#[derive(Debug, Clone, Deserialize)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SsoError {
    #[error("the identity provider is unavailable ({0}); try again shortly")]
    Provider(#[from] OutboundError),
    #[error("the identity provider's configuration is not valid: {0}")]
    Misconfigured(String),
    #[error("the identity provider did not accept the sign-in code; start again")]
    CodeRefused,
    #[error("{0}")]
    IdToken(#[from] IdTokenError),
}

struct Cached<T> {
    value: T,
    fetched_at: i64,
}

pub struct OidcProvider {
    pub settings: OidcSettings,
    http: SafeClient,
    discovery: RwLock<Option<Cached<Discovery>>>,
    jwks: RwLock<Option<Cached<Jwks>>>,
    /// One fetch at a time, so concurrent sign-ins after expiry fetch once.
    fetching: Mutex<()>,
}

#[derive(Deserialize)]
struct TokenResponse {
    id_token: String,
}

/// The addresses the provider's client may reach beyond public ones: the operator's
/// `outbound_allow`, plus the loopback address of a plain-http loopback issuer — the only http
/// issuer the configuration accepts, a test provider on this machine.
fn provider_allowlist(issuer: &str, outbound_allow: &[String]) -> Allowlist {
    let mut allow = Allowlist::parse(outbound_allow).unwrap_or_else(|e| {
        // Configuration validation refuses this at start; should it slip through, fail closed.
        tracing::error!(error = %e, "outbound_allow is invalid; ignoring it");
        Allowlist::default()
    });
    if is_loopback_http(issuer) {
        let v4 = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
        let loopback: &[IpAddr] = if issuer.starts_with("http://localhost:") {
            &[v4, v6]
        } else if issuer.starts_with("http://[::1]:") {
            &[v6]
        } else {
            &[v4]
        };
        for ip in loopback {
            allow.allow(*ip);
        }
    }
    allow
}

impl OidcProvider {
    pub fn new(settings: OidcSettings, outbound_allow: &[String]) -> OidcProvider {
        let allow = provider_allowlist(&settings.issuer, outbound_allow);
        let limits = Limits {
            total_timeout: Duration::from_secs(10),
            max_response_bytes: MAX_BODY,
            // A redirect would carry the code and verifier elsewhere; providers do not need one.
            max_redirects: 0,
            ..Limits::default()
        };
        OidcProvider {
            http: SafeClient::new(Arc::new(allow), limits),
            settings,
            discovery: RwLock::new(None),
            jwks: RwLock::new(None),
            fetching: Mutex::new(()),
        }
    }

    /// The provider's endpoints, from `<issuer>/.well-known/openid-configuration`.
    pub async fn discovery(&self, now_ms: i64) -> Result<Discovery, SsoError> {
        if let Some(c) = self.discovery.read().await.as_ref()
            && now_ms - c.fetched_at < CACHE_MS
        {
            return Ok(c.value.clone());
        }
        let _one = self.fetching.lock().await;
        if let Some(c) = self.discovery.read().await.as_ref()
            && now_ms - c.fetched_at < CACHE_MS
        {
            return Ok(c.value.clone());
        }
        let url = format!("{}/.well-known/openid-configuration", self.settings.issuer);
        let found: Discovery = self.http.get_json(&url).await?;
        if found.issuer != self.settings.issuer {
            return Err(SsoError::Misconfigured(format!(
                "discovery names the issuer '{}', not the configured '{}'",
                found.issuer, self.settings.issuer
            )));
        }
        let loopback = is_loopback_http(&self.settings.issuer);
        for endpoint in [
            &found.authorization_endpoint,
            &found.token_endpoint,
            &found.jwks_uri,
        ] {
            if !(endpoint.starts_with("https://") || (loopback && is_loopback_http(endpoint))) {
                return Err(SsoError::Misconfigured(format!(
                    "endpoint {endpoint} is not https"
                )));
            }
        }
        *self.discovery.write().await = Some(Cached {
            value: found.clone(),
            fetched_at: now_ms,
        });
        Ok(found)
    }

    /// The signing keys: cached, refetched when stale or when `kid` is not among them.
    async fn keys(&self, kid: Option<&str>, now_ms: i64) -> Result<Jwks, SsoError> {
        let usable = |c: &Cached<Jwks>| {
            now_ms - c.fetched_at < CACHE_MS
                && (kid.is_none_or(|k| c.value.has_kid(k))
                    || now_ms - c.fetched_at < MIN_REFETCH_MS)
        };
        if let Some(c) = self.jwks.read().await.as_ref()
            && usable(c)
        {
            return Ok(c.value.clone());
        }
        let discovery = self.discovery(now_ms).await?;
        let _one = self.fetching.lock().await;
        if let Some(c) = self.jwks.read().await.as_ref()
            && usable(c)
        {
            return Ok(c.value.clone());
        }
        let jwks: Jwks = self.http.get_json(&discovery.jwks_uri).await?;
        tracing::info!(keys = jwks.keys.len(), "identity provider keys fetched");
        *self.jwks.write().await = Some(Cached {
            value: jwks.clone(),
            fetched_at: now_ms,
        });
        Ok(jwks)
    }

    /// Where to send the browser: the authorization endpoint with our request.
    pub async fn authorize_url(
        &self,
        redirect_uri: &str,
        state: &str,
        nonce: &str,
        code_challenge: &str,
        now_ms: i64,
    ) -> Result<String, SsoError> {
        let d = self.discovery(now_ms).await?;
        let query = serde_urlencoded::to_string([
            ("response_type", "code"),
            ("client_id", self.settings.client_id.as_str()),
            ("redirect_uri", redirect_uri),
            ("scope", "openid email profile"),
            ("state", state),
            ("nonce", nonce),
            ("code_challenge", code_challenge),
            ("code_challenge_method", "S256"),
        ])
        .map_err(|e| SsoError::Misconfigured(e.to_string()))?;
        let joiner = if d.authorization_endpoint.contains('?') {
            '&'
        } else {
            '?'
        };
        Ok(format!("{}{joiner}{query}", d.authorization_endpoint))
    }

    /// Exchanges the authorization code (with the PKCE verifier) for the ID token.
    pub async fn exchange(
        &self,
        code: &str,
        verifier: &str,
        redirect_uri: &str,
        now_ms: i64,
    ) -> Result<String, SsoError> {
        let d = self.discovery(now_ms).await?;
        // RFC 6749 §2.3.1: the client id and secret are form-encoded inside Basic auth.
        let encode = |v: &str| {
            serde_urlencoded::to_string([("v", v)])
                .map(|s| s.trim_start_matches("v=").to_owned())
                .unwrap_or_default()
        };
        let credentials = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            encode(&self.settings.client_id),
            encode(self.settings.client_secret.expose())
        ));
        let form = serde_urlencoded::to_string([
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
        ])
        .map_err(|e| SsoError::Misconfigured(e.to_string()))?;
        let request = OutboundRequest::post(&d.token_endpoint, form.into_bytes())
            .header("authorization", format!("Basic {credentials}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json");
        match self.http.send_json::<TokenResponse>(request).await {
            Ok(t) => Ok(t.id_token),
            Err(OutboundError::Status { status, .. }) if (400..500).contains(&status) => {
                Err(SsoError::CodeRefused)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Verifies the ID token against the provider's current keys.
    pub async fn verify(
        &self,
        id_token: &str,
        nonce: &str,
        now_ms: i64,
    ) -> Result<VerifiedIdentity, SsoError> {
        let kid = key_id(id_token);
        let jwks = self.keys(kid.as_deref(), now_ms).await?;
        let expected = Expected {
            issuer: &self.settings.issuer,
            client_id: &self.settings.client_id,
            nonce,
            now_s: now_ms / 1000,
        };
        Ok(verify_id_token(id_token, &jwks, &expected)?)
    }
}

#[cfg(test)]
mod tests {
    use super::provider_allowlist;

    #[test]
    fn only_a_loopback_http_issuer_adds_its_own_loopback_address() {
        let ip = |s: &str| s.parse().unwrap();
        let test_provider = provider_allowlist("http://127.0.0.1:9000", &[]);
        assert!(test_provider.contains(ip("127.0.0.1")));
        assert!(!test_provider.contains(ip("127.0.0.2")));
        assert!(!test_provider.contains(ip("::1")));
        let localhost = provider_allowlist("http://localhost:9000", &[]);
        assert!(localhost.contains(ip("127.0.0.1")) && localhost.contains(ip("::1")));
        assert!(provider_allowlist("https://accounts.google.com", &[]).is_empty());
        let operator = provider_allowlist("https://idp.corp", &["10.0.0.0/8".to_owned()]);
        assert!(operator.contains(ip("10.1.2.3")) && !operator.contains(ip("127.0.0.1")));
    }
}
