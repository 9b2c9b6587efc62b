//! Typed configuration, layered defaults → TOML file → `HOLDFAST_*` environment → flags, and
//! validated once at start. An invalid value fails with one line naming the setting.

use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};

/// One layer of settings; every field optional. The TOML file and the command line (flags with
/// their `HOLDFAST_*` variables) each produce one.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    pub bind: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub master_key_file: Option<PathBuf>,
    pub database_url: Option<String>,
    pub log_format: Option<String>,
    pub log_level: Option<String>,
    pub hsts: Option<bool>,
    pub cors_allowed_origins: Option<Vec<String>>,
    pub body_limit_bytes: Option<usize>,
    pub request_timeout_ms: Option<u64>,
    pub security_contact: Option<String>,
    pub db_max_connections: Option<u32>,
    pub public_rate_limit_per_minute: Option<u32>,
    pub auth_rate_limit_per_minute: Option<u32>,
    pub api_rate_limit_per_minute: Option<u32>,
    pub redis_url: Option<String>,
    pub smtp_url: Option<String>,
    pub mail_from: Option<String>,
    pub public_url: Option<String>,
    pub oidc_issuer: Option<String>,
    pub oidc_client_id: Option<String>,
    pub oidc_client_secret: Option<String>,
    pub outbound_allow: Option<Vec<String>>,
    pub trusted_proxies: Option<Vec<String>>,
    pub worker: Option<bool>,
    pub webhook_disable_after_hours: Option<u32>,
    pub cron_secret: Option<String>,
    pub job_lease_seconds: Option<u32>,
    pub widget_min_fill_seconds: Option<u32>,
    pub widget_rate_limit_per_ip: Option<u32>,
    pub widget_rate_limit_per_key: Option<u32>,
    pub widget_visitor_idle_days: Option<u32>,
    pub metrics_token: Option<String>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub acme_domain: Option<Vec<String>>,
    pub acme_contact: Option<String>,
    pub acme_directory: Option<String>,
    pub acme_directory_ca: Option<PathBuf>,
    pub hsts_preload: Option<bool>,
    pub redirect_http: Option<String>,
    pub backup_recipients: Option<Vec<String>>,
    pub backup_dir: Option<PathBuf>,
    pub backup_hour_utc: Option<u32>,
    pub backup_keep_daily: Option<u32>,
    pub backup_keep_weekly: Option<u32>,
    pub payments_api_base: Option<String>,
    pub billing_mode: Option<String>,
    pub billing_webhook_secret: Option<String>,
    pub billing_grace_days: Option<u32>,
    pub billing_checkout_url: Option<String>,
}

impl Layer {
    /// Fields set in `over` win.
    pub fn overlay(self, over: Layer) -> Layer {
        Layer {
            bind: over.bind.or(self.bind),
            data_dir: over.data_dir.or(self.data_dir),
            master_key_file: over.master_key_file.or(self.master_key_file),
            database_url: over.database_url.or(self.database_url),
            log_format: over.log_format.or(self.log_format),
            log_level: over.log_level.or(self.log_level),
            hsts: over.hsts.or(self.hsts),
            cors_allowed_origins: over.cors_allowed_origins.or(self.cors_allowed_origins),
            body_limit_bytes: over.body_limit_bytes.or(self.body_limit_bytes),
            request_timeout_ms: over.request_timeout_ms.or(self.request_timeout_ms),
            security_contact: over.security_contact.or(self.security_contact),
            db_max_connections: over.db_max_connections.or(self.db_max_connections),
            public_rate_limit_per_minute: over
                .public_rate_limit_per_minute
                .or(self.public_rate_limit_per_minute),
            auth_rate_limit_per_minute: over
                .auth_rate_limit_per_minute
                .or(self.auth_rate_limit_per_minute),
            api_rate_limit_per_minute: over
                .api_rate_limit_per_minute
                .or(self.api_rate_limit_per_minute),
            redis_url: over.redis_url.or(self.redis_url),
            smtp_url: over.smtp_url.or(self.smtp_url),
            mail_from: over.mail_from.or(self.mail_from),
            public_url: over.public_url.or(self.public_url),
            oidc_issuer: over.oidc_issuer.or(self.oidc_issuer),
            oidc_client_id: over.oidc_client_id.or(self.oidc_client_id),
            oidc_client_secret: over.oidc_client_secret.or(self.oidc_client_secret),
            outbound_allow: over.outbound_allow.or(self.outbound_allow),
            trusted_proxies: over.trusted_proxies.or(self.trusted_proxies),
            worker: over.worker.or(self.worker),
            webhook_disable_after_hours: over
                .webhook_disable_after_hours
                .or(self.webhook_disable_after_hours),
            cron_secret: over.cron_secret.or(self.cron_secret),
            job_lease_seconds: over.job_lease_seconds.or(self.job_lease_seconds),
            widget_min_fill_seconds: over
                .widget_min_fill_seconds
                .or(self.widget_min_fill_seconds),
            widget_rate_limit_per_ip: over
                .widget_rate_limit_per_ip
                .or(self.widget_rate_limit_per_ip),
            widget_rate_limit_per_key: over
                .widget_rate_limit_per_key
                .or(self.widget_rate_limit_per_key),
            widget_visitor_idle_days: over
                .widget_visitor_idle_days
                .or(self.widget_visitor_idle_days),
            metrics_token: over.metrics_token.or(self.metrics_token),
            tls_cert: over.tls_cert.or(self.tls_cert),
            tls_key: over.tls_key.or(self.tls_key),
            acme_domain: over.acme_domain.or(self.acme_domain),
            acme_contact: over.acme_contact.or(self.acme_contact),
            acme_directory: over.acme_directory.or(self.acme_directory),
            acme_directory_ca: over.acme_directory_ca.or(self.acme_directory_ca),
            hsts_preload: over.hsts_preload.or(self.hsts_preload),
            redirect_http: over.redirect_http.or(self.redirect_http),
            backup_recipients: over.backup_recipients.or(self.backup_recipients),
            backup_dir: over.backup_dir.or(self.backup_dir),
            backup_hour_utc: over.backup_hour_utc.or(self.backup_hour_utc),
            backup_keep_daily: over.backup_keep_daily.or(self.backup_keep_daily),
            backup_keep_weekly: over.backup_keep_weekly.or(self.backup_keep_weekly),
            payments_api_base: over.payments_api_base.or(self.payments_api_base),
            billing_mode: over.billing_mode.or(self.billing_mode),
            billing_webhook_secret: over.billing_webhook_secret.or(self.billing_webhook_secret),
            billing_grace_days: over.billing_grace_days.or(self.billing_grace_days),
            billing_checkout_url: over.billing_checkout_url.or(self.billing_checkout_url),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// The validated configuration the server runs with.
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    pub bind: SocketAddr,
    pub data_dir: PathBuf,
    /// The master key's file, when it is kept apart from the data dir (a systemd credential, a
    /// mounted secret); `<data_dir>/master.key` otherwise.
    pub master_key_file: Option<PathBuf>,
    /// Kept out of `Debug`/logs by the caller registering it as a secret.
    pub database_url: String,
    pub log_format: LogFormat,
    pub log_level: String,
    /// Send `Strict-Transport-Security` on answers that may have come over HTTPS: on by
    /// default when Holdfast serves TLS itself, off otherwise (turn it on behind a
    /// TLS-terminating proxy).
    pub hsts: bool,
    /// Add `preload` to the HSTS header (for the browsers' preload lists).
    pub hsts_preload: bool,
    /// HTTPS served by Holdfast itself, from certificate files or ACME; `None` is plain HTTP
    /// (alone, or behind a TLS-terminating proxy).
    pub tls: Option<TlsSettings>,
    /// A plain-HTTP listener that answers every request with 308 to the same host, path and
    /// query over HTTPS (only with `tls`).
    pub redirect_http: Option<SocketAddr>,
    pub cors_allowed_origins: Vec<String>,
    pub body_limit_bytes: usize,
    pub request_timeout_ms: u64,
    pub security_contact: String,
    pub db_max_connections: u32,
    pub public_rate_limit_per_minute: u32,
    pub auth_rate_limit_per_minute: u32,
    /// Per API key or signed-in user, on every authenticated route.
    pub api_rate_limit_per_minute: u32,
    /// When set, rate limits are kept in Redis and shared by every instance.
    pub redis_url: Option<String>,
    /// `smtp://host:25`, `smtp://user:pass@host:587?tls=required` (STARTTLS) or
    /// `smtps://user:pass@host:465`. Unset: mail goes to the local outbox in the database.
    pub smtp_url: Option<String>,
    pub mail_from: String,
    /// Where people reach this instance, for links in mail and sign-in redirects.
    pub public_url: String,
    /// OpenID Connect sign-in, when a client id is configured.
    pub oidc: Option<OidcSettings>,
    /// Private, loopback or link-local addresses (IPs or CIDR blocks) that outbound requests
    /// (webhooks, providers) may reach anyway; empty by default, so only public addresses.
    pub outbound_allow: Vec<String>,
    /// Reverse proxies (IPs or CIDR blocks) whose `Forwarded` / `X-Forwarded-For` /
    /// `X-Forwarded-Proto` headers name the client; empty by default, so the TCP peer is the
    /// client (see `client_addr`).
    pub trusted_proxies: Vec<String>,
    /// Run the job worker inside `holdfast serve` (default); off when separate
    /// `holdfast worker` processes do the work.
    pub worker: bool,
    /// Hours of continuous failure (every attempt failed since the first failure of the
    /// streak, no success in between) after which a webhook endpoint is disabled; a burst of
    /// failures never disables one.
    pub webhook_disable_after_hours: u32,
    /// Shared secret schedulers send in `X-Holdfast-Cron-Secret` to `/internal/cron/*`;
    /// those routes answer 404 while it is unset.
    #[serde(skip)]
    pub cron_secret: Option<Secret<String>>,
    /// How long a claimed job belongs to its worker; a worker that dies holds its jobs this
    /// long before another takes them over. Longer than the slowest job (a webhook delivery
    /// takes at most 15 s).
    pub job_lease_seconds: u32,
    /// The website widget refuses a message sent sooner than this after its form was served
    /// (a bot check; the form token carries the time).
    pub widget_min_fill_seconds: u32,
    /// Widget messages per minute from one client address, across every workspace's widget.
    pub widget_rate_limit_per_ip: u32,
    /// Widget messages per minute to one workspace's widget key, from all addresses.
    pub widget_rate_limit_per_key: u32,
    /// A widget visitor token unused for this many days no longer opens its conversation.
    pub widget_visitor_idle_days: u32,
    /// When set, `GET /metrics` answers only `Authorization: Bearer <metrics_token>`;
    /// unset, it is open (scrapers on a private network).
    #[serde(skip)]
    pub metrics_token: Option<Secret<String>>,
    /// Scheduled encrypted backups, when at least one recipient is configured.
    pub backup: Option<BackupSettings>,
    /// Where payment provider API calls go instead of each provider's own API (Stripe,
    /// Square, Mercado Pago): a provider's test double or a recording proxy. Unset in
    /// production. Calls still pass the outbound rules (`outbound_allow`).
    pub payments_api_base: Option<String>,
    /// The billing gate of a hosted instance: off (self-hosted, the default) never gates; with
    /// Stripe, each workspace's plan follows the operator's subscription events.
    pub billing: BillingSettings,
}

/// Whether this instance sells its workspaces subscriptions (a hosted operator) and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BillingMode {
    /// Self-hosted: no workspace is ever gated; the billing receiver answers 404.
    Off,
    /// The operator's Stripe account sells subscriptions; its signed events set each
    /// workspace's plan state at `POST /hooks/billing/stripe`.
    Stripe,
}

/// The billing gate's settings (`billing_*`).
#[derive(Debug, Clone, Serialize)]
pub struct BillingSettings {
    pub mode: BillingMode,
    /// The operator's Stripe endpoint secret (`whsec_…`) for the billing receiver; required
    /// with mode `stripe`.
    #[serde(skip)]
    pub webhook_secret: Option<Secret<String>>,
    /// Days a `past_due` workspace keeps writing before it turns read-only.
    pub grace_days: u32,
    /// Where an `incomplete` workspace's members are sent to pay (the operator's Stripe
    /// Payment Link or checkout page); `?client_reference_id=<workspace id>` is appended.
    /// Required with mode `stripe`.
    pub checkout_url: Option<String>,
}

/// The longest grace period a `past_due` workspace may be given.
pub const MAX_BILLING_GRACE_DAYS: u32 = 60;

/// The worker's daily backup: encrypted to `recipients` (age X25519 public keys), written to
/// `dir`, at `hour_utc`, keeping `keep_daily` daily and `keep_weekly` weekly (Monday) files.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BackupSettings {
    pub recipients: Vec<String>,
    pub dir: PathBuf,
    pub hour_utc: u32,
    pub keep_daily: u32,
    pub keep_weekly: u32,
}

