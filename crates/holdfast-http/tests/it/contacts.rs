//! Contacts: the full life cycle, pagination, search, idempotency and every kind of bad input.

use crate::{ada, contact};
use holdfast_core::ops::config::Layer;
use holdfast_testkit::TestApp;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread")]
async fn create_get_update_delete() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("crud").await;
    let created = app
        .post("/api/v1/contacts")
        .key(&ws.admin_key)
        .json(&ada())
        .expect(201)
        .await;
    let c = &created.json;
    assert!(c["id"].as_str().unwrap().starts_with("ct_"));
    assert_eq!(c["phone"], "+442079460958", "phone normalised to E.164");
    assert_eq!(c["tags"], json!(["vip"]));
    let path = format!("/api/v1/contacts/{}", c["id"].as_str().unwrap());

    let got = app.get(&path).key(&ws.admin_key).expect(200).await;
    assert_eq!(got.json, created.json);

    let patched = app
        .patch(&path)
        .key(&ws.admin_key)
        .json(&json!({"company": null, "tags": ["north", "North"], "email": "ADA@Example.ORG"}))
        .expect(200)
        .await;
    assert_eq!(patched.json["company"], Value::Null);
    assert_eq!(
        patched.json["name"], "Ada Lovelace",
        "absent fields are unchanged"
    );
    assert_eq!(patched.json["email"], "ADA@example.org");
    assert_eq!(patched.json["tags"], json!(["north"]));

    app.delete(&path).key(&ws.admin_key).expect(204).await;
    app.get(&path)
        .key(&ws.admin_key)
        .expect(404)
        .await
        .problem("HF-REQ-005");
    app.delete(&path).key(&ws.admin_key).expect(404).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn list_pages_with_a_cursor_and_searches_name_and_email() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("pages").await;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(
            contact(
                &app,
                &ws,
                json!({"name": format!("Person {n}"), "email": format!("p{n}@example.com")}),
            )
            .await,
        );
    }
    contact(
        &app,
        &ws,
        json!({"name": "Zoë 100%_Match", "email": "zoe@corp.example"}),
    )
    .await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            None => "/api/v1/contacts?limit=2".to_owned(),
            Some(c) => format!("/api/v1/contacts?limit=2&cursor={c}"),
        };
        let page = app.get(&path).key(&ws.admin_key).expect(200).await;
        pages += 1;
        for c in page.json["data"].as_array().unwrap() {
            seen.push(c["id"].as_str().unwrap().to_owned());
        }
        match page.json["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 6);
    assert_eq!(
        &seen[..5],
        &ids[..],
        "pages come in creation order, without gaps or repeats"
    );

    let by_name = app
        .get("/api/v1/contacts?q=PERSON%203")
        .key(&ws.admin_key)
        .expect(200)
        .await;
    assert_eq!(by_name.json["data"].as_array().unwrap().len(), 1);
    let by_email = app
        .get("/api/v1/contacts?q=corp.example")
        .key(&ws.admin_key)
        .expect(200)
        .await;
    assert_eq!(by_email.json["data"][0]["name"], "Zoë 100%_Match");
    let wildcard = app
        .get("/api/v1/contacts?q=%25_")
        .key(&ws.admin_key)
        .expect(200)
        .await;
    assert_eq!(
        wildcard.json["data"].as_array().unwrap().len(),
        1,
        "% and _ are literal in search"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_gets_a_clear_problem_and_writes_nothing() {
    let app = TestApp::spawn_with(Layer {
        // Small enough that an oversized body still fits the socket buffer: the 413 arrives
        // whole instead of racing a half-written upload.
        body_limit_bytes: Some(4096),
        ..Layer::default()
    })
    .await;
    let ws = app.workspace("bad").await;
    let k = &ws.admin_key;
    let post = |body: Value| app.post("/api/v1/contacts").key(k).json(&body);

    let r =
        post(json!({"name": "", "email": "not-an-email", "phone": "0151 234", "tags": ["ok", ""]}))
            .expect(422)
            .await;
    let errors: Vec<&str> = r.problem("HF-REQ-004")["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(errors, vec!["name", "email", "phone", "tags[1]"]);
    assert!(
        r.text.contains("country code"),
        "phone error says what to do: {}",
        r.text
    );

    post(json!({"name": "A", "nickname": "x"}))
        .expect(422)
        .await
        .problem("HF-REQ-004");
    post(json!({})).expect(422).await;
    post(json!({"name": "x".repeat(201)})).expect(422).await;
    post(json!({"name": 42})).expect(422).await;
    post(json!({"name": "A", "tags": (0..51).map(|n| n.to_string()).collect::<Vec<_>>()}))
        .expect(422)
        .await;
    app.post("/api/v1/contacts")
        .key(k)
        .body("application/json", "{\"name\": ")
        .expect(400)
        .await
        .problem("HF-REQ-001");
    app.post("/api/v1/contacts")
        .key(k)
        .body("text/plain", "name=A")
        .expect(415)
        .await
        .problem("HF-REQ-002");
    app.post("/api/v1/contacts")
        .key(k)
        .body(
            "application/json",
            format!("{{\"name\":\"{}\"}}", "a".repeat(8 * 1024)),
        )
        .expect(413)
        .await
        .problem("HF-REQ-003");
    for q in [
        "limit=0",
        "limit=201",
        "limit=abc",
        "cursor=garbage",
        "q=",
        "colour=red",
    ] {
        app.get(&format!("/api/v1/contacts?{q}"))
            .key(k)
            .expect(422)
            .await
            .problem("HF-REQ-004");
    }
    app.get("/api/v1/contacts/not-an-id")
        .key(k)
        .expect(404)
        .await;
    app.patch("/api/v1/contacts/ct_00000000000000000000000000000000")
        .key(k)
        .json(&json!({"name": "X"}))
        .expect(404)
        .await;

    let list = app.get("/api/v1/contacts").key(k).expect(200).await;
    assert_eq!(
        list.json["data"],
        json!([]),
        "no failed request left a record behind"
    );

    let id = contact(&app, &ws, ada()).await;
    let path = format!("/api/v1/contacts/{id}");
    let r = post(json!({"name": "Imposter", "email": "ADA@example.com"}))
        .expect(409)
        .await;
    assert_eq!(r.problem("HF-REQ-007")["errors"][0]["field"], "email");
    app.patch(&path)
        .key(k)
        .json(&json!({"name": null, "email": null, "phone": null}))
        .expect(422)
        .await;
    app.patch(&path)
        .key(k)
        .json(&json!({"phone": "call me"}))
        .expect(422)
        .await;
    let unchanged = app.get(&path).key(k).expect(200).await;
    assert_eq!(
        unchanged.json["phone"], "+442079460958",
        "a refused patch changed nothing"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn idempotency_key_replays_the_first_response() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("idem").await;
    let send = |body: Value, key: &str| {
        app.post("/api/v1/contacts")
            .key(&ws.admin_key)
            .header("idempotency-key", key)
            .json(&body)
    };
    let first = send(json!({"name": "Once"}), "order-42").expect(201).await;
    assert!(first.header("idempotent-replayed").is_none());
    let again = send(json!({"name": "Once"}), "order-42").expect(201).await;
    assert_eq!(again.json, first.json, "a retry gets the same contact");
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    send(json!({"name": "Twice"}), "order-42")
        .expect(422)
        .await
        .problem("HF-REQ-008");
    send(json!({"name": "Other"}), "order-43").expect(201).await;
    send(json!({"name": "Bad key"}), &"k".repeat(256))
        .expect(422)
        .await;
    let all = app
        .get("/api/v1/contacts")
        .key(&ws.admin_key)
        .expect(200)
        .await;
    assert_eq!(all.json["data"].as_array().unwrap().len(), 2);

    // Keys are per workspace: another workspace may use the same key for its own request.
    let other = app.workspace("idem-b").await;
    let r = app
        .post("/api/v1/contacts")
        .key(&other.admin_key)
        .header("idempotency-key", "order-42")
        .json(&json!({"name": "Once"}))
        .expect(201)
        .await;
    assert_ne!(r.json["id"], first.json["id"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_creates_all_succeed_without_lock_errors() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("concurrent").await;
    let requests = (0..48).map(|n| {
        app.post("/api/v1/contacts")
            .key(&ws.admin_key)
            .json(&json!({"name": format!("Parallel {n}"), "email": format!("parallel{n}@example.com")}))
            .send()
    });
    let responses = futures::future::join_all(requests).await;
    for r in &responses {
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let listed = app
        .get("/api/v1/contacts?limit=200")
        .key(&ws.admin_key)
        .expect(200)
        .await;
    assert_eq!(listed.json["data"].as_array().unwrap().len(), 48);
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_patches_of_different_fields_both_hold() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("patchrace").await;
    let id = contact(
        &app,
        &ws,
        json!({"name": "Original", "company": "Original"}),
    )
    .await;
    let path = format!("/api/v1/contacts/{id}");
    let patches = (0..10).flat_map(|i| {
        [
            app.patch(&path)
                .key(&ws.admin_key)
                .json(&json!({"name": format!("Name {i}")}))
                .expect(200),
            app.patch(&path)
                .key(&ws.admin_key)
                .json(&json!({"company": format!("Company {i}")}))
                .expect(200),
        ]
    });
    futures::future::join_all(patches).await;
    let last = app.get(&path).key(&ws.admin_key).expect(200).await.json;
    assert_ne!(last["name"], "Original", "a name change was lost: {last}");
    assert_ne!(
        last["company"], "Original",
        "a company change was lost: {last}"
    );
}
