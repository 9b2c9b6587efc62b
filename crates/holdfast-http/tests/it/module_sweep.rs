//! The module sweep: walks the route table and, for every module that has routes, turns the
//! module off in a workspace and proves every route declared in it answers 404 to a valid
//! credential of that workspace — then turns it back on and proves its routes answer again.
//! The route → module map is the one declaration in the route table (`spec.module`); a new
//! route joins this sweep by being declared in its module, and the prefix check below fails
//! a route that sits under a module's paths but was registered outside it.

use crate::contact;
use crate::method;
use holdfast_core::access::modules::Module;
use holdfast_http::table::RouteSpec;
use holdfast_http::{Guard, route_table};
use holdfast_testkit::{TestApp, Workspace};
use serde_json::json;
use std::collections::BTreeMap;

/// Where each module's routes live. A route under one of these prefixes must be declared in
/// that module, and a route declared in a module must sit under one of its prefixes.
const MODULE_PREFIXES: &[(&str, Module)] = &[
    // Who may sign in to the client portal: the portal's, though under a contact's path.
    ("/api/v1/contacts/{id}/portal", Module::ClientPortal),
    ("/api/v1/portal/", Module::ClientPortal),
    // The portal's own API (its sign-in request is public, so in no module).
    ("/api/portal/v1/", Module::ClientPortal),
    ("/portal/", Module::ClientPortal),
    // The signed-in customer's API (signing in is public, so outside any module).
    ("/api/portal/v1/", Module::ClientPortal),
    ("/app/contacts/{id}/portal", Module::ClientPortal),
    ("/app/settings/portal", Module::ClientPortal),
    ("/api/v1/contacts", Module::Crm),
    ("/api/v1/companies", Module::Crm),
    ("/api/v1/contact-fields", Module::Crm),
    ("/api/v1/privacy/", Module::Crm),
    ("/api/v1/settings/privacy", Module::Crm),
    ("/api/v1/tickets", Module::Helpdesk),
    ("/api/v1/saved-replies", Module::Helpdesk),
    ("/api/v1/events", Module::Helpdesk),
    ("/api/v1/widget", Module::Helpdesk),
    // The console's help-desk pages.
    ("/app/inbox", Module::Helpdesk),
    ("/app/tickets", Module::Helpdesk),
    // The console's CRM pages.
    ("/app/contacts", Module::Crm),
    ("/app/companies", Module::Crm),
    // The console's field-service pages.
    ("/app/jobs", Module::FieldService),
    ("/api/v1/webhooks", Module::Automation),
    ("/app/settings/webhooks", Module::Automation),
    ("/app/settings/inbound-hooks", Module::Automation),
    ("/app/settings/inbound-events", Module::Automation),
    ("/app/settings/widget", Module::Helpdesk),
    ("/app/settings/privacy", Module::Crm),
    ("/api/v1/inbound-hooks", Module::Automation),
    ("/api/v1/inbound-events", Module::Automation),
    ("/hooks/", Module::Automation),
    ("/api/v1/jobs", Module::FieldService),
    ("/api/v1/field-service/", Module::FieldService),
    ("/api/v1/invoices", Module::Invoicing),
    ("/api/v1/invoicing/", Module::Invoicing),
    // The console's invoicing pages.
    ("/app/invoices", Module::Invoicing),
    ("/app/payments", Module::Invoicing),
    ("/app/settings/invoicing", Module::Invoicing),
    ("/app/settings/payments", Module::Invoicing),
];

/// Client portal routes about another module's records: in the portal's module (a route can
/// be in one), and 404 from the application layer while the other module is off too.
const PORTAL_SECOND_MODULE: &[(&str, Module)] = &[
    ("/portal/{workspace_slug}/jobs", Module::FieldService),
    ("/api/portal/v1/jobs", Module::FieldService),
    ("/portal/{workspace_slug}/invoices", Module::Invoicing),
    ("/api/portal/v1/invoices", Module::Invoicing),
];

fn portal_second_module(spec: &RouteSpec) -> Option<Module> {
    (spec.guard == Guard::Portal)
        .then(|| {
            PORTAL_SECOND_MODULE
                .iter()
                .find(|(prefix, _)| spec.path.starts_with(prefix))
                .map(|(_, m)| *m)
        })
        .flatten()
}

/// The operator's billing receiver: the instance's, in no workspace's module.
const INSTANCE_PATHS: &[&str] = &["/hooks/billing/"];

