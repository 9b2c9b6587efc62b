//! The `holdfast` binary: parses the command line and calls the libraries.

mod admin;
mod audit;
mod backup;
mod controls;
mod datadir;
mod jobs;
mod keys;
mod retention;
mod serve;
mod telemetry;

use clap::{ArgAction, Parser, Subcommand};
use holdfast_core::ops::config::{Config, ConfigError, Layer, removed_setting};
use std::path::PathBuf;
use std::process::ExitCode;

/// How a command failed: an argument it refuses (exit 2, as for a malformed command line), or
/// anything else (exit 1). Either way, one line on standard error.
pub enum Failure {
    BadInput(String),
    Failed(String),
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure::Failed(message)
    }
}

/// Holdfast: customer operations for small service businesses.
#[derive(Parser)]
#[command(name = "holdfast", version, about)]
struct Cli {
    /// TOML configuration file (see `holdfast config print-default`).
    #[arg(long, env = "HOLDFAST_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "HOLDFAST_BIND", global = true)]
    bind: Option<String>,
    /// Data directory: SQLite database and master key [default: ./holdfast-data].
    #[arg(long, env = "HOLDFAST_DATA_DIR", global = true)]
    data_dir: Option<PathBuf>,
    /// sqlite:… or postgres://… [default: sqlite in the data directory].
    #[arg(
        long,
        env = "HOLDFAST_DATABASE_URL",
        global = true,
        hide_env_values = true
    )]
    database_url: Option<String>,
    /// text or json.
    #[arg(long, env = "HOLDFAST_LOG_FORMAT", global = true)]
    log_format: Option<String>,
    /// Log filter, e.g. info or holdfast=debug.
    #[arg(long, env = "HOLDFAST_LOG_LEVEL", global = true)]
    log_level: Option<String>,
    /// Send Strict-Transport-Security [default: on with TLS, off without]; --hsts=false turns
    /// it off, --hsts turns it on behind a TLS-terminating proxy.
    #[arg(long, env = "HOLDFAST_HSTS", global = true, num_args = 0..=1,
          require_equals = true, default_missing_value = "true")]
    hsts: Option<bool>,
    /// Add `preload` to Strict-Transport-Security (for the browsers' preload lists).
    #[arg(long, env = "HOLDFAST_HSTS_PRELOAD", global = true, action = ArgAction::SetTrue)]
    hsts_preload: bool,
    /// Serve HTTPS with this certificate chain (PEM; reloaded on SIGHUP or when it changes).
    #[arg(long, env = "HOLDFAST_TLS_CERT", global = true)]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, env = "HOLDFAST_TLS_KEY", global = true)]
    tls_key: Option<PathBuf>,
    /// Serve HTTPS with a certificate for this name from ACME (TLS-ALPN-01 on the bind port,
    /// which must be reachable as port 443); repeat for more names.
    #[arg(
        long,
        env = "HOLDFAST_ACME_DOMAIN",
        global = true,
        value_delimiter = ','
    )]
    acme_domain: Option<Vec<String>>,
    /// Contact for the ACME account, e.g. mailto:ops@example.com.
    #[arg(long, env = "HOLDFAST_ACME_CONTACT", global = true)]
    acme_contact: Option<String>,
    /// ACME directory URL [default: Let's Encrypt production; staging is
    /// https://acme-staging-v02.api.letsencrypt.org/directory].
    #[arg(long, env = "HOLDFAST_ACME_DIRECTORY", global = true)]
    acme_directory: Option<String>,
    /// PEM file of CA certificates trusted for the ACME directory's own HTTPS (a test CA).
    #[arg(long, env = "HOLDFAST_ACME_DIRECTORY_CA", global = true)]
    acme_directory_ca: Option<PathBuf>,
    /// Send payment provider API calls here instead of the providers' own APIs (a test
    /// double); unset in production.
    #[arg(long, env = "HOLDFAST_PAYMENTS_API_BASE", global = true)]
    payments_api_base: Option<String>,
    /// The billing gate of a hosted instance: off (self-hosted, never gates) or stripe
    /// [default: off].
    #[arg(long, env = "HOLDFAST_BILLING_MODE", global = true)]
    billing_mode: Option<String>,
    /// The Stripe endpoint secret (whsec_…) of /hooks/billing/stripe (prefer the variable to
    /// the flag).
    #[arg(
        long,
        env = "HOLDFAST_BILLING_WEBHOOK_SECRET",
        global = true,
        hide_env_values = true
    )]
    billing_webhook_secret: Option<String>,
    /// Days a past-due workspace keeps writing before it turns read-only [default: 7].
    #[arg(long, env = "HOLDFAST_BILLING_GRACE_DAYS", global = true)]
    billing_grace_days: Option<u32>,
    /// Where members of a workspace without a subscription are sent to pay (https; the
    /// workspace id is appended as client_reference_id).
    #[arg(long, env = "HOLDFAST_BILLING_CHECKOUT_URL", global = true)]
    billing_checkout_url: Option<String>,
    /// Also listen for plain HTTP here, answering every request with 308 to HTTPS.
    #[arg(long, env = "HOLDFAST_REDIRECT_HTTP", global = true)]
    redirect_http: Option<String>,
    /// Origins allowed by CORS, comma-separated; none by default.
    #[arg(
        long,
        env = "HOLDFAST_CORS_ALLOWED_ORIGINS",
        global = true,
        value_delimiter = ','
    )]
    cors_allowed_origins: Option<Vec<String>>,
    #[arg(long, env = "HOLDFAST_BODY_LIMIT_BYTES", global = true)]
    body_limit_bytes: Option<usize>,
    #[arg(long, env = "HOLDFAST_REQUEST_TIMEOUT_MS", global = true)]
    request_timeout_ms: Option<u64>,
    /// Contact for /.well-known/security.txt (mailto: or https:).
    #[arg(long, env = "HOLDFAST_SECURITY_CONTACT", global = true)]
    security_contact: Option<String>,
    #[arg(long, env = "HOLDFAST_DB_MAX_CONNECTIONS", global = true)]
    db_max_connections: Option<u32>,
    #[arg(long, env = "HOLDFAST_PUBLIC_RATE_LIMIT_PER_MINUTE", global = true)]
    public_rate_limit_per_minute: Option<u32>,
    /// Sign-in requests per minute per client address (burst of 10).
    #[arg(long, env = "HOLDFAST_AUTH_RATE_LIMIT_PER_MINUTE", global = true)]
    auth_rate_limit_per_minute: Option<u32>,
    /// Requests per minute per API key or signed-in user (burst: two seconds' worth).
    #[arg(long, env = "HOLDFAST_API_RATE_LIMIT_PER_MINUTE", global = true)]
    api_rate_limit_per_minute: Option<u32>,
    /// redis://… to share rate limits between instances; in-process when unset.
    #[arg(
        long,
        env = "HOLDFAST_REDIS_URL",
        global = true,
        hide_env_values = true
    )]
    redis_url: Option<String>,
    /// smtp://… or smtps://… relay for outgoing mail; unset keeps mail in the local outbox.
    #[arg(long, env = "HOLDFAST_SMTP_URL", global = true, hide_env_values = true)]
    smtp_url: Option<String>,
    /// Sender of outgoing mail, e.g. 'Acme Ops <ops@example.com>'.
    #[arg(long, env = "HOLDFAST_MAIL_FROM", global = true)]
    mail_from: Option<String>,
    /// Public address of this instance, for links in mail [default: http://<bind>].
    #[arg(long, env = "HOLDFAST_PUBLIC_URL", global = true)]
    public_url: Option<String>,
    /// OpenID provider for single sign-on [default: https://accounts.google.com].
    #[arg(long, env = "HOLDFAST_OIDC_ISSUER", global = true)]
    oidc_issuer: Option<String>,
    /// Client id registered with the OpenID provider; enables single sign-on.
    #[arg(long, env = "HOLDFAST_OIDC_CLIENT_ID", global = true)]
    oidc_client_id: Option<String>,
    /// Client secret registered with the OpenID provider (prefer the variable to the flag).
    #[arg(
        long,
        env = "HOLDFAST_OIDC_CLIENT_SECRET",
        global = true,
        hide_env_values = true
    )]
    oidc_client_secret: Option<String>,
    /// Private addresses or CIDR blocks outbound requests may reach, comma-separated
    /// (e.g. 127.0.0.1 for a receiver on this machine); none by default.
    #[arg(
        long,
        env = "HOLDFAST_OUTBOUND_ALLOW",
        global = true,
        value_delimiter = ','
    )]
    outbound_allow: Option<Vec<String>>,
    /// Reverse proxies (IPs or CIDR blocks), comma-separated, whose Forwarded /
    /// X-Forwarded-For / X-Forwarded-Proto headers name the client; none by default.
    #[arg(
        long,
        env = "HOLDFAST_TRUSTED_PROXIES",
        global = true,
        value_delimiter = ','
    )]
    trusted_proxies: Option<Vec<String>>,
    /// Do not run the job worker inside `serve` (run `holdfast worker` processes instead).
    #[arg(long, env = "HOLDFAST_NO_WORKER", global = true, action = ArgAction::SetTrue)]
    no_worker: bool,
    /// Hours a webhook endpoint must fail continuously (every attempt, no success) before it
    /// is disabled [default: 120].
    #[arg(long, env = "HOLDFAST_WEBHOOK_DISABLE_AFTER_HOURS", global = true)]
    webhook_disable_after_hours: Option<u32>,
    /// Secret schedulers send in X-Holdfast-Cron-Secret (prefer the variable to the flag).
    #[arg(
        long,
        env = "HOLDFAST_CRON_SECRET",
        global = true,
        hide_env_values = true
    )]
    cron_secret: Option<String>,
    /// Seconds a claimed job belongs to its worker before another may take it over [default: 60].
    #[arg(long, env = "HOLDFAST_JOB_LEASE_SECONDS", global = true)]
    job_lease_seconds: Option<u32>,
    /// Seconds the website widget's form must be open before a message is accepted [default: 3].
    #[arg(long, env = "HOLDFAST_WIDGET_MIN_FILL_SECONDS", global = true)]
    widget_min_fill_seconds: Option<u32>,
    /// Widget messages per minute from one client address [default: 10].
    #[arg(long, env = "HOLDFAST_WIDGET_RATE_LIMIT_PER_IP", global = true)]
    widget_rate_limit_per_ip: Option<u32>,
    /// Widget messages per minute to one workspace's widget [default: 120].
    #[arg(long, env = "HOLDFAST_WIDGET_RATE_LIMIT_PER_KEY", global = true)]
    widget_rate_limit_per_key: Option<u32>,
    /// Days an unused widget visitor token keeps opening its conversation [default: 30].
    #[arg(long, env = "HOLDFAST_WIDGET_VISITOR_IDLE_DAYS", global = true)]
    widget_visitor_idle_days: Option<u32>,
    /// Bearer token GET /metrics requires (prefer the variable to the flag); open when unset.
    #[arg(
        long,
        env = "HOLDFAST_METRICS_TOKEN",
        global = true,
        hide_env_values = true
    )]
    metrics_token: Option<String>,
    /// age X25519 public key (age1…) backups are encrypted to; repeatable. Setting one turns
    /// on the worker's daily backup.
    #[arg(
        long = "backup-recipient",
        env = "HOLDFAST_BACKUP_RECIPIENTS",
        global = true,
        value_delimiter = ','
    )]
    backup_recipients: Option<Vec<String>>,
    /// The master key's file, kept apart from the data dir (a systemd credential, a mounted
    /// secret) [default: <data dir>/master.key].
    #[arg(long, env = "HOLDFAST_MASTER_KEY_FILE", global = true)]
    master_key_file: Option<PathBuf>,
    /// Folder for backup files [default: <data dir>/backups]; copy them off the machine.
    #[arg(long, env = "HOLDFAST_BACKUP_DIR", global = true)]
    backup_dir: Option<PathBuf>,
    /// UTC hour of the worker's daily backup [default: 3].
    #[arg(long, env = "HOLDFAST_BACKUP_HOUR_UTC", global = true)]
    backup_hour_utc: Option<u32>,
    /// Daily backups kept [default: 14].
    #[arg(long, env = "HOLDFAST_BACKUP_KEEP_DAILY", global = true)]
    backup_keep_daily: Option<u32>,
    /// Weekly (Monday) backups kept beyond the daily ones [default: 8].
    #[arg(long, env = "HOLDFAST_BACKUP_KEEP_WEEKLY", global = true)]
    backup_keep_weekly: Option<u32>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (applies pending migrations first) with the job worker inside it.
    Serve,
    /// Run only the job worker (several may run against one database).
    Worker,
    /// The durable job queue: list jobs, retry dead ones.
    #[command(subcommand)]
    Jobs(jobs::JobsCommand),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Operator commands that work without a running server.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// The tamper-evident audit trail.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Encrypted backups: create, verify, restore.
    #[command(subcommand)]
    Backup(backup::BackupCommand),
    /// Key rotation: the master key and the token keys.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Apply the workspaces' retention periods now (or, with --dry-run, show what would go).
    Retention(retention::RetentionArgs),
    /// Configuration helpers.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print the default configuration as TOML.
    PrintDefault,
}

