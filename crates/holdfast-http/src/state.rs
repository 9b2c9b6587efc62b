//! `AppState`: what every handler and guard can reach (database, configuration, clock, rate
//! limiter, signing and sealing keys, the mail transport, metrics, the OpenAPI document), built
//! once at start.

use crate::cookies::CookiePolicy;
use crate::metrics::Metrics;
use crate::oidc::OidcProvider;
use crate::passwords::PasswordPool;
use crate::ratelimit::RateLimiter;
use holdfast_core::clock::SharedClock;
use holdfast_core::crypto::Sealer;
use holdfast_core::helpdesk::widget::FormKey;
use holdfast_core::identity::csrf::CsrfKey;
use holdfast_core::identity::jwt::KeyRing;
use holdfast_core::ops::config::Config;
use holdfast_store::Db;
use std::sync::Arc;

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub clock: SharedClock,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) limiter: Arc<RateLimiter>,
    /// Rendered once at start: the route table does not change while serving.
    pub(crate) openapi: Arc<String>,
    /// Access-token signing keys, derived from the master key.
    pub(crate) keys: Arc<KeyRing>,
    pub(crate) passwords: PasswordPool,
    /// The mail transport, usable only through `outreach` (the consent choke point).
    pub(crate) transport: Arc<crate::outreach::Transport>,
    /// Signs preference-center links (derived from the master key).
    pub(crate) link_key: Arc<holdfast_core::crm::consent::LinkKey>,
    /// Seals secrets at rest (TOTP secrets now; integration secrets later).
    pub(crate) sealer: Arc<Sealer>,
    /// Binds console CSRF tokens to their session.
    pub(crate) csrf: Arc<CsrfKey>,
    /// Signs the website widget's form tokens (minimum fill time).
    pub(crate) form_key: Arc<FormKey>,
    pub(crate) cookies: Arc<CookiePolicy>,
    /// The reverse proxies whose forwarding headers name the client (`trusted_proxies`).
    pub(crate) trusted_proxies: Arc<holdfast_core::client_addr::TrustedProxies>,
    /// The OpenID provider, when single sign-on is configured.
    pub(crate) oidc: Option<Arc<OidcProvider>>,
    /// Webhook deliveries and the check of a webhook URL when it is saved: the safe outbound
    /// client with the operator's allowlist (`outbound_allow`).
    pub(crate) webhook_client: crate::outbound::SafeClient,
    /// Turns true when the server begins to shut down: long-lived responses (the live event
    /// stream) end so that graceful shutdown does not wait on them.
    pub(crate) closing: Arc<tokio::sync::watch::Sender<bool>>,
}

impl AppState {
    /// Key generations of the access-token ring; raise to rotate (older tokens stay valid).
    pub const TOKEN_KEY_GENERATIONS: u32 = 1;

    pub fn new(db: Db, config: Arc<Config>, clock: SharedClock, master_key: &[u8]) -> Self {
        config.register_secrets();
        let openapi = serde_json::to_string(&crate::openapi::document()).unwrap_or_default();
        let transport = Arc::new(crate::outreach::Transport::outbox(&db, &clock));
        AppState {
            db,
            clock,
            metrics: Arc::new(Metrics::default()),
            limiter: Arc::new(RateLimiter::default()),
            openapi: Arc::new(openapi),
            keys: Arc::new(KeyRing::derive(master_key, Self::TOKEN_KEY_GENERATIONS)),
            passwords: PasswordPool::default(),
            transport,
            link_key: Arc::new(holdfast_core::crm::consent::LinkKey::derive(master_key)),
            sealer: Arc::new(Sealer::derive(master_key, 1)),
            csrf: Arc::new(CsrfKey::derive(master_key)),
            form_key: Arc::new(FormKey::derive(master_key)),
            cookies: Arc::new(CookiePolicy::for_public_url(&config.public_url)),
            // Validated when the configuration was resolved.
            trusted_proxies: Arc::new(
                holdfast_core::client_addr::TrustedProxies::parse(&config.trusted_proxies)
                    .unwrap_or_default(),
            ),
            oidc: config
                .oidc
                .clone()
                .map(|settings| Arc::new(OidcProvider::new(settings, &config.outbound_allow))),
            webhook_client: crate::webhooks::client(&config),
            closing: Arc::new(tokio::sync::watch::channel(false).0),
            config,
        }
    }

    /// Connects the configured outside services: the Redis rate-limit store (`redis_url`) and
    /// the SMTP relay (`smtp_url`); without them, limits and mail stay local.
    pub async fn connect_services(mut self) -> Result<Self, String> {
        if let Some(url) = &self.config.redis_url {
            self.limiter = Arc::new(RateLimiter::connect_redis(url).await?);
        }
        self.transport = Arc::new(crate::outreach::Transport::from_config(
            &self.config,
            &self.db,
            &self.clock,
        )?);
        Ok(self)
    }

    /// Starts hearing the realtime notices of every instance on the database (PostgreSQL
    /// `LISTEN`; nothing to do on SQLite), for the live event stream. Servers call it; a
    /// worker-only process does not need it.
    pub async fn listen_for_notices(self) -> Result<Self, String> {
        self.db
            .listen_for_notices(&self.config.database_url)
            .await
            .map_err(|e| format!("could not listen for realtime notices: {e}"))?;
        Ok(self)
    }

    /// Whether rate limits are shared through Redis.
    pub fn limits_are_shared(&self) -> bool {
        self.limiter.is_shared()
    }
}
