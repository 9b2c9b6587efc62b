//! Signing in to a workspace's client portal: `/portal/{workspace_slug}` (the email form, or
//! on to the overview for a customer already signed in), `…/sign-in` (asks for a link: the
//! same answer whatever the address), `…/sign-in/{token}` (the link's confirmation page: a
//! `GET` spends nothing, so a mail scanner that opens the link cannot use it; only its form's
//! `POST` signs in) and `…/sign-out`. Through `holdfast_app::portal::sign_in`, like the API.
//! A portal that is not there (unknown slug, portal off, workspace suspended) and a link that
//! opens nothing answer one 404 page each, the same for every reason.

use crate::audit;
use crate::console::portal::{
    Ask, PortalFrame, SignInPage, ask_by_mail, gone, page, sign_in_from, signed_in,
};
use crate::console::{self, see_other};
use crate::extract::{ClientInfo, QueryParams};
use crate::guard::{Guard, PortalAuthed, RateLimit, portal_actor};
use crate::problem::ApiResult;
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use holdfast_app::portal::brand;
use holdfast_app::portal::sign_in as app;
use serde::Deserialize;

const VIEW: Guard = Guard::Public {
    rate_limit: RateLimit::Standard,
};
const AUTH: Guard = Guard::Public {
    rate_limit: RateLimit::Auth,
};

pub fn routes(t: &mut RouteTable) {
    let doc = |summary| Doc::page("Client portal", summary);
    t.add(
        Method::GET,
        "/portal/{workspace_slug}",
        VIEW,
        doc("A workspace's client portal: the sign-in form, or on to the overview"),
        get(portal_front),
    );
    t.add(
        Method::POST,
        "/portal/{workspace_slug}/sign-in",
        AUTH,
        doc("Ask for a sign-in link by email (the same answer for every address)"),
        post(ask_for_link),
    );
    t.add(
        Method::GET,
        "/portal/{workspace_slug}/sign-in/{token}",
        VIEW,
        doc("A sign-in link's confirmation page (spends nothing)"),
        get(confirm_page),
    );
    t.add(
        Method::POST,
        "/portal/{workspace_slug}/sign-in/{token}",
        AUTH,
        doc("Spend a sign-in link: a portal session starts").redirect(),
        post(confirm),
    );
}

/// Signing out needs the portal's own session, so it sits in the portal's module.
pub fn signed_in_routes(t: &mut RouteTable) {
    t.add(
        Method::POST,
        "/portal/{workspace_slug}/sign-out",
        Guard::Portal,
        Doc::page("Client portal", "Sign out of the client portal").redirect(),
        post(sign_out),
    );
}

#[derive(Template)]
#[template(path = "portal_confirm.html")]
struct ConfirmPage<'a> {
    frame: PortalFrame,
    action: &'a str,
}

#[derive(Deserialize)]
struct FrontQuery {
    /// `1` right after signing out.
    signed_out: Option<String>,
}

async fn portal_front(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    QueryParams(query): QueryParams<FrontQuery>,
) -> ApiResult<Response> {
    let Some(brand) = brand::of_portal(&state, &slug).await? else {
        return Ok(gone());
    };
    // Already signed in here: on to the overview. A session of another workspace's portal, or
    // one that opens nothing, is the same as none: the form.
    if let Ok(Some(actor)) = portal_actor(&state, "/portal/", &headers, &Method::GET).await
        && actor.workspace_slug == slug
    {
        return Ok(see_other(&format!("/portal/{slug}/home"), false));
    }
    Ok(page(
        StatusCode::OK,
        &SignInPage {
            frame: PortalFrame::public(brand),
            email: "",
            error: None,
            sent: false,
            signed_out: query.signed_out.is_some(),
            reset_sent: false,
            password_open: false,
        },
    ))
}

async fn ask_for_link(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    ask_by_mail(&state, &headers, &slug, &body, Ask::SignInLink).await
}

/// The slug and token of `/portal/{slug}/sign-in/{token}` as sent, not percent-decoded: a
/// token is base62, so anything else fails its shape check and meets the same 404 (a `Path`
/// extractor would answer undecodable bytes with its own 400).
fn slug_and_token(uri: &Uri) -> (&str, &str) {
    let rest = uri.path().strip_prefix("/portal/").unwrap_or_default();
    let (slug, rest) = rest.split_once('/').unwrap_or_default();
    (slug, rest.strip_prefix("sign-in/").unwrap_or_default())
}

async fn confirm_page(State(state): State<AppState>, uri: Uri) -> ApiResult<Response> {
    let (slug, token) = slug_and_token(&uri);
    let Some(link) = app::link_page(&state, slug, token).await? else {
        return Ok(gone());
    };
    Ok(page(
        StatusCode::OK,
        &ConfirmPage {
            frame: PortalFrame::public(link.brand),
            action: uri.path(),
        },
    ))
}

async fn confirm(
    State(state): State<AppState>,
    headers: HeaderMap,
    client: ClientInfo,
    uri: Uri,
) -> ApiResult<Response> {
    console::same_site(&state, &headers)?;
    let (slug, token) = slug_and_token(&uri);
    let Some(done) = app::sign_in(&state, slug, token, &sign_in_from(&client)).await? else {
        return Ok(gone());
    };
    Ok(signed_in(&state, &done))
}

async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    client: ClientInfo,
    PortalAuthed(actor): PortalAuthed,
) -> ApiResult<Response> {
    let origin = audit::portal_origin(&actor, &client);
    app::sign_out(&state, &actor, &origin).await?;
    let to = format!("/portal/{}?signed_out=1", actor.workspace_slug);
    let mut response = see_other(&to, console::is_htmx(&headers));
    response
        .headers_mut()
        .append(SET_COOKIE, state.cookies.clear_portal());
    Ok(response)
}