impl Cli {
    fn layer(&self) -> Layer {
        Layer {
            bind: self.bind.clone(),
            data_dir: self.data_dir.clone(),
            database_url: self.database_url.clone(),
            log_format: self.log_format.clone(),
            log_level: self.log_level.clone(),
            hsts: self.hsts,
            hsts_preload: self.hsts_preload.then_some(true),
            tls_cert: self.tls_cert.clone(),
            tls_key: self.tls_key.clone(),
            acme_domain: self.acme_domain.clone(),
            acme_contact: self.acme_contact.clone(),
            acme_directory: self.acme_directory.clone(),
            acme_directory_ca: self.acme_directory_ca.clone(),
            payments_api_base: self.payments_api_base.clone(),
            billing_mode: self.billing_mode.clone(),
            billing_webhook_secret: self.billing_webhook_secret.clone(),
            billing_grace_days: self.billing_grace_days,
            billing_checkout_url: self.billing_checkout_url.clone(),
            redirect_http: self.redirect_http.clone(),
            cors_allowed_origins: self.cors_allowed_origins.clone(),
            body_limit_bytes: self.body_limit_bytes,
            request_timeout_ms: self.request_timeout_ms,
            security_contact: self.security_contact.clone(),
            db_max_connections: self.db_max_connections,
            public_rate_limit_per_minute: self.public_rate_limit_per_minute,
            auth_rate_limit_per_minute: self.auth_rate_limit_per_minute,
            api_rate_limit_per_minute: self.api_rate_limit_per_minute,
            redis_url: self.redis_url.clone(),
            smtp_url: self.smtp_url.clone(),
            mail_from: self.mail_from.clone(),
            public_url: self.public_url.clone(),
            oidc_issuer: self.oidc_issuer.clone(),
            oidc_client_id: self.oidc_client_id.clone(),
            oidc_client_secret: self.oidc_client_secret.clone(),
            outbound_allow: self.outbound_allow.clone(),
            trusted_proxies: self.trusted_proxies.clone(),
            worker: self.no_worker.then_some(false),
            webhook_disable_after_hours: self.webhook_disable_after_hours,
            cron_secret: self.cron_secret.clone(),
            job_lease_seconds: self.job_lease_seconds,
            widget_min_fill_seconds: self.widget_min_fill_seconds,
            widget_rate_limit_per_ip: self.widget_rate_limit_per_ip,
            widget_rate_limit_per_key: self.widget_rate_limit_per_key,
            widget_visitor_idle_days: self.widget_visitor_idle_days,
            metrics_token: self.metrics_token.clone(),
            backup_recipients: self.backup_recipients.clone(),
            backup_dir: self.backup_dir.clone(),
            master_key_file: self.master_key_file.clone(),
            backup_hour_utc: self.backup_hour_utc,
            backup_keep_daily: self.backup_keep_daily,
            backup_keep_weekly: self.backup_keep_weekly,
        }
    }