/// The OpenID provider Holdfast signs users in with (Google unless another issuer is set).
#[derive(Debug, Clone, Serialize)]
pub struct OidcSettings {
    /// The issuer identifier; discovery is read from `<issuer>/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    #[serde(skip)]
    pub client_secret: Secret<String>,
}

/// Where the server's certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsSettings {
    /// PEM files, read at start and again on SIGHUP or when either file changes.
    Files { cert: PathBuf, key: PathBuf },
    /// Certificates ordered and renewed from an ACME directory (TLS-ALPN-01).
    Acme(AcmeSettings),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AcmeSettings {
    /// The names on the certificate; the first one is the public URL's host by default.
    pub domains: Vec<String>,
    /// `mailto:` address the ACME directory may write to about the account.
    pub contact: Option<String>,
    /// The directory URL (Let's Encrypt production unless set).
    pub directory: String,
    /// A PEM file of CA certificates trusted for the directory's own HTTPS, besides the public
    /// roots (a test directory such as pebble).
    pub directory_ca: Option<PathBuf>,
}

/// Let's Encrypt's production ACME directory, the default.
pub const LETS_ENCRYPT_PRODUCTION: &str = "https://acme-v02.api.letsencrypt.org/directory";
/// Let's Encrypt's staging directory: untrusted certificates, generous rate limits; for trying
/// a setup out.
pub const LETS_ENCRYPT_STAGING: &str = "https://acme-staging-v02.api.letsencrypt.org/directory";

/// Google, the OpenID provider used when only a client id and secret are configured.
pub const DEFAULT_OIDC_ISSUER: &str = "https://accounts.google.com";

/// Names the setting the way a user would set it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: {setting} (--{flag}, HOLDFAST_{env}): {message}")]
pub struct ConfigError {
    pub setting: &'static str,
    pub flag: &'static str,
    pub env: &'static str,
    pub message: String,
}

