//! TOTP two-factor sign-in: enrolment, single-use codes, recovery codes, secrets sealed at rest.

use holdfast_core::clock::ManualClock;
use holdfast_core::identity::totp;
use holdfast_testkit::{OWNER_PASSWORD, TestApp, Workspace, base32_decode, find_token};
use serde_json::{Value, json};

const NOW_MS: i64 = 1_800_000_000_000;

pub(crate) async fn setup() -> (TestApp, ManualClock, Workspace) {
    let (app, clock) = TestApp::spawn_on_clock(crate::generous_sign_in(), NOW_MS).await;
    let ws = app.workspace("twofa").await;
    (app, clock, ws)
}

pub(crate) fn code(secret: &[u8], clock: &ManualClock) -> String {
    use holdfast_core::clock::Clock;
    totp::code_at(secret, clock.now_ms() / 1000).unwrap()
}

async fn login(
    app: &TestApp,
    ws: &Workspace,
    password: &str,
    totp_code: Option<&str>,
) -> holdfast_testkit::Resp {
    let mut body = json!({"email": ws.owner_email, "password": password, "workspace": ws.slug});
    if let Some(c) = totp_code {
        body["totp_code"] = json!(c);
    }
    app.post("/api/v1/auth/login").json(&body).send().await
}

/// Enrols the owner; returns the secret and the recovery codes.
pub(crate) async fn enrol(
    app: &TestApp,
    clock: &ManualClock,
    ws: &Workspace,
) -> (Vec<u8>, Vec<String>, String) {
    let access = app.login(ws).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let enrol = app
        .post("/api/v1/auth/2fa/enroll")
        .key(&access)
        .json(&json!({"password": OWNER_PASSWORD}))
        .expect(200)
        .await
        .json;
    assert!(
        enrol["otpauth_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/Holdfast:")
    );
    assert!(enrol["qr_svg"].as_str().unwrap().contains("<svg"));
    let secret = base32_decode(enrol["secret"].as_str().unwrap());
    app.post("/api/v1/auth/2fa/confirm")
        .key(&access)
        .json(&json!({"password": OWNER_PASSWORD, "code": "000000"}))
        .expect(422)
        .await;
    let confirmed = app
        .post("/api/v1/auth/2fa/confirm")
        .key(&access)
        .json(&json!({"password": OWNER_PASSWORD, "code": code(&secret, clock)}))
        .expect(200)
        .await
        .json;
    let codes: Vec<String> = confirmed["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    clock.advance(30_000);
    (secret, codes, access)
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_in_needs_a_fresh_code_once_enrolled() {
    let (app, clock, ws) = setup().await;
    let (secret, recovery, _) = enrol(&app, &clock, &ws).await;

    let r = login(&app, &ws, "an entirely wrong password", None).await;
    assert_eq!(r.status, 401);
    r.problem("HF-AUTH-002");
    let r = login(&app, &ws, OWNER_PASSWORD, None).await;
    assert_eq!(r.status, 401);
    r.problem("HF-AUTH-004");
    assert_eq!(
        login(&app, &ws, OWNER_PASSWORD, Some("123456"))
            .await
            .status,
        401
    );

    let current = code(&secret, &clock);
    assert_eq!(
        login(&app, &ws, OWNER_PASSWORD, Some(&current))
            .await
            .status,
        200
    );
    assert_eq!(
        login(&app, &ws, OWNER_PASSWORD, Some(&current))
            .await
            .status,
        401,
        "a code works once"
    );
    clock.advance(30_000);
    assert_eq!(
        login(&app, &ws, OWNER_PASSWORD, Some(&code(&secret, &clock)))
            .await
            .status,
        200
    );

    assert_eq!(
        login(&app, &ws, OWNER_PASSWORD, Some(&recovery[3].to_uppercase()))
            .await
            .status,
        200
    );
    assert_eq!(
        login(&app, &ws, OWNER_PASSWORD, Some(&recovery[3]))
            .await
            .status,
        401,
        "a recovery code works once"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_secret_is_sealed_at_rest() {
    let (app, clock, ws) = setup().await;
    let (secret, _, _) = enrol(&app, &clock, &ws).await;
    let stored: String = sqlx::query_scalar("SELECT secret_sealed FROM user_totp")
        .fetch_all(app.db.unscoped_pool())
        .await
        .unwrap()
        .into_iter()
        .next()
        .unwrap();
    assert!(stored.starts_with("v1:"));
    assert!(!stored.contains(&totp::base32(&secret)));
    let codes: Vec<String> = sqlx::query_scalar("SELECT code_hash FROM recovery_codes")
        .fetch_all(app.db.unscoped_pool())
        .await
        .unwrap();
    assert!(
        codes.iter().all(|c| c.len() == 64),
        "recovery codes are stored as digests"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn disabling_needs_both_factors_and_reenrolling_needs_disabling() {
    let (app, clock, ws) = setup().await;
    let (secret, _, access) = enrol(&app, &clock, &ws).await;
    app.post("/api/v1/auth/2fa/enroll")
        .key(&access)
        .json(&json!({"password": OWNER_PASSWORD}))
        .expect(409)
        .await;
    let body = |password: &str, code: &str| json!({"password": password, "code": code});
    app.post("/api/v1/auth/2fa/disable")
        .key(&access)
        .json(&body("wrong password here", &code(&secret, &clock)))
        .expect(401)
        .await;
    app.post("/api/v1/auth/2fa/disable")
        .key(&access)
        .json(&body(OWNER_PASSWORD, "000000"))
        .expect(401)
        .await;
    app.post("/api/v1/auth/2fa/disable")
        .key(&access)
        .json(&body(OWNER_PASSWORD, &code(&secret, &clock)))
        .expect(204)
        .await;
    let r: Value = login(&app, &ws, OWNER_PASSWORD, None).await.json;
    assert!(r["access_token"].is_string(), "{r}");
    app.post("/api/v1/auth/2fa/enroll")
        .key(&access)
        .json(&json!({"password": OWNER_PASSWORD}))
        .expect(200)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sensitive_actions_need_a_recent_step_up_with_both_factors() {
    let (app, clock, ws) = setup().await;
    let (secret, _, _) = enrol(&app, &clock, &ws).await;
    let login = login(&app, &ws, OWNER_PASSWORD, Some(&code(&secret, &clock)))
        .await
        .json;
    let access = login["access_token"].as_str().unwrap().to_owned();
    clock.advance(30_000);
    let new_key = json!({"name": "ci", "role": "viewer"});
    app.post("/api/v1/api-keys")
        .key(&access)
        .json(&new_key)
        .expect(403)
        .await
        .problem("HF-AUTH-005");
    app.get("/api/v1/api-keys").key(&access).expect(200).await;

    let step_up = |password: &str, totp_code: Option<String>| json!({"password": password, "totp_code": totp_code});
    app.post("/api/v1/auth/step-up")
        .key(&access)
        .json(&step_up(
            "not my password at all",
            Some(code(&secret, &clock)),
        ))
        .expect(401)
        .await;
    app.post("/api/v1/auth/step-up")
        .key(&access)
        .json(&step_up(OWNER_PASSWORD, None))
        .expect(401)
        .await;
    app.post("/api/v1/auth/step-up")
        .key(&access)
        .json(&step_up(OWNER_PASSWORD, Some(code(&secret, &clock))))
        .expect(204)
        .await;
    app.post("/api/v1/api-keys")
        .key(&access)
        .json(&new_key)
        .expect(201)
        .await;

    clock.advance(10 * 60 * 1000);
    app.post("/api/v1/api-keys")
        .key(&access)
        .json(&new_key)
        .expect(403)
        .await
        .problem("HF-AUTH-005");
    // API keys have no password: their permission is enough.
    app.post("/api/v1/api-keys")
        .key(&ws.admin_key)
        .json(&new_key)
        .expect(201)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_workspace_can_require_two_factor_sign_in() {
    let (app, clock, ws) = setup().await;
    let r = app
        .patch("/api/v1/settings/security")
        .key(&ws.admin_key)
        .json(&json!({"require_2fa": true}))
        .expect(200)
        .await;
    assert_eq!(r.json["require_2fa"], true);
    app.patch("/api/v1/settings/security")
        .key(&ws.admin_key)
        .json(&json!({"name": ""}))
        .expect(422)
        .await;
    let viewer = app
        .key(&ws.slug, holdfast_core::access::policy::BuiltinRole::Viewer)
        .await;
    app.patch("/api/v1/settings/security")
        .key(&viewer)
        .json(&json!({"require_2fa": false}))
        .expect(403)
        .await;

    // Without an authenticator the owner may sign in, but only to enrol.
    let access = app.login(&ws).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.get("/api/v1/contacts")
        .key(&access)
        .expect(403)
        .await
        .problem("HF-AUTH-006");
    app.get("/api/v1/auth/sessions")
        .key(&access)
        .expect(200)
        .await;
    let (secret, _, _) = enrol(&app, &clock, &ws).await;
    let signed_in = login(&app, &ws, OWNER_PASSWORD, Some(&code(&secret, &clock)))
        .await
        .json;
    app.get("/api/v1/contacts")
        .key(signed_in["access_token"].as_str().unwrap())
        .expect(200)
        .await;

    // Invitees of such a workspace may choose shorter passwords (never under 8).
    let short = format!("short@{}.example.com", ws.slug);
    app.post("/api/v1/invitations")
        .key(&ws.admin_key)
        .json(&json!({"email": short, "role": "viewer"}))
        .expect(201)
        .await;
    let token = &find_token(&app.outbox_mail(&short).await, "hfi");
    app.post("/api/v1/invitations/accept")
        .json(&json!({"token": token, "password": "Qz7!mK2"}))
        .expect(422)
        .await;
    let joined = app
        .post("/api/v1/invitations/accept")
        .json(&json!({"token": token, "password": "Qz7!mK2#vB"}))
        .expect(200)
        .await
        .json;
    app.get("/api/v1/contacts")
        .key(joined["access_token"].as_str().unwrap())
        .expect(403)
        .await
        .problem("HF-AUTH-006");
}

#[tokio::test(flavor = "multi_thread")]
async fn joining_as_an_existing_account_needs_its_second_factor_too() {
    let (app, clock, home) = setup().await;
    let (secret, _, _) = enrol(&app, &clock, &home).await;
    let other = app.workspace("other-2fa").await;
    app.post("/api/v1/invitations")
        .key(&other.admin_key)
        .json(&json!({"email": home.owner_email, "role": "viewer"}))
        .expect(201)
        .await;
    let token = &find_token(&app.outbox_mail(&home.owner_email).await, "hfi");
    let r = app
        .post("/api/v1/invitations/accept")
        .json(&json!({"token": token, "password": OWNER_PASSWORD}))
        .expect(401)
        .await;
    r.problem("HF-AUTH-004");
    app.post("/api/v1/invitations/accept")
        .json(&json!({"token": token, "password": OWNER_PASSWORD, "totp_code": "000000"}))
        .expect(401)
        .await;
    let joined = app
        .post("/api/v1/invitations/accept")
        .json(&json!({"token": token, "password": OWNER_PASSWORD, "totp_code": code(&secret, &clock)}))
        .expect(200)
        .await
        .json;
    app.get("/api/v1/contacts")
        .key(joined["access_token"].as_str().unwrap())
        .expect(200)
        .await;
}

/// A stolen session (or access token) alone must not put the attacker's authenticator on the
/// account: enrolling and confirming need the password, and wrong ones count like sign-ins.
#[tokio::test(flavor = "multi_thread")]
async fn enrolling_an_authenticator_needs_the_password() {
    let (app, clock, ws) = setup().await;
    let access = app.login(&ws).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let enroll = |body: Value| app.post("/api/v1/auth/2fa/enroll").key(&access).json(&body);
    let refused = enroll(json!({})).send().await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert!(refused.text.contains("password"), "{}", refused.text);
    let wrong = enroll(json!({"password": "the attacker's guess"}))
        .expect(401)
        .await;
    wrong.problem("HF-AUTH-002");
    assert!(
        wrong.json["detail"].as_str().unwrap().contains("password"),
        "{}",
        wrong.text
    );
    let started = enroll(json!({"password": OWNER_PASSWORD}))
        .expect(200)
        .await
        .json;
    let secret = base32_decode(started["secret"].as_str().unwrap());

    let confirm = |body: Value| {
        app.post("/api/v1/auth/2fa/confirm")
            .key(&access)
            .json(&body)
    };
    confirm(json!({"code": code(&secret, &clock)}))
        .expect(422)
        .await;
    confirm(json!({"password": "the attacker's guess", "code": code(&secret, &clock)}))
        .expect(401)
        .await
        .problem("HF-AUTH-002");
    confirm(json!({"password": OWNER_PASSWORD, "code": code(&secret, &clock)}))
        .expect(200)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_passwords_at_enrolment_count_against_the_sign_in_throttle() {
    let (app, _clock, ws) = setup().await;
    let access = app.login(&ws).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    for _ in 0..6 {
        app.post("/api/v1/auth/2fa/enroll")
            .key(&access)
            .json(&json!({"password": "guessing again and again"}))
            .expect(401)
            .await;
    }
    app.post("/api/v1/auth/2fa/enroll")
        .key(&access)
        .json(&json!({"password": OWNER_PASSWORD}))
        .expect(429)
        .await;
    login(&app, &ws, OWNER_PASSWORD, None)
        .await
        .problem("HF-RATE-001");
}
