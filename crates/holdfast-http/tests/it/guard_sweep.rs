//! Walks the whole route table. Every non-public route must refuse a missing, malformed,
//! unknown or revoked credential with 401, and a valid key of another workspace with 404 on
//! this workspace's resource ids. A new route joins this sweep automatically; a new public
//! route fails it until it is added to `PUBLIC` below on purpose.

use crate::contact;
use crate::method;
use holdfast_core::access::policy::BuiltinRole;
use holdfast_http::{Guard, route_table};
use holdfast_testkit::TestApp;
use serde_json::json;

const PUBLIC: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/.well-known/security.txt"),
    ("GET", "/api/v1/openapi.json"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/refresh"),
    ("POST", "/api/v1/auth/forgot-password"),
    ("POST", "/api/v1/auth/reset-password"),
    ("GET", "/api/v1/auth/oidc/start"),
    ("GET", "/api/v1/auth/oidc/callback"),
    ("POST", "/api/v1/auth/oidc/complete"),
    ("POST", "/api/v1/invitations/accept"),
    ("GET", "/widget.js"),
    // The contact's own pages: the token in the path is the credential (`consent.rs` proves
    // unknown, malformed, spent and revoked tokens are one 404).
    ("GET", "/preferences/{token}"),
    ("POST", "/preferences/{token}"),
    ("POST", "/preferences/{token}/unsubscribe"),
    ("GET", "/preferences/{token}/unsubscribe"),
    ("POST", "/preferences/{token}/data"),
    ("GET", "/preferences/download/{token}"),
    ("POST", "/preferences/download/{token}"),
    ("POST", "/preferences/{token}/erasure"),
    ("GET", "/consent/confirm/{token}"),
    ("POST", "/consent/confirm/{token}"),
    // A job's page for the customer: the link's token in the path is the credential
    // (`public_links.rs`: one byte-identical 404 for every link that opens nothing).
    ("GET", "/p/jobs/{token}"),
    // An invoice's page, PDF and Pay for the customer: the same (`payments.rs`); and where the
    // payment provider sends them back (a thank-you page, no data).
    ("GET", "/p/invoices/{token}"),
    ("GET", "/p/invoices/{token}/pdf"),
    ("POST", "/p/invoices/{token}/pay"),
    ("GET", "/p/paid"),
    // The console's static files: nothing behind them without a session.
    ("GET", "/assets/htmx.min.js"),
    ("GET", "/assets/console.css"),
    ("GET", "/assets/console.js"),
    // Signing in to the console: the sign-in form, with the API login's throttle and checks.
    ("GET", "/sign-in"),
    ("POST", "/sign-in"),
    // The first run: the setup link's token in the path is the credential, and it opens
    // nothing once a workspace exists (`pages_setup.rs`: one 404 for every other case).
    ("GET", "/setup/{token}"),
    ("POST", "/setup/{token}"),
    // A forgotten password and an invitation: the API's public routes as pages, with the
    // sign-in limit; the mailed token in the path is the credential (`pages_reset.rs`,
    // `pages_invite.rs`: one 404 for a token that cannot be used).
    ("GET", "/sign-in/forgot"),
    ("POST", "/sign-in/forgot"),
    ("GET", "/reset/{token}"),
    ("POST", "/reset/{token}"),
    ("GET", "/invite/{token}"),
    ("POST", "/invite/{token}"),
    // The API's documentation: the public OpenAPI document, rendered as pages.
    ("GET", "/api/docs"),
    ("GET", "/api/docs/{tag}"),
    // Single sign-on in the console (404 without a provider): a page on to the API's public
    // start, and the confirmation the callback leads to, bound to the flow cookie
    // (`pages_sso.rs`).
    ("GET", "/sign-in/sso"),
    ("GET", "/sign-in/confirm"),
    ("POST", "/sign-in/confirm"),
    // Signing in to the client portal: the request answers the same for every address, the
    // link's token in the path is the credential (`portal.rs`: one 404 for a link that cannot
    // be used, a portal that is off or unknown).
    ("POST", "/api/portal/v1/auth/magic-link"),
    ("POST", "/api/portal/v1/auth/token"),
    ("POST", "/api/portal/v1/auth/refresh"),
    // The optional portal password (`portal_password.rs`): signing in with it answers one 401
    // for every failure, a reset request the same for every address.
    ("POST", "/api/portal/v1/auth/password"),
    ("POST", "/api/portal/v1/auth/password-reset"),
    ("GET", "/portal/{workspace_slug}"),
    ("POST", "/portal/{workspace_slug}/sign-in"),
    ("GET", "/portal/{workspace_slug}/sign-in/{token}"),
    ("POST", "/portal/{workspace_slug}/sign-in/{token}"),
    // The portal password's pages: the reset link's token in the path is the credential (one
    // 404 for a link that cannot be used).
    ("POST", "/portal/{workspace_slug}/password-sign-in"),
    ("POST", "/portal/{workspace_slug}/password-reset"),
    ("GET", "/portal/{workspace_slug}/password-reset/{token}"),
    ("POST", "/portal/{workspace_slug}/password-reset/{token}"),
    // What every portal page loads to show its workspace, the sign-in pages included
    // (`portal_brand.rs`): the logo and the colour, one 404 for a portal that is not there.
    ("GET", "/portal/{workspace_slug}/logo"),
    ("GET", "/portal/{workspace_slug}/brand.css"),
];

