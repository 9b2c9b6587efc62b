//! Contacts in bulk, for the import job (`holdfast_app::crm::import_chunk`): a chunk's look-ups
//! in a few statements (every contact any of its emails or phones names, with its consent
//! standing) and its writes as multi-row statements (new contacts with their custom values,
//! consent, consent log entries, switches). The row-at-a-time functions of `contacts` and
//! `consent` keep the rules; these write the same rows, many per round trip.
//!
//! Every statement names `workspace_id` and compares plain columns with `=`/`IN` (leakproof),
//! so on PostgreSQL the B-tree indexes serve them under row-level security too.

use crate::crm::consent::{ConsentRow, Standing, Switch};
use crate::crm::contacts::{self, COLUMNS};
use crate::error::{Classify, StoreError};
use crate::sql::Sql;
use crate::tenant::{Lock, TenantTx};
use holdfast_core::crm::consent::{Channel, ConsentLogEntry, LawfulBasis, Source, Status};
use holdfast_core::crm::contact_fields::canonical_text;
use holdfast_core::crm::contacts::{ContactFields, ContactOut};
use std::collections::{BTreeMap, HashMap};

/// Rows per multi-row statement: few round trips, far under both databases' limits on bound
/// values (PostgreSQL 65 535, SQLite 32 766).
const ROWS_PER_STATEMENT: usize = 100;

/// Values bound per statement of a look-up by a list.
const VALUES_PER_LOOK_UP: usize = 500;

/// `(` `$from`, `$from + 1`, … `)` for `count` values: a list of placeholders for `IN`.
fn list(sql: &mut Sql, from: usize, count: usize) {
    sql.push("(");
    for i in 0..count {
        if i > 0 {
            sql.push(", ");
        }
        sql.param(from + i);
    }
    sql.push(")");
}

/// `VALUES` rows of `width` placeholders each, numbered from `from`; each row opens with
/// `lead` (fixed text such as `$1, `).
fn rows(sql: &mut Sql, lead: &'static str, from: usize, count: usize, width: usize) {
    for row in 0..count {
        sql.push(if row == 0 { "(" } else { ", (" }).push(lead);
        for col in 0..width {
            if col > 0 {
                sql.push(", ");
            }
            sql.param(from + row * width + col);
        }
        sql.push(")");
    }
}

/// Each email as the database keys it (`contacts.email_key`, its own `lower`), by email. Asked
/// of the database rather than lower-cased here: SQLite and PostgreSQL fold case differently
/// outside ASCII, and a chunk must match exactly as a look-up by `email_key` would.
pub async fn email_keys(
    tx: &mut TenantTx<'_>,
    emails: &[&str],
) -> Result<HashMap<String, String>, StoreError> {
    let mut keys = HashMap::with_capacity(emails.len());
    for part in emails.chunks(VALUES_PER_LOOK_UP) {
        let mut sql = Sql::of(&["SELECT column1, lower(column1) FROM (VALUES "]);
        rows(&mut sql, "", 1, part.len(), 1);
        sql.push(") AS v");
        let mut query = sqlx::query_as::<_, (String, String)>(sql);
        for email in part {
            query = query.bind(*email);
        }
        keys.extend(query.fetch_all(tx.conn()).await?);
    }
    Ok(keys)
}

/// A contact found by [`find`]: as the API shows it, with its email key and consent standing.
#[derive(Debug, Clone)]
pub struct Found {
    pub contact: ContactOut,
    pub email_key: Option<String>,
    pub standing: Standing,
}

#[derive(sqlx::FromRow)]
struct FoundRow {
    #[sqlx(flatten)]
    contact: contacts::Row,
    email_key: Option<String>,
    do_not_contact: i64,
    do_not_sell: i64,
    link_generation: i64,
}

