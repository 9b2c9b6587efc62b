//! Roles: built-in permission sets, custom roles, no escalation, and the guard matrix — every
//! staff route called as every built-in role and a custom role, observed against declared.

use crate::key_with_role;
use holdfast_core::access::policy::{BuiltinRole, Permission, PermissionSet, Role};
use holdfast_http::{Guard, route_table};
use holdfast_testkit::{Method, TestApp, Workspace};
use serde_json::json;

async fn custom_role(app: &TestApp, ws: &Workspace, name: &str, permissions: &[&str]) -> String {
    app.post("/api/v1/roles")
        .key(&ws.admin_key)
        .json(&json!({"name": name, "permissions": permissions}))
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn built_in_roles_are_listed_with_their_permissions_and_cannot_change() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("builtins").await;
    let list = app
        .get("/api/v1/roles")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    let data = list["data"].as_array().unwrap();
    for role in BuiltinRole::ALL {
        let listed = data
            .iter()
            .find(|r| r["id"] == role.as_str())
            .unwrap_or_else(|| panic!("{} missing", role.as_str()));
        assert_eq!(listed["builtin"], true);
        let expected: Vec<&str> = role
            .permissions()
            .to_vec()
            .iter()
            .map(|p| p.as_str())
            .collect();
        assert_eq!(listed["permissions"], json!(expected), "{}", role.as_str());
    }
    for path in ["/api/v1/roles/admin", "/api/v1/roles/owner"] {
        app.patch(path)
            .key(&ws.admin_key)
            .json(&json!({"name": "Renamed"}))
            .expect(403)
            .await;
        app.delete(path).key(&ws.admin_key).expect(403).await;
    }
    // client is reserved for the portal: never handed to staff credentials.
    for (path, body) in [
        ("/api/v1/api-keys", json!({"name": "c", "role": "client"})),
        (
            "/api/v1/invitations",
            json!({"email": "c@example.com", "role": "client"}),
        ),
    ] {
        let resp = app
            .post(path)
            .key(&ws.admin_key)
            .json(&body)
            .expect(422)
            .await;
        assert!(resp.text.contains("client portal"), "{}", resp.text);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_custom_role_grants_exactly_its_permissions_and_changes_take_effect_at_once() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("custom").await;
    let role = custom_role(&app, &ws, "Front desk", &["contacts.read"]).await;
    let (key, key_id) = key_with_role(&app, &ws, &role).await;
    app.get("/api/v1/contacts").key(&key).expect(200).await;
    app.post("/api/v1/contacts")
        .key(&key)
        .json(&json!({"name": "Not yet"}))
        .expect(403)
        .await
        .problem("HF-AUTH-003");

    let updated = app
        .patch(&format!("/api/v1/roles/{role}"))
        .key(&ws.admin_key)
        .json(&json!({"permissions": ["contacts.read", "contacts.write"]}))
        .expect(200)
        .await
        .json;
    assert_eq!(
        updated["permissions"],
        json!(["contacts.read", "contacts.write"])
    );
    app.post("/api/v1/contacts")
        .key(&key)
        .json(&json!({"name": "Now allowed"}))
        .expect(201)
        .await;

    // In use: not deletable until nobody holds it; a deleted role grants nothing.
    app.delete(&format!("/api/v1/roles/{role}"))
        .key(&ws.admin_key)
        .expect(409)
        .await
        .problem("HF-REQ-007");
    app.delete(&format!("/api/v1/api-keys/{key_id}"))
        .key(&ws.admin_key)
        .expect(204)
        .await;
    app.delete(&format!("/api/v1/roles/{role}"))
        .key(&ws.admin_key)
        .expect(204)
        .await;
    app.post("/api/v1/api-keys")
        .key(&ws.admin_key)
        .json(&json!({"name": "gone", "role": role}))
        .expect(422)
        .await
        .problem("HF-REQ-004");

    // Another workspace cannot use this workspace's roles.
    let other = app.workspace("custom-other").await;
    let foreign = custom_role(&app, &ws, "Foreign", &["contacts.read"]).await;
    app.post("/api/v1/api-keys")
        .key(&other.admin_key)
        .json(&json!({"name": "x", "role": foreign}))
        .expect(422)
        .await;
    app.patch(&format!("/api/v1/roles/{foreign}"))
        .key(&other.admin_key)
        .json(&json!({"name": "Stolen"}))
        .expect(404)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_roles_are_refused_with_the_field_named() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("badroles").await;
    custom_role(&app, &ws, "Dispatcher", &["jobs.read"]).await;
    for (body, field, status) in [
        (
            json!({"name": "X", "permissions": ["jobs.fly"]}),
            "permissions",
            422,
        ),
        (
            json!({"name": "X", "permissions": ["owners.manage"]}),
            "permissions",
            422,
        ),
        (json!({"name": "Admin", "permissions": []}), "name", 422),
        (json!({"name": "", "permissions": []}), "name", 422),
        (
            json!({"name": "Dispatcher", "permissions": []}),
            "name",
            409,
        ),
    ] {
        let resp = app
            .post("/api/v1/roles")
            .key(&ws.admin_key)
            .json(&body)
            .expect(status)
            .await;
        assert_eq!(resp.json["errors"][0]["field"], field, "{}", resp.text);
    }
    app.post("/api/v1/roles")
        .key(&ws.admin_key)
        .json(&json!({"name": "X", "permissions": "contacts.read"}))
        .expect(422)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn nobody_hands_out_a_permission_they_lack() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("noescalate").await;
    // A custom role that may manage roles and keys but not read the audit trail.
    let limited = custom_role(
        &app,
        &ws,
        "Key keeper",
        &["settings.security", "contacts.read"],
    )
    .await;
    let (key, _) = key_with_role(&app, &ws, &limited).await;
    app.post("/api/v1/roles")
        .key(&key)
        .json(&json!({"name": "Auditor", "permissions": ["audit.read"]}))
        .expect(403)
        .await;
    for role in ["admin", "manager"] {
        app.post("/api/v1/api-keys")
            .key(&key)
            .json(&json!({"name": "up", "role": role}))
            .expect(403)
            .await;
    }
    app.post("/api/v1/api-keys")
        .key(&key)
        .json(&json!({"name": "same", "role": limited}))
        .expect(201)
        .await;
    // Nor revokes a key that holds more than it does.
    let owner_key_id = app
        .get("/api/v1/api-keys")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["role"] == "admin")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.delete(&format!("/api/v1/api-keys/{owner_key_id}"))
        .key(&key)
        .expect(403)
        .await;
    app.get("/api/v1/contacts")
        .key(&ws.admin_key)
        .expect(200)
        .await;
    // Admins make admins but not owners.
    app.post("/api/v1/api-keys")
        .key(&ws.admin_key)
        .json(&json!({"name": "owner?", "role": "owner"}))
        .expect(403)
        .await;
}