fn err(setting: &'static str, message: impl Into<String>) -> ConfigError {
    let flag = match setting {
        "bind" => "bind",
        "data_dir" => "data-dir",
        "master_key_file" => "master-key-file",
        "database_url" => "database-url",
        "log_format" => "log-format",
        "log_level" => "log-level",
        "cors_allowed_origins" => "cors-allowed-origins",
        "body_limit_bytes" => "body-limit-bytes",
        "request_timeout_ms" => "request-timeout-ms",
        "security_contact" => "security-contact",
        "db_max_connections" => "db-max-connections",
        "public_rate_limit_per_minute" => "public-rate-limit-per-minute",
        "auth_rate_limit_per_minute" => "auth-rate-limit-per-minute",
        "api_rate_limit_per_minute" => "api-rate-limit-per-minute",
        "redis_url" => "redis-url",
        "smtp_url" => "smtp-url",
        "mail_from" => "mail-from",
        "public_url" => "public-url",
        "oidc_issuer" => "oidc-issuer",
        "oidc_client_id" => "oidc-client-id",
        "oidc_client_secret" => "oidc-client-secret",
        "outbound_allow" => "outbound-allow",
        "trusted_proxies" => "trusted-proxies",
        "webhook_disable_after_hours" => "webhook-disable-after-hours",
        "cron_secret" => "cron-secret",
        "job_lease_seconds" => "job-lease-seconds",
        "widget_min_fill_seconds" => "widget-min-fill-seconds",
        "widget_rate_limit_per_ip" => "widget-rate-limit-per-ip",
        "widget_rate_limit_per_key" => "widget-rate-limit-per-key",
        "widget_visitor_idle_days" => "widget-visitor-idle-days",
        "metrics_token" => "metrics-token",
        "tls_cert" => "tls-cert",
        "tls_key" => "tls-key",
        "acme_domain" => "acme-domain",
        "acme_contact" => "acme-contact",
        "acme_directory" => "acme-directory",
        "acme_directory_ca" => "acme-directory-ca",
        "hsts_preload" => "hsts-preload",
        "redirect_http" => "redirect-http",
        "backup_recipients" => "backup-recipient",
        "backup_dir" => "backup-dir",
        "backup_hour_utc" => "backup-hour-utc",
        "backup_keep_daily" => "backup-keep-daily",
        "backup_keep_weekly" => "backup-keep-weekly",
        "payments_api_base" => "payments-api-base",
        "billing_mode" => "billing-mode",
        "billing_webhook_secret" => "billing-webhook-secret",
        "billing_grace_days" => "billing-grace-days",
        "billing_checkout_url" => "billing-checkout-url",
        other => other,
    };
    let env = match setting {
        "bind" => "BIND",
        "data_dir" => "DATA_DIR",
        "master_key_file" => "MASTER_KEY_FILE",
        "database_url" => "DATABASE_URL",
        "log_format" => "LOG_FORMAT",
        "log_level" => "LOG_LEVEL",
        "cors_allowed_origins" => "CORS_ALLOWED_ORIGINS",
        "body_limit_bytes" => "BODY_LIMIT_BYTES",
        "request_timeout_ms" => "REQUEST_TIMEOUT_MS",
        "security_contact" => "SECURITY_CONTACT",
        "db_max_connections" => "DB_MAX_CONNECTIONS",
        "public_rate_limit_per_minute" => "PUBLIC_RATE_LIMIT_PER_MINUTE",
        "auth_rate_limit_per_minute" => "AUTH_RATE_LIMIT_PER_MINUTE",
        "api_rate_limit_per_minute" => "API_RATE_LIMIT_PER_MINUTE",
        "redis_url" => "REDIS_URL",
        "smtp_url" => "SMTP_URL",
        "mail_from" => "MAIL_FROM",
        "public_url" => "PUBLIC_URL",
        "oidc_issuer" => "OIDC_ISSUER",
        "oidc_client_id" => "OIDC_CLIENT_ID",
        "oidc_client_secret" => "OIDC_CLIENT_SECRET",
        "outbound_allow" => "OUTBOUND_ALLOW",
        "trusted_proxies" => "TRUSTED_PROXIES",
        "webhook_disable_after_hours" => "WEBHOOK_DISABLE_AFTER_HOURS",
        "cron_secret" => "CRON_SECRET",
        "job_lease_seconds" => "JOB_LEASE_SECONDS",
        "widget_min_fill_seconds" => "WIDGET_MIN_FILL_SECONDS",
        "widget_rate_limit_per_ip" => "WIDGET_RATE_LIMIT_PER_IP",
        "widget_rate_limit_per_key" => "WIDGET_RATE_LIMIT_PER_KEY",
        "widget_visitor_idle_days" => "WIDGET_VISITOR_IDLE_DAYS",
        "metrics_token" => "METRICS_TOKEN",
        "tls_cert" => "TLS_CERT",
        "tls_key" => "TLS_KEY",
        "acme_domain" => "ACME_DOMAIN",
        "acme_contact" => "ACME_CONTACT",
        "acme_directory" => "ACME_DIRECTORY",
        "acme_directory_ca" => "ACME_DIRECTORY_CA",
        "hsts" => "HSTS",
        "hsts_preload" => "HSTS_PRELOAD",
        "redirect_http" => "REDIRECT_HTTP",
        "backup_recipients" => "BACKUP_RECIPIENTS",
        "backup_dir" => "BACKUP_DIR",
        "backup_hour_utc" => "BACKUP_HOUR_UTC",
        "backup_keep_daily" => "BACKUP_KEEP_DAILY",
        "backup_keep_weekly" => "BACKUP_KEEP_WEEKLY",
        "payments_api_base" => "PAYMENTS_API_BASE",
        "billing_mode" => "BILLING_MODE",
        "billing_webhook_secret" => "BILLING_WEBHOOK_SECRET",
        "billing_grace_days" => "BILLING_GRACE_DAYS",
        "billing_checkout_url" => "BILLING_CHECKOUT_URL",
        _ => "?",
    };
    ConfigError {
        setting,
        flag,
        env,
        message: message.into(),
    }
}

/// Recovery reaches 30 days back, so the longest failing period leaves two weeks to notice.
pub const MAX_WEBHOOK_DISABLE_AFTER_HOURS: u32 = 14 * 24;

/// Settings earlier versions read and this one does not, with what replaced them: a file or
/// variable that still names one stops the start with that guidance instead of a bare
/// "unknown field" (or, for a variable, being silently ignored).
pub const REMOVED_SETTINGS: &[(&str, &str)] = &[(
    "webhook_failure_limit",
    "removed: a burst of failed deliveries no longer disables an endpoint; set \
     webhook_disable_after_hours (--webhook-disable-after-hours, \
     HOLDFAST_WEBHOOK_DISABLE_AFTER_HOURS) to how long every attempt must fail instead",
)];

/// The first removed setting among `names` (TOML keys or `HOLDFAST_*` variable names), as the
/// one line to print.
pub fn removed_setting<'a>(names: impl IntoIterator<Item = &'a str>) -> Option<String> {
    names.into_iter().find_map(|name| {
        let key = name
            .strip_prefix("HOLDFAST_")
            .map(str::to_ascii_lowercase)
            .unwrap_or_else(|| name.to_owned());
        REMOVED_SETTINGS
            .iter()
            .find(|(removed, _)| *removed == key)
            .map(|(removed, why)| format!("invalid configuration: {removed} ({name}): {why}"))
    })
}

pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_DATA_DIR: &str = "./holdfast-data";

impl Config {
    pub fn defaults() -> Layer {
        Layer {
            bind: Some(DEFAULT_BIND.into()),
            data_dir: Some(PathBuf::from(DEFAULT_DATA_DIR)),
            master_key_file: None,
            database_url: None,
            log_format: Some("text".into()),
            log_level: Some("info".into()),
            // Decided by whether TLS is on (see `Config::hsts`).
            hsts: None,
            cors_allowed_origins: Some(Vec::new()),
            body_limit_bytes: Some(1024 * 1024),
            request_timeout_ms: Some(30_000),
            security_contact: Some("mailto:security@localhost".into()),
            db_max_connections: Some(16),
            public_rate_limit_per_minute: Some(600),
            auth_rate_limit_per_minute: Some(300),
            api_rate_limit_per_minute: Some(1800),
            redis_url: None,
            smtp_url: None,
            mail_from: Some("Holdfast <holdfast@localhost>".into()),
            public_url: None,
            oidc_issuer: Some(DEFAULT_OIDC_ISSUER.into()),
            oidc_client_id: None,
            oidc_client_secret: None,
            outbound_allow: Some(Vec::new()),
            trusted_proxies: Some(Vec::new()),
            worker: Some(true),
            webhook_disable_after_hours: Some(120),
            cron_secret: None,
            job_lease_seconds: Some(60),
            widget_min_fill_seconds: Some(3),
            widget_rate_limit_per_ip: Some(10),
            widget_rate_limit_per_key: Some(120),
            widget_visitor_idle_days: Some(30),
            metrics_token: None,
            tls_cert: None,
            tls_key: None,
            acme_domain: Some(Vec::new()),
            acme_contact: None,
            acme_directory: None,
            acme_directory_ca: None,
            hsts_preload: Some(false),
            redirect_http: None,
            backup_recipients: Some(Vec::new()),
            backup_dir: None,
            backup_hour_utc: Some(3),
            backup_keep_daily: Some(14),
            backup_keep_weekly: Some(8),
            payments_api_base: None,
            billing_mode: Some("off".into()),
            billing_webhook_secret: None,
            billing_grace_days: Some(7),
            billing_checkout_url: None,
        }
    }

