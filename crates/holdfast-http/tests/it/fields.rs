//! Field-level permissions: hidden fields are absent from every read (get, list, search), and a
//! write touching a field the role may not write is refused whole.

use crate::{ada, contact};
use holdfast_core::access::policy::BuiltinRole;
use holdfast_testkit::{TestApp, Workspace};
use serde_json::{Value, json};

async fn role_key(app: &TestApp, ws: &Workspace, body: Value) -> String {
    let role = app
        .post("/api/v1/roles")
        .key(&ws.admin_key)
        .json(&body)
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    crate::key_with_role(app, ws, &role).await.0
}

#[tokio::test(flavor = "multi_thread")]
async fn technicians_and_marketing_do_not_see_what_their_job_does_not_need() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("fieldsee").await;
    let id = contact(&app, &ws, ada()).await;
    let technician = app.key(&ws.slug, BuiltinRole::Technician).await;
    let marketing = app.key(&ws.slug, BuiltinRole::Marketing).await;

    let seen = app
        .get(&format!("/api/v1/contacts/{id}"))
        .key(&technician)
        .expect(200)
        .await
        .json;
    assert!(seen.get("email").is_none(), "absent, not null: {seen}");
    assert_eq!(seen["phone"], "+442079460958");
    assert_eq!(seen["name"], "Ada Lovelace");
    let listed = app
        .get("/api/v1/contacts")
        .key(&technician)
        .expect(200)
        .await
        .json;
    assert!(listed["data"][0].get("email").is_none());
    // Searching cannot reveal a hidden field either.
    let by_email = |key: String| {
        let app = &app;
        async move {
            app.get("/api/v1/contacts?q=ada@example")
                .key(&key)
                .expect(200)
                .await
                .json["data"]
                .as_array()
                .unwrap()
                .len()
        }
    };
    assert_eq!(by_email(technician.clone()).await, 0);
    assert_eq!(by_email(ws.admin_key.clone()).await, 1);

    let seen = app
        .get(&format!("/api/v1/contacts/{id}"))
        .key(&marketing)
        .expect(200)
        .await
        .json;
    assert!(seen.get("phone").is_none() && seen["email"] == "ada@example.com");

    let roles = app
        .get("/api/v1/roles")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    let tech = roles["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "technician")
        .unwrap();
    assert_eq!(
        tech["fields"],
        json!({"contacts.email": "hidden", "invoices.amount": "hidden"})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_write_to_a_read_only_field_is_refused_whole() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("fieldwrite").await;
    let id = contact(&app, &ws, ada()).await;
    let key = role_key(
        &app,
        &ws,
        json!({"name": "Desk", "permissions": ["contacts.read", "contacts.write"],
               "fields": {"contacts.email": "read", "contacts.tags": "hidden"}}),
    )
    .await;

    let refused = app
        .patch(&format!("/api/v1/contacts/{id}"))
        .key(&key)
        .json(&json!({"name": "Renamed", "email": "new@example.com"}))
        .expect(403)
        .await;
    assert_eq!(
        refused.problem("HF-AUTH-003")["errors"][0]["field"],
        "email"
    );
    let unchanged = app
        .get(&format!("/api/v1/contacts/{id}"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(
        unchanged["name"], "Ada Lovelace",
        "nothing partially applied"
    );
    assert_eq!(unchanged["email"], "ada@example.com");

    let renamed = app
        .patch(&format!("/api/v1/contacts/{id}"))
        .key(&key)
        .json(&json!({"name": "Renamed"}))
        .expect(200)
        .await
        .json;
    assert_eq!(renamed["name"], "Renamed");
    assert_eq!(renamed["email"], "ada@example.com", "readable");
    assert!(renamed.get("tags").is_none(), "hidden: {renamed}");

    app.post("/api/v1/contacts")
        .key(&key)
        .json(&json!({"name": "New", "email": "x@example.com"}))
        .expect(403)
        .await;
    app.post("/api/v1/contacts")
        .key(&key)
        .json(&json!({"name": "New", "tags": ["VIP"]}))
        .expect(403)
        .await;
    let total = app
        .get("/api/v1/contacts")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json["data"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(total, 1, "no contact was created by a refused write");
    app.post("/api/v1/contacts")
        .key(&key)
        .json(&json!({"name": "Allowed"}))
        .expect(201)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn field_rules_are_validated_and_cannot_be_used_to_escalate() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("fieldrules").await;
    for fields in [
        json!({"contacts.ssn": "hidden"}),
        json!({"contacts.email": "secret"}),
        json!(["contacts.email"]),
    ] {
        let resp = app
            .post("/api/v1/roles")
            .key(&ws.admin_key)
            .json(&json!({"name": "Bad", "permissions": ["contacts.read"], "fields": fields}))
            .expect(422)
            .await;
        assert_eq!(resp.json["errors"][0]["field"], "fields", "{}", resp.text);
    }
    // A role that cannot see emails may manage keys, but not hand out a role that sees them.
    let keeper = role_key(
        &app,
        &ws,
        json!({"name": "Keeper", "permissions": ["contacts.read", "settings.security"],
               "fields": {"contacts.email": "hidden"}}),
    )
    .await;
    app.post("/api/v1/api-keys")
        .key(&keeper)
        .json(&json!({"name": "peek", "role": "marketing"}))
        .expect(403)
        .await;
    app.post("/api/v1/roles")
        .key(&keeper)
        .json(&json!({"name": "Peeker", "permissions": ["contacts.read"]}))
        .expect(403)
        .await;
    app.post("/api/v1/roles")
        .key(&keeper)
        .json(&json!({"name": "Blind", "permissions": ["contacts.read"], "fields": {"contacts.email": "hidden"}}))
        .expect(201)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_search_matches_only_fields_the_role_sees() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("fieldsearch").await;
    contact(&app, &ws, ada()).await;
    let no_names = role_key(
        &app,
        &ws,
        json!({"name": "No names", "permissions": ["contacts.read"], "fields": {"contacts.name": "hidden"}}),
    )
    .await;
    let count = |key: String, q: &'static str| {
        let app = &app;
        async move {
            app.get(&format!("/api/v1/contacts?q={q}"))
                .key(&key)
                .expect(200)
                .await
                .json["data"]
                .as_array()
                .unwrap()
                .len()
        }
    };
    assert_eq!(count(ws.admin_key.clone(), "lovelace").await, 1);
    assert_eq!(
        count(no_names.clone(), "lovelace").await,
        0,
        "name is hidden"
    );
    assert_eq!(count(no_names, "ada@example").await, 1, "email is visible");
    // Custom text fields are searched too: a role blind to names and emails still searches
    // them (finding nothing here), and one blind to all three cannot search at all.
    let no_names_or_emails = role_key(
        &app,
        &ws,
        json!({"name": "Half blind", "permissions": ["contacts.read"],
               "fields": {"contacts.name": "hidden", "contacts.email": "hidden"}}),
    )
    .await;
    let found = app
        .get("/api/v1/contacts?q=ada")
        .key(&no_names_or_emails)
        .expect(200)
        .await;
    assert_eq!(found.json["data"], json!([]));
    let blind = role_key(
        &app,
        &ws,
        json!({"name": "Blind", "permissions": ["contacts.read"],
               "fields": {"contacts.name": "hidden", "contacts.email": "hidden", "contacts.custom": "hidden"}}),
    )
    .await;
    app.get("/api/v1/contacts?q=ada")
        .key(&blind)
        .expect(422)
        .await
        .problem("HF-REQ-004");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ticket_cannot_find_or_create_its_contact_by_a_field_the_role_may_not_write() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("ticketfields").await;
    let id = contact(
        &app,
        &ws,
        json!({"name": "Hidden Hattie", "email": "hattie@hidden.example", "phone": "+14155550123"}),
    )
    .await;
    let key = role_key(
        &app,
        &ws,
        json!({"name": "Desk without addresses",
               "permissions": ["contacts.read", "contacts.write", "tickets.read", "tickets.write"],
               "fields": {"contacts.email": "hidden", "contacts.phone": "hidden",
                          "contacts.name": "read"}}),
    )
    .await;
    // Found by a hidden address: the answer would say which contact has it.
    for contact in [
        json!({"email": "hattie@hidden.example"}),
        json!({"phone": "+14155550123"}),
    ] {
        let refused = app
            .post("/api/v1/tickets")
            .key(&key)
            .json(&json!({"subject": "Probe", "contact": contact, "message": "Who is this?"}))
            .send()
            .await;
        assert_eq!(refused.status, 403, "{contact}: {}", refused.text);
        assert!(!refused.text.contains(&id), "{}", refused.text);
    }
    // Created with values the role may not write (a new address, a name it only reads).
    for contact in [
        json!({"email": "someone-new@hidden.example"}),
        json!({"email": "other@hidden.example", "name": "Named Anyway"}),
    ] {
        app.post("/api/v1/tickets")
            .key(&key)
            .json(&json!({"subject": "Probe", "contact": contact, "message": "Hello"}))
            .expect(403)
            .await;
    }
    let listed = app
        .get("/api/v1/contacts")
        .key(&ws.admin_key)
        .expect(200)
        .await;
    assert!(!listed.text.contains("someone-new"), "{}", listed.text);
    assert!(!listed.text.contains("Named Anyway"), "{}", listed.text);
    let tickets = app
        .get("/api/v1/tickets")
        .key(&ws.admin_key)
        .expect(200)
        .await;
    assert_eq!(
        tickets.json["data"].as_array().unwrap().len(),
        0,
        "{}",
        tickets.text
    );
    // The admin's tickets still find the contact by address.
    let made = app
        .post("/api/v1/tickets")
        .key(&ws.admin_key)
        .json(&json!({"subject": "Real", "contact": {"email": "hattie@hidden.example"}, "message": "Hi"}))
        .expect(201)
        .await;
    assert_eq!(made.json["contact_id"], id.as_str());
}
