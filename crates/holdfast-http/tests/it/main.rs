//! Holdfast's HTTP scenario suite. Runs unchanged on SQLite (default) and on PostgreSQL
//! (`HOLDFAST_TEST_DATABASE_URL=postgres://…`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod account;
mod api_keys;
mod audit;
mod auth;
mod consent;
mod console;
mod contacts;
mod crm;
mod deletion;
mod docs;
mod edge;
mod events;
mod field_sweep;
mod fields;
mod guard_sweep;
mod hooks;
mod isolation;
mod layers;
mod limits;
mod logging;
mod members;
mod module_sweep;
mod oidc;
mod ops;
mod privacy;
mod proxies;
mod reset;
mod rls;
mod roles;
mod settings;
mod shutdown;
mod step_up_sweep;
mod ticket_search;
mod tickets;
mod tickets_desk;
mod two_factor;
mod webhook_recovery;
mod webhooks;
mod widget;
mod widget_browser;

use holdfast_testkit::{TestApp, Workspace};
use serde_json::{Value, json};

/// Creates a contact and returns its id.
pub async fn contact(app: &TestApp, ws: &Workspace, body: Value) -> String {
    app.post("/api/v1/contacts")
        .key(&ws.admin_key)
        .json(&body)
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

pub fn ada() -> Value {
    json!({"name": "Ada Lovelace", "email": "ada@example.com", "phone": "+44 20 7946 0958", "company": "Analytical", "tags": ["VIP"]})
}
