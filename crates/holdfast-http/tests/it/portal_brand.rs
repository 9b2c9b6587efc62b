//! How a workspace's client portal looks, over HTTP on either database: staff set an accent
//! colour and a logo (API and console), every portal page shows them (the sign-in pages and a
//! signed-in customer's pages), the portal serves the logo and the colour's stylesheet only
//! while it is open, and a bad colour or file is refused with a reason, nothing changed.

use crate::job_files::{PNG, png_form};
use crate::portal_customer;
use holdfast_core::access::policy::BuiltinRole;
use holdfast_store::ops::controls;
use holdfast_testkit::{Method, TestApp, Workspace, unique};
use serde_json::{Value, json};

/// A `multipart/form-data` body with one part named `file`.
fn upload_form(filename: &str, content_type: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----hfbrandboundary7Gq2";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn branding(app: &TestApp, ws: &Workspace) -> Value {
    app.get("/api/v1/portal/branding")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json
}

async fn set_colour(app: &TestApp, ws: &Workspace, colour: Value, status: u16) -> Value {
    app.call(Method::PUT, "/api/v1/portal/branding")
        .key(&ws.admin_key)
        .json(&json!({ "colour": colour }))
        .expect(status)
        .await
        .json
}

async fn put_logo(app: &TestApp, ws: &Workspace, form: (String, Vec<u8>), status: u16) -> Value {
    app.call(Method::PUT, "/api/v1/portal/branding/logo")
        .key(&ws.admin_key)
        .body(&form.0, form.1)
        .expect(status)
        .await
        .json
}

async fn front(app: &TestApp, ws: &Workspace) -> String {
    app.browser(Method::GET, &format!("/portal/{}", ws.slug))
        .expect(200)
        .await
        .text
}

