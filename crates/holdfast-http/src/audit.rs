//! Building audit events from a request: who (the guard's actor, or nobody yet), from where (the
//! client's address and user agent) and which request (its id). The store appends them in the
//! transaction of the action they record.

use crate::extract::ClientInfo;
use holdfast_app::audit::Origin;
use holdfast_core::crm::consent::Source;
use holdfast_store::crm::consent::Who;
use holdfast_store::identity::auth::{Actor, Principal};
use holdfast_store::ops::audit::NewEvent;
use holdfast_store::portal::auth::PortalActor;
use serde_json::Value;

/// An event done by an authenticated actor.
pub(crate) fn by(
    actor: &Actor,
    client: &ClientInfo,
    action: &'static str,
    entity_type: &'static str,
    entity_id: impl Into<String>,
    summary: Value,
) -> NewEvent {
    origin(actor, client).event(action, entity_type, entity_id, summary)
}

/// Who acts in this request and from where, for an application operation to record its
/// events with (`holdfast_app::audit::Origin`).
pub(crate) fn origin(actor: &Actor, client: &ClientInfo) -> Origin {
    let (actor_type, actor_id) = match &actor.principal {
        Principal::ApiKey(id) => ("api_key", id.to_string()),
        Principal::User { user_id, .. } => ("user", user_id.to_string()),
    };
    Origin {
        actor_type,
        actor_id,
        ip: client.ip.clone().unwrap_or_default(),
        user_agent: client.user_agent.clone().unwrap_or_default(),
        request_id: crate::problem::current_request_id().unwrap_or_default(),
    }
}

/// Who acts in a client portal request (a signed-in customer, as their contact) and from
/// where.
pub(crate) fn portal_origin(actor: &PortalActor, client: &ClientInfo) -> Origin {
    Origin {
        actor_type: "contact",
        actor_id: actor.scope.contact().to_string(),
        ip: client.ip.clone().unwrap_or_default(),
        user_agent: client.user_agent.clone().unwrap_or_default(),
        request_id: crate::problem::current_request_id().unwrap_or_default(),
    }
}

/// Nobody signed in, from this request's address and user agent: the holder of a link token
/// (the preference center), for an application operation to record its events with.
pub(crate) fn anonymous_origin(client: &ClientInfo) -> Origin {
    Origin {
        actor_type: "anonymous",
        actor_id: String::new(),
        ip: client.ip.clone().unwrap_or_default(),
        user_agent: client.user_agent.clone().unwrap_or_default(),
        request_id: crate::problem::current_request_id().unwrap_or_default(),
    }
}

/// An event of a user who is only now proving who they are (sign-in).
pub(crate) fn by_user(
    user_id: &str,
    client: &ClientInfo,
    action: &'static str,
    summary: Value,
) -> NewEvent {
    NewEvent {
        actor_type: "user",
        actor_id: user_id.to_owned(),
        ..from(client, action, "user", user_id, summary)
    }
}

/// An event with no authenticated actor (a failed sign-in names the account it targeted).
pub(crate) fn anonymous(
    client: &ClientInfo,
    action: &'static str,
    entity_type: &'static str,
    entity_id: impl Into<String>,
    summary: Value,
) -> NewEvent {
    from(client, action, entity_type, entity_id, summary)
}

fn from(
    client: &ClientInfo,
    action: &'static str,
    entity_type: &'static str,
    entity_id: impl Into<String>,
    summary: Value,
) -> NewEvent {
    NewEvent {
        actor_type: "anonymous",
        actor_id: String::new(),
        action,
        entity_type,
        entity_id: entity_id.into(),
        summary,
        ip: client.ip.clone().unwrap_or_default(),
        user_agent: client.user_agent.clone().unwrap_or_default(),
        request_id: crate::problem::current_request_id().unwrap_or_default(),
    }
}

/// Who changes a contact's consent from a staff request: the actor, the client, the source
/// (the API for a key, the operator for a person, unless the request names another) and a note.
pub(crate) fn consent_who(
    actor: &Actor,
    client: &ClientInfo,
    source: Source,
    note: Option<String>,
) -> Who {
    let actor = match &actor.principal {
        Principal::ApiKey(id) => id.to_string(),
        Principal::User { user_id, .. } => user_id.to_string(),
    };
    Who {
        actor,
        ip: client.ip.clone(),
        user_agent: client.user_agent.clone(),
        source,
        note,
    }
}

/// The consent source of a staff actor: the API for a key, the operator for a person.
pub(crate) fn staff_source(actor: &Actor) -> Source {
    match actor.principal {
        Principal::ApiKey(_) => Source::Api,
        Principal::User { .. } => Source::Operator,
    }
}

/// The audit event of a failed sign-in to a real account: which factor failed, from where.
pub(crate) fn sign_in_failed(
    candidate: &holdfast_store::identity::LoginCandidate,
    client: &ClientInfo,
    factor: &'static str,
) -> NewEvent {
    anonymous(
        client,
        "auth.sign_in_failed",
        "user",
        candidate.user_id.as_str(),
        serde_json::json!({"failed": factor}),
    )
}
