//! `/setup/{token}`: the first run. While no workspace exists, `holdfast serve` prints a
//! one-time link (`holdfast admin setup-link` a new one); its page makes the first workspace
//! and its owner through the path `holdfast admin create-workspace` takes
//! (`holdfast_app::access::workspaces`), spends the link in the same transaction, signs the
//! owner in and lands on the inbox. A spent, expired or unknown link, and any link once a
//! workspace exists, meet one 404 page.

use crate::console;
use crate::extract::ClientInfo;
use crate::guard::{Guard, RateLimit};
use crate::problem::ApiResult;
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use holdfast_app::access::workspaces::{self, Via, setup_link_gone};
use holdfast_core::access::policy::BuiltinRole;
use holdfast_core::error::ErrorCode;
use holdfast_core::token::parse_opaque;
use holdfast_core::validate::FieldError;
use holdfast_store::identity::LoginCandidate;
use holdfast_store::ops::setup::{SETUP_PREFIX, unscoped_setup_link_open};
use serde::Deserialize;

const SETUP: Guard = Guard::Public {
    rate_limit: RateLimit::Auth,
};

pub fn routes(t: &mut RouteTable) {
    t.add(
        Method::GET,
        "/setup/{token}",
        SETUP,
        Doc::page(
            "Console",
            "First run: the form that makes the first workspace",
        ),
        get(setup_page),
    );
    t.add(
        Method::POST,
        "/setup/{token}",
        SETUP,
        Doc::page(
            "Console",
            "First run: make the first workspace and its owner, then sign in",
        )
        .redirect(),
        post(setup_submit),
    );
}

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage<'a> {
    token: &'a str,
    /// Each wrong field as the form names it, and what is wrong.
    errors: Vec<(&'static str, String)>,
    name: &'a str,
    slug: &'a str,
    email: &'a str,
}

#[derive(Deserialize)]
struct SetupForm {
    name: String,
    slug: String,
    email: String,
    password: String,
    password_again: String,
}

/// A field's name on the form.
fn label(field: &str) -> &'static str {
    match field {
        "name" => "Workspace name",
        "slug" => "Workspace slug",
        "owner_email" => "Your email",
        "password_again" => "Password again",
        _ => "Password",
    }
}

/// The digest of a link that still opens the page, else the one 404.
async fn open_link(state: &AppState, token: &str) -> ApiResult<String> {
    let hash = parse_opaque(SETUP_PREFIX, token).ok_or_else(setup_link_gone)?;
    if unscoped_setup_link_open(&state.db, &hash, state.clock.now_ms()).await? {
        Ok(hash)
    } else {
        Err(setup_link_gone().into())
    }
}

async fn setup_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> ApiResult<Response> {
    open_link(&state, &token).await?;
    Ok(console::render(
        StatusCode::OK,
        &SetupPage {
            token: &token,
            errors: Vec::new(),
            name: "",
            slug: "",
            email: "",
        },
    ))
}

async fn setup_submit(
    State(state): State<AppState>,
    Path(token): Path<String>,
    client: ClientInfo,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    console::same_site(&state, &headers)?;
    let token_hash = open_link(&state, &token).await?;
    let form: SetupForm = console::form(&headers, &body)?;
    let again = |errors: Vec<FieldError>| {
        console::render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &SetupPage {
                token: &token,
                errors: errors
                    .into_iter()
                    .map(|e| (label(&e.field), e.message))
                    .collect(),
                name: form.name.trim(),
                slug: form.slug.trim(),
                email: form.email.trim(),
            },
        )
    };
    let mut new = workspaces::check(&form.name, &form.slug, &form.email, &form.password);
    if form.password != form.password_again {
        let mismatch = FieldError::new("password_again", "must repeat the password exactly");
        new = Err(new
            .err()
            .unwrap_or_default()
            .into_iter()
            .chain([mismatch])
            .collect());
    }
    let new = match new {
        Ok(new) => new,
        Err(errors) => return Ok(again(errors)),
    };
    let now = state.clock.now_ms();
    let created = match workspaces::create(
        &state.db,
        &state.passwords,
        &new,
        form.password.clone(),
        Via::SetupLink {
            token_hash: &token_hash,
        },
        now,
    )
    .await
    {
        Ok(created) => created,
        Err(e) if e.code == ErrorCode::Conflict => return Ok(again(e.errors)),
        Err(e) => return Err(e.into()),
    };
    tracing::info!(workspace = %created.workspace_id, "first workspace made through the setup link");
    let owner = LoginCandidate {
        user_id: created.owner_user_id,
        password_hash: None,
        workspace_id: created.workspace_id,
        role: BuiltinRole::Owner.as_str().to_owned(),
    };
    let (_, cookies) = crate::session::start(&state, &owner, &client, "setup_link", now).await?;
    Ok(console::signed_in("/", cookies))
}
