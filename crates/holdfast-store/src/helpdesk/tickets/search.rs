//! Ticket search (`GET /api/v1/tickets?q=`), one way per dialect, both answering the list's
//! question: the newest tickets, after the cursor and through the filters, whose subject and
//! messages (notes included) hold every word. Each ticket is one search document
//! (migration 0025), so all the words are matched at once and a page of a common word's
//! matches is found without reading them all (docs/design/helpdesk.md, "Search").

use super::{LIST_FILTERS, ListBinds, Row, T_TICKET_COLUMNS, TICKET_COLUMNS};
use crate::Backend;
use crate::error::StoreError;
use crate::sql::Sql;
use crate::tenant::TenantTx;
use holdfast_core::helpdesk::ticket_search::{MAX_TERMS, SearchQuery};
use holdfast_core::helpdesk::tickets::TicketOut;

pub(super) async fn tickets(
    tx: &mut TenantTx<'_>,
    binds: &ListBinds,
    q: &SearchQuery,
) -> Result<Vec<TicketOut>, StoreError> {
    let mut rows = match tx.backend {
        Backend::Sqlite => sqlite(tx, binds, &q.fts5_query()).await?,
        Backend::Postgres => postgres(tx, binds, &q.tsquery_terms()).await?,
    };
    rows.sort_by(|a, b| b.id.cmp(&a.id));
    rows.truncate(usize::try_from(binds.limit).unwrap_or(usize::MAX));
    Ok(rows.into_iter().map(TicketOut::from).collect())
}

/// SQLite: the tickets whose document matches the FTS5 query `$8`, with keys in
/// `$9 <= key < $10`, in the given order. FTS5 yields only rowids, walked in descending order
/// for `rowid DESC` (stopping at the limit), or only inside the key range.
fn fts5_matches(order: &'static str) -> Sql {
    Sql::of(&[
        "SELECT ",
        T_TICKET_COLUMNS,
        ", k.fts_rowid FROM ticket_fts f \
         JOIN ticket_fts_keys k ON k.fts_rowid = f.rowid \
         JOIN tickets t ON t.workspace_id = k.workspace_id AND t.id = k.ticket_id \
         WHERE ticket_fts MATCH $8 AND f.rowid >= $9 AND f.rowid < $10 \
         AND k.workspace_id = $1 AND ",
        LIST_FILTERS,
        " ORDER BY ",
        order,
        " LIMIT $7",
    ])
}
const NEWEST_KEYS: &str = "f.rowid DESC";
const NEWEST_IDS: &str = "t.id DESC";
/// The smallest key whose ticket, or an earlier key's, may have an id above `$2`.
const FIRST_KEY_ABOVE: &str = "SELECT fts_rowid FROM ticket_fts_keys \
     WHERE workspace_id = $1 AND newest_id > $2 ORDER BY newest_id, fts_rowid LIMIT 1";

#[derive(sqlx::FromRow)]
struct Match {
    #[sqlx(flatten)]
    ticket: Row,
    fts_rowid: i64,
}

/// Keys follow insertion, which is id order in practice but not by rule (ids come from the
/// clock). So: the page of matches with the highest keys; if it is full, its lowest id `X`
/// is the bar, and only tickets with keys from the first whose `newest_id` passes `X` up to
/// the page's lowest key can still beat it (every smaller key belongs to an id below `X`);
/// those are fetched by id and merged. In id order that second range is empty.
async fn sqlite(
    tx: &mut TenantTx<'_>,
    binds: &ListBinds,
    fts_query: &str,
) -> Result<Vec<Row>, StoreError> {
    let newest: Vec<Match> = binds
        .query(fts5_matches(NEWEST_KEYS))
        .bind(fts_query)
        .bind(i64::MIN)
        .bind(i64::MAX)
        .fetch_all(tx.conn())
        .await?;
    let full = i64::try_from(newest.len()).unwrap_or(i64::MAX) >= binds.limit;
    let lowest_key = newest.iter().map(|m| m.fts_rowid).min();
    let bar = newest.iter().map(|m| m.ticket.id.clone()).min();
    let mut rows: Vec<Row> = newest.into_iter().map(|m| m.ticket).collect();
    let (Some(lowest_key), Some(bar)) = (lowest_key, bar) else {
        return Ok(rows);
    };
    if !full {
        return Ok(rows);
    }
    let first: Option<i64> = sqlx::query_scalar(FIRST_KEY_ABOVE)
        .bind(binds.ws.as_str())
        .bind(bar)
        .fetch_optional(tx.conn())
        .await?;
    if let Some(first) = first.filter(|first| *first < lowest_key) {
        let more: Vec<Match> = binds
            .query(fts5_matches(NEWEST_IDS))
            .bind(fts_query)
            .bind(first)
            .bind(lowest_key)
            .fetch_all(tx.conn())
            .await?;
        rows.extend(more.into_iter().map(|m| m.ticket));
    }
    Ok(rows)
}

