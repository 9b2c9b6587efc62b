//! Walks the route table for every route that destroys data, weakens a protection or reveals
//! a secret, and proves each declares `StaffStepUp` and refuses a session that has not stepped
//! up (403 HF-AUTH-005). Such routes are found mechanically — every `DELETE`, and every change
//! made under a permission in [`DANGEROUS`] — plus the routes in [`REVIEWED`]. A route that
//! stays without step-up must be in [`EXEMPT`] with its reason, so a new `DELETE` route (or a
//! new change under a dangerous permission) fails here until it declares step-up or is listed.

use axum::http::Method as HttpMethod;
use holdfast_core::access::policy::Permission;
use holdfast_http::table::RouteSpec;
use holdfast_http::{Guard, route_table};
use holdfast_testkit::{Method, TestApp};
use serde_json::json;

/// Permissions whose every change (any method but `GET`) needs a step-up: erasing people and
/// their retention and hold, credentials, roles and members, security settings and secrets,
/// webhook endpoints (where the workspace's data is sent), workspace policy.
const DANGEROUS: &[Permission] = &[
    Permission::ContactsErase,
    Permission::SettingsSecurity,
    Permission::MembersManage,
    Permission::OwnersManage,
    Permission::WebhooksManage,
    Permission::WorkspaceManage,
];

/// Found by review rather than by the rules above; they must declare step-up whatever
/// permission they are given later.
const REVIEWED: &[(&str, &str)] = &[
    // Lifting a legal hold or shortening a contact's retention lets the daily run erase it.
    ("PATCH", "/api/v1/contacts/{id}/privacy"),
    // Deleting a contact is erasing it.
    ("DELETE", "/api/v1/contacts/{id}"),
    ("POST", "/api/v1/contacts/{id}/erase"),
    ("POST", "/api/v1/privacy/erasure-requests/{id}/approve"),
    ("PUT", "/api/v1/settings/retention"),
    ("POST", "/api/v1/settings/retention/run"),
    ("PUT", "/api/v1/settings/privacy"),
    ("POST", "/api/v1/api-keys"),
    ("DELETE", "/api/v1/api-keys/{id}"),
    ("POST", "/api/v1/widget/identity-secret/reveal"),
    ("POST", "/api/v1/webhooks/{id}/rotate-secret"),
    ("PUT", "/api/v1/inbound-hooks/{provider}"),
    ("PATCH", "/api/v1/settings/security"),
    // Payment instructions tell customers where to send money.
    ("PUT", "/api/v1/invoicing/settings"),
    ("POST", "/app/settings/invoicing"),
];

