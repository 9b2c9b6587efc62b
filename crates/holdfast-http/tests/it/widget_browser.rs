//! The website widget in a real headless Chromium (`tests/browser/widget.mjs`, playwright-core
//! driving the system's `/usr/bin/chromium`): a page served from a second local server (another
//! origin) embeds `/widget.js`; a person's message becomes a ticket in the right workspace, a
//! staff reply shows up in the widget, and a page on an origin that is not allowed is refused
//! with nothing stored. Skipped with a note when Chromium, Node.js or the npm packages are
//! missing, except under `CI=true`, where that fails.

use crate::ticket_list;
use crate::widget::enable;
use holdfast_testkit::TestApp;
use serde_json::{Value, json};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const CHROMIUM: &str = "/usr/bin/chromium";

pub(crate) fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser")
}

/// `Some(reason)` when the browser test cannot run here.
pub(crate) fn missing() -> Option<String> {
    if !Path::new(CHROMIUM).is_file() {
        return Some(format!("{CHROMIUM} is missing (apt-get install chromium)"));
    }
    let node = Command::new("node")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !node {
        return Some("node is not on PATH (apt-get install nodejs npm)".into());
    }
    if !browser_dir()
        .join("node_modules/playwright-core/package.json")
        .is_file()
    {
        return Some(
            "tests/browser/node_modules is missing (npm ci --prefix tests/browser)".into(),
        );
    }
    None
}

/// Serves one HTML page that embeds the widget, on its own port (its own origin).
async fn page_server(app_base: &str, key: &str) -> String {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Shop</title></head>\
         <body><h1>A shop</h1><p>Questions? Use the chat.</p>\
         <script src=\"{app_base}/widget.js\" data-key=\"{key}\" async></script></body></html>"
    );
    let router = axum::Router::new().route(
        "/",
        axum::routing::get(move || {
            let html = html.clone();
            async move { axum::response::Html(html) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{addr}")
}

/// Runs the node script; yields each JSON line it prints.
fn run_script(
    page: &str,
    message: &str,
    reply: Option<&str>,
) -> (
    std::process::Child,
    tokio::sync::mpsc::UnboundedReceiver<Value>,
) {
    let mut cmd = Command::new("node");
    cmd.current_dir(browser_dir())
        .arg("widget.mjs")
        .arg(page)
        .env("HF_MESSAGE", message)
        .env("HF_NAME", "Browser Visitor")
        .env("HF_EMAIL", "visitor@example.com")
        .env("HF_TIMEOUT_MS", "30000")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some(reply) = reply {
        cmd.env("HF_REPLY_TEXT", reply);
    }
    let mut child = cmd.spawn().expect("cannot start node widget.mjs");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            match serde_json::from_str::<Value>(&line) {
                Ok(v) => {
                    let _ = tx.send(v);
                }
                Err(_) => eprintln!("widget.mjs: {line}"),
            }
        }
    });
    (child, rx)
}

async fn next_event(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Value>) -> Value {
    tokio::time::timeout(Duration::from_secs(90), rx.recv())
        .await
        .expect("the browser script said nothing for 90 s")
        .expect("the browser script ended without a result")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_person_on_an_allowed_site_chats_through_the_widget_in_chromium() {
    if let Some(why) = missing() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("the browser test cannot run under CI=true: {why}");
        }
        eprintln!("SKIPPED widget browser test: {why}");
        return;
    }
    let app = TestApp::spawn_with(holdfast_core::ops::config::Layer {
        widget_min_fill_seconds: Some(1),
        ..holdfast_core::ops::config::Layer::default()
    })
    .await;
    let ws = app.workspace("widget-browser").await;
    let bystander = app.workspace("widget-bystander").await;
    // The widget's key is needed for the page; the origin is known once the page server runs.
    let key = enable(&app, &ws, &[]).await;
    let page = page_server(&app.base, &key).await;
    enable(&app, &ws, &[page.as_str()]).await;
    enable(&app, &bystander, &[page.as_str()]).await;

    let typed = "My parcel never arrived, order 4471";
    let reply = "Sorry about that — a new parcel ships today.";
    let (mut child, mut events) = run_script(&format!("{page}/"), typed, Some(reply));
    let first = next_event(&mut events).await;
    assert_eq!(
        first["event"], "sent",
        "the widget did not confirm: {first}"
    );

    // The message is a ticket in this workspace, from the widget.
    let list = ticket_list(&app, &ws).await;
    assert_eq!(list.len(), 1, "{list:?}");
    let ticket = &list[0];
    assert_eq!(ticket["channel"], "widget");
    let id = ticket["id"].as_str().unwrap();
    let thread = app
        .get(&format!("/api/v1/tickets/{id}"))
        .key(&ws.admin_key)
        .expect(200)
        .await;
    assert_eq!(thread.json["messages"][0]["body"], typed);
    assert!(ticket_list(&app, &bystander).await.is_empty());

    // The team answers; the visitor sees it in the widget (it polls).
    app.post(&format!("/api/v1/tickets/{id}/notes"))
        .key(&ws.admin_key)
        .json(&json!({"body": "INTERNAL NOTE not for the customer"}))
        .expect(201)
        .await;
    app.post(&format!("/api/v1/tickets/{id}/replies"))
        .key(&ws.admin_key)
        .json(&json!({"body": reply}))
        .expect(201)
        .await;
    let done = next_event(&mut events).await;
    let status = child.wait().unwrap();
    assert!(status.success(), "widget.mjs failed: {done}");
    assert_eq!(done["reply_seen"], true, "{done}");
    assert_eq!(done["stored_token"], true, "{done}");
    let log = done["log"].to_string();
    assert!(log.contains(typed) && log.contains(reply), "{log}");
    assert!(
        !log.contains("INTERNAL NOTE"),
        "a note reached the visitor: {log}"
    );

    // A page on another origin (another port) is refused, and nothing is stored.
    let other_key = enable(&app, &bystander, &[page.as_str()]).await;
    let stranger = page_server(&app.base, &other_key).await;
    let before = app.get("/metrics").expect(200).await.text;
    let (mut child, mut events) = run_script(&format!("{stranger}/"), "spam from elsewhere", None);
    let outcome = next_event(&mut events).await;
    assert_eq!(outcome["event"], "refused", "{outcome}");
    let done = next_event(&mut events).await;
    assert!(child.wait().unwrap().success(), "{done}");
    assert_eq!(done["sent"], false);
    assert!(
        ticket_list(&app, &bystander).await.is_empty(),
        "a refused page stored a ticket"
    );
    let after = app.get("/metrics").expect(200).await.text;
    let origin_refusals = |text: &str| -> u64 {
        text.lines()
            .find(|l| l.starts_with("holdfast_widget_refused_total{reason=\"origin\"}"))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
            .unwrap_or(0)
    };
    assert!(origin_refusals(&after) > origin_refusals(&before));
}
