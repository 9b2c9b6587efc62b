//! `/app/workspaces`: the workspace switcher, for a person who belongs to several. It lists
//! their workspaces; switching signs them out of this one and into the sign-in form with the
//! other filled in, where they give their password (and code) again. A session belongs to one
//! workspace, and a session someone stole from one must not open the others.

use crate::console::{self, Frame, see_other};
use crate::guard::{Authed, Guard};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use holdfast_store::access::members::{Belonging, unscoped_workspaces_of};
use holdfast_store::identity::auth::{Actor, Principal};
use holdfast_store::identity::sessions;
use serde::Deserialize;

pub fn routes(t: &mut RouteTable) {
    t.add(
        Method::GET,
        "/app/workspaces",
        Guard::User,
        Doc::page("Console", "Your workspaces: switch to another"),
        get(workspaces_page),
    );
    t.add(
        Method::POST,
        "/app/workspaces/switch",
        Guard::User,
        Doc::page(
            "Console",
            "Switch workspace: sign out here, then sign in to the other",
        )
        .redirect(),
        post(switch),
    );
}

#[derive(Template)]
#[template(path = "workspaces.html")]
struct WorkspacesPage {
    frame: Frame,
    current: String,
    workspaces: Vec<Belonging>,
}

#[derive(Deserialize)]
struct SwitchForm {
    workspace: String,
}

/// The person's workspaces (a `Guard::User` route has a person).
async fn belongings(state: &AppState, actor: &Actor) -> ApiResult<Vec<Belonging>> {
    match &actor.principal {
        Principal::User { user_id, .. } => {
            Ok(unscoped_workspaces_of(&state.db, user_id.as_str()).await?)
        }
        Principal::ApiKey(_) => Ok(Vec::new()),
    }
}

async fn workspaces_page(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> ApiResult<Response> {
    let workspaces = belongings(&state, &actor).await?;
    let page = WorkspacesPage {
        frame: Frame::new(&state, &actor, "/app/workspaces").await?,
        current: actor.tenant.workspace_id().to_string(),
        workspaces,
    };
    Ok(console::render(StatusCode::OK, &page))
}

async fn switch(
    State(state): State<AppState>,
    Authed(actor): Authed,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let form: SwitchForm = console::form(&headers, &body)?;
    let to = belongings(&state, &actor)
        .await?
        .into_iter()
        .find(|w| w.slug == form.workspace.trim())
        .ok_or_else(|| Problem::not_found("workspace of yours"))?;
    if let Principal::User {
        user_id,
        session_id,
        ..
    } = &actor.principal
    {
        let mut tx = state.db.write(&actor.tenant).await?;
        sessions::revoke(&mut tx, user_id, session_id, state.clock.now_ms()).await?;
        tx.commit().await?;
    }
    let mut response = see_other(
        &format!("/sign-in?workspace={}", to.slug),
        console::is_htmx(&headers),
    );
    for cookie in state.cookies.clear() {
        response.headers_mut().append(SET_COOKIE, cookie);
    }
    Ok(response)
}