    /// Resolves the layers (later wins) into a validated configuration.
    pub fn resolve(layers: impl IntoIterator<Item = Layer>) -> Result<Config, ConfigError> {
        let l = layers
            .into_iter()
            .fold(Self::defaults(), |acc, layer| acc.overlay(layer));
        let bind = bind_address(l.bind.unwrap_or_default())?;
        let data_dir = l.data_dir.unwrap_or_default();
        if data_dir.as_os_str().is_empty() {
            return Err(err("data_dir", "must not be empty"));
        }
        let database_url = database_url(l.database_url, &data_dir)?;
        let tls = tls_settings(
            l.tls_cert,
            l.tls_key,
            l.acme_domain.unwrap_or_default(),
            l.acme_contact,
            l.acme_directory,
            l.acme_directory_ca,
        )?;
        let hsts = l.hsts.unwrap_or(tls.is_some());
        let hsts_preload = l.hsts_preload.unwrap_or(false);
        if hsts_preload && !hsts {
            return Err(err(
                "hsts_preload",
                "needs HSTS on (it is on by default with TLS; behind a proxy set hsts = true)",
            ));
        }
        let redirect_http = redirect_http(l.redirect_http, tls.is_some(), bind)?;
        let default_public_url = match &tls {
            None => format!("http://{bind}"),
            Some(TlsSettings::Files { .. }) => format!("https://{bind}"),
            Some(TlsSettings::Acme(acme)) => {
                format!(
                    "https://{}",
                    acme.domains.first().map_or("", String::as_str)
                )
            }
        };
        // Fields are checked in the order written: the first invalid setting is the one named.
        Ok(Config {
            bind,
            data_dir: data_dir.clone(),
            master_key_file: match l.master_key_file {
                Some(path) if path.as_os_str().is_empty() => {
                    return Err(err("master_key_file", "must not be empty when given"));
                }
                other => other,
            },
            database_url,
            log_format: log_format(l.log_format.as_deref())?,
            log_level: log_level(l.log_level)?,
            hsts,
            hsts_preload,
            tls,
            redirect_http,
            cors_allowed_origins: cors_allowed_origins(l.cors_allowed_origins.unwrap_or_default())?,
            body_limit_bytes: between(
                "body_limit_bytes",
                l.body_limit_bytes.unwrap_or(0),
                1024..=64 * 1024 * 1024,
            )?,
            request_timeout_ms: between(
                "request_timeout_ms",
                l.request_timeout_ms.unwrap_or(0),
                100..=600_000,
            )?,
            security_contact: security_contact(l.security_contact.unwrap_or_default())?,
            db_max_connections: between(
                "db_max_connections",
                l.db_max_connections.unwrap_or(0),
                1..=1000,
            )?,
            public_rate_limit_per_minute: at_least_one(
                "public_rate_limit_per_minute",
                l.public_rate_limit_per_minute,
            )?,
            auth_rate_limit_per_minute: at_least_one(
                "auth_rate_limit_per_minute",
                l.auth_rate_limit_per_minute,
            )?,
            api_rate_limit_per_minute: at_least_one(
                "api_rate_limit_per_minute",
                l.api_rate_limit_per_minute,
            )?,
            redis_url: service_url("redis_url", l.redis_url, ["redis://", "rediss://"])?,
            smtp_url: service_url("smtp_url", l.smtp_url, ["smtp://", "smtps://"])?,
            mail_from: mail_from(l.mail_from.unwrap_or_default())?,
            public_url: public_url(l.public_url, default_public_url)?,
            oidc: oidc_settings(
                l.oidc_issuer,
                l.oidc_client_id.filter(|v| !v.trim().is_empty()),
                l.oidc_client_secret.filter(|v| !v.trim().is_empty()),
            )?,
            outbound_allow: outbound_allow(l.outbound_allow.unwrap_or_default())?,
            trusted_proxies: trusted_proxies(l.trusted_proxies.unwrap_or_default())?,
            worker: l.worker.unwrap_or(true),
            webhook_disable_after_hours: webhook_disable_after_hours(
                l.webhook_disable_after_hours.unwrap_or(0),
            )?,
            cron_secret: long_secret("cron_secret", l.cron_secret)?,
            job_lease_seconds: between(
                "job_lease_seconds",
                l.job_lease_seconds.unwrap_or(0),
                2..=3600,
            )?,
            widget_min_fill_seconds: between(
                "widget_min_fill_seconds",
                l.widget_min_fill_seconds.unwrap_or(3),
                1..=600,
            )?,
            widget_rate_limit_per_ip: at_least_one(
                "widget_rate_limit_per_ip",
                l.widget_rate_limit_per_ip,
            )?,
            widget_rate_limit_per_key: at_least_one(
                "widget_rate_limit_per_key",
                l.widget_rate_limit_per_key,
            )?,
            widget_visitor_idle_days: between(
                "widget_visitor_idle_days",
                l.widget_visitor_idle_days.unwrap_or(0),
                1..=365,
            )?,
            metrics_token: long_secret("metrics_token", l.metrics_token)?,
            backup: backup_settings(
                l.backup_recipients.unwrap_or_default(),
                l.backup_dir,
                &data_dir,
                l.backup_hour_utc.unwrap_or(3),
                l.backup_keep_daily.unwrap_or(14),
                l.backup_keep_weekly.unwrap_or(8),
            )?,
            payments_api_base: payments_api_base(l.payments_api_base)?,
            billing: billing_settings(
                l.billing_mode,
                l.billing_webhook_secret,
                l.billing_grace_days.unwrap_or(7),
                l.billing_checkout_url,
            )?,
        })
    }

    /// The default configuration as a commented TOML file (`holdfast config print-default`).
    pub fn default_toml() -> String {
        let defaults = Self::defaults();
        let body = toml::to_string(&defaults).unwrap_or_default();
        format!(
            "# Holdfast configuration. Pass with --config FILE (or HOLDFAST_CONFIG).\n\
             # Every setting can also be given as a flag or a HOLDFAST_* variable, which win.\n\
             # database_url defaults to sqlite://<data_dir>/holdfast.db; use postgres://… for PostgreSQL.\n{body}"
        )
    }
}

/// Settings that hold a secret (or a URL that may carry a password). [`Config::secrets`]
/// yields each one's value; a unit test proves every setting whose name suggests a credential
/// is listed here, so a new secret setting cannot miss the log redactor.
pub const SECRET_SETTINGS: &[&str] = &[
    "database_url",
    "redis_url",
    "smtp_url",
    "oidc_client_secret",
    "cron_secret",
    "metrics_token",
    "billing_webhook_secret",
];

