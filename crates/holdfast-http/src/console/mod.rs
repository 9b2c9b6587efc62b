//! The console's shared parts: the HTML answer with the console's Content-Security-Policy,
//! the frame every signed-in page shares (workspace, who is signed in, the navigation, the
//! CSRF token), refusals answered as pages, and form bodies. The static files are served by
//! `pages/ops/assets.rs`.
//! Pages themselves live in `pages/<feature>/`, declared in the route table like API routes;
//! what contact pages share (a contact as a row) is in `contacts.rs`, what the invoice pages
//! share in `invoices.rs`, what the job pages share in `jobs.rs`.

pub mod contacts;

pub mod invoices;
pub mod jobs;
pub mod portal;

pub mod settings;

use crate::problem::{ApiResult, PROBLEM_JSON, Problem, ProblemOut};
use crate::state::AppState;
use askama::Template;
use axum::body::Bytes;
use axum::extract::Request;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, LOCATION, REFERRER_POLICY, SET_COOKIE,
};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use holdfast_core::access::fields::{self, Resource};
use holdfast_core::access::modules::Module;
use holdfast_core::access::policy::Permission;
use holdfast_core::error::ErrorCode;
use holdfast_store::identity::auth::{Actor, Principal};
use serde::de::DeserializeOwned;

/// Every console page's policy: scripts and styles from this origin only (no inline script,
/// no `eval`), no frames of it anywhere, forms posting only here.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; font-src 'self'; form-action 'self'; \
    frame-ancestors 'none'; base-uri 'none'";

/// The console's CSV import forms (`pages/crm/import.rs`) are posted under this prefix; they
/// carry the file, so the edge lets their bodies reach [`IMPORT_FORM_LIMIT`].
pub const IMPORT_FORM_PREFIX: &str = "/app/contacts/import/";

/// The largest body of an import form: the CSV as the API takes it
/// (`MAX_IMPORT_BYTES`), base64-encoded between steps, and the form's other fields.
pub const IMPORT_FORM_LIMIT: usize =
    holdfast_core::crm::contact_import::MAX_IMPORT_BYTES.div_ceil(3) * 4 + 512 * 1024;

/// An HTML answer with the console's headers (policy, no caching of signed-in pages).
pub fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    response
}

/// A template rendered as a page (a template that fails to render is a 500 page, logged).
pub fn render(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(body) => html(status, body),
        Err(e) => {
            tracing::error!(error = %e, "a console template failed to render");
            error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The page could not be shown. Try again; if it keeps happening, tell your \
                 administrator the time it happened.",
            )
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    title: &'a str,
    detail: &'a str,
    /// Where to go from here (address, label), when there is one place.
    link: Option<(&'a str, &'a str)>,
    /// A staff page (the console's own links shown); a client portal page shows none of them.
    staff: bool,
}

/// A page that says what went wrong and what to do.
pub fn error_page(status: StatusCode, title: &str, detail: &str) -> Response {
    let page = ErrorPage {
        status: status.as_u16(),
        title,
        detail,
        link: None,
        staff: true,
    };
    match page.render() {
        Ok(body) => html(status, body),
        Err(_) => html(status, String::new()),
    }
}

/// A redirect after a form (303: the browser follows it with a GET). A request made by htmx
/// gets `200` with `HX-Redirect` instead, which asks htmx to navigate there: its
/// XMLHttpRequest would follow a 303 itself and swap the next page into the form.
pub fn see_other(to: &str, htmx: bool) -> Response {
    let Ok(value) = HeaderValue::from_str(to) else {
        return StatusCode::SEE_OTHER.into_response();
    };
    if htmx {
        let mut response = StatusCode::OK.into_response();
        response.headers_mut().insert("HX-Redirect", value);
        return response;
    }
    let mut response = StatusCode::SEE_OTHER.into_response();
    response.headers_mut().insert(LOCATION, value);
    response
}

