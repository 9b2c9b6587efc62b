//! What the client portal's pages share: their answer (the console's policy, kept out of
//! search engines and referrers, since a sign-in link's token is in its address) and the frame
//! around every portal page (the workspace's name, colour and logo; on a signed-in customer's
//! page also their name and the session's CSRF token for the forms), and what the sign-in
//! pages of `pages/portal/sign_in.rs` and `pages/portal/password.rs` share: the forms that ask
//! for a mail, and the answer that starts a session.

use crate::console::{self, see_other};
use crate::extract::ClientInfo;
use crate::problem::ApiResult;
use crate::state::AppState;
use askama::Template;
use axum::body::Bytes;
use axum::http::header::{REFERRER_POLICY, SET_COOKIE};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use holdfast_app::portal::brand;
use holdfast_core::brand::Brand;
use holdfast_core::error::ErrorCode;
use holdfast_core::portal::{MagicLinkIn, SESSION_ABSOLUTE_MS};
use holdfast_store::portal::auth::{PortalActor, SignInFrom, SignedIn};
use serde::Deserialize;

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

/// Around every portal page: the workspace as its portal shows it (name, colour, logo: the
/// base template reads `frame.brand`, so a portal page cannot be built without it) and, on a
/// signed-in customer's page, their name and the session's CSRF token.
pub struct PortalFrame {
    pub brand: Brand,
    /// How the customer is greeted: their name, or nothing.
    pub name: String,
    /// The session's CSRF token, for htmx's requests (`console.js`); empty before signing in.
    pub csrf: String,
}

impl PortalFrame {
    /// Around a signed-in customer's page.
    pub fn of(state: &AppState, actor: &PortalActor) -> PortalFrame {
        PortalFrame {
            brand: actor.brand(),
            name: actor.name.clone().unwrap_or_default(),
            csrf: state.csrf_key.token_for(actor.session_id.as_str()),
        }
    }

    /// Around a page shown before anyone signs in.
    pub fn public(brand: Brand) -> PortalFrame {
        PortalFrame {
            brand,
            name: String::new(),
            csrf: String::new(),
        }
    }
}

/// The portal's sign-in page (`/portal/{slug}`): the link form, the password form, and what
/// was asked.
#[derive(Template)]
#[template(path = "portal_sign_in.html")]
pub struct SignInPage<'a> {
    pub frame: PortalFrame,
    pub email: &'a str,
    pub error: Option<&'a str>,
    pub sent: bool,
    pub signed_out: bool,
    /// A password reset link was asked for.
    pub reset_sent: bool,
    /// The password form is shown open (a password sign-in was refused).
    pub password_open: bool,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AskForm {
    email: String,
}

/// What an address form on the sign-in page asks to be mailed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ask {
    SignInLink,
    PasswordReset,
}

/// The sign-in page's forms that ask for a mail to an address (a sign-in link, a password
/// reset link): the same answer for every address, told on the sign-in page; only a malformed
/// address is refused (422, the form open again).
pub(crate) async fn ask_by_mail(
    state: &AppState,
    headers: &HeaderMap,
    slug: &str,
    body: &Bytes,
    ask: Ask,
) -> ApiResult<Response> {
    console::same_site(state, headers)?;
    let Some(brand) = brand::of_portal(state, slug).await? else {
        return Ok(gone());
    };
    let form: AskForm = console::form(headers, body)?;
    let asked = MagicLinkIn {
        workspace: slug.to_owned(),
        email: form.email.clone(),
    };
    let result = match ask {
        Ask::SignInLink => holdfast_app::portal::sign_in::request_link(state, &asked),
        Ask::PasswordReset => holdfast_app::portal::password::request_reset(state, &asked),
    };
    let (status, error) = match result {
        Ok(()) => (StatusCode::OK, None),
        Err(refused) if refused.code == ErrorCode::Validation => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("That is not an email address: check it and try again."),
        ),
        Err(refused) => return Err(refused.into()),
    };
    let sent = error.is_none();
    Ok(page(
        status,
        &SignInPage {
            frame: PortalFrame::public(brand),
            email: form.email.trim(),
            error,
            sent: sent && ask == Ask::SignInLink,
            signed_out: false,
            reset_sent: sent && ask == Ask::PasswordReset,
            password_open: !sent && ask == Ask::PasswordReset,
        },
    ))
}

/// Where a sign-in is made from, for the session list and the audit trail.
pub(crate) fn sign_in_from(client: &ClientInfo) -> SignInFrom {
    SignInFrom {
        ip: client.ip.clone().unwrap_or_default(),
        user_agent: client.user_agent.clone().unwrap_or_default(),
        request_id: crate::problem::current_request_id().unwrap_or_default(),
    }
}

/// The answer to a sign-in: on to the overview, with the new session's cookie.
pub(crate) fn signed_in(state: &AppState, signed_in: &SignedIn) -> Response {
    let mut response = see_other(&format!("/portal/{}/home", signed_in.workspace_slug), false);
    let cookie = state
        .cookies
        .set_portal(signed_in.secret.expose(), SESSION_ABSOLUTE_MS / 1000);
    response.headers_mut().append(SET_COOKIE, cookie);
    response
}

#[derive(Template)]
#[template(path = "public_gone.html")]
struct GonePage;

/// The one answer to a portal that is not there, or a link that opens nothing.
pub fn gone() -> Response {
    page(StatusCode::NOT_FOUND, &GonePage)
}