#[tokio::test(flavor = "multi_thread")]
async fn staff_set_a_colour_that_every_portal_page_shows_with_readable_ink() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("brand-colour").await;
    assert_eq!(
        branding(&app, &ws).await,
        json!({"colour": null, "ink": null, "logo": null})
    );
    // No colour: no brand stylesheet on the page, and none served.
    assert!(!front(&app, &ws).await.contains("brand.css"));
    app.browser(Method::GET, &format!("/portal/{}/brand.css", ws.slug))
        .expect(404)
        .await;

    // Short form and any case, kept as #rrggbb; a light colour gets black ink.
    let set = set_colour(&app, &ws, json!("#FC0"), 200).await;
    assert_eq!(set["colour"], "#ffcc00", "{set}");
    assert_eq!(set["ink"], "#000000", "{set}");
    let page = front(&app, &ws).await;
    let href = format!("/portal/{}/brand.css?v=ffcc00", ws.slug);
    assert!(
        page.contains(&format!("<link rel=\"stylesheet\" href=\"{href}\">")),
        "{page}"
    );
    let css = app.browser(Method::GET, &href).expect(200).await;
    assert_eq!(
        css.text,
        "body.portal { --brand: #ffcc00; --brand-ink: #000000; }\n"
    );
    assert!(
        css.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css"),
        "{:?}",
        css.headers
    );
    // A dark colour gets white ink; the signed-in customer's pages carry it too.
    assert_eq!(
        set_colour(&app, &ws, json!("#1b1f24"), 200).await["ink"],
        "#ffffff"
    );
    let email = format!("{}@example.com", unique("brand"));
    let (_, who) = portal_customer(&app, &ws, "Rita Brand", &email).await;
    let home = app
        .browser(Method::GET, &format!("/portal/{}/home", ws.slug))
        .header("cookie", &who.cookie)
        .expect(200)
        .await;
    assert!(
        home.text
            .contains(&format!("/portal/{}/brand.css?v=1b1f24", ws.slug)),
        "{}",
        home.text
    );

    // Refused with the field named, nothing changed: words, CSS smuggling, wrong length, a
    // type that is not a string.
    for bad in [
        json!("blue"),
        json!("#12345"),
        json!("#123456;}body{display:none"),
        json!("123456"),
    ] {
        let refused = set_colour(&app, &ws, bad.clone(), 422).await;
        assert_eq!(refused["errors"][0]["field"], "colour", "{bad}: {refused}");
        assert!(
            refused["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("#rrggbb"),
            "{refused}"
        );
    }
    app.call(Method::PUT, "/api/v1/portal/branding")
        .key(&ws.admin_key)
        .json(&json!({"colour": 12}))
        .expect(422)
        .await;
    app.call(Method::PUT, "/api/v1/portal/branding")
        .key(&ws.admin_key)
        .json(&json!({"colour": "#123456", "font": "Comic"}))
        .expect(422)
        .await;
    assert_eq!(branding(&app, &ws).await["colour"], "#1b1f24");

    // Back to the portal's own: null (or an empty string) removes it.
    assert_eq!(
        set_colour(&app, &ws, Value::Null, 200).await["colour"],
        Value::Null
    );
    assert!(!front(&app, &ws).await.contains("brand.css"));
    app.browser(Method::GET, &format!("/portal/{}/brand.css", ws.slug))
        .expect(404)
        .await;

    // Each change is in the audit trail with the colour before and after.
    let audit = app
        .get("/api/v1/audit?action=workspace.portal_branding_changed")
        .key(&ws.admin_key)
        .expect(200)
        .await;
    assert_eq!(
        audit.json["data"].as_array().unwrap().len(),
        3,
        "{}",
        audit.text
    );
    assert!(
        audit.text.contains(r##"\"after\":\"#ffcc00\""##),
        "{}",
        audit.text
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_logo_is_a_picture_served_safely_while_the_portal_is_open() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("brand-logo").await;
    let other = app.workspace("brand-logo-other").await;
    app.browser(Method::GET, &format!("/portal/{}/logo", ws.slug))
        .expect(404)
        .await;

    let set = put_logo(&app, &ws, png_form(), 200).await;
    let logo = &set["logo"];
    assert_eq!(logo["content_type"], "image/png", "{set}");
    assert_eq!(logo["size_bytes"], PNG.len(), "{set}");
    let url = logo["url"].as_str().unwrap().to_owned();
    assert!(
        url.starts_with(&format!("/portal/{}/logo?v=", ws.slug)),
        "{url}"
    );
    // Every portal page shows it before the workspace's name; the picture says nothing twice.
    let page = front(&app, &ws).await;
    assert!(
        page.contains(&format!(
            "<img class=\"portal-logo\" src=\"{url}\" alt=\"\">"
        )),
        "{page}"
    );
    let served = app
        .http
        .get(format!("{}{url}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(served.status(), 200);
    let headers = served.headers().clone();
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("sandbox"),
        "{headers:?}"
    );
    assert_eq!(served.bytes().await.unwrap().as_ref(), PNG);
    // Another workspace's portal has no logo of its own, and never this one.
    app.browser(Method::GET, &format!("/portal/{}/logo", other.slug))
        .expect(404)
        .await;
    assert!(!front(&app, &other).await.contains("portal-logo"));

    // Refused, each with its reason, the logo in place unchanged: SVG (it can carry script),
    // a PDF, an empty file, one over 256 KiB, a body that is not a form, the wrong part.
    let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>";
    let refused = put_logo(
        &app,
        &ws,
        upload_form("logo.svg", "image/svg+xml", svg),
        415,
    )
    .await;
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("PNG, JPEG or WebP"),
        "{refused}"
    );
    put_logo(
        &app,
        &ws,
        upload_form("logo.pdf", "image/png", b"%PDF-1.7 x"),
        415,
    )
    .await;
    put_logo(&app, &ws, upload_form("logo.png", "image/png", b""), 422).await;
    let mut big = PNG.to_vec();
    big.resize(256 * 1024 + 1, 0);
    let too_big = put_logo(&app, &ws, upload_form("big.png", "image/png", &big), 413).await;
    assert!(
        too_big["detail"].as_str().unwrap().contains("256 KiB"),
        "{too_big}"
    );
    app.call(Method::PUT, "/api/v1/portal/branding/logo")
        .key(&ws.admin_key)
        .json(&json!({"file": "logo.png"}))
        .expect(415)
        .await;
    let (form_type, body) = upload_form("logo.png", "image/png", PNG);
    let wrong_part = String::from_utf8_lossy(&body).replace("name=\"file\"", "name=\"logo\"");
    app.call(Method::PUT, "/api/v1/portal/branding/logo")
        .key(&ws.admin_key)
        .body(&form_type, wrong_part.into_bytes())
        .expect(422)
        .await;
    assert_eq!(branding(&app, &ws).await["logo"]["url"], url.as_str());

    // A portal that is closed serves neither its logo nor its colour: the one 404.
    set_colour(&app, &ws, json!("#0b5cad"), 200).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    controls::unscoped_suspend_workspace(&app.db, &ws.slug, "brand test", now)
        .await
        .unwrap();
    let closed = app
        .browser(Method::GET, &format!("/portal/{}/logo", ws.slug))
        .expect(404)
        .await;
    let unknown = app
        .browser(Method::GET, "/portal/no-such-portal/logo")
        .expect(404)
        .await;
    assert_eq!(closed.text, unknown.text);
    app.browser(Method::GET, &format!("/portal/{}/brand.css", ws.slug))
        .expect(404)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn removing_the_logo_takes_it_off_every_page_and_only_managers_change_the_look() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("brand-remove").await;
    put_logo(&app, &ws, png_form(), 200).await;
    app.call(Method::DELETE, "/api/v1/portal/branding/logo")
        .key(&ws.admin_key)
        .expect(204)
        .await;
    // Removing what is not there is done too.
    app.call(Method::DELETE, "/api/v1/portal/branding/logo")
        .key(&ws.admin_key)
        .expect(204)
        .await;
    assert_eq!(branding(&app, &ws).await["logo"], Value::Null);
    assert!(!front(&app, &ws).await.contains("portal-logo"));
    app.browser(Method::GET, &format!("/portal/{}/logo", ws.slug))
        .expect(404)
        .await;
    let audit = app
        .get("/api/v1/audit?action=workspace.portal_logo_removed")
        .key(&ws.admin_key)
        .expect(200)
        .await;
    assert_eq!(
        audit.json["data"].as_array().unwrap().len(),
        1,
        "{}",
        audit.text
    );
    let changed = app
        .get("/api/v1/audit?action=workspace.portal_logo_changed")
        .key(&ws.admin_key)
        .expect(200)
        .await;
    assert!(changed.text.contains("image/png"), "{}", changed.text);

    // A role that may not change the workspace's settings may not change its look.
    let support = app.key(&ws.slug, BuiltinRole::Support).await;
    for (method, path) in [
        (Method::GET, "/api/v1/portal/branding"),
        (Method::PUT, "/api/v1/portal/branding"),
        (Method::DELETE, "/api/v1/portal/branding/logo"),
    ] {
        app.call(method, path)
            .key(&support)
            .json(&json!({"colour": "#ff0000"}))
            .expect(403)
            .await;
    }
    let (form_type, body) = png_form();
    app.call(Method::PUT, "/api/v1/portal/branding/logo")
        .key(&support)
        .body(&form_type, body)
        .expect(403)
        .await;
    assert_eq!(branding(&app, &ws).await["colour"], Value::Null);
}

#[tokio::test(flavor = "multi_thread")]
async fn staff_set_the_look_in_the_console() {
    const FORM: &str = "application/x-www-form-urlencoded";
    let app = TestApp::spawn().await;
    let ws = app.workspace("brand-console").await;
    let staff = app.console_login(&ws).await;
    let page = app
        .browser(Method::GET, "/app/settings/portal")
        .cookie(&staff)
        .expect(200)
        .await;
    assert!(page.text.contains("How the portal looks"), "{}", page.text);
    // Changing the look asks for the password first, like renaming the workspace.
    app.browser(Method::POST, "/app/settings/portal/colour")
        .console(&staff)
        .body(FORM, "colour=%230b5cad")
        .expect(403)
        .await;
    crate::pages_settings::step_up(&app, &staff, None).await;

    // A colour the page refuses: the page again with the reason and what was typed.
    let bad = app
        .browser(Method::POST, "/app/settings/portal/colour")
        .console(&staff)
        .body(FORM, "colour=tomato")
        .expect(422)
        .await;
    assert!(bad.text.contains("Colour not saved"), "{}", bad.text);
    assert!(bad.text.contains("value=\"tomato\""), "{}", bad.text);
    app.browser(Method::POST, "/app/settings/portal/colour")
        .console(&staff)
        .body(FORM, "colour=%230b5cad")
        .expect(303)
        .await;
    assert_eq!(branding(&app, &ws).await["colour"], "#0b5cad");
    // Without the CSRF token: refused.
    app.browser(Method::POST, "/app/settings/portal/colour")
        .cookie(&staff)
        .body(FORM, "colour=%23000000")
        .expect(403)
        .await;

    // A logo from the page; a file that is not a picture is said on the page.
    let (form_type, body) = upload_form("notes.txt", "text/plain", b"just words");
    let refused = app
        .browser(Method::POST, "/app/settings/portal/logo")
        .console(&staff)
        .body(&form_type, body)
        .expect(415)
        .await;
    assert!(refused.text.contains("Logo not saved"), "{}", refused.text);
    let (form_type, body) = png_form();
    app.browser(Method::POST, "/app/settings/portal/logo")
        .console(&staff)
        .body(&form_type, body)
        .expect(303)
        .await;
    let logo_url = branding(&app, &ws).await["logo"]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let page = app
        .browser(Method::GET, "/app/settings/portal?done=logo")
        .cookie(&staff)
        .expect(200)
        .await;
    assert!(page.text.contains(&logo_url), "{}", page.text);
    assert!(page.text.contains("Remove the logo"), "{}", page.text);
    app.browser(Method::POST, "/app/settings/portal/logo/remove")
        .console(&staff)
        .body(FORM, "")
        .expect(303)
        .await;
    assert_eq!(branding(&app, &ws).await["logo"], Value::Null);
}