/// A console page to go back to (after signing in or stepping up): a path under `/app/`, on
/// this site, in plain characters; anything else is `None`.
pub fn app_path(path: Option<&str>) -> Option<&str> {
    path.filter(|p| {
        p.starts_with("/app/")
            && !p.contains("//")
            && !p.contains('\\')
            && p.bytes().all(|b| b.is_ascii_graphic())
    })
}

/// The page a request was made from (htmx names it in `HX-Current-URL`; a form's `Referer`
/// otherwise), as a console path, for an action refused until the person steps up.
fn page_of_request(headers: &HeaderMap) -> Option<String> {
    let url = headers
        .get("hx-current-url")
        .or_else(|| headers.get(axum::http::header::REFERER))
        .and_then(|v| v.to_str().ok())?;
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = &after_scheme[after_scheme.find('/')?..];
    let path = path.split('#').next().unwrap_or(path);
    app_path(Some(path)).map(str::to_owned)
}

/// `/app/step-up?back=…`: the step-up page, coming back to `back` (a console path) after.
pub fn step_up_href(back: &str) -> String {
    let query = serde_urlencoded::to_string([("back", back)]).unwrap_or_default();
    format!("/app/step-up?{query}")
}

/// The answer to a sign-in that succeeded (a password, a setup link, an invitation, single
/// sign-on): on to `to`, with the new session's two cookies.
pub fn signed_in(to: &str, cookies: [HeaderValue; 2]) -> Response {
    let mut response = see_other(to, false);
    for cookie in cookies {
        response.headers_mut().append(SET_COOKIE, cookie);
    }
    response
}

/// Refuses a form that a page of another site sent to one of the console's public forms
/// (sign-in, first run, reset, invitation, single sign-on): they have no session to bind a
/// CSRF token to, so the request's origin is what is checked.
pub fn same_site(state: &AppState, headers: &HeaderMap) -> ApiResult<()> {
    if state.cookies.is_cross_site(headers) {
        return Err(Problem::new(
            ErrorCode::CsrfRejected,
            "a page of another site sent this form; it was refused",
        ));
    }
    Ok(())
}

/// Whether htmx made the request (it then swaps the answer into the page).
pub fn is_htmx(headers: &HeaderMap) -> bool {
    headers.contains_key("HX-Request")
}

/// Wraps every page route, outside its guard: a problem+json answer (a refusal of the guard,
/// or a handler's error) becomes a page. Without a session (401) a page asks for sign-in,
/// naming the page to come back to; an action that needs a recent password (403 HF-AUTH-005)
/// gets a page that sends the person to `/app/step-up`, and from there back to the page.
pub async fn as_page(request: Request, next: Next) -> Response {
    // A client portal page without a portal session goes to its portal's sign-in page.
    let portal = request
        .uri()
        .path()
        .strip_prefix("/portal/")
        .and_then(|rest| rest.split('/').next())
        .filter(|slug| holdfast_core::validate::slug("slug", slug).is_ok())
        .map(|slug| format!("/portal/{slug}"));
    let back = (request.method() == Method::GET)
        .then(|| request.uri().path().to_owned())
        .filter(|p| p.starts_with("/app/"));
    // After a step-up, the person comes back to the page they were on: this one for a page, the
    // page a refused action was sent from otherwise.
    let step_up_back = if request.method() == Method::GET {
        let path_and_query = request
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_owned());
        app_path(path_and_query.as_deref()).map(str::to_owned)
    } else {
        page_of_request(request.headers())
    };
    let htmx = is_htmx(request.headers());
    let response = next.run(request).await;
    let is_problem = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(PROBLEM_JSON));
    if !is_problem {
        return response;
    }
    let status = response.status();
    if status == StatusCode::UNAUTHORIZED {
        if let Some(sign_in) = portal {
            return see_other(&sign_in, htmx);
        }
        let to = match back {
            Some(path) => format!("/sign-in?next={path}"),
            None => "/sign-in".to_owned(),
        };
        return see_other(&to, htmx);
    }
    let retry_after = response.headers().get("retry-after").cloned();
    let body = axum::body::to_bytes(response.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    let (title, detail, code) = match serde_json::from_slice::<ProblemOut>(&body) {
        Ok(problem) => (
            problem.title,
            with_fields(problem.detail, &problem.errors),
            problem.code,
        ),
        Err(_) => ("Error".to_owned(), String::new(), String::new()),
    };
    if let Some(portal) = portal {
        return portal_error_page(status, &title, &detail, &portal);
    }
    if code == ErrorCode::StepUpRequired.code() {
        return step_up_required(status, step_up_back.as_deref(), htmx);
    }
    let mut page = error_page(status, &title, &detail);
    if let Some(value) = retry_after {
        page.headers_mut().insert("retry-after", value);
    }
    page
}

