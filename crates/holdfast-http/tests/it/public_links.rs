//! A job's public link for the customer over HTTP, on both databases: issued once with its
//! token, the page `/p/jobs/{token}` (status in words, the window in the workspace's zone, the
//! technician's first name only, customer-visible notes, never internal notes, addresses,
//! contacts or amounts; `noindex`, no referrer, the console's policy, not cached), "on the way"
//! while en route, reissue and revoke (the old link 404 at once), expiry 30 days after
//! completion, one byte-identical 404 for every link that opens nothing (module off too), the
//! technician's scope, other workspaces, and the per-address limit.

use crate::jobs::member;
use crate::{ada, contact};
use holdfast_core::ops::config::Layer;
use holdfast_testkit::{TestApp, Workspace};
use serde_json::{Value, json};

const DAY_MS: i64 = 86_400_000;

async fn issue(app: &TestApp, credential: &str, job: &str) -> Value {
    app.post(&format!("/api/v1/jobs/{job}/public-link"))
        .key(credential)
        .expect(201)
        .await
        .json
}

/// The page's path from an issued link.
fn page_of(link: &Value) -> String {
    let token = link["token"].as_str().unwrap();
    assert!(
        token.starts_with("hfpj_") && token.len() == 5 + 43,
        "{token}"
    );
    let url = link["url"].as_str().unwrap();
    assert!(url.ends_with(&format!("/p/jobs/{token}")), "{url}");
    format!("/p/jobs/{token}")
}

async fn move_to(app: &TestApp, ws: &Workspace, job: &str, status: &str) {
    app.post(&format!("/api/v1/jobs/{job}/status"))
        .key(&ws.admin_key)
        .json(&json!({"status": status}))
        .expect(200)
        .await;
}

/// Sets the name a member goes by (what customers see the first word of) through the API.
pub(crate) async fn set_display_name(
    app: &TestApp,
    ws: &Workspace,
    user: &str,
    name: Value,
) -> Value {
    let members = app
        .get("/api/v1/members")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    let membership = members["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user_id"] == user)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.call(
        axum::http::Method::PUT,
        &format!("/api/v1/members/{membership}/display-name"),
    )
    .key(&ws.admin_key)
    .json(&json!({"display_name": name}))
    .expect(200)
    .await
    .json
}

/// A workspace in Europe/London with a customer, a technician called Tess Okafor and a
/// scheduled job with an address, line items, an internal and a customer-visible note:
/// (workspace, job id, technician's access token, technician's user id).
async fn scheduled_job(app: &TestApp, name: &str) -> (Workspace, String, String, String) {
    let ws = app.workspace(name).await;
    app.call(axum::http::Method::PUT, "/api/v1/field-service/time-zone")
        .key(&ws.admin_key)
        .json(&json!({"time_zone": "Europe/London"}))
        .expect(200)
        .await;
    let customer = contact(app, &ws, ada()).await;
    let (tech, tech_token) = member(app, &ws, "tess", "technician").await;
    let member = set_display_name(app, &ws, &tech, json!("  Tess Okafor ")).await;
    assert_eq!(member["display_name"], "Tess Okafor");
    let job = app
        .post("/api/v1/jobs")
        .key(&ws.admin_key)
        .json(&json!({"contact_id": customer, "title": "Boiler service",
               "service_address": "1 Mill Lane",
               "window": {"start": "2026-07-01T09:00", "end": "2026-07-01T11:30"},
               "technician_ids": [tech],
               "line_items": [{"kind": "material", "description": "Brass valve", "quantity": "2.50"}]}))
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (visibility, body) in [
        ("internal", "Gate code 4411, dog in the garden"),
        ("customer", "Please keep the boiler cupboard clear"),
    ] {
        app.post(&format!("/api/v1/jobs/{job}/notes"))
            .key(&ws.admin_key)
            .json(&json!({"visibility": visibility, "body": body}))
            .expect(201)
            .await;
    }
    move_to(app, &ws, &job, "scheduled").await;
    (ws, job, tech_token, tech)
}

