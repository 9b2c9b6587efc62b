//! `/app/settings`: the settings pages the person's role may open, each with what it is for.

use crate::console::settings::Shell;
use crate::console::{self, Frame};
use crate::guard::{Authed, Guard};
use crate::problem::ApiResult;
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use askama::Template;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::get;

pub fn routes(t: &mut RouteTable) {
    t.add(
        Method::GET,
        "/app/settings",
        Guard::User,
        Doc::page("Console", "The settings pages the person may open"),
        get(settings_index),
    );
}

#[derive(Template)]
#[template(path = "settings/index.html")]
struct IndexPage {
    frame: Frame,
    shell: Shell,
}

async fn settings_index(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> ApiResult<Response> {
    let page = IndexPage {
        frame: Frame::new(&state, &actor, "/app/settings").await?,
        shell: Shell::new(&actor, "/app/settings"),
    };
    Ok(console::render(StatusCode::OK, &page))
}
