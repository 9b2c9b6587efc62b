//! `GET /api/v1/events`: the help desk's live feed for signed-in operators, as Server-Sent
//! Events. Each event names what changed (`ticket.created`, `ticket.updated`,
//! `message.created`, with the ticket and message ids) in the caller's workspace; the console
//! fetches the record itself through the permission-checked API. Notices come from
//! `holdfast_store::ops::notices`: committed changes of every instance on a PostgreSQL database,
//! of this process on SQLite.
//!
//! A stream outlives the request the guard let through, so it asks the guard's own question
//! again (`guard::still_staff`: session live, account not locked, key not revoked, workspace
//! not suspended, the permission and the module still there) every [`CREDENTIAL_RECHECK`],
//! and before it delivers an event when its last answer is older than [`DELIVERY_FRESHNESS`];
//! when the answer turns no, the stream ends (a browser's `EventSource` reconnects, through
//! the guard, and is refused). A stream also lasts at most [`STREAM_LIFETIME`] and then ends
//! with a `retry:` hint. A reader that fell behind gets a `resync` event: it should fetch what
//! it shows again. Missed events are not replayed. Threat note: docs/design/guards.md.

use crate::guard::{self, Authed, Guard};
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use axum::extract::State;
use axum::http::{HeaderMap, Method};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use futures::{Stream, StreamExt};
use holdfast_core::access::modules::Module;
use holdfast_core::access::policy::Permission;
use holdfast_store::ops::notices::{Heard, Subscription};
use std::convert::Infallible;
use std::time::Duration;
use tokio::time::Instant;

/// How long one stream stays open before the client is asked to reconnect.
pub const STREAM_LIFETIME: Duration = Duration::from_secs(300);
/// How often an open stream asks whether its credential still holds, events or not.
pub const CREDENTIAL_RECHECK: Duration = Duration::from_secs(5);
/// An event is delivered only on an answer at most this old (a burst of events costs one check
/// a second, not one each).
pub const DELIVERY_FRESHNESS: Duration = Duration::from_secs(1);
/// What the stream requires, at the guard and at each re-check.
const PERMISSION: Permission = Permission::TicketsRead;
const MODULE: Module = Module::Helpdesk;
/// A comment line this often keeps proxies from closing an idle stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// The reconnection delay suggested to clients, in milliseconds.
const RETRY_MS: u64 = 2000;

pub fn routes(t: &mut RouteTable) {
    t.module(MODULE, |t| {
        t.add(
            Method::GET,
            "/api/v1/events",
            Guard::Staff {
                permission: PERMISSION,
            },
            Doc::new(
                "events",
                "Live help-desk events of the workspace (Server-Sent Events): ticket.created, ticket.updated, message.created",
            )
            .text("text/event-stream"),
            get(events),
        );
    });
}

async fn events(
    State(state): State<AppState>,
    Authed(actor): Authed,
    headers: HeaderMap,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let now = Instant::now();
    let feed = Feed {
        subscription: state.db.subscribe(),
        workspace: actor.tenant.workspace_id().as_str().to_owned(),
        role: actor.role,
        ends_at: now + STREAM_LIFETIME,
        opened: false,
        closing: state.closing.subscribe(),
        credential: guard::credential_of(&headers),
        checked_at: now,
        app: state,
    };
    let stream = futures::stream::unfold(feed, |mut feed| async move {
        let event = feed.next().await?;
        Some((Ok(event), feed))
    })
    .fuse();
    Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
}

struct Feed {
    subscription: Subscription,
    workspace: String,
    role: holdfast_core::access::policy::Role,
    ends_at: Instant,
    opened: bool,
    /// The server's shutdown signal: the stream ends when it turns true.
    closing: tokio::sync::watch::Receiver<bool>,
    /// The request's credential headers, asked about again while the stream is open.
    credential: HeaderMap,
    /// When the credential last held (the guard's check counts as the first).
    checked_at: Instant,
    app: AppState,
}

impl Feed {
    /// The next event for this reader; `None` ends the stream.
    async fn next(&mut self) -> Option<Event> {
        if !self.opened {
            // First an event that says the stream is live (and how soon to reconnect), so a
            // client knows from when on it hears every change.
            self.opened = true;
            return Some(
                Event::default()
                    .event("ready")
                    .retry(Duration::from_millis(RETRY_MS))
                    .data("{}"),
            );
        }
        loop {
            let recheck_at = self.checked_at + CREDENTIAL_RECHECK;
            // `None`: time to ask again whether the credential holds.
            let heard = tokio::select! {
                heard = tokio::time::timeout_at(self.ends_at, self.subscription.next()) => Some(heard.ok()??),
                _ = tokio::time::sleep_until(recheck_at) => None,
                _ = self.closing.wait_for(|closing| *closing) => return None,
            };
            let Some(heard) = heard else {
                self.credential_holds().await?;
                continue;
            };
            match heard {
                Heard::Missed => {
                    self.fresh_credential().await?;
                    return Some(Event::default().event("resync").data("{}"));
                }
                Heard::Notice(notice) => {
                    if notice.workspace_id != self.workspace
                        || !self.role.grants(notice.permission())
                    {
                        continue;
                    }
                    self.fresh_credential().await?;
                    return Some(
                        Event::default()
                            .id(notice.id.as_str())
                            .event(notice.event_type.as_str())
                            .data(notice.public_json().to_string()),
                    );
                }
            }
        }
    }

    /// Asks the guard's question again; `None` (ending the stream) when the credential no
    /// longer holds.
    async fn credential_holds(&mut self) -> Option<()> {
        let Some(actor) =
            guard::still_staff(&self.app, &self.credential, PERMISSION, Some(MODULE)).await
        else {
            tracing::info!("live event stream ended: its credential no longer holds");
            return None;
        };
        // A role edited meanwhile filters the next events.
        self.role = actor.role;
        self.checked_at = Instant::now();
        Some(())
    }

    /// As [`Feed::credential_holds`], unless the last answer is fresh enough to deliver on.
    async fn fresh_credential(&mut self) -> Option<()> {
        if self.checked_at.elapsed() < DELIVERY_FRESHNESS {
            return Some(());
        }
        self.credential_holds().await
    }
}
