//! Consent and the outbound choke point: per-channel consent with its log, GDPR and CCPA
//! modes, Do Not Contact, double opt-in, the public preference center with one-click
//! unsubscribe, and the proof that no customer mail reaches the transport without the check.

use holdfast_testkit::{SmtpMessage, SmtpSink, TestApp, Workspace};
use serde_json::{Value, json};
use std::time::Duration;

async fn with_sink(worker: bool) -> (SmtpSink, TestApp) {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(holdfast_core::ops::config::Layer {
        smtp_url: Some(sink.url()),
        mail_from: Some("Acme Support <support@acme.example>".into()),
        worker: Some(worker),
        ..Default::default()
    })
    .await;
    (sink, app)
}

/// A ticket from `email` (its contact found or created); (ticket id, contact id).
async fn ticket_from(app: &TestApp, ws: &Workspace, email: &str) -> (String, String) {
    let t = app
        .post("/api/v1/tickets")
        .key(&ws.admin_key)
        .json(
            &json!({"subject": "Boiler", "contact": {"email": email, "name": "A Customer"},
                      "message": "It knocks."}),
        )
        .expect(201)
        .await
        .json;
    (
        t["id"].as_str().unwrap().to_owned(),
        t["contact_id"].as_str().unwrap().to_owned(),
    )
}

async fn reply(app: &TestApp, ws: &Workspace, ticket: &str, body: &str) -> Value {
    app.post(&format!("/api/v1/tickets/{ticket}/replies"))
        .key(&ws.admin_key)
        .json(&json!({"body": body}))
        .expect(201)
        .await
        .json
}

async fn set_consent(app: &TestApp, ws: &Workspace, contact: &str, body: Value) -> Value {
    app.patch(&format!("/api/v1/contacts/{contact}/consent"))
        .key(&ws.admin_key)
        .json(&body)
        .expect(200)
        .await
        .json
}

async fn privacy(app: &TestApp, ws: &Workspace, body: Value) {
    app.call(reqwest::Method::PUT, "/api/v1/settings/privacy")
        .key(&ws.admin_key)
        .json(&body)
        .expect(200)
        .await;
}

