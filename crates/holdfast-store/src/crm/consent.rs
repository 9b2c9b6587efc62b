//! Consent per contact and channel, Do Not Contact, "do not sell or share", the workspace's
//! privacy settings, the append-only consent log, the outbound choke point's decisions, and the
//! public links (preference center, double opt-in confirmation) found by their token's digest.
//! The rules are `holdfast_core::crm::consent`; the only sender is `holdfast_app::outreach`.

use crate::Db;
use crate::error::{Classify, StoreError};
use crate::sql::Sql;
use crate::tenant::{Lock, Tenant, TenantTx};
use holdfast_core::crm::consent::{
    Channel, ChannelConsent, ConsentLogEntry, LawfulBasis, OutreachEntry, PrivacySettings, Source,
    Status,
};
use holdfast_core::ids::{ConsentLogId, ContactId, OutreachId, WorkspaceId};
use std::collections::BTreeMap;

/// The workspace's settings (the defaults, CCPA mode without double opt-in, until saved).
pub async fn settings(tx: &mut TenantTx<'_>) -> Result<PrivacySettings, StoreError> {
    let ws = tx.ws().to_owned();
    let row: Option<(String, String)> =
        sqlx::query_as("SELECT mode, double_opt_in FROM privacy_settings WHERE workspace_id = $1")
            .bind(ws)
            .fetch_optional(tx.conn())
            .await?;
    let Some((mode, channels)) = row else {
        return Ok(PrivacySettings::default());
    };
    let names: Vec<String> = serde_json::from_str(&channels).unwrap_or_default();
    Ok(PrivacySettings {
        mode: holdfast_core::crm::consent::Mode::parse(&mode)
            .unwrap_or(PrivacySettings::default().mode),
        double_opt_in: names.iter().filter_map(|n| Channel::parse(n)).collect(),
    })
}

pub async fn save_settings(
    tx: &mut TenantTx<'_>,
    settings: &PrivacySettings,
    now_ms: i64,
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    let channels: Vec<&str> = settings.double_opt_in.iter().map(|c| c.as_str()).collect();
    let channels = serde_json::to_string(&channels).unwrap_or_else(|_| "[]".into());
    sqlx::query(
        "INSERT INTO privacy_settings (workspace_id, mode, double_opt_in, updated_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (workspace_id) DO UPDATE \
         SET mode = excluded.mode, double_opt_in = excluded.double_opt_in, updated_at = excluded.updated_at",
    )
    .bind(ws)
    .bind(settings.mode.as_str())
    .bind(channels)
    .bind(now_ms)
    .execute(tx.conn())
    .await
    .classify()?;
    Ok(())
}

/// A contact's consent as it stands: every channel (unknown when never set) and the switches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub do_not_contact: bool,
    pub do_not_sell: bool,
    pub link_generation: i64,
    pub channels: BTreeMap<Channel, ChannelConsent>,
}

impl Standing {
    pub fn status(&self, channel: Channel) -> Status {
        self.channels
            .get(&channel)
            .map(|c| c.status)
            .unwrap_or(Status::Unknown)
    }

    /// A new contact's standing: every channel unknown, no switch on.
    pub fn fresh(email: Option<String>, phone: Option<String>) -> Standing {
        Standing {
            email,
            phone,
            do_not_contact: false,
            do_not_sell: false,
            link_generation: 0,
            channels: Channel::ALL
                .iter()
                .map(|c| (*c, ChannelConsent::unknown()))
                .collect(),
        }
    }

    /// A stored channel's consent over the standing (an unknown channel name is ignored).
    pub(crate) fn read(&mut self, (channel, status, basis, source, updated_at): ConsentRow) {
        let Some(channel) = Channel::parse(&channel) else {
            return;
        };
        self.channels.insert(
            channel,
            ChannelConsent {
                status: Status::parse(&status).unwrap_or(Status::Unknown),
                lawful_basis: basis.as_deref().and_then(LawfulBasis::parse),
                source: Source::parse(&source),
                updated_at: Some(updated_at),
            },
        );
    }

