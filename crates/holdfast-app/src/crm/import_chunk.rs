//! One chunk of a contact import, written as the rows one at a time would write it but in a
//! few statements (`holdfast_store::crm::bulk`): every contact the chunk's emails and phones
//! name is read (and locked) at once, the rows are decided in order against that picture of
//! the workspace, kept current as each row changes it, and the writes go out many rows per
//! statement. `import.rs` owns the job around it; `existing_each` serves its look-ups before
//! any write (the dry run, all-or-nothing's check).
//!
//! Why the picture is enough: a row can only match a contact whose email key or phone is the
//! row's own, so every contact a later row could match is either read at the start (by the
//! chunk's emails and phones) or changed or created by an earlier row of the chunk, and is
//! then in the picture with its current values.

use crate::crm::consent::{ask_confirmation, effective_changes};
use crate::crm::import::{Checked, created, duplicate_error, merged, push_errors};
use crate::jobs::JobResult;
use holdfast_core::crm::consent::{
    Channel, ConsentLogEntry, LawfulBasis, PrivacySettings, Source, Status,
};
use holdfast_core::crm::contact_fields::FieldDef;
use holdfast_core::crm::contact_import::{self as import, ImportOut, ImportRow};
use holdfast_core::crm::contacts::ContactOut;
use holdfast_core::ids::{ConsentLogId, ContactId};
use holdfast_core::webhooks::{EventType, contact_event_data};
use holdfast_store::crm::bulk::{self, ChannelWrite, NewContact};
use holdfast_store::crm::consent::{self as consent_store, Change, Standing, Switch, Who, Write};
use holdfast_store::{Lock, StoreError, TenantTx, crm::contact_imports, crm::contacts};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// A contact as the chunk knows it.
struct Known {
    contact: ContactOut,
    /// The database's key of the contact's current email.
    key: Option<String>,
    standing: Standing,
    /// In the database already; `false` for a contact created by this chunk and not yet
    /// written.
    stored: bool,
}

/// The writes of the rows decided since the last flush, in the order they are written.
#[derive(Default)]
struct Pending {
    /// Contacts created (ids, in row order).
    created: Vec<String>,
    /// Each contact's and channel's newest status.
    channels: BTreeMap<(String, Channel), (Status, Option<LawfulBasis>)>,
    /// Stored contacts whose channel changed: their open confirmation links are spent.
    spend: BTreeMap<Channel, BTreeSet<String>>,
    /// Each stored contact's newest switch values.
    switches: BTreeMap<(String, Switch), bool>,
    log: Vec<ConsentLogEntry>,
    events: Vec<(EventType, ContactOut)>,
}

/// The rows `[start, end)` of an import, written in the caller's transaction; the record's
/// counts and errors follow.
pub(crate) async fn write(
    tx: &mut TenantTx<'_>,
    checked: &Checked,
    range: std::ops::Range<usize>,
    defs: &[FieldDef],
    record: &mut ImportOut,
    now: i64,
) -> JobResult {
    let rows = |i: usize| checked.rows.get(i).zip(checked.dups.get(i));
    let valid: Vec<&ImportRow> = range
        .clone()
        .filter_map(|i| match rows(i) {
            Some((Ok(row), None)) => Some(row),
            _ => None,
        })
        .collect();
    let mut chunk = if valid.is_empty() {
        None
    } else {
        Some(Chunk::read(tx, &valid, record, now).await?)
    };
    // In row order, so the report's errors read as the file does.
    for i in range {
        match rows(i) {
            Some((Err(errors), _)) => {
                record.skipped += 1;
                push_errors(&mut record.errors, errors.iter().cloned());
            }
            Some((Ok(row), Some(of))) => {
                record.skipped += 1;
                push_errors(&mut record.errors, [duplicate_error(row.row, *of)]);
            }
            Some((Ok(row), None)) => {
                if let Some(chunk) = &mut chunk {
                    chunk.row(tx, row, defs, record).await?;
                }
            }
            None => {}
        }
    }
    if let Some(chunk) = &mut chunk {
        chunk.flush(tx).await?;
    }
    Ok(())
}

