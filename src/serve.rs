//! `holdfast serve` and `holdfast migrate`.

use crate::{datadir, telemetry};
use holdfast_app::App;
use holdfast_app::worker::WorkerOptions;
use holdfast_core::clock::{Clock, SystemClock};
use holdfast_core::ops::config::{Config, DEFAULT_BIND, DEFAULT_DATA_DIR};
use holdfast_core::secret::Secret;
use holdfast_http::AppState;
use holdfast_store::Db;
use std::sync::Arc;

/// Everything a command needs before touching the database: logging, data dir, master key,
/// a migrated connection.
pub async fn open(config: &Config) -> Result<Db, String> {
    open_with_key(config).await.map(|(db, _)| db)
}

async fn open_with_key(config: &Config) -> Result<(Db, Secret<Vec<u8>>), String> {
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
    let shutdown = shutdown_signal()?;
    let state = AppState::new(
        db.clone(),
        Arc::new(config.clone()),
        Arc::new(SystemClock),
        master_key.expose(),
    )
    .connect_services()
    .await?
    .listen_for_notices()
    .await?;
    println!(
        "Holdfast {} listening on http://{addr} (database: {}, data dir: {})",
        env!("CARGO_PKG_VERSION"),
        db.backend().name(),
        config.data_dir.display()
    );
    if config.bind.to_string() == DEFAULT_BIND || addr.ip().is_loopback() {
        println!("{}", bootstrap_hint(&config));
    }
    // While no workspace exists: a one-time link that creates it in the browser. Without a
    // configured public URL, the address actually bound (the port may have been 0).
    let base = if config.public_url == format!("http://{}", config.bind) {
        format!("http://{addr}")
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
    holdfast_http::serve(listener, state, stopped(stop_rx))
        .await
        .map_err(|e| format!("server error: {e}"))?;
    if let Some(worker) = worker {
        let _ = worker.await;
    }
    tracing::info!("in-flight requests drained; closing the database");
    db.close().await;
    Ok(())
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
