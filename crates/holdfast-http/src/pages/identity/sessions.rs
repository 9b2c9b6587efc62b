//! `/app/settings/sessions`: the person's live sessions in this workspace, and ending one or
//! all of them (ending the one in use signs out here too), as `/api/v1/auth/sessions`.

use crate::console::settings::Shell;
use crate::console::{self, Frame, is_htmx, see_other};
use crate::extract::QueryParams;
use crate::guard::{Authed, Guard};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use holdfast_core::error::ApiError;
use holdfast_core::ids::{SessionId, UserId};
use holdfast_store::identity::auth::{Actor, Principal};
use holdfast_store::identity::sessions;
use serde::Deserialize;

const HERE: &str = "/app/settings/sessions";

pub fn routes(t: &mut RouteTable) {
    t.add(
        Method::GET,
        HERE,
        Guard::User,
        Doc::page("Console", "Your live sessions"),
        get(sessions_page),
    );
    t.add(
        Method::POST,
        "/app/settings/sessions/{id}/revoke",
        Guard::User,
        Doc::page("Console", "End one of your sessions").redirect(),
        post(session_revoke),
    );
    t.add(
        Method::POST,
        "/app/settings/sessions/revoke-all",
        Guard::User,
        Doc::page("Console", "End all your sessions, this one included").redirect(),
        post(session_revoke_all),
    );
}

/// A session as the page shows it.
struct Shown {
    id: String,
    kind: &'static str,
    agent: String,
    ip: String,
    created: String,
    last_seen: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "settings/sessions.html")]
struct SessionsPage {
    frame: Frame,
    shell: Shell,
    sessions: Vec<Shown>,
}

fn user_of(actor: &Actor) -> ApiResult<(&UserId, &SessionId)> {
    match &actor.principal {
        Principal::User {
            user_id,
            session_id,
            ..
        } => Ok((user_id, session_id)),
        Principal::ApiKey(_) => Err(Problem(ApiError::internal())),
    }
}

#[derive(Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

async fn sessions_page(
    State(state): State<AppState>,
    Authed(actor): Authed,
    QueryParams(query): QueryParams<DoneQuery>,
) -> ApiResult<Response> {
    let (user, session) = user_of(&actor)?;
    let mut tx = state.db.read(&actor.tenant).await?;
    let live = sessions::list(&mut tx, user, session, state.clock.now_ms()).await?;
    tx.commit().await?;
    let shown = live
        .into_iter()
        .map(|s| Shown {
            kind: if s.kind == "console" {
                "Console"
            } else {
                "API sign-in"
            },
            agent: s.user_agent.unwrap_or_else(|| "unknown".to_owned()),
            ip: s.ip.unwrap_or_default(),
            created: console::when(s.created_at),
            last_seen: console::when(s.last_seen_at),
            current: s.current,
            id: s.id,
        })
        .collect();
    let done = match query.done.as_deref() {
        Some("ended") => Some("The session has ended."),
        _ => None,
    };
    let page = SessionsPage {
        frame: Frame::new(&state, &actor, "/app/settings").await?,
        shell: Shell::new(&actor, HERE).done(done),
        sessions: shown,
    };
    Ok(console::render(StatusCode::OK, &page))
}

/// Signed out here: the cookies go, and the browser to sign-in.
fn signed_out(state: &AppState, htmx: bool) -> Response {
    let mut response = see_other("/sign-in", htmx);
    for cookie in state.cookies.clear() {
        response.headers_mut().append(SET_COOKIE, cookie);
    }
    response
}

async fn session_revoke(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let (user, current) = user_of(&actor)?;
    let id = SessionId::parse(&id).ok_or_else(|| Problem::not_found("session"))?;
    let mut tx = state.db.write(&actor.tenant).await?;
    if !sessions::revoke(&mut tx, user, &id, state.clock.now_ms()).await? {
        return Err(Problem::not_found("session"));
    }
    tx.commit().await?;
    if &id == current {
        return Ok(signed_out(&state, is_htmx(&headers)));
    }
    Ok(see_other(&format!("{HERE}?done=ended"), is_htmx(&headers)))
}

async fn session_revoke_all(
    State(state): State<AppState>,
    Authed(actor): Authed,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let (user, _) = user_of(&actor)?;
    let mut tx = state.db.write(&actor.tenant).await?;
    let ended = sessions::revoke_all(&mut tx, user, state.clock.now_ms()).await?;
    tx.commit().await?;
    tracing::info!(ended, "all sessions ended from the console");
    Ok(signed_out(&state, is_htmx(&headers)))
}
