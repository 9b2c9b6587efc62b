//! Realtime notices: the small message a domain event becomes for signed-in operators'
//! live views (`GET /api/v1/events`). A notice names what changed — the event, its ticket and
//! message — and never carries the record itself: the console fetches what it shows through
//! the ordinary, permission-checked API, so a notice cannot leak a field its reader may not see.
//!
//! Notices travel between server instances as PostgreSQL `NOTIFY` payloads (at most 8000 bytes;
//! a notice is a few hundred) and inside one process over a broadcast channel.

use crate::access::policy::Permission;
use crate::clock::Millis;
use crate::webhooks::EventType;
use serde::{Deserialize, Serialize};

/// The PostgreSQL channel every instance listens on.
pub const CHANNEL: &str = "holdfast_events";

/// What one event tells live views.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// The event's id (`evt_…`), also the SSE `id:` field.
    pub id: String,
    pub workspace_id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ticket_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub message_id: Option<String>,
    /// For presence notices (`ticket.replying`): the member it is about.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub user_id: Option<String>,
    pub occurred_at: Millis,
}

/// A presence notice, not an event: a member is writing an answer to a ticket. Live views
/// of that ticket tell their readers so two people do not answer at once; no webhook hears it.
pub const REPLYING: &str = "ticket.replying";

/// Whether live views hear about this event (the help desk's events; contacts are not streamed).
pub fn is_streamed(event: EventType) -> bool {
    matches!(
        event,
        EventType::TicketCreated
            | EventType::TicketUpdated
            | EventType::MessageCreated
            | EventType::MessageDeliveryUpdated
    )
}

impl Notice {
    /// The notice of a streamed event whose webhook `data` is a ticket (`id`) or a message
    /// (`id`, `ticket_id`); `None` for events live views do not hear about.
    pub fn of(
        event: EventType,
        event_id: &str,
        workspace_id: &str,
        data: &serde_json::Value,
        occurred_at: Millis,
    ) -> Option<Notice> {
        if !is_streamed(event) {
            return None;
        }
        let text = |key: &str| data.get(key).and_then(|v| v.as_str()).map(str::to_owned);
        let (ticket_id, message_id) = match event {
            EventType::MessageCreated | EventType::MessageDeliveryUpdated => {
                (text("ticket_id"), text("id"))
            }
            _ => (text("id"), None),
        };
        Some(Notice {
            id: event_id.to_owned(),
            workspace_id: workspace_id.to_owned(),
            event_type: event.as_str().to_owned(),
            ticket_id,
            message_id,
            user_id: None,
            occurred_at,
        })
    }

    /// `user_id` is writing an answer to `ticket_id` (see [`REPLYING`]); `id` names the notice.
    pub fn replying(
        id: &str,
        workspace_id: &str,
        ticket_id: &str,
        user_id: &str,
        occurred_at: Millis,
    ) -> Notice {
        Notice {
            id: id.to_owned(),
            workspace_id: workspace_id.to_owned(),
            event_type: REPLYING.to_owned(),
            ticket_id: Some(ticket_id.to_owned()),
            message_id: None,
            user_id: Some(user_id.to_owned()),
            occurred_at,
        }
    }

    /// What a reader needs to receive this notice.
    pub fn permission(&self) -> Permission {
        EventType::parse(&self.event_type).map_or(Permission::TicketsRead, EventType::permission)
    }

    /// The body sent to a live view: the notice without its workspace (the reader's own).
    pub fn public_json(&self) -> serde_json::Value {
        let mut body = serde_json::json!({
            "id": self.id,
            "type": self.event_type,
            "occurred_at": self.occurred_at,
        });
        if let Some(ticket) = &self.ticket_id {
            body["ticket_id"] = ticket.as_str().into();
        }
        if let Some(message) = &self.message_id {
            body["message_id"] = message.as_str().into();
        }
        if let Some(user) = &self.user_id {
            body["user_id"] = user.as_str().into();
        }
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_message_event_names_its_ticket_and_message_and_nothing_else() {
        let data =
            json!({"id": "msg_1", "ticket_id": "tk_1", "body": "private words", "kind": "note"});
        let notice =
            Notice::of(EventType::MessageCreated, "evt_1", "ws_1", &data, 42).expect("streamed");
        assert_eq!(notice.ticket_id.as_deref(), Some("tk_1"));
        assert_eq!(notice.message_id.as_deref(), Some("msg_1"));
        let text = serde_json::to_string(&notice).unwrap();
        assert!(!text.contains("private words"), "{text}");
        assert_eq!(serde_json::from_str::<Notice>(&text).unwrap(), notice);
        let public = notice.public_json();
        assert!(public.get("workspace_id").is_none());
        assert_eq!(public["type"], "message.created");
    }

    #[test]
    fn ticket_events_name_the_ticket_and_contacts_are_not_streamed() {
        let data = json!({"id": "tk_9", "subject": "Leak"});
        let notice = Notice::of(EventType::TicketUpdated, "evt_2", "ws_1", &data, 1).unwrap();
        assert_eq!(notice.ticket_id.as_deref(), Some("tk_9"));
        assert_eq!(notice.message_id, None);
        assert_eq!(notice.permission(), Permission::TicketsRead);
        assert!(Notice::of(EventType::ContactCreated, "evt_3", "ws_1", &data, 1).is_none());
    }

    #[test]
    fn a_notice_fits_a_postgres_notify_payload_many_times_over() {
        let long = "x".repeat(64);
        let data = json!({"id": long, "ticket_id": long});
        let notice = Notice::of(EventType::MessageCreated, &long, &long, &data, i64::MAX).unwrap();
        assert!(serde_json::to_string(&notice).unwrap().len() < 1000);
    }
}
