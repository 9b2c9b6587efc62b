//! `GET /api/v1/events`: the help desk's live feed for signed-in operators, as Server-Sent
//! Events. Each event names what changed (`ticket.created`, `ticket.updated`,
//! `message.created`, with the ticket and message ids) in the caller's workspace; the console
//! fetches the record itself through the permission-checked API. Notices come from
//! `holdfast_store::ops::notices`: committed changes of every instance on a PostgreSQL database,
//! of this process on SQLite.
//!
//! A stream lasts at most [`STREAM_LIFETIME`] and then ends with a `retry:` hint, so a revoked
//! key or an ended session stops receiving within that time (browsers' `EventSource`
//! reconnects by itself, through the guard again). A reader that fell behind gets a `resync`
//! event: it should fetch what it shows again. Missed events are not replayed.

use crate::guard::Authed;
use crate::guard::Guard;
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use axum::extract::State;
use axum::http::Method;
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
/// A comment line this often keeps proxies from closing an idle stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// The reconnection delay suggested to clients, in milliseconds.
const RETRY_MS: u64 = 2000;

pub fn routes(t: &mut RouteTable) {
    t.module(Module::Helpdesk, |t| {
        t.add(
            Method::GET,
            "/api/v1/events",
            Guard::Staff {
                permission: Permission::TicketsRead,
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
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let feed = Feed {
        subscription: state.db.subscribe(),
        workspace: actor.tenant.workspace_id().as_str().to_owned(),
        role: actor.role,
        ends_at: Instant::now() + STREAM_LIFETIME,
        opened: false,
        closing: state.closing.subscribe(),
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
            let heard = tokio::select! {
                heard = tokio::time::timeout_at(self.ends_at, self.subscription.next()) => heard.ok()??,
                _ = self.closing.wait_for(|closing| *closing) => return None,
            };
            match heard {
                Heard::Missed => return Some(Event::default().event("resync").data("{}")),
                Heard::Notice(notice) => {
                    if notice.workspace_id != self.workspace
                        || !self.role.grants(notice.permission())
                    {
                        continue;
                    }
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
}
