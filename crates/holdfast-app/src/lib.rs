//! Holdfast's application layer: what more than one entry point (an API slice, a console page,
//! a job, the command line) uses, with no knowledge of HTTP. The sending choke point
//! (`outreach`), outbound HTTP (`outbound`), publishing events (`events`), the job worker and
//! every job kind (`worker`; a job's outcome is `jobs`), key generations and their rotation
//! (`keys`), the content-addressed file store (`attachments`), and per feature area: `identity` (sign-in verification, the second
//! factor, passwords, the OpenID provider client), `access` (the rule for handing out roles),
//! `crm` (consent changes, contact import), `helpdesk` (email to ticket, saved replies),
//! `field_service` (jobs), `invoicing` (invoices, credit notes, payments recorded by hand),
//! `privacy` (export, erasure, retention) and `webhooks` (delivery, inbound handling).
//!
//! Layers: `holdfast-http` → `holdfast-app` → `holdfast-store` → `holdfast-core`. Errors are
//! `holdfast_core::error::ApiError` (a code and a helpful detail), which the HTTP layer renders
//! as problem+json.

pub mod access;
pub mod attachments;
pub mod audit;
pub mod backup;
pub mod crm;
pub mod events;
pub mod field_service;
pub mod helpdesk;
pub mod idempotency;
pub mod identity;
pub mod invoicing;
pub mod jobs;
pub mod keys;
pub mod metrics;
pub mod outbound;
pub mod outreach;
pub mod portal;
pub mod privacy;
pub mod public_links;
pub mod webhooks;
pub mod worker;

use holdfast_core::clock::SharedClock;
use holdfast_core::crm::consent::LinkKey;
use holdfast_core::crypto::Sealer;
use holdfast_core::error::ApiError;
use holdfast_core::helpdesk::widget::FormKey;
use holdfast_core::identity::csrf::CsrfKey;
use holdfast_core::identity::jwt::KeyRing;
use holdfast_core::ops::config::Config;
use holdfast_store::Db;
use identity::oidc::OidcProvider;
use identity::passwords::PasswordPool;
use std::sync::Arc;

/// An application operation's result: on failure, a code and a detail for whoever asked.
pub type AppResult<T> = Result<T, ApiError>;

/// What every application operation can reach: the database, configuration, clock, keys and
/// the outbound clients. Built once at start; cheap to clone.
#[derive(Clone)]
pub struct App {
    pub db: Db,
    pub config: Arc<Config>,
    pub clock: SharedClock,
    /// Counters and histograms for `/metrics` (requests, jobs, refusals).
    pub metrics: Arc<metrics::Metrics>,
    /// Access-token signing keys by generation (`keys`: kept in the database, rotated by
    /// `holdfast keys rotate-tokens`).
    pub keys: Arc<KeyRing>,
    pub passwords: PasswordPool,
    /// The mail transport, usable only through `outreach` (the consent choke point).
    transport: Arc<outreach::Transport>,
    /// Signs preference-center links (a token key, like `keys`).
    pub link_key: Arc<LinkKey>,
    /// Binds console CSRF tokens to their session (a token key, like `keys`).
    pub csrf_key: Arc<CsrfKey>,
    /// Signs the website widget's form tokens (a token key, like `keys`).
    pub form_key: Arc<FormKey>,
    /// Seals secrets at rest (TOTP secrets, webhook and inbound secrets, the widget's, the
    /// token keys) under the master key generations this process holds.
    pub sealer: Arc<Sealer>,
    /// The master keys this process holds, by generation (see `keys`).
    held: Arc<keys::Held>,
    /// The OpenID provider, when single sign-on is configured.
    pub oidc: Option<Arc<OidcProvider>>,
    /// Webhook deliveries and the check of a webhook URL when it is saved: the safe outbound
    /// client with the operator's allowlist (`outbound_allow`).
    pub webhook_client: outbound::SafeClient,
}

impl App {
    /// The application on `db` with `master_key`: the key generations are read from the
    /// database (recorded on the first start), and refused with what to do when the key is not
    /// this database's or a rotation retired it. A task keeps them current while it lives.
    pub async fn new(
        db: Db,
        config: Arc<Config>,
        clock: SharedClock,
        master_key: &[u8],
    ) -> Result<Self, String> {
        config.register_secrets();
        let transport = Arc::new(outreach::Transport::outbox(&db, &clock));
        let app = App {
            keys: Arc::new(KeyRing::derive(master_key, 1)),
            passwords: PasswordPool::default(),
            transport,
            link_key: Arc::new(LinkKey::derive(master_key)),
            csrf_key: Arc::new(CsrfKey::derive(master_key)),
            form_key: Arc::new(FormKey::derive(master_key)),
            sealer: Arc::new(Sealer::derive(master_key, 1)),
            held: Arc::default(),
            oidc: config
                .oidc
                .clone()
                .map(|settings| Arc::new(OidcProvider::new(settings, &config.outbound_allow))),
            webhook_client: webhooks::delivery::client(&config),
            metrics: Arc::new(metrics::Metrics::default()),
            db,
            clock,
            config,
        };
        keys::load(&app, master_key).await?;
        keys::spawn_refresher(&app);
        Ok(app)
    }

    /// Connects the configured SMTP relay (`smtp_url`); without it, mail stays in the local
    /// outbox.
    pub fn connect_mail(mut self) -> Result<Self, String> {
        self.transport = Arc::new(outreach::Transport::from_config(
            &self.config,
            &self.db,
            &self.clock,
        )?);
        Ok(self)
    }

    /// Starts hearing the realtime notices of every instance on the database (PostgreSQL
    /// `LISTEN`; nothing to do on SQLite), for the live event stream.
    pub async fn listen_for_notices(self) -> Result<Self, String> {
        self.db
            .listen_for_notices(&self.config.database_url)
            .await
            .map_err(|e| format!("could not listen for realtime notices: {e}"))?;
        Ok(self)
    }
}