/// A client portal page's refusal: back to the portal (never a staff link), kept out of
/// search engines and referrers like every portal page.
fn portal_error_page(status: StatusCode, title: &str, detail: &str, portal: &str) -> Response {
    let page = ErrorPage {
        status: status.as_u16(),
        title,
        detail,
        link: Some((portal, "Back to the portal")),
        staff: false,
    };
    let mut response = match page.render() {
        Ok(body) => html(status, body),
        Err(_) => html(status, String::new()),
    };
    let headers = response.headers_mut();
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(
        axum::http::HeaderName::from_static("x-robots-tag"),
        HeaderValue::from_static("noindex"),
    );
    response
}

/// A sensitive page or action refused until the person confirms their password again (and
/// code): a page linking to the step-up form, which comes back here after. htmx is asked to go
/// there at once.
fn step_up_required(status: StatusCode, back: Option<&str>, htmx: bool) -> Response {
    let href = step_up_href(back.unwrap_or("/app/settings"));
    let page = ErrorPage {
        status: status.as_u16(),
        title: "Confirm it is you",
        detail: "This is a sensitive action: enter your password again (and your authenticator \
                 code, when you have one). It stays confirmed for 10 minutes.",
        link: Some((&href, "Confirm and continue")),
        staff: true,
    };
    let mut response = match page.render() {
        Ok(body) => html(status, body),
        Err(_) => html(status, String::new()),
    };
    if htmx && let Ok(value) = HeaderValue::from_str(&href) {
        response.headers_mut().insert("HX-Redirect", value);
    }
    response
}

/// What a refusal of an application operation says, for a page that shows it next to the
/// form (the detail, and each field's problem), and the status to answer with.
pub fn explain(problem: &Problem) -> (StatusCode, String) {
    let status =
        StatusCode::from_u16(problem.0.code.status()).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
    (
        status,
        with_fields(problem.0.detail.clone(), &problem.0.errors),
    )
}

fn with_fields(detail: String, errors: &[holdfast_core::validate::FieldError]) -> String {
    if errors.is_empty() {
        return detail;
    }
    let fields: Vec<String> = errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect();
    format!("{detail} ({})", fields.join("; "))
}

/// A form body (`application/x-www-form-urlencoded`) read into `T`: a wrong content type is
/// 415 and fields that do not fit are 422, each a page with the reason.
pub fn form<T: DeserializeOwned>(headers: &HeaderMap, body: &Bytes) -> ApiResult<T> {
    let is_form = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form {
        return Err(Problem::new(
            ErrorCode::UnsupportedMediaType,
            "send the form as application/x-www-form-urlencoded",
        ));
    }
    serde_urlencoded::from_bytes(body).map_err(|e| {
        Problem::new(
            ErrorCode::Validation,
            format!("the form's fields do not fit: {e}"),
        )
    })
}

