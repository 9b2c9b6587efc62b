//! Realtime notices between the transactions that cause them and the live views that show
//! them ([`holdfast_core::ops::realtime`]).
//!
//! A notice is raised inside the tenant transaction of its change ([`TenantTx::notify`]) and
//! reaches readers only if that transaction commits:
//! - on PostgreSQL as `pg_notify` in the transaction, which the server delivers at commit to
//!   every listening connection — every Holdfast instance on the database runs one
//!   ([`Db::listen_for_notices`]) and hands what it hears to its own readers;
//! - on SQLite (one process) from the transaction's commit straight to this process's readers.
//!
//! Delivery is at most once and best effort: a reader that falls behind, or an instance whose
//! listening connection drops, misses notices and is told to refetch (`Heard::Missed`).

use crate::db::{Backend, Db};
use crate::error::StoreError;
use crate::tenant::TenantTx;
use holdfast_core::ops::realtime::{CHANNEL, Notice};
use std::time::Duration;
use tokio::sync::broadcast;

/// How many notices a slow reader may fall behind before it is told it missed some.
pub(crate) const BACKLOG: usize = 1024;

pub(crate) fn hub() -> broadcast::Sender<Heard> {
    broadcast::channel(BACKLOG).0
}

/// What a reader hears next.
#[derive(Debug, Clone)]
pub enum Heard {
    Notice(Notice),
    /// Notices were lost (the reader fell behind, or the database connection dropped):
    /// whatever the reader shows should be fetched again.
    Missed,
}

/// One reader of this instance's notices (all workspaces; the reader filters).
pub struct Subscription {
    receiver: broadcast::Receiver<Heard>,
}

impl Subscription {
    /// The next notice; `None` once the database handle is gone.
    pub async fn next(&mut self) -> Option<Heard> {
        match self.receiver.recv().await {
            Ok(heard) => Some(heard),
            Err(broadcast::error::RecvError::Lagged(_)) => Some(Heard::Missed),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }
}

impl Db {
    /// Starts hearing notices of this process's commits and, on PostgreSQL, every instance's.
    pub fn subscribe(&self) -> Subscription {
        Subscription {
            receiver: self.notices.subscribe(),
        }
    }

    /// On PostgreSQL, opens a listening connection (returns once it listens) and forwards
    /// what it hears to this instance's readers until the process ends, reconnecting after a
    /// drop (readers are told they missed notices). On SQLite there is nothing to listen to.
    pub async fn listen_for_notices(&self, url: &str) -> Result<(), StoreError> {
        if self.backend() != Backend::Postgres {
            return Ok(());
        }
        let mut listener = sqlx::postgres::PgListener::connect(url).await?;
        listener.listen(CHANNEL).await?;
        let hub = self.notices.clone();
        tokio::spawn(async move {
            loop {
                match listener.try_recv().await {
                    Ok(Some(message)) => match serde_json::from_str::<Notice>(message.payload()) {
                        // No reader is not an error.
                        Ok(notice) => drop(hub.send(Heard::Notice(notice))),
                        Err(error) => {
                            tracing::warn!(%error, "a realtime notice could not be read")
                        }
                    },
                    // The connection dropped; the next call reconnects and listens again.
                    Ok(None) => {
                        tracing::warn!("realtime listener reconnecting; notices may be missed");
                        drop(hub.send(Heard::Missed));
                    }
                    Err(error) => {
                        tracing::warn!(%error, "realtime listener failed; retrying");
                        drop(hub.send(Heard::Missed));
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        });
        Ok(())
    }
}

impl TenantTx<'_> {
    /// Raises `notice` for live views when (and only if) this transaction commits.
    pub async fn notify(&mut self, notice: Notice) -> Result<(), StoreError> {
        match self.backend {
            Backend::Postgres => {
                let payload = serde_json::to_string(&notice).map_err(|e| {
                    StoreError::Setup(format!("a realtime notice could not be written: {e}"))
                })?;
                sqlx::query("SELECT pg_notify($1, $2)")
                    .bind(CHANNEL)
                    .bind(payload)
                    .execute(self.conn())
                    .await?;
            }
            Backend::Sqlite => self.pending_notices.push(notice),
        }
        Ok(())
    }
}
