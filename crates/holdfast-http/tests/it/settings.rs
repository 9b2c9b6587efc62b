//! Modules and the security policy: admin-gated (settings.security + step-up), audited, and a
//! module that is off takes its routes away.

use holdfast_core::access::policy::BuiltinRole;
use holdfast_testkit::{TestApp, Workspace};
use serde_json::{Value, json};

async fn modules(app: &TestApp, ws: &Workspace) -> Value {
    app.get("/api/v1/modules")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json
}

fn enabled(list: &Value, module: &str) -> bool {
    list.as_array()
        .unwrap()
        .iter()
        .find(|m| m["module"] == module)
        .unwrap()["enabled"]
        .as_bool()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_module_turned_off_takes_its_routes_away_for_everyone() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("modules").await;
    let owner = app.key(&ws.slug, BuiltinRole::Owner).await;
    let listed = modules(&app, &ws).await;
    assert!(enabled(&listed, "crm") && enabled(&listed, "helpdesk"));
    let id = app
        .post("/api/v1/contacts")
        .key(&owner)
        .json(&json!({"name": "Kept while off"}))
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let without_crm = json!({"enabled": ["helpdesk", "automation"]});
    let after = app
        .patch("/api/v1/modules")
        .key(&ws.admin_key)
        .json(&without_crm)
        .expect(200)
        .await
        .json;
    assert!(!enabled(&after, "crm"));
    for path in [
        "/api/v1/contacts".to_owned(),
        format!("/api/v1/contacts/{id}"),
    ] {
        let resp = app.get(&path).key(&owner).expect(404).await;
        assert!(
            resp.problem("HF-REQ-005")["detail"]
                .as_str()
                .unwrap()
                .contains("crm module is off"),
            "{}",
            resp.text
        );
    }
    app.get("/api/v1/members").key(&owner).expect(200).await;

    app.patch("/api/v1/modules")
        .key(&ws.admin_key)
        .json(&json!({"enabled": ["crm"]}))
        .expect(200)
        .await;
    let back = app
        .get(&format!("/api/v1/contacts/{id}"))
        .key(&owner)
        .expect(200)
        .await;
    assert_eq!(back.json["name"], "Kept while off", "nothing was lost");

    let trail = app
        .get("/api/v1/audit?action=modules.changed")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    assert_eq!(trail["data"].as_array().unwrap().len(), 2);
    let summary: Value =
        serde_json::from_str(trail["data"][1]["summary"].as_str().unwrap()).unwrap();
    assert_eq!(summary["after"], json!(["helpdesk", "automation"]));

    let openapi = app.get("/api/v1/openapi.json").expect(200).await.json;
    assert_eq!(
        openapi["paths"]["/api/v1/contacts"]["get"]["x-holdfast-module"],
        "crm"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sensitive_settings_need_settings_security_and_name_bad_values() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("secsettings").await;
    let manager = app.key(&ws.slug, BuiltinRole::Manager).await;
    for (path, body) in [
        ("/api/v1/modules", json!({"enabled": []})),
        ("/api/v1/settings/security", json!({"require_2fa": true})),
    ] {
        app.patch(path)
            .key(&manager)
            .json(&body)
            .expect(403)
            .await
            .problem("HF-AUTH-003");
    }
    assert!(enabled(&modules(&app, &ws).await, "crm"), "nothing changed");
    let resp = app
        .patch("/api/v1/modules")
        .key(&ws.admin_key)
        .json(&json!({"enabled": ["crm", "telepathy"]}))
        .expect(422)
        .await;
    assert_eq!(resp.json["errors"][0]["field"], "enabled");
    assert!(resp.text.contains("telepathy"));
    // The security policy has its own, step-up gated route; renaming does not carry it.
    app.patch("/api/v1/workspace")
        .key(&ws.admin_key)
        .json(&json!({"name": "Renamed", "require_2fa": true}))
        .expect(422)
        .await;
    let changed = app
        .patch("/api/v1/settings/security")
        .key(&ws.admin_key)
        .json(&json!({"require_2fa": true}))
        .expect(200)
        .await
        .json;
    assert_eq!(changed["require_2fa"], true);
    let trail = app
        .get("/api/v1/audit?action=security.settings_changed")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json;
    let summary: Value =
        serde_json::from_str(trail["data"][0]["summary"].as_str().unwrap()).unwrap();
    assert_eq!(summary["before"]["require_2fa"], false);
    assert_eq!(summary["after"]["require_2fa"], true);
    assert_eq!(summary["after"]["console_idle_minutes"], 480);
    for (body, field) in [
        (json!({"console_idle_minutes": 1}), "console_idle_minutes"),
        (json!({"console_max_hours": 0}), "console_max_hours"),
        (json!({"console_max_hours": 10000}), "console_max_hours"),
    ] {
        let resp = app
            .patch("/api/v1/settings/security")
            .key(&ws.admin_key)
            .json(&body)
            .expect(422)
            .await;
        assert_eq!(resp.json["errors"][0]["field"], field);
    }
}

/// A module is offered only once it has routes: the listing is derived from the route table,
/// and turning on a module with nothing behind it is refused with the reason.
#[tokio::test(flavor = "multi_thread")]
async fn only_modules_with_routes_are_listed_and_can_be_turned_on() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("module-offer").await;
    let mut with_routes: Vec<&str> = holdfast_http::route_table()
        .specs()
        .filter_map(|s| s.module.map(|m| m.as_str()))
        .collect();
    with_routes.sort_unstable();
    with_routes.dedup();
    let listed = modules(&app, &ws).await;
    let mut names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["module"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, with_routes, "listed: {listed}");
    assert!(names.contains(&"field_service"), "jobs are offered");
    assert!(names.contains(&"invoicing"), "invoices are offered");
    assert!(
        names.contains(&"client_portal"),
        "the client portal is offered"
    );
    for empty in ["ai_assistant", "agent_door"] {
        assert!(
            !names.contains(&empty),
            "{empty} is listed with nothing behind it"
        );
        let resp = app
            .patch("/api/v1/modules")
            .key(&ws.admin_key)
            .json(&json!({"enabled": ["crm", empty]}))
            .expect(422)
            .await;
        assert_eq!(resp.json["errors"][0]["field"], "enabled");
        let detail = resp.json["detail"].as_str().unwrap_or_default();
        assert!(
            detail.contains(empty) && detail.contains("not available yet"),
            "{}",
            resp.text
        );
    }
    // Every module that is offered is on in a new workspace (none of them is opt-in today).
    for m in listed.as_array().unwrap() {
        assert_eq!(m["enabled"], true, "{m}");
    }
    assert!(enabled(&modules(&app, &ws).await, "crm"), "nothing changed");
}
