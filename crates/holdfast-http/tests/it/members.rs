//! Members and invitations: joining by mail, roles, the last owner, removal ending sessions.

use crate::make_key;
use holdfast_core::access::policy::BuiltinRole;
use holdfast_core::ops::config::Layer;
use holdfast_testkit::{OWNER_PASSWORD, SmtpSink, TestApp, Workspace, find_token};
use serde_json::{Value, json};
use std::time::Duration;

const INVITEE_PASSWORD: &str = "marble harbour seventeen kites";

fn invitation_token(text: &str) -> String {
    find_token(text, "hfi")
}

async fn invite(
    app: &TestApp,
    sink: &SmtpSink,
    ws: &Workspace,
    key: &str,
    email: &str,
    role: &str,
) -> String {
    app.post("/api/v1/invitations")
        .key(key)
        .json(&json!({"email": email, "role": role}))
        .expect(201)
        .await;
    let mail = sink
        .wait_for(email, Duration::from_secs(10))
        .await
        .expect("the invitation arrives over SMTP");
    assert!(mail.data.contains("Subject: You are invited to Holdfast"));
    let _ = ws;
    invitation_token(&mail.text())
}

fn member_with<'a>(list: &'a Value, email: &str) -> &'a Value {
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == email)
        .expect("member listed")
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invitee_sets_a_password_joins_with_the_role_and_the_token_is_spent() {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(Layer {
        smtp_url: Some(sink.url()),
        ..Layer::default()
    })
    .await;
    let ws = app.workspace("invite").await;
    let email = format!("new.hire@{}.example.com", ws.slug);
    let token = invite(&app, &sink, &ws, &ws.admin_key, &email, "support").await;
    let pending = app
        .get("/api/v1/invitations")
        .key(&ws.admin_key)
        .expect(200)
        .await;
    assert_eq!(pending.json["data"][0]["email"], email.as_str());

    app.post("/api/v1/invitations/accept")
        .json(&json!({"token": token, "password": "new hire"}))
        .expect(422)
        .await;
    let tokens = app
        .post("/api/v1/invitations/accept")
        .json(&json!({"token": token, "password": INVITEE_PASSWORD}))
        .expect(200)
        .await
        .json;
    let access = tokens["access_token"].as_str().unwrap();
    app.post("/api/v1/contacts")
        .key(access)
        .json(&json!({"name": "By the new hire"}))
        .expect(201)
        .await;
    app.get("/api/v1/api-keys").key(access).expect(403).await;
    let list = app
        .get("/api/v1/members")
        .key(access)
        .expect(200)
        .await
        .json;
    assert_eq!(member_with(&list, &email)["role"], "support");
    app.post("/api/v1/invitations/accept")
        .json(&json!({"token": token, "password": INVITEE_PASSWORD}))
        .expect(401)
        .await;
    let pending = app
        .get("/api/v1/invitations")
        .key(&ws.admin_key)
        .expect(200)
        .await;
    assert_eq!(pending.json["data"], json!([]));
    app.post("/api/v1/auth/login")
        .json(&json!({"email": email, "password": INVITEE_PASSWORD, "workspace": ws.slug}))
        .expect(200)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_existing_account_joins_only_with_its_own_password() {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(Layer {
        smtp_url: Some(sink.url()),
        ..Layer::default()
    })
    .await;
    let home = app.workspace("home").await;
    let other = app.workspace("other").await;
    let token = invite(
        &app,
        &sink,
        &other,
        &other.admin_key,
        &home.owner_email,
        "viewer",
    )
    .await;
    app.post("/api/v1/invitations/accept")
        .json(&json!({"token": token, "password": "somebody else's guess"}))
        .expect(401)
        .await;
    let tokens = app
        .post("/api/v1/invitations/accept")
        .json(&json!({"token": token, "password": OWNER_PASSWORD}))
        .expect(200)
        .await
        .json;
    let access = tokens["access_token"].as_str().unwrap();
    app.get("/api/v1/contacts").key(access).expect(200).await;
    app.post("/api/v1/contacts")
        .key(access)
        .json(&json!({"name": "No"}))
        .expect(403)
        .await;
    app.post("/api/v1/auth/login")
        .json(
            &json!({"email": home.owner_email, "password": OWNER_PASSWORD, "workspace": home.slug}),
        )
        .expect(200)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn roles_change_within_rank_and_the_last_owner_stays() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("roles").await;
    let owner_key = app.key(&ws.slug, BuiltinRole::Owner).await;
    let list = app
        .get("/api/v1/members")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    let owner = member_with(&list, &ws.owner_email)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/v1/members/{owner}");

    app.patch(&path)
        .key(&ws.admin_key)
        .json(&json!({"role": "support"}))
        .expect(403)
        .await
        .problem("HF-AUTH-003");
    let r = app
        .patch(&path)
        .key(&owner_key)
        .json(&json!({"role": "admin"}))
        .expect(409)
        .await;
    assert!(
        r.problem("HF-REQ-007")["detail"]
            .as_str()
            .unwrap()
            .contains("at least one owner")
    );
    app.delete(&path).key(&owner_key).expect(409).await;
    app.patch(&path)
        .key(&owner_key)
        .json(&json!({"role": "emperor"}))
        .expect(422)
        .await;
    app.post("/api/v1/invitations")
        .key(&ws.admin_key)
        .json(&json!({"email": "boss@example.com", "role": "owner"}))
        .expect(403)
        .await;
    let viewer = app.key(&ws.slug, BuiltinRole::Viewer).await;
    app.get("/api/v1/members").key(&viewer).expect(200).await;
    app.post("/api/v1/invitations")
        .key(&viewer)
        .json(&json!({"email": "x@example.com", "role": "viewer"}))
        .expect(403)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn removing_a_member_ends_their_sessions_at_once() {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(Layer {
        smtp_url: Some(sink.url()),
        ..Layer::default()
    })
    .await;
    let ws = app.workspace("remove").await;
    let email = format!("leaver@{}.example.com", ws.slug);
    let token = invite(&app, &sink, &ws, &ws.admin_key, &email, "support").await;
    let tokens = app
        .post("/api/v1/invitations/accept")
        .json(&json!({"token": token, "password": INVITEE_PASSWORD}))
        .expect(200)
        .await
        .json;
    let access = tokens["access_token"].as_str().unwrap();
    app.get("/api/v1/contacts").key(access).expect(200).await;

    let list = app
        .get("/api/v1/members")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    let id = member_with(&list, &email)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.patch(&format!("/api/v1/members/{id}"))
        .key(&ws.admin_key)
        .json(&json!({"role": "viewer"}))
        .expect(200)
        .await;
    app.post("/api/v1/contacts")
        .key(access)
        .json(&json!({"name": "Demoted"}))
        .expect(403)
        .await;
    app.delete(&format!("/api/v1/members/{id}"))
        .key(&ws.admin_key)
        .expect(204)
        .await;
    app.get("/api/v1/contacts").key(access).expect(401).await;
    app.post("/api/v1/auth/refresh")
        .json(&json!({"refresh_token": tokens["refresh_token"]}))
        .expect(401)
        .await;
    app.delete(&format!("/api/v1/members/{id}"))
        .key(&ws.admin_key)
        .expect(404)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn withdrawn_invitations_cannot_be_accepted() {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(Layer {
        smtp_url: Some(sink.url()),
        ..Layer::default()
    })
    .await;
    let ws = app.workspace("withdraw").await;
    let email = format!("maybe@{}.example.com", ws.slug);
    let token = invite(&app, &sink, &ws, &ws.admin_key, &email, "support").await;
    let id = app
        .get("/api/v1/invitations")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.delete(&format!("/api/v1/invitations/{id}"))
        .key(&ws.admin_key)
        .expect(204)
        .await;
    app.post("/api/v1/invitations/accept")
        .json(&json!({"token": token, "password": INVITEE_PASSWORD}))
        .expect(401)
        .await;
    let refresh = app.login(&ws).await["refresh_token"].clone();
    app.post("/api/v1/invitations/accept")
        .json(&json!({"token": refresh, "password": INVITEE_PASSWORD}))
        .expect(401)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_owners_demoted_at_once_leave_exactly_one_owner() {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(Layer {
        smtp_url: Some(sink.url()),
        ..Layer::default()
    })
    .await;
    let ws = app.workspace("owners").await;
    let owner_key = app.key(&ws.slug, BuiltinRole::Owner).await;
    let email = format!("co-owner@{}.example.com", ws.slug);
    let token = invite(&app, &sink, &ws, &owner_key, &email, "owner").await;
    app.post("/api/v1/invitations/accept")
        .json(&json!({"token": token, "password": INVITEE_PASSWORD}))
        .expect(200)
        .await;
    let list = app
        .get("/api/v1/members")
        .key(&owner_key)
        .expect(200)
        .await
        .json;
    let ids: Vec<String> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 2);
    let demotions = ids.iter().map(|id| {
        app.patch(&format!("/api/v1/members/{id}"))
            .key(&owner_key)
            .json(&json!({"role": "admin"}))
            .send()
    });
    let mut statuses: Vec<u16> = futures::future::join_all(demotions)
        .await
        .iter()
        .map(|r| r.status)
        .collect();
    statuses.sort_unstable();
    assert_eq!(statuses, vec![200, 409], "exactly one demotion may win");
    let after = app
        .get("/api/v1/members")
        .key(&owner_key)
        .expect(200)
        .await
        .json;
    let owners = after["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "owner")
        .count();
    assert_eq!(owners, 1);
}

/// An admin member who made an API key, signed in and stepped up; returns the member id, the
/// member's access token and the key's secret and id.
async fn member_with_a_key(
    app: &TestApp,
    ws: &Workspace,
    name: &str,
) -> (String, String, String, String) {
    let email = format!("{name}@{}.example.com", ws.slug);
    app.post("/api/v1/invitations")
        .key(&ws.admin_key)
        .json(&json!({"email": email, "role": "admin"}))
        .expect(201)
        .await;
    let token = invitation_token(&app.outbox_mail(&email).await);
    let tokens = app
        .post("/api/v1/invitations/accept")
        .json(&json!({"token": token, "password": INVITEE_PASSWORD}))
        .expect(200)
        .await
        .json;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    app.post("/api/v1/auth/step-up")
        .key(&access)
        .json(&json!({"password": INVITEE_PASSWORD}))
        .expect(204)
        .await;
    let key = app
        .post("/api/v1/api-keys")
        .key(&access)
        .json(&json!({"name": format!("{name}'s script"), "role": "support"}))
        .expect(201)
        .await
        .json;
    let secret = key["secret"].as_str().unwrap().to_owned();
    let key_id = key["id"].as_str().unwrap().to_owned();
    app.get("/api/v1/contacts").key(&secret).expect(200).await;
    let list = app
        .get("/api/v1/members")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    let id = member_with(&list, &email)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (id, access, secret, key_id)
}

/// The newest audit entry with this action.
async fn last_audit(app: &TestApp, ws: &Workspace, action: &str) -> Value {
    app.get(&format!("/api/v1/audit?action={action}"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json["data"][0]
        .clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn removing_a_member_revokes_the_api_keys_they_made() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("keys-leave").await;
    let (id, _, secret, key_id) = member_with_a_key(&app, &ws, "maker").await;
    app.delete(&format!("/api/v1/members/{id}"))
        .key(&ws.admin_key)
        .expect(204)
        .await;
    app.get("/api/v1/contacts").key(&secret).expect(401).await;
    // Keys the member did not make keep working.
    app.get("/api/v1/contacts")
        .key(&ws.admin_key)
        .expect(200)
        .await;
    // The list says who made each key.
    let listed = app
        .get("/api/v1/api-keys")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    let made = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == key_id.as_str())
        .unwrap()
        .clone();
    assert!(
        made["created_by"]
            .as_str()
            .is_some_and(|u| u.starts_with("usr_")),
        "{made}"
    );
    assert!(made["revoked_at"].is_i64(), "{made}");

    let removed = last_audit(&app, &ws, "member.removed").await;
    let summary: Value = serde_json::from_str(removed["summary"].as_str().unwrap()).unwrap();
    assert_eq!(summary["api_keys_revoked"], json!([key_id]), "{removed}");
    let revoked = last_audit(&app, &ws, "api_key.revoked").await;
    assert_eq!(revoked["entity_id"], key_id.as_str(), "{revoked}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_made_by_a_members_key_is_revoked_with_the_member() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("keys-chain").await;
    let (id, access, _, _) = member_with_a_key(&app, &ws, "chain").await;
    let parent = make_key(&app, &access, "chain's admin key", "admin").await["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let child = make_key(&app, &parent, "minted by the key", "support").await;
    assert_eq!(
        child["created_by"],
        make_key(&app, &access, "direct", "support").await["created_by"],
        "a key made by a key answers to the same member: {child}"
    );
    let child = child["secret"].as_str().unwrap().to_owned();
    app.get("/api/v1/contacts").key(&child).expect(200).await;
    app.delete(&format!("/api/v1/members/{id}"))
        .key(&ws.admin_key)
        .expect(204)
        .await;
    app.get("/api/v1/contacts").key(&parent).expect(401).await;
    app.get("/api/v1/contacts").key(&child).expect(401).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_remover_who_steps_up_may_keep_the_members_keys_and_the_audit_names_them() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("keys-kept").await;
    let (id, _, secret, key_id) = member_with_a_key(&app, &ws, "builder").await;

    // The owner, signed in but not stepped up, cannot remove anyone (keeping keys or not).
    let owner = app.login(&ws).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.delete(&format!("/api/v1/members/{id}?keep_api_keys=true"))
        .key(&owner)
        .expect(403)
        .await
        .problem("HF-AUTH-005");
    app.delete(&format!("/api/v1/members/{id}?keep_api_keys=maybe"))
        .key(&ws.admin_key)
        .expect(422)
        .await;
    app.post("/api/v1/auth/step-up")
        .key(&owner)
        .json(&json!({"password": OWNER_PASSWORD}))
        .expect(204)
        .await;
    app.delete(&format!("/api/v1/members/{id}?keep_api_keys=true"))
        .key(&owner)
        .expect(204)
        .await;
    app.get("/api/v1/contacts").key(&secret).expect(200).await;

    let removed = last_audit(&app, &ws, "member.removed").await;
    let summary: Value = serde_json::from_str(removed["summary"].as_str().unwrap()).unwrap();
    assert_eq!(summary["api_keys_kept"], json!([key_id]), "{removed}");
    assert_eq!(removed["actor_type"], "user");
}

#[tokio::test(flavor = "multi_thread")]
async fn demoting_a_member_revokes_their_keys_that_hold_more_than_the_new_role() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("keys-demote").await;
    // An admin made a support key (in member_with_a_key) and an admin key.
    let (id, access, support_secret, support_key) = member_with_a_key(&app, &ws, "demoted").await;
    let admin_key = make_key(&app, &access, "deploy script", "admin").await;
    let admin_secret = admin_key["secret"].as_str().unwrap().to_owned();
    let admin_key_id = admin_key["id"].as_str().unwrap().to_owned();
    app.get("/api/v1/members")
        .key(&admin_secret)
        .expect(200)
        .await;

    app.patch(&format!("/api/v1/members/{id}"))
        .key(&ws.admin_key)
        .json(&json!({"role": "support"}))
        .expect(200)
        .await;
    // The admin key outgrew its maker: gone. The support key is still within the new role.
    app.get("/api/v1/members")
        .key(&admin_secret)
        .expect(401)
        .await;
    app.get("/api/v1/contacts")
        .key(&support_secret)
        .expect(200)
        .await;

    let changed = last_audit(&app, &ws, "member.role_changed").await;
    let summary: Value = serde_json::from_str(changed["summary"].as_str().unwrap()).unwrap();
    assert_eq!(
        summary["api_keys_revoked"],
        json!([admin_key_id]),
        "{changed}"
    );
    let revoked = last_audit(&app, &ws, "api_key.revoked").await;
    assert_eq!(revoked["entity_id"], admin_key_id.as_str(), "{revoked}");
    assert_ne!(revoked["entity_id"], support_key.as_str());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_who_deletes_their_account_leaves_no_working_api_key() {
    // Leaving by deleting the account removes the member from every workspace: the keys they
    // made (and the keys those made) must end as with a removal, not outlive them unrevocable
    // by member removal.
    let app = TestApp::spawn().await;
    let ws = app.workspace("keys-self-delete").await;
    let (_, access, secret, _) = member_with_a_key(&app, &ws, "leaver").await;
    let admin_key = make_key(&app, &access, "the member's admin key", "admin").await["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let child = make_key(&app, &admin_key, "made by the member's key", "support").await["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post("/api/v1/auth/account/delete")
        .key(&access)
        .json(&json!({"password": INVITEE_PASSWORD}))
        .expect(204)
        .await;
    for key in [&secret, &admin_key, &child] {
        app.get("/api/v1/contacts").key(key).expect(401).await;
    }
    app.get("/api/v1/contacts")
        .key(&ws.admin_key)
        .expect(200)
        .await;
}
