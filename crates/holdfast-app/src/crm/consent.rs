//! Consent changes (CRM): the one way consent changes, from staff, an import or the contact's
//! own links ([`change_consent`]: double opt-in applied, every change logged), the contact's
//! own choices from the preference center and the client portal ([`own_choices`], shown by
//! [`own_view`]), the reset when a contact's address changes, revoking a contact's preference
//! links, and the consent view every entry point shows.

use crate::audit::Origin;
use crate::outreach::{ContactEmail, Decision};
use holdfast_core::crm::consent::{
    self as rules, Channel, ConsentLogEntry, ConsentOut, LawfulBasis, PrivacySettings, Purpose,
    Source, Status,
};
use holdfast_core::crm::preferences::{PreferenceOut, PreferencesOut};
use holdfast_core::ids::ContactId;
use holdfast_store::crm::consent::{self as store, Change, Standing, Who};
use holdfast_store::ops::audit::NewEvent;
use holdfast_store::{Lock, StoreError, TenantTx};

pub fn view(contact: &ContactId, standing: &Standing, settings: &PrivacySettings) -> ConsentOut {
    ConsentOut {
        contact_id: contact.to_string(),
        mode: settings.mode,
        do_not_contact: standing.do_not_contact,
        do_not_sell: standing.do_not_sell,
        channels: standing
            .channels
            .iter()
            .map(|(c, v)| (c.as_str().to_owned(), v.clone()))
            .collect(),
    }
}

/// The contact's own consent as they see it (the preference center's page, the client
/// portal): each channel's status and when it changed, and Do Not Contact.
pub fn own_view(standing: &Standing) -> PreferencesOut {
    PreferencesOut {
        channels: Channel::ALL
            .iter()
            .map(|c| {
                let updated_at = standing.channels.get(c).and_then(|v| v.updated_at);
                let out = PreferenceOut {
                    status: standing.status(*c),
                    updated_at,
                };
                (c.as_str().to_owned(), out)
            })
            .collect(),
        do_not_contact: standing.do_not_contact,
    }
}

/// The contact's own act for the consent log: actor `contact`, from `origin`'s address and
/// user agent, through `source` (`preference_center`, `portal`, `confirmation`).
pub fn contacts_own(origin: &Origin, source: Source, note: Option<&str>) -> Who {
    let known = |text: &str| (!text.is_empty()).then(|| text.to_owned());
    Who {
        actor: "contact".to_owned(),
        ip: known(&origin.ip),
        user_agent: known(&origin.user_agent),
        source,
        note: note.map(str::to_owned),
    }
}

/// The contact's own choices (already validated by `holdfast_core::crm::preferences`), from
/// the preference center or the client portal: a grant rests on their consent and waits for no
/// confirmation (it is their own act), a denial needs no basis; through [`change_consent`],
/// in the caller's transaction, with `before` locked by the caller.
pub async fn own_choices(
    tx: &mut TenantTx<'_>,
    contact: &ContactId,
    before: &Standing,
    choices: &[(Channel, Status)],
    who: &Who,
    now: i64,
) -> Result<Vec<ConsentLogEntry>, StoreError> {
    let changes: Vec<Change> = choices
        .iter()
        .map(|(channel, status)| Change::Channel {
            channel: *channel,
            status: *status,
            lawful_basis: (*status == Status::Granted).then_some(LawfulBasis::Consent),
        })
        .collect();
    change_consent(tx, contact, before, &changes, who, now).await
}

/// The one way consent changes: requested grants become `pending` where double opt-in is on
/// (the contact is then sent a single-use confirmation link through the choke point), each
/// real change is written with its log entry, all in the caller's transaction.
pub async fn change_consent(
    tx: &mut TenantTx<'_>,
    contact: &ContactId,
    before: &Standing,
    changes: &[Change],
    who: &Who,
    now: i64,
) -> Result<Vec<ConsentLogEntry>, StoreError> {
    let settings = store::settings(tx).await?;
    let (effective, ask) = effective_changes(&settings, before, changes, who.source);
    let written = store::apply(tx, contact, before, &effective, who, now).await?;
    if ask {
        ask_confirmation(tx, contact, now).await?;
    }
    Ok(written)
}

