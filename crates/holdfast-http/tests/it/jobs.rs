//! Field-service jobs over HTTP: booking in the workspace's time zone, the dispatch board's
//! filters, the status rules with who and when, double-booking warnings, events and audit, bad
//! input, and the technician's scope (another technician's job is 404 on every job route).

use crate::{ada, contact};
use holdfast_testkit::receiver::Receiver;
use holdfast_testkit::{TestApp, Workspace, find_token};
use serde_json::{Value, json};

pub(crate) const PASSWORD: &str = "wrench lantern seventeen copper";

/// A member with `role`, signed in: (user id, access token).
pub async fn member(app: &TestApp, ws: &Workspace, name: &str, role: &str) -> (String, String) {
    let email = format!("{name}@{}.example.com", ws.slug);
    app.post("/api/v1/invitations")
        .key(&ws.admin_key)
        .json(&json!({"email": email, "role": role}))
        .expect(201)
        .await;
    let token = find_token(&app.outbox_mail(&email).await, "hfi");
    let tokens = app
        .post("/api/v1/invitations/accept")
        .json(&json!({"token": token, "password": PASSWORD}))
        .expect(200)
        .await
        .json;
    let members = app
        .get("/api/v1/members")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    let user = members["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == email)
        .unwrap()["user_id"]
        .as_str()
        .unwrap()
        .to_owned();
    (user, tokens["access_token"].as_str().unwrap().to_owned())
}

async fn book(app: &TestApp, credential: &str, body: Value) -> Value {
    app.post("/api/v1/jobs")
        .key(credential)
        .json(&body)
        .expect(201)
        .await
        .json
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_is_booked_in_local_time_and_moves_through_its_statuses() {
    let app = TestApp::spawn_with(holdfast_core::ops::config::Layer {
        outbound_allow: Some(vec!["127.0.0.1".into()]),
        ..Default::default()
    })
    .await;
    let ws = app.workspace("jobs").await;
    let key = ws.admin_key.clone();
    let receiver = Receiver::start().await;
    crate::webhook_endpoint(
        &app,
        &ws,
        json!({"url": receiver.base, "event_types": ["job.created", "job.status_changed"]}),
    )
    .await;
    app.call(axum::http::Method::PUT, "/api/v1/field-service/time-zone")
        .key(&key)
        .json(&json!({"time_zone": "Europe/London"}))
        .expect(200)
        .await;
    let customer = contact(&app, &ws, ada()).await;
    let (tech, _) = member(&app, &ws, "tess", "technician").await;
    let job = book(
        &app,
        &key,
        json!({"contact_id": customer, "title": "Boiler service",
               "service_address": "1 Mill Lane",
               "window": {"start": "2026-07-01T09:00", "end": "2026-07-01T11:30"},
               "technician_ids": [tech],
               "checklist": [{"text": "Check pressure"}, {"text": "Bleed radiators"}],
               "line_items": [{"kind": "service", "description": "Annual service", "quantity": "1"},
                              {"kind": "material", "description": "Valve", "quantity": "2.50"}]}),
    )
    .await;
    assert_eq!(job["status"], "requested");
    // London is UTC+1 in July: stored as UTC, shown in local time.
    assert_eq!(job["window"]["start"], "2026-07-01T08:00:00Z");
    assert_eq!(job["window"]["start_local"], "2026-07-01T09:00");
    assert_eq!(job["window"]["time_zone"], "Europe/London");
    assert_eq!(job["line_items"][1]["quantity"], "2.5");
    assert_eq!(job["history"][0]["to"], "requested");
    let path = format!("/api/v1/jobs/{}", id(&job));

    // Skipping a step is refused with the moves that are allowed; nothing changes.
    let refused = app
        .post(&format!("{path}/status"))
        .key(&key)
        .json(&json!({"status": "completed"}))
        .expect(409)
        .await;
    assert!(
        refused.text.contains("scheduled or cancelled"),
        "{}",
        refused.text
    );
    for status in ["scheduled", "en_route", "in_progress", "completed"] {
        let moved = app
            .post(&format!("{path}/status"))
            .key(&key)
            .json(&json!({"status": status, "note": format!("now {status}")}))
            .expect(200)
            .await
            .json;
        assert_eq!(moved["status"], status);
    }
    let done = app.get(&path).key(&key).expect(200).await.json;
    let history: Vec<&str> = done["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["to"].as_str().unwrap())
        .collect();
    assert_eq!(
        history,
        [
            "requested",
            "scheduled",
            "en_route",
            "in_progress",
            "completed"
        ]
    );
    assert!(
        done["history"][1]["by"]
            .as_str()
            .unwrap()
            .starts_with("api_key:")
    );
    assert_eq!(done["history"][2]["note"], "now en_route");
    app.post(&format!("{path}/status"))
        .key(&key)
        .json(&json!({"status": "requested"}))
        .expect(409)
        .await;

    // Audited, and published for webhooks and the live stream.
    let trail = app
        .get("/api/v1/audit?limit=50")
        .key(&key)
        .expect(200)
        .await
        .json;
    let actions: Vec<&str> = trail["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(
        actions.contains(&"job.created") && actions.contains(&"job.status_changed"),
        "{actions:?}"
    );
    let delivered = receiver
        .wait_for(5, std::time::Duration::from_secs(20))
        .await;
    let mut types: Vec<String> = delivered
        .iter()
        .map(|d| d.json()["type"].as_str().unwrap().to_owned())
        .collect();
    types.sort();
    assert_eq!(
        types.first().map(String::as_str),
        Some("job.created"),
        "{types:?}"
    );
    assert_eq!(
        types.iter().filter(|t| *t == "job.status_changed").count(),
        4,
        "{types:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_refused_field_by_field_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("jobs-bad").await;
    let key = ws.admin_key.clone();
    let customer = contact(&app, &ws, ada()).await;
    app.call(axum::http::Method::PUT, "/api/v1/field-service/time-zone")
        .key(&key)
        .json(&json!({"time_zone": "Mars/Olympus"}))
        .expect(422)
        .await;
    app.call(axum::http::Method::PUT, "/api/v1/field-service/time-zone")
        .key(&key)
        .json(&json!({"time_zone": "Europe/London"}))
        .expect(200)
        .await;
    for (body, field) in [
        (
            json!({"contact_id": customer, "title": "x", "window": {"start": "2026-03-29T01:30", "end": "2026-03-29T03:00"}}),
            "window.start",
        ),
        (
            json!({"contact_id": customer, "title": "x", "window": {"start": "2026-07-01T10:00", "end": "2026-07-01T09:00"}}),
            "window.end",
        ),
        (
            json!({"contact_id": "ct_00000000000000000000000000000000", "title": "x"}),
            "contact_id",
        ),
        (
            json!({"contact_id": customer, "title": "x", "technician_ids": ["usr_00000000000000000000000000000000"]}),
            "technician_ids[0]",
        ),
        (
            json!({"contact_id": customer, "title": "x", "line_items": [{"kind": "service", "description": "y", "quantity": "1e3"}]}),
            "line_items[0].quantity",
        ),
        (json!({"contact_id": customer, "title": ""}), "title"),
    ] {
        let refused = app
            .post("/api/v1/jobs")
            .key(&key)
            .json(&body)
            .expect(422)
            .await;
        assert!(refused.text.contains(field), "{field}: {}", refused.text);
    }
    let list = app.get("/api/v1/jobs").key(&key).expect(200).await.json;
    assert_eq!(
        list["data"].as_array().unwrap().len(),
        0,
        "nothing half-written"
    );
    for query in [
        "status=done",
        "from=yesterday",
        "technician_id=bob",
        "cursor=zz",
    ] {
        app.get(&format!("/api/v1/jobs?{query}"))
            .key(&key)
            .expect(422)
            .await;
    }
    app.get("/api/v1/jobs/job_nope").key(&key).expect(404).await;
    app.post("/api/v1/jobs/job_nope/status")
        .key(&key)
        .json(&json!({"status": "scheduled"}))
        .expect(404)
        .await;
    // A job cannot be scheduled without a window and a technician.
    let job = book(
        &app,
        &key,
        json!({"contact_id": customer, "title": "Quote visit"}),
    )
    .await;
    let refused = app
        .post(&format!("/api/v1/jobs/{}/status", id(&job)))
        .key(&key)
        .json(&json!({"status": "scheduled"}))
        .expect(409)
        .await;
    assert!(refused.text.contains("window"), "{}", refused.text);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_technician_reaches_only_their_own_jobs_on_every_job_route() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("jobs-scope").await;
    let key = ws.admin_key.clone();
    let customer = contact(&app, &ws, ada()).await;
    let (tess, tess_token) = member(&app, &ws, "tess", "technician").await;
    let (tom, tom_token) = member(&app, &ws, "tom", "technician").await;
    let window = json!({"start": "2026-07-01T09:00", "end": "2026-07-01T11:00"});
    let tess_job = book(&app, &key, json!({"contact_id": customer, "title": "Tess's", "window": window, "technician_ids": [tess]})).await;
    let tom_job = book(&app, &key, json!({"contact_id": customer, "title": "Tom's", "window": window, "technician_ids": [tom]})).await;
    // Tom is double-booked: a second job overlapping his first one warns.
    let clash = book(&app, &key, json!({"contact_id": customer, "title": "Clash",
        "window": {"start": "2026-07-01T10:00", "end": "2026-07-01T12:00"}, "technician_ids": [tom]})).await;
    assert_eq!(clash["overlapping_job_ids"], json!([id(&tom_job)]));
    assert_eq!(tess_job["overlapping_job_ids"], json!([]));

    let other = format!("/api/v1/jobs/{}", id(&tom_job));
    app.get(&other).key(&tess_token).expect(404).await;
    app.patch(&other)
        .key(&tess_token)
        .json(&json!({"title": "Mine now"}))
        .expect(404)
        .await;
    app.post(&format!("{other}/status"))
        .key(&tess_token)
        .json(&json!({"status": "scheduled"}))
        .expect(404)
        .await;
    app.post(&format!("{other}/notes"))
        .key(&tess_token)
        .json(&json!({"body": "Mine now"}))
        .expect(404)
        .await;
    // Its photos and files too: upload, list, download, remove.
    let (form_type, form) = crate::job_files::png_form();
    let toms_file = app
        .post(&format!("{other}/files"))
        .key(&key)
        .body(&form_type, form.clone())
        .expect(201)
        .await
        .json;
    app.post(&format!("{other}/files"))
        .key(&tess_token)
        .body(&form_type, form)
        .expect(404)
        .await;
    app.get(&format!("{other}/files"))
        .key(&tess_token)
        .expect(404)
        .await;
    let file = format!("{other}/files/{}", id(&toms_file));
    app.get(&file).key(&tess_token).expect(404).await;
    app.delete(&file).key(&tess_token).expect(404).await;
    app.get(&file).key(&key).expect(200).await;
    // Her own job she reads and works.
    let own = format!("/api/v1/jobs/{}", id(&tess_job));
    app.get(&own).key(&tess_token).expect(200).await;
    app.post(&format!("{own}/status"))
        .key(&tess_token)
        .json(&json!({"status": "scheduled"}))
        .expect(200)
        .await;
    // Her list holds only her job, whatever the filter asks.
    for query in ["", "?technician_id=", "?status=requested"] {
        let query = if query == "?technician_id=" {
            format!("?technician_id={tom}")
        } else {
            query.to_owned()
        };
        let list = app
            .get(&format!("/api/v1/jobs{query}"))
            .key(&tess_token)
            .expect(200)
            .await
            .json;
        for job in list["data"].as_array().unwrap() {
            assert_eq!(job["id"], tess_job["id"], "{query}");
        }
    }
    let all = app.get("/api/v1/jobs").key(&key).expect(200).await.json;
    assert_eq!(all["data"].as_array().unwrap().len(), 3);
    // She cannot book a job for someone else only, nor hand her job to Tom.
    let refused = app
        .post("/api/v1/jobs")
        .key(&tess_token)
        .json(&json!({"contact_id": customer, "title": "For Tom", "technician_ids": [tom]}))
        .expect(422)
        .await;
    assert!(
        refused.text.contains("must include you"),
        "{}",
        refused.text
    );
    app.patch(&own)
        .key(&tess_token)
        .json(&json!({"technician_ids": [tom]}))
        .expect(422)
        .await;
    // Tom sees his two.
    let toms = app
        .get("/api/v1/jobs")
        .key(&tom_token)
        .expect(200)
        .await
        .json;
    assert_eq!(toms["data"].as_array().unwrap().len(), 2);
    // Another workspace's admin gets 404 for every one of them.
    let stranger = app.workspace("jobs-stranger").await;
    for job in [&tess_job, &tom_job, &clash] {
        app.get(&format!("/api/v1/jobs/{}", id(job)))
            .key(&stranger.admin_key)
            .expect(404)
            .await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn erasing_a_contact_erases_their_jobs() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("jobs-erase").await;
    let key = ws.admin_key.clone();
    let customer = contact(&app, &ws, ada()).await;
    let other = contact(
        &app,
        &ws,
        json!({"name": "Grace", "email": "grace@example.com"}),
    )
    .await;
    let theirs = book(
        &app,
        &key,
        json!({"contact_id": customer, "title": "At Ada's", "service_address": "1 Mill Lane"}),
    )
    .await;
    let kept = book(
        &app,
        &key,
        json!({"contact_id": other, "title": "At Grace's"}),
    )
    .await;
    app.delete(&format!("/api/v1/contacts/{customer}"))
        .key(&key)
        .expect(204)
        .await;
    app.get(&format!("/api/v1/contacts/{customer}"))
        .key(&key)
        .expect(404)
        .await;
    app.get(&format!("/api/v1/jobs/{}", id(&theirs)))
        .key(&key)
        .expect(404)
        .await;
    app.get(&format!("/api/v1/jobs/{}", id(&kept)))
        .key(&key)
        .expect(200)
        .await;
}

/// Findings of the attacker's pass on jobs, each kept by a test: the overlap warning says
/// nothing of jobs the caller cannot see; a job being worked keeps its window and technician;
/// a completed job is kept as it was.
#[tokio::test(flavor = "multi_thread")]
async fn a_technician_learns_nothing_of_other_jobs_and_finished_jobs_stay_as_they_were() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("jobs-probe").await;
    let key = ws.admin_key.clone();
    let customer = contact(&app, &ws, ada()).await;
    let (tess, tess_token) = member(&app, &ws, "tess", "technician").await;
    let (tom, _) = member(&app, &ws, "tom", "technician").await;
    let toms = book(&app, &key, json!({"contact_id": customer, "title": "Tom's private",
        "window": {"start": "2026-12-10T09:00", "end": "2026-12-10T11:00"}, "technician_ids": [tom]})).await;
    // Tess books a wide window for herself and Tom: the dispatcher would see the clash…
    let probe = book(&app, &tess_token, json!({"contact_id": customer, "title": "Probe",
        "window": {"start": "2026-12-01T00:00", "end": "2026-12-14T23:00"}, "technician_ids": [tess, tom]})).await;
    assert_eq!(
        probe["overlapping_job_ids"],
        json!([]),
        "nothing of Tom's job reaches Tess"
    );
    let seen_by_admin = app
        .get(&format!("/api/v1/jobs/{}", id(&probe)))
        .key(&key)
        .expect(200)
        .await
        .json;
    assert_eq!(seen_by_admin["overlapping_job_ids"], json!([id(&toms)]));

    // A scheduled job keeps its window and a technician.
    let path = format!("/api/v1/jobs/{}", id(&toms));
    app.post(&format!("{path}/status"))
        .key(&key)
        .json(&json!({"status": "scheduled"}))
        .expect(200)
        .await;
    let refused = app
        .patch(&path)
        .key(&key)
        .json(&json!({"window": null}))
        .expect(409)
        .await;
    assert!(
        refused.text.contains("back to requested"),
        "{}",
        refused.text
    );
    app.patch(&path)
        .key(&key)
        .json(&json!({"technician_ids": []}))
        .expect(409)
        .await;
    // A completed job cannot be rewritten; a change is audited with what it changed.
    app.patch(&path)
        .key(&key)
        .json(&json!({"title": "Tom's visit"}))
        .expect(200)
        .await;
    let trail = app
        .get("/api/v1/audit?limit=20")
        .key(&key)
        .expect(200)
        .await
        .json;
    let update = trail["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "job.updated")
        .unwrap()
        .clone();
    let summary: Value = serde_json::from_str(update["summary"].as_str().unwrap()).unwrap();
    assert_eq!(summary["changed"], json!(["title"]), "{update}");
    for status in ["in_progress", "completed"] {
        app.post(&format!("{path}/status"))
            .key(&key)
            .json(&json!({"status": status}))
            .expect(200)
            .await;
    }
    let refused = app
        .patch(&path)
        .key(&key)
        .json(&json!({"line_items": [{"kind": "material", "description": "gold", "quantity": "999"}]}))
        .expect(409)
        .await;
    assert!(
        refused.text.contains("completed job cannot be changed"),
        "{}",
        refused.text
    );
}

/// A deleted company or a removed member does not freeze a job; an API key whose role reaches
/// no job is told so before anything is written.
#[tokio::test(flavor = "multi_thread")]
async fn jobs_outlive_a_deleted_company_and_a_removed_member() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("jobs-refs").await;
    let key = ws.admin_key.clone();
    let customer = contact(&app, &ws, ada()).await;
    let company = app
        .post("/api/v1/companies")
        .key(&key)
        .json(&json!({"name": "TmpCo"}))
        .expect(201)
        .await
        .json;
    let (tess, _) = member(&app, &ws, "tess", "technician").await;
    let (vic, _) = member(&app, &ws, "vic", "technician").await;
    let job = book(
        &app,
        &key,
        json!({"contact_id": customer, "company_id": company["id"], "title": "Shared",
        "technician_ids": [tess, vic]}),
    )
    .await;
    let path = format!("/api/v1/jobs/{}", id(&job));
    app.delete(&format!(
        "/api/v1/companies/{}",
        company["id"].as_str().unwrap()
    ))
    .key(&key)
    .expect(204)
    .await;
    let members = app.get("/api/v1/members").key(&key).expect(200).await.json;
    let vic_membership = members["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user_id"] == vic.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.delete(&format!("/api/v1/members/{vic_membership}"))
        .key(&key)
        .expect(204)
        .await;
    let after = app
        .patch(&path)
        .key(&key)
        .json(&json!({"title": "Still editable"}))
        .expect(200)
        .await
        .json;
    assert_eq!(after["company_id"], Value::Null);
    assert_eq!(after["technician_ids"], json!([tess]));

    let (tech_key, _) = crate::key_with_role(&app, &ws, "technician").await;
    let refused = app
        .post("/api/v1/jobs")
        .key(&tech_key)
        .json(&json!({"contact_id": customer, "title": "By a key"}))
        .expect(403)
        .await;
    assert!(refused.text.contains("jobs.all"), "{}", refused.text);
}

/// Notes on a job: internal by default or customer-visible, added by whoever reaches the job
/// (a technician only on their own), also after it is completed; bad input refused.
#[tokio::test(flavor = "multi_thread")]
async fn notes_are_internal_or_for_the_customer_and_follow_the_technician_scope() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("jobs-notes").await;
    let key = ws.admin_key.clone();
    let customer = contact(&app, &ws, ada()).await;
    let (tess, tess_token) = member(&app, &ws, "tess", "technician").await;
    let (tom, tom_token) = member(&app, &ws, "tom", "technician").await;
    let job = book(&app, &key, json!({"contact_id": customer, "title": "Leak",
        "window": {"start": "2026-07-01T09:00", "end": "2026-07-01T10:00"}, "technician_ids": [tess]})).await;
    let notes = format!("/api/v1/jobs/{}/notes", id(&job));
    app.post(&notes)
        .key(&key)
        .json(&json!({"body": "Gate code 4711"}))
        .expect(201)
        .await;
    let after = app
        .post(&notes)
        .key(&tess_token)
        .json(&json!({"body": " Replaced the washer; all dry. ", "visibility": "customer"}))
        .expect(201)
        .await
        .json;
    assert_eq!(after["notes"][0]["visibility"], "internal");
    assert_eq!(after["notes"][1]["visibility"], "customer");
    assert_eq!(after["notes"][1]["body"], "Replaced the washer; all dry.");
    assert_eq!(after["notes"][1]["by"], format!("user:{tess}"));
    app.post(&notes)
        .key(&tom_token)
        .json(&json!({"body": "Not my job"}))
        .expect(404)
        .await;
    let _ = tom;
    for body in [
        json!({"body": "  "}),
        json!({"body": "x", "visibility": "public"}),
        json!({"text": "x"}),
    ] {
        app.post(&notes).key(&key).json(&body).expect(422).await;
    }
    app.post("/api/v1/jobs/job_00000000000000000000000000000000/notes")
        .key(&key)
        .json(&json!({"body": "x"}))
        .expect(404)
        .await;
    let path = format!("/api/v1/jobs/{}", id(&job));
    for status in ["scheduled", "in_progress", "completed"] {
        app.post(&format!("{path}/status"))
            .key(&key)
            .json(&json!({"status": status}))
            .expect(200)
            .await;
    }
    let done = app
        .post(&notes)
        .key(&key)
        .json(&json!({"body": "Invoice sent"}))
        .expect(201)
        .await
        .json;
    assert_eq!(done["notes"].as_array().unwrap().len(), 3);
    assert_eq!(done["status"], "completed");
}
