//! Saved replies filled in for a ticket as a given actor would send them (field rules applied to
//! the contact's name), for the API's render endpoint and a ticket reply that names one.

use crate::AppResult;
use holdfast_core::access::fields::{self, Field};
use holdfast_core::helpdesk::saved_replies::{SavedReplyOut, Values, render};
use holdfast_core::helpdesk::tickets::TicketOut;
use holdfast_core::ids::ContactId;
use holdfast_store::TenantTx;
use holdfast_store::helpdesk::saved_replies as store;
use holdfast_store::identity::auth::{Actor, Principal};

/// Fills in `saved` for `ticket` (if any) as `actor` would send it: the contact's name only
/// when the actor's role may read it, the ticket's subject, and the sender's name (an API
/// key's name; users have no display name yet, so their fallback shows).
pub async fn render_for(
    tx: &mut TenantTx<'_>,
    actor: &Actor,
    saved: &SavedReplyOut,
    ticket: Option<&TicketOut>,
) -> AppResult<String> {
    let mut values = Values::default();
    if let Some(ticket) = ticket {
        values.ticket_subject = Some(ticket.subject.clone());
        if let Some(contact) = &ticket.contact_id {
            let id = ContactId::from_trusted(contact.clone());
            values.contact_name =
                holdfast_store::crm::contacts::get(tx, &id, holdfast_store::Lock::Read)
                    .await?
                    .and_then(|c| {
                        fields::Visible::contact(&actor.role, &c)
                            .text(Field::ContactsName)
                            .map(str::to_owned)
                    });
        }
    }
    if let Principal::ApiKey(key) = &actor.principal {
        values.agent_name = store::api_key_name(tx, key).await?;
    }
    Ok(render(&saved.body, &values))
}
