//! Single sign-on against a real OpenID provider (`oidc-provider`, run with Node on 127.0.0.1):
//! discovery, code flow with PKCE, signed single-use state bound to the browser, ID-token
//! checks, JWKS caching and rotation, linking by verified email, invitations, and the account's
//! own second factor.

use holdfast_core::identity::oidc::{Expected, IdTokenError, Jwks, verify_id_token};
use holdfast_core::identity::totp;
use holdfast_core::ops::config::Layer;
use holdfast_testkit::oidc::{ClientSpec, Provider, ensure_installed};
use holdfast_testkit::{
    Console, OWNER_PASSWORD, TestApp, Workspace, base32_decode, free_port, unique,
};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::{Value, json};

const CLIENT_ID: &str = "holdfast-console";
const CLIENT_SECRET: &str = "a-long-random-client-secret-for-tests-only";

pub(crate) struct Sso {
    pub(crate) app: TestApp,
    idp: Provider,
    pub(crate) ws: Workspace,
    /// A browser that does not follow redirects, so each step can be inspected.
    browser: reqwest::Client,
}

pub(crate) async fn sso() -> Sso {
    ensure_installed().expect("the test OpenID provider's npm packages");
    let port = free_port();
    let app = TestApp::spawn_with(Layer {
        oidc_issuer: Some(format!("http://127.0.0.1:{port}")),
        oidc_client_id: Some(CLIENT_ID.into()),
        oidc_client_secret: Some(CLIENT_SECRET.into()),
        auth_rate_limit_per_minute: Some(60_000),
        ..Layer::default()
    })
    .await;
    let callback = format!("{}/api/v1/auth/oidc/callback", app.base);
    let idp = Provider::start_on(
        port,
        vec![
            ClientSpec::new(CLIENT_ID, CLIENT_SECRET, &callback),
            ClientSpec::new(
                "another-app",
                "another-secret-another-secret",
                "http://127.0.0.1:9/cb",
            ),
        ],
    )
    .await;
    let ws = app.workspace("sso").await;
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Sso {
        app,
        idp,
        ws,
        browser,
    }
}

/// The cookie `name=value` pair a response set, if any.
fn set_cookie(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
        .and_then(|c| c.split(';').next().map(str::to_owned))
}

fn location(resp: &reqwest::Response) -> String {
    resp.headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no Location on {}", resp.status()))
        .to_owned()
}

/// Where a sign-in stands after the provider: the callback URL and this browser's flow cookie.
struct Pending {
    callback: String,
    flow_cookie: String,
}

impl Sso {
    /// The provider's issuer URL.
    pub(crate) fn issuer(&self) -> String {
        self.idp.issuer()
    }

