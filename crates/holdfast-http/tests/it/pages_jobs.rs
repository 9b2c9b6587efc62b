//! The console's field-service pages over HTTP: the dispatch board (a day by technician in the
//! workspace's zone, double bookings marked, the unscheduled requests, a technician's own
//! board), booking a job through the form, and a job worked from its page on a phone (status
//! buttons, checklist, materials, notes, the customer's link) — with bad input, stale forms,
//! missing CSRF tokens and another technician's job. The Chromium flow is
//! `console_jobs_browser.rs`.

use crate::jobs::{PASSWORD, member};
use crate::pages::{FORM, assert_page, between, form};
use crate::{ada, contact};
use base64::Engine;
use holdfast_testkit::{Console, Method, Resp, TestApp, Workspace};
use serde_json::{Value, json};

/// A technician: their user id and a console session.
async fn technician(app: &TestApp, ws: &Workspace, name: &str) -> (String, Console) {
    let (user, _) = member(app, ws, name, "technician").await;
    let login = app
        .post("/api/v1/auth/login")
        .json(&json!({"email": format!("{name}@{}.example.com", ws.slug),
                      "password": PASSWORD, "workspace": ws.slug, "session": "cookie"}))
        .expect(200)
        .await;
    (user, Console::from_login(&login))
}