/// Every contact whose email key is one of `keys` or whose phone is one of `phones` (each
/// contact once), with its consent standing. With [`Lock::ForUpdate`] the contacts stay locked
/// until the transaction ends, as a row-at-a-time look-up before a write would hold them.
pub async fn find(
    tx: &mut TenantTx<'_>,
    keys: &[String],
    phones: &[String],
    lock: Lock,
) -> Result<Vec<Found>, StoreError> {
    let ws = tx.ws().to_owned();
    let mut found: BTreeMap<String, (ContactOut, FoundRow)> = BTreeMap::new();
    for (column, values) in [(" AND email_key IN ", keys), (" AND phone IN ", phones)] {
        for part in values.chunks(VALUES_PER_LOOK_UP) {
            let mut sql = Sql::of(&[
                "SELECT ",
                COLUMNS,
                ", email_key, do_not_contact, do_not_sell, link_generation \
                 FROM contacts WHERE workspace_id = $1",
                column,
            ]);
            list(&mut sql, 2, part.len());
            sql.push(lock.clause(tx.backend));
            let mut query = sqlx::query_as::<_, FoundRow>(sql).bind(ws.as_str());
            for value in part {
                query = query.bind(value.as_str());
            }
            for mut row in query.fetch_all(tx.conn()).await? {
                let contact = ContactOut::from(std::mem::take(&mut row.contact));
                found.insert(contact.id.clone(), (contact, row));
            }
        }
    }
    let ids: Vec<&str> = found.keys().map(String::as_str).collect();
    let mut consent: HashMap<String, Vec<ConsentRow>> = HashMap::new();
    for part in ids.chunks(VALUES_PER_LOOK_UP) {
        let mut sql = Sql::of(&[
            "SELECT contact_id, channel, status, lawful_basis, source, updated_at \
             FROM contact_consent WHERE workspace_id = $1 AND contact_id IN ",
        ]);
        list(&mut sql, 2, part.len());
        type Row = (String, String, String, Option<String>, String, i64);
        let mut query = sqlx::query_as::<_, Row>(sql).bind(ws.as_str());
        for id in part {
            query = query.bind(*id);
        }
        for (contact, channel, status, basis, source, at) in query.fetch_all(tx.conn()).await? {
            consent
                .entry(contact)
                .or_default()
                .push((channel, status, basis, source, at));
        }
    }
    Ok(found
        .into_values()
        .map(|(contact, row)| {
            let mut standing = Standing::fresh(contact.email.clone(), contact.phone.clone());
            standing.do_not_contact = row.do_not_contact != 0;
            standing.do_not_sell = row.do_not_sell != 0;
            standing.link_generation = row.link_generation;
            for stored in consent.remove(&contact.id).unwrap_or_default() {
                standing.read(stored);
            }
            Found {
                contact,
                email_key: row.email_key,
                standing,
            }
        })
        .collect())
}

/// A contact to create, with its id already chosen and its switches.
#[derive(Debug, Clone)]
pub struct NewContact<'a> {
    pub id: &'a str,
    pub fields: &'a ContactFields,
    pub do_not_contact: bool,
    pub do_not_sell: bool,
}

/// Inserts validated contacts (no `company_id`: an import links no company) with their custom
/// values, created and updated at `now_ms`.
pub async fn insert_contacts(
    tx: &mut TenantTx<'_>,
    new: &[NewContact<'_>],
    now_ms: i64,
) -> Result<(), StoreError> {
    const WIDTH: usize = 9;
    let ws = tx.ws().to_owned();
    for part in new.chunks(ROWS_PER_STATEMENT) {
        let mut sql = Sql::of(&[
            "INSERT INTO contacts (workspace_id, created_at, updated_at, id, name, email, phone, \
             company, tags, custom, do_not_contact, do_not_sell) VALUES ",
        ]);
        rows(&mut sql, "$1, $2, $2, ", 3, part.len(), WIDTH);
        let mut query = sqlx::query(sql).bind(ws.as_str()).bind(now_ms);
        for c in part {
            query = query
                .bind(c.id)
                .bind(c.fields.name.as_deref())
                .bind(c.fields.email.as_deref())
                .bind(c.fields.phone.as_deref())
                .bind(c.fields.company.as_deref())
                .bind(contacts::tags_json(&c.fields.tags))
                .bind(contacts::custom_json(&c.fields.custom))
                .bind(i64::from(c.do_not_contact))
                .bind(i64::from(c.do_not_sell));
        }
        query.execute(tx.conn()).await.classify()?;
    }
    let values: Vec<(&str, &String, String)> = new
        .iter()
        .flat_map(|c| {
            c.fields
                .custom
                .iter()
                .map(move |(key, value)| (c.id, key, canonical_text(value)))
        })
        .collect();
    for part in values.chunks(ROWS_PER_STATEMENT) {
        let mut sql = Sql::of(&[
            "INSERT INTO contact_values (workspace_id, contact_id, field_key, value) VALUES ",
        ]);
        rows(&mut sql, "$1, ", 2, part.len(), 3);
        let mut query = sqlx::query(sql).bind(ws.as_str());
        for (id, key, value) in part {
            query = query.bind(*id).bind(key.as_str()).bind(value.as_str());
        }
        query.execute(tx.conn()).await?;
    }
    Ok(())
}

/// A channel's new status for a contact, as `consent::apply` writes it.
#[derive(Debug, Clone)]
pub struct ChannelWrite<'a> {
    pub contact_id: &'a str,
    pub channel: Channel,
    pub status: Status,
    pub lawful_basis: Option<LawfulBasis>,
    pub source: Source,
}

