//! `holdfast serve` and `holdfast migrate`.

use crate::{datadir, telemetry};
use holdfast_app::App;
use holdfast_app::worker::WorkerOptions;
use holdfast_core::clock::{Clock, SystemClock};
use holdfast_core::ops::config::{Config, DEFAULT_BIND, DEFAULT_DATA_DIR, TlsSettings};
use holdfast_core::secret::Secret;
use holdfast_http::AppState;
use holdfast_store::Db;
use std::sync::Arc;

/// Everything a command needs before touching the database: logging, data dir, master key,
/// a migrated connection.
pub async fn open(config: &Config) -> Result<Db, String> {
    open_with_key(config).await.map(|(db, _)| db)
}

pub(crate) async fn open_with_key(config: &Config) -> Result<(Db, Secret<Vec<u8>>), String> {
    telemetry::init(config)?;
    let master_key = datadir::prepare(config)?;
    let db = Db::connect(&config.database_url, config.db_max_connections)
        .await
        .map_err(|e| format!("cannot open the database (HOLDFAST_DATABASE_URL): {e}"))?;
    let applied = db
        .migrate()
        .await
        .map_err(|e| format!("cannot migrate the database: {e}"))?;
    if applied > 0 {
        tracing::info!(applied, backend = db.backend().name(), "database migrated");
    }
    Ok((db, master_key))
}

pub async fn migrate(config: Config) -> Result<(), String> {
    let db = open(&config).await?;
    println!("database ({}) is at the latest schema", db.backend().name());
    db.close().await;
    Ok(())
}

/// The admin commands exactly as this instance's user should type them.
fn bootstrap_hint(config: &Config) -> String {
    let mut env = String::new();
    if config.data_dir.as_os_str() != DEFAULT_DATA_DIR {
        env.push_str(&format!("HOLDFAST_DATA_DIR={} ", config.data_dir.display()));
    }
    if !config.database_url.starts_with("sqlite:") {
        env.push_str("HOLDFAST_DATABASE_URL=… ");
    }
    let bin = if std::env::var_os("CARGO").is_some() {
        "cargo run --release --"
    } else {
        "holdfast"
    };
    format!(
        "Create the first workspace and an API key:\n  \
         printf '%s\\n' 'a passphrase of 15 or more characters' | {env}{bin} admin create-workspace --name \"Acme Cleaning\" --slug acme --owner-email you@example.com --password-stdin\n  \
         {env}{bin} admin create-api-key --workspace acme --role admin --name \"first key\""
    )
}

pub async fn run(config: Config) -> Result<(), String> {
    let (db, master_key) = open_with_key(&config).await?;
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .map_err(|e| {
            format!(
                "cannot listen on {} (HOLDFAST_BIND, --bind): {e}",
                config.bind
            )
        })?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let redirect = match config.redirect_http {
        None => None,
        Some(at) => Some(tokio::net::TcpListener::bind(at).await.map_err(|e| {
            format!("cannot listen on {at} (HOLDFAST_REDIRECT_HTTP, --redirect-http): {e}")
        })?),
    };
    let shutdown = shutdown_signal()?;
    let state = AppState::new(
        db.clone(),
        Arc::new(config.clone()),
        Arc::new(SystemClock),
        master_key.expose(),
    )
    .await?
    .connect_services()
    .await?
    .listen_for_notices()
    .await?;
    // Certificates are read (and a bad file refused) before the banner says anything.
    let transport = Transport::prepare(&config, &state)?;
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    println!(
        "Holdfast {} listening on {scheme}://{addr} (database: {}, data dir: {})",
        env!("CARGO_PKG_VERSION"),
        db.backend().name(),
        config.data_dir.display()
    );
    if config.bind.to_string() == DEFAULT_BIND || addr.ip().is_loopback() {
        println!("{}", bootstrap_hint(&config));
    }
    // While no workspace exists: a one-time link that creates it in the browser. Without a
    // configured public URL, the address actually bound (the port may have been 0).
    let base = if config.public_url == format!("{scheme}://{}", config.bind) {
        format!("{scheme}://{addr}")
    } else {
        config.public_url.clone()
    };
    match crate::admin::first_run_link(&db, &base, SystemClock.now_ms()).await {
        Ok(Some(link)) => println!(
            "Or create it in the browser with this one-time link (valid for an hour):\n  {link}"
        ),
        Ok(None) => {}
        Err(e) => tracing::error!(error = %e, "no setup link could be made"),
    }
    // One shutdown signal, seen by both the server and the worker.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let worker = config.worker.then(|| {
        tokio::spawn(holdfast_app::worker::run(
            state.app().clone(),
            WorkerOptions::for_config(&config),
            stopped(stop_rx.clone()),
        ))
    });
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    if let Some(redirect) = redirect {
        let target = holdfast_http::tls::RedirectTarget::for_public_url(&base, addr.port());
        println!(
            "Redirecting plain HTTP on http://{} to HTTPS",
            redirect.local_addr().map_err(|e| e.to_string())?
        );
        let stop = stopped(stop_rx.clone());
        tokio::spawn(async move {
            if let Err(e) = holdfast_http::tls::serve_redirect(redirect, target, stop).await {
                tracing::error!(error = %e, "the HTTP redirect listener stopped");
            }
        });
    }
    let router = holdfast_http::router(state.clone());
    let served = match transport {
        Transport::Plain => {
            holdfast_http::serve_router(listener, router, state, stopped(stop_rx)).await
        }
        Transport::Files(acceptor) => {
            holdfast_http::tls::serve_tls(listener, router, state, acceptor, stopped(stop_rx)).await
        }
        Transport::Acme(acceptor, _renewal) => {
            holdfast_http::tls::serve_tls(listener, router, state, acceptor, stopped(stop_rx)).await
        }
    };
    served.map_err(|e| format!("server error: {e}"))?;
    if let Some(worker) = worker {
        let _ = worker.await;
    }
    tracing::info!("in-flight requests drained; closing the database");
    db.close().await;
    Ok(())
}