    fn resolve(&self) -> Result<Config, String> {
        let variables: Vec<String> = std::env::vars_os()
            .filter_map(|(name, _)| name.into_string().ok())
            .collect();
        if let Some(line) = removed_setting(variables.iter().map(String::as_str)) {
            return Err(line);
        }
        let file = match &self.config {
            None => Layer::default(),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    format!(
                        "invalid configuration: HOLDFAST_CONFIG (--config) {}: {e}",
                        path.display()
                    )
                })?;
                if let Ok(table) = text.parse::<toml::Table>()
                    && let Some(line) = removed_setting(table.keys().map(String::as_str))
                {
                    return Err(format!("{line} (in {})", path.display()));
                }
                toml::from_str(&text).map_err(|e| {
                    let first = e.to_string().lines().next().unwrap_or_default().to_owned();
                    format!(
                        "invalid configuration: {} ({first}; {})",
                        path.display(),
                        e.message()
                    )
                })?
            }
        };
        Config::resolve([file, self.layer()]).map_err(|e: ConfigError| e.to_string())
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e)
            if e.use_stderr() && !matches!(e.kind(), clap::error::ErrorKind::MissingSubcommand) =>
        {
            let text = e.to_string();
            eprintln!("{}", text.lines().next().unwrap_or("invalid command line"));
            eprintln!("Run 'holdfast --help' for usage.");
            return ExitCode::from(2);
        }
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    if let Command::Config(ConfigCommand::PrintDefault) = cli.command {
        print!("{}", Config::default_toml());
        return ExitCode::SUCCESS;
    }
    let config = match cli.resolve() {
        Ok(c) => c,
        Err(message) => {
            eprintln!("holdfast: {message}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("holdfast: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // One crypto provider for every TLS user in the process (the server, ACME, outbound
    // clients), chosen before any of them starts.
    holdfast_http::tls::install_crypto_provider();
    let result = runtime.block_on(async move {
        let done: Result<(), String> = match cli.command {
            Command::Serve => serve::run(config).await,
            Command::Worker => serve::worker(config).await,
            Command::Jobs(cmd) => jobs::run(config, cmd).await,
            Command::Migrate => serve::migrate(config).await,
            Command::Admin(cmd) => return admin::run(config, cmd).await,
            Command::Audit(cmd) => audit::run(config, cmd).await,
            Command::Backup(cmd) => backup::run(config, cmd).await,
            Command::Keys(cmd) => keys::run(config, cmd).await,
            Command::Retention(args) => retention::run(config, args).await,
            Command::Config(_) => Ok(()),
        };
        done.map_err(Failure::from)
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::BadInput(message)) => {
            eprintln!("holdfast: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Failed(message)) => {
            eprintln!("holdfast: {message}");
            ExitCode::FAILURE
        }
    }
}
