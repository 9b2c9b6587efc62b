//! Audit events of Holdfast itself: what the job worker and other work outside a request does,
//! and [`Origin`]: who acts and from where, as an entry point (an API request, a console form)
//! hands it to an application operation that records what it did. The entry point builds the
//! origin (the HTTP layer knows the address, user agent and request id).

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

/// Who acts (an API key or a user) and from where (address, user agent, request id): what an
/// application operation needs to record its audit events, whichever entry point called it.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub actor_type: &'static str,
    pub actor_id: String,
    pub ip: String,
    pub user_agent: String,
    pub request_id: String,
}

impl Origin {
    /// An event done by this origin's actor.
    pub fn event(
        &self,
        action: &'static str,
        entity_type: &'static str,
        entity_id: impl Into<String>,
        summary: Value,
    ) -> NewEvent {
        NewEvent {
            actor_type: self.actor_type,
            actor_id: self.actor_id.clone(),
            action,
            entity_type,
            entity_id: entity_id.into(),
            summary,
            ip: self.ip.clone(),
            user_agent: self.user_agent.clone(),
            request_id: self.request_id.clone(),
        }
    }
}