/// Writes channels' statuses (at most one write per contact and channel), inserting or
/// replacing each contact's row for the channel.
pub async fn write_channels(
    tx: &mut TenantTx<'_>,
    writes: &[ChannelWrite<'_>],
    now_ms: i64,
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    for part in writes.chunks(ROWS_PER_STATEMENT) {
        let mut sql = Sql::of(&[
            "INSERT INTO contact_consent (workspace_id, updated_at, contact_id, channel, status, \
             lawful_basis, source) VALUES ",
        ]);
        rows(&mut sql, "$1, $2, ", 3, part.len(), 5);
        sql.push(
            " ON CONFLICT (workspace_id, contact_id, channel) DO UPDATE SET status = excluded.status, \
             lawful_basis = excluded.lawful_basis, source = excluded.source, \
             updated_at = excluded.updated_at",
        );
        let mut query = sqlx::query(sql).bind(ws.as_str()).bind(now_ms);
        for w in part {
            query = query
                .bind(w.contact_id)
                .bind(w.channel.as_str())
                .bind(w.status.as_str())
                .bind(w.lawful_basis.map(|b| b.as_str()))
                .bind(w.source.as_str());
        }
        query.execute(tx.conn()).await.classify()?;
    }
    Ok(())
}

/// Spends the open confirmation links of these contacts for `channel`: the status they asked
/// for has just been replaced (as `consent::apply` does for one contact).
pub async fn spend_confirmations(
    tx: &mut TenantTx<'_>,
    channel: Channel,
    contact_ids: &[&str],
    now_ms: i64,
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    for part in contact_ids.chunks(VALUES_PER_LOOK_UP) {
        let mut sql = Sql::of(&[
            "UPDATE consent_confirmations SET used_at = $2 WHERE workspace_id = $1 \
             AND channel = $3 AND used_at IS NULL AND contact_id IN ",
        ]);
        list(&mut sql, 4, part.len());
        let mut query = sqlx::query(sql)
            .bind(ws.as_str())
            .bind(now_ms)
            .bind(channel.as_str());
        for id in part {
            query = query.bind(*id);
        }
        query.execute(tx.conn()).await?;
    }
    Ok(())
}

/// Sets a switch of these contacts to `on` (their `updated_at` too).
pub async fn set_switch(
    tx: &mut TenantTx<'_>,
    switch: Switch,
    on: bool,
    contact_ids: &[&str],
    now_ms: i64,
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    for part in contact_ids.chunks(VALUES_PER_LOOK_UP) {
        let mut sql = Sql::of(&[match switch {
            Switch::DoNotContact => "UPDATE contacts SET do_not_contact = $2, updated_at = $3 ",
            Switch::DoNotSell => "UPDATE contacts SET do_not_sell = $2, updated_at = $3 ",
        }]);
        sql.push("WHERE workspace_id = $1 AND id IN ");
        list(&mut sql, 4, part.len());
        let mut query = sqlx::query(sql)
            .bind(ws.as_str())
            .bind(i64::from(on))
            .bind(now_ms);
        for id in part {
            query = query.bind(*id);
        }
        query.execute(tx.conn()).await?;
    }
    Ok(())
}

/// Appends entries to the consent log.
pub async fn append_log(
    tx: &mut TenantTx<'_>,
    entries: &[ConsentLogEntry],
) -> Result<(), StoreError> {
    let ws = tx.ws().to_owned();
    for part in entries.chunks(ROWS_PER_STATEMENT) {
        let mut sql = Sql::of(&[
            "INSERT INTO consent_log (workspace_id, id, contact_id, field, channel, old_value, \
             new_value, lawful_basis, source, actor, ip, user_agent, note, created_at) VALUES ",
        ]);
        rows(&mut sql, "$1, ", 2, part.len(), 13);
        let mut query = sqlx::query(sql).bind(ws.as_str());
        for e in part {
            query = query
                .bind(e.id.as_str())
                .bind(e.contact_id.as_str())
                .bind(e.field.as_str())
                .bind(e.channel.as_deref())
                .bind(e.old_value.as_str())
                .bind(e.new_value.as_str())
                .bind(e.lawful_basis.as_deref())
                .bind(e.source.as_str())
                .bind(e.actor.as_str())
                .bind(e.ip.as_deref())
                .bind(e.user_agent.as_deref())
                .bind(e.note.as_deref())
                .bind(e.created_at);
        }
        query.execute(tx.conn()).await.classify()?;
    }
    Ok(())
}
