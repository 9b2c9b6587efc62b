//! Ticket search at size, on both databases: pages stay exactly newest first when tickets were
//! not stored in id order (the SQLite index walks insertion order and must notice), filters and
//! cursors combine with a search, and a ticket too large for one index entry is still found.

use crate::ids;
use holdfast_core::ops::config::Layer;
use holdfast_store::Backend;
use holdfast_testkit::{TestApp, Workspace};
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
        let mut tx = app.workspace_tx(&ws).await;
        let overflowing: Vec<String> =
            sqlx::query_scalar("SELECT id FROM tickets WHERE search_vector IS NULL")
                .fetch_all(&mut *tx)
                .await
                .unwrap();
        assert_eq!(
            overflowing,
            std::slice::from_ref(&large),
            "the large ticket overflows"
        );
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