    /// The browser opens `start` and signs in at the provider as `login`.
    async fn through_provider(&self, start_query: &str, login: &str) -> Pending {
        let start = self
            .browser
            .get(format!(
                "{}/api/v1/auth/oidc/start?{start_query}",
                self.app.base
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(start.status(), 303, "{:?}", start.headers());
        let authorize = location(&start);
        assert!(
            authorize.starts_with(&self.idp.issuer()),
            "sent to the provider: {authorize}"
        );
        for param in [
            "code_challenge_method=S256",
            "code_challenge=",
            "nonce=",
            "state=",
            "response_type=code",
        ] {
            assert!(authorize.contains(param), "{param} missing: {authorize}");
        }
        let flow_cookie = set_cookie(&start, "__Host-hf_sso").expect("a flow cookie");
        let callback = self.idp.sign_in(&authorize, login).await.unwrap();
        assert!(
            callback.starts_with(&format!("{}/api/v1/auth/oidc/callback?", self.app.base)),
            "{callback}"
        );
        Pending {
            callback,
            flow_cookie,
        }
    }

    async fn callback(&self, url: &str, cookie: Option<&str>) -> reqwest::Response {
        let mut request = self.browser.get(url);
        if let Some(c) = cookie {
            request = request.header(COOKIE, c);
        }
        request.send().await.unwrap()
    }

    /// Completes a sign-in and returns the console session it started.
    async fn sign_in(&self, start_query: &str, login: &str) -> Console {
        let pending = self.through_provider(start_query, login).await;
        let done = self
            .callback(&pending.callback, Some(&pending.flow_cookie))
            .await;
        assert_eq!(
            done.status(),
            303,
            "{}",
            done.text().await.unwrap_or_default()
        );
        assert_eq!(location(&done), format!("{}/", self.app.base));
        let session_cookie = set_cookie(&done, "__Host-hf_session").expect("a session cookie");
        let csrf_token = set_cookie(&done, "__Host-hf_csrf")
            .and_then(|c| c.split_once('=').map(|(_, v)| v.to_owned()))
            .expect("a CSRF cookie");
        let sessions = self
            .app
            .get("/api/v1/auth/sessions")
            .header("cookie", &session_cookie)
            .expect(200)
            .await
            .json;
        Console {
            session_cookie,
            csrf_token,
            session_id: sessions["data"][0]["id"].as_str().unwrap().to_owned(),
        }
    }

    /// Through the provider to a sign-in the account must confirm: returns the confirm cookie.
    pub(crate) async fn held(&self, start_query: &str, login: &str) -> String {
        let pending = self.through_provider(start_query, login).await;
        let held = self
            .callback(&pending.callback, Some(&pending.flow_cookie))
            .await;
        assert_eq!(held.status(), 303);
        assert_eq!(
            location(&held),
            format!("{}/sign-in/confirm", self.app.base)
        );
        assert!(
            set_cookie(&held, "__Host-hf_session").is_none(),
            "no session before the account confirms"
        );
        set_cookie(&held, "__Host-hf_sso").expect("the confirmation cookie")
    }

    async fn complete(&self, cookie: &str, body: Value) -> holdfast_testkit::Resp {
        self.app
            .post("/api/v1/auth/oidc/complete")
            .header("cookie", cookie)
            .json(&body)
            .send()
            .await
    }

    /// The owner's first sign-in through the provider, confirmed with the password.
    async fn link_owner(&self) -> Console {
        let cookie = self
            .held(&format!("workspace={}", self.ws.slug), &self.ws.owner_email)
            .await;
        let done = self
            .complete(&cookie, json!({"password": OWNER_PASSWORD}))
            .await;
        assert_eq!(done.status, 200, "{}", done.text);
        Console::from_login(&done)
    }

    async fn refused(&self, url: &str, cookie: Option<&str>) -> Value {
        let resp = self.callback(url, cookie).await;
        assert_eq!(resp.status(), 401);
        assert!(set_cookie(&resp, "__Host-hf_session").is_none());
        let problem: Value = resp.json().await.unwrap();
        assert_eq!(problem["code"], "HF-AUTH-008", "{problem}");
        problem
    }

    pub(crate) async fn linked_identities(&self, email: &str) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM user_identities WHERE email = $1")
            .bind(email)
            .fetch_one(self.app.db.unscoped_pool())
            .await
            .unwrap()
    }
}

fn detail(problem: &Value) -> &str {
    problem["detail"].as_str().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_existing_account_is_linked_only_after_its_password_confirms() {
    let t = sso().await;
    let query = format!("workspace={}", t.ws.slug);
    let cookie = t.held(&query, &t.ws.owner_email).await;
    assert_eq!(
        t.linked_identities(&t.ws.owner_email).await,
        0,
        "a verified email only proposes the link"
    );
    let missing = t.complete(&cookie, json!({})).await;
    assert_eq!(missing.status, 422);
    assert_eq!(missing.json["errors"][0]["field"], "password");
    let wrong = t
        .complete(&cookie, json!({"password": "not the account's password"}))
        .await;
    assert_eq!(wrong.status, 401);
    assert_eq!(t.linked_identities(&t.ws.owner_email).await, 0);
    let done = t
        .complete(&cookie, json!({"password": OWNER_PASSWORD}))
        .await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(t.linked_identities(&t.ws.owner_email).await, 1);
    let replay = t
        .complete(&cookie, json!({"password": OWNER_PASSWORD}))
        .await;
    assert_eq!(replay.status, 401, "the confirmation is single-use");
    replay.problem("HF-AUTH-008");
    // The console session acts as the owner, CSRF rules included.
    let console = Console::from_login(&done);
    t.app
        .post("/api/v1/contacts")
        .console(&console)
        .json(&json!({"name": "Made after single sign-on"}))
        .expect(201)
        .await;

    // Later sign-ins use the link at once; discovery and keys come from the cache.
    t.sign_in(&query, &t.ws.owner_email).await;
    t.sign_in(&query, &t.ws.owner_email).await;
    assert_eq!(t.linked_identities(&t.ws.owner_email).await, 1);
    let stats = t.idp.stats().await;
    assert_eq!(
        (stats.discovery, stats.jwks, stats.token),
        (1, 1, 3),
        "{stats:?}"
    );
    let trail = t
        .app
        .get("/api/v1/audit?action=auth.sign_in")
        .key(&t.ws.admin_key)
        .expect(200)
        .await
        .json;
    let methods: Vec<String> = trail["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["summary"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        methods.iter().any(|m| m.contains("sso+password")),
        "{methods:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotated_provider_key_is_fetched_once_when_first_seen() {
    let mut t = sso().await;
    t.link_owner().await;
    t.idp.restart().await; // same issuer, a new signing key
    // Unknown key ids cause at most one refetch a second.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    t.sign_in(&format!("workspace={}", t.ws.slug), &t.ws.owner_email)
        .await;
    let stats = t.idp.stats().await;
    assert_eq!(stats.jwks, 1, "the unknown kid caused one fetch: {stats:?}");
    assert_eq!(stats.discovery, 0, "discovery stayed cached: {stats:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn forged_state_is_refused_and_leaves_the_real_sign_in_intact() {
    let t = sso().await;
    let pending = t
        .through_provider(&format!("workspace={}", t.ws.slug), &t.ws.owner_email)
        .await;
    let state = pending
        .callback
        .split("state=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned();
    let mut parts: Vec<String> = state.split('.').map(str::to_owned).collect();
    // 1. A flipped signature.
    let mut bad_sig = parts.clone();
    let last = bad_sig[2].pop().unwrap();
    bad_sig[2].push(if last == 'A' { 'B' } else { 'A' });
    // 2. Another flow's id in the payload, the original signature kept.
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
    payload["sub"] = json!("sso_0000000000000000000000000000000f");
    parts[1] = URL_SAFE_NO_PAD.encode(payload.to_string());
    // 3. A token of another type (an access token) in place of the state.
    let access = t.app.login(&t.ws).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    for forged in [bad_sig.join("."), parts.join("."), access, "garbage".into()] {
        let url = pending.callback.replace(&state, &forged);
        let problem = t.refused(&url, Some(&pending.flow_cookie)).await;
        assert!(detail(&problem).contains("forged"), "{problem}");
    }
    // None of that spent the real flow.
    let done = t
        .callback(&pending.callback, Some(&pending.flow_cookie))
        .await;
    assert_eq!(done.status(), 303);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replayed_callback_is_refused() {
    let t = sso().await;
    let pending = t
        .through_provider(&format!("workspace={}", t.ws.slug), &t.ws.owner_email)
        .await;
    let first = t
        .callback(&pending.callback, Some(&pending.flow_cookie))
        .await;
    assert_eq!(first.status(), 303);
    let problem = t
        .refused(&pending.callback, Some(&pending.flow_cookie))
        .await;
    assert!(detail(&problem).contains("already"), "{problem}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_callback_in_another_browser_is_refused() {
    let t = sso().await;
    let pending = t
        .through_provider(&format!("workspace={}", t.ws.slug), &t.ws.owner_email)
        .await;
    let problem = t.refused(&pending.callback, None).await;
    assert!(detail(&problem).contains("another browser"), "{problem}");
    let other_browser = "__Host-hf_sso=hfb_0000000000000000000000000000000000000000000";
    let problem = t.refused(&pending.callback, Some(other_browser)).await;
    assert!(detail(&problem).contains("another browser"), "{problem}");
    // Neither attempt burned the flow: the browser that started it still finishes.
    let done = t
        .callback(&pending.callback, Some(&pending.flow_cookie))
        .await;
    assert_eq!(done.status(), 303);
    assert_eq!(location(&done), format!("{}/sign-in/confirm", t.app.base));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unverified_email_neither_signs_in_nor_links() {
    let t = sso().await;
    let pending = t
        .through_provider(
            &format!("workspace={}", t.ws.slug),
            &format!("unverified:{}", t.ws.owner_email),
        )
        .await;
    let problem = t
        .refused(&pending.callback, Some(&pending.flow_cookie))
        .await;
    assert!(detail(&problem).contains("not verified"), "{problem}");
    assert_eq!(t.linked_identities(&t.ws.owner_email).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stranger_or_a_member_of_another_workspace_is_refused() {
    let t = sso().await;
    let stranger = format!("{}@example.com", unique("stranger"));
    let pending = t
        .through_provider(&format!("workspace={}", t.ws.slug), &stranger)
        .await;
    let problem = t
        .refused(&pending.callback, Some(&pending.flow_cookie))
        .await;
    assert!(detail(&problem).contains("invitation"), "{problem}");

    let other = t.app.workspace("elsewhere").await;
    let pending = t
        .through_provider(&format!("workspace={}", t.ws.slug), &other.owner_email)
        .await;
    t.refused(&pending.callback, Some(&pending.flow_cookie))
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_id_token_for_another_application_is_refused() {
    let t = sso().await;
    let jwks: Jwks = serde_json::from_value(t.idp.jwks_json().await).unwrap();
    let other = t.idp.clients()[1].clone();
    let token = t
        .idp
        .id_token_for(&other, &t.ws.owner_email, "nonce-for-the-other-app")
        .await;
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let issuer = t.idp.issuer();
    let expect = |client_id| Expected {
        issuer: &issuer,
        client_id,
        nonce: "nonce-for-the-other-app",
        now_s,
    };
    assert_eq!(
        verify_id_token(&token, &jwks, &expect(CLIENT_ID)),
        Err(IdTokenError::WrongAudience)
    );
    // The very same provider-signed token is otherwise valid: audience was the reason.
    let identity = verify_id_token(&token, &jwks, &expect("another-app")).unwrap();
    assert_eq!(identity.email, t.ws.owner_email);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invitee_joins_through_the_provider_with_the_invited_role() {
    let t = sso().await;
    let email = format!("{}@example.com", unique("newhire"));
    t.app
        .post("/api/v1/invitations")
        .key(&t.ws.admin_key)
        .json(&json!({"email": email, "role": "viewer"}))
        .expect(201)
        .await;
    let token = holdfast_testkit::find_token(&t.app.outbox_mail(&email).await, "hfi");

    // Signing in at the provider as someone else does not use the invitation.
    let pending = t
        .through_provider(
            &format!("invitation={token}"),
            &format!("{}@example.com", unique("intruder")),
        )
        .await;
    let problem = t
        .refused(&pending.callback, Some(&pending.flow_cookie))
        .await;
    assert!(detail(&problem).contains("another address"), "{problem}");

    let console = t.sign_in(&format!("invitation={token}"), &email).await;
    let members = t
        .app
        .get("/api/v1/members")
        .key(&t.ws.admin_key)
        .expect(200)
        .await
        .json;
    let joined = members["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == email.as_str())
        .expect("the invitee is a member");
    assert_eq!(joined["role"], "viewer");
    // A viewer reads but cannot write, through the console session as through any credential.
    t.app
        .get("/api/v1/contacts")
        .cookie(&console)
        .expect(200)
        .await;
    t.app
        .post("/api/v1/contacts")
        .console(&console)
        .json(&json!({"name": "Not allowed"}))
        .expect(403)
        .await;
    // The account has no password: password sign-in fails like any wrong password.
    t.app
        .post("/api/v1/auth/login")
        .json(&json!({"email": email, "password": OWNER_PASSWORD, "workspace": t.ws.slug}))
        .expect(401)
        .await;
    // The invitation is spent.
    let start = t
        .browser
        .get(format!(
            "{}/api/v1/auth/oidc/start?invitation={token}",
            t.app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_account_with_an_authenticator_must_still_give_its_code() {
    let t = sso().await;
    let access = t.app.login(&t.ws).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let enrol = t
        .app
        .post("/api/v1/auth/2fa/enroll")
        .key(&access)
        .json(&json!({"password": OWNER_PASSWORD}))
        .expect(200)
        .await
        .json;
    let secret = base32_decode(enrol["secret"].as_str().unwrap());
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let enrolled = t
        .app
        .post("/api/v1/auth/2fa/confirm")
        .key(&access)
        .json(&json!({"password": OWNER_PASSWORD, "code": totp::code_at(&secret, now_s).unwrap()}))
        .expect(200)
        .await
        .json;
    let recovery = enrolled["recovery_codes"][0].as_str().unwrap().to_owned();

    let recovery_again = enrolled["recovery_codes"][1].as_str().unwrap().to_owned();

    // First sign-in: the password links, and the code is still needed.
    let query = format!("workspace={}", t.ws.slug);
    let cookie = t.held(&query, &t.ws.owner_email).await;
    let without_code = t
        .complete(&cookie, json!({"password": OWNER_PASSWORD}))
        .await;
    assert_eq!(without_code.status, 401);
    without_code.problem("HF-AUTH-004");
    let wrong_code = t
        .complete(
            &cookie,
            json!({"password": OWNER_PASSWORD, "totp_code": "000000"}),
        )
        .await;
    assert_eq!(wrong_code.status, 401);
    let done = t
        .complete(
            &cookie,
            json!({"password": OWNER_PASSWORD, "totp_code": recovery}),
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.text);

    // Linked now: the provider and the code suffice, once per confirmation.
    let cookie = t.held(&query, &t.ws.owner_email).await;
    let no_cookie = t
        .app
        .post("/api/v1/auth/oidc/complete")
        .json(&json!({"totp_code": recovery_again}))
        .expect(401)
        .await;
    no_cookie.problem("HF-AUTH-008");
    let done = t
        .complete(&cookie, json!({"totp_code": recovery_again}))
        .await;
    assert_eq!(done.status, 200, "{}", done.text);
    let console = Console::from_login(&done);
    t.app
        .get("/api/v1/contacts")
        .cookie(&console)
        .expect(200)
        .await;
    let replay = t
        .complete(&cookie, json!({"totp_code": recovery_again}))
        .await;
    assert_eq!(replay.status, 401, "single-use");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_configuration_single_sign_on_is_absent_and_provider_errors_are_refused() {
    let app = TestApp::spawn().await;
    app.get("/api/v1/auth/oidc/start?workspace=acme")
        .expect(404)
        .await
        .problem("HF-REQ-005");

    let t = sso().await;
    let problem = t
        .refused(
            &format!(
                "{}/api/v1/auth/oidc/callback?error=access_denied&state=x",
                t.app.base
            ),
            None,
        )
        .await;
    assert!(detail(&problem).contains("access_denied"), "{problem}");
    t.app
        .get("/api/v1/auth/oidc/start")
        .expect(422)
        .await
        .problem("HF-REQ-004");
}