struct Chunk {
    /// By id: the oldest of several contacts with one phone comes first, as a look-up by
    /// phone takes it.
    known: BTreeMap<String, Known>,
    /// The database's key of each row email.
    keys: HashMap<String, String>,
    settings: PrivacySettings,
    /// Who the consent log names: the import's starter.
    actor: String,
    import_id: String,
    now: i64,
    pending: Pending,
    /// The newest consent log entry of the chunk.
    last_log: Option<ConsentLogId>,
}

impl Chunk {
    /// Everything the rows could match, locked for the transaction.
    async fn read(
        tx: &mut TenantTx<'_>,
        rows: &[&ImportRow],
        record: &ImportOut,
        now: i64,
    ) -> Result<Chunk, StoreError> {
        let (keys, found) = look_up(tx, rows, Lock::ForUpdate).await?;
        let known = found
            .into_iter()
            .map(|f| {
                let known = Known {
                    contact: f.contact,
                    key: f.email_key,
                    standing: f.standing,
                    stored: true,
                };
                (known.contact.id.clone(), known)
            })
            .collect();
        let settings = consent_store::settings(tx).await?;
        let actor = contact_imports::started_by(tx, &record.id)
            .await?
            .unwrap_or_else(|| "system".to_owned());
        Ok(Chunk {
            known,
            keys,
            settings,
            actor,
            import_id: record.id.clone(),
            now,
            pending: Pending::default(),
            last_log: None,
        })
    }

    /// The contact a row updates: by email first, then the oldest by phone.
    fn matching(&self, row: &ImportRow) -> Option<String> {
        if let Some(key) = row.email.as_ref().and_then(|e| self.keys.get(e))
            && let Some((id, _)) = self
                .known
                .iter()
                .find(|(_, k)| k.key.as_deref() == Some(key.as_str()))
        {
            return Some(id.clone());
        }
        let phone = row.phone.as_deref()?;
        self.known
            .iter()
            .find(|(_, k)| k.contact.phone.as_deref() == Some(phone))
            .map(|(id, _)| id.clone())
    }

    async fn row(
        &mut self,
        tx: &mut TenantTx<'_>,
        row: &ImportRow,
        defs: &[FieldDef],
        record: &mut ImportOut,
    ) -> JobResult {
        let now = self.now;
        let id = match self.matching(row) {
            Some(id) => {
                let Some(known) = self.known.get_mut(&id) else {
                    return Ok(());
                };
                let fields = merged(&known.contact, row);
                let mut address_moved = false;
                if known.stored {
                    // Written at once, in row order: a stored contact's address may be another
                    // row's to take next.
                    let typed = ContactId::from_trusted(id.clone());
                    if let Some(updated) = contacts::update(tx, &typed, &fields, now).await? {
                        let lower = |e: &Option<String>| e.as_deref().map(str::to_lowercase);
                        address_moved = lower(&known.contact.email) != lower(&updated.email);
                        self.pending
                            .events
                            .push((EventType::ContactUpdated, updated.clone()));
                        known.contact = updated;
                    }
                } else {
                    known.contact = ContactOut {
                        id: id.clone(),
                        name: fields.name,
                        email: fields.email,
                        phone: fields.phone,
                        company: fields.company,
                        tags: fields.tags,
                        company_id: fields.company_id,
                        custom: fields.custom,
                        created_at: known.contact.created_at,
                        updated_at: now,
                    };
                    self.pending
                        .events
                        .push((EventType::ContactUpdated, known.contact.clone()));
                }
                if row.email.is_some() {
                    known.key = row.email.as_ref().and_then(|e| self.keys.get(e)).cloned();
                }
                known.standing.email.clone_from(&known.contact.email);
                known.standing.phone.clone_from(&known.contact.phone);
                if address_moved {
                    self.address_changed(tx, &id, row).await?;
                }
                record.updated += 1;
                id
            }
            None => {
                let missing = import::missing_required(row, defs);
                if !missing.is_empty() {
                    record.skipped += 1;
                    push_errors(&mut record.errors, missing);
                    return Ok(());
                }
                let fields = created(row);
                let id = ContactId::generate(now).to_string();
                let contact = ContactOut {
                    id: id.clone(),
                    name: fields.name,
                    email: fields.email,
                    phone: fields.phone,
                    company: fields.company,
                    tags: fields.tags,
                    company_id: fields.company_id,
                    custom: fields.custom,
                    created_at: now,
                    updated_at: now,
                };
                self.pending
                    .events
                    .push((EventType::ContactCreated, contact.clone()));
                let known = Known {
                    key: row.email.as_ref().and_then(|e| self.keys.get(e)).cloned(),
                    standing: Standing::fresh(contact.email.clone(), contact.phone.clone()),
                    contact,
                    stored: false,
                };
                self.known.insert(id.clone(), known);
                self.pending.created.push(id.clone());
                record.created += 1;
                id
            }
        };
        self.consent(tx, &id, row).await
    }