/// Caught by the rules above, reviewed, and left without step-up on purpose.
const EXEMPT: &[(&str, &str, &str)] = &[
    (
        "PUT",
        "/api/v1/members/{id}/display-name",
        "the name a member goes by: grants, reveals and destroys nothing; audited",
    ),
    (
        "DELETE",
        "/api/v1/invoices/{id}",
        "deletes a draft only (an issued invoice is never deleted); audited",
    ),
    (
        "DELETE",
        "/api/v1/invoices/{id}/public-link",
        "revoking a customer's link takes access away; a new one can be issued",
    ),
    (
        "DELETE",
        "/api/v1/jobs/{id}/public-link",
        "revoking a customer's link takes access away; a new one can be issued",
    ),
    (
        "DELETE",
        "/api/v1/contacts/{id}/portal/sessions/{session_id}",
        "ending a customer's client portal session takes access away; they can sign in again \
         with a new link; audited",
    ),
    (
        "DELETE",
        "/api/v1/jobs/{id}/files/{file_id}",
        "a photo or file the team added to a job (a technician removing a wrong photo on site, \
         as adding one needs no step-up); audited as job.file_removed",
    ),
    (
        "DELETE",
        "/api/v1/auth/sessions",
        "ends the caller's own sessions: takes access away, never gives it",
    ),
    (
        "DELETE",
        "/api/v1/auth/sessions/{id}",
        "ends one of the caller's own sessions: takes access away",
    ),
    (
        "DELETE",
        "/api/v1/invitations/{id}",
        "revoking an invitation takes access away; it can be sent again",
    ),
    (
        "POST",
        "/app/settings/invitations/{id}/withdraw",
        "the console's twin of DELETE /api/v1/invitations/{id}: takes access away",
    ),
    (
        "DELETE",
        "/api/v1/companies/{id}",
        "the team's own company record, audited; its contacts are unlinked, never deleted",
    ),
    (
        "DELETE",
        "/api/v1/saved-replies/{id}",
        "the team's own reply template: no customer data, nothing protected",
    ),
    (
        "POST",
        "/api/v1/contacts/{id}/erasure-requests",
        "files a request; nothing is erased until an approval, which needs step-up",
    ),
    (
        "POST",
        "/api/v1/privacy/erasure-requests/{id}/reject",
        "keeps every record; the decision is audited with its reason",
    ),
    (
        "POST",
        "/api/v1/contact-fields",
        "adds a field definition: destroys and reveals nothing",
    ),
    (
        "PATCH",
        "/api/v1/contact-fields/{key}",
        "changes a label, options or whether it is required; stored values stay",
    ),
    (
        "POST",
        "/api/v1/webhooks/{id}/messages/{message_id}/redeliver",
        "sends a message again to the endpoint it was already signed for",
    ),
    (
        "POST",
        "/app/settings/webhooks/{id}/messages/{message_id}/redeliver",
        "the console's twin of the API's redelivery: the same message to the same endpoint",
    ),
    (
        "POST",
        "/api/v1/webhooks/{id}/recover",
        "sends held and failed messages again to the endpoint they were signed for",
    ),
    (
        "POST",
        "/app/settings/webhooks/{id}/recover",
        "the console's twin of the API's recovery: held and failed messages, same endpoint",
    ),
];

/// A signed-in user's own account: these destroy or weaken it and ask for the password (and
/// the current code) in their own body, which is stronger than a step-up; their own tests
/// prove it (`account.rs`, `two_factor.rs`). They must stay `Guard::User` (no API key).
const REAUTHENTICATE_IN_BODY: &[(&str, &str)] = &[
    ("POST", "/api/v1/auth/account/delete"),
    ("POST", "/app/settings/account/delete"),
    ("POST", "/api/v1/auth/2fa/disable"),
];

fn permission(spec: &RouteSpec) -> Option<Permission> {
    match spec.guard {
        Guard::Staff { permission } | Guard::StaffStepUp { permission } => Some(permission),
        _ => None,
    }
}

fn key(spec: &RouteSpec) -> (String, String) {
    (spec.method.to_string(), spec.path.to_owned())
}

/// Why a route must need step-up, or `None`.
fn dangerous_because(spec: &RouteSpec) -> Option<String> {
    if spec.guard.is_public() {
        return None;
    }
    if spec.method == HttpMethod::DELETE {
        return Some("it deletes".into());
    }
    if spec.method != HttpMethod::GET
        && let Some(p) = permission(spec)
        && DANGEROUS.contains(&p)
    {
        return Some(format!("it changes something under {}", p.as_str()));
    }
    let (m, path) = key(spec);
    REVIEWED
        .iter()
        .any(|(rm, rp)| *rm == m && *rp == path)
        .then(|| "it is on the reviewed list".into())
}

