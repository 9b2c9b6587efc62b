//! `AppState`: what every handler and guard can reach — the application (`holdfast_app::App`:
//! database, configuration, clock, keys, outbound clients) plus what only HTTP needs (rate
//! limiter, console cookies, trusted proxies, the shutdown signal), built once at start.

use crate::cookies::CookiePolicy;
use crate::ratelimit::RateLimiter;
use holdfast_app::App;
use holdfast_core::access::modules::ModuleSet;
use holdfast_core::clock::SharedClock;
use holdfast_core::ops::config::Config;
use holdfast_store::Db;
use std::sync::Arc;

/// What every handler can reach. Cheap to clone. Dereferences to the [`App`], so handlers
/// read `state.db` and pass `&state` to application functions.
#[derive(Clone)]
pub struct AppState {
    app: App,
    pub(crate) limiter: Arc<RateLimiter>,
    pub(crate) cookies: Arc<CookiePolicy>,
    /// The reverse proxies whose forwarding headers name the client (`trusted_proxies`).
    pub(crate) trusted_proxies: Arc<holdfast_core::client_addr::TrustedProxies>,
    /// Turns true when the server begins to shut down: long-lived responses (the live event
    /// stream) end so that graceful shutdown does not wait on them.
    pub(crate) closing: Arc<tokio::sync::watch::Sender<bool>>,
    /// The OpenAPI document of the routes served, rendered once when the router is built.
    pub(crate) openapi: Arc<String>,
    /// The modules with routes: the only ones a workspace is offered.
    pub(crate) offered: ModuleSet,
}

impl std::ops::Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.app
    }
}

impl AppState {
    /// The state of an application on `db` with `master_key` (see [`App::new`]: refused when
    /// the key is not this database's or was retired).
    pub async fn new(
        db: Db,
        config: Arc<Config>,
        clock: SharedClock,
        master_key: &[u8],
    ) -> Result<Self, String> {
        let app = App::new(db, config.clone(), clock, master_key).await?;
        Ok(AppState {
            limiter: Arc::new(RateLimiter::default()),
            cookies: Arc::new(CookiePolicy::for_public_url(&config.public_url)),
            // Validated when the configuration was resolved.
            trusted_proxies: Arc::new(
                holdfast_core::client_addr::TrustedProxies::parse(&config.trusted_proxies)
                    .unwrap_or_default(),
            ),
            closing: Arc::new(tokio::sync::watch::channel(false).0),
            openapi: Arc::default(),
            offered: ModuleSet::of(&[]),
            app,
        })
    }

    /// This state with what is read off the route table being served.
    pub(crate) fn serving(mut self, openapi: String, offered: ModuleSet) -> Self {
        self.openapi = Arc::new(openapi);
        self.offered = offered;
        self
    }

    /// The application, for what runs outside requests (the job worker).
    pub fn app(&self) -> &App {
        &self.app
    }

    /// Connects the configured outside services: the Redis rate-limit store (`redis_url`) and
    /// the SMTP relay (`smtp_url`); without them, limits and mail stay local.
    pub async fn connect_services(mut self) -> Result<Self, String> {
        if let Some(url) = &self.app.config.redis_url {
            self.limiter = Arc::new(RateLimiter::connect_redis(url).await?);
        }
        self.app = self.app.connect_mail()?;
        Ok(self)
    }

    /// Starts hearing the realtime notices of every instance on the database (PostgreSQL
    /// `LISTEN`; nothing to do on SQLite), for the live event stream. Servers call it; a
    /// worker-only process does not need it.
    pub async fn listen_for_notices(mut self) -> Result<Self, String> {
        self.app = self.app.listen_for_notices().await?;
        Ok(self)
    }

    /// Whether rate limits are shared through Redis.
    pub fn limits_are_shared(&self) -> bool {
        self.limiter.is_shared()
    }
}
