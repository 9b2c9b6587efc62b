//! Audit events of Holdfast itself: what the job worker and other work outside a request does.
//! Events of a request (its actor, address, user agent and id) are built by the HTTP layer.

use holdfast_store::ops::audit::NewEvent;
use serde_json::Value;

/// An event done by Holdfast itself (the job worker), outside any request.
pub fn by_system(
    action: &'static str,
    entity_type: &'static str,
    entity_id: impl Into<String>,
    summary: Value,
) -> NewEvent {
    NewEvent {
        actor_type: "system",
        actor_id: "worker".to_owned(),
        action,
        entity_type,
        entity_id: entity_id.into(),
        summary,
        ip: String::new(),
        user_agent: String::new(),
        request_id: String::new(),
    }
}
