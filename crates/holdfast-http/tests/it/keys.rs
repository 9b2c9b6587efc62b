//! Key rotation while the server runs (`holdfast keys rotate-master`, `rotate-tokens`; the work
//! is `holdfast_app::keys`): every sealed value is re-sealed under the new master key and still
//! opens (a webhook delivery signs with its secret, a two-factor enrolment confirms), the old
//! key is refused afterwards, an interrupted rotation continues, and a token-key rotation keeps
//! old tokens and mailed links working through its overlap, then refuses them. Each test has a
//! database of its own: a rotation is instance-wide.

use crate::{ada, contact, webhook_endpoint};
use holdfast_app::keys::{self, Progress};
use holdfast_core::clock::{Clock, SharedClock, SystemClock};
use holdfast_core::ops::config::Layer;
use holdfast_store::ops::keys::{SEALED_COLUMNS, unscoped_all_workspaces};
use holdfast_testkit::python::standard_verify;
use holdfast_testkit::receiver::Receiver;
use holdfast_testkit::{OWNER_PASSWORD, TestApp, Workspace, base32_decode};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

/// Every sealed value in the database, as `column: value`.
async fn sealed_values(app: &TestApp) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for column in SEALED_COLUMNS {
        let (table, name) = column.name.split_once('.').unwrap();
        // Test-only SQL over the store's own table list (no input reaches it).
        let sql = format!("SELECT {name} FROM {table} WHERE {name} IS NOT NULL");
        let mut tx = app.db.unscoped_pool().begin().await.unwrap();
        if app.config.database_url.starts_with("postgres") {
            // Workspace tables are under row-level security: read each workspace's rows.
            for tenant in unscoped_all_workspaces(&app.db).await.unwrap() {
                sqlx::query("SELECT set_config('app.workspace_id', $1, true)")
                    .bind(tenant.workspace_id().as_str())
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                let values: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()))
                    .fetch_all(&mut *tx)
                    .await
                    .unwrap();
                out.extend(values.into_iter().map(|v| (column.name.to_owned(), v)));
            }
            out.sort();
            out.dedup();
        } else {
            let values: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .fetch_all(&mut *tx)
                .await
                .unwrap();
            out.extend(values.into_iter().map(|v| (column.name.to_owned(), v)));
        }
        tx.rollback().await.unwrap();
    }
    out
}

fn generations(values: &[(String, String)]) -> Vec<u32> {
    let mut g: Vec<u32> = values
        .iter()
        .map(|(_, v)| holdfast_core::crypto::generation_of(v).unwrap())
        .collect();
    g.sort_unstable();
    g.dedup();
    g
}

/// A fresh access token for the session of `token`, signed with the access-token key derived
/// from `master_key` (what whoever holds that key can make).
fn forge(master_key: &[u8], token: &str) -> String {
    use base64::Engine;
    use holdfast_core::identity::jwt::{Claims, KeyRing};
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    let mut claims: Claims = serde_json::from_slice(&bytes).unwrap();
    claims.iat = SystemClock.now_ms() / 1000;
    claims.exp = claims.iat + 600;
    KeyRing::derive(master_key, 1).sign(&claims)
}

fn loopback() -> Layer {
    Layer {
        outbound_allow: Some(vec!["127.0.0.1".into()]),
        ..Layer::default()
    }
}

fn system_clock() -> SharedClock {
    Arc::new(SystemClock)
}

