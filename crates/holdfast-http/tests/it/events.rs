//! The live event stream (`GET /api/v1/events`): a workspace's operators hear its ticket and
//! message events as they commit, nothing of other workspaces, and — on PostgreSQL — a change
//! made through one server instance reaches a client of another (LISTEN/NOTIFY).

use holdfast_testkit::sse::EventStream;
use holdfast_testkit::{TestApp, Workspace, postgres_url};
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

async fn open_ticket(app: &TestApp, ws: &Workspace, subject: &str) -> Value {
    let body = json!({
        "subject": subject,
        "contact": {"email": "ada@example.com"},
        "message": "The boiler is cold."
    });
    crate::ticket(app, ws, body).await
}

async fn stream(app: &TestApp, key: &str) -> EventStream {
    let mut events = EventStream::open(&format!("{}/api/v1/events", app.base), key).await;
    // Every change after `ready` is heard.
    let ready = events.next(WAIT).await.expect("a ready event");
    assert_eq!(ready.event, "ready");
    events
}

#[tokio::test(flavor = "multi_thread")]
async fn operators_hear_their_workspaces_ticket_events_and_nothing_of_others() {
    let app = TestApp::spawn().await;
    let ours = app.workspace("live").await;
    let theirs = app.workspace("elsewhere").await;
    let mut events = stream(&app, &ours.admin_key).await;

    let foreign = open_ticket(&app, &theirs, "Not yours").await;
    let ticket = open_ticket(&app, &ours, "Cold boiler").await;
    let id = ticket["id"].as_str().unwrap();
    let created = events.next(WAIT).await.expect("ticket.created");
    assert_eq!(created.event, "ticket.created", "{created:?}");
    assert_eq!(created.json()["ticket_id"], id);
    assert!(created.id.as_deref().unwrap().starts_with("evt_"));
    let message = events.next(WAIT).await.expect("message.created");
    assert_eq!(message.event, "message.created");
    assert_eq!(message.json()["ticket_id"], id);
    assert_eq!(
        message.json()["message_id"],
        ticket["messages"][0]["id"],
        "{ticket}"
    );
    // A notice names the change; the record is fetched through the API.
    assert!(!message.data.contains("boiler"), "{}", message.data);

    app.post(&format!("/api/v1/tickets/{id}/notes"))
        .key(&ours.admin_key)
        .json(&json!({"body": "Call the landlord"}))
        .expect(201)
        .await;
    app.patch(&format!("/api/v1/tickets/{id}"))
        .key(&ours.admin_key)
        .json(&json!({"status": "pending"}))
        .expect(200)
        .await;
    let note = events.next(WAIT).await.unwrap();
    assert_eq!(note.event, "message.created");
    let updated = events.next(WAIT).await.unwrap();
    assert_eq!(updated.event, "ticket.updated");
    assert_eq!(updated.json()["ticket_id"], id);

    // Nothing of the other workspace came through, and nothing more is pending.
    let foreign_id = foreign["id"].as_str().unwrap();
    let quiet = events.next(Duration::from_millis(300)).await;
    assert!(quiet.is_none(), "{quiet:?}");
    for event in [created, message, note, updated] {
        assert!(!event.data.contains(foreign_id));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_stream_needs_tickets_read_and_a_refused_change_announces_nothing() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("guarded").await;
    let marketing = app
        .key(
            &ws.slug,
            holdfast_core::access::policy::BuiltinRole::Marketing,
        )
        .await;
    app.get("/api/v1/events").key(&marketing).expect(403).await;
    app.get("/api/v1/events").expect(401).await;

    let mut events = stream(&app, &ws.admin_key).await;
    // A ticket refused by validation writes nothing and announces nothing.
    app.post("/api/v1/tickets")
        .key(&ws.admin_key)
        .json(&json!({"subject": "", "contact": {"email": "nope"}, "message": ""}))
        .expect(422)
        .await;
    let quiet = events.next(Duration::from_millis(300)).await;
    assert!(quiet.is_none(), "{quiet:?}");
    open_ticket(&app, &ws, "Real one").await;
    assert_eq!(events.next(WAIT).await.unwrap().event, "ticket.created");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_on_one_instance_reaches_a_client_of_another() {
    if postgres_url().is_none() {
        eprintln!(
            "skipped: realtime across instances needs PostgreSQL (HOLDFAST_TEST_DATABASE_URL)"
        );
        return;
    }
    let first = TestApp::spawn().await;
    let ws = first.workspace("twins").await;
    let second = first.another_instance().await;
    assert_ne!(first.base, second.base);
    let mut on_second = stream(&second, &ws.admin_key).await;
    let mut on_first = stream(&first, &ws.admin_key).await;

    let ticket = open_ticket(&first, &ws, "Made on the first").await;
    let heard = on_second
        .next_named("ticket.created", WAIT)
        .await
        .expect("the second instance's client hears the first's change");
    assert_eq!(heard.json()["ticket_id"], ticket["id"]);
    // And the other way round.
    let id = ticket["id"].as_str().unwrap();
    second
        .patch(&format!("/api/v1/tickets/{id}"))
        .key(&ws.admin_key)
        .json(&json!({"status": "resolved"}))
        .expect(200)
        .await;
    let back = on_first
        .next_named("ticket.updated", WAIT)
        .await
        .expect("the first instance's client hears the second's change");
    assert_eq!(back.json()["ticket_id"], id);
}
