//! What the client portal's pages share: their answer (the console's policy, kept out of
//! search engines and referrers, since a sign-in link's token is in its address) and the frame
//! around a signed-in customer's page (the workspace's name, the customer's name, the
//! session's CSRF token for the forms).

use crate::state::AppState;
use askama::Template;
use axum::http::header::REFERRER_POLICY;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use holdfast_store::portal::auth::PortalActor;

/// A portal page's answer: `noindex`, no referrer.
pub fn page(status: StatusCode, template: &impl askama::Template) -> Response {
    let mut response = super::render(status, template);
    let headers = response.headers_mut();
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(
        HeaderName::from_static("x-robots-tag"),
        HeaderValue::from_static("noindex"),
    );
    response
}

/// Around a signed-in customer's page.
pub struct PortalFrame {
    pub workspace: String,
    pub slug: String,
    /// How the customer is greeted: their name, or nothing.
    pub name: String,
    /// The session's CSRF token, for htmx's requests (`console.js`).
    pub csrf: String,
}

impl PortalFrame {
    pub fn of(state: &AppState, actor: &PortalActor) -> PortalFrame {
        PortalFrame {
            workspace: actor.workspace_name.clone(),
            slug: actor.workspace_slug.clone(),
            name: actor.name.clone().unwrap_or_default(),
            csrf: state.csrf_key.token_for(actor.session_id.as_str()),
        }
    }
}

/// The portal's sign-in page (`/portal/{slug}`): the link form, the password form, and what
/// was asked.
#[derive(Template)]
#[template(path = "portal_sign_in.html")]
pub struct SignInPage<'a> {
    pub workspace: &'a str,
    pub slug: &'a str,
    pub email: &'a str,
    pub error: Option<&'a str>,
    pub sent: bool,
    pub signed_out: bool,
    /// A password reset link was asked for.
    pub reset_sent: bool,
    /// The password form is shown open (a password sign-in was refused).
    pub password_open: bool,
}

#[derive(Template)]
#[template(path = "public_gone.html")]
struct GonePage;

/// The one answer to a portal that is not there, or a link that opens nothing.
pub fn gone() -> Response {
    page(StatusCode::NOT_FOUND, &GonePage)
}