#[test]
fn every_route_that_destroys_weakens_or_reveals_declares_step_up() {
    let table = route_table();
    let specs: Vec<&RouteSpec> = table.specs().collect();
    let mut failures = Vec::new();
    for spec in &specs {
        let Some(why) = dangerous_because(spec) else {
            continue;
        };
        let (m, path) = key(spec);
        let exempt = EXEMPT.iter().any(|(em, ep, _)| *em == m && *ep == path);
        let step_up = matches!(spec.guard, Guard::StaffStepUp { .. });
        if !step_up && !exempt {
            failures.push(format!(
                "{m} {path} must declare Guard::StaffStepUp ({why}), or be listed in EXEMPT with a reason"
            ));
        }
        if step_up && exempt {
            failures.push(format!(
                "{m} {path} declares step-up: remove it from EXEMPT"
            ));
        }
    }
    // Every list entry names a route that exists (and an exemption one the rules catch).
    for (m, path) in REVIEWED.iter().map(|(m, p)| (*m, *p)) {
        if !specs
            .iter()
            .any(|s| key(s) == (m.to_owned(), path.to_owned()))
        {
            failures.push(format!("REVIEWED names {m} {path}, which is not a route"));
        }
    }
    for (m, path, reason) in EXEMPT {
        assert!(reason.len() > 20, "{m} {path}: give the exemption a reason");
        match specs
            .iter()
            .find(|s| key(s) == ((*m).to_owned(), (*path).to_owned()))
        {
            None => failures.push(format!("EXEMPT names {m} {path}, which is not a route")),
            Some(spec) if dangerous_because(spec).is_none() => failures.push(format!(
                "EXEMPT names {m} {path}, which the rules do not catch: remove it"
            )),
            Some(_) => {}
        }
    }
    for (m, path) in REAUTHENTICATE_IN_BODY {
        match specs
            .iter()
            .find(|s| key(s) == ((*m).to_owned(), (*path).to_owned()))
        {
            Some(spec) if spec.guard == Guard::User => {}
            _ => failures.push(format!(
                "{m} {path} must be a Guard::User route (it re-authenticates in its body)"
            )),
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_step_up_route_refuses_a_session_that_has_not_stepped_up() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("step-up-sweep").await;
    // The owner holds every permission, so the only thing missing is the step-up.
    let access = app.login(&ws).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let table = route_table();
    let mut checked = 0;
    for spec in table.specs() {
        if dangerous_because(spec).is_none() || !matches!(spec.guard, Guard::StaffStepUp { .. }) {
            continue;
        }
        // The guard decides before any id is looked up or any body read.
        let mut path = spec.path.to_owned();
        for param in spec.path_params() {
            path = path.replace(
                &format!("{{{param}}}"),
                "ct_00000000000000000000000000000001",
            );
        }
        let method = Method::from_bytes(spec.method.as_str().as_bytes()).unwrap();
        let mut call = app.call(method, &path).key(&access);
        if spec.method != HttpMethod::GET && spec.method != HttpMethod::DELETE {
            call = call.json(&json!({}));
        }
        let r = call.send().await;
        assert_eq!(
            r.status, 403,
            "{} {} with a session that has not stepped up: {}",
            spec.method, spec.path, r.text
        );
        if spec.doc.page {
            // A console page or action says so as a page leading to the step-up form.
            assert!(
                r.text.contains("href=\"/app/step-up?back="),
                "{} {}: {}",
                spec.method,
                spec.path,
                r.text
            );
        } else {
            r.problem("HF-AUTH-005");
        }
        checked += 1;
    }
    assert!(checked >= REVIEWED.len(), "checked only {checked} routes");
}

#[tokio::test(flavor = "multi_thread")]
async fn lifting_a_legal_hold_or_shortening_retention_needs_a_step_up() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("hold-step-up").await;
    let id = crate::contact(&app, &ws, json!({"name": "Held Customer"})).await;
    let privacy = format!("/api/v1/contacts/{id}/privacy");
    app.patch(&privacy)
        .key(&ws.admin_key)
        .json(&json!({"legal_hold": true, "reason": "pending dispute"}))
        .expect(200)
        .await;
    let access = app.login(&ws).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let weaken = json!({"legal_hold": false, "retention_days": 7, "reason": "tidy up"});
    app.patch(&privacy)
        .key(&access)
        .json(&weaken)
        .expect(403)
        .await
        .problem("HF-AUTH-005");
    let kept = app.get(&privacy).key(&ws.admin_key).expect(200).await;
    assert_eq!(kept.json["legal_hold"], true);
    assert_eq!(kept.json["retention_days"], serde_json::Value::Null);
    app.post("/api/v1/auth/step-up")
        .key(&access)
        .json(&json!({"password": holdfast_testkit::OWNER_PASSWORD}))
        .expect(204)
        .await;
    let changed = app
        .patch(&privacy)
        .key(&access)
        .json(&weaken)
        .expect(200)
        .await;
    assert_eq!(changed.json["legal_hold"], false);
    assert_eq!(changed.json["retention_days"], 7);
}