impl Config {
    /// Every secret value in this configuration, named by its setting: the one path by which
    /// they reach the log redactor ([`Config::register_secrets`]).
    pub fn secrets(&self) -> Vec<(&'static str, &str)> {
        let found: [(&'static str, Option<&str>); 7] = [
            ("database_url", url_password(&self.database_url)),
            (
                "redis_url",
                self.redis_url.as_deref().and_then(url_password),
            ),
            ("smtp_url", self.smtp_url.as_deref().and_then(url_password)),
            (
                "oidc_client_secret",
                self.oidc
                    .as_ref()
                    .map(|o| o.client_secret.expose().as_str()),
            ),
            ("cron_secret", exposed(&self.cron_secret)),
            ("metrics_token", exposed(&self.metrics_token)),
            (
                "billing_webhook_secret",
                exposed(&self.billing.webhook_secret),
            ),
        ];
        found
            .into_iter()
            .filter_map(|(name, value)| value.map(|v| (name, v)))
            .collect()
    }

    /// Registers every secret with the log redactor, before anything can log it. Called by
    /// every command that resolves a configuration and by the application state.
    pub fn register_secrets(&self) {
        for (_, value) in self.secrets() {
            crate::redact::register_secret(value);
            if let Some(decoded) = percent_decoded(value) {
                crate::redact::register_secret(&decoded);
            }
        }
    }
}

fn exposed(secret: &Option<Secret<String>>) -> Option<&str> {
    secret.as_ref().map(|s| s.expose().as_str())
}

/// The password in a URL's user information (`scheme://user:password@host`), as written.
fn url_password(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    // The authority ends at the first `/`; a password with a raw `/` (not percent-encoded)
    // still counts: then the last `@` of the whole URL ends the user information.
    let userinfo = match rest.split('/').next().and_then(|a| a.rsplit_once('@')) {
        Some((userinfo, _)) => userinfo,
        None => rest.rsplit_once('@')?.0,
    };
    userinfo
        .split_once(':')
        .map(|(_, p)| p)
        .filter(|p| !p.is_empty())
}

/// `%XX` escapes decoded (a client connects with, and may print, the decoded password).
fn percent_decoded(text: &str) -> Option<String> {
    if !text.contains('%') {
        return None;
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// `http://` to a loopback host with a numeric port and nothing smuggled after it: the only
/// plain-HTTP OpenID provider Holdfast talks to (a test provider on this machine).
pub fn is_loopback_http(url: &str) -> bool {
    ["http://127.0.0.1:", "http://localhost:", "http://[::1]:"]
        .iter()
        .filter_map(|p| url.strip_prefix(p))
        .any(|rest| {
            let port = rest.split('/').next().unwrap_or_default();
            !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit())
        })
}

/// Whether `bind` is an address:port to listen on.
fn bind_address(text: String) -> Result<SocketAddr, ConfigError> {
    text.parse().map_err(|_| {
        err(
            "bind",
            format!("'{text}' is not an address:port such as 127.0.0.1:8080"),
        )
    })
}

/// The database to open: the configured URL if it names SQLite or PostgreSQL, else SQLite in
/// the data directory.
fn database_url(url: Option<String>, data_dir: &Path) -> Result<String, ConfigError> {
    match url.filter(|u| !u.trim().is_empty()) {
        None => Ok(format!("sqlite://{}/holdfast.db", data_dir.display())),
        Some(url) => {
            if !(url.starts_with("sqlite:")
                || url.starts_with("postgres://")
                || url.starts_with("postgresql://"))
            {
                return Err(err(
                    "database_url",
                    "must start with sqlite:, postgres:// or postgresql://",
                ));
            }
            Ok(url)
        }
    }
}

/// The log line format: text unless `json` is asked for.
fn log_format(name: Option<&str>) -> Result<LogFormat, ConfigError> {
    match name {
        Some("text") | None => Ok(LogFormat::Text),
        Some("json") => Ok(LogFormat::Json),
        Some(other) => Err(err(
            "log_format",
            format!("'{other}' is not one of: text, json"),
        )),
    }
}

/// The log filter: `info` unless set, never blank.
fn log_level(level: Option<String>) -> Result<String, ConfigError> {
    let log_level = level.unwrap_or_else(|| "info".into());
    if log_level.trim().is_empty() {
        return Err(err("log_level", "must not be empty (e.g. info, debug)"));
    }
    Ok(log_level)
}

/// Whether every CORS entry is a bare origin (scheme and host, no path, no wildcard).
fn cors_allowed_origins(origins: Vec<String>) -> Result<Vec<String>, ConfigError> {
    for origin in &origins {
        let ok = (origin.starts_with("https://") || origin.starts_with("http://"))
            && !origin.ends_with('/')
            && !origin.contains('*')
            && origin
                .split("://")
                .nth(1)
                .is_some_and(|h| !h.is_empty() && !h.contains('/'));
        if !ok {
            return Err(err(
                "cors_allowed_origins",
                format!(
                    "'{origin}' is not an origin like https://app.example.com (scheme and host, no path, no wildcard)"
                ),
            ));
        }
    }
    Ok(origins)
}

/// Whether a numeric setting lies within its inclusive bounds.
fn between<T: PartialOrd + std::fmt::Display>(
    setting: &'static str,
    value: T,
    bounds: RangeInclusive<T>,
) -> Result<T, ConfigError> {
    if !bounds.contains(&value) {
        return Err(err(
            setting,
            format!("must be between {} and {}", bounds.start(), bounds.end()),
        ));
    }
    Ok(value)
}

/// Whether a per-minute budget is set to at least one (unset counts as zero).
/// The backup schedule, when recipients are set: each recipient must look like an age X25519
/// public key (`age1` and bech32 characters; the backup itself parses it fully).
fn backup_settings(
    recipients: Vec<String>,
    dir: Option<PathBuf>,
    data_dir: &Path,
    hour_utc: u32,
    keep_daily: u32,
    keep_weekly: u32,
) -> Result<Option<BackupSettings>, ConfigError> {
    let recipients: Vec<String> = recipients
        .into_iter()
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty())
        .collect();
    for r in &recipients {
        let bech32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
        let plausible =
            r.len() == 62 && r.starts_with("age1") && r[4..].chars().all(|c| bech32.contains(c));
        if !plausible {
            return Err(err(
                "backup_recipients",
                format!("'{r}' is not an age X25519 public key (age1…, 62 characters)"),
            ));
        }
    }
    let hour_utc = between("backup_hour_utc", hour_utc, 0..=23)?;
    let keep_daily = between("backup_keep_daily", keep_daily, 1..=3650)?;
    let keep_weekly = between("backup_keep_weekly", keep_weekly, 0..=520)?;
    if recipients.is_empty() {
        return Ok(None);
    }
    Ok(Some(BackupSettings {
        recipients,
        dir: dir.unwrap_or_else(|| data_dir.join("backups")),
        hour_utc,
        keep_daily,
        keep_weekly,
    }))
}

fn at_least_one(setting: &'static str, value: Option<u32>) -> Result<u32, ConfigError> {
    let value = value.unwrap_or(0);
    if value == 0 {
        return Err(err(setting, "must be at least 1"));
    }
    Ok(value)
}

/// Whether `security_contact` is a URI security.txt accepts (RFC 9116).
fn security_contact(contact: String) -> Result<String, ConfigError> {
    if !(contact.starts_with("mailto:") || contact.starts_with("https://")) {
        return Err(err(
            "security_contact",
            "must be a mailto: or https:// URI (RFC 9116)",
        ));
    }
    Ok(contact)
}

/// An optional service URL (blank is unset), which must use one of its two schemes.
fn service_url(
    setting: &'static str,
    url: Option<String>,
    [plain, tls]: [&str; 2],
) -> Result<Option<String>, ConfigError> {
    let url = url.filter(|u| !u.trim().is_empty());
    if let Some(url) = &url
        && !(url.starts_with(plain) || url.starts_with(tls))
    {
        return Err(err(setting, format!("must start with {plain} or {tls}")));
    }
    Ok(url)
}

/// An http(s) base URL without a trailing slash, or unset.
fn payments_api_base(url: Option<String>) -> Result<Option<String>, ConfigError> {
    let Some(url) = url.filter(|u| !u.trim().is_empty()) else {
        return Ok(None);
    };
    if !(url.starts_with("http://") || url.starts_with("https://")) || url.ends_with('/') {
        return Err(err(
            "payments_api_base",
            "must be like http://127.0.0.1:9000 (no trailing slash)",
        ));
    }
    Ok(Some(url))
}

/// The billing gate: `off` unless `stripe` is asked for; with Stripe, the operator's endpoint
/// secret (`whsec_…`) and an https checkout URL are required. A secret set while billing is
/// off is kept (and redacted) but unused.
fn billing_settings(
    mode: Option<String>,
    secret: Option<String>,
    grace_days: u32,
    checkout_url: Option<String>,
) -> Result<BillingSettings, ConfigError> {
    let mode = match mode.as_deref().map(str::trim) {
        None | Some("") | Some("off") => BillingMode::Off,
        Some("stripe") => BillingMode::Stripe,
        Some(other) => {
            return Err(err(
                "billing_mode",
                format!(
                    "'{}' is not one of: off, stripe",
                    other.chars().take(40).collect::<String>()
                ),
            ));
        }
    };
    let secret = secret.filter(|v| !v.trim().is_empty());
    if let Some(secret) = &secret {
        let plausible = secret.strip_prefix("whsec_").is_some_and(|rest| {
            rest.len() >= 16 && rest.bytes().all(|b| b.is_ascii_alphanumeric())
        });
        if !plausible {
            return Err(err(
                "billing_webhook_secret",
                "must be the Stripe endpoint's signing secret (whsec_ followed by letters and \
                 digits, from the endpoint's page in the Stripe dashboard)",
            ));
        }
    }
    let grace_days = between("billing_grace_days", grace_days, 0..=MAX_BILLING_GRACE_DAYS)?;
    let checkout_url = checkout_url.filter(|u| !u.trim().is_empty());
    if let Some(url) = &checkout_url
        && (!url.starts_with("https://")
            || url.contains('#')
            || url.chars().any(|c| c.is_whitespace() || c.is_control())
            || url.len() > 2000)
    {
        return Err(err(
            "billing_checkout_url",
            "must be an https:// URL such as your Stripe Payment Link \
             (https://buy.stripe.com/…); ?client_reference_id=<workspace id> is appended",
        ));
    }
    if mode == BillingMode::Stripe {
        if secret.is_none() {
            return Err(err(
                "billing_webhook_secret",
                "is required with billing_mode = stripe: add an endpoint for \
                 <public_url>/hooks/billing/stripe in the Stripe dashboard (events \
                 customer.subscription.created, .updated, .deleted and \
                 checkout.session.completed) and set its signing secret (whsec_…)",
            ));
        }
        if checkout_url.is_none() {
            return Err(err(
                "billing_checkout_url",
                "is required with billing_mode = stripe: the Stripe Payment Link or checkout \
                 page (https://…) where members of a workspace without a subscription pay",
            ));
        }
    }
    Ok(BillingSettings {
        mode,
        webhook_secret: secret.map(Secret::new),
        grace_days,
        checkout_url,
    })
}

/// Whether `mail_from` is a single-line sender with an address.
fn mail_from(from: String) -> Result<String, ConfigError> {
    if !from.contains('@') || from.chars().any(char::is_control) {
        return Err(err(
            "mail_from",
            "must be an address like 'Holdfast <holdfast@example.com>'",
        ));
    }
    Ok(from)
}

/// Where people reach this instance: the configured http(s) URL without a trailing slash, else
/// the bind address (`https://` with TLS on; the first ACME domain with ACME).
fn public_url(url: Option<String>, default: String) -> Result<String, ConfigError> {
    let public_url = url.filter(|u| !u.trim().is_empty()).unwrap_or(default);
    if !(public_url.starts_with("http://") || public_url.starts_with("https://"))
        || public_url.ends_with('/')
    {
        return Err(err(
            "public_url",
            "must be like https://ops.example.com (no trailing slash)",
        ));
    }
    Ok(public_url)
}

/// TLS from certificate files or from ACME (not both), each setting complete and only with its
/// mode.
fn tls_settings(
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    domains: Vec<String>,
    contact: Option<String>,
    directory: Option<String>,
    directory_ca: Option<PathBuf>,
) -> Result<Option<TlsSettings>, ConfigError> {
    let blank = |p: Option<PathBuf>| p.filter(|p| !p.as_os_str().is_empty());
    let (cert, key, directory_ca) = (blank(cert), blank(key), blank(directory_ca));
    let contact = contact.filter(|c| !c.trim().is_empty());
    let directory = directory.filter(|d| !d.trim().is_empty());
    let domains: Vec<String> = domains
        .into_iter()
        .map(|d| d.trim().to_ascii_lowercase())
        .filter(|d| !d.is_empty())
        .collect();
    let files = match (cert, key) {
        (None, None) => None,
        (Some(cert), Some(key)) => Some(TlsSettings::Files { cert, key }),
        (Some(_), None) => {
            return Err(err(
                "tls_key",
                "is required with tls_cert (the certificate's private key, PEM)",
            ));
        }
        (None, Some(_)) => {
            return Err(err(
                "tls_cert",
                "is required with tls_key (the certificate chain, PEM)",
            ));
        }
    };
    if domains.is_empty() {
        for (setting, set) in [
            ("acme_contact", contact.is_some()),
            ("acme_directory", directory.is_some()),
            ("acme_directory_ca", directory_ca.is_some()),
        ] {
            if set {
                return Err(err(setting, "needs at least one acme_domain"));
            }
        }
        return Ok(files);
    }
    if files.is_some() {
        return Err(err(
            "acme_domain",
            "cannot be combined with tls_cert/tls_key: choose certificate files or ACME",
        ));
    }
    for domain in &domains {
        if !is_dns_name(domain) {
            return Err(err(
                "acme_domain",
                format!(
                    "'{domain}' is not a DNS name like ops.example.com (no wildcard, no address, no port)"
                ),
            ));
        }
    }
    let one_mailto = |c: &str| {
        c.starts_with("mailto:")
            && c.contains('@')
            && !c.contains(',')
            && !c.chars().any(|c| c.is_control() || c.is_whitespace())
    };
    if let Some(contact) = &contact
        && !one_mailto(contact)
    {
        return Err(err(
            "acme_contact",
            "must be one mailto: address, like mailto:ops@example.com",
        ));
    }
    let directory = directory.unwrap_or_else(|| LETS_ENCRYPT_PRODUCTION.to_owned());
    if !directory.starts_with("https://") || directory.chars().any(char::is_whitespace) {
        return Err(err(
            "acme_directory",
            format!("must be an https:// directory URL (staging: {LETS_ENCRYPT_STAGING})"),
        ));
    }
    Ok(Some(TlsSettings::Acme(AcmeSettings {
        domains,
        contact,
        directory,
        directory_ca,
    })))
}

/// A host name of letters, digits and hyphens in dot-separated labels, with at least one dot
/// and not all digits (an address).
fn is_dns_name(name: &str) -> bool {
    let labels: Vec<&str> = name.split('.').collect();
    name.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            (1..=63).contains(&l.len())
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        && !labels
            .last()
            .is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit()))
}