/// Every staff route, as every built-in role and a custom role: allowed exactly when the role
/// holds the route's declared permission. A route without a declared permission cannot be
/// added (the route table takes a `Guard`), and new routes join this matrix automatically.
#[tokio::test(flavor = "multi_thread")]
async fn guard_matrix_matches_the_declared_permissions() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("matrix").await;
    let custom_permissions = ["contacts.read", "audit.read", "members.read"];
    let custom_id = custom_role(&app, &ws, "Matrix custom", &custom_permissions).await;
    let custom = Role::custom(
        custom_id.clone(),
        PermissionSet::of(
            &custom_permissions
                .iter()
                .map(|p| Permission::parse(p).unwrap())
                .collect::<Vec<_>>(),
        ),
    );
    let mut roles: Vec<(String, Role)> = BuiltinRole::ALL
        .iter()
        .filter(|r| **r != BuiltinRole::Client)
        .map(|r| (r.as_str().to_owned(), Role::builtin(*r)))
        .collect();
    roles.push((custom_id.clone(), custom));
    let mut keys = Vec::new();
    for (name, role) in &roles {
        let key = match role.builtin_role() {
            Some(builtin) => app.key(&ws.slug, builtin).await,
            None => key_with_role(&app, &ws, name).await.0,
        };
        keys.push((key, role.clone()));
    }
    // Fixtures nobody depends on, so allowed deletes harm nothing.
    let ids = |resource: &str| -> String {
        match resource {
            "contacts" => "ct_00000000000000000000000000000001".into(),
            "api-keys" => "key_00000000000000000000000000000001".into(),
            "members" => "mem_00000000000000000000000000000001".into(),
            "invitations" => "inv_00000000000000000000000000000001".into(),
            "roles" => "rol_00000000000000000000000000000001".into(),
            "webhooks" => "ep_00000000000000000000000000000001".into(),
            "tickets" => "tk_00000000000000000000000000000001".into(),
            "saved-replies" => "sr_00000000000000000000000000000001".into(),
            "attachments" => "att_00000000000000000000000000000001".into(),
            "messages" => "msg_00000000000000000000000000000001".into(),
            "inbound-hooks" => "stripe".into(),
            "sessions" => "ses_00000000000000000000000000000001".into(),
            "erasure-requests" => "erq_00000000000000000000000000000001".into(),
            "companies" => "co_00000000000000000000000000000001".into(),
            "contact-fields" => "matrix_field".into(),
            "imports" => "imp_00000000000000000000000000000001".into(),
            "jobs" => "job_00000000000000000000000000000001".into(),
            "invoices" => "ivc_00000000000000000000000000000001".into(),
            "payment-accounts" => "stripe".into(),
            other => panic!("no matrix fixture for {other}"),
        }
    };
    let mut checked = 0;
    for spec in route_table().specs() {
        let permission = match spec.guard {
            Guard::Staff { permission } | Guard::StaffStepUp { permission } => permission,
            _ => continue,
        };
        let mut path = spec.path.to_owned();
        for param in spec.path_params() {
            let resource = spec.resource_of(param);
            path = path.replace(&format!("{{{param}}}"), &ids(resource));
        }
        for (key, role) in &keys {
            let method = Method::from_bytes(spec.method.as_str().as_bytes()).unwrap();
            let mut call = if spec.doc.page {
                app.browser(method, &path).key(key)
            } else {
                app.call(method, &path).key(key)
            };
            if spec.doc.page && spec.path == "/app/settings/modules" {
                // Every module stays on, so the routes after this one still answer.
                call = call.body(
                    "application/x-www-form-urlencoded",
                    "module:helpdesk=on&module:crm=on&module:automation=on&module:field_service=on&module:invoicing=on",
                );
            } else if spec.doc.page && spec.method.as_str() == "POST" {
                call = call.body(
                    "application/x-www-form-urlencoded",
                    "kind=note&body=matrix&status=open&priority=normal&tags=",
                );
            } else if matches!(spec.method.as_str(), "POST" | "PATCH" | "PUT") {
                call = call.json(&json!({}));
            }
            let resp = call.send().await;
            // The API says so in its problem's detail; a console page in its text.
            let denied = resp.status == 403
                && (resp.json["detail"]
                    .as_str()
                    .is_some_and(|d| d.contains("lacks the permission"))
                    || spec.doc.page && resp.text.contains("lacks the permission"));
            assert_eq!(
                !denied,
                role.grants(permission),
                "{} {} as {}: declared {}, got {} {}",
                spec.method,
                spec.path,
                role.as_str(),
                permission.as_str(),
                resp.status,
                resp.text
            );
            assert_ne!(resp.status, 401, "{} {}", spec.method, spec.path);
            checked += 1;
        }
    }
    assert!(checked >= 20 * keys.len(), "only {checked} checks");
}