async fn book(app: &TestApp, ws: &Workspace, body: Value) -> String {
    app.post("/api/v1/jobs")
        .key(&ws.admin_key)
        .json(&body)
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn page(app: &TestApp, console: &Console, path: &str) -> Resp {
    app.browser(Method::GET, path).cookie(console).send().await
}

async fn post_form(app: &TestApp, console: &Console, path: &str, fields: &[(&str, &str)]) -> Resp {
    app.browser(Method::POST, path)
        .console(console)
        .body(FORM, form(fields))
        .send()
        .await
}

async fn job(app: &TestApp, ws: &Workspace, id: &str) -> Value {
    app.get(&format!("/api/v1/jobs/{id}"))
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json
}

/// The job cards of a lane of the board (the section named `name`).
fn lane(board: &str, name: &str) -> String {
    between(
        board,
        &format!("<section class=\"lane\" aria-label=\"{name}\">"),
        "</section>",
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dispatch_board_shows_a_day_by_technician_in_the_workspace_zone() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("board-pages").await;
    app.call(Method::PUT, "/api/v1/field-service/time-zone")
        .key(&ws.admin_key)
        .json(&json!({"time_zone": "Europe/London"}))
        .expect(200)
        .await;
    let customer = contact(&app, &ws, ada()).await;
    let (tess, tess_console) = technician(&app, &ws, "tess").await;
    let (tom, _) = technician(&app, &ws, "tom").await;
    let owner = app.console_login(&ws).await;
    let at = |start: &str, end: &str| json!({"start": start, "end": end});
    book(
        &app,
        &ws,
        json!({"contact_id": customer, "title": "Boiler service",
        "window": at("2026-07-01T09:00", "2026-07-01T11:00"), "technician_ids": [tess]}),
    )
    .await;
    let toms = book(
        &app,
        &ws,
        json!({"contact_id": customer, "title": "Leaking tap",
        "window": at("2026-07-01T10:00", "2026-07-01T12:00"), "technician_ids": [tom]}),
    )
    .await;
    book(
        &app,
        &ws,
        json!({"contact_id": customer, "title": "Radiator bleed",
        "window": at("2026-07-01T11:30", "2026-07-01T13:00"), "technician_ids": [tom]}),
    )
    .await;
    // 00:30 on the 2nd in London is 23:30 UTC on the 1st: on the 2nd's board, not the 1st's.
    book(
        &app,
        &ws,
        json!({"contact_id": customer, "title": "Night call-out",
        "window": at("2026-07-02T00:30", "2026-07-02T01:30"), "technician_ids": [tess]}),
    )
    .await;
    book(
        &app,
        &ws,
        json!({"contact_id": customer, "title": "Quote for a new bathroom"}),
    )
    .await;

    let board = page(&app, &owner, "/app/jobs?day=2026-07-01").await;
    assert_eq!(board.status, 200, "{}", board.text);
    assert_page(&board);
    assert!(
        board.text.contains("Wednesday 1 July 2026"),
        "{}",
        board.text
    );
    assert!(board.text.contains("Times in Europe/London"));
    let tess_lane = lane(&board.text, &format!("tess@{}.example.com", ws.slug));
    assert!(
        tess_lane.contains("Boiler service") && tess_lane.contains("09:00–11:00"),
        "{tess_lane}"
    );
    assert!(!tess_lane.contains("Night call-out"), "{tess_lane}");
    let tom_lane = lane(&board.text, &format!("tom@{}.example.com", ws.slug));
    assert!(
        tom_lane.contains("Leaking tap") && tom_lane.contains("Radiator bleed"),
        "{tom_lane}"
    );
    // Tom's two jobs overlap by half an hour: each is marked; Tess's is not.
    assert_eq!(
        tom_lane.matches("Overlaps another job").count(),
        2,
        "{tom_lane}"
    );
    assert!(!tess_lane.contains("Overlaps"), "{tess_lane}");
    let requests = between(&board.text, "Requests not yet scheduled", "</section>");
    assert!(requests.contains("Quote for a new bathroom"), "{requests}");
    let next = page(&app, &owner, "/app/jobs?day=2026-07-02").await;
    assert!(lane(&next.text, &format!("tess@{}.example.com", ws.slug)).contains("00:30–01:30"));
    // Filtered by technician: Tom's lane only.
    let only_tom = page(
        &app,
        &owner,
        &format!("/app/jobs?day=2026-07-01&technician={tom}"),
    )
    .await;
    assert!(only_tom.text.contains("Leaking tap") && !only_tom.text.contains("Boiler service"));

    // Tess's own board: her jobs, nothing of Tom's, no technician filter, no requests queue.
    let mine = page(&app, &tess_console, "/app/jobs?day=2026-07-01").await;
    assert_eq!(mine.status, 200, "{}", mine.text);
    assert!(mine.text.contains("My jobs") && mine.text.contains("Boiler service"));
    for theirs in [
        "Leaking tap",
        "Radiator bleed",
        "Quote for a new bathroom",
        "tom@",
    ] {
        assert!(
            !mine.text.contains(theirs),
            "{theirs} shown to Tess: {}",
            mine.text
        );
    }
    assert_eq!(
        page(&app, &tess_console, &format!("/app/jobs/{toms}"))
            .await
            .status,
        404
    );
    // The navigation leads a technician to the jobs.
    assert!(
        mine.text
            .contains("<a href=\"/app/jobs\" aria-current=\"page\">Jobs</a>")
    );

    // Bad filters are named, never a 500.
    for (query, detail) in [
        ("day=2026-02-30", "must be a date like 2026-12-08"),
        ("day=1999-12-31", "must be a date like 2026-12-08"),
        ("technician=bob", "is not a member of this workspace"),
        ("status=lost", "must be requested, scheduled"),
    ] {
        let r = page(&app, &owner, &format!("/app/jobs?{query}")).await;
        assert_eq!(r.status, 422, "{query}: {}", r.text);
        assert!(r.text.contains(detail), "{query}: {}", r.text);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_is_booked_through_the_form_and_refusals_keep_what_was_typed() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("book-pages").await;
    let customer = contact(&app, &ws, ada()).await;
    let (tess, tess_console) = technician(&app, &ws, "tess").await;
    let owner = app.console_login(&ws).await;

    let blank = page(&app, &owner, &format!("/app/jobs/new?contact={customer}")).await;
    assert_eq!(blank.status, 200, "{}", blank.text);
    assert!(blank.text.contains(&format!("value=\"{customer}\"")));

    let booked = post_form(
        &app,
        &owner,
        "/app/jobs",
        &[
            ("contact", "ada@example.com"),
            ("title", "Boiler service"),
            ("description", "Side gate code 1234\r\nDog in the garden"),
            ("service_address", "12 Analytical Row"),
            ("start", "2026-07-01T09:00"),
            ("end", "2026-07-01T11:00"),
            ("technician", &tess),
            ("checklist", "Shut off water\nReplace valve\n"),
        ],
    )
    .await;
    assert_eq!(booked.status, 303, "{}", booked.text);
    let to = booked.header("location").unwrap().to_owned();
    let id = to.strip_prefix("/app/jobs/").unwrap().to_owned();
    let stored = job(&app, &ws, &id).await;
    assert_eq!(stored["contact_id"], customer.as_str());
    assert_eq!(stored["technician_ids"], json!([tess]));
    assert_eq!(stored["window"]["start_local"], "2026-07-01T09:00");
    assert_eq!(stored["checklist"].as_array().unwrap().len(), 2);
    // A description keeps its lines (as a textarea sends them).
    assert_eq!(
        stored["description"],
        "Side gate code 1234\nDog in the garden"
    );

    let count = || async {
        app.get("/api/v1/jobs")
            .key(&ws.admin_key)
            .expect(200)
            .await
            .json["data"]
            .as_array()
            .unwrap()
            .len()
    };
    let before = count().await;
    for (fields, detail) in [
        (
            vec![("contact", "nobody@example.com"), ("title", "X")],
            "Contact: give the contact",
        ),
        (vec![("contact", customer.as_str()), ("title", "")], "title"),
        (
            vec![
                ("contact", customer.as_str()),
                ("title", "Late"),
                ("start", "2026-07-01T11:00"),
                ("end", "2026-07-01T09:00"),
            ],
            "must be after the start",
        ),
        (
            vec![
                ("contact", customer.as_str()),
                ("title", "Ghost"),
                ("technician", "usr_nobody"),
            ],
            "technician",
        ),
    ] {
        let r = post_form(&app, &owner, "/app/jobs", &fields).await;
        assert_eq!(r.status, 422, "{fields:?}: {}", r.text);
        assert_page(&r);
        assert!(r.text.contains(detail), "{fields:?}: {}", r.text);
        // What was typed is still in the form.
        let title = fields.iter().find(|(k, _)| *k == "title").unwrap().1;
        assert!(
            r.text.contains(&format!(
                "name=\"title\" type=\"text\" required maxlength=\"200\" value=\"{title}\""
            )),
            "{}",
            r.text
        );
    }
    assert_eq!(count().await, before, "a refused booking stored something");
    // A technician books only jobs they do themselves; the form ticks them from the start.
    let theirs = page(&app, &tess_console, "/app/jobs/new").await;
    assert!(
        theirs.text.contains(&format!("value=\"{tess}\" checked")),
        "{}",
        theirs.text
    );
    let r = post_form(
        &app,
        &tess_console,
        "/app/jobs",
        &[("contact", customer.as_str()), ("title", "Not mine")],
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(r.text.contains("must include you"), "{}", r.text);
    // Without the CSRF token the form is refused and nothing is booked.
    let r = app
        .browser(Method::POST, "/app/jobs")
        .cookie(&owner)
        .body(
            FORM,
            form(&[("contact", customer.as_str()), ("title", "Forged")]),
        )
        .send()
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(count().await, before);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_technician_works_a_job_from_its_page() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("job-page").await;
    let customer = contact(&app, &ws, ada()).await;
    let (tess, tess_console) = technician(&app, &ws, "tess").await;
    let (_, tom_console) = technician(&app, &ws, "tom").await;
    let id = book(
        &app,
        &ws,
        json!({"contact_id": customer, "title": "Boiler service",
        "window": {"start": "2026-07-01T09:00", "end": "2026-07-01T11:00"},
        "technician_ids": [tess],
        "checklist": [{"text": "Shut off water"}, {"text": "Replace valve"}]}),
    )
    .await;
    app.post(&format!("/api/v1/jobs/{id}/status"))
        .key(&ws.admin_key)
        .json(&json!({"status": "scheduled"}))
        .expect(200)
        .await;
    let path = format!("/app/jobs/{id}");

    let shown = page(&app, &tess_console, &path).await;
    assert_eq!(shown.status, 200, "{}", shown.text);
    assert_page(&shown);
    assert!(shown.text.contains("On my way") && shown.text.contains("Start work"));
    assert!(
        shown.text.contains("Ada Lovelace"),
        "the customer's name: {}",
        shown.text
    );
    // Tom is not on this job: 404 on the page and on every action.
    assert_eq!(page(&app, &tom_console, &path).await.status, 404);
    for (action, fields) in [
        ("status", vec![("status", "en_route")]),
        (
            "checklist",
            vec![("index", "0"), ("text", "Shut off water"), ("done", "1")],
        ),
        (
            "items",
            vec![
                ("kind", "material"),
                ("description", "Pipe"),
                ("quantity", "1"),
            ],
        ),
        ("items/remove", vec![("index", "0"), ("text", "Pipe")]),
        ("notes", vec![("body", "hello")]),
        ("details", vec![("title", "Mine")]),
        ("link", vec![]),
        ("link/revoke", vec![]),
        ("files", vec![]),
    ] {
        let r = post_form(&app, &tom_console, &format!("{path}/{action}"), &fields).await;
        assert_eq!(r.status, 404, "{action}: {}", r.text);
    }

    // On my way, then the first checklist item.
    let r = post_form(
        &app,
        &tess_console,
        &format!("{path}/status"),
        &[("status", "en_route")],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(job(&app, &ws, &id).await["status"], "en_route");
    let r = post_form(
        &app,
        &tess_console,
        &format!("{path}/checklist"),
        &[("index", "0"), ("text", "Shut off water"), ("done", "1")],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let stored = job(&app, &ws, &id).await;
    assert_eq!(stored["checklist"][0]["done"], true);
    assert_eq!(stored["checklist"][1]["done"], false);
    // A form from a page shown before the list changed is refused, not applied elsewhere.
    let r = post_form(
        &app,
        &tess_console,
        &format!("{path}/checklist"),
        &[("index", "1"), ("text", "Shut off water"), ("done", "1")],
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert!(
        r.text.contains("the job changed since this page was shown"),
        "{}",
        r.text
    );
    assert_eq!(job(&app, &ws, &id).await["checklist"][1]["done"], false);
    // A move the rules do not allow is explained on the page.
    let r = post_form(
        &app,
        &tess_console,
        &format!("{path}/status"),
        &[("status", "completed")],
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert!(
        r.text.contains("Boiler service"),
        "the job's page with the refusal: {}",
        r.text
    );
    let r = post_form(
        &app,
        &tess_console,
        &format!("{path}/status"),
        &[("status", "lost")],
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.text);

    // Materials used: a good quantity is kept exactly; a bad one is named and nothing changes.
    let r = post_form(
        &app,
        &tess_console,
        &format!("{path}/items"),
        &[
            ("kind", "material"),
            ("description", "Copper pipe 15 mm"),
            ("quantity", "2.50"),
        ],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let r = post_form(
        &app,
        &tess_console,
        &format!("{path}/items"),
        &[
            ("kind", "material"),
            ("description", "Washers"),
            ("quantity", "two"),
        ],
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(r.text.contains("positive number"), "{}", r.text);
    for (action, fields, says) in [
        (
            "items",
            vec![("kind", "../x"), ("description", "Tap"), ("quantity", "1")],
            "must be service or material",
        ),
        (
            "notes",
            vec![("body", "hi"), ("visibility", "public")],
            "must be internal",
        ),
        (
            "notes",
            vec![("body", "\u{202E}hi"), ("visibility", "internal")],
            "format characters",
        ),
    ] {
        let r = post_form(&app, &tess_console, &format!("{path}/{action}"), &fields).await;
        assert_eq!(r.status, 422, "{action}: {}", r.text);
        assert!(r.text.contains(says), "{action}: {}", r.text);
    }
    let items = job(&app, &ws, &id).await["line_items"].clone();
    assert_eq!(
        items,
        json!([{"kind": "material", "description": "Copper pipe 15 mm", "quantity": "2.5"}])
    );

    // A photo from the phone: shown as a thumbnail; a file that is not a picture or PDF is
    // refused on the page and nothing is kept.
    let png = base64::engine::general_purpose::STANDARD
        .decode(crate::console_jobs_browser::PNG)
        .unwrap();
    let (content_type, body) =
        crate::pages_crm::multipart(&[("file", Some("boiler.png"), png.as_slice())]);
    let r = app
        .browser(Method::POST, &format!("{path}/files"))
        .console(&tess_console)
        .body(&content_type, body)
        .send()
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let (content_type, body) =
        crate::pages_crm::multipart(&[("file", Some("notes.png"), b"just some text".as_slice())]);
    let r = app
        .browser(Method::POST, &format!("{path}/files"))
        .console(&tess_console)
        .body(&content_type, body)
        .send()
        .await;
    assert_eq!(r.status, 415, "{}", r.text);
    assert!(
        r.text.contains("Boiler service"),
        "the job's page with the refusal: {}",
        r.text
    );
    let files = job(&app, &ws, &id).await["files"].clone();
    assert_eq!(files.as_array().map(Vec::len), Some(1), "{files}");
    let shown = page(&app, &tess_console, &path).await;
    let thumbnail = format!(
        "<img src=\"/api/v1/jobs/{id}/files/{}\"",
        files[0]["id"].as_str().unwrap()
    );
    assert!(shown.text.contains(&thumbnail), "{}", shown.text);

    // A note for the customer, and the customer's link showing it.
    let r = post_form(
        &app,
        &tess_console,
        &format!("{path}/notes"),
        &[
            ("body", "Parts ordered,\r\nback on Friday"),
            ("visibility", "customer"),
        ],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let issued = post_form(&app, &tess_console, &format!("{path}/link"), &[]).await;
    assert_eq!(issued.status, 200, "{}", issued.text);
    let url = between(
        &issued.text,
        "<code class=\"secret\" id=\"issued-link\">",
        "</code>",
    );
    let link = url
        .split_once("/p/jobs/")
        .map(|(_, t)| format!("/p/jobs/{t}"))
        .unwrap();
    let public = app.get(&link).send().await;
    assert_eq!(public.status, 200, "{}", public.text);
    assert!(
        public.text.contains("Parts ordered,\nback on Friday"),
        "a note keeps its lines: {}",
        public.text
    );
    assert!(public.text.contains("on the way"), "{}", public.text);
    let r = post_form(&app, &tess_console, &format!("{path}/link/revoke"), &[]).await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(app.get(&link).send().await.status, 404);

    // Without the CSRF token nothing moves.
    let r = app
        .browser(Method::POST, &format!("{path}/status"))
        .cookie(&tess_console)
        .body(FORM, form(&[("status", "in_progress")]))
        .send()
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(job(&app, &ws, &id).await["status"], "en_route");

    // Started, then done: a completed job's page has no forms to change it.
    for status in ["in_progress", "completed"] {
        let r = post_form(
            &app,
            &tess_console,
            &format!("{path}/status"),
            &[("status", status)],
        )
        .await;
        assert_eq!(r.status, 303, "{status}: {}", r.text);
    }
    let done = page(&app, &tess_console, &path).await;
    assert!(done.text.contains("Completed"));
    for form_action in ["/checklist\"", "/items\"", "/details\"", "/status\""] {
        assert!(
            !done.text.contains(form_action),
            "{form_action} offered on a completed job"
        );
    }
}