    /// The standing once `write` (by `source`, at `now_ms`) is made.
    pub fn apply(&mut self, write: &Write, source: Source, now_ms: i64) {
        match *write {
            Write::Channel {
                channel,
                status,
                lawful_basis,
            } => {
                self.channels.insert(
                    channel,
                    ChannelConsent {
                        status,
                        lawful_basis,
                        source: Some(source),
                        updated_at: Some(now_ms),
                    },
                );
            }
            Write::Switch(Switch::DoNotContact, on) => self.do_not_contact = on,
            Write::Switch(Switch::DoNotSell, on) => self.do_not_sell = on,
        }
    }

    /// Whether the contact has an address on `channel` Holdfast can send to.
    pub fn has_address(&self, channel: Channel) -> bool {
        match channel {
            Channel::Email => self.email.as_deref().is_some_and(|e| !e.is_empty()),
            Channel::Sms | Channel::Whatsapp | Channel::Phone => {
                self.phone.as_deref().is_some_and(|p| !p.is_empty())
            }
            Channel::Postal => false,
        }
    }
}

/// The contact's standing; `None` when it is not a contact of this workspace. With
/// [`Lock::ForUpdate`], the contact row stays locked so concurrent changes serialise.
pub async fn standing(
    tx: &mut TenantTx<'_>,
    contact: &ContactId,
    lock: Lock,
) -> Result<Option<Standing>, StoreError> {
    let ws = tx.ws().to_owned();
    let sql = Sql::of(&[
        "SELECT email, phone, do_not_contact, do_not_sell, link_generation FROM contacts \
         WHERE workspace_id = $1 AND id = $2",
        lock.clause(tx.backend),
    ]);
    type Row = (Option<String>, Option<String>, i64, i64, i64);
    let row: Option<Row> = sqlx::query_as(sql)
        .bind(&ws)
        .bind(contact.as_str())
        .fetch_optional(tx.conn())
        .await?;
    let Some((email, phone, dnc, dns, generation)) = row else {
        return Ok(None);
    };
    let rows: Vec<ConsentRow> = sqlx::query_as(
        "SELECT channel, status, lawful_basis, source, updated_at FROM contact_consent \
         WHERE workspace_id = $1 AND contact_id = $2",
    )
    .bind(&ws)
    .bind(contact.as_str())
    .fetch_all(tx.conn())
    .await?;
    let mut standing = Standing::fresh(email, phone);
    standing.do_not_contact = dnc != 0;
    standing.do_not_sell = dns != 0;
    standing.link_generation = generation;
    for row in rows {
        standing.read(row);
    }
    Ok(Some(standing))
}

/// A `contact_consent` row as read: channel, status, lawful basis, source, time.
pub(crate) type ConsentRow = (String, String, Option<String>, String, i64);

/// Who made a change and how, for the log: `usr_…`/`key_…`, `contact` or `system`, from
/// where, through which source, and why (the operator's note).
#[derive(Debug, Clone)]
pub struct Who {
    pub actor: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub source: Source,
    pub note: Option<String>,
}

/// One field's change to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Channel {
        channel: Channel,
        status: Status,
        lawful_basis: Option<LawfulBasis>,
    },
    DoNotContact(bool),
    DoNotSell(bool),
}

/// One of the contact row's consent switches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Switch {
    DoNotContact,
    DoNotSell,
}

impl Switch {
    pub fn column(self) -> &'static str {
        match self {
            Switch::DoNotContact => "do_not_contact",
            Switch::DoNotSell => "do_not_sell",
        }
    }
}

/// What a change writes: a channel's new status (by the change's source), or a switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    Channel {
        channel: Channel,
        status: Status,
        lawful_basis: Option<LawfulBasis>,
    },
    Switch(Switch, bool),
}

