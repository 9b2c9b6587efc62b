//! `holdfast keys rotate-master | rotate-tokens | status`: rotating the master key (every
//! sealed value re-sealed in batches while servers keep running) and the token keys (a new
//! generation signs; the old verifies through an overlap). The work is `holdfast_app::keys`.

use crate::{datadir, serve};
use clap::Subcommand;
use holdfast_app::App;
use holdfast_app::keys::{self, Progress};
use holdfast_core::clock::{SharedClock, SystemClock};
use holdfast_core::ops::config::Config;
use holdfast_core::ops::keys::DEFAULT_TOKEN_OVERLAP_DAYS;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Re-seal every sealed secret under a new master key, while servers keep running. Run it
    /// again with the same files to finish a rotation that was cut short.
    RotateMaster {
        /// The new master key: 64 hex digits, mode 0600 (`openssl rand -hex 32`).
        #[arg(long)]
        new_key_file: PathBuf,
        /// Values re-sealed per transaction.
        #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        batch: u32,
    },
    /// Start a new generation of the access-token, CSRF, preference-link and widget-form keys;
    /// the current one keeps verifying for the overlap, then is retired.
    RotateTokens {
        /// Days the current generation keeps verifying (mailed preference links, open pages).
        #[arg(long, default_value_t = DEFAULT_TOKEN_OVERLAP_DAYS,
              value_parser = clap::value_parser!(u32).range(0..=365))]
        overlap_days: u32,
    },
    /// The master key and token key generations, and what a rotation has left to do.
    Status,
}

pub async fn run(config: Config, command: KeysCommand) -> Result<(), String> {
    let clock: SharedClock = Arc::new(SystemClock);
    match command {
        KeysCommand::RotateMaster {
            new_key_file,
            batch,
        } => rotate_master(&config, &clock, &new_key_file, batch).await,
        KeysCommand::RotateTokens { overlap_days } => {
            let (db, master_key) = serve::open_with_key(&config).await?;
            let app = App::new(db.clone(), Arc::new(config), clock, master_key.expose()).await?;
            let overlap = Duration::from_secs(u64::from(overlap_days) * 86_400);
            let done = keys::rotate_tokens(&app, overlap).await?;
            println!(
                "token keys generation {} signs from now on (running servers take it up within {} s); \
                 the previous generations verify until {}, then are retired{}",
                done.generation,
                keys::REFRESH.as_secs(),
                keys::iso(done.previous_verify_until),
                if done.retired > 0 {
                    format!(
                        "; {} generations whose overlap had ended were retired",
                        done.retired
                    )
                } else {
                    String::new()
                }
            );
            db.close().await;
            Ok(())
        }
        KeysCommand::Status => {
            let db = serve::open(&config).await?;
            for line in keys::status(&db, &clock).await? {
                println!("{line}");
            }
            db.close().await;
            Ok(())
        }
    }
}

async fn rotate_master(
    config: &Config,
    clock: &SharedClock,
    new_key_file: &std::path::Path,
    batch: u32,
) -> Result<(), String> {
    if !new_key_file.exists() {
        return Err(format!(
            "--new-key-file {} does not exist; make one with: openssl rand -hex 32 > {0} && chmod 600 {0}",
            new_key_file.display()
        ));
    }
    let new_key = datadir::read_key_file(new_key_file)?;
    let (db, current) = serve::open_with_key(config).await?;
    let mut bar = Bar::new();
    eprintln!(
        "announcing the new master key; waiting {} s for running servers to take it up",
        keys::ROTATION_GRACE.as_secs()
    );
    let result = keys::rotate_master(
        &db,
        clock,
        current.expose(),
        new_key.expose(),
        keys::ROTATION_GRACE,
        batch,
        &mut |p| bar.show(p),
    )
    .await;
    bar.end();
    db.close().await;
    let done = result?;
    println!(
        "master key rotated from generation {} to {}{}: {} values re-sealed ({})",
        done.from,
        done.to,
        if done.resumed { " (continued)" } else { "" },
        done.total(),
        done.resealed
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(column, n)| format!("{column}: {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if done.unreadable > 0 {
        println!(
            "{} values opened under neither key and were left as they are (damaged before the rotation)",
            done.unreadable
        );
    }
    if let Some(generation) = done.new_token_generation {
        println!(
            "The token keys came from the first master key, so they were replaced too: token keys \
             generation {generation} signs from now on; tokens signed before are refused \
             (API clients renew them with their refresh tokens; open console pages need a reload)"
        );
    }
    if !done.old_copies_cleared {
        println!(
            "Old copies of the re-sealed values could not be cleared from the database's free \
             space (see the log); run VACUUM on it"
        );
    }
    println!(
        "Generation {} is retired and opens nothing. Install {} as the master key \
         (HOLDFAST_MASTER_KEY_FILE or <data dir>/master.key) before servers restart; \
         running servers already use it.",
        done.from,
        new_key_file.display()
    );
    Ok(())
}

/// A progress bar on a terminal; a line per tenth otherwise.
struct Bar {
    terminal: bool,
    last_tenth: Option<u64>,
}

impl Bar {
    fn new() -> Bar {
        Bar {
            terminal: std::io::stderr().is_terminal(),
            last_tenth: None,
        }
    }

    fn show(&mut self, p: Progress) {
        let total = p.total.max(1);
        let tenth = p.done * 10 / total;
        if self.terminal {
            let filled = usize::try_from(p.done * 30 / total).unwrap_or(30).min(30);
            eprint!(
                "\r[{}{}] {}/{} values re-sealed",
                "#".repeat(filled),
                "-".repeat(30 - filled),
                p.done,
                p.total
            );
            let _ = std::io::stderr().flush();
        } else if self.last_tenth != Some(tenth) {
            self.last_tenth = Some(tenth);
            eprintln!("re-sealed {}/{} values", p.done, p.total);
        }
    }

    fn end(&self) {
        if self.terminal {
            eprintln!();
        }
    }
}