/// The plain listener that redirects to HTTPS: an address other than the server's, and only
/// when TLS is on.
fn redirect_http(
    addr: Option<String>,
    tls: bool,
    bind: SocketAddr,
) -> Result<Option<SocketAddr>, ConfigError> {
    let Some(text) = addr.filter(|a| !a.trim().is_empty()) else {
        return Ok(None);
    };
    let addr: SocketAddr = text.parse().map_err(|_| {
        err(
            "redirect_http",
            format!("'{text}' is not an address:port such as 0.0.0.0:80"),
        )
    })?;
    if !tls {
        return Err(err(
            "redirect_http",
            "needs TLS on (tls_cert and tls_key, or acme_domain)",
        ));
    }
    if addr == bind && addr.port() != 0 {
        return Err(err("redirect_http", "must differ from bind"));
    }
    Ok(Some(addr))
}

/// Whether every outbound allowlist entry is an address or CIDR block.
fn outbound_allow(entries: Vec<String>) -> Result<Vec<String>, ConfigError> {
    crate::netguard::Allowlist::parse(&entries)
        .map_err(|message| err("outbound_allow", message))?;
    Ok(entries)
}

/// Whether every trusted proxy entry is an address or CIDR block.
fn trusted_proxies(entries: Vec<String>) -> Result<Vec<String>, ConfigError> {
    crate::client_addr::TrustedProxies::parse(&entries)
        .map_err(|message| err("trusted_proxies", message))?;
    Ok(entries)
}

/// Whether the failing streak that disables a webhook endpoint is between an hour and two weeks.
fn webhook_disable_after_hours(hours: u32) -> Result<u32, ConfigError> {
    if !(1..=MAX_WEBHOOK_DISABLE_AFTER_HOURS).contains(&hours) {
        return Err(err(
            "webhook_disable_after_hours",
            "must be between 1 and 336 hours (two weeks)",
        ));
    }
    Ok(hours)
}

/// An optional shared secret (blank is unset), which must be at least 32 characters.
fn long_secret(
    setting: &'static str,
    secret: Option<String>,
) -> Result<Option<Secret<String>>, ConfigError> {
    let secret = secret.filter(|v| !v.trim().is_empty());
    if let Some(secret) = &secret
        && secret.len() < 32
    {
        return Err(err(
            setting,
            "must be at least 32 characters (e.g. from `openssl rand -hex 32`)",
        ));
    }
    Ok(secret.map(Secret::new))
}