/// What [`apply`] writes for `changes` over `before`: each change that changes something, in
/// order, with its log entry (a change to the current value writes nothing). Pure, so a bulk
/// writer (`crm::bulk`, the import) can write the same rows many at a time.
pub fn plan(
    contact: &ContactId,
    before: &Standing,
    changes: &[Change],
    who: &Who,
    now_ms: i64,
) -> Vec<(Write, ConsentLogEntry)> {
    let source = who.source;
    let mut planned = Vec::new();
    // One change's entries keep their order: each id is the one after the last.
    let mut last_id: Option<ConsentLogId> = None;
    for change in changes {
        let (write, field, channel, old, new, basis) = match change {
            Change::Channel {
                channel,
                status,
                lawful_basis,
            } => {
                let current = before.channels.get(channel);
                let old_status = current.map(|c| c.status).unwrap_or(Status::Unknown);
                let old_basis = current.and_then(|c| c.lawful_basis);
                if old_status == *status && old_basis == *lawful_basis {
                    continue;
                }
                (
                    Write::Channel {
                        channel: *channel,
                        status: *status,
                        lawful_basis: *lawful_basis,
                    },
                    "channel",
                    Some(channel.as_str()),
                    old_status.as_str().to_owned(),
                    status.as_str().to_owned(),
                    lawful_basis.map(|b| b.as_str()),
                )
            }
            Change::DoNotContact(on) | Change::DoNotSell(on) => {
                let (switch, old) = match change {
                    Change::DoNotContact(_) => (Switch::DoNotContact, before.do_not_contact),
                    _ => (Switch::DoNotSell, before.do_not_sell),
                };
                if old == *on {
                    continue;
                }
                (
                    Write::Switch(switch, *on),
                    switch.column(),
                    None,
                    old.to_string(),
                    on.to_string(),
                    None,
                )
            }
        };
        let id = match &last_id {
            Some(last) => last.next_after(now_ms),
            None => ConsentLogId::generate(now_ms),
        };
        let entry = ConsentLogEntry {
            id: id.to_string(),
            contact_id: contact.to_string(),
            field: field.to_owned(),
            channel: channel.map(str::to_owned),
            old_value: old,
            new_value: new,
            lawful_basis: basis.map(str::to_owned),
            source: source.as_str().to_owned(),
            actor: who.actor.clone(),
            ip: who.ip.clone(),
            user_agent: who.user_agent.clone(),
            note: who.note.clone(),
            created_at: now_ms,
        };
        planned.push((write, entry));
        last_id = Some(id);
    }
    planned
}

/// Applies the changes that change something and logs each, all in the caller's transaction;
/// returns the log entries written (a change to the current value writes nothing).
pub async fn apply(
    tx: &mut TenantTx<'_>,
    contact: &ContactId,
    before: &Standing,
    changes: &[Change],
    who: &Who,
    now_ms: i64,
) -> Result<Vec<ConsentLogEntry>, StoreError> {
    let mut written = Vec::new();
    for (write, entry) in plan(contact, before, changes, who, now_ms) {
        match write {
            Write::Channel {
                channel,
                status,
                lawful_basis,
            } => {
                write_channel(
                    tx,
                    contact,
                    channel,
                    status,
                    lawful_basis,
                    who.source,
                    now_ms,
                )
                .await?;
            }
            Write::Switch(switch, on) => write_switch(tx, contact, switch, on, now_ms).await?,
        }
        append_log(tx, &entry).await?;
        written.push(entry);
    }
    Ok(written)
}