fn prefix_module(path: &str) -> Option<Module> {
    if INSTANCE_PATHS.iter().any(|p| path.starts_with(p)) {
        return None;
    }
    MODULE_PREFIXES
        .iter()
        .find(|(prefix, _)| path.starts_with(prefix))
        .map(|(_, m)| *m)
}

#[test]
fn routes_under_a_modules_paths_are_declared_in_that_module() {
    let table = route_table();
    let mut wrong = Vec::new();
    for spec in table.specs() {
        let label = format!("{} {}", spec.method, spec.path);
        if spec.guard.is_public() {
            // A public route knows no workspace, so a module cannot take it away.
            if spec.module.is_some() {
                wrong.push(format!(
                    "{label}: public, so it cannot honour a module; declare it outside"
                ));
            }
            continue;
        }
        match (prefix_module(spec.path), spec.module) {
            (expected, declared) if expected == declared => {}
            (expected, declared) => wrong.push(format!(
                "{label}: declared in {:?}, its path belongs to {:?}",
                declared.map(Module::as_str),
                expected.map(Module::as_str)
            )),
        }
    }
    assert!(
        wrong.is_empty(),
        "routes in the wrong module:\n{}",
        wrong.join("\n")
    );
}

/// The portal customer of the sweep's workspace.
const PORTAL_CUSTOMER: &str = "module-sweep-customer@example.com";

/// Records of workspace `ws` that the routes' path parameters name, and a customer signed in
/// to its client portal with a request of their own (the `{id}` of the portal's routes).
struct Fixtures {
    ids: BTreeMap<(&'static str, &'static str), String>,
    slug: String,
    customer: crate::PortalCustomer,
    customer_ticket: String,
    /// The portal customer's own job and issued invoice, for the portal's `{id}` routes.
    portal_ids: BTreeMap<&'static str, String>,
}

impl Fixtures {
    async fn make(app: &TestApp, ws: &Workspace) -> Fixtures {
        let key = &ws.admin_key;
        let contact = contact(
            app,
            ws,
            json!({"name": "Module sweep", "email": "module-sweep@example.com"}),
        )
        .await;
        let id_of = |r: holdfast_testkit::Resp| r.json["id"].as_str().unwrap().to_owned();
        let company = id_of(
            app.post("/api/v1/companies")
                .key(key)
                .json(&json!({"name": "Sweep Co"}))
                .expect(201)
                .await,
        );
        app.post("/api/v1/contact-fields")
            .key(key)
            .json(&json!({"key": "sweep_field", "label": "Sweep", "type": "text"}))
            .expect(201)
            .await;
        let import = id_of(
            app.post("/api/v1/contacts/imports")
                .key(key)
                .body("text/csv", "name,email\nImported,imported@example.com\n")
                .expect(202)
                .await,
        );
        let erasure = id_of(
            app.post(&format!("/api/v1/contacts/{contact}/erasure-requests"))
                .key(key)
                .expect(201)
                .await,
        );
        let ticket = id_of(
            app.post("/api/v1/tickets")
                .key(key)
                .json(&json!({"subject": "Sweep", "contact": {"email": "module-sweep@example.com"}, "message": "hi"}))
                .expect(201)
                .await,
        );
        let reply = id_of(
            app.post("/api/v1/saved-replies")
                .key(key)
                .json(&json!({"name": "Sweep reply", "body": "Hello"}))
                .expect(201)
                .await,
        );
        let endpoint = id_of(
            app.post("/api/v1/webhooks")
                .key(key)
                .json(&json!({"url": "https://hooks.example.com/sweep", "event_types": ["contact.created"]}))
                .expect(201)
                .await,
        );
        let widget_key = crate::widget::enable(app, ws, &["https://shop.example.com"]).await;
        let job = id_of(
            app.post("/api/v1/jobs")
                .key(key)
                .json(&json!({"contact_id": contact, "title": "Sweep visit"}))
                .expect(201)
                .await,
        );
        let invoice = id_of(
            app.post("/api/v1/invoices")
                .key(key)
                .json(&json!({"contact_id": contact, "lines": [{"description": "Sweep", "quantity": "1", "unit_price": "1"}]}))
                .expect(201)
                .await,
        );
        let (customer_id, customer) =
            crate::portal_customer(app, ws, "Sweep customer", PORTAL_CUSTOMER).await;
        let customer_ticket = id_of(
            app.post("/api/v1/tickets")
                .key(key)
                .json(&json!({"subject": "Sweep request", "contact": {"email": PORTAL_CUSTOMER}, "message": "hi"}))
                .expect(201)
                .await,
        );
        let portal_ids = BTreeMap::from([
            (
                "jobs",
                crate::portal_billing::job_for(app, ws, &customer_id, "Portal sweep visit").await,
            ),
            (
                "invoices",
                crate::portal_billing::issued_for(app, ws, &customer_id, "Portal sweep").await,
            ),
        ]);
        let ids = BTreeMap::from([
            (("invoices", "id"), invoice),
            (("payment-accounts", "provider"), "stripe".to_owned()),
            (("contacts", "id"), contact),
            (("companies", "id"), company),
            (("contact-fields", "key"), "sweep_field".to_owned()),
            (("imports", "id"), import),
            (("erasure-requests", "id"), erasure),
            (("tickets", "id"), ticket),
            (("saved-replies", "id"), reply),
            (("webhooks", "id"), endpoint),
            (("inbound-hooks", "provider"), "stripe".to_owned()),
            (("widget", "key"), widget_key),
            (("jobs", "id"), job),
        ]);
        Fixtures {
            ids,
            slug: ws.slug.clone(),
            customer,
            customer_ticket,
            portal_ids,
        }
    }

