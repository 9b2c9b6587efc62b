//! Ticket search (`GET /api/v1/tickets?q=`), one way per dialect, both answering the list's
//! question: the newest tickets, after the cursor and through the filters, whose subject and
//! messages (notes included) hold every word. Each ticket is one search document
//! (migration 0025), so all the words are matched at once and a page of a common word's
//! matches is found without reading them all (docs/design/helpdesk.md, "Search").

use super::{ListBinds, Row};
use crate::Backend;
use crate::error::StoreError;
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
macro_rules! fts5_matches {
    ($order:literal) => {
        concat!(
            "SELECT ",
            t_ticket_columns!(),
            ", k.fts_rowid FROM ticket_fts f \
             JOIN ticket_fts_keys k ON k.fts_rowid = f.rowid \
             JOIN tickets t ON t.workspace_id = k.workspace_id AND t.id = k.ticket_id \
             WHERE ticket_fts MATCH $8 AND f.rowid >= $9 AND f.rowid < $10 \
             AND k.workspace_id = $1 AND ",
            list_filters!(),
            " ORDER BY ",
            $order,
            " LIMIT $7"
        )
    };
}
const NEWEST_KEYS: &str = fts5_matches!("f.rowid DESC");
const NEWEST_IDS: &str = fts5_matches!("t.id DESC");
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
        .query(NEWEST_KEYS)
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
            .query(NEWEST_IDS)
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
macro_rules! tsquery_match {
    ($first:literal $(, $n:literal)*) => {
        concat!(
            "(t.search_vector @@ (holdfast_search_query($",
            $first,
            ")",
            $(" && holdfast_search_query($", $n, ")",)*
            ") OR (t.search_vector IS NULL",
            tsquery_overflow_word!($first),
            $(tsquery_overflow_word!($n),)*
            "))"
        )
    };
}
macro_rules! tsquery_overflow_word {
    ($n:literal) => {
        concat!(
            " AND (to_tsvector('simple'::regconfig, holdfast_search_text(t.subject)) \
             @@ holdfast_search_query($",
            $n,
            ") OR EXISTS (SELECT 1 FROM ticket_messages m WHERE m.workspace_id = t.workspace_id \
             AND m.ticket_id = t.id AND m.search_vector @@ holdfast_search_query($",
            $n,
            ")))"
        )
    };
}
/// How many of the newest tickets (after the cursor and filters) a search looks at first.
macro_rules! walk {
    () => {
        "2000"
    };
}
macro_rules! tsquery_search {
    ($($n:literal),+) => {
        [
            concat!(
                "SELECT ",
                ticket_columns!(),
                " FROM (SELECT * FROM tickets t WHERE ",
                list_filters!(),
                " ORDER BY t.id DESC LIMIT ",
                walk!(),
                ") t WHERE ",
                tsquery_match!($($n),+),
                " ORDER BY t.id DESC LIMIT $7"
            ),
            concat!(
                "SELECT ",
                ticket_columns!(),
                " FROM tickets t WHERE ",
                list_filters!(),
                " AND ",
                tsquery_match!($($n),+),
                " ORDER BY t.id DESC LIMIT $7"
            ),
        ]
    };
}
/// Index `n - 1`: the walk and the whole search for `n` words in `$8`, `$9` ….
const SEARCH_POSTGRES: [[&str; 2]; MAX_TERMS] = [
    tsquery_search!(8),
    tsquery_search!(8, 9),
    tsquery_search!(8, 9, 10),
    tsquery_search!(8, 9, 10, 11),
    tsquery_search!(8, 9, 10, 11, 12),
    tsquery_search!(8, 9, 10, 11, 12, 13),
    tsquery_search!(8, 9, 10, 11, 12, 13, 14),
    tsquery_search!(8, 9, 10, 11, 12, 13, 14, 15),
    tsquery_search!(8, 9, 10, 11, 12, 13, 14, 15, 16),
    tsquery_search!(8, 9, 10, 11, 12, 13, 14, 15, 16, 17),
];

async fn postgres(
    tx: &mut TenantTx<'_>,
    binds: &ListBinds,
    words: &[String],
) -> Result<Vec<Row>, StoreError> {
    // A search has 1 to MAX_TERMS words (`ticket_search` refuses others).
    let [walk, whole] = words
        .len()
        .checked_sub(1)
        .and_then(|slot| SEARCH_POSTGRES.get(slot))
        .copied()
        .ok_or_else(|| StoreError::Setup("a search needs 1 to 10 words".into()))?;
    // A whole search is costed high enough for JIT compilation, which takes longer than the
    // scan itself; this transaction only.
    sqlx::query("SELECT set_config('jit', 'off', true)")
        .execute(tx.conn())
        .await?;
    for sql in [walk, whole] {
        // Not a statement kept for reuse: PostgreSQL would soon switch to a generic plan,
        // which cannot see that the absent filters are `''` and scans and sorts every ticket
        // instead of walking the newest; planned each time with the values, the words are
        // folded into constants once too.
        let mut query = binds.query::<Row>(sql).persistent(false);
        for word in words {
            query = query.bind(word.as_str());
        }
        let rows: Vec<Row> = query.fetch_all(tx.conn()).await?;
        if i64::try_from(rows.len()).unwrap_or(i64::MAX) >= binds.limit || sql == whole {
            return Ok(rows);
        }
    }
    Ok(Vec::new())
}
