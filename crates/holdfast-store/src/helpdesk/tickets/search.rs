//! Ticket search (`GET /api/v1/tickets?q=`), one way per dialect, both answering the list's
//! question: the newest tickets, after the cursor and through the filters, whose subject and
//! messages (notes included) hold every word. On SQLite each ticket is one FTS5 document
//! (migration 0025), so all the words are matched at once; on PostgreSQL each word of each
//! ticket is a row of a B-tree (migration 0062), walked newest ticket first. Either way a page
//! of a common word's matches is found without reading them all (docs/design/helpdesk.md,
//! "Search").

use super::{LIST_FILTERS, ListBinds, Row, T_TICKET_COLUMNS};
use crate::Backend;
use crate::error::StoreError;
use crate::sql::Sql;
use crate::tenant::TenantTx;
use holdfast_core::helpdesk::ticket_search::{MAX_TERMS, SearchQuery, prefix_end};
use holdfast_core::helpdesk::tickets::TicketOut;

pub(super) async fn tickets(
    tx: &mut TenantTx<'_>,
    binds: &ListBinds,
    q: &SearchQuery,
) -> Result<Vec<TicketOut>, StoreError> {
    let mut rows = match tx.backend {
        Backend::Sqlite => sqlite(tx, binds, &q.fts5_query()).await?,
        Backend::Postgres => postgres(tx, binds, q).await?,
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

/// PostgreSQL: each word is looked up in `ticket_fts_words` (migration 0062), one row per
/// word of each ticket, keyed `(workspace_id, word, ticket_id)`: a word by equality, the last
/// as a prefix by a key range. Both compare text only, which is leakproof, so PostgreSQL uses
/// the B-trees under the tables' FORCEd row-level security (a `@@` on a tsvector it would only
/// check after the policy, row by row).
///
/// Each word's tickets are counted up to WALK first (a few index pages): a word no ticket
/// holds ends the search at once. When every word is common, the newest WALK tickets through
/// the filters are checked word by word and usually hold a page. Otherwise (or when they do
/// not) the tickets holding every word are found in the word table alone, from the rarest
/// word's rows, and only those are read through the filters, newest first. The cursor is the
/// list's `t.id < $2` throughout, so pages are exactly newest first whatever the clock did.
///
/// The words are folded by the function that made the table's words,
/// `holdfast_search_words`, so a term matches exactly the words it matched as a tsquery. A
/// term that folds to no word is left out (as `&&` left an empty tsquery out); one that folds
/// to several (a rare mark between letters, `a①b`) needs each of them.
async fn postgres(
    tx: &mut TenantTx<'_>,
    binds: &ListBinds,
    q: &SearchQuery,
) -> Result<Vec<Row>, StoreError> {
    let terms = q.prefixed_terms();
    // A search has 1 to MAX_TERMS words (`ticket_search` refuses others).
    if terms.is_empty() || terms.len() > MAX_TERMS {
        return Err(StoreError::Setup("a search needs 1 to 10 words".into()));
    }
    let mut fold = Sql::default();
    for n in 1..=terms.len() {
        if n > 1 {
            fold.push(" UNION ALL ");
        }
        fold.push("SELECT ")
            .param(n)
            .push(" AS term, w.word FROM holdfast_search_words(")
            .param(n)
            .push(") AS w (word)");
    }
    let mut query = sqlx::query_as::<_, (String, String)>(fold);
    for (term, _) in &terms {
        query = query.bind(*term);
    }
    let folded: Vec<(String, String)> = query.fetch_all(tx.conn()).await?;
    // (word, end of its prefix range): `None` for an exact word.
    let mut wanted: Vec<(String, Option<String>)> = Vec::new();
    for (term, word) in folded {
        let prefix = terms.iter().any(|(t, p)| *p && *t == term);
        let end = if prefix {
            // No end: every word from the prefix on (only for a prefix of U+10FFFFs).
            Some(prefix_end(&word).unwrap_or_default())
        } else {
            None
        };
        if !wanted.iter().any(|(w, e)| *w == word && *e == end) {
            wanted.push((word, end));
        }
    }
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    // A search over many tickets is costed high enough for JIT compilation, which takes
    // longer than the search itself; this transaction only.
    sqlx::query("SELECT set_config('jit', 'off', true)")
        .execute(tx.conn())
        .await?;
    // How many tickets hold each word, counted up to WALK: a word no ticket has ends the
    // search, and the rarest leads.
    let mut counted = Vec::with_capacity(wanted.len());
    for (word, end) in &wanted {
        let mut sql = Sql::of(&[
            "SELECT count(*) FROM (SELECT 1 FROM ticket_fts_words w WHERE w.workspace_id = $1 \
             AND ($2 = '' OR w.ticket_id < $2) AND ",
        ]);
        word_condition(&mut sql, "w.word", 3, end.is_some());
        sql.push(" LIMIT ").push(WALK).push(") c");
        let mut query = sqlx::query_scalar::<_, i64>(sql)
            .persistent(false)
            .bind(binds.ws.as_str())
            .bind(binds.before.as_str())
            .bind(word.as_str());
        if let Some(end) = end {
            query = query.bind(end.as_str());
        }
        let n = query.fetch_one(tx.conn()).await?;
        if n == 0 {
            return Ok(Vec::new());
        }
        counted.push((n, word, end));
    }
    counted.sort_by_key(|(n, _, _)| *n);
    let walk_limit: i64 = WALK.parse().unwrap_or(i64::MAX);
    let common = counted.first().is_some_and(|(n, _, _)| *n >= walk_limit);
    let wanted: Vec<(&String, &Option<String>)> =
        counted.iter().map(|(_, word, end)| (*word, *end)).collect();
    // Every word common: the newest WALK tickets through the filters likely hold a page.
    if common {
        let rows = word_query(binds, walk_sql(&wanted), &wanted)
            .fetch_all(tx.conn())
            .await?;
        if i64::try_from(rows.len()).unwrap_or(i64::MAX) >= binds.limit {
            return Ok(rows);
        }
    }
    // Otherwise the tickets holding every word, found among the words alone (from the
    // rarest), then read through the filters, newest first.
    Ok(word_query(binds, intersect_sql(&wanted), &wanted)
        .fetch_all(tx.conn())
        .await?)
}

/// How many of the newest tickets (after the cursor and filters) a search of common words
/// looks at first, and the count at which a word is common.
const WALK: &str = "2000";

/// `column` holds the word at `$n`, or, for a prefix, a word in `$n <= word < $(n + 1)`
/// (no upper bound when `$(n + 1)` is empty).
fn word_condition(sql: &mut Sql, column: &'static str, n: usize, prefix: bool) {
    sql.push(column);
    if prefix {
        sql.push(" >= ")
            .param(n)
            .push(" AND (")
            .param(n + 1)
            .push(" = '' OR ")
            .push(column)
            .push(" < ")
            .param(n + 1)
            .push(")");
    } else {
        sql.push(" = ").param(n);
    }
}

/// ` AND EXISTS (…)` for each word from the `skip`th, of the ticket `ticket` (`t.id` or
/// `w.ticket_id`) in the workspace `ws`, words bound from `$8` in order.
fn each_word_exists(
    sql: &mut Sql,
    wanted: &[(&String, &Option<String>)],
    skip: usize,
    ws: &'static str,
    ticket: &'static str,
) {
    let mut n = FIRST_WORD;
    for (i, (_, end)) in wanted.iter().enumerate() {
        if i >= skip {
            sql.push(" AND EXISTS (SELECT 1 FROM ticket_fts_words x WHERE x.workspace_id = ")
                .push(ws)
                .push(" AND x.ticket_id = ")
                .push(ticket)
                .push(" AND ");
            word_condition(sql, "x.word", n, end.is_some());
            sql.push(")");
        }
        n += if end.is_some() { 2 } else { 1 };
    }
}

/// The newest WALK tickets through the filters, those holding every word.
fn walk_sql(wanted: &[(&String, &Option<String>)]) -> Sql {
    let mut sql = Sql::of(&[
        "SELECT ",
        T_TICKET_COLUMNS,
        " FROM (SELECT * FROM tickets t WHERE ",
        LIST_FILTERS,
        " ORDER BY t.id DESC LIMIT ",
        WALK,
        ") t WHERE TRUE",
    ]);
    each_word_exists(&mut sql, wanted, 0, "t.workspace_id", "t.id");
    sql.push(" ORDER BY t.id DESC LIMIT $7");
    sql
}

/// The tickets holding every word: the first (rarest) word's tickets before the cursor that
/// hold the others too, found in the word table alone, then read through the filters.
fn intersect_sql(wanted: &[(&String, &Option<String>)]) -> Sql {
    let mut sql = Sql::of(&[
        "WITH m AS MATERIALIZED (SELECT DISTINCT w.ticket_id FROM ticket_fts_words w \
         WHERE w.workspace_id = $1 AND ($2 = '' OR w.ticket_id < $2) AND ",
    ]);
    let prefix = wanted.first().is_some_and(|(_, end)| end.is_some());
    word_condition(&mut sql, "w.word", FIRST_WORD, prefix);
    each_word_exists(&mut sql, wanted, 1, "w.workspace_id", "w.ticket_id");
    sql.push(") SELECT ")
        .push(T_TICKET_COLUMNS)
        .push(" FROM m JOIN tickets t ON t.workspace_id = $1 AND t.id = m.ticket_id WHERE ")
        .push(LIST_FILTERS)
        .push(" ORDER BY t.id DESC LIMIT $7");
    sql
}

/// The list's binds, then each word (and a prefix's end), in order. Not a statement kept for
/// reuse: planned each time with the values, PostgreSQL sees how common each word is and
/// that the absent filters are `''`.
fn word_query<'q>(
    binds: &'q ListBinds,
    sql: Sql,
    wanted: &[(&'q String, &'q Option<String>)],
) -> sqlx::query::QueryAs<'q, sqlx::Any, Row, sqlx::any::AnyArguments> {
    let mut query = binds.query::<Row>(sql).persistent(false);
    for (word, end) in wanted {
        query = query.bind(word.as_str());
        if let Some(end) = end {
            query = query.bind(end.as_str());
        }
    }
    query
}

/// The placeholder of the first word; the others follow it.
const FIRST_WORD: usize = 8;