    /// The route's path with this workspace's records in it; `None` for the signed receiver,
    /// whose path names a workspace by slug.
    fn path(&self, spec: &RouteSpec) -> Option<String> {
        let mut path = spec.path.to_owned();
        for param in spec.path_params() {
            let id = match (spec.resource_of(param), param) {
                ("attachments", "attachment_id") => {
                    "att_00000000000000000000000000000001".to_owned()
                }
                ("messages", "message_id") => "msg_00000000000000000000000000000001".to_owned(),
                ("files", "file_id") => "jf_00000000000000000000000000000001".to_owned(),
                ("sessions", "session_id") => "pses_00000000000000000000000000000001".to_owned(),
                ("hooks", "provider") => return None,
                // The client portal's pages name their workspace by slug.
                (_, "workspace_slug") if spec.guard == Guard::Portal => self.slug.clone(),
                // A portal customer's routes name their own records.
                ("tickets", "id") if spec.guard == Guard::Portal => self.customer_ticket.clone(),
                (_, "workspace_slug") => return None,
                // The customer's own records on the portal's routes.
                (resource, "id") if spec.guard == Guard::Portal => {
                    self.portal_ids.get(resource).cloned().unwrap_or_else(|| {
                        panic!(
                            "no portal fixture for {}: add one to the module sweep",
                            spec.path
                        )
                    })
                }
                key => self.ids.get(&key).cloned().unwrap_or_else(|| {
                    panic!(
                        "no fixture for {{{param}}} in {}: add one to the module sweep",
                        spec.path
                    )
                }),
            };
            path = path.replace(&format!("{{{param}}}"), &id);
        }
        Some(path)
    }

    /// Whether a GET of this route with the fixtures answers 200 when all is well: not for
    /// records the fixtures do not make, a visitor's conversation (it needs the visitor's
    /// token; `widget.rs`) or the event stream (it stays open).
    fn answers_when_on(spec: &RouteSpec) -> bool {
        spec.method == axum::http::Method::GET
            && !spec.path_params().iter().any(|p| {
                matches!(
                    *p,
                    "attachment_id" | "message_id" | "file_id" | "session_id"
                )
            })
            && !spec.path.ends_with("/conversation")
            && spec.doc.response_type != "text/event-stream"
    }
}

async fn call(
    app: &TestApp,
    ws: &Workspace,
    fixtures: &Fixtures,
    spec: &RouteSpec,
    path: &str,
) -> holdfast_testkit::Resp {
    let call = if spec.doc.page {
        app.browser(method(&spec.method), path)
    } else {
        app.call(method(&spec.method), path)
    };
    let call = match spec.guard {
        Guard::Widget { .. } => call.header("origin", "https://shop.example.com"),
        Guard::Portal => call
            .header("cookie", &fixtures.customer.cookie)
            .header("x-csrf-token", &fixtures.customer.csrf),
        _ => call.key(&ws.admin_key),
    };
    let call = if spec.doc.page && spec.method.as_str() == "POST" {
        call.body(
            "application/x-www-form-urlencoded",
            "kind=note&body=sweep&status=open&priority=normal&tags=",
        )
    } else if matches!(spec.method.as_str(), "POST" | "PATCH" | "PUT") {
        call.json(&json!({}))
    } else {
        call
    };
    call.send().await
}

