//! Where the address checks of `holdfast_core::netguard` meet the network: URL validation,
//! literal-address checks, and the DNS resolver reqwest connects through.

use super::OutboundError;
use holdfast_core::netguard::{self, Allowlist, Blocked};
use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// `host[:port]` of a URL: what errors and logs may name. Never the path (a Slack-style
/// webhook URL carries its secret there), the query or the user info.
pub(super) fn host_label(url: &Url) -> String {
    let host = url.host_str().unwrap_or("(no host)");
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

/// Parses with the WHATWG rules reqwest connects by (so `http://2130706433/` and
/// `http://0x7f.1/` are 127.0.0.1 here exactly as they would be on the wire) and refuses what
/// Holdfast never sends to.
pub(super) fn parse_url(text: &str) -> Result<Url, OutboundError> {
    let url = Url::parse(text.trim())
        .map_err(|_| OutboundError::InvalidUrl("it is not a valid absolute URL".into()))?;
    validate_url(&url)?;
    Ok(url)
}

pub(super) fn validate_url(url: &Url) -> Result<(), OutboundError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(OutboundError::InvalidUrl(
            "only http:// and https:// URLs are allowed".into(),
        ));
    }
    // Credentials in a URL end up in logs and screenshots; they belong in a header.
    if !url.username().is_empty() || url.password().is_some() {
        return Err(OutboundError::InvalidUrl(
            "the URL must not contain a user name or password".into(),
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(OutboundError::InvalidUrl("the URL has no host".into()));
    }
    Ok(())
}

/// The address of an IP-literal host (`127.0.0.1`, `[::1]`), which reqwest connects to without
/// asking the resolver; `None` for a domain name.
pub(super) fn literal(url: &Url) -> Option<IpAddr> {
    let host = url.host_str()?;
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.parse().ok()
}

/// Refuses an IP-literal host the allowlist does not permit. Domain names pass here; the
/// resolver checks what they resolve to.
pub(super) fn check_literal(url: &Url, allow: &Allowlist) -> Result<(), OutboundError> {
    match literal(url) {
        Some(ip) => netguard::check(ip, allow).map_err(|class| blocked(url, class)),
        None => Ok(()),
    }
}

pub(super) fn blocked(url: &Url, class: Blocked) -> OutboundError {
    OutboundError::Blocked {
        host: host_label(url),
        class,
    }
}

/// The resolver's refusal; found again in the reqwest error's source chain.
#[derive(Debug, thiserror::Error)]
#[error("every address of the host is refused ({0})")]
pub(super) struct Refused(pub(super) Blocked);

#[derive(Debug, thiserror::Error)]
#[error("the host name has no addresses")]
struct NoAddresses;

/// Resolves `host` and keeps only the addresses `netguard::check` lets through; the first
/// refusal's class when none remain.
pub(super) async fn resolve_checked(
    host: &str,
    allow: &Allowlist,
) -> Result<Vec<SocketAddr>, Box<dyn std::error::Error + Send + Sync>> {
    let found: Vec<SocketAddr> = tokio::net::lookup_host((host, 0)).await?.collect();
    let mut refused = None;
    let kept: Vec<SocketAddr> = found
        .into_iter()
        .filter(|a| match netguard::check(a.ip(), allow) {
            Ok(()) => true,
            Err(class) => {
                refused.get_or_insert(class);
                false
            }
        })
        .collect();
    match (kept.is_empty(), refused) {
        (false, _) => Ok(kept),
        (true, Some(class)) => Err(Box::new(Refused(class))),
        (true, None) => Err(Box::new(NoAddresses)),
    }
}

/// The only resolver the client uses: a name resolving to a refused address can be connected
/// to at none of them, so a DNS answer that changes between a check and the connection (DNS
/// rebinding) cannot slip a private address in.
pub(super) struct GuardedResolver {
    pub(super) allow: Arc<Allowlist>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow = Arc::clone(&self.allow);
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = resolve_checked(&host, &allow).await?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// The resolver's refusal, if that is what made `e` fail.
pub(super) fn refused_in(e: &(dyn std::error::Error + 'static)) -> Option<Blocked> {
    let mut current = Some(e);
    while let Some(err) = current {
        if let Some(Refused(class)) = err.downcast_ref::<Refused>() {
            return Some(*class);
        }
        current = err.source();
    }
    None
}