    /// The row's consent columns, as `change_consent` makes them (source `import`, double
    /// opt-in applied to grants, each change logged).
    /// A row matched by phone brought another address: the same consequences as any change of
    /// address (consent for email back to unknown, logged in the chunk's order; preference
    /// links, the client portal's sessions and links of the old address ended), before the
    /// row's own consent.
    async fn address_changed(
        &mut self,
        tx: &mut TenantTx<'_>,
        id: &str,
        row: &ImportRow,
    ) -> JobResult {
        let reset = [Change::Channel {
            channel: Channel::Email,
            status: Status::Unknown,
            lawful_basis: None,
        }];
        let note = format!(
            "the email address changed (import {} row {})",
            self.import_id, row.row
        );
        self.change(tx, id, &reset, note).await?;
        let contact = ContactId::from_trusted(id.to_owned());
        crate::crm::consent::old_address_ends(tx, &contact, self.now).await?;
        Ok(())
    }

    async fn consent(&mut self, tx: &mut TenantTx<'_>, id: &str, row: &ImportRow) -> JobResult {
        let mut changes: Vec<Change> = row
            .consent
            .iter()
            .map(|(channel, status)| Change::Channel {
                channel: *channel,
                status: *status,
                lawful_basis: (*status == Status::Granted).then_some(LawfulBasis::Consent),
            })
            .collect();
        if let Some(on) = row.do_not_contact {
            changes.push(Change::DoNotContact(on));
        }
        if changes.is_empty() {
            return Ok(());
        }
        let note = format!("import {} row {}", self.import_id, row.row);
        self.change(tx, id, &changes, note).await
    }

    /// Plans consent changes against the chunk's picture of the contact, logged in the
    /// chunk's order; written at the next flush (a confirmation mail flushes first).
    async fn change(
        &mut self,
        tx: &mut TenantTx<'_>,
        id: &str,
        changes: &[Change],
        note: String,
    ) -> JobResult {
        let Some(known) = self.known.get_mut(id) else {
            return Ok(());
        };
        let who = Who {
            actor: self.actor.clone(),
            ip: None,
            user_agent: None,
            source: Source::Import,
            note: Some(note),
        };
        let (effective, ask) =
            effective_changes(&self.settings, &known.standing, changes, who.source);
        let contact = ContactId::from_trusted(id.to_owned());
        for (write, entry) in
            consent_store::plan(&contact, &known.standing, &effective, &who, self.now)
        {
            match write {
                Write::Channel {
                    channel,
                    status,
                    lawful_basis,
                } => {
                    self.pending
                        .channels
                        .insert((id.to_owned(), channel), (status, lawful_basis));
                    if known.stored {
                        self.pending
                            .spend
                            .entry(channel)
                            .or_default()
                            .insert(id.to_owned());
                    }
                }
                Write::Switch(switch, on) => {
                    // A new contact is inserted with its switches as they stand.
                    if known.stored {
                        self.pending.switches.insert((id.to_owned(), switch), on);
                    }
                }
            }
            known.standing.apply(&write, who.source, self.now);
            // The chunk's entries keep the rows' order (ids of one millisecond would not).
            let mut entry = entry;
            if let Some(last) = &self.last_log
                && entry.id.as_str() <= last.as_str()
            {
                entry.id = last.next_after(self.now).to_string();
            }
            self.last_log = Some(ConsentLogId::from_trusted(entry.id.clone()));
            self.pending.log.push(entry);
        }
        if ask {
            // The choke point reads the contact as stored: everything so far goes out first.
            self.flush(tx).await?;
            ask_confirmation(tx, &contact, self.now).await?;
        }
        Ok(())
    }

