//! Ticket search at size, on both databases: pages stay exactly newest first when tickets were
//! not stored in id order (the SQLite index walks insertion order and must notice), filters and
//! cursors combine with a search, a ticket too large for one index entry is still found, and
//! the index keeps step with what a ticket holds (later messages, erasure, retention) and with
//! whose it is.

use crate::ids;
use holdfast_core::ops::config::Layer;
use holdfast_store::Backend;
use holdfast_testkit::{Method, TestApp, Workspace};
use serde_json::json;

async fn open(app: &TestApp, ws: &Workspace, subject: &str, message: &str) -> String {
    let body =
        json!({"subject": subject, "contact": {"email": "ada@example.com"}, "message": message});
    crate::ticket_id(app, ws, body).await
}

/// Every page of `query` (`limit` each), following `next_cursor` to the end.
async fn pages(app: &TestApp, ws: &Workspace, query: &str, limit: u32) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut cursor = String::new();
    loop {
        let mut path = format!("/api/v1/tickets?{query}&limit={limit}");
        if !cursor.is_empty() {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let page = app.get(&path).key(&ws.admin_key).expect(200).await.json;
        pages.push(ids(&page));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => return pages,
        }
        assert!(pages.len() < 20, "{query}: the pages never end");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn search_pages_are_newest_first_even_when_the_clock_went_back() {
    let start = 1_800_000_000_000;
    // The API budget is raised out of the way: it too runs on this clock.
    let layer = Layer {
        api_rate_limit_per_minute: Some(6_000_000),
        ..Layer::default()
    };
    let (app, clock) = TestApp::spawn_on_clock(layer, start).await;
    let ws = app.workspace("search-clock").await;
    // Stored in this order, but made at these milliseconds: ids (and "newest first") follow the
    // clock, the search index's keys the order of storing.
    let millis: [i64; 6] = [50, 10, 40, 20, 60, 30];
    let mut made = Vec::new();
    let mut now = start;
    for s in millis {
        let at = start + s;
        clock.advance(at - now);
        now = at;
        let id = open(&app, &ws, &format!("Boiler {s}"), "No heat since Monday").await;
        if s == 40 || s == 20 {
            app.post(&format!("/api/v1/tickets/{id}/replies"))
                .key(&ws.admin_key)
                .json(&json!({"body": "An engineer comes tomorrow."}))
                .expect(201)
                .await;
        }
        made.push((s, id));
    }
    clock.advance(start + 70 - now);
    let tap = open(&app, &ws, "Leaking tap", "Drips all night").await;
    let newest_first = |pick: &dyn Fn(i64) -> bool| {
        let mut picked: Vec<&(i64, String)> = made.iter().filter(|(s, _)| pick(*s)).collect();
        picked.sort_by_key(|p| std::cmp::Reverse(p.0));
        picked
            .into_iter()
            .map(|(_, id)| id.clone())
            .collect::<Vec<_>>()
    };
    let all = newest_first(&|_| true);
    // The plain list agrees: ids follow the clock.
    let mut open_list = vec![tap.clone()];
    open_list.extend(newest_first(&|s| s != 40 && s != 20));
    assert_eq!(pages(&app, &ws, "status=open", 10).await, [open_list]);
    for (query, limit) in [
        ("q=boiler", 2),
        ("q=boiler", 3),
        ("q=boiler", 4),
        ("q=boiler", 50),
        ("q=heat%20boil", 2),
        ("q=monday", 1),
    ] {
        let found: Vec<String> = pages(&app, &ws, query, limit).await.concat();
        assert_eq!(found, all, "{query}, {limit} a page");
    }
    assert_eq!(
        pages(&app, &ws, "q=boiler", 2).await,
        [
            all[0..2].to_vec(),
            all[2..4].to_vec(),
            all[4..6].to_vec(),
            vec![]
        ]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
    );
    // A filter and a cursor with a search: the two with a reply are pending, page by page.
    assert_eq!(
        pages(&app, &ws, "q=boiler&status=pending", 1).await,
        [vec![made[2].1.clone()], vec![made[3].1.clone()]]
    );
    assert_eq!(
        pages(&app, &ws, "q=engineer", 1).await.concat(),
        [made[2].1.clone(), made[3].1.clone()],
        "a reply's words"
    );
    assert_eq!(
        pages(&app, &ws, "q=boiler&status=open", 3).await.concat(),
        newest_first(&|s| s != 40 && s != 20)
    );
    assert_eq!(pages(&app, &ws, "q=drips", 5).await, [vec![tap.clone()]]);
    assert_eq!(
        pages(&app, &ws, "q=boiler%20drips", 5).await,
        [Vec::<String>::new()]
    );
}

/// A word that cannot occur in the other notes: `n3w00017`.
fn note_words(note: usize, words: usize) -> String {
    (0..words)
        .map(|i| format!("n{note}w{i:05}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ticket_too_large_for_one_index_entry_is_still_found() {
    let app = TestApp::spawn_with(Layer {
        body_limit_bytes: Some(1 << 20),
        ..Layer::default()
    })
    .await;
    let ws = app.workspace("search-large").await;
    let small = open(&app, &ws, "Server logs attached", "See the notes").await;
    let large = open(&app, &ws, "Server logs attached", "See the notes").await;
    // Eight notes of 11 000 different words each: more than one PostgreSQL tsvector holds.
    for note in 0..8 {
        app.post(&format!("/api/v1/tickets/{large}/notes"))
            .key(&ws.admin_key)
            .json(&json!({"body": note_words(note, 11_000)}))
            .expect(201)
            .await;
    }
    if app.db.backend() == Backend::Postgres {
        // Its words are rows of the word table, however many: the notes' 88 000, and three
        // each from the subject and the first message.
        let mut tx = app.workspace_tx(&ws).await;
        let words: i64 =
            sqlx::query_scalar("SELECT count(*) FROM ticket_fts_words WHERE ticket_id = $1")
                .bind(&large)
                .fetch_one(&mut *tx)
                .await
                .unwrap();
        assert_eq!(words, 88_000 + 3 + 3, "the large ticket's words");
    }
    for (q, expected) in [
        ("n0w00001", vec![large.clone()]),
        ("n7w10999", vec![large.clone()]),
        ("logs n7w10999", vec![large.clone()]),
        ("n0w00001 n7w1099", vec![large.clone()]),
        ("logs", vec![large.clone(), small.clone()]),
        ("server attached", vec![large.clone(), small.clone()]),
        ("n0w00001 n8w0", vec![]),
        ("n0w00001 notes zebra", vec![]),
    ] {
        let path = format!("/api/v1/tickets?q={}", q.replace(' ', "%20"));
        let found = app.get(&path).key(&ws.admin_key).expect(200).await.json;
        assert_eq!(ids(&found), expected, "q={q}");
    }
    // A new note keeps it found; a small ticket is indexed as a whole again.
    app.post(&format!("/api/v1/tickets/{small}/notes"))
        .key(&ws.admin_key)
        .json(&json!({"body": "n0w00001 appears here too"}))
        .expect(201)
        .await;
    let found = app
        .get("/api/v1/tickets?q=n0w00001%20logs")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(ids(&found), [large, small]);
}

/// The ids a search finds.
async fn search(app: &TestApp, ws: &Workspace, q: &str) -> Vec<String> {
    let path = format!("/api/v1/tickets?q={}", q.replace(' ', "%20"));
    ids(&app.get(&path).key(&ws.admin_key).expect(200).await.json)
}

/// How many rows of the PostgreSQL word table hold `word` in `ws` (`None` on SQLite).
async fn indexed(app: &TestApp, ws: &Workspace, word: &str) -> Option<i64> {
    if app.db.backend() != Backend::Postgres {
        return None;
    }
    let mut tx = app.workspace_tx(ws).await;
    let n = sqlx::query_scalar("SELECT count(*) FROM ticket_fts_words WHERE word = $1")
        .bind(word)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    Some(n)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_word_of_a_later_message_is_found_whole_and_as_the_last_prefix() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("search-later").await;
    let older = open(&app, &ws, "Gutter overflow", "Water everywhere").await;
    let tap = open(&app, &ws, "Leaking tap", "Drips all night").await;
    assert!(search(&app, &ws, "washer").await.is_empty());
    for (path, body) in [
        ("replies", "We will bring a new Washer."),
        ("notes", "Customer prefers mornings; quote 12B."),
    ] {
        app.post(&format!("/api/v1/tickets/{tap}/{path}"))
            .key(&ws.admin_key)
            .json(&json!({"body": body}))
            .expect(201)
            .await;
    }
    app.post(&format!("/api/v1/tickets/{older}/notes"))
        .key(&ws.admin_key)
        .json(&json!({"body": "Same washer size as the tap ticket"}))
        .expect(201)
        .await;
    for (q, expected) in [
        ("washer", vec![tap.clone(), older.clone()]),
        ("WASHER drips", vec![tap.clone()]),
        ("drips wash", vec![tap.clone()]),
        ("wash", vec![tap.clone(), older.clone()]),
        ("morn leaking", vec![]),
        ("leaking morn", vec![tap.clone()]),
        ("12b", vec![tap.clone()]),
        ("gutter wash", vec![older.clone()]),
        ("gutter washers", vec![]),
        ("washe ticket", vec![]),
        ("ticket washe", vec![older.clone()]),
    ] {
        assert_eq!(search(&app, &ws, q).await, expected, "q={q}");
    }
    // One row per word and ticket, however often it is written.
    app.post(&format!("/api/v1/tickets/{tap}/notes"))
        .key(&ws.admin_key)
        .json(&json!({"body": "washer washer WASHER"}))
        .expect(201)
        .await;
    if let Some(n) = indexed(&app, &ws, "washer").await {
        assert_eq!(n, 2, "once for each of the two tickets");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn another_workspaces_words_never_match() {
    let app = TestApp::spawn().await;
    let a = app.workspace("search-iso-a").await;
    let b = app.workspace("search-iso-b").await;
    let word = format!("zq{}", &holdfast_testkit::unique("w")[2..]);
    let theirs = open(&app, &b, &format!("Boiler {word}"), "Only in B").await;
    let ours = open(&app, &a, "Boiler", "Nothing special").await;
    assert_eq!(search(&app, &b, &word).await, std::slice::from_ref(&theirs));
    assert!(search(&app, &a, &word).await.is_empty());
    assert!(
        search(&app, &a, &word[..4]).await.is_empty(),
        "nor as a prefix"
    );
    assert!(search(&app, &a, &format!("boiler {word}")).await.is_empty());
    assert_eq!(search(&app, &a, "boiler").await, [ours]);
    assert_eq!(search(&app, &b, "boiler").await, [theirs]);
    if app.db.backend() == Backend::Postgres {
        // The word table is confined to the workspace even for SQL that forgets its
        // predicate, and refuses a row for another workspace.
        assert_eq!(indexed(&app, &a, &word).await, Some(0));
        assert_eq!(indexed(&app, &b, &word).await, Some(1));
        let mut tx = app.workspace_tx(&a).await;
        let forged = sqlx::query(
            "INSERT INTO ticket_fts_words (workspace_id, word, ticket_id) VALUES ($1, 'boiler', 'tk_x')",
        )
        .bind(&b.id)
        .execute(&mut *tx)
        .await;
        assert!(forged.is_err(), "no row for B from A's transaction");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_erased_contacts_words_are_gone_at_once() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("search-erase").await;
    let hex = &holdfast_testkit::unique("w")[2..];
    let word = format!("quaxmire{hex}");
    let body = json!({"subject": format!("Boiler for {word}"),
                      "contact": {"email": format!("{word}@example.com")},
                      "message": format!("Please call {word}")});
    let ticket = crate::ticket_id(&app, &ws, body).await;
    let kept = open(&app, &ws, "Boiler", "Someone else's").await;
    assert_eq!(
        search(&app, &ws, &word).await,
        std::slice::from_ref(&ticket)
    );
    assert_eq!(indexed(&app, &ws, &word).await.unwrap_or(1), 1);
    let contact = app
        .get(&format!("/api/v1/tickets/{ticket}"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json["contact_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(&format!("/api/v1/contacts/{contact}/erase"))
        .key(&ws.admin_key)
        .json(&json!({"reason": "customer asked"}))
        .expect(200)
        .await;
    assert!(search(&app, &ws, &word).await.is_empty());
    assert!(search(&app, &ws, &word[..6]).await.is_empty());
    assert_eq!(indexed(&app, &ws, &word).await.unwrap_or(0), 0);
    assert_eq!(search(&app, &ws, "boiler").await, [kept]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_purged_message_takes_only_the_words_nothing_else_in_the_ticket_has() {
    const DAY: i64 = 24 * 60 * 60 * 1000;
    let secret = "search-retention-secret-0123456789abcdef";
    let layer = Layer {
        cron_secret: Some(secret.into()),
        ..Layer::default()
    };
    let (app, clock) = TestApp::spawn_on_clock(layer, 2_208_988_800_000).await;
    let ws = app.workspace("search-retention").await;
    let ticket = open(
        &app,
        &ws,
        "Boiler service",
        "Old flange leaks near the pump",
    )
    .await;
    clock.advance(40 * DAY);
    app.post(&format!("/api/v1/tickets/{ticket}/replies"))
        .key(&ws.admin_key)
        .json(&json!({"body": "The pump is replaced."}))
        .expect(201)
        .await;
    assert_eq!(
        search(&app, &ws, "flange pump").await,
        std::slice::from_ref(&ticket)
    );
    app.call(Method::PUT, "/api/v1/settings/retention")
        .key(&ws.admin_key)
        .json(&json!({"messages_days": 30}))
        .expect(200)
        .await;
    app.post("/internal/cron/tick")
        .header("x-holdfast-cron-secret", secret)
        .expect(200)
        .await;
    let left = app
        .get(&format!("/api/v1/tickets/{ticket}"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(left["messages"].as_array().unwrap().len(), 1, "{left:#}");
    assert!(
        search(&app, &ws, "flange").await.is_empty(),
        "the purged message's word"
    );
    assert!(search(&app, &ws, "leaks").await.is_empty());
    assert_eq!(indexed(&app, &ws, "flange").await.unwrap_or(0), 0);
    for q in ["pump", "boiler", "replaced", "service pump"] {
        assert_eq!(
            search(&app, &ws, q).await,
            std::slice::from_ref(&ticket),
            "q={q}"
        );
    }
}