/// How the listener speaks: plain HTTP, or TLS with a certificate from files or from ACME.
enum Transport {
    Plain,
    Files(axum_server::tls_rustls::RustlsAcceptor),
    Acme(
        holdfast_http::tls::Deadline<rustls_acme::axum::AxumAcceptor>,
        tokio::task::JoinHandle<()>,
    ),
}

impl Transport {
    /// Loads the certificate files (watching them and SIGHUP from now on) or starts ACME.
    fn prepare(config: &Config, state: &AppState) -> Result<Transport, String> {
        let metrics = state.app().metrics.clone();
        match &config.tls {
            None => Ok(Transport::Plain),
            Some(TlsSettings::Files { cert, key }) => {
                let files = holdfast_http::tls::CertFiles::load(cert, key, metrics)
                    .map_err(|e| format!("cannot serve TLS (--tls-cert, --tls-key): {e}"))?;
                let server_config = holdfast_http::tls::server_config(files.clone())?;
                tokio::spawn(files.watch(hangups()?));
                Ok(Transport::Files(holdfast_http::tls::file_acceptor(
                    server_config,
                )))
            }
            Some(TlsSettings::Acme(acme)) => {
                let (acceptor, renewal) =
                    holdfast_http::acme::start(acme, &config.data_dir, metrics)
                        .map_err(|e| format!("cannot start ACME (--acme-domain): {e}"))?;
                // A reload (SIGHUP) has nothing to read here; it must not stop the server.
                let mut hangups = hangups()?;
                tokio::spawn(async move {
                    while hangups.recv().await.is_some() {
                        tracing::info!("SIGHUP: ACME certificates renew by themselves");
                    }
                });
                Ok(Transport::Acme(acceptor, renewal))
            }
        }
    }
}

/// SIGHUP, registered now (so one sent right after the banner is not lost, nor kills the
/// process), as messages: each asks for the certificate files to be read again.
fn hangups() -> Result<tokio::sync::mpsc::Receiver<()>, String> {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hup =
            signal(SignalKind::hangup()).map_err(|e| format!("cannot listen for SIGHUP: {e}"))?;
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                let _ = tx.try_send(());
            }
        });
    }
    #[cfg(not(unix))]
    drop(tx);
    Ok(rx)
}

/// `holdfast worker`: the job worker alone, until SIGINT or SIGTERM.
pub async fn worker(config: Config) -> Result<(), String> {
    let (db, master_key) = open_with_key(&config).await?;
    let shutdown = shutdown_signal()?;
    let app = App::new(
        db.clone(),
        Arc::new(config.clone()),
        Arc::new(SystemClock),
        master_key.expose(),
    )
    .await?
    .connect_mail()?;
    println!(
        "Holdfast {} worker running (database: {})",
        env!("CARGO_PKG_VERSION"),
        db.backend().name()
    );
    holdfast_app::worker::run(app, WorkerOptions::for_config(&config), shutdown).await;
    db.close().await;
    Ok(())
}

/// Registers for SIGINT and SIGTERM at once (before the server announces itself, so a signal
/// sent right after the banner is never lost) and returns the future that completes on either.
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>, String> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt())
            .map_err(|e| format!("cannot listen for SIGINT: {e}"))?;
        let mut term = signal(SignalKind::terminate())
            .map_err(|e| format!("cannot listen for SIGTERM: {e}"))?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {},
                _ = term.recv() => {},
            }
            tracing::info!("shutdown requested; draining in-flight requests");
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("shutdown requested; draining in-flight requests");
        })
    }
}