/// A refusal as the route's kind gives it: problem+json with `code` from the API; a console
/// page refuses as a page (HTML with the console's policy), and one that wants a session
/// sends the browser to sign-in instead of a 401.
fn assert_refusal(r: &holdfast_testkit::Resp, page: bool, status: u16, code: &str, label: &str) {
    if !page {
        assert_eq!(r.status, status, "{label}: {}", r.text);
        r.problem(code);
        return;
    }
    if status == 401 {
        assert_eq!(r.status, 303, "{label}: {}", r.text);
        assert!(
            r.header("location")
                .is_some_and(|l| l.starts_with("/sign-in")),
            "{label}: {:?}",
            r.header("location")
        );
        return;
    }
    assert_eq!(r.status, status, "{label}: {}", r.text);
    assert_eq!(
        r.header("content-security-policy"),
        Some(holdfast_http::console::CSP),
        "{label}: a page refuses as a page"
    );
}

/// Routes whose guard is a shared secret rather than a credential, each proven by its own
/// tests (`hooks.rs`, `cron.rs`, `billing.rs`).
const SECRET_GUARDED: &[(&str, &str, Guard)] = &[
    ("POST", "/internal/cron/tick", Guard::Cron),
    ("POST", "/hooks/billing/stripe", Guard::Billing),
    ("POST", "/hooks/{provider}/{workspace_slug}", Guard::Signed),
];

/// The website widget's public routes: their guard is the key's workspace and its allowed
/// origins, proven by `widget.rs` (origin lock, bot checks, identity, limits).
const WIDGET_GUARDED: &[(&str, &str, Guard)] = &[
    (
        "GET",
        "/api/v1/widget/{key}/config",
        Guard::Widget { submit: false },
    ),
    (
        "OPTIONS",
        "/api/v1/widget/{key}/messages",
        Guard::Widget { submit: false },
    ),
    (
        "POST",
        "/api/v1/widget/{key}/messages",
        Guard::Widget { submit: true },
    ),
    (
        "OPTIONS",
        "/api/v1/widget/{key}/conversation",
        Guard::Widget { submit: false },
    ),
    (
        "GET",
        "/api/v1/widget/{key}/conversation",
        Guard::Widget { submit: false },
    ),
];

/// A plausible body, so a route cannot pass by failing validation before its guard.
fn with_body<'a>(
    call: holdfast_testkit::Call<'a>,
    spec: &holdfast_http::table::RouteSpec,
) -> holdfast_testkit::Call<'a> {
    if spec.doc.page && spec.method.as_str() == "POST" {
        // A console form: every field a page action reads.
        call.body(
            "application/x-www-form-urlencoded",
            "kind=note&body=sweep&status=open&priority=normal&tags=",
        )
    } else if (spec.method.as_str() == "POST" && spec.path.ends_with("/files"))
        || (spec.method.as_str() == "PUT" && spec.path.ends_with("/logo"))
    {
        // A job's photo, the portal's logo: the upload form with a real PNG.
        let (content_type, body) = crate::job_files::png_form();
        call.body(&content_type, body)
    } else if spec.method.as_str() == "PATCH" && spec.path.starts_with("/api/v1/tickets") {
        call.json(&json!({"status": "pending"}))
    } else if matches!(spec.method.as_str(), "POST" | "PATCH" | "PUT") {
        call.json(&body_for(spec.path))
    } else {
        call
    }
}

/// A valid body for an invoicing route, so the guard (or the record's absence) decides.
fn invoice_body(path: &str) -> serde_json::Value {
    if path.ends_with("/invoices") {
        json!({"contact_id": "ct_00000000000000000000000000000001",
               "lines": [{"description": "Sweep", "quantity": "1", "unit_price": "1"}]})
    } else if path.ends_with("/payments") || path.ends_with("/refunds") {
        json!({"amount": "1", "method": "cash"})
    } else if path.ends_with("/void") || path.ends_with("/credit-notes") {
        json!({"reason": "sweep"})
    } else if path.contains("payment-accounts") {
        json!({"secret_key": "rk_test_51HolDfAsTrEsTrIcTeDkEy00"})
    } else if path.ends_with("/settings") {
        json!({"invoice_prefix": "INV-", "credit_note_prefix": "CN-", "next_invoice_number": 1,
               "next_credit_note_number": 1, "payment_terms_days": 14, "currency": "EUR"})
    } else {
        json!({})
    }
}

