//! The redaction canary: requests carry a distinctive email, phone number and API key in
//! every place a log might pick them up; the captured log must never contain them.

use holdfast_testkit::{TestApp, captured_logs};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn logs_never_contain_emails_phones_or_keys() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("canary").await;
    let email = "canary.zebra+leak@canary-domain.example";
    let phone = "+41 79 555 12 34";
    let phone_digits = "41795551234";
    let marker = "canary-request-7f3a";

    app.post("/api/v1/contacts")
        .key(&ws.admin_key)
        .header("x-request-id", marker)
        .json(&json!({"name": "Canary", "email": email, "phone": phone}))
        .expect(201)
        .await;
    app.get(&format!(
        "/api/v1/contacts?q={}",
        email.replace('+', "%2B").replace('@', "%40")
    ))
    .key(&ws.admin_key)
    .expect(200)
    .await;
    app.get(&format!("/api/v1/contacts?q={email}"))
        .key(&ws.admin_key)
        .expect(200)
        .await;
    app.get(&format!("/api/v1/contacts?q=%2B{phone_digits}"))
        .key(&ws.admin_key)
        .expect(200)
        .await;
    app.post("/api/v1/contacts")
        .key(&ws.admin_key)
        .json(&json!({"name": "Dup", "email": email}))
        .expect(409)
        .await;
    app.post("/api/v1/contacts")
        .key(&ws.admin_key)
        .json(&json!({"email": format!("{email}@@"), "phone": "+1 not a number"}))
        .expect(422)
        .await;
    app.get(&format!("/no/such/{email}/{}", ws.admin_key))
        .key(&ws.admin_key)
        .expect(404)
        .await;
    app.get("/api/v1/contacts")
        .header("authorization", &format!("Bearer {}x", ws.admin_key))
        .expect(401)
        .await;
    tracing::info!(
        "operator note: customer {email} called from {phone} using {}",
        ws.admin_key
    );

    let logs = captured_logs();
    assert!(
        logs.contains(marker),
        "the canary request was logged at all"
    );
    assert!(logs.contains("holdfast::access"), "access log present");
    let key_body = ws.admin_key.trim_start_matches("hf_live_");
    for (what, secret) in [
        ("email", email),
        ("email local part", "canary.zebra"),
        ("phone", phone),
        ("phone digits", phone_digits),
        ("api key", key_body),
    ] {
        assert!(!logs.contains(secret), "{what} leaked into the logs");
    }
    assert!(
        logs.contains("[email]") && logs.contains("[phone]") && logs.contains("hf_live_[redacted]")
    );
}
