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

/// Every secret setting, each set to a distinctive canary: the app starts with them, the
/// configuration is logged whole and each value is logged outright, and none of the values
/// reaches the captured log. The settings come from one list in the configuration
/// (`Config::secrets`), so a new secret setting is covered once it is declared there.
#[tokio::test(flavor = "multi_thread")]
async fn every_configured_secret_stays_out_of_the_logs() {
    use holdfast_core::ops::config::{Config, Layer};
    let canaries = [
        ("smtp_url", "smtpCanaryPassw0rdQx81"),
        ("oidc_client_secret", "oidcCanaryClientSecretQx82"),
        ("cron_secret", "cronCanarySecret-Qx83-0123456789abcdef"),
        ("metrics_token", "metricsCanaryToken-Qx84-0123456789abcdef"),
        ("redis_url", "redisCanaryPassw0rdQx85"),
        ("database_url", "databaseCanaryPassw0rdQx86"),
    ];
    let value = |name: &str| canaries.iter().find(|(n, _)| *n == name).unwrap().1;
    let app = TestApp::spawn_with(Layer {
        smtp_url: Some(format!(
            "smtp://mailer:{}@127.0.0.1:2525",
            value("smtp_url")
        )),
        oidc_client_id: Some("canary-client".into()),
        oidc_client_secret: Some(value("oidc_client_secret").into()),
        oidc_issuer: Some("http://127.0.0.1:9".into()),
        cron_secret: Some(value("cron_secret").into()),
        metrics_token: Some(value("metrics_token").into()),
        ..Layer::default()
    })
    .await;
    // Redis and PostgreSQL need their servers to start an app; the same one path registers
    // them from a resolved configuration as `holdfast serve` does.
    let services = Config::resolve([Layer {
        redis_url: Some(format!("redis://:{}@127.0.0.1:6379/0", value("redis_url"))),
        database_url: Some(format!(
            "postgres://holdfast:{}@127.0.0.1:5432/holdfast",
            value("database_url")
        )),
        ..Layer::default()
    }])
    .unwrap();
    services.register_secrets();
    let names: Vec<&str> = app
        .config
        .secrets()
        .into_iter()
        .chain(services.secrets())
        .map(|(name, _)| name)
        .collect();
    for (name, canary) in canaries {
        tracing::info!("{name} is {canary}");
    }
    tracing::info!(config = ?app.config, services = ?services, "configuration");
    tracing::warn!(
        smtp = app.config.smtp_url.as_deref().unwrap_or_default(),
        redis = services.redis_url.as_deref().unwrap_or_default(),
        database = %services.database_url,
        "outside services"
    );
    let logs = captured_logs();
    assert!(logs.contains("outside services"), "the lines were logged");
    for (name, canary) in canaries {
        assert!(!logs.contains(canary), "{name} leaked into the logs");
    }
    for (name, _) in canaries {
        assert!(
            names.contains(&name),
            "{name} is not among the secrets: {names:?}"
        );
    }
}