/// Writes a channel's new status and spends the confirmation links still open for it.
async fn write_channel(
    tx: &mut TenantTx<'_>,
    contact: &ContactId,
    channel: Channel,
    status: Status,
    lawful_basis: Option<LawfulBasis>,
    source: Source,
    now_ms: i64,
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    sqlx::query(
        "INSERT INTO contact_consent (workspace_id, contact_id, channel, status, lawful_basis, source, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (workspace_id, contact_id, channel) DO UPDATE SET status = excluded.status, \
         lawful_basis = excluded.lawful_basis, source = excluded.source, updated_at = excluded.updated_at",
    )
    .bind(&ws)
    .bind(contact.as_str())
    .bind(channel.as_str())
    .bind(status.as_str())
    .bind(lawful_basis.map(|b| b.as_str()))
    .bind(source.as_str())
    .bind(now_ms)
    .execute(tx.conn())
    .await
    .classify()?;
    // A confirmation link asked for the status that just ended: it confirms nothing
    // now (a later request sends a link of its own).
    sqlx::query(
        "UPDATE consent_confirmations SET used_at = $4 WHERE workspace_id = $1 \
         AND contact_id = $2 AND channel = $3 AND used_at IS NULL",
    )
    .bind(&ws)
    .bind(contact.as_str())
    .bind(channel.as_str())
    .bind(now_ms)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Writes one of the contact row's switches, `do_not_contact` or `do_not_sell`.
async fn write_switch(
    tx: &mut TenantTx<'_>,
    contact: &ContactId,
    switch: Switch,
    on: bool,
    now_ms: i64,
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    let sql = match switch {
        Switch::DoNotContact => {
            "UPDATE contacts SET do_not_contact = $3, updated_at = $4 WHERE workspace_id = $1 AND id = $2"
        }
        Switch::DoNotSell => {
            "UPDATE contacts SET do_not_sell = $3, updated_at = $4 WHERE workspace_id = $1 AND id = $2"
        }
    };
    sqlx::query(sql)
        .bind(&ws)
        .bind(contact.as_str())
        .bind(i64::from(on))
        .bind(now_ms)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Appends one entry to the consent log.
async fn append_log(tx: &mut TenantTx<'_>, entry: &ConsentLogEntry) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    sqlx::query(
        "INSERT INTO consent_log (workspace_id, id, contact_id, field, channel, old_value, new_value, \
         lawful_basis, source, actor, ip, user_agent, note, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(&ws)
    .bind(&entry.id)
    .bind(&entry.contact_id)
    .bind(&entry.field)
    .bind(entry.channel.as_deref())
    .bind(&entry.old_value)
    .bind(&entry.new_value)
    .bind(entry.lawful_basis.as_deref())
    .bind(&entry.source)
    .bind(&entry.actor)
    .bind(entry.ip.as_deref())
    .bind(entry.user_agent.as_deref())
    .bind(entry.note.as_deref())
    .bind(entry.created_at)
    .execute(tx.conn())
    .await
    .classify()?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct LogRow {
    id: String,
    contact_id: String,
    field: String,
    channel: Option<String>,
    old_value: String,
    new_value: String,
    lawful_basis: Option<String>,
    source: String,
    actor: String,
    ip: Option<String>,
    user_agent: Option<String>,
    note: Option<String>,
    created_at: i64,
}

/// The contact's consent log, oldest first, after `after` (an entry id).
pub async fn log(
    tx: &mut TenantTx<'_>,
    contact: &ContactId,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<ConsentLogEntry>, StoreError> {
    let ws = tx.ws().to_owned();
    let rows: Vec<LogRow> = sqlx::query_as(
        "SELECT id, contact_id, field, channel, old_value, new_value, lawful_basis, source, actor, \
         ip, user_agent, note, created_at FROM consent_log \
         WHERE workspace_id = $1 AND contact_id = $2 AND ($3 = '' OR id > $3) ORDER BY id LIMIT $4",
    )
    .bind(ws)
    .bind(contact.as_str())
    .bind(after.unwrap_or_default())
    .bind(i64::from(limit))
    .fetch_all(tx.conn())
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| ConsentLogEntry {
            id: r.id,
            contact_id: r.contact_id,
            field: r.field,
            channel: r.channel,
            old_value: r.old_value,
            new_value: r.new_value,
            lawful_basis: r.lawful_basis,
            source: r.source,
            actor: r.actor,
            ip: r.ip,
            user_agent: r.user_agent,
            note: r.note,
            created_at: r.created_at,
        })
        .collect())
}

pub async fn record_outreach(
    tx: &mut TenantTx<'_>,
    entry: &OutreachEntry,
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    sqlx::query(
        "INSERT INTO outreach_log (workspace_id, id, contact_id, channel, purpose, stage, decision, \
         reason, ticket_message_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(ws)
    .bind(&entry.id)
    .bind(&entry.contact_id)
    .bind(&entry.channel)
    .bind(&entry.purpose)
    .bind(&entry.stage)
    .bind(&entry.decision)
    .bind(entry.reason.as_deref())
    .bind(entry.ticket_message_id.as_deref())
    .bind(entry.created_at)
    .execute(tx.conn())
    .await
    .classify()?;
    Ok(())
}

/// Whether a message of `purpose` to the contact was allowed at queueing since `since_ms`.
pub async fn queued_since(
    tx: &mut TenantTx<'_>,
    contact: &ContactId,
    purpose: &str,
    since_ms: i64,
) -> Result<bool, StoreError> {
    let ws = tx.ws().to_owned();
    let found: Option<(String,)> = sqlx::query_as(
        "SELECT id FROM outreach_log WHERE workspace_id = $1 AND contact_id = $2 \
         AND purpose = $3 AND stage = 'queue' AND decision = 'allowed' AND created_at > $4 LIMIT 1",
    )
    .bind(ws)
    .bind(contact.as_str())
    .bind(purpose)
    .bind(since_ms)
    .fetch_optional(tx.conn())
    .await?;
    Ok(found.is_some())
}

/// A new decision id.
pub fn outreach_id(now_ms: i64) -> String {
    OutreachId::generate(now_ms).to_string()
}

#[derive(sqlx::FromRow)]
struct OutreachRow {
    id: String,
    contact_id: String,
    channel: String,
    purpose: String,
    stage: String,
    decision: String,
    reason: Option<String>,
    ticket_message_id: Option<String>,
    created_at: i64,
}

/// The contact's outbound decisions, oldest first, after `after` (an id).
pub async fn outreach(
    tx: &mut TenantTx<'_>,
    contact: &ContactId,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<OutreachEntry>, StoreError> {
    let ws = tx.ws().to_owned();
    let rows: Vec<OutreachRow> = sqlx::query_as(
        "SELECT id, contact_id, channel, purpose, stage, decision, reason, ticket_message_id, created_at \
         FROM outreach_log WHERE workspace_id = $1 AND contact_id = $2 AND ($3 = '' OR id > $3) \
         ORDER BY id LIMIT $4",
    )
    .bind(ws)
    .bind(contact.as_str())
    .bind(after.unwrap_or_default())
    .bind(i64::from(limit))
    .fetch_all(tx.conn())
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| OutreachEntry {
            id: r.id,
            contact_id: r.contact_id,
            channel: r.channel,
            purpose: r.purpose,
            stage: r.stage,
            decision: r.decision,
            reason: r.reason,
            ticket_message_id: r.ticket_message_id,
            created_at: r.created_at,
        })
        .collect())
}

/// Makes sure the link with this digest (the contact's current generation) is known.
pub async fn ensure_preference_link(
    tx: &mut TenantTx<'_>,
    contact: &ContactId,
    token_hash: &str,
    generation: i64,
    now_ms: i64,
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    sqlx::query(
        "INSERT INTO preference_links (token_hash, workspace_id, contact_id, generation, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (token_hash) DO NOTHING",
    )
    .bind(token_hash)
    .bind(ws)
    .bind(contact.as_str())
    .bind(generation)
    .bind(now_ms)
    .execute(tx.conn())
    .await
    .classify()?;
    Ok(())
}

/// The link generation of the contact's live preference link with this digest, read in the
/// change's transaction (a revocation that committed meanwhile makes it `None`).
pub async fn live_preference_link_generation(
    tx: &mut TenantTx<'_>,
    contact: &ContactId,
    token_hash: &str,
) -> Result<Option<i64>, StoreError> {
    let ws = tx.ws().to_owned();
    Ok(sqlx::query_scalar(
        "SELECT generation FROM preference_links \
         WHERE token_hash = $1 AND workspace_id = $2 AND contact_id = $3 AND revoked_at IS NULL",
    )
    .bind(token_hash)
    .bind(ws)
    .bind(contact.as_str())
    .fetch_optional(tx.conn())
    .await?)
}

/// Revokes every preference link of the contact (old mails' links answer 404 from now on);
/// the next mail carries a link of the next generation. Returns how many were live.
pub async fn revoke_preference_links(
    tx: &mut TenantTx<'_>,
    contact: &ContactId,
    now_ms: i64,
) -> Result<u64, StoreError> {
    let ws = tx.ws().to_owned();
    let revoked = sqlx::query(
        "UPDATE preference_links SET revoked_at = $3 \
         WHERE workspace_id = $1 AND contact_id = $2 AND revoked_at IS NULL",
    )
    .bind(&ws)
    .bind(contact.as_str())
    .bind(now_ms)
    .execute(tx.conn())
    .await?
    .rows_affected();
    sqlx::query(
        "UPDATE contacts SET link_generation = link_generation + 1 WHERE workspace_id = $1 AND id = $2",
    )
    .bind(&ws)
    .bind(contact.as_str())
    .execute(tx.conn())
    .await?;
    Ok(revoked)
}

/// The workspace and contact of a live preference link, by its token's digest (the public
/// preference center's one cross-tenant read).
pub async fn unscoped_preference_target(
    db: &Db,
    token_hash: &str,
) -> Result<Option<(Tenant, ContactId)>, StoreError> {
    let row: Option<(String, String, i64)> = sqlx::query_as(
        "SELECT workspace_id, contact_id, generation FROM preference_links \
         WHERE token_hash = $1 AND revoked_at IS NULL",
    )
    .bind(token_hash)
    .fetch_optional(&db.pool)
    .await?;
    let Some((ws, contact, generation)) = row else {
        return Ok(None);
    };
    let tenant = Tenant::new(WorkspaceId::from_trusted(ws));
    let contact = ContactId::from_trusted(contact);
    // The link is of the contact's current generation (revoking moves it on).
    let mut tx = db.read(&tenant).await?;
    let current = standing(&mut tx, &contact, Lock::Read).await?;
    tx.commit().await?;
    Ok(current
        .filter(|s| s.link_generation == generation)
        .map(|_| (tenant, contact)))
}

pub async fn create_confirmation(
    tx: &mut TenantTx<'_>,
    contact: &ContactId,
    channel: Channel,
    token_hash: &str,
    now_ms: i64,
    expires_at: i64,
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    sqlx::query(
        "INSERT INTO consent_confirmations (token_hash, workspace_id, contact_id, channel, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(token_hash)
    .bind(ws)
    .bind(contact.as_str())
    .bind(channel.as_str())
    .bind(now_ms)
    .bind(expires_at)
    .execute(tx.conn())
    .await
    .classify()?;
    Ok(())
}

/// A confirmation link's target, by its token's digest, while it is unused and unexpired.
pub async fn unscoped_confirmation_target(
    db: &Db,
    token_hash: &str,
    now_ms: i64,
) -> Result<Option<(Tenant, ContactId, Channel)>, StoreError> {
    let row: Option<(String, String, String)> = sqlx::query_as(
        "SELECT workspace_id, contact_id, channel FROM consent_confirmations \
         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
    )
    .bind(token_hash)
    .bind(now_ms)
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.and_then(|(ws, contact, channel)| {
        Some((
            Tenant::new(WorkspaceId::from_trusted(ws)),
            ContactId::from_trusted(contact),
            Channel::parse(&channel)?,
        ))
    }))
}

/// The single-use links the contact's own mail carries, each spent the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SingleUseLink {
    /// A double opt-in confirmation (`consent_confirmations`).
    Confirmation,
    /// A "download my data" link (`data_download_links`).
    DataDownload,
}

/// Spends a link by its token's digest while unused and unexpired: true when this call spent
/// it (a second use, an expired or an unknown link: false).
pub async fn spend_link(
    tx: &mut TenantTx<'_>,
    link: SingleUseLink,
    token_hash: &str,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let sql = match link {
        SingleUseLink::Confirmation => {
            "UPDATE consent_confirmations SET used_at = $3 \
             WHERE token_hash = $1 AND workspace_id = $2 AND used_at IS NULL AND expires_at > $3"
        }
        SingleUseLink::DataDownload => {
            "UPDATE data_download_links SET used_at = $3 \
             WHERE token_hash = $1 AND workspace_id = $2 AND used_at IS NULL AND expires_at > $3"
        }
    };
    let ws = tx.ws().to_owned();
    let spent = sqlx::query(sql)
        .bind(token_hash)
        .bind(ws)
        .bind(now_ms)
        .execute(tx.conn())
        .await?
        .rows_affected();
    Ok(spent == 1)
}

/// Records a "download my data" link (its token's SHA-256) for the contact.
pub async fn create_data_link(
    tx: &mut TenantTx<'_>,
    contact: &ContactId,
    token_hash: &str,
    now_ms: i64,
    expires_at: i64,
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    sqlx::query(
        "INSERT INTO data_download_links (token_hash, workspace_id, contact_id, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash)
    .bind(ws)
    .bind(contact.as_str())
    .bind(now_ms)
    .bind(expires_at)
    .execute(tx.conn())
    .await
    .classify()?;
    Ok(())
}

/// A data-download link's target, by its token's digest, while it is unused and unexpired.
pub async fn unscoped_data_link_target(
    db: &Db,
    token_hash: &str,
    now_ms: i64,
) -> Result<Option<(Tenant, ContactId)>, StoreError> {
    let row: Option<(String, String)> = sqlx::query_as(
        "SELECT workspace_id, contact_id FROM data_download_links \
         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
    )
    .bind(token_hash)
    .bind(now_ms)
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.map(|(ws, contact)| {
        (
            Tenant::new(WorkspaceId::from_trusted(ws)),
            ContactId::from_trusted(contact),
        )
    }))
}