/// PostgreSQL: all the words as one tsquery against the ticket's whole vector; a ticket whose
/// words overflow one tsvector (NULL) is matched word by word against its subject and messages
/// instead. The GIN index cannot serve this under the tables' FORCEd row-level security: `@@`
/// is not leakproof, so PostgreSQL checks the policy first and never uses it as an index
/// condition. So a search first walks the newest `WALK` tickets through the filters (cheap,
/// and enough for any common word), and only when they hold less than a page checks them all.
/// The placeholder of the first word; the others follow it.
const FIRST_WORD: usize = 8;

/// How many of the newest tickets (after the cursor and filters) a search looks at first.
const WALK: &str = "2000";

/// All `words` words (`$8`, `$9` …) as one tsquery against the ticket's vector, or, for a
/// ticket whose vector overflowed, each against its subject or one of its messages.
fn tsquery_match(sql: &mut Sql, words: usize) {
    let placeholders = FIRST_WORD..FIRST_WORD + words;
    sql.push("(t.search_vector @@ (holdfast_search_query(")
        .param(FIRST_WORD)
        .push(")");
    for n in placeholders.clone().skip(1) {
        sql.push(" && holdfast_search_query(").param(n).push(")");
    }
    sql.push(") OR (t.search_vector IS NULL");
    for n in placeholders {
        sql.push(
            " AND (to_tsvector('simple'::regconfig, holdfast_search_text(t.subject)) \
             @@ holdfast_search_query(",
        )
        .param(n)
        .push(
            ") OR EXISTS (SELECT 1 FROM ticket_messages m WHERE m.workspace_id = t.workspace_id \
             AND m.ticket_id = t.id AND m.search_vector @@ holdfast_search_query(",
        )
        .param(n)
        .push(")))");
    }
    sql.push("))");
}

/// The walk over the newest `WALK` tickets and the whole search, for `words` words.
fn tsquery_search(words: usize) -> [Sql; 2] {
    let mut walk = Sql::of(&[
        "SELECT ",
        TICKET_COLUMNS,
        " FROM (SELECT * FROM tickets t WHERE ",
        LIST_FILTERS,
        " ORDER BY t.id DESC LIMIT ",
        WALK,
        ") t WHERE ",
    ]);
    tsquery_match(&mut walk, words);
    walk.push(" ORDER BY t.id DESC LIMIT $7");
    let mut whole = Sql::of(&[
        "SELECT ",
        TICKET_COLUMNS,
        " FROM tickets t WHERE ",
        LIST_FILTERS,
        " AND ",
    ]);
    tsquery_match(&mut whole, words);
    whole.push(" ORDER BY t.id DESC LIMIT $7");
    [walk, whole]
}

async fn postgres(
    tx: &mut TenantTx<'_>,
    binds: &ListBinds,
    words: &[String],
) -> Result<Vec<Row>, StoreError> {
    // A search has 1 to MAX_TERMS words (`ticket_search` refuses others).
    if words.is_empty() || words.len() > MAX_TERMS {
        return Err(StoreError::Setup("a search needs 1 to 10 words".into()));
    }
    let [walk, whole] = tsquery_search(words.len());
    // A whole search is costed high enough for JIT compilation, which takes longer than the
    // scan itself; this transaction only.
    sqlx::query("SELECT set_config('jit', 'off', true)")
        .execute(tx.conn())
        .await?;
    for (sql, last) in [(walk, false), (whole, true)] {
        // Not a statement kept for reuse: PostgreSQL would soon switch to a generic plan,
        // which cannot see that the absent filters are `''` and scans and sorts every ticket
        // instead of walking the newest; planned each time with the values, the words are
        // folded into constants once too.
        let mut query = binds.query::<Row>(sql).persistent(false);
        for word in words {
            query = query.bind(word.as_str());
        }
        let rows: Vec<Row> = query.fetch_all(tx.conn()).await?;
        if i64::try_from(rows.len()).unwrap_or(i64::MAX) >= binds.limit || last {
            return Ok(rows);
        }
    }
    Ok(Vec::new())
}