async fn audit_actions(app: &TestApp, ws: &Workspace) -> Vec<String> {
    app.get("/api/v1/audit?limit=100")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn assert_public_headers(r: &holdfast_testkit::Resp, label: &str) {
    assert_eq!(r.header("x-robots-tag"), Some("noindex"), "{label}");
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"), "{label}");
    assert_eq!(r.header("cache-control"), Some("no-store"), "{label}");
    assert_eq!(
        r.header("content-security-policy"),
        Some(holdfast_http::console::CSP),
        "{label}"
    );
    assert!(
        r.text.contains(r#"<meta name="robots" content="noindex">"#),
        "{label}: {}",
        r.text
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_link_shows_the_visit_to_the_customer_and_nothing_internal() {
    let (app, clock) = crate::manual_app().await;
    let (ws, job, _, _) = scheduled_job(&app, "links-page").await;
    let link = issue(&app, &ws.admin_key, &job).await;
    let page = page_of(&link);

    let r = app.get(&page).expect(200).await;
    assert_public_headers(&r, "the page");
    for shown in [
        "Boiler service",
        "Scheduled",
        // 09:00 in London in July, typed and shown in the workspace's zone.
        "2026-07-01 09:00 to 2026-07-01 11:30 (Europe/London)",
        "Tess",
        "Please keep the boiler cupboard clear",
        "links-page",
    ] {
        assert!(r.text.contains(shown), "{shown} missing: {}", r.text);
    }
    for hidden in [
        "Okafor",
        "Gate code",
        "4411",
        "1 Mill Lane",
        "Ada",
        "ada@example.com",
        "7946",
        "Brass valve",
        "2.5",
        "on the way",
    ] {
        assert!(!r.text.contains(hidden), "{hidden} shown: {}", r.text);
    }
    assert!(
        audit_actions(&app, &ws)
            .await
            .contains(&"job.public_link_issued".to_owned())
    );
    // The token is never written to the trail.
    let trail = app
        .get("/api/v1/audit?limit=100")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .text;
    assert!(!trail.contains(link["token"].as_str().unwrap()));

    // En route: the page says so.
    move_to(&app, &ws, &job, "en_route").await;
    let r = app.get(&page).expect(200).await;
    assert!(
        r.text.contains("On the way") && r.text.contains("on the way"),
        "{}",
        r.text
    );

    // Reissued: the old link opens nothing at once, the new one works.
    let again = issue(&app, &ws.admin_key, &job).await;
    let new_page = page_of(&again);
    assert_ne!(new_page, page);
    app.get(&page).expect(404).await;
    app.get(&new_page).expect(200).await;

    // Revoked: nothing opens; revoking again is fine.
    app.delete(&format!("/api/v1/jobs/{job}/public-link"))
        .key(&ws.admin_key)
        .expect(204)
        .await;
    app.get(&new_page).expect(404).await;
    app.delete(&format!("/api/v1/jobs/{job}/public-link"))
        .key(&ws.admin_key)
        .expect(204)
        .await;
    assert!(
        audit_actions(&app, &ws)
            .await
            .contains(&"job.public_link_revoked".to_owned())
    );

    // Completed: the link keeps opening for 30 days after, then opens nothing.
    let last = page_of(&issue(&app, &ws.admin_key, &job).await);
    move_to(&app, &ws, &job, "in_progress").await;
    move_to(&app, &ws, &job, "completed").await;
    let r = app.get(&last).expect(200).await;
    assert!(r.text.contains("Completed"), "{}", r.text);
    clock.advance(30 * DAY_MS - 60_000);
    app.get(&last).expect(200).await;
    clock.advance(60_000);
    let r = app.get(&last).expect(404).await;
    assert_public_headers(&r, "expired");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_link_that_opens_nothing_answers_the_same_404() {
    let app = TestApp::spawn().await;
    let (ws, job, _, _) = scheduled_job(&app, "links-gone").await;
    // The first link is revoked by the second.
    let revoked = page_of(&issue(&app, &ws.admin_key, &job).await);
    let live = page_of(&issue(&app, &ws.admin_key, &job).await);
    app.get(&live).expect(200).await;

    let unknown = format!("/p/jobs/hfpj_{}", "A".repeat(43));
    let other_kind = live.replace("hfpj_", "hfpi_");
    let malformed = [
        "/p/jobs/x".to_owned(),
        "/p/jobs/hfpj_short".to_owned(),
        format!("{live}A"),
        format!("/p/jobs/hfpj_{}", "é".repeat(43)),
        format!("/p/jobs/{}", "a".repeat(2000)),
        "/p/jobs/%FF%FE".to_owned(),
        format!("/p/jobs/hfpj_{}%00", "a".repeat(42)),
        format!("{}%41", &live[..live.len() - 1]),
    ];
    let first = app.get(&unknown).expect(404).await;
    assert_public_headers(&first, "unknown");
    let mut cases: Vec<(String, String)> = vec![
        ("revoked".into(), revoked),
        ("another kind's prefix".into(), other_kind),
    ];
    cases.extend(malformed.iter().map(|m| {
        (
            format!("malformed {}", m.chars().take(24).collect::<String>()),
            m.clone(),
        )
    }));
    for (label, path) in &cases {
        let r = app.get(path).expect(404).await;
        assert_eq!(r.text, first.text, "{label}: a different body");
        assert_eq!(
            r.header("content-type"),
            first.header("content-type"),
            "{label}"
        );
        assert_public_headers(&r, label);
    }

    // Field service off in the workspace: the live link answers the same 404; on again, it opens.
    app.patch("/api/v1/modules")
        .key(&ws.admin_key)
        .json(&json!({"enabled": ["helpdesk", "crm", "automation", "invoicing"]}))
        .expect(200)
        .await;
    let r = app.get(&live).expect(404).await;
    assert_eq!(r.text, first.text, "module off: a different body");
    app.patch("/api/v1/modules")
        .key(&ws.admin_key)
        .json(&json!({"enabled": ["helpdesk", "crm", "automation", "field_service", "invoicing"]}))
        .expect(200)
        .await;
    app.get(&live).expect(200).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn only_members_who_reach_the_job_issue_or_revoke_its_link() {
    let app = TestApp::spawn().await;
    let (ws, job, tess, tess_id) = scheduled_job(&app, "links-scope").await;
    // Another technician, not assigned to the job: 404 on issue and revoke, nothing made.
    let (_, omar) = member(&app, &ws, "omar", "technician").await;
    let path = format!("/api/v1/jobs/{job}/public-link");
    app.post(&path)
        .key(&omar)
        .expect(404)
        .await
        .problem("HF-REQ-005");
    app.delete(&path).key(&omar).expect(404).await;
    // The assigned technician may.
    let link = issue(&app, &tess, &job).await;
    let page = page_of(&link);
    app.get(&page).expect(200).await;
    app.delete(&path).key(&omar).expect(404).await;
    app.get(&page).expect(200).await;
    // A technician without a name is not named on the page; a name with control characters
    // is refused.
    set_display_name(&app, &ws, &tess_id, Value::Null).await;
    let r = app.get(&page).expect(200).await;
    assert!(
        !r.text.contains("Tess") && !r.text.contains("Technician"),
        "{}",
        r.text
    );
    let members = app
        .get("/api/v1/members")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    let membership = members["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user_id"] == tess_id.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.call(
        axum::http::Method::PUT,
        &format!("/api/v1/members/{membership}/display-name"),
    )
    .key(&ws.admin_key)
    .json(&json!({"display_name": "Tess\u{202e}"}))
    .expect(422)
    .await;

    // Another workspace's key: 404 for this workspace's job, and the link stays.
    let other = app.workspace("links-other").await;
    app.post(&path).key(&other.admin_key).expect(404).await;
    app.delete(&path).key(&other.admin_key).expect(404).await;
    app.get(&page).expect(200).await;
    // A malformed or unknown job id: 404.
    app.post("/api/v1/jobs/nope/public-link")
        .key(&ws.admin_key)
        .expect(404)
        .await;
    app.post("/api/v1/jobs/job_00000000000000000000000000000001/public-link")
        .key(&ws.admin_key)
        .expect(404)
        .await;
    // A role without jobs.write: 403.
    let viewer = app
        .key(&ws.slug, holdfast_core::access::policy::BuiltinRole::Viewer)
        .await;
    app.post(&path).key(&viewer).expect(403).await;
    app.delete(&path).key(&tess).expect(204).await;
    app.get(&page).expect(404).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_page_is_limited_per_client_address() {
    let app = TestApp::spawn_with(Layer {
        public_rate_limit_per_minute: Some(60),
        ..Layer::default()
    })
    .await;
    let unknown = format!("/p/jobs/hfpj_{}", "B".repeat(43));
    let mut statuses = Vec::new();
    for _ in 0..40 {
        let r = app.get(&unknown).send().await;
        statuses.push(r.status);
        if r.status == 429 {
            assert!(r.header("retry-after").is_some(), "{}", r.text);
            break;
        }
    }
    assert_eq!(statuses.first(), Some(&404));
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn erasing_the_customer_deletes_the_links_of_their_jobs() {
    let app = TestApp::spawn().await;
    let (ws, job, _, _) = scheduled_job(&app, "links-erase").await;
    let page = page_of(&issue(&app, &ws.admin_key, &job).await);
    app.get(&page).expect(200).await;
    let customer = app
        .get(&format!("/api/v1/jobs/{job}"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json["contact_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.delete(&format!("/api/v1/contacts/{customer}"))
        .key(&ws.admin_key)
        .expect(204)
        .await;
    app.get(&page).expect(404).await;
    let mut tx = app.workspace_tx(&ws).await;
    for table in ["public_links", "public_link_tokens"] {
        let left: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM {table} WHERE workspace_id = $1"
        )))
        .bind(&ws.id)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        assert_eq!(left, 0, "{table}");
    }
    tx.commit().await.unwrap();
}
