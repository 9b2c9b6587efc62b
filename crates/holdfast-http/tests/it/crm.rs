//! The CRM on both databases: companies and the contact link, custom fields (every type and
//! every refusal, filters, search, field rules), CSV import (dry run, both modes,
//! de-duplication, progress, malformed files) and CSV/JSON export (field rules, formula
//! escaping, audit), and another workspace's ids.

use crate::contact;
use holdfast_core::access::policy::BuiltinRole;
use holdfast_testkit::{TestApp, Workspace};
use serde_json::{Value, json};

fn enc(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'.' || b == b'_' {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn company(app: &TestApp, ws: &Workspace, body: Value) -> String {
    app.post("/api/v1/companies")
        .key(&ws.admin_key)
        .json(&body)
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn define(app: &TestApp, ws: &Workspace, body: Value) {
    app.post("/api/v1/contact-fields")
        .key(&ws.admin_key)
        .json(&body)
        .expect(201)
        .await;
}

/// The usual custom fields: tier (select), seats (number), renewal (date), account (text).
async fn define_all(app: &TestApp, ws: &Workspace) {
    define(
        app,
        ws,
        json!({"key": "tier", "label": "Tier", "type": "select", "options": ["gold", "silver"]}),
    )
    .await;
    define(
        app,
        ws,
        json!({"key": "seats", "label": "Seats", "type": "number"}),
    )
    .await;
    define(
        app,
        ws,
        json!({"key": "renewal", "label": "Renewal", "type": "date"}),
    )
    .await;
    define(
        app,
        ws,
        json!({"key": "account", "label": "Account", "type": "text"}),
    )
    .await;
}

async fn list(app: &TestApp, key: &str, query: &str) -> Vec<Value> {
    let r = app
        .get(&format!("/api/v1/contacts?limit=200&{query}"))
        .key(key)
        .send()
        .await;
    assert_eq!(r.status, 200, "{query}: {}", r.text);
    r.json["data"].as_array().unwrap().clone()
}

fn field_errors(r: &holdfast_testkit::Resp) -> Vec<String> {
    r.json["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["field"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) async fn import(
    app: &TestApp,
    ws: &Workspace,
    query: &str,
    csv: &str,
) -> holdfast_testkit::Resp {
    app.post(&format!("/api/v1/contacts/imports?{query}"))
        .key(&ws.admin_key)
        .body("text/csv", csv.to_owned())
        .send()
        .await
}

/// Polls an import until it is done or failed.
pub(crate) async fn finished(app: &TestApp, ws: &Workspace, id: &str) -> Value {
    for _ in 0..400 {
        let r = app
            .get(&format!("/api/v1/contacts/imports/{id}"))
            .key(&ws.admin_key)
            .expect(200)
            .await;
        let status = r.json["status"].as_str().unwrap().to_owned();
        assert!(
            r.json["rows_processed"].as_i64().unwrap() <= r.json["rows_total"].as_i64().unwrap()
        );
        if status == "done" || status == "failed" {
            return r.json;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("import {id} did not finish");
}

async fn count_contacts(app: &TestApp, ws: &Workspace) -> usize {
    list(app, &ws.admin_key, "").await.len()
}

#[tokio::test(flavor = "multi_thread")]
async fn companies_are_normalised_linked_counted_and_unlinked_on_delete() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("companies").await;
    let other = app.workspace("companies-b").await;
    let created = app
        .post("/api/v1/companies")
        .key(&ws.admin_key)
        .json(&json!({"name": " Acme Ltd ", "domain": "https://WWW.Acme.com/about?x=1", "notes": "Pays late"}))
        .expect(201)
        .await
        .json;
    assert_eq!(created["name"], "Acme Ltd");
    assert_eq!(created["domain"], "acme.com");
    assert_eq!(created["contacts_count"], 0);
    let acme = created["id"].as_str().unwrap().to_owned();
    assert!(acme.starts_with("co_"));

    // The same domain written differently is the same company.
    let dup = app
        .post("/api/v1/companies")
        .key(&ws.admin_key)
        .json(&json!({"name": "Acme again", "domain": "acme.COM."}))
        .expect(409)
        .await;
    assert_eq!(field_errors(&dup), vec!["domain"]);
    for bad in [
        json!({"name": "", "domain": "acme.org"}),
        json!({"name": "X", "domain": "not a domain"}),
        json!({"name": "X", "domain": "ftp://x.example.com"}),
        json!({"name": "X", "domain": "192.168.1.1"}),
        json!({"name": "X", "size": 10}),
        json!({"domain": "x.example.com"}),
    ] {
        app.post("/api/v1/companies")
            .key(&ws.admin_key)
            .json(&bad)
            .expect(422)
            .await;
    }
    let globex = company(
        &app,
        &ws,
        json!({"name": "Globex", "domain": "globex.example"}),
    )
    .await;
    let page = app
        .get("/api/v1/companies?q=ACM")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(page["data"].as_array().unwrap().len(), 1);
    let by_domain = app
        .get("/api/v1/companies?q=globex.ex")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(by_domain["data"][0]["id"], globex.as_str());
    let first = app
        .get("/api/v1/companies?limit=1")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = app
        .get(&format!("/api/v1/companies?limit=1&cursor={cursor}"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(second["data"][0]["id"], globex.as_str());
    assert!(second["next_cursor"].is_null());

    // Contacts link to a company of their workspace only.
    let ada = app
        .post("/api/v1/contacts")
        .key(&ws.admin_key)
        .json(&json!({"name": "Ada", "company_id": acme}))
        .expect(201)
        .await
        .json;
    assert_eq!(ada["company_id"], acme.as_str());
    let ada_id = ada["id"].as_str().unwrap().to_owned();
    contact(&app, &ws, json!({"name": "Bob", "company_id": acme})).await;
    let got = app
        .get(&format!("/api/v1/companies/{acme}"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(got["contacts_count"], 2);
    let of_acme = list(&app, &ws.admin_key, &format!("company_id={acme}")).await;
    assert_eq!(of_acme.len(), 2);
    let foreign = company(&app, &other, json!({"name": "Other's"})).await;
    for bad in [
        foreign.as_str(),
        "co_nope",
        "ct_00000000000000000000000000000001",
    ] {
        let r = app
            .patch(&format!("/api/v1/contacts/{ada_id}"))
            .key(&ws.admin_key)
            .json(&json!({"company_id": bad}))
            .expect(422)
            .await;
        assert_eq!(field_errors(&r), vec!["company_id"], "{bad}");
        app.post("/api/v1/contacts")
            .key(&ws.admin_key)
            .json(&json!({"name": "Eve", "company_id": bad}))
            .expect(422)
            .await;
    }
    app.get(&format!("/api/v1/companies/{foreign}"))
        .key(&ws.admin_key)
        .expect(404)
        .await;
    app.patch(&format!("/api/v1/companies/{acme}"))
        .key(&other.admin_key)
        .json(&json!({"name": "Stolen"}))
        .expect(404)
        .await;
    app.delete(&format!("/api/v1/companies/{acme}"))
        .key(&other.admin_key)
        .expect(404)
        .await;

    let patched = app
        .patch(&format!("/api/v1/companies/{acme}"))
        .key(&ws.admin_key)
        .json(&json!({"domain": null, "notes": "Pays on time now"}))
        .expect(200)
        .await
        .json;
    assert_eq!(patched["domain"], Value::Null);
    assert_eq!(patched["name"], "Acme Ltd");
    app.patch(&format!("/api/v1/companies/{acme}"))
        .key(&ws.admin_key)
        .json(&json!({"domain": "globex.example"}))
        .expect(409)
        .await;

    // Deleting the company keeps its contacts, unlinked.
    app.delete(&format!("/api/v1/companies/{acme}"))
        .key(&ws.admin_key)
        .expect(204)
        .await;
    let kept = app
        .get(&format!("/api/v1/contacts/{ada_id}"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(kept["company_id"], Value::Null);
    assert_eq!(kept["name"], "Ada");
    app.get(&format!("/api/v1/companies/{acme}"))
        .key(&ws.admin_key)
        .expect(404)
        .await;
    // Unlinking on PATCH.
    let linked = app
        .patch(&format!("/api/v1/contacts/{ada_id}"))
        .key(&ws.admin_key)
        .json(&json!({"company_id": globex}))
        .expect(200)
        .await
        .json;
    assert_eq!(linked["company_id"], globex.as_str());
    let unlinked = app
        .patch(&format!("/api/v1/contacts/{ada_id}"))
        .key(&ws.admin_key)
        .json(&json!({"company_id": null}))
        .expect(200)
        .await
        .json;
    assert_eq!(unlinked["company_id"], Value::Null);
}

#[tokio::test(flavor = "multi_thread")]
async fn custom_fields_are_defined_by_managers_and_every_value_is_checked() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("custom").await;
    let support = app.key(&ws.slug, BuiltinRole::Support).await;
    app.post("/api/v1/contact-fields")
        .key(&support)
        .json(&json!({"key": "tier", "label": "Tier", "type": "text"}))
        .expect(403)
        .await;
    for (bad, field) in [
        (
            json!({"key": "Tier", "label": "Tier", "type": "text"}),
            "key",
        ),
        (
            json!({"key": "9lives", "label": "x", "type": "text"}),
            "key",
        ),
        (
            json!({"key": &"a".repeat(41), "label": "x", "type": "text"}),
            "key",
        ),
        (json!({"key": "t", "label": "", "type": "text"}), "label"),
        (
            json!({"key": "t", "label": "T", "type": "select"}),
            "options",
        ),
        (
            json!({"key": "t", "label": "T", "type": "select", "options": ["a", "a"]}),
            "options[1]",
        ),
        (
            json!({"key": "t", "label": "T", "type": "number", "options": ["a"]}),
            "options",
        ),
    ] {
        let r = app
            .post("/api/v1/contact-fields")
            .key(&ws.admin_key)
            .json(&bad)
            .expect(422)
            .await;
        assert_eq!(field_errors(&r), vec![field], "{bad}");
    }
    app.post("/api/v1/contact-fields")
        .key(&ws.admin_key)
        .json(&json!({"key": "t", "label": "T", "type": "money"}))
        .expect(422)
        .await;
    define_all(&app, &ws).await;
    app.post("/api/v1/contact-fields")
        .key(&ws.admin_key)
        .json(&json!({"key": "tier", "label": "Again", "type": "text"}))
        .expect(409)
        .await;
    let defs = app
        .get("/api/v1/contact-fields")
        .key(&support)
        .expect(200)
        .await
        .json;
    assert_eq!(defs["data"].as_array().unwrap().len(), 4);

    let ada = app
        .post("/api/v1/contacts")
        .key(&ws.admin_key)
        .json(&json!({"name": "Ada", "custom": {"tier": "gold", "seats": 5.0, "renewal": "2024-02-29", "account": " ACC-1 "}}))
        .expect(201)
        .await
        .json;
    assert_eq!(
        ada["custom"],
        json!({"tier": "gold", "seats": 5, "renewal": "2024-02-29", "account": "ACC-1"})
    );
    let ada_id = ada["id"].as_str().unwrap().to_owned();
    let got = app
        .get(&format!("/api/v1/contacts/{ada_id}"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(got["custom"], ada["custom"]);

    // Every refusal names custom.<key>, and nothing is stored.
    for (custom, field) in [
        (json!({"nope": "x"}), "custom.nope"),
        (json!({"tier": "bronze"}), "custom.tier"),
        (json!({"tier": 1}), "custom.tier"),
        (json!({"seats": "5"}), "custom.seats"),
        (json!({"seats": true}), "custom.seats"),
        (json!({"renewal": "2023-02-29"}), "custom.renewal"),
        (json!({"renewal": "29/02/2024"}), "custom.renewal"),
        (json!({"renewal": 20240229}), "custom.renewal"),
        (json!({"account": 42}), "custom.account"),
        (json!({"account": ""}), "custom.account"),
        (json!({"account": "x".repeat(1001)}), "custom.account"),
    ] {
        let r = app
            .post("/api/v1/contacts")
            .key(&ws.admin_key)
            .json(&json!({"name": "Bad", "custom": custom}))
            .expect(422)
            .await;
        assert_eq!(field_errors(&r), vec![field], "{custom}");
        let r = app
            .patch(&format!("/api/v1/contacts/{ada_id}"))
            .key(&ws.admin_key)
            .json(&json!({"custom": custom}))
            .expect(422)
            .await;
        assert_eq!(field_errors(&r), vec![field], "{custom}");
    }
    assert_eq!(count_contacts(&app, &ws).await, 1);

    // PATCH merges by key; null clears one key.
    let patched = app
        .patch(&format!("/api/v1/contacts/{ada_id}"))
        .key(&ws.admin_key)
        .json(&json!({"custom": {"tier": "silver", "renewal": null}}))
        .expect(200)
        .await
        .json;
    assert_eq!(
        patched["custom"],
        json!({"tier": "silver", "seats": 5, "account": "ACC-1"})
    );
    contact(
        &app,
        &ws,
        json!({"name": "Bob", "custom": {"tier": "gold", "seats": 12.5, "account": "Bobcat Holdings"}}),
    )
    .await;

    // Exact filters, typed like the field; q covers text custom values.
    let names = |rows: Vec<Value>| -> Vec<String> {
        rows.iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        names(list(&app, &ws.admin_key, "custom.tier=gold").await),
        vec!["Bob"]
    );
    assert_eq!(
        names(list(&app, &ws.admin_key, "custom.seats=5.0").await),
        vec!["Ada"]
    );
    assert_eq!(
        names(list(&app, &ws.admin_key, "custom.seats=12.5").await),
        vec!["Bob"]
    );
    assert_eq!(
        names(list(&app, &ws.admin_key, "custom.tier=silver&custom.seats=5").await),
        vec!["Ada"]
    );
    assert!(
        list(&app, &ws.admin_key, "custom.tier=silver&custom.seats=12.5")
            .await
            .is_empty()
    );
    assert_eq!(
        names(list(&app, &ws.admin_key, "q=bobcat").await),
        vec!["Bob"]
    );
    assert_eq!(
        names(list(&app, &ws.admin_key, "q=acc-").await),
        vec!["Ada"]
    );
    for (query, field) in [
        ("custom.nope=1", "custom.nope"),
        ("custom.seats=many", "custom.seats"),
        ("custom.renewal=2024-13-01", "custom.renewal"),
        ("custom.tier=bronze", "custom.tier"),
        ("colour=red", "colour"),
    ] {
        let r = app
            .get(&format!("/api/v1/contacts?{query}"))
            .key(&ws.admin_key)
            .expect(422)
            .await;
        assert_eq!(field_errors(&r), vec![field], "{query}");
    }

    // Required fields: a new contact needs one; an existing one cannot clear it.
    app.patch("/api/v1/contact-fields/account")
        .key(&ws.admin_key)
        .json(&json!({"required": true, "label": "Account number"}))
        .expect(200)
        .await;
    let r = app
        .post("/api/v1/contacts")
        .key(&ws.admin_key)
        .json(&json!({"name": "Carol"}))
        .expect(422)
        .await;
    assert_eq!(field_errors(&r), vec!["custom.account"]);
    app.patch(&format!("/api/v1/contacts/{ada_id}"))
        .key(&ws.admin_key)
        .json(&json!({"custom": {"account": null}}))
        .expect(422)
        .await;
    app.patch("/api/v1/contact-fields/account")
        .key(&ws.admin_key)
        .json(&json!({"type": "number"}))
        .expect(422)
        .await;
    app.patch("/api/v1/contact-fields/nope")
        .key(&ws.admin_key)
        .json(&json!({"label": "x"}))
        .expect(404)
        .await;

    // Deleting a field deletes its values everywhere, and its filter is gone.
    app.delete("/api/v1/contact-fields/tier")
        .key(&support)
        .expect(403)
        .await;
    app.delete("/api/v1/contact-fields/tier")
        .key(&ws.admin_key)
        .expect(204)
        .await;
    let after = app
        .get(&format!("/api/v1/contacts/{ada_id}"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(after["custom"], json!({"seats": 5, "account": "ACC-1"}));
    app.get("/api/v1/contacts?custom.tier=gold")
        .key(&ws.admin_key)
        .expect(422)
        .await;
    app.delete("/api/v1/contact-fields/tier")
        .key(&ws.admin_key)
        .expect(404)
        .await;
    let audit = app
        .get("/api/v1/audit?action=contact_field.deleted")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(audit["data"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn field_rules_can_hide_custom_values_and_the_company_link() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("custom-hide").await;
    define_all(&app, &ws).await;
    let acme = company(&app, &ws, json!({"name": "Acme"})).await;
    let id = contact(
        &app,
        &ws,
        json!({"name": "Ada", "company": "Acme", "company_id": acme, "custom": {"account": "Secret-77"}}),
    )
    .await;
    let role = app
        .post("/api/v1/roles")
        .key(&ws.admin_key)
        .json(&json!({"name": "No extras", "permissions": ["contacts.read", "contacts.write", "contacts.export"],
            "fields": {"contacts.custom": "hidden", "contacts.company": "hidden"}}))
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let key = crate::key_with_role(&app, &ws, &role).await.0;
    let seen = app
        .get(&format!("/api/v1/contacts/{id}"))
        .key(&key)
        .expect(200)
        .await
        .json;
    assert!(seen.get("custom").is_none(), "{seen}");
    assert!(seen.get("company_id").is_none() && seen.get("company").is_none());
    assert_eq!(seen["name"], "Ada");
    assert!(list(&app, &key, "q=secret-77").await.is_empty());
    assert_eq!(list(&app, &ws.admin_key, "q=secret-77").await.len(), 1);
    app.get("/api/v1/contacts?custom.account=Secret-77")
        .key(&key)
        .expect(422)
        .await;
    app.patch(&format!("/api/v1/contacts/{id}"))
        .key(&key)
        .json(&json!({"custom": {"seats": 1}}))
        .expect(403)
        .await;
    app.patch(&format!("/api/v1/contacts/{id}"))
        .key(&key)
        .json(&json!({"company_id": null}))
        .expect(403)
        .await;
    let csv = app
        .get("/api/v1/contacts/export?format=csv")
        .key(&key)
        .expect(200)
        .await
        .text;
    let header = csv.lines().next().unwrap();
    assert_eq!(header, "id,name,email,phone,tags,created_at,updated_at");
    assert!(!csv.contains("Secret-77") && !csv.contains("Acme"));
}

const IMPORT: &str = "Full Name,E-mail,Phone,Tags,Tier,Seats,Notes\n\
Ada Lovelace,ada@example.com,,new; vip,gold,3,first\n\
Bob,bob@example.com,+1 415 555 0100,,silver,,\n\
,not-an-email,12,,bronze,many,broken\n\
Bobby,BOB@example.com,,,,,dup by email\n\
Carol,,+14155550100,,,,dup by phone\n\
Dan,dan@example.com,+44 20 7946 0958,,,7,\n";

async fn existing_ada(app: &TestApp, ws: &Workspace) -> String {
    contact(
        app,
        ws,
        json!({"name": "Ada L.", "email": "ADA@example.com", "phone": "+442079460000", "company": "Analytical", "tags": ["old"]}),
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_reports_every_row_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("dry").await;
    define_all(&app, &ws).await;
    existing_ada(&app, &ws).await;
    let r = import(&app, &ws, "dry_run=true", IMPORT).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let report = r.json;
    assert_eq!(report["dry_run"], true);
    assert_eq!(report["rows_total"], 6);
    assert_eq!(report["would_update"], 1, "Ada, by email: {report}");
    assert_eq!(report["would_create"], 2, "Bob and Dan: {report}");
    assert_eq!(report["duplicates"], 2, "Bobby and Carol: {report}");
    assert_eq!(report["invalid"], 1);
    let errors = report["errors"].as_array().unwrap();
    let row4: Vec<&str> = errors
        .iter()
        .filter(|e| e["row"] == 4)
        .map(|e| e["column"].as_str().unwrap())
        .collect();
    assert_eq!(row4, vec!["E-mail", "Phone", "Tier", "Seats"]);
    let dup_rows: Vec<i64> = errors
        .iter()
        .filter(|e| e["message"].as_str().unwrap().contains("repeats row 3"))
        .map(|e| e["row"].as_i64().unwrap())
        .collect();
    assert_eq!(dup_rows, vec![5, 6]);
    assert_eq!(
        report["columns"],
        json!([
            {"column": "Full Name", "target": "name"},
            {"column": "E-mail", "target": "email"},
            {"column": "Phone", "target": "phone"},
            {"column": "Tags", "target": "tags"},
            {"column": "Tier", "target": "custom.tier"},
            {"column": "Seats", "target": "custom.seats"},
            {"column": "Notes", "target": "ignore"}
        ])
    );
    assert_eq!(
        count_contacts(&app, &ws).await,
        1,
        "a dry run stores nothing"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn all_or_nothing_import_with_an_invalid_row_writes_nothing() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("aon").await;
    define_all(&app, &ws).await;
    existing_ada(&app, &ws).await;
    let r = import(&app, &ws, "", IMPORT).await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.json["status"], "queued");
    assert_eq!(r.json["mode"], "all_or_nothing");
    let id = r.json["id"].as_str().unwrap().to_owned();
    assert_eq!(
        r.header("location").unwrap(),
        format!("/api/v1/contacts/imports/{id}")
    );
    let done = finished(&app, &ws, &id).await;
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(done["created"], 0);
    assert_eq!(done["updated"], 0);
    assert!(
        done["failure"]
            .as_str()
            .unwrap()
            .contains("1 row(s) are invalid")
    );
    assert!(
        done["errors"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["row"] == 4)
    );
    assert_eq!(count_contacts(&app, &ws).await, 1);
    let ada = list(&app, &ws.admin_key, "q=ada").await;
    assert_eq!(
        ada[0]["name"], "Ada L.",
        "the existing contact is untouched"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn skip_invalid_import_creates_updates_and_skips_duplicates() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("skip").await;
    define_all(&app, &ws).await;
    let ada_id = existing_ada(&app, &ws).await;
    let r = import(&app, &ws, "mode=skip_invalid", IMPORT).await;
    assert_eq!(r.status, 202, "{}", r.text);
    let done = finished(&app, &ws, r.json["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(done["rows_total"], 6);
    assert_eq!(done["rows_processed"], 6);
    assert_eq!(done["created"], 2);
    assert_eq!(done["updated"], 1);
    assert_eq!(done["skipped"], 3);
    assert!(done["finished_at"].is_i64());
    let rows: Vec<i64> = done["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["row"].as_i64().unwrap())
        .collect();
    assert!(rows.contains(&4) && rows.contains(&5) && rows.contains(&6));
    // The existing contact got only the mapped, non-empty cells; tags were added.
    let ada = app
        .get(&format!("/api/v1/contacts/{ada_id}"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(ada["name"], "Ada Lovelace");
    assert_eq!(ada["phone"], "+442079460000", "empty cell leaves the phone");
    assert_eq!(ada["company"], "Analytical", "unmapped field untouched");
    assert_eq!(ada["tags"], json!(["old", "new", "vip"]));
    assert_eq!(ada["custom"], json!({"tier": "gold", "seats": 3}));
    let bob = list(&app, &ws.admin_key, "q=bob@").await;
    assert_eq!(bob.len(), 1);
    assert_eq!(bob[0]["name"], "Bob");
    assert_eq!(bob[0]["phone"], "+14155550100");
    assert_eq!(count_contacts(&app, &ws).await, 3);
    let audit = app
        .get("/api/v1/audit?action=contacts.imported")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(audit["data"].as_array().unwrap().len(), 1);

    // The same file again: everyone exists now, matched by email and by phone.
    let again = import(&app, &ws, "mode=skip_invalid", IMPORT).await;
    let done = finished(&app, &ws, again.json["id"].as_str().unwrap()).await;
    assert_eq!(
        (done["created"].as_i64(), done["updated"].as_i64()),
        (Some(0), Some(3))
    );
    assert_eq!(count_contacts(&app, &ws).await, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_large_import_reports_progress_to_done_with_an_explicit_mapping() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("large").await;
    define_all(&app, &ws).await;
    let mut csv = String::from("Who,Mail,Account no,Renews\n");
    for n in 0..450 {
        csv.push_str(&format!(
            "Person {n},p{n}@example.com,ACC-{n},2025-01-{:02}\n",
            n % 28 + 1
        ));
    }
    let mapping = enc(
        r#"{"Who":"name","Mail":"email","Account no":"custom.account","Renews":"custom.renewal"}"#,
    );
    let r = import(
        &app,
        &ws,
        &format!("mode=all_or_nothing&mapping={mapping}"),
        &csv,
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.json["rows_total"], 450);
    let done = finished(&app, &ws, r.json["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(done["created"], 450);
    assert_eq!(done["rows_processed"], 450);
    let found = list(&app, &ws.admin_key, "custom.account=ACC-449").await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["custom"]["renewal"], "2025-01-02");
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_files_and_options_are_refused_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("malformed").await;
    define_all(&app, &ws).await;
    let bad_utf8: Vec<u8> = b"name,email\nAd\xff,a@example.com\n".to_vec();
    let r = app
        .post("/api/v1/contacts/imports")
        .key(&ws.admin_key)
        .body("text/csv", bad_utf8)
        .expect(422)
        .await;
    assert!(
        r.json["detail"].as_str().unwrap().contains("UTF-8"),
        "{}",
        r.text
    );
    for (query, csv, needle) in [
        ("", "name,email\n\"Ada,ada@example.com\n", "never closed"),
        ("", "", "empty"),
        ("", "name,name\nA,B\n", "twice"),
        ("", "Notes,Other\nx,y\n", "no column maps"),
        (
            "mapping=%7B%22Nope%22%3A%22email%22%7D",
            "name\nAda\n",
            "no column 'Nope'",
        ),
        (
            "mapping=%7B%22name%22%3A%22salary%22%7D",
            "name\nAda\n",
            "not a target",
        ),
        (
            "mapping=%7B%22name%22%3A%22custom.nope%22%7D",
            "name\nAda\n",
            "not a custom field",
        ),
        ("mapping=not-json", "name\nAda\n", "JSON object"),
        ("mode=sometimes", "name\nAda\n", "skip_invalid"),
        ("dry_run=maybe", "name\nAda\n", "true or false"),
        ("colour=red", "name\nAda\n", "colour"),
    ] {
        let r = import(&app, &ws, query, csv).await;
        assert_eq!(r.status, 422, "{query} {csv:?}: {}", r.text);
        assert!(r.text.contains(needle), "{query} {csv:?}: {}", r.text);
    }
    app.post("/api/v1/contacts/imports")
        .key(&ws.admin_key)
        .json(&json!({"name": "Ada"}))
        .expect(415)
        .await;
    // Over 10 MiB: refused from its declared length. The server may answer 413 and close
    // before the client has sent it all, which the client sees as a reset connection; either
    // way nothing is accepted.
    let huge = format!("name\n{}", "a,".repeat(5 * 1024 * 1024 + 1));
    let sent = reqwest::Client::new()
        .post(format!("{}/api/v1/contacts/imports", app.base))
        .header("authorization", format!("Bearer {}", ws.admin_key))
        .header("content-type", "text/csv")
        .body(huge)
        .send()
        .await;
    if let Ok(r) = sent {
        assert_eq!(r.status().as_u16(), 413);
        assert!(r.text().await.unwrap().contains("size limit"));
    }
    // Larger than the 1 MiB limit of other requests, under the import's own: read.
    let mut big = String::from("name,email,notes\n");
    for n in 0..1000 {
        big.push_str(&format!("P{n},p{n}@example.com,{}\n", "x".repeat(2000)));
    }
    assert!(big.len() > 3 * 1024 * 1024 / 2);
    let r = import(&app, &ws, "dry_run=true", &big).await;
    assert_eq!(r.status, 200, "{}", &r.text[..r.text.len().min(300)]);
    assert_eq!(r.json["would_create"], 1000);
    // A role that may not write a mapped field is refused before anything happens.
    let viewer = app.key(&ws.slug, BuiltinRole::Viewer).await;
    app.post("/api/v1/contacts/imports")
        .key(&viewer)
        .body("text/csv", "name\nAda\n")
        .expect(403)
        .await;
    assert_eq!(count_contacts(&app, &ws).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn export_cuts_fields_by_role_escapes_formulas_and_is_audited() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("export").await;
    define_all(&app, &ws).await;
    let acme = company(
        &app,
        &ws,
        json!({"name": "Acme, Inc.", "domain": "acme.example"}),
    )
    .await;
    contact(
        &app,
        &ws,
        json!({"name": "=HYPERLINK(\"http://evil.example\")", "email": "ada@example.com", "phone": "+442079460958",
            "company_id": acme, "tags": ["vip", "north"], "custom": {"account": "@SUM(A1)", "seats": 3}}),
    )
    .await;
    contact(&app, &ws, json!({"name": "-Bob", "company": "+Plain"})).await;

    let csv = app
        .get("/api/v1/contacts/export")
        .key(&ws.admin_key)
        .expect(200)
        .await;
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    let mut lines = csv.text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "id,name,email,phone,company,company_id,company_name,tags,custom.account,custom.renewal,custom.seats,custom.tier,created_at,updated_at"
    );
    let first = lines.next().unwrap();
    assert!(
        first.contains(r#""'=HYPERLINK(""http://evil.example"")""#),
        "{first}"
    );
    assert!(first.contains("'@SUM(A1)"), "{first}");
    assert!(
        first.contains(r#""Acme, Inc.""#) && first.contains("\"vip, north\""),
        "{first}"
    );
    assert!(
        first.contains(",'+442079460958,"),
        "a phone starts with +: {first}"
    );
    let second = lines.next().unwrap();
    assert!(
        second.contains(",'-Bob,") && second.contains(",'+Plain,"),
        "{second}"
    );
    assert!(lines.next().is_none());

    // Marketing may export but not see phones: no phone column, no phone in JSON.
    let marketing = app.key(&ws.slug, BuiltinRole::Marketing).await;
    let csv = app
        .get("/api/v1/contacts/export?format=csv")
        .key(&marketing)
        .expect(200)
        .await
        .text;
    assert!(!csv.lines().next().unwrap().contains("phone"));
    assert!(!csv.contains("442079460958"));
    let json = app
        .get("/api/v1/contacts/export?format=json")
        .key(&marketing)
        .expect(200)
        .await;
    let rows = json.json.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|c| c.get("phone").is_none()));
    assert_eq!(rows[0]["company_name"], "Acme, Inc.");
    assert_eq!(rows[0]["custom"]["seats"], 3);
    assert_eq!(rows[0]["email"], "ada@example.com");

    // No export permission: 403; a bad format: 422.
    let support = app.key(&ws.slug, BuiltinRole::Support).await;
    app.get("/api/v1/contacts/export")
        .key(&support)
        .expect(403)
        .await;
    app.get("/api/v1/contacts/export?format=xlsx")
        .key(&ws.admin_key)
        .expect(422)
        .await;
    let audit = app
        .get("/api/v1/audit?action=contacts.exported")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    let entries = audit["data"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    assert!(
        entries
            .iter()
            .all(|e| e["summary"].as_str().unwrap().contains("\"count\":2")),
        "{audit}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_export_of_many_contacts_is_complete_and_empty_workspaces_export_a_header() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("export-many").await;
    let empty = app
        .get("/api/v1/contacts/export?format=json")
        .key(&ws.admin_key)
        .expect(200)
        .await;
    assert_eq!(empty.json, json!([]));
    let mut csv = String::from("name,email\n");
    for n in 0..1200 {
        csv.push_str(&format!("P{n},p{n}@example.com\n"));
    }
    let r = import(&app, &ws, "", &csv).await;
    let done = finished(&app, &ws, r.json["id"].as_str().unwrap()).await;
    assert_eq!(done["created"], 1200, "{done}");
    let exported = app
        .get("/api/v1/contacts/export")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .text;
    assert_eq!(
        exported.lines().count(),
        1201,
        "a header and every contact, once"
    );
    let json = app
        .get("/api/v1/contacts/export?format=json")
        .key(&ws.admin_key)
        .expect(200)
        .await;
    assert_eq!(json.json.as_array().unwrap().len(), 1200);
    // Asked for gzip or brotli, the streamed export arrives compressed and whole: the same
    // bytes as the plain one, over several pages.
    for encoding in ["gzip", "br"] {
        let r = app
            .http
            .get(format!("{}/api/v1/contacts/export", app.base))
            .bearer_auth(&ws.admin_key)
            .header("accept-encoding", encoding)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.headers()
                .get("content-encoding")
                .and_then(|v| v.to_str().ok()),
            Some(encoding)
        );
        let body = r.bytes().await.expect("the compressed body ends cleanly");
        let mut plain = String::new();
        if encoding == "gzip" {
            std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&body[..]), &mut plain)
        } else {
            std::io::Read::read_to_string(
                &mut brotli::Decompressor::new(&body[..], 4096),
                &mut plain,
            )
        }
        .expect("the body decodes");
        assert_eq!(plain, exported, "{encoding}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn another_workspaces_imports_companies_and_fields_are_not_found() {
    let app = TestApp::spawn().await;
    let a = app.workspace("crm-a").await;
    let b = app.workspace("crm-b").await;
    define_all(&app, &a).await;
    let r = import(&app, &a, "", "name,email\nAda,ada@example.com\n").await;
    let id = r.json["id"].as_str().unwrap().to_owned();
    finished(&app, &a, &id).await;
    app.get(&format!("/api/v1/contacts/imports/{id}"))
        .key(&b.admin_key)
        .expect(404)
        .await
        .problem("HF-REQ-005");
    app.get("/api/v1/contacts/imports/imp_nope")
        .key(&a.admin_key)
        .expect(404)
        .await;
    app.get("/api/v1/contact-fields/tier")
        .key(&b.admin_key)
        .expect(404)
        .await;
    // B cannot use A's field in a contact or a filter.
    app.post("/api/v1/contacts")
        .key(&b.admin_key)
        .json(&json!({"name": "X", "custom": {"tier": "gold"}}))
        .expect(422)
        .await;
    let b_export = app
        .get("/api/v1/contacts/export")
        .key(&b.admin_key)
        .expect(200)
        .await
        .text;
    assert!(!b_export.contains("ada@example.com") && !b_export.contains("custom.tier"));
}

#[tokio::test(flavor = "multi_thread")]
async fn imported_contacts_publish_the_same_webhook_events_as_the_api() {
    let receiver = holdfast_testkit::receiver::Receiver::start().await;
    let app = TestApp::spawn_with(holdfast_core::ops::config::Layer {
        outbound_allow: Some(vec!["127.0.0.1".into()]),
        ..holdfast_core::ops::config::Layer::default()
    })
    .await;
    let ws = app.workspace("import-hooks").await;
    app.post("/api/v1/webhooks")
        .key(&ws.admin_key)
        .json(&json!({"url": format!("{}/holdfast", receiver.base),
            "event_types": ["contact.created", "contact.updated"]}))
        .expect(201)
        .await;
    contact(
        &app,
        &ws,
        json!({"name": "Ada", "email": "ada@example.com"}),
    )
    .await;
    let r = import(
        &app,
        &ws,
        "",
        "name,email\nAda Lovelace,ada@example.com\nBob,bob@example.com\n",
    )
    .await;
    let done = finished(&app, &ws, r.json["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "done", "{done}");
    let got = receiver
        .wait_for(3, std::time::Duration::from_secs(20))
        .await;
    let mut events: Vec<(String, String)> = got
        .iter()
        .map(|c| {
            let body = c.json();
            (
                body["type"].as_str().unwrap().to_owned(),
                body["data"]["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    events.sort();
    assert_eq!(
        events,
        vec![
            ("contact.created".to_owned(), "Ada".to_owned()),
            ("contact.created".to_owned(), "Bob".to_owned()),
            ("contact.updated".to_owned(), "Ada Lovelace".to_owned()),
        ]
    );
}