async fn outreach(app: &TestApp, ws: &Workspace, contact: &str) -> Vec<Value> {
    app.get(&format!("/api/v1/contacts/{contact}/outreach"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json["data"]
        .as_array()
        .unwrap()
        .clone()
}

/// A contact's consent as the workspace's admin reads it.
async fn consent_of(app: &TestApp, ws: &Workspace, contact: &str) -> Value {
    app.get(&format!("/api/v1/contacts/{contact}/consent"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json
}

async fn consent_log(app: &TestApp, ws: &Workspace, contact: &str) -> Vec<Value> {
    app.get(&format!("/api/v1/contacts/{contact}/consent/log"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json["data"]
        .as_array()
        .unwrap()
        .clone()
}

/// The reply's delivery status once it is `want` (the worker may still be on it).
async fn wait_status(
    app: &TestApp,
    ws: &Workspace,
    ticket: &str,
    message: &str,
    want: &str,
) -> Value {
    for _ in 0..200 {
        let t = app
            .get(&format!("/api/v1/tickets/{ticket}"))
            .key(&ws.admin_key)
            .expect(200)
            .await
            .json;
        let found = t["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == message)
            .cloned()
            .unwrap();
        if found["delivery_status"] == want {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("message {message} never reached {want}");
}

use holdfast_testkit::mail_header as header;

/// The first `<base>/<path>/<token>` link in a mail's body.
fn link(mail: &SmtpMessage, path: &str) -> String {
    let text = mail.text();
    let text = text
        .split_once("\r\n\r\n")
        .or_else(|| text.split_once("\n\n"))
        .map(|(_, body)| body.to_owned())
        .unwrap_or(text);
    let start = text
        .find(path)
        .unwrap_or_else(|| panic!("no {path} in {text}"));
    text[start..]
        .split(|c: char| c.is_whitespace())
        .next()
        .unwrap()
        .trim_end_matches('.')
        .to_owned()
}

fn token_of(link: &str) -> String {
    link.rsplit('/').next().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn consent_changes_are_validated_and_logged_with_their_source() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("consent-log").await;
    let other = app.workspace("consent-other").await;
    let contact = crate::contact(&app, &ws, json!({"email": "lin@example.com"})).await;

    let fresh = consent_of(&app, &ws, &contact).await;
    assert_eq!(fresh["mode"], "ccpa", "the default mode");
    assert_eq!(fresh["do_not_contact"], false);
    for channel in ["email", "sms", "whatsapp", "phone", "postal"] {
        assert_eq!(fresh["channels"][channel]["status"], "unknown", "{channel}");
    }

    // Bad input: every field named, nothing stored.
    let bad = app
        .patch(&format!("/api/v1/contacts/{contact}/consent"))
        .key(&ws.admin_key)
        .json(&json!({
            "channels": {"email": {"status": "granted"}, "fax": {"status": "denied"},
                         "sms": {"status": "pending"}},
            "source": "preference_center"
        }))
        .expect(422)
        .await;
    let fields: Vec<&str> = bad.json["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for f in [
        "channels.email.lawful_basis",
        "channels.fax",
        "channels.sms.status",
        "source",
    ] {
        assert!(fields.contains(&f), "{f} in {fields:?}");
    }
    app.patch(&format!("/api/v1/contacts/{contact}/consent"))
        .key(&ws.admin_key)
        .json(&json!({}))
        .expect(422)
        .await;
    app.patch(&format!("/api/v1/contacts/{contact}/consent"))
        .key(&ws.admin_key)
        .json(&json!({"do_not_contact": "yes"}))
        .expect(422)
        .await;
    assert!(consent_log(&app, &ws, &contact).await.is_empty());

    // A form sign-up through the API, then an operator's Do Not Contact.
    let after = set_consent(
        &app,
        &ws,
        &contact,
        json!({"channels": {"email": {"status": "granted", "lawful_basis": "consent"},
                            "sms": {"status": "denied"}},
               "source": "form", "note": "newsletter box at the fair"}),
    )
    .await;
    assert_eq!(after["channels"]["email"]["status"], "granted");
    assert_eq!(after["channels"]["email"]["lawful_basis"], "consent");
    assert_eq!(after["channels"]["email"]["source"], "form");
    assert_eq!(after["channels"]["sms"]["status"], "denied");
    let after = set_consent(
        &app,
        &ws,
        &contact,
        json!({"do_not_contact": true, "do_not_sell": true}),
    )
    .await;
    assert_eq!(after["do_not_contact"], true);
    assert_eq!(after["do_not_sell"], true);
    // The same values again change nothing and log nothing.
    set_consent(&app, &ws, &contact, json!({"do_not_contact": true})).await;

    let log = consent_log(&app, &ws, &contact).await;
    assert_eq!(log.len(), 4, "{log:#?}");
    assert_eq!(log[0]["field"], "channel");
    assert_eq!(log[0]["channel"], "email");
    assert_eq!(log[0]["old_value"], "unknown");
    assert_eq!(log[0]["new_value"], "granted");
    assert_eq!(log[0]["source"], "form");
    assert_eq!(log[0]["note"], "newsletter box at the fair");
    assert!(
        log[0]["actor"].as_str().unwrap().starts_with("key_"),
        "{}",
        log[0]
    );
    assert_eq!(log[0]["ip"], "127.0.0.1");
    let fields: Vec<&str> = log.iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert!(fields.contains(&"do_not_contact") && fields.contains(&"do_not_sell"));
    assert_eq!(log[3]["source"], "api", "an API key's default source");

    // Another workspace's key sees nothing of it.
    app.get(&format!("/api/v1/contacts/{contact}/consent"))
        .key(&other.admin_key)
        .expect(404)
        .await;
    app.patch(&format!("/api/v1/contacts/{contact}/consent"))
        .key(&other.admin_key)
        .json(&json!({"do_not_contact": false}))
        .expect(404)
        .await;
    app.get(&format!("/api/v1/contacts/{contact}/consent/log"))
        .key(&other.admin_key)
        .expect(404)
        .await;

    // Settings: validated, and changed only with workspace.manage.
    let bad = app
        .call(reqwest::Method::PUT, "/api/v1/settings/privacy")
        .key(&ws.admin_key)
        .json(&json!({"mode": "strict", "double_opt_in": ["sms"]}))
        .expect(422)
        .await;
    assert_eq!(bad.json["errors"].as_array().unwrap().len(), 2);
    let support = app
        .key(
            &ws.slug,
            holdfast_core::access::policy::BuiltinRole::Support,
        )
        .await;
    app.call(reqwest::Method::PUT, "/api/v1/settings/privacy")
        .key(&support)
        .json(&json!({"mode": "gdpr"}))
        .expect(403)
        .await;
    privacy(&app, &ws, json!({"mode": "gdpr"})).await;
    let got = app
        .get("/api/v1/settings/privacy")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(got, json!({"mode": "gdpr", "double_opt_in": []}));
}

#[tokio::test(flavor = "multi_thread")]
async fn replies_pass_the_consent_check_under_each_mode_and_do_not_contact() {
    let (sink, app) = with_sink(true).await;
    let ws = app.workspace("consent-modes").await;

    // CCPA (the default): unknown may be sent to, denied and Do Not Contact may not.
    let (t_unknown, c_unknown) = ticket_from(&app, &ws, "una@example.com").await;
    let (t_denied, c_denied) = ticket_from(&app, &ws, "dee@example.com").await;
    let (t_dnc, c_dnc) = ticket_from(&app, &ws, "dan@example.com").await;
    set_consent(
        &app,
        &ws,
        &c_denied,
        json!({"channels": {"email": {"status": "denied"}}}),
    )
    .await;
    set_consent(
        &app,
        &ws,
        &c_dnc,
        json!({"channels": {"email": {"status": "granted", "lawful_basis": "consent"}},
               "do_not_contact": true}),
    )
    .await;

    let sent = reply(&app, &ws, &t_unknown, "On our way.").await;
    assert_eq!(sent["delivery_status"], "queued");
    let blocked = reply(&app, &ws, &t_denied, "On our way.").await;
    assert_eq!(blocked["delivery_status"], "blocked");
    assert!(
        blocked["delivery_detail"]
            .as_str()
            .unwrap()
            .contains("denied email consent"),
        "{blocked}"
    );
    let blocked = reply(&app, &ws, &t_dnc, "On our way.").await;
    assert_eq!(blocked["delivery_status"], "blocked");
    assert!(
        blocked["delivery_detail"]
            .as_str()
            .unwrap()
            .contains("Do Not Contact"),
        "{blocked}"
    );
    // The operator sees the stored reply with its reason in the ticket.
    let stored = wait_status(
        &app,
        &ws,
        &t_dnc,
        blocked["id"].as_str().unwrap(),
        "blocked",
    )
    .await;
    assert_eq!(stored["body"], "On our way.");

    // The CCPA reply goes out before the mode changes (a queued message is checked again when
    // it is sent, under the mode of that moment).
    wait_status(&app, &ws, &t_unknown, sent["id"].as_str().unwrap(), "sent").await;

    // GDPR: unknown is blocked; granted is sent.
    privacy(&app, &ws, json!({"mode": "gdpr"})).await;
    let (t_gdpr_unknown, c_gdpr_unknown) = ticket_from(&app, &ws, "gus@example.com").await;
    let (t_granted, c_granted) = ticket_from(&app, &ws, "gia@example.com").await;
    set_consent(
        &app,
        &ws,
        &c_granted,
        json!({"channels": {"email": {"status": "granted", "lawful_basis": "consent"}}}),
    )
    .await;
    let blocked = reply(&app, &ws, &t_gdpr_unknown, "Quote attached.").await;
    assert_eq!(blocked["delivery_status"], "blocked");
    assert!(
        blocked["delivery_detail"]
            .as_str()
            .unwrap()
            .contains("GDPR"),
        "{blocked}"
    );
    let sent_gdpr = reply(&app, &ws, &t_granted, "Quote attached.").await;
    assert_eq!(sent_gdpr["delivery_status"], "queued");
    // In GDPR mode the CCPA-era unknown contact is blocked too.
    let blocked = reply(&app, &ws, &t_unknown, "One more thing.").await;
    assert_eq!(blocked["delivery_status"], "blocked");

    // Exactly the allowed ones reached the relay, each with the preference footer and the
    // one-click unsubscribe headers.
    for (to, ticket, message) in [
        ("una@example.com", &t_unknown, &sent),
        ("gia@example.com", &t_granted, &sent_gdpr),
    ] {
        let mail = sink
            .wait_for(to, Duration::from_secs(20))
            .await
            .unwrap_or_else(|| {
                let logs = holdfast_testkit::captured_logs();
                let jobs: Vec<&str> = logs.lines().filter(|l| l.contains("job")).collect();
                panic!("the allowed reply to {to} was not mailed; job log lines: {jobs:#?}")
            });
        let unsubscribe = header(&mail.data, "List-Unsubscribe")
            .unwrap_or_else(|| panic!("no List-Unsubscribe in {}", mail.data))
            .to_owned();
        assert!(
            unsubscribe.starts_with(&format!("<{}/preferences/hfpc_", app.base))
                && unsubscribe.ends_with("/unsubscribe>"),
            "{unsubscribe}"
        );
        assert_eq!(
            header(&mail.data, "List-Unsubscribe-Post"),
            Some("List-Unsubscribe=One-Click")
        );
        assert!(
            mail.text().contains("/preferences/hfpc_"),
            "{}",
            mail.text()
        );
        wait_status(&app, &ws, ticket, message["id"].as_str().unwrap(), "sent").await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let recipients: Vec<String> = sink.messages().iter().flat_map(|m| m.to.clone()).collect();
    for never in ["dee@example.com", "dan@example.com", "gus@example.com"] {
        assert!(
            !recipients.iter().any(|r| r.contains(never)),
            "{never} in {recipients:?}"
        );
    }
    assert_eq!(
        recipients
            .iter()
            .filter(|r| r.contains("una@example.com"))
            .count(),
        1,
        "the GDPR-blocked second reply never went"
    );

    // Every decision is recorded with its reason.
    let reasons = |entries: Vec<Value>| -> Vec<(String, String, Option<String>)> {
        entries
            .iter()
            .map(|e| {
                (
                    e["stage"].as_str().unwrap().to_owned(),
                    e["decision"].as_str().unwrap().to_owned(),
                    e["reason"].as_str().map(str::to_owned),
                )
            })
            .collect()
    };
    assert_eq!(
        reasons(outreach(&app, &ws, &c_denied).await),
        vec![(
            "queue".into(),
            "blocked".into(),
            Some("consent_denied".into())
        )]
    );
    assert_eq!(
        reasons(outreach(&app, &ws, &c_dnc).await),
        vec![(
            "queue".into(),
            "blocked".into(),
            Some("do_not_contact".into())
        )]
    );
    assert_eq!(
        reasons(outreach(&app, &ws, &c_gdpr_unknown).await),
        vec![(
            "queue".into(),
            "blocked".into(),
            Some("consent_unknown".into())
        )]
    );
    let una = reasons(outreach(&app, &ws, &c_unknown).await);
    assert_eq!(una[0], ("queue".into(), "allowed".into(), None));
    assert_eq!(una[1], ("send".into(), "allowed".into(), None));
    assert_eq!(
        una[2],
        (
            "queue".into(),
            "blocked".into(),
            Some("consent_unknown".into())
        )
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_queued_message_is_checked_again_when_it_is_sent() {
    // No worker yet: the replies wait in the queue while their contacts change.
    let (sink, app) = with_sink(false).await;
    let ws = app.workspace("consent-late").await;
    let (t_ok, _) = ticket_from(&app, &ws, "olga@example.com").await;
    let (t_dnc, c_dnc) = ticket_from(&app, &ws, "dora@example.com").await;
    let (t_gone, c_gone) = ticket_from(&app, &ws, "gone@example.com").await;
    let c_pending = crate::contact(&app, &ws, json!({"email": "pia@example.com"})).await;

    let ok = reply(&app, &ws, &t_ok, "Booked for Tuesday.").await;
    let dnc = reply(&app, &ws, &t_dnc, "Booked for Tuesday.").await;
    let gone = reply(&app, &ws, &t_gone, "Booked for Tuesday.").await;
    for m in [&ok, &dnc, &gone] {
        assert_eq!(m["delivery_status"], "queued");
    }
    // Double opt-in queues a confirmation request; the contact then says no before it goes.
    privacy(
        &app,
        &ws,
        json!({"mode": "ccpa", "double_opt_in": ["email"]}),
    )
    .await;
    let pending = set_consent(
        &app,
        &ws,
        &c_pending,
        json!({"channels": {"email": {"status": "granted", "lawful_basis": "consent"}}, "source": "form"}),
    )
    .await;
    assert_eq!(pending["channels"]["email"]["status"], "pending");
    set_consent(
        &app,
        &ws,
        &c_pending,
        json!({"channels": {"email": {"status": "denied"}}}),
    )
    .await;
    set_consent(&app, &ws, &c_dnc, json!({"do_not_contact": true})).await;
    app.patch(&format!("/api/v1/contacts/{c_gone}"))
        .key(&ws.admin_key)
        .json(&json!({"email": null}))
        .expect(200)
        .await;

    let _worker = app.extra_worker();
    sink.wait_for("olga@example.com", Duration::from_secs(20))
        .await
        .expect("the unchanged contact's reply is sent");
    let stopped = wait_status(&app, &ws, &t_dnc, dnc["id"].as_str().unwrap(), "blocked").await;
    assert!(
        stopped["delivery_detail"]
            .as_str()
            .unwrap()
            .contains("Do Not Contact")
    );
    let stopped = wait_status(&app, &ws, &t_gone, gone["id"].as_str().unwrap(), "blocked").await;
    assert!(
        stopped["delivery_detail"]
            .as_str()
            .unwrap()
            .contains("no email address")
    );
    let last = |entries: Vec<Value>| entries.last().cloned().unwrap();
    let e = last(outreach(&app, &ws, &c_dnc).await);
    assert_eq!(
        (e["stage"].as_str(), e["reason"].as_str()),
        (Some("send"), Some("do_not_contact"))
    );
    let e = last(outreach(&app, &ws, &c_gone).await);
    assert_eq!(
        (e["stage"].as_str(), e["reason"].as_str()),
        (Some("send"), Some("no_address"))
    );
    let mut confirmation = None;
    for _ in 0..200 {
        let entries = outreach(&app, &ws, &c_pending).await;
        if let Some(e) = entries.iter().find(|e| e["stage"] == "send") {
            confirmation = Some(e.clone());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let confirmation = confirmation.expect("the confirmation job ran");
    assert_eq!(confirmation["purpose"], "confirmation");
    assert_eq!(confirmation["reason"], "not_pending");
    let recipients: Vec<String> = sink.messages().iter().flat_map(|m| m.to.clone()).collect();
    for never in ["dora@example.com", "gone@example.com", "pia@example.com"] {
        assert!(!recipients.iter().any(|r| r.contains(never)), "{never}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn double_opt_in_waits_for_the_contacts_confirmation() {
    let (sink, app) = with_sink(true).await;
    let ws = app.workspace("consent-doi").await;
    privacy(
        &app,
        &ws,
        json!({"mode": "gdpr", "double_opt_in": ["email"]}),
    )
    .await;
    let (ticket, contact) = ticket_from(&app, &ws, "nina@example.com").await;
    let after = set_consent(
        &app,
        &ws,
        &contact,
        json!({"channels": {"email": {"status": "granted", "lawful_basis": "consent"}}, "source": "form"}),
    )
    .await;
    assert_eq!(after["channels"]["email"]["status"], "pending");

    // Until confirmed, a reply is blocked.
    let blocked = reply(&app, &ws, &ticket, "Thanks for signing up.").await;
    assert_eq!(blocked["delivery_status"], "blocked");
    assert!(
        blocked["delivery_detail"]
            .as_str()
            .unwrap()
            .contains("not yet confirmed")
    );

    let mail = sink
        .wait_for("nina@example.com", Duration::from_secs(20))
        .await
        .expect("the confirmation request is mailed");
    // Asking again while it waits sends a new request (the first may be lost).
    set_consent(
        &app,
        &ws,
        &contact,
        json!({"channels": {"email": {"status": "granted", "lawful_basis": "consent"}}, "source": "form"}),
    )
    .await;
    let mut second = None;
    for _ in 0..400 {
        let mails: Vec<SmtpMessage> = sink
            .messages()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t == "nina@example.com"))
            .collect();
        if mails.len() >= 2 {
            second = mails.last().cloned();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let second = second.expect("a second confirmation request");
    assert_ne!(
        link(&second, "/consent/confirm/"),
        link(&mail, "/consent/confirm/")
    );
    let mail = second;
    let confirm = link(&mail, "/consent/confirm/");
    let path = confirm.trim_start_matches(&app.base).to_owned();
    // Opening the link (as a mail scanner would) changes nothing; the page asks.
    let page = app.get(&path).expect(200).await;
    assert!(page.text.contains("Yes, confirm"), "{}", page.text);
    assert_eq!(
        consent_of(&app, &ws, &contact).await["channels"]["email"]["status"],
        "pending"
    );
    app.post(&path)
        .header("user-agent", "Nina's phone")
        .expect(200)
        .await;
    let now = consent_of(&app, &ws, &contact).await;
    assert_eq!(now["channels"]["email"]["status"], "granted");
    assert_eq!(now["channels"]["email"]["source"], "confirmation");
    // Single use: the link is spent.
    app.post(&path).expect(404).await;
    app.get(&path).expect(404).await;
    app.post("/consent/confirm/hfoc_nonsense").expect(404).await;

    let log = consent_log(&app, &ws, &contact).await;
    let steps: Vec<(String, String, String)> = log
        .iter()
        .map(|e| {
            (
                e["new_value"].as_str().unwrap().to_owned(),
                e["source"].as_str().unwrap().to_owned(),
                e["actor"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(steps[0].0, "pending");
    assert_eq!(steps[0].1, "form");
    assert_eq!(
        steps[1],
        ("granted".into(), "confirmation".into(), "contact".into())
    );
    assert_eq!(log[1]["user_agent"], "Nina's phone");

    // Granting again keeps the confirmed status (nothing is asked again).
    let again = set_consent(
        &app,
        &ws,
        &contact,
        json!({"channels": {"email": {"status": "granted", "lawful_basis": "consent"}}, "source": "form"}),
    )
    .await;
    assert_eq!(again["channels"]["email"]["status"], "granted");

    // The export carries the consent, its log and the outbound decisions.
    let export = app
        .get(&format!("/api/v1/contacts/{contact}/export"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(
        export["consent"]["current"]["channels"]["email"]["status"],
        "granted"
    );
    assert_eq!(
        export["consent"]["log"].as_array().unwrap().len(),
        2,
        "{export}"
    );
    assert!(
        export["consent"]["outbound_decisions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["purpose"] == "confirmation" && d["decision"] == "allowed"),
        "{export}"
    );

    // Now a reply goes out.
    let sent = reply(&app, &ws, &ticket, "Welcome aboard.").await;
    assert_eq!(sent["delivery_status"], "queued");
    wait_status(&app, &ws, &ticket, sent["id"].as_str().unwrap(), "sent").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_preference_center_works_through_its_token_only() {
    let (sink, app) = with_sink(true).await;
    let ws = app.workspace("consent-prefs").await;
    let (ticket, contact) = ticket_from(&app, &ws, "pat@example.com").await;
    reply(&app, &ws, &ticket, "Here is your invoice.").await;
    let mail = sink
        .wait_for("pat@example.com", Duration::from_secs(20))
        .await
        .unwrap();
    let page_url = link(&mail, "/preferences/hfpc_");
    let token = token_of(&page_url);
    let page = format!("/preferences/{token}");

    let shown = app.get(&page).expect(200).await;
    assert!(
        shown.text.contains("Your contact preferences"),
        "{}",
        shown.text
    );
    let csp = shown.header("content-security-policy").unwrap().to_owned();
    assert!(
        csp.contains("form-action 'self'") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    assert!(
        shown
            .header("content-type")
            .unwrap()
            .starts_with("text/html")
    );

    // Choices: SMS yes, email yes; the redirect lands back on the page.
    let saved = app
        .post(&page)
        .body(
            "application/x-www-form-urlencoded",
            "email=granted&sms=granted&action=save",
        )
        .header("user-agent", "Pat's laptop")
        .expect(200)
        .await;
    assert!(saved.text.contains("Saved"), "{}", saved.text);
    let consent = consent_of(&app, &ws, &contact).await;
    assert_eq!(consent["channels"]["sms"]["status"], "granted");
    assert_eq!(consent["channels"]["sms"]["source"], "preference_center");
    assert_eq!(consent["channels"]["email"]["lawful_basis"], "consent");

    // Bad form input: refused, nothing changed.
    app.post(&page)
        .body("application/x-www-form-urlencoded", "email=maybe")
        .expect(422)
        .await;
    app.post(&page)
        .body("application/x-www-form-urlencoded", "fax=granted")
        .expect(422)
        .await;
    assert_eq!(consent_log(&app, &ws, &contact).await.len(), 2);

    // One-click unsubscribe (RFC 8058), then a reply is blocked.
    app.post(&format!("{page}/unsubscribe"))
        .body("application/x-www-form-urlencoded", "something=else")
        .expect(422)
        .await;
    // Opening the unsubscribe link in a browser shows the page and changes nothing.
    let opened = app.get(&format!("{page}/unsubscribe")).expect(200).await;
    assert!(opened.text.contains("Unsubscribe from everything"));
    assert_eq!(consent_log(&app, &ws, &contact).await.len(), 2);
    // RFC 8058 prefers multipart/form-data; a urlencoded form works too.
    let boundary = "----holdfast-test-boundary";
    let multipart = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--{boundary}--\r\n"
    );
    app.post(&format!("{page}/unsubscribe"))
        .body(
            &format!("multipart/form-data; boundary={boundary}"),
            multipart,
        )
        .expect(200)
        .await;
    let after = consent_log(&app, &ws, &contact).await;
    assert_eq!(after.len(), 3);
    assert_eq!(after[2]["new_value"], "denied");
    app.post(&format!("{page}/unsubscribe"))
        .body(
            "application/x-www-form-urlencoded",
            "List-Unsubscribe=One-Click",
        )
        .expect(200)
        .await;
    let blocked = reply(&app, &ws, &ticket, "Reminder.").await;
    assert_eq!(blocked["delivery_status"], "blocked");

    // Unsubscribe from everything.
    app.post(&page)
        .body(
            "application/x-www-form-urlencoded",
            "action=unsubscribe_all",
        )
        .expect(200)
        .await;
    let consent = consent_of(&app, &ws, &contact).await;
    for channel in ["email", "sms", "whatsapp", "phone", "postal"] {
        assert_eq!(
            consent["channels"][channel]["status"], "denied",
            "{channel}"
        );
    }
    let log = consent_log(&app, &ws, &contact).await;
    assert!(
        log.iter()
            .all(|e| e["actor"] == "contact" && e["source"] == "preference_center")
    );
    assert!(log.iter().any(|e| e["note"] == "one-click unsubscribe"));

    // Their data needs a link mailed to them (`the_data_download_...` below); the footer's
    // token alone does not serve it. A deletion request waits for the operator.
    let data = app.get(&format!("{page}/data")).send().await;
    assert_ne!(data.status, 200);
    assert!(!data.text.contains("pat@example.com"), "{}", data.text);
    app.post(&format!("{page}/erasure")).expect(200).await;
    app.post(&format!("{page}/erasure")).expect(200).await;
    let requests = app
        .get("/api/v1/privacy/erasure-requests")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    let mine: Vec<&Value> = requests["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["contact_id"] == contact.as_str())
        .collect();
    assert_eq!(
        mine.len(),
        1,
        "one open request however often asked: {requests}"
    );
    assert_eq!(mine[0]["source"], "preference_center");
    assert_eq!(
        mine[0]["due_at"].as_i64().unwrap() - mine[0]["requested_at"].as_i64().unwrap(),
        30 * 24 * 3600 * 1000
    );

    // Unknown, malformed and revoked tokens are one 404.
    let forged = format!("/preferences/hfpc_{}", "A".repeat(43));
    app.get(&forged).expect(404).await;
    app.post(&forged)
        .body("application/x-www-form-urlencoded", "email=granted")
        .expect(404)
        .await;
    app.get("/preferences/not-a-token").expect(404).await;
    app.get(&format!("/preferences/{token}x")).expect(404).await;
    let revoked = app
        .post(&format!(
            "/api/v1/contacts/{contact}/preference-links/revoke"
        ))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(revoked["revoked"], 1);
    app.get(&page).expect(404).await;
    app.post(&format!("{page}/data")).expect(404).await;
    app.post(&format!("{page}/erasure")).expect(404).await;
    app.post(&format!("{page}/unsubscribe"))
        .body(
            "application/x-www-form-urlencoded",
            "List-Unsubscribe=One-Click",
        )
        .expect(404)
        .await;

    // The next mail carries a new link that works.
    set_consent(
        &app,
        &ws,
        &contact,
        json!({"channels": {"email": {"status": "granted", "lawful_basis": "consent"}}}),
    )
    .await;
    reply(&app, &ws, &ticket, "Your new link.").await;
    let mut fresh = None;
    for _ in 0..200 {
        fresh = sink
            .messages()
            .into_iter()
            .find(|m| m.text().contains("Your new link."));
        if fresh.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let fresh_token = token_of(&link(&fresh.expect("mailed"), "/preferences/hfpc_"));
    assert_ne!(fresh_token, token);
    app.get(&format!("/preferences/{fresh_token}"))
        .expect(200)
        .await;

    // A new address: consent given for the old one no longer counts, and links mailed to it
    // stop working.
    app.patch(&format!("/api/v1/contacts/{contact}"))
        .key(&ws.admin_key)
        .json(&json!({"email": "pat.new@example.com"}))
        .expect(200)
        .await;
    app.get(&format!("/preferences/{fresh_token}"))
        .expect(404)
        .await;
    let consent = consent_of(&app, &ws, &contact).await;
    assert_eq!(consent["channels"]["email"]["status"], "unknown");
    let log = consent_log(&app, &ws, &contact).await;
    let last = log.last().unwrap();
    assert_eq!(last["note"], "the email address changed");
    assert_eq!(last["old_value"], "granted");
}

/// "Download my data" from the preference center mails a single-use, one-hour link to the
/// contact's own address (through the choke point, even after they unsubscribed); only that
/// link serves the document, once, and without the workspace's internal notes.
#[tokio::test(flavor = "multi_thread")]
async fn the_data_download_needs_the_link_mailed_to_the_contact_and_works_once() {
    let (sink, app) = with_sink(true).await;
    let ws = app.workspace("consent-data").await;
    let (ticket, contact) = ticket_from(&app, &ws, "dana@example.com").await;
    app.post(&format!("/api/v1/tickets/{ticket}/notes"))
        .key(&ws.admin_key)
        .json(&json!({"body": "Internal: offer the goodwill discount"}))
        .expect(201)
        .await;
    reply(&app, &ws, &ticket, "Here is your invoice.").await;
    let mail = sink
        .wait_for("dana@example.com", Duration::from_secs(20))
        .await
        .unwrap();
    let page = format!(
        "/preferences/{}",
        token_of(&link(&mail, "/preferences/hfpc_"))
    );
    // Unsubscribed from email: the person may still ask for their data.
    app.post(&page)
        .body(
            "application/x-www-form-urlencoded",
            "action=unsubscribe_all",
        )
        .expect(200)
        .await;

    // The footer's token alone gets no data.
    let shown = app.get(&page).expect(200).await;
    assert!(
        shown.text.contains(&format!("action=\"{page}/data\"")),
        "{}",
        shown.text
    );
    let direct = app.get(&format!("{page}/data")).send().await;
    assert_ne!(direct.status, 200);
    assert!(!direct.text.contains("dana@example.com"));

    // Asking sends a link to the contact's address.
    let asked = app.post(&format!("{page}/data")).expect(200).await;
    assert!(asked.text.contains("sent"), "{}", asked.text);
    assert!(!asked.text.contains("dana@example.com"), "{}", asked.text);
    let mut mailed = None;
    for _ in 0..400 {
        mailed = sink
            .messages()
            .into_iter()
            .find(|m| m.text().contains("/preferences/download/"));
        if mailed.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mailed = mailed.expect("the download link is mailed");
    // Asking again at once sends nothing new (the first link is on its way).
    let again = app.post(&format!("{page}/data")).expect(200).await;
    assert!(again.text.contains("sent"), "{}", again.text);
    assert_eq!(mailed.to, vec!["dana@example.com".to_owned()]);
    let url = link(&mailed, "/preferences/download/hfdl_");
    let download = format!("/preferences/download/{}", token_of(&url));
    // The mail went through the choke point, and is recorded.
    let decisions = outreach(&app, &ws, &contact).await;
    assert!(
        decisions
            .iter()
            .any(|d| d["purpose"] == "data_access" && d["decision"] == "allowed"),
        "{decisions:?}"
    );
    // Only the SHA-256 of the token is stored: the digest finds the link now, the token
    // itself finds nothing, and the digest finds nothing once the hour is over.
    let now_ms = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    let target = |key: String, at: i64| {
        let db = app.db.clone();
        async move {
            holdfast_store::crm::consent::unscoped_data_link_target(&db, &key, at)
                .await
                .unwrap()
        }
    };
    let digest = holdfast_core::token::sha256_hex(&token_of(&url));
    assert!(
        target(digest.clone(), now_ms).await.is_some(),
        "stored by its digest"
    );
    assert!(
        target(token_of(&url), now_ms).await.is_none(),
        "never in clear"
    );
    assert!(
        target(digest, now_ms + 2 * 3600 * 1000).await.is_none(),
        "expired after its hour"
    );
    // A change staff make is in the person's copy, without naming the staff member.
    app.patch(&format!("/api/v1/contacts/{contact}/consent"))
        .key(&ws.admin_key)
        .json(&json!({"do_not_sell": true}))
        .expect(200)
        .await;

    // Opening the link (or a link scanner fetching it) spends nothing.
    let opened = app.get(&download).expect(200).await;
    assert!(opened.text.contains("Download"), "{}", opened.text);
    app.get(&download).expect(200).await;
    let data = app.post(&download).expect(200).await;
    assert!(
        data.header("content-disposition")
            .unwrap()
            .starts_with("attachment")
    );
    let document: Value = serde_json::from_str(&data.text).unwrap();
    assert_eq!(document["contact"]["email"], "dana@example.com");
    let log = document["consent"]["log"].as_array().unwrap();
    assert!(
        log.iter().any(|e| e["actor"] == "contact") && log.iter().any(|e| e["actor"] == "staff"),
        "{log:?}"
    );
    for entry in log.iter().filter(|e| e["actor"] == "staff") {
        assert!(
            entry["ip"].is_null() && entry["user_agent"].is_null(),
            "{entry}"
        );
    }
    assert!(
        !data.text.contains("\"usr_") && !data.text.contains("\"key_"),
        "no staff ids in the self-service copy: {}",
        data.text
    );
    assert!(
        !data.text.contains("goodwill discount"),
        "no internal notes in the self-service copy"
    );
    let kinds: Vec<&Value> = document["tickets"][0]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["kind"])
        .collect();
    assert!(!kinds.contains(&&json!("note")), "{kinds:?}");
    assert!(kinds.contains(&&json!("reply")), "{kinds:?}");
    // Once only.
    app.post(&download).expect(404).await;
    app.get(&download).expect(404).await;
    // A forged or malformed link is the same 404.
    app.post(&format!("/preferences/download/hfdl_{}", "A".repeat(43)))
        .expect(404)
        .await;
    app.get("/preferences/download/nonsense").expect(404).await;

    assert_eq!(
        sink.messages()
            .iter()
            .filter(|m| m.text().contains("/preferences/download/"))
            .count(),
        1,
        "one link however often asked within minutes"
    );
    // Operators still export the full document, notes included.
    let full = app
        .get(&format!("/api/v1/contacts/{contact}/export"))
        .key(&ws.admin_key)
        .expect(200)
        .await;
    assert!(full.text.contains("goodwill discount"));
    // Both downloads are audited.
    let audit = app
        .get("/api/v1/audit?action=contact.exported")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert!(
        audit["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["summary"]
                .as_str()
                .is_some_and(|s| s.contains("preference_center"))),
        "{audit}"
    );
}

/// The download links mailed so far (newest last).
async fn download_links(sink: &SmtpSink, want: usize) -> Vec<String> {
    for _ in 0..400 {
        let links: Vec<String> = sink
            .messages()
            .iter()
            .filter(|m| m.text().contains("/preferences/download/"))
            .map(|m| token_of(&link(m, "/preferences/download/hfdl_")))
            .collect();
        if links.len() >= want {
            return links;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{want} download links were not mailed");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_data_download_link_works_for_one_hour_from_sending() {
    let sink = SmtpSink::start().await;
    let layer = holdfast_core::ops::config::Layer {
        smtp_url: Some(sink.url()),
        mail_from: Some("Acme Support <support@acme.example>".into()),
        worker: Some(true),
        ..Default::default()
    };
    let (app, clock) = TestApp::spawn_on_clock(layer, 2_208_988_800_000).await;
    let ws = app.workspace("consent-data-hour").await;
    let (ticket, _) = ticket_from(&app, &ws, "eli@example.com").await;
    reply(&app, &ws, &ticket, "Hello.").await;
    let mail = sink
        .wait_for("eli@example.com", Duration::from_secs(20))
        .await
        .unwrap();
    let page = format!(
        "/preferences/{}",
        token_of(&link(&mail, "/preferences/hfpc_"))
    );
    app.post(&format!("{page}/data")).expect(200).await;
    let first = download_links(&sink, 1).await[0].clone();
    clock.advance(3600 * 1000 + 1);
    app.get(&format!("/preferences/download/{first}"))
        .expect(404)
        .await;
    app.post(&format!("/preferences/download/{first}"))
        .expect(404)
        .await;
    // A new request, used within its hour.
    app.post(&format!("{page}/data")).expect(200).await;
    let second = download_links(&sink, 2).await[1].clone();
    assert_ne!(first, second);
    clock.advance(59 * 60 * 1000);
    let data = app
        .post(&format!("/preferences/download/{second}"))
        .expect(200)
        .await;
    assert!(data.text.contains("eli@example.com"));
}

/// The transport is private to `outreach` and every way out is known: this walks the source
/// tree so a new path to the mail relay (or a new caller of staff mail) fails until reviewed.
#[test]
fn every_sending_path_goes_through_the_choke_point() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    let mut stack = vec![root.clone(), root.join("../src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if path.is_dir() && name != "target" && name != "tests" && name != "node_modules" {
                stack.push(path);
            } else if name.ends_with(".rs") && path.to_string_lossy().contains("/src") {
                files.push(path);
            }
        }
    }
    assert!(
        files.len() > 50,
        "the walk found the sources ({})",
        files.len()
    );
    // `holdfast-app/src/outreach/mod.rs`: the crate's folder and the path inside it.
    let rel = |p: &std::path::Path| {
        let text = std::fs::canonicalize(p)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let at = text.rfind("/src/").unwrap();
        let krate = text[..at].rsplit('/').next().unwrap();
        format!("{krate}{}", &text[at..])
    };
    let mut found: Vec<(String, &str)> = Vec::new();
    let needles = [
        "lettre",
        "mail_outbox::unscoped_store",
        "JobKind::MailSend",
        "JobKind::MessageSend",
        "\"mail.send\"",
        "\"message.send\"",
        "send_staff_mail(",
        "queue_staff_mail(",
        "queue_to_contact(",
    ];
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for needle in needles {
            if text.contains(needle) {
                found.push((rel(file), needle));
            }
        }
    }
    let allowed = |file: &str, needle: &str| -> bool {
        match needle {
            // The transport itself.
            "lettre" | "mail_outbox::unscoped_store" => {
                file == "holdfast-app/src/outreach/transport.rs"
            }
            // Defined in the queue's rules, enqueued only by outreach, run by the worker.
            "\"mail.send\"" | "\"message.send\"" => file == "holdfast-core/src/ops/queue.rs",
            "JobKind::MailSend" | "JobKind::MessageSend" => matches!(
                file,
                "holdfast-core/src/ops/queue.rs"
                    | "holdfast-app/src/outreach/mod.rs"
                    | "holdfast-app/src/worker.rs"
            ),
            // Staff mail: password reset, invitations (from the API and the console), the
            // webhook alert to admins.
            "send_staff_mail(" | "queue_staff_mail(" => matches!(
                file,
                "holdfast-app/src/outreach/mod.rs"
                    | "holdfast-http/src/api/identity/auth.rs"
                    | "holdfast-app/src/identity/reset.rs"
                    | "holdfast-app/src/access/members.rs"
                    | "holdfast-app/src/webhooks/delivery.rs"
            ),
            // Customer messages: help-desk replies, double opt-in requests, the link to the
            // person's own data (asked from the preference center or the client portal),
            // invoice mail (transactional), and the client portal's sign-in link (asked for,
            // or an invitation from staff) and its password reset link.
            "queue_to_contact(" => matches!(
                file,
                "holdfast-app/src/outreach/mod.rs"
                    | "holdfast-app/src/portal/sign_in.rs"
                    | "holdfast-app/src/portal/password.rs"
                    | "holdfast-app/src/portal/access.rs"
                    | "holdfast-app/src/helpdesk/tickets.rs"
                    | "holdfast-app/src/invoicing/documents.rs"
                    | "holdfast-app/src/crm/consent.rs"
                    | "holdfast-app/src/privacy/subject.rs"
            ),
            _ => false,
        }
    };
    let strays: Vec<&(String, &str)> = found.iter().filter(|(f, n)| !allowed(f, n)).collect();
    assert!(
        strays.is_empty(),
        "mail paths outside the choke point: {strays:?}"
    );
    // The walk really saw the known paths (a broken walk would pass vacuously).
    for must in [
        ("holdfast-app/src/outreach/transport.rs", "lettre"),
        ("holdfast-app/src/helpdesk/tickets.rs", "queue_to_contact("),
        ("holdfast-app/src/identity/reset.rs", "send_staff_mail("),
    ] {
        assert!(
            found.iter().any(|(f, n)| f == must.0 && *n == must.1),
            "{must:?} not found in {found:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_csv_import_records_consent_through_the_same_path() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("consent-import").await;
    privacy(
        &app,
        &ws,
        json!({"mode": "gdpr", "double_opt_in": ["email"]}),
    )
    .await;
    let csv = "name,email,consent.email,consent.sms,do_not_contact\n\
               Ida,ida@example.com,yes,no,no\n\
               Max,max@example.com,maybe,,\n\
               Ola,ola@example.com,,,yes\n";
    // The dry run names the bad cell and stores nothing.
    let dry = app
        .post("/api/v1/contacts/imports?dry_run=true&mode=skip_invalid")
        .key(&ws.admin_key)
        .body("text/csv", csv)
        .expect(200)
        .await
        .json;
    assert!(dry.to_string().contains("consent.email"), "{dry}");
    let started = app
        .post("/api/v1/contacts/imports?mode=skip_invalid")
        .key(&ws.admin_key)
        .body("text/csv", csv)
        .expect(202)
        .await
        .json;
    let import = started["id"].as_str().unwrap().to_owned();
    let mut done = Value::Null;
    for _ in 0..400 {
        done = app
            .get(&format!("/api/v1/contacts/imports/{import}"))
            .key(&ws.admin_key)
            .expect(200)
            .await
            .json;
        if done["status"] == "done" || done["status"] == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(done["created"], 2, "{done}");
    assert_eq!(done["skipped"], 1, "{done}");

    let contacts = app
        .get("/api/v1/contacts?q=example.com")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    let id_of = |email: &str| -> String {
        contacts["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["email"] == email)
            .unwrap_or_else(|| panic!("{email} in {contacts}"))["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let ida = id_of("ida@example.com");
    let consent = consent_of(&app, &ws, &ida).await;
    // Double opt-in is on: the imported grant waits for Ida's confirmation.
    assert_eq!(consent["channels"]["email"]["status"], "pending");
    assert_eq!(consent["channels"]["email"]["source"], "import");
    assert_eq!(consent["channels"]["sms"]["status"], "denied");
    let log = consent_log(&app, &ws, &ida).await;
    assert_eq!(log.len(), 2, "{log:#?}");
    assert!(log.iter().all(|e| e["source"] == "import"));
    assert!(log[0]["actor"].as_str().unwrap().starts_with("key_"));
    assert!(
        log[0]["note"]
            .as_str()
            .unwrap()
            .starts_with(&format!("import {import}"))
    );
    let ola = id_of("ola@example.com");
    let consent = consent_of(&app, &ws, &ola).await;
    assert_eq!(consent["do_not_contact"], true);
}

/// A preference link is recorded when it is mailed, so it is accepted without the key that
/// made it: it keeps working after the token keys are rotated with no overlap (an unsubscribe
/// link in an old mail must keep working), and revoking the contact's links still ends it.
/// A database of its own: a token-key rotation is instance-wide.
#[tokio::test(flavor = "multi_thread")]
async fn a_mailed_preference_link_outlives_a_token_key_rotation_until_revoked() {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_alone_with(holdfast_core::ops::config::Layer {
        smtp_url: Some(sink.url()),
        mail_from: Some("Acme Support <support@acme.example>".into()),
        ..Default::default()
    })
    .await;
    let ws = app.workspace("prefs-rotate").await;
    let (ticket, contact) = ticket_from(&app, &ws, "lee@example.com").await;
    reply(&app, &ws, &ticket, "Your visit is booked.").await;
    let mail = sink
        .wait_for("lee@example.com", Duration::from_secs(20))
        .await
        .unwrap();
    let page = format!(
        "/preferences/{}",
        token_of(&link(&mail, "/preferences/hfpc_"))
    );
    app.get(&page).expect(200).await;

    holdfast_app::keys::rotate_tokens(app.app(), Duration::ZERO)
        .await
        .unwrap();
    app.get(&page).expect(200).await;
    app.post(&page)
        .body(
            "application/x-www-form-urlencoded",
            "email=denied&action=save",
        )
        .expect(200)
        .await;

    app.post(&format!(
        "/api/v1/contacts/{contact}/preference-links/revoke"
    ))
    .key(&ws.admin_key)
    .expect(200)
    .await;
    app.get(&page).expect(404).await;
}