/// Starts a two-factor enrolment for the owner (its secret sealed, not yet confirmed).
async fn start_enrolment(app: &TestApp, ws: &Workspace) -> (String, Vec<u8>) {
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
    (access, base32_decode(enrol["secret"].as_str().unwrap()))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_master_key_rotation_reseals_every_secret_while_the_server_keeps_working() {
    let app = TestApp::spawn_alone_with(loopback()).await;
    let ws = app.workspace("rotate").await;
    let receiver = Receiver::start().await;
    let (_, secret) = webhook_endpoint(
        &app,
        &ws,
        json!({"url": receiver.base, "event_types": ["contact.created"]}),
    )
    .await;
    let (access, totp_secret) = start_enrolment(&app, &ws).await;
    let before = sealed_values(&app).await;
    assert_eq!(generations(&before), vec![1]);
    let columns: Vec<&str> = before.iter().map(|(c, _)| c.as_str()).collect();
    for expected in [
        "user_totp.secret_sealed",
        "webhook_endpoints.secret_sealed",
        "token_keys.keys_sealed",
    ] {
        assert!(columns.contains(&expected), "{columns:?}");
    }

    // Every sealed column has its context in the application (no column is left behind).
    let tenants = unscoped_all_workspaces(&app.db).await.unwrap();
    for column in SEALED_COLUMNS {
        assert!(
            keys::context_of(column, tenants.first(), "stripe").is_some()
                || keys::context_of(column, tenants.first(), "1").is_some(),
            "{} has no sealing context",
            column.name
        );
    }

    // The control: a token made with the keys derived from the master key is accepted now.
    let forged = forge(&app.master_key(), &access);
    app.get("/api/v1/auth/sessions")
        .key(&forged)
        .expect(200)
        .await;

    let new_key: [u8; 32] = rand::random();
    let seen = Arc::new(Mutex::new(Vec::<Progress>::new()));
    let rotation = {
        let (db, old, seen) = (app.db.clone(), app.master_key(), seen.clone());
        tokio::spawn(async move {
            keys::rotate_master(
                &db,
                &system_clock(),
                &old,
                &new_key,
                Duration::from_secs(3),
                1,
                &mut |p| seen.lock().unwrap().push(p),
            )
            .await
        })
    };
    // While the rotation waits for servers to take up the new key, the server works on.
    contact(&app, &ws, ada()).await;
    let done = rotation.await.unwrap().expect("the rotation finishes");
    assert_eq!((done.from, done.to, done.resumed), (1, 2, false));
    assert_eq!(
        done.new_token_generation,
        Some(2),
        "generation 1 came from the old key"
    );
    assert!(done.old_copies_cleared);
    assert_eq!(done.total(), before.len() as u64, "{done:?}");
    assert_eq!(done.unreadable, 0);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.last().unwrap().done, done.total(), "{seen:?}");
    assert!(seen.len() > 2, "progress reported per batch: {seen:?}");

    let after = sealed_values(&app).await;
    assert_eq!(generations(&after), vec![2], "{after:?}");
    assert_eq!(after.len(), before.len());

    // The running server took the new key up from its wrap: it signs deliveries with the
    // re-sealed secret and confirms the enrolment with the re-sealed TOTP secret.
    keys::refresh(app.app()).await.unwrap();
    assert_eq!(app.app().sealer.generations(), vec![2]);
    contact(
        &app,
        &ws,
        json!({"name": "Grace Hopper", "email": "grace@example.com"}),
    )
    .await;
    let deliveries = receiver.wait_for(2, WAIT).await;
    for delivery in &deliveries {
        standard_verify(&secret, &delivery.headers, &delivery.body).expect("signed");
    }
    // Token keys derived from the retired key end with it: a token made with them (as whoever
    // holds the old key could) is refused, and so is the one signed before; a new sign-in works.
    for token in [forge(&app.master_key(), &access), access.clone()] {
        app.get("/api/v1/auth/sessions")
            .key(&token)
            .expect(401)
            .await;
    }
    let access = app.login(&ws).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let code =
        holdfast_core::identity::totp::code_at(&totp_secret, SystemClock.now_ms() / 1000).unwrap();
    app.post("/api/v1/auth/2fa/confirm")
        .key(&access)
        .json(&json!({"password": OWNER_PASSWORD, "code": code}))
        .expect(200)
        .await;

    // The old key is refused from now on, with what to do; the new one starts.
    let refused = holdfast_app::App::new(
        app.db.clone(),
        app.config.clone(),
        system_clock(),
        &app.master_key(),
    )
    .await
    .err()
    .expect("the retired key is refused");
    assert!(
        refused.contains("retired") && refused.contains("generation 2"),
        "{refused}"
    );
    let stranger: [u8; 32] = rand::random();
    let refused = holdfast_app::App::new(
        app.db.clone(),
        app.config.clone(),
        system_clock(),
        &stranger,
    )
    .await
    .err()
    .expect("a key the database does not know is refused");
    assert!(refused.contains("does not belong"), "{refused}");
    let restarted =
        holdfast_app::App::new(app.db.clone(), app.config.clone(), system_clock(), &new_key)
            .await
            .expect("the new key starts");
    assert_eq!(restarted.sealer.generations(), vec![2]);

    // Audited in the workspace's trail, at the start and at the end.
    let trail = app
        .get("/api/v1/audit?limit=100")
        .key(&ws.admin_key)
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
        actions.contains(&"keys.master_rotation_started")
            && actions.contains(&"keys.master_rotated"),
        "{actions:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_rotation_continues_and_wrong_keys_are_refused_with_what_to_do() {
    let app = TestApp::spawn_alone().await;
    let ws = app.workspace("resume").await;
    for n in 0..4 {
        webhook_endpoint(
            &app,
            &ws,
            json!({"url": format!("https://hooks{n}.example.com/in"), "event_types": ["contact.created"]}),
        )
        .await;
    }
    let old = app.master_key();
    let new_key: [u8; 32] = rand::random();
    let clock = system_clock();
    let quiet = |_: Progress| {};

    let same = keys::rotate_master(&app.db, &clock, &old, &old, Duration::ZERO, 1, &mut {
        quiet
    })
    .await
    .unwrap_err();
    assert!(same.contains("current master key"), "{same}");

    // Cut off after the first re-sealed value, as a crash would: the rotation waits in its
    // progress report until the test has aborted it, so it cannot run on to the end first on
    // a busy machine.
    let (first, cut) = tokio::sync::oneshot::channel::<()>();
    let first = Mutex::new(Some(first));
    let aborted = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let interrupted = {
        let db = app.db.clone();
        let clock = clock.clone();
        let aborted = aborted.clone();
        tokio::spawn(async move {
            keys::rotate_master(&db, &clock, &old, &new_key, Duration::ZERO, 1, &mut |p| {
                if p.done >= 1
                    && let Some(tx) = first.lock().unwrap().take()
                {
                    let _ = tx.send(());
                    let since = std::time::Instant::now();
                    while !aborted.load(std::sync::atomic::Ordering::SeqCst)
                        && since.elapsed() < Duration::from_secs(30)
                    {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                }
            })
            .await
        })
    };
    cut.await.unwrap();
    interrupted.abort();
    aborted.store(true, std::sync::atomic::Ordering::SeqCst);
    let _ = interrupted.await;
    let halfway = generations(&sealed_values(&app).await);
    assert_eq!(halfway, vec![1, 2], "some values moved, some not");

    // The running server opens both generations meanwhile.
    keys::refresh(app.app()).await.unwrap();
    assert_eq!(app.app().sealer.generations(), vec![2, 1]);

    let third: [u8; 32] = rand::random();
    let other = keys::rotate_master(&app.db, &clock, &old, &third, Duration::ZERO, 1, &mut {
        quiet
    })
    .await
    .unwrap_err();
    assert!(
        other.contains("unfinished") && other.contains("generation 2"),
        "{other}"
    );

    let done = keys::rotate_master(&app.db, &clock, &old, &new_key, Duration::ZERO, 2, &mut {
        quiet
    })
    .await
    .unwrap();
    assert!(done.resumed, "{done:?}");
    assert_eq!(generations(&sealed_values(&app).await), vec![2]);

    let again = keys::rotate_master(&app.db, &clock, &old, &third, Duration::ZERO, 1, &mut {
        quiet
    })
    .await
    .unwrap_err();
    assert!(again.contains("retired"), "{again}");
    let reused = keys::rotate_master(&app.db, &clock, &new_key, &old, Duration::ZERO, 1, &mut {
        quiet
    })
    .await
    .unwrap_err();
    assert!(reused.contains("never used again"), "{reused}");
}

/// Signs in and returns the access token.
async fn access_token(app: &TestApp, ws: &Workspace) -> String {
    app.login(ws).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn kid(token: &str) -> String {
    use base64::Engine;
    let header = token.split('.').next().unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .unwrap();
    serde_json::from_slice::<Value>(&bytes).unwrap()["kid"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_key_rotation_keeps_old_tokens_through_the_overlap_then_refuses_them() {
    let (app, clock) =
        TestApp::spawn_alone_on_clock(crate::generous_sign_in(), 1_800_000_000_000).await;
    let ws = app.workspace("tokens").await;
    let old = access_token(&app, &ws).await;
    assert_eq!(kid(&old), "v1");
    let me = |token: &str| app.get("/api/v1/auth/sessions").key(token).send();

    let done = keys::rotate_tokens(app.app(), Duration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!(done.generation, 2);
    let new = access_token(&app, &ws).await;
    assert_eq!(kid(&new), "v2", "the new generation signs");
    assert_eq!(
        me(&old).await.status,
        200,
        "the old generation verifies in the overlap"
    );
    assert_eq!(me(&new).await.status, 200);

    // The overlap ends: the old generation is retired (its keys wiped) at the next refresh.
    clock.advance(3_600_001);
    keys::refresh(app.app()).await.unwrap();
    let fresh_old = {
        // A token made with generation 1's key after its retirement is not accepted either.
        old.clone()
    };
    assert_eq!(me(&fresh_old).await.status, 401);
    assert_eq!(me(&new).await.status, 401, "expired by now");
    let newest = access_token(&app, &ws).await;
    assert_eq!(kid(&newest), "v2");
    assert_eq!(me(&newest).await.status, 200);
    let status = keys::status(&app.db, &app.app().clock).await.unwrap();
    assert!(
        status.contains(&"token keys generation 1: retired".to_owned())
            && status.contains(&"token keys generation 2: signs".to_owned()),
        "{status:?}"
    );

    // No overlap: every token signed until now stops at once.
    keys::rotate_tokens(app.app(), Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(me(&newest).await.status, 401);
    assert_eq!(kid(&access_token(&app, &ws).await), "v3");
}