/// One link of the console's navigation.
pub struct Nav {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// What every signed-in page shows around its content.
pub struct Frame {
    pub workspace: String,
    pub email: String,
    /// The session's CSRF token, for forms and for htmx's requests (`console.js`).
    pub csrf: String,
    /// The signed-in member's user id (empty for an API key): live views skip their own
    /// presence notices.
    pub user_id: String,
    pub nav: Vec<Nav>,
    /// The person belongs to more than one workspace: the header links to the switcher.
    pub switch: bool,
}

impl Frame {
    /// The frame for `actor`, with `current` (a navigation link's `href`) marked. Links to
    /// pages the role may not open, or of modules that are off, are not shown.
    pub async fn new(state: &AppState, actor: &Actor, current: &str) -> ApiResult<Frame> {
        let mut tx = state.db.read(&actor.tenant).await?;
        let workspace = holdfast_store::access::workspaces::get(&mut tx)
            .await?
            .map(|w| w.name)
            .unwrap_or_default();
        tx.commit().await?;
        let user_id = match &actor.principal {
            Principal::User { user_id, .. } => user_id.to_string(),
            Principal::ApiKey(_) => String::new(),
        };
        let (email, csrf, switch) = match &actor.principal {
            Principal::User {
                user_id,
                session_id,
                ..
            } => {
                let email =
                    holdfast_store::identity::two_factor::account(&state.db, user_id.as_str())
                        .await?
                        .map(|(email, _)| email)
                        .unwrap_or_default();
                let workspaces = holdfast_store::access::members::unscoped_workspaces_of(
                    &state.db,
                    user_id.as_str(),
                )
                .await?;
                (
                    email,
                    state.csrf_key.token_for(session_id.as_str()),
                    workspaces.len() > 1,
                )
            }
            Principal::ApiKey(id) => (id.to_string(), String::new(), false),
        };
        let nav = sections(actor)
            .map(|(href, label)| Nav {
                href,
                label,
                current: href == current,
            })
            .collect();
        Ok(Frame {
            workspace,
            email,
            csrf,
            user_id,
            nav,
            switch,
        })
    }
}

/// The console's sections: where, its name, the module it belongs to and the permission its
/// first page needs (settings: every signed-in person has their own account).
const SECTIONS: [(&str, &str, Option<Module>, Option<Permission>); 6] = [
    (
        "/app/inbox",
        "Inbox",
        Some(Module::Helpdesk),
        Some(Permission::TicketsRead),
    ),
    (
        "/app/jobs",
        "Jobs",
        Some(Module::FieldService),
        Some(Permission::JobsRead),
    ),
    (
        "/app/contacts",
        "Contacts",
        Some(Module::Crm),
        Some(Permission::ContactsRead),
    ),
    (
        "/app/invoices",
        "Invoices",
        Some(Module::Invoicing),
        Some(Permission::InvoicesRead),
    ),
    ("/app/audit", "Audit", None, Some(Permission::AuditRead)),
    ("/app/settings", "Settings", None, None),
];

/// The sections `actor` may open (its modules on, its role granting the first page), in
/// navigation order: where and its name.
fn sections(actor: &Actor) -> impl Iterator<Item = (&'static str, &'static str)> + '_ {
    SECTIONS
        .into_iter()
        .filter(|(_, _, module, permission)| {
            module.is_none_or(|m| actor.modules.contains(m))
                && permission.is_none_or(|p| actor.role.grants(p))
        })
        .map(|(href, label, _, _)| (href, label))
}

/// Where `/` and a sign-in without a page to come back to lead `actor`: the first section it
/// may open (the inbox, unless the help desk is off or its role cannot read tickets; a
/// technician's jobs).
pub fn home(actor: &Actor) -> &'static str {
    sections(actor)
        .next()
        .map_or("/app/settings", |(href, _)| href)
}

/// Whether the actor's role sees every contact field (else contact details are cut on pages
/// as in the API).
pub fn sees_contacts_whole(actor: &Actor) -> bool {
    fields::sees_every_field(&actor.role, Resource::Contacts)
}

/// Bytes as people read them.
pub fn size_text(bytes: i64) -> String {
    match bytes {
        b if b >= 1024 * 1024 => format!("{:.1} MB", b as f64 / (1024.0 * 1024.0)),
        b if b >= 1024 => format!("{} KB", b / 1024),
        b => format!("{b} bytes"),
    }
}

/// A time as people read it in the console: `2026-12-06 14:05 UTC`.
pub fn when(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .map(|t| {
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02} UTC",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute()
            )
        })
        .unwrap_or_default()
}