    /// Writes everything decided since the last flush: new contacts, consent statuses, spent
    /// links, switches, log entries, events.
    async fn flush(&mut self, tx: &mut TenantTx<'_>) -> Result<(), StoreError> {
        let pending = std::mem::take(&mut self.pending);
        let now = self.now;
        let created: Vec<(
            &str,
            holdfast_core::crm::contacts::ContactFields,
            bool,
            bool,
        )> = pending
            .created
            .iter()
            .filter_map(|id| self.known.get(id))
            .map(|k| {
                (
                    k.contact.id.as_str(),
                    k.contact.fields(),
                    k.standing.do_not_contact,
                    k.standing.do_not_sell,
                )
            })
            .collect();
        let new: Vec<NewContact<'_>> = created
            .iter()
            .map(|(id, fields, dnc, dns)| NewContact {
                id,
                fields,
                do_not_contact: *dnc,
                do_not_sell: *dns,
            })
            .collect();
        bulk::insert_contacts(tx, &new, now).await?;
        let channels: Vec<ChannelWrite<'_>> = pending
            .channels
            .iter()
            .map(|((id, channel), (status, lawful_basis))| ChannelWrite {
                contact_id: id,
                channel: *channel,
                status: *status,
                lawful_basis: *lawful_basis,
                source: Source::Import,
            })
            .collect();
        bulk::write_channels(tx, &channels, now).await?;
        for (channel, ids) in &pending.spend {
            let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
            bulk::spend_confirmations(tx, *channel, &ids, now).await?;
        }
        let mut switched: BTreeMap<(Switch, bool), Vec<&str>> = BTreeMap::new();
        for ((id, switch), on) in &pending.switches {
            switched.entry((*switch, *on)).or_default().push(id);
        }
        for ((switch, on), ids) in switched {
            bulk::set_switch(tx, switch, on, &ids, now).await?;
        }
        bulk::append_log(tx, &pending.log).await?;
        let events = pending
            .events
            .iter()
            .map(|(event, contact)| (*event, contact_event_data(contact)))
            .collect();
        holdfast_store::webhooks::publish_many(tx, events, now).await?;
        for id in &pending.created {
            if let Some(known) = self.known.get_mut(id) {
                known.stored = true;
            }
        }
        Ok(())
    }
}

/// The database's keys of the rows' emails, and every contact the rows' emails and phones
/// name.
async fn look_up(
    tx: &mut TenantTx<'_>,
    rows: &[&ImportRow],
    lock: Lock,
) -> Result<(HashMap<String, String>, Vec<bulk::Found>), StoreError> {
    let emails: Vec<&str> = rows.iter().filter_map(|r| r.email.as_deref()).collect();
    let keys = bulk::email_keys(tx, &emails).await?;
    let wanted: BTreeSet<String> = keys.values().cloned().collect();
    let phones: BTreeSet<String> = rows.iter().filter_map(|r| r.phone.clone()).collect();
    let wanted: Vec<String> = wanted.into_iter().collect();
    let phones: Vec<String> = phones.into_iter().collect();
    let found = bulk::find(tx, &wanted, &phones, lock).await?;
    Ok((keys, found))
}

/// For each row, whether a contact exists that it would update (by email, then by phone), as
/// the workspace stands; read in a few statements, for the checks before anything is written.
pub(crate) async fn existing_each(
    tx: &mut TenantTx<'_>,
    rows: &[&ImportRow],
) -> Result<Vec<bool>, StoreError> {
    let (keys, found) = look_up(tx, rows, Lock::Read).await?;
    let stored_keys: BTreeSet<&str> = found
        .iter()
        .filter_map(|f| f.email_key.as_deref())
        .collect();
    let stored_phones: BTreeSet<&str> = found
        .iter()
        .filter_map(|f| f.contact.phone.as_deref())
        .collect();
    Ok(rows
        .iter()
        .map(|row| {
            row.email
                .as_ref()
                .and_then(|e| keys.get(e))
                .is_some_and(|k| stored_keys.contains(k.as_str()))
                || row
                    .phone
                    .as_deref()
                    .is_some_and(|p| stored_phones.contains(p))
        })
        .collect())
}
