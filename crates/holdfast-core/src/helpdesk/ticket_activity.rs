//! A ticket's activity timeline: what changed, who changed it, when. Entries are worked out
//! here from the ticket before a change and the change itself, so every way of changing a
//! ticket (a PATCH, a bulk change, a message) records the same things.

use crate::helpdesk::tickets::{MessageKind, TicketChange, TicketOut};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivityKind {
    /// `{channel}`
    Created,
    /// `{from, to}`, and `reason` when a message moved it (`reply`, `message`).
    StatusChanged,
    /// `{from, to}` (user ids or null).
    AssigneeChanged,
    /// `{from, to}`
    PriorityChanged,
    /// `{from, to}`
    SubjectChanged,
    /// `{added, removed}`
    TagsChanged,
    /// `{message_id}`: the customer wrote.
    MessageReceived,
    /// `{message_id}`: the team replied to the customer.
    ReplySent,
    /// `{message_id}`: an internal note.
    NoteAdded,
}

impl ActivityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActivityKind::Created => "created",
            ActivityKind::StatusChanged => "status_changed",
            ActivityKind::AssigneeChanged => "assignee_changed",
            ActivityKind::PriorityChanged => "priority_changed",
            ActivityKind::SubjectChanged => "subject_changed",
            ActivityKind::TagsChanged => "tags_changed",
            ActivityKind::MessageReceived => "message_received",
            ActivityKind::ReplySent => "reply_sent",
            ActivityKind::NoteAdded => "note_added",
        }
    }

    pub fn of_message(kind: MessageKind) -> ActivityKind {
        match kind {
            MessageKind::Inbound => ActivityKind::MessageReceived,
            MessageKind::Reply => ActivityKind::ReplySent,
            MessageKind::Note => ActivityKind::NoteAdded,
        }
    }
}

/// One entry to append: its kind and details.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityEntry {
    pub kind: ActivityKind,
    pub data: Value,
}

impl ActivityEntry {
    pub fn new(kind: ActivityKind, data: Value) -> Self {
        ActivityEntry { kind, data }
    }
}

/// An entry as the API shows it (`GET /api/v1/tickets/{id}/activity`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ActivityOut {
    pub id: String,
    pub ticket_id: String,
    /// Position in the ticket's timeline, from 1.
    pub seq: i64,
    /// `created`, `status_changed`, `assignee_changed`, `priority_changed`, `subject_changed`,
    /// `tags_changed`, `message_received`, `reply_sent` or `note_added`.
    pub kind: String,
    /// `user`, `api_key`, `contact` or `system`.
    pub actor_type: String,
    pub actor_id: Option<String>,
    /// Details of the kind (`from`/`to`, `added`/`removed`, `message_id`, `channel`); `bulk`
    /// is true when the change came from `POST /api/v1/tickets/bulk`.
    pub data: Value,
    pub created_at: i64,
}

/// What `change` would change on `before`, as timeline entries; empty when it changes nothing.
pub fn changes(before: &TicketOut, change: &TicketChange) -> Vec<ActivityEntry> {
    let mut out = Vec::new();
    let mut from_to = |kind, from: Value, to: Value| {
        if from != to {
            out.push(ActivityEntry::new(kind, json!({"from": from, "to": to})));
        }
    };
    if let Some(subject) = &change.subject {
        from_to(
            ActivityKind::SubjectChanged,
            json!(before.subject),
            json!(subject),
        );
    }
    if let Some(status) = change.status {
        from_to(
            ActivityKind::StatusChanged,
            json!(before.status),
            json!(status.as_str()),
        );
    }
    if let Some(assignee) = &change.assignee {
        from_to(
            ActivityKind::AssigneeChanged,
            json!(before.assignee),
            json!(assignee),
        );
    }
    if let Some(priority) = change.priority {
        from_to(
            ActivityKind::PriorityChanged,
            json!(before.priority),
            json!(priority.as_str()),
        );
    }
    if let Some(tags) = &change.tags {
        let added: Vec<&String> = tags.iter().filter(|t| !before.tags.contains(t)).collect();
        let removed: Vec<&String> = before.tags.iter().filter(|t| !tags.contains(t)).collect();
        if !added.is_empty() || !removed.is_empty() {
            out.push(ActivityEntry::new(
                ActivityKind::TagsChanged,
                json!({"added": added, "removed": removed}),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::helpdesk::tickets::{Priority, Status};

    fn ticket() -> TicketOut {
        TicketOut {
            id: "tk_1".into(),
            subject: "Tap".into(),
            status: "open".into(),
            priority: "normal".into(),
            assignee: None,
            tags: vec!["plumbing".into(), "visit".into()],
            contact_id: None,
            channel: "api".into(),
            created_at: 0,
            updated_at: 0,
            last_message_at: 0,
            first_response_at: None,
            resolved_at: None,
            first_response_seconds: None,
            resolution_seconds: None,
        }
    }

    #[test]
    fn only_real_changes_are_recorded() {
        let same = TicketChange {
            subject: Some("Tap".into()),
            status: Some(Status::Open),
            priority: Some(Priority::Normal),
            assignee: Some(None),
            tags: Some(vec!["visit".into(), "plumbing".into()]),
        };
        assert!(changes(&ticket(), &same).is_empty());
        let real = TicketChange {
            status: Some(Status::Resolved),
            assignee: Some(Some("usr_1".into())),
            tags: Some(vec!["plumbing".into(), "urgent".into()]),
            ..TicketChange::default()
        };
        let entries = changes(&ticket(), &real);
        let kinds: Vec<&str> = entries.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(
            kinds,
            ["status_changed", "assignee_changed", "tags_changed"]
        );
        assert_eq!(entries[0].data, json!({"from": "open", "to": "resolved"}));
        assert_eq!(entries[1].data, json!({"from": null, "to": "usr_1"}));
        assert_eq!(
            entries[2].data,
            json!({"added": ["urgent"], "removed": ["visit"]})
        );
    }
}