/// The changes as [`change_consent`] makes them under `settings` (requested grants wait for
/// confirmation where double opt-in is on), and whether the contact is to be asked to confirm
/// their email.
pub(crate) fn effective_changes(
    settings: &PrivacySettings,
    before: &Standing,
    changes: &[Change],
    source: Source,
) -> (Vec<Change>, bool) {
    let mut ask = false;
    let effective = changes
        .iter()
        .map(|change| match change {
            Change::Channel {
                channel,
                status,
                lawful_basis,
            } => {
                let current = before.status(*channel);
                let status = rules::effective_status(
                    *status,
                    current,
                    source,
                    settings.double_opt_in_on(*channel),
                );
                // A new wait, or a grant asked again while waiting (the first link may be
                // lost or expired): the contact gets a confirmation request.
                ask |= status == Status::Pending && *channel == Channel::Email;
                Change::Channel {
                    channel: *channel,
                    status,
                    lawful_basis: *lawful_basis,
                }
            }
            other => other.clone(),
        })
        .collect();
    (effective, ask)
}

/// Queues the double opt-in request. Its single-use link is made when the mail is sent
/// (`outreach`), so the token never waits in the queue in clear.
pub(crate) async fn ask_confirmation(
    tx: &mut TenantTx<'_>,
    contact: &ContactId,
    now: i64,
) -> Result<Decision, StoreError> {
    let name = holdfast_store::access::workspaces::get(tx)
        .await?
        .map(|w| w.name)
        .unwrap_or_else(|| "us".to_owned());
    let body = format!(
        "Please confirm that you want to receive email from {name}:\n\n{}\n\n\
         The link works once, for 7 days. If you did not ask for this, ignore this message: \
         nothing more will be sent to you by email until you confirm.\n",
        crate::outreach::CONFIRMATION_LINK
    );
    let mail = ContactEmail {
        subject: format!("Please confirm your subscription to {name}"),
        body,
        ..ContactEmail::default()
    };
    crate::outreach::queue_to_contact(tx, contact, Purpose::Confirmation, mail, now).await
}

/// A contact's email address changed: consent given for the old address (or a confirmation
/// link sent to it) says nothing about the new one. Email consent goes back to unknown
/// (logged), open confirmations end, preference links mailed to the old address stop
/// working, and the contact's client portal sessions and sign-in links end, all in the
/// change's transaction.
pub async fn address_changed(
    tx: &mut TenantTx<'_>,
    contact: &ContactId,
    who: &Who,
    now: i64,
) -> Result<(), StoreError> {
    let Some(before) = store::standing(tx, contact, Lock::ForUpdate).await? else {
        return Ok(());
    };
    let reset = Change::Channel {
        channel: Channel::Email,
        status: Status::Unknown,
        lawful_basis: None,
    };
    store::apply(tx, contact, &before, &[reset], who, now).await?;
    old_address_ends(tx, contact, now).await
}

/// What a change of address ends besides the email consent: preference links mailed to the
/// old address stop working, and whoever held it loses the client portal sessions and the
/// unspent sign-in and password reset links they may hold. For a caller that logs the
/// consent reset its own way (the CSV import, which keeps its rows' order in the log).
pub async fn old_address_ends(
    tx: &mut TenantTx<'_>,
    contact: &ContactId,
    now: i64,
) -> Result<(), StoreError> {
    store::revoke_preference_links(tx, contact, now).await?;
    holdfast_store::portal::sessions::end_all(tx, contact, now).await?;
    holdfast_store::portal::links::spend_all(tx, contact, now).await?;
    Ok(())
}

/// Sets the workspace's privacy mode and double opt-in channels (already validated), audited
/// with before and after — for the API and the console alike.
pub async fn save_privacy_settings(
    state: &crate::App,
    actor: &holdfast_store::identity::auth::Actor,
    origin: &crate::audit::Origin,
    settings: &PrivacySettings,
) -> crate::AppResult<()> {
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&actor.tenant).await?;
    let before = store::settings(&mut tx).await?;
    store::save_settings(&mut tx, settings, now).await?;
    let event = origin.event(
        "privacy.settings_changed",
        "workspace",
        actor.tenant.workspace_id().as_str(),
        serde_json::json!({"before": before, "after": settings}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Revokes the contact's preference-center links (links in mails already sent stop working),
/// with `by`'s audit entry (`contact.preference_links_revoked`, with the count), in the
/// caller's transaction; `None` when the contact does not exist.
pub async fn revoke_links(
    tx: &mut TenantTx<'_>,
    contact: &ContactId,
    by: NewEvent,
    now: i64,
) -> Result<Option<u64>, StoreError> {
    if store::standing(tx, contact, Lock::ForUpdate)
        .await?
        .is_none()
    {
        return Ok(None);
    }
    let revoked = store::revoke_preference_links(tx, contact, now).await?;
    let event = NewEvent {
        action: "contact.preference_links_revoked",
        entity_type: "contact",
        entity_id: contact.to_string(),
        summary: serde_json::json!({"revoked": revoked}),
        ..by
    };
    holdfast_store::ops::audit::append(tx, &event, now).await?;
    Ok(Some(revoked))
}