fn body_for(path: &str) -> serde_json::Value {
    if path.contains("/invoic") {
        return invoice_body(path);
    }
    if path.ends_with("/portal") {
        json!({"access": true})
    } else if path.ends_with("/portal/billing") {
        json!({"billing_contact": false})
    } else if path.ends_with("/portal/settings") {
        json!({"default_access": false})
    } else if path.ends_with("/portal/branding") {
        json!({"colour": "#0b5cad"})
    } else if path.contains("2fa") {
        json!({"code": "123456", "password": "a password that is wrong"})
    } else if path.contains("api-keys") {
        json!({"name": "sweep", "role": "viewer"})
    } else if path.ends_with("/display-name") {
        json!({"display_name": "Sweep Person"})
    } else if path.contains("members") {
        json!({"role": "viewer"})
    } else if path.contains("roles") {
        json!({"name": "Sweep role", "permissions": ["contacts.read"]})
    } else if path.contains("rotate-secret") {
        json!({"overlap_seconds": 60})
    } else if path.ends_with("/recover") {
        json!({"since": 0})
    } else if path.contains("webhooks") {
        json!({"url": "https://hooks.example.com/sweep", "event_types": ["contact.created"]})
    } else if path.contains("inbound-hooks") {
        json!({"secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})
    } else if path.contains("/consent") {
        json!({"do_not_contact": true})
    } else if path.contains("settings/privacy") {
        json!({"mode": "gdpr"})
    } else if path.contains("saved-replies") {
        json!({"name": "Sweep reply", "body": "Hello {{contact.first_name|there}}"})
    } else if path.ends_with("/erase") || path.ends_with("/reject") {
        json!({"reason": "sweep"})
    } else if path.ends_with("/privacy") {
        json!({"legal_hold": false, "reason": "sweep"})
    } else if path.contains("settings/retention") {
        json!({"closed_tickets_days": null})
    } else if path.contains("tickets/bulk") {
        json!({"ids": ["tk_00000000000000000000000000000001"], "status": "pending"})
    } else if path.contains("replies") || path.contains("notes") {
        json!({"body": "Sweep reply"})
    } else if path.contains("tickets") {
        json!({"subject": "Sweep", "contact": {"email": "sweep@example.com"}, "message": "hi"})
    } else if path.contains("companies") {
        json!({"name": "Sweep Co"})
    } else if path.ends_with("/status") && path.contains("jobs") {
        json!({"status": "cancelled"})
    } else if path.contains("time-zone") {
        json!({"time_zone": "Europe/London"})
    } else if path.ends_with("/jobs") {
        json!({"contact_id": "ct_00000000000000000000000000000001", "title": "Sweep visit"})
    } else if path.contains("/jobs/") {
        json!({"title": "Sweep visit"})
    } else if path.contains("contact-fields") {
        json!({"label": "Sweep"})
    } else if path.contains("invitations") {
        json!({"email": "sweep@example.com", "role": "viewer"})
    } else {
        json!({"name": "Sweep Contact", "email": "sweep@example.com"})
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_route_declares_a_guard_and_public_ones_are_deliberate() {
    let table = route_table();
    let public: Vec<(String, String)> = table
        .specs()
        .filter(|s| s.guard.is_public())
        .map(|s| (s.method.to_string(), s.path.to_owned()))
        .collect();
    let expected: Vec<(String, String)> = PUBLIC
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(
        public, expected,
        "the set of public routes changed; review it and update PUBLIC"
    );
    let secret: Vec<(String, String, Guard)> = table
        .specs()
        .filter(|s| matches!(s.guard, Guard::Signed | Guard::Cron | Guard::Billing))
        .map(|s| (s.method.to_string(), s.path.to_owned(), s.guard))
        .collect();
    let expected: Vec<(String, String, Guard)> = SECRET_GUARDED
        .iter()
        .map(|(m, p, g)| (m.to_string(), p.to_string(), *g))
        .collect();
    assert_eq!(
        secret, expected,
        "the set of secret-guarded routes changed; review it and update SECRET_GUARDED"
    );
    let widget: Vec<(String, String, Guard)> = table
        .specs()
        .filter(|s| matches!(s.guard, Guard::Widget { .. }))
        .map(|s| (s.method.to_string(), s.path.to_owned(), s.guard))
        .collect();
    let expected: Vec<(String, String, Guard)> = WIDGET_GUARDED
        .iter()
        .map(|(m, p, g)| (m.to_string(), p.to_string(), *g))
        .collect();
    assert_eq!(
        widget, expected,
        "the set of widget-guarded routes changed; review it and update WIDGET_GUARDED"
    );
    assert!(
        table.specs().count() > PUBLIC.len(),
        "the sweep must see guarded routes"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_guarded_route_refuses_bad_credentials_and_other_tenants() {
    let app = TestApp::spawn().await;
    let a = app.workspace("sweep-a").await;
    let b = app.workspace("sweep-b").await;
    let a_contact = contact(
        &app,
        &a,
        json!({"name": "A's customer", "email": "a-customer@example.com"}),
    )
    .await;
    let a_key_listing = app
        .get("/api/v1/api-keys")
        .key(&a.admin_key)
        .expect(200)
        .await;
    let a_key_id = a_key_listing.json["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let revoked = app.key(&a.slug, BuiltinRole::Admin).await;
    let revoked_id = app
        .get("/api/v1/api-keys")
        .key(&a.admin_key)
        .expect(200)
        .await
        .json["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["id"].as_str().unwrap().to_owned())
        .find(|id| *id != a_key_id)
        .unwrap();
    app.delete(&format!("/api/v1/api-keys/{revoked_id}"))
        .key(&a.admin_key)
        .expect(204)
        .await;

    // Users: A's and B's owners signed in; one more A session, then ended.
    let a_login = app.login(&a).await;
    let a_token = a_login["access_token"].as_str().unwrap().to_owned();
    let a_session = a_login["session_id"].as_str().unwrap().to_owned();
    let b_token = app.login(&b).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let ended = app.login(&a).await;
    let ended_token = ended["access_token"].as_str().unwrap().to_owned();
    app.post("/api/v1/auth/logout")
        .key(&ended_token)
        .expect(204)
        .await;
    let refresh_as_bearer = ended["refresh_token"].as_str().unwrap().to_owned();
    let forged = forge(&a_token);
    let a_member = app
        .get("/api/v1/members")
        .key(&a.admin_key)
        .expect(200)
        .await
        .json["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let a_invitation = app
        .post("/api/v1/invitations")
        .key(&a.admin_key)
        .json(&json!({"email": "invitee@example.com", "role": "support"}))
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let retargeted = retarget(&a_token, &b.id);
    let a_role = app
        .post("/api/v1/roles")
        .key(&a.admin_key)
        .json(&json!({"name": "Dispatcher", "permissions": ["jobs.read", "jobs.write"]}))
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Console sessions: one live, one ended.
    let a_console = app.console_login(&a).await;
    let ended_console = app.console_login(&a).await;
    app.post("/api/v1/auth/logout")
        .console(&ended_console)
        .expect(204)
        .await;

    // A customer of A signed in to A's client portal, in a browser and with API tokens.
    let a_portal_at = format!("a-portal@{}.example.com", holdfast_testkit::unique("sweep"));
    let (_, a_portal) = crate::portal_customer(&app, &a, "A's portal customer", &a_portal_at).await;
    let a_portal_tokens = crate::portal_api_tokens(&app, &a, &a_portal_at).await;

    let a_endpoint = app
        .post("/api/v1/webhooks")
        .key(&a.admin_key)
        .json(&json!({"url": "https://hooks.example.com/a", "event_types": ["contact.created"]}))
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let a_ticket = app
        .post("/api/v1/tickets")
        .key(&a.admin_key)
        .json(&json!({"subject": "A's ticket", "contact": {"email": "a-customer@example.com"}, "message": "hello"}))
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let a_saved_reply = app
        .post("/api/v1/saved-replies")
        .key(&a.admin_key)
        .json(&json!({"name": "A's reply", "body": "Hello from A"}))
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let a_erasure_request = app
        .post(&format!("/api/v1/contacts/{a_contact}/erasure-requests"))
        .key(&a.admin_key)
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let a_company = app
        .post("/api/v1/companies")
        .key(&a.admin_key)
        .json(&json!({"name": "A's company", "domain": "a-company.example.com"}))
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let a_job = app
        .post("/api/v1/jobs")
        .key(&a.admin_key)
        .json(&json!({"contact_id": a_contact, "title": "A's visit"}))
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let a_invoice = app
        .post("/api/v1/invoices")
        .key(&a.admin_key)
        .json(&json!({"contact_id": a_contact,
                      "lines": [{"description": "A's visit", "quantity": "1", "unit_price": "10"}]}))
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post("/api/v1/contact-fields")
        .key(&a.admin_key)
        .json(&json!({"key": "a_only", "label": "A's field", "type": "text"}))
        .expect(201)
        .await;
    let a_import = app
        .post("/api/v1/contacts/imports")
        .key(&a.admin_key)
        .body(
            "text/csv",
            "name,email\nA's customer 2,a-customer-2@example.com\n",
        )
        .expect(202)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let table = route_table();
    let mut swept = 0;
    for spec in table.specs() {
        if spec.guard.is_public()
            || matches!(
                spec.guard,
                Guard::Signed | Guard::Cron | Guard::Billing | Guard::Widget { .. } | Guard::Portal
            )
        {
            continue;
        }
        swept += 1;
        let ids: Vec<(&str, String)> = spec
            .path_params()
            .into_iter()
            .map(|param| {
                let resource = spec.resource_of(param);
                let id = match (resource, param) {
                    ("contacts", "id") => a_contact.clone(),
                    ("api-keys", "id") => a_key_id.clone(),
                    ("sessions", "id") => a_session.clone(),
                    ("members", "id") => a_member.clone(),
                    ("invitations", "id") => a_invitation.clone(),
                    ("roles", "id") => a_role.clone(),
                    ("webhooks", "id") => a_endpoint.clone(),
                    ("tickets", "id") => a_ticket.clone(),
                    ("saved-replies", "id") => a_saved_reply.clone(),
                    ("erasure-requests", "id") => a_erasure_request.clone(),
                    ("companies", "id") => a_company.clone(),
                    ("jobs", "id") => a_job.clone(),
                    ("invoices", "id") => a_invoice.clone(),
                    // Not a record: each workspace connects its own account per provider.
                    ("payment-accounts", "provider") => "stripe".into(),
                    ("contact-fields", "key") => "a_only".into(),
                    ("imports", "id") => a_import.clone(),
                    // Behind A's ticket id: B gets 404 for the ticket first.
                    ("attachments", "attachment_id") => {
                        "att_00000000000000000000000000000001".into()
                    }
                    // Behind A's job id: B gets 404 for the job before the file.
                    ("files", "file_id") => "jf_00000000000000000000000000000001".into(),
                    // Behind A's contact id: B gets 404 for the contact first.
                    ("sessions", "session_id") => "pses_00000000000000000000000000000001".into(),
                    // Behind A's endpoint id: B gets 404 for the endpoint before the message.
                    ("messages", "message_id") => "msg_00000000000000000000000000000001".into(),
                    // Not a record: each workspace has its own receiver per provider.
                    ("inbound-hooks", "provider") => "stripe".into(),
                    _ => panic!(
                        "no fixture for {{{param}}} in {}: add one to the guard sweep",
                        spec.path
                    ),
                };
                (param, id)
            })
            .collect();
        let mut path = spec.path.to_owned();
        for (param, id) in &ids {
            path = path.replace(&format!("{{{param}}}"), id);
        }
        let m = method(&spec.method);
        let label = format!("{} {}", spec.method, spec.path);
        let page = spec.doc.page;
        // Console pages are called as a browser does: a redirect is the answer, not followed.
        let call = |m: holdfast_testkit::Method, path: &str| {
            if page {
                app.browser(m, path)
            } else {
                app.call(m, path)
            }
        };

        let r = with_body(call(m.clone(), &path), spec).send().await;
        let what = format!("{label} without a credential");
        assert_refusal(&r, page, 401, "HF-AUTH-001", &what);
        assert!(
            page || r.header("www-authenticate").is_some(),
            "{label}: 401 without WWW-Authenticate"
        );

        for bad in [
            "Bearer".to_owned(),
            "Bearer not-a-key".to_owned(),
            "Basic dXNlcjpwYXNz".to_owned(),
            format!("Bearer {}x", a.admin_key),
            format!("Bearer hf_live_{}", "A".repeat(43)),
            format!("Bearer {revoked}"),
            format!("Token {}", a.admin_key),
            format!("Bearer {forged}"),
            format!("Bearer {retargeted}"),
            format!("Bearer {ended_token}"),
            format!("Bearer {refresh_as_bearer}"),
            format!("Bearer {}", a_token.replace('.', "")),
            // The client portal's credentials (the portal's column): its access token
            // (`typ = portal`) and its refresh token.
            format!("Bearer {}", a_portal_tokens.access),
            format!("Bearer {}", a_portal_tokens.refresh),
        ] {
            let r = with_body(call(m.clone(), &path).header("authorization", &bad), spec)
                .send()
                .await;
            let what = format!("{label} with '{}…'", &bad[..bad.len().min(20)]);
            assert_refusal(&r, page, 401, "HF-AUTH-002", &what);
        }

        for bad in [
            format!("__Host-hf_session=hfs_{}", "A".repeat(43)),
            ended_console.session_cookie.clone(),
            format!("__Host-hf_session={a_token}"),
            format!("__Host-hf_session={}", a.admin_key),
            format!("__Host-hf_session={}x", a_console.cookie_value()),
        ] {
            let r = with_body(call(m.clone(), &path).header("cookie", &bad), spec)
                .send()
                .await;
            assert_refusal(
                &r,
                page,
                401,
                "HF-AUTH-002",
                &format!("{label} with cookie '{bad}'"),
            );
        }
        // The client portal's session is no credential on a staff route (the portal's
        // column of the sweep; `every_portal_route_refuses_staff_credentials` is the other).
        let r = with_body(
            call(m.clone(), &path).header("cookie", &a_portal.cookie),
            spec,
        )
        .send()
        .await;
        let what = format!("{label} with a client portal session");
        assert_refusal(&r, page, 401, "HF-AUTH-001", &what);
        if spec.method != axum::http::Method::GET {
            let r = with_body(call(m.clone(), &path).cookie(&a_console), spec)
                .send()
                .await;
            let what = format!("{label} with a console cookie and no CSRF token");
            assert_refusal(&r, page, 403, "HF-AUTH-007", &what);
        }

        // Another workspace's credential of the kind this guard takes.
        let b_credential = if spec.guard == Guard::User {
            b_token.as_str()
        } else {
            b.admin_key.as_str()
        };
        if let Guard::StaffStepUp { .. } = spec.guard {
            let r = with_body(call(m.clone(), &path).key(&a_token), spec)
                .send()
                .await;
            let what = format!("{label} with a session that has not stepped up");
            assert_refusal(&r, page, 403, "HF-AUTH-005", &what);
        }
        if spec.guard == Guard::User {
            let r = with_body(call(m.clone(), &path).key(&a.admin_key), spec)
                .send()
                .await;
            assert_eq!(r.status, 403, "{label} with an API key: {}", r.text);
        }
        let names_a_record = ids.iter().any(|(param, _)| *param != "provider");
        if names_a_record {
            let r = with_body(call(m.clone(), &path).key(b_credential), spec)
                .send()
                .await;
            let what = format!("{label} with another workspace's credential must be 404");
            assert_refusal(&r, page, 404, "HF-REQ-005", &what);
            assert!(
                !r.text.contains("A's customer") && !r.text.contains("a-customer@"),
                "{label} leaked data"
            );
        } else if spec.method == axum::http::Method::GET && ids.is_empty() {
            // Its declared answer: 200, or a page's redirect (the front door).
            let r = call(m.clone(), &path)
                .key(b_credential)
                .expect(spec.doc.status)
                .await;
            assert!(
                !r.text.contains(&a_contact)
                    && !r.text.contains(&a_key_id)
                    && !r.text.contains(&a_session)
                    && !r.text.contains(&a_endpoint)
                    && !r.text.contains(&a_ticket)
                    && !r.text.contains(&a_saved_reply)
                    && !r.text.contains(&a_erasure_request)
                    && !r.text.contains(&a_company)
                    && !r.text.contains("a_only")
                    && !r.text.contains(&a_import)
                    && !r.text.contains(&a_invoice),
                "{label} listed A's records to B"
            );
        }
    }
    assert!(swept >= 8, "swept only {swept} guarded routes");
    // Nothing B tried changed A's records; A's session still works.
    app.get("/api/v1/auth/sessions")
        .key(&a_token)
        .expect(200)
        .await;
    let r = app
        .get(&format!("/api/v1/contacts/{a_contact}"))
        .key(&a.admin_key)
        .expect(200)
        .await;
    assert_eq!(r.json["name"], "A's customer");
    app.get("/api/v1/contacts")
        .key(&a.admin_key)
        .expect(200)
        .await;
}

/// The client portal's column: every portal route refuses a missing, forged or ended portal
/// session and every staff credential (API key, access token, console session) with 401 — a
/// page sends the browser to the portal's sign-in — and answers 404 to a customer of another
/// workspace's portal on this workspace's path or on a record of A's customer (`{id}`: a
/// ticket, a job or an issued invoice of theirs); a route that names nothing of A's answers
/// B's customer about B's own records, without a word of A's.
#[tokio::test(flavor = "multi_thread")]
async fn every_portal_route_refuses_staff_credentials_and_other_portals() {
    let app = TestApp::spawn().await;
    let a = app.workspace("portal-sweep-a").await;
    let b = app.workspace("portal-sweep-b").await;
    // Addresses of this run only: the PostgreSQL suite shares one mail outbox.
    let domain = format!("{}.example.com", holdfast_testkit::unique("sweep"));
    let (ann_at, bob_at, cid_at) = (
        format!("ann@{domain}"),
        format!("bob@{domain}"),
        format!("cid@{domain}"),
    );
    let (ann, a_customer) = crate::portal_customer(&app, &a, "Ann", &ann_at).await;
    let a_job = crate::portal_billing::job_for(&app, &a, &ann, "Ann's sweep visit").await;
    let a_invoice = crate::portal_billing::issued_for(&app, &a, &ann, "Ann's sweep work").await;
    let (_, b_customer) = crate::portal_customer(&app, &b, "Bob", &bob_at).await;
    let (_, ended) = crate::portal_customer(&app, &a, "Cid", &cid_at).await;
    // API tokens: B's customer's, and an API session of A's that has ended.
    let b_tokens = crate::portal_api_tokens(&app, &b, &bob_at).await;
    let ended_tokens = crate::portal_api_tokens(&app, &a, &cid_at).await;
    app.post("/api/portal/v1/auth/sign-out")
        .key(&ended_tokens.access)
        .expect(204)
        .await;
    let a_tokens = crate::portal_api_tokens(&app, &a, &ann_at).await;
    // A request of A's customer, which the `{id}` of the portal's routes names.
    let a_ticket = app
        .post("/api/v1/tickets")
        .key(&a.admin_key)
        .json(
            &json!({"subject": "Ann's secret request", "contact": {"email": ann_at},
                      "message": "Ann's words"}),
        )
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.browser(
        holdfast_testkit::Method::POST,
        &format!("/portal/{}/sign-out", a.slug),
    )
    .header("cookie", &ended.cookie)
    .header("x-csrf-token", &ended.csrf)
    .expect(303)
    .await;
    let a_token = app.login(&a).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let a_console = app.console_login(&a).await;
    let sign_in = format!("/portal/{}", a.slug);

    let table = route_table();
    let mut swept = 0;
    for spec in table.specs().filter(|s| s.guard == Guard::Portal) {
        swept += 1;
        let mut path = spec.path.replace("{workspace_slug}", &a.slug);
        match spec.resource_of("id") {
            "tickets" => path = path.replace("{id}", &a_ticket),
            "jobs" => path = path.replace("{id}", &a_job),
            "invoices" => path = path.replace("{id}", &a_invoice),
            _ => {}
        }
        assert!(
            !path.contains('{'),
            "no fixture for a parameter of {}: add one to the portal sweep",
            spec.path
        );
        // A's: a page of A's portal, or a record of A's customer.
        let names_a = path.starts_with("/portal/") || spec.path.contains("{id}");
        let m = method(&spec.method);
        let label = format!("{} {}", spec.method, spec.path);
        let call = || {
            let call = if spec.doc.page {
                app.browser(m.clone(), &path)
            } else {
                app.call(m.clone(), &path)
            };
            if m == holdfast_testkit::Method::GET {
                call
            } else if spec.doc.page {
                call.body("application/x-www-form-urlencoded", "sweep=1")
            } else {
                // A body the route takes, so that what answers is the route, not the parser.
                call.json(&portal_body(spec.path))
            }
        };
        let refused = |r: holdfast_testkit::Resp, what: &str| {
            if spec.doc.page {
                assert_eq!(r.status, 303, "{label} {what}: {}", r.text);
                assert_eq!(
                    r.header("location"),
                    Some(sign_in.as_str()),
                    "{label} {what}"
                );
            } else {
                assert_eq!(r.status, 401, "{label} {what}: {}", r.text);
            }
        };
        refused(call().send().await, "without a credential");
        for cookie in [
            format!("__Host-hf_portal=hfps_{}", "A".repeat(43)),
            format!(
                "__Host-hf_portal={}x",
                a_customer.cookie.split_once('=').unwrap().1
            ),
            ended.cookie.clone(),
            format!("__Host-hf_portal={}", a_console.cookie_value()),
            a_console.session_cookie.clone(),
        ] {
            refused(
                call().header("cookie", &cookie).send().await,
                &format!("with cookie {cookie}"),
            );
        }
        // Portal tokens that open nothing: ended, forged, a refresh token as a bearer; and
        // on a page, even a live one (the portal's pages take its cookie only).
        let mut dead = vec![
            ended_tokens.access.clone(),
            ended_tokens.refresh.clone(),
            a_tokens.refresh.clone(),
            format!("{}x", a_tokens.access),
        ];
        if spec.doc.page {
            dead.push(a_tokens.access.clone());
        }
        for bearer in &dead {
            refused(
                call().key(bearer).send().await,
                &format!("with portal token {}…", &bearer[..bearer.len().min(12)]),
            );
        }
        for bearer in [a.admin_key.as_str(), a_token.as_str()] {
            refused(call().key(bearer).send().await, "with a staff credential");
            // Beside a live portal session too: a staff credential is never taken here.
            refused(
                call()
                    .key(bearer)
                    .header("cookie", &a_customer.cookie)
                    .send()
                    .await,
                "with a staff credential beside a portal session",
            );
        }
        if m != holdfast_testkit::Method::GET {
            let r = call().header("cookie", &a_customer.cookie).send().await;
            assert_eq!(r.status, 403, "{label} without the CSRF token: {}", r.text);
        }
        // Signing out names nothing of A's: B's customer would only end their own session.
        if spec.path == "/api/portal/v1/auth/sign-out" {
            continue;
        }
        // Another workspace's customer on A's path, or on A's customer's records.
        let r = call()
            .header("cookie", &b_customer.cookie)
            .header("x-csrf-token", &b_customer.csrf)
            .send()
            .await;
        if names_a {
            assert_eq!(r.status, 404, "{label} with B's portal session: {}", r.text);
        } else {
            assert!(
                r.status < 500,
                "{label} with B's portal session: {}",
                r.text
            );
        }
        for leak in ["Ann", a_ticket.as_str(), a_job.as_str(), a_invoice.as_str()] {
            assert!(!r.text.contains(leak), "{label} leaked {leak}: {}", r.text);
        }
        // B's customer's API token on the portal API: the same answers as B's browser.
        if !spec.doc.page {
            let r = call().key(&b_tokens.access).send().await;
            if names_a {
                assert_eq!(r.status, 404, "{label} with B's portal token: {}", r.text);
            } else {
                assert!(r.status < 500, "{label} with B's portal token: {}", r.text);
            }
            for leak in ["Ann", a_ticket.as_str(), a_job.as_str(), a_invoice.as_str()] {
                assert!(!r.text.contains(leak), "{label} leaked {leak}: {}", r.text);
            }
        }
    }
    assert!(swept >= 12, "swept only {swept} portal routes");
    // Nothing reached A's customer's request.
    let thread = app
        .get(&format!("/api/v1/tickets/{a_ticket}"))
        .key(&a.admin_key)
        .expect(200)
        .await;
    assert_eq!(
        thread.json["messages"].as_array().unwrap().len(),
        1,
        "{}",
        thread.text
    );
}

/// A JSON body a portal API route takes.
fn portal_body(path: &str) -> serde_json::Value {
    if path.ends_with("/preferences") {
        json!({"channels": {"email": {"status": "denied"}, "sms": {"status": "denied"},
               "whatsapp": {"status": "denied"}, "phone": {"status": "denied"},
               "postal": {"status": "denied"}}})
    } else if path.ends_with("/replies") {
        json!({"body": "Sweep"})
    } else if path.ends_with("/tickets") {
        json!({"subject": "Sweep", "message": "Sweep"})
    } else if path.ends_with("/auth/password") {
        // No password: refused (422) for the customer who may set one, so the sweep's own
        // sessions are never ended by a password being set.
        json!({})
    } else {
        json!({})
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn roles_without_the_permission_get_403_inside_their_workspace() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("perm").await;
    let viewer = app.key(&ws.slug, BuiltinRole::Viewer).await;
    let member = app.key(&ws.slug, BuiltinRole::Support).await;
    let id = contact(&app, &ws, json!({"name": "Grace"})).await;
    app.get(&format!("/api/v1/contacts/{id}"))
        .key(&viewer)
        .expect(200)
        .await;
    app.post("/api/v1/contacts")
        .key(&viewer)
        .json(&json!({"name": "No"}))
        .expect(403)
        .await
        .problem("HF-AUTH-003");
    app.delete(&format!("/api/v1/contacts/{id}"))
        .key(&viewer)
        .expect(403)
        .await;
    app.patch(&format!("/api/v1/contacts/{id}"))
        .key(&member)
        .json(&json!({"company": "Navy"}))
        .expect(200)
        .await;
    app.get("/api/v1/api-keys")
        .key(&member)
        .expect(403)
        .await
        .problem("HF-AUTH-003");
}

/// A token with a valid shape whose signature is not ours.
fn forge(token: &str) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[2] = "c2lnbmVkIGJ5IHNvbWVvbmUgZWxzZSBlbnRpcmVseSBoZXJl".to_owned();
    parts.join(".")
}

/// A's token with its workspace claim edited to B's, keeping A's signature.
fn retarget(token: &str, other_ws: &str) -> String {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["ws"] = json!(other_ws);
    let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    format!("{}.{body}.{}", parts[0], parts[2])
}