fn set_modules(modules: &[Module]) -> serde_json::Value {
    json!({"enabled": modules.iter().map(|m| m.as_str()).collect::<Vec<_>>()})
}

#[tokio::test(flavor = "multi_thread")]
async fn every_route_of_a_module_answers_404_while_the_module_is_off() {
    let app = TestApp::spawn_with(holdfast_core::ops::config::Layer {
        // Every route, twice per module, with one key: the per-credential budget is not what
        // this sweep tests.
        api_rate_limit_per_minute: Some(1_000_000),
        ..crate::widget::layer()
    })
    .await;
    let ws = app.workspace("module-sweep").await;
    let mut fixtures = Fixtures::make(&app, &ws).await;
    let table = route_table();
    let mut by_module: BTreeMap<&'static str, (Module, Vec<&RouteSpec>)> = BTreeMap::new();
    for spec in table.specs() {
        if let Some(m) = spec.module {
            by_module
                .entry(m.as_str())
                .or_insert((m, Vec::new()))
                .1
                .push(spec);
        }
    }
    assert!(
        by_module.contains_key("crm") && by_module.contains_key("helpdesk"),
        "the sweep must see module routes"
    );
    let with_routes: Vec<Module> = by_module.values().map(|(m, _)| *m).collect();
    let mut swept = 0;
    for (name, (module, specs)) in &by_module {
        let others: Vec<Module> = with_routes
            .iter()
            .copied()
            .filter(|m| m != module)
            .collect();
        app.patch("/api/v1/modules")
            .key(&ws.admin_key)
            .json(&set_modules(&others))
            .expect(200)
            .await;
        for spec in specs {
            let label = format!("{} {} ({name} off)", spec.method, spec.path);
            let Some(path) = fixtures.path(spec) else {
                // The signed receiver answers every refusal, module off included, with the
                // same 401 so that it tells nothing about workspaces (`hooks.rs` proves it).
                assert_eq!(spec.guard, Guard::Signed, "{label}: no path to call");
                continue;
            };
            let r = call(&app, &ws, &fixtures, spec, &path).await;
            if spec.guard == Guard::Portal && !spec.path.contains("{workspace_slug}") {
                // Turning the portal off ended its customers' sessions (`portal.rs`), and a
                // portal API path names no workspace: no credential is left to answer to.
                r.problem("HF-AUTH-001");
                swept += 1;
                continue;
            }
            assert_eq!(r.status, 404, "{label} answered: {}", r.text);
            if spec.doc.page {
                // A console page refuses as a page, saying the same.
                assert_eq!(
                    r.header("content-security-policy"),
                    Some(holdfast_http::console::CSP),
                    "{label}"
                );
            } else {
                r.problem("HF-REQ-005");
            }
            if !matches!(spec.guard, Guard::Widget { .. }) {
                assert!(
                    r.text.contains(&format!("{name} module is off")),
                    "{label}: {}",
                    r.text
                );
            }
            swept += 1;
        }
        // The client portal's routes about this module's records are not there either.
        for spec in table
            .specs()
            .filter(|s| portal_second_module(s) == Some(*module))
        {
            let label = format!("{} {} ({name} off)", spec.method, spec.path);
            let path = fixtures.path(spec).unwrap();
            let r = call(&app, &ws, &fixtures, spec, &path).await;
            assert_eq!(r.status, 404, "{label} answered: {}", r.text);
            if !spec.doc.page {
                r.problem("HF-REQ-005");
            }
            assert!(
                r.text.contains(&format!("{name} module is off")),
                "{label}: {}",
                r.text
            );
            swept += 1;
        }
        // Back on: the same routes answer again (reads only, so nothing is spent).
        app.patch("/api/v1/modules")
            .key(&ws.admin_key)
            .json(&set_modules(&with_routes))
            .expect(200)
            .await;
        if *module == Module::ClientPortal {
            // Closing the portal ended its customers' sessions for good: sign in again.
            let path = crate::portal_link(&app, &ws, PORTAL_CUSTOMER).await;
            fixtures.customer = crate::portal_confirm(&app, &path).await;
        }
        for spec in specs {
            if !Fixtures::answers_when_on(spec) {
                continue;
            }
            let Some(path) = fixtures.path(spec) else {
                continue;
            };
            let label = format!("{} {} ({name} on)", spec.method, spec.path);
            let r = call(&app, &ws, &fixtures, spec, &path).await;
            assert_ne!(r.status, 404, "{label} answered: {}", r.text);
        }
    }
    assert!(swept >= 20, "swept only {swept} module routes");
}