fn oidc_settings(
    issuer: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
) -> Result<Option<OidcSettings>, ConfigError> {
    let (client_id, client_secret) = match (client_id, client_secret) {
        (None, None) => return Ok(None),
        (Some(id), Some(secret)) => (id, secret),
        (Some(_), None) => {
            return Err(err(
                "oidc_client_secret",
                "is required with oidc_client_id (the provider's client secret)",
            ));
        }
        (None, Some(_)) => {
            return Err(err(
                "oidc_client_id",
                "is required with oidc_client_secret (the provider's client id)",
            ));
        }
    };
    let issuer = issuer
        .filter(|i| !i.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_OIDC_ISSUER.to_owned());
    if !(issuer.starts_with("https://") || is_loopback_http(&issuer)) || issuer.ends_with('/') {
        return Err(err(
            "oidc_issuer",
            "must be an https:// issuer URL without a trailing slash (plain http only on loopback, for testing)",
        ));
    }
    Ok(Some(OidcSettings {
        issuer,
        client_id,
        client_secret: Secret::new(client_secret),
    }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_removed_setting_is_named_with_what_replaced_it() {
        let line = removed_setting(["bind", "webhook_failure_limit"]).unwrap();
        assert!(line.contains("webhook_failure_limit"), "{line}");
        assert!(line.contains("webhook_disable_after_hours"), "{line}");
        let line = removed_setting(["HOLDFAST_BIND", "HOLDFAST_WEBHOOK_FAILURE_LIMIT"]).unwrap();
        assert!(line.contains("HOLDFAST_WEBHOOK_FAILURE_LIMIT"), "{line}");
        assert_eq!(removed_setting(["bind", "HOLDFAST_BIND"]), None);
        // A removed name is never also a setting of this version.
        let current = toml::to_string(&Config::defaults()).unwrap();
        for (removed, _) in REMOVED_SETTINGS {
            assert!(!current.contains(removed), "{removed} is still a setting");
        }
    }

    use super::*;

    #[test]
    fn oidc_needs_both_client_values_and_a_safe_issuer() {
        assert!(Config::resolve([]).unwrap().oidc.is_none());
        let with = |issuer: Option<&str>, id: Option<&str>, secret: Option<&str>| {
            Config::resolve([Layer {
                oidc_issuer: issuer.map(str::to_owned),
                oidc_client_id: id.map(str::to_owned),
                oidc_client_secret: secret.map(str::to_owned),
                ..Layer::default()
            }])
        };
        let google = with(None, Some("id"), Some("client-secret-value"))
            .unwrap()
            .oidc
            .unwrap();
        assert_eq!(google.issuer, DEFAULT_OIDC_ISSUER);
        assert!(!format!("{google:?}").contains("client-secret-value"));
        let e = with(None, Some("id"), None).unwrap_err();
        assert!(e.to_string().contains("HOLDFAST_OIDC_CLIENT_SECRET"), "{e}");
        assert!(with(Some("http://idp.example.com"), Some("i"), Some("s")).is_err());
        assert!(with(Some("https://idp.example.com/"), Some("i"), Some("s")).is_err());
        assert!(with(Some("http://127.0.0.1:9000"), Some("i"), Some("s")).is_ok());
        assert!(with(Some("http://127.0.0.1:@evil.example"), Some("i"), Some("s")).is_err());
        assert!(
            with(
                Some("http://localhost:80@evil.example"),
                Some("i"),
                Some("s")
            )
            .is_err()
        );
    }

    #[test]
    fn tls_turns_on_hsts_and_an_https_public_url() {
        let plain = Config::resolve([]).unwrap();
        assert!(plain.tls.is_none() && !plain.hsts);
        assert!(plain.public_url.starts_with("http://"));
        let files = Config::resolve([Layer {
            tls_cert: Some("c.pem".into()),
            tls_key: Some("k.pem".into()),
            ..Layer::default()
        }])
        .unwrap();
        assert_eq!(
            files.tls,
            Some(TlsSettings::Files {
                cert: "c.pem".into(),
                key: "k.pem".into()
            })
        );
        assert!(files.hsts && !files.hsts_preload);
        assert_eq!(files.public_url, "https://127.0.0.1:8080");
        let acme = Config::resolve([Layer {
            acme_domain: Some(vec!["Ops.Example.com".into(), "help.example.com".into()]),
            acme_contact: Some("mailto:ops@example.com".into()),
            hsts: Some(false),
            ..Layer::default()
        }])
        .unwrap();
        let Some(TlsSettings::Acme(settings)) = &acme.tls else {
            panic!("{:?}", acme.tls)
        };
        assert_eq!(settings.domains, ["ops.example.com", "help.example.com"]);
        assert_eq!(settings.directory, LETS_ENCRYPT_PRODUCTION);
        assert!(!acme.hsts, "HSTS can be turned off");
        assert_eq!(acme.public_url, "https://ops.example.com");
        let behind_proxy = Config::resolve([Layer {
            hsts: Some(true),
            hsts_preload: Some(true),
            ..Layer::default()
        }])
        .unwrap();
        assert!(behind_proxy.hsts && behind_proxy.hsts_preload && behind_proxy.tls.is_none());
    }

    #[test]
    fn tls_settings_that_do_not_fit_together_are_refused() {
        let refused = |layer: Layer| Config::resolve([layer]).unwrap_err().setting;
        let files = || Layer {
            tls_cert: Some("c.pem".into()),
            tls_key: Some("k.pem".into()),
            ..Layer::default()
        };
        let acme = |domain: &str| Layer {
            acme_domain: Some(vec![domain.into()]),
            ..Layer::default()
        };
        assert_eq!(
            refused(Layer {
                tls_cert: Some("c.pem".into()),
                ..Layer::default()
            }),
            "tls_key"
        );
        assert_eq!(
            refused(Layer {
                tls_key: Some("k.pem".into()),
                ..Layer::default()
            }),
            "tls_cert"
        );
        assert_eq!(
            refused(Layer {
                acme_domain: Some(vec!["ops.example.com".into()]),
                ..files()
            }),
            "acme_domain"
        );
        for bad in [
            "*.example.com",
            "example",
            "127.0.0.1",
            "ops.example.com:443",
            "-x.example.com",
        ] {
            assert_eq!(refused(acme(bad)), "acme_domain", "{bad}");
        }
        for (contact, ok) in [
            ("mailto:ops@example.com", true),
            ("ops@example.com", false),
            ("mailto:a@example.com,mailto:b@example.com", false),
        ] {
            let r = Config::resolve([Layer {
                acme_contact: Some(contact.into()),
                ..acme("ops.example.com")
            }]);
            assert_eq!(r.is_ok(), ok, "{contact}");
        }
        assert_eq!(
            refused(Layer {
                acme_directory: Some("http://acme.example/dir".into()),
                ..acme("ops.example.com")
            }),
            "acme_directory"
        );
        assert_eq!(
            refused(Layer {
                acme_contact: Some("mailto:ops@example.com".into()),
                ..Layer::default()
            }),
            "acme_contact"
        );
        assert_eq!(
            refused(Layer {
                redirect_http: Some("0.0.0.0:80".into()),
                ..Layer::default()
            }),
            "redirect_http"
        );
        assert_eq!(
            refused(Layer {
                redirect_http: Some("127.0.0.1:8080".into()),
                ..files()
            }),
            "redirect_http"
        );
        assert_eq!(
            refused(Layer {
                redirect_http: Some("port 80".into()),
                ..files()
            }),
            "redirect_http"
        );
        assert_eq!(
            refused(Layer {
                hsts: Some(false),
                hsts_preload: Some(true),
                ..files()
            }),
            "hsts_preload"
        );
        let e = Config::resolve([acme("*.example.com")]).unwrap_err();
        assert!(
            e.to_string().contains("--acme-domain")
                && e.to_string().contains("HOLDFAST_ACME_DOMAIN"),
            "{e}"
        );
    }

    #[test]
    fn billing_is_off_by_default_and_stripe_needs_its_secret_and_checkout_url() {
        let off = Config::resolve([]).unwrap().billing;
        assert_eq!(off.mode, BillingMode::Off);
        assert_eq!(off.grace_days, 7);
        let with = |mode: &str, secret: Option<&str>, url: Option<&str>, grace: Option<u32>| {
            Config::resolve([Layer {
                billing_mode: Some(mode.into()),
                billing_webhook_secret: secret.map(str::to_owned),
                billing_checkout_url: url.map(str::to_owned),
                billing_grace_days: grace,
                ..Layer::default()
            }])
        };
        let secret = Some("whsec_billingsecret0123456789");
        let url = Some("https://buy.stripe.com/test_123");
        let on = with("stripe", secret, url, Some(0)).unwrap().billing;
        assert_eq!(on.mode, BillingMode::Stripe);
        assert_eq!(on.grace_days, 0);
        assert!(!format!("{on:?}").contains("billingsecret"));
        let e = with("stripe", None, url, None).unwrap_err();
        assert_eq!(e.setting, "billing_webhook_secret");
        assert!(e.message.contains("/hooks/billing/stripe"), "{e}");
        let e = with("stripe", secret, None, None).unwrap_err();
        assert_eq!(e.setting, "billing_checkout_url");
        assert!(
            e.to_string().contains("HOLDFAST_BILLING_CHECKOUT_URL"),
            "{e}"
        );
        assert_eq!(
            with("paddle", secret, url, None).unwrap_err().setting,
            "billing_mode"
        );
        assert_eq!(
            with("stripe", Some("sk_live_nope"), url, None)
                .unwrap_err()
                .setting,
            "billing_webhook_secret"
        );
        assert_eq!(
            with("stripe", secret, Some("http://buy.example.com/x"), None)
                .unwrap_err()
                .setting,
            "billing_checkout_url"
        );
        assert_eq!(
            with("stripe", secret, url, Some(61)).unwrap_err().setting,
            "billing_grace_days"
        );
        // Off ignores what is not needed.
        assert!(with("off", None, None, None).is_ok());
    }

    #[test]
    fn defaults_serve_a_newcomer() {
        let c = Config::resolve([]).unwrap();
        assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(c.database_url, "sqlite://./holdfast-data/holdfast.db");
    }

    #[test]
    fn later_layers_win() {
        let file = Layer {
            bind: Some("127.0.0.1:9000".into()),
            log_format: Some("json".into()),
            ..Layer::default()
        };
        let flags = Layer {
            bind: Some("0.0.0.0:7000".into()),
            ..Layer::default()
        };
        let c = Config::resolve([file, flags]).unwrap();
        assert_eq!(c.bind.to_string(), "0.0.0.0:7000");
        assert_eq!(c.log_format, LogFormat::Json);
    }

    #[test]
    fn invalid_values_name_the_setting() {
        let e = Config::resolve([Layer {
            bind: Some("localhost".into()),
            ..Layer::default()
        }])
        .unwrap_err();
        assert!(e.to_string().contains("HOLDFAST_BIND"), "{e}");
        let e = Config::resolve([Layer {
            database_url: Some("mysql://x".into()),
            ..Layer::default()
        }])
        .unwrap_err();
        assert!(e.to_string().contains("HOLDFAST_DATABASE_URL"), "{e}");
        let e = Config::resolve([Layer {
            cors_allowed_origins: Some(vec!["*".into()]),
            ..Layer::default()
        }])
        .unwrap_err();
        assert!(e.to_string().contains("cors"), "{e}");
        assert!(!e.to_string().contains('\n'));
    }

    #[test]
    fn outbound_allow_takes_addresses_and_cidr_blocks_only() {
        let with = |entries: &[&str]| {
            Config::resolve([Layer {
                outbound_allow: Some(entries.iter().map(|e| e.to_string()).collect()),
                ..Layer::default()
            }])
        };
        let c = with(&["127.0.0.1", "10.0.0.0/8", "::1", "fd00::/8"]).unwrap();
        assert_eq!(c.outbound_allow.len(), 4);
        assert!(Config::resolve([]).unwrap().outbound_allow.is_empty());
        let e = with(&["127.0.0.1", "localhost"]).unwrap_err();
        assert_eq!(e.setting, "outbound_allow");
        assert!(e.to_string().contains("'localhost'"), "{e}");
        assert!(e.to_string().contains("10.0.0.0/8"), "{e}");
        assert!(with(&["10.0.0.0/33"]).is_err());
    }

    /// Every setting whose name suggests a credential is a secret setting, and setting it
    /// to a canary puts the canary among [`Config::secrets`]. Settings are read from the
    /// layer's own field names, so a new one joins this test by existing.
    #[test]
    fn every_secret_setting_reaches_the_redactor_through_secrets() {
        let names: Vec<String> = match serde_json::to_value(Layer::default()) {
            Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
            other => panic!("a layer is a map of settings: {other:?}"),
        };
        // Named like a credential, but holding none.
        let not_secret = [
            "public_url",
            "widget_rate_limit_per_key",
            "oidc_issuer",
            "tls_key",
            // A path to the key's file, not the key.
            "master_key_file",
            // Where members are sent to pay: a public page.
            "billing_checkout_url",
        ];
        for name in &names {
            let looks_secret = ["secret", "token", "password", "key", "url"]
                .iter()
                .any(|w| name.contains(w));
            if looks_secret && !not_secret.contains(&name.as_str()) {
                assert!(
                    SECRET_SETTINGS.contains(&name.as_str()),
                    "{name} looks like a secret setting: add it to SECRET_SETTINGS and Config::secrets"
                );
            }
        }
        for name in SECRET_SETTINGS {
            assert!(names.iter().any(|n| n == name), "{name} is not a setting");
            let canary = format!("canary{}0123456789abcdef0123456789", name.replace('_', ""));
            let value = match *name {
                "database_url" => format!("postgres://holdfast:{canary}@db:5432/holdfast"),
                "redis_url" => format!("rediss://:{canary}@cache:6380/0"),
                "smtp_url" => format!("smtps://mailer:{canary}@relay:465"),
                "billing_webhook_secret" => {
                    let canary = format!("whsec_{canary}");
                    let layer: Layer =
                        serde_json::from_value(serde_json::json!({ *name: canary })).unwrap();
                    let config = Config::resolve([layer]).unwrap();
                    assert!(config.secrets().contains(&(*name, canary.as_str())));
                    continue;
                }
                _ => canary.clone(),
            };
            let mut layer = serde_json::json!({ *name: value });
            if *name == "oidc_client_secret" {
                layer["oidc_client_id"] = serde_json::json!("client");
            }
            let layer: Layer = serde_json::from_value(layer).unwrap();
            let config = Config::resolve([layer]).unwrap();
            assert!(
                config.secrets().contains(&(*name, canary.as_str())),
                "{name}: {:?}",
                config.secrets()
            );
        }
        assert_eq!(url_password("redis://cache:6379"), None);
        assert_eq!(url_password("smtp://user@relay:25"), None);
        assert_eq!(url_password("smtp://u:p%40ss@relay/x@y"), Some("p%40ss"));
        assert_eq!(url_password("redis://:ab/cd@cache:6379"), Some("ab/cd"));
        assert_eq!(percent_decoded("p%40ss%2"), Some("p@ss%2".to_owned()));
    }

    #[test]
    fn trusted_proxies_take_addresses_and_cidr_blocks_only() {
        let with = |entries: &[&str]| {
            Config::resolve([Layer {
                trusted_proxies: Some(entries.iter().map(|e| e.to_string()).collect()),
                ..Layer::default()
            }])
        };
        assert!(Config::resolve([]).unwrap().trusted_proxies.is_empty());
        let c = with(&["127.0.0.1/32", "10.0.0.0/8", "fd00::/8"]).unwrap();
        assert_eq!(c.trusted_proxies.len(), 3);
        let e = with(&["10.0.0.0/8", "proxy.internal"]).unwrap_err();
        assert_eq!(e.setting, "trusted_proxies");
        let line = e.to_string();
        assert!(line.contains("HOLDFAST_TRUSTED_PROXIES"), "{line}");
        assert!(line.contains("--trusted-proxies"), "{line}");
        assert!(line.contains("'proxy.internal'"), "{line}");
        assert!(!line.contains('\n'));
        assert!(with(&["10.0.0.1/8"]).is_err());
    }

    #[test]
    fn toml_file_rejects_unknown_keys_and_default_file_parses() {
        assert!(toml::from_str::<Layer>("bnd = \"x\"").is_err());
        let text = Config::default_toml();
        let layer: Layer = toml::from_str(&text).unwrap();
        assert!(Config::resolve([layer]).is_ok());
    }
}
