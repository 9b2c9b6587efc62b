//! `/app/settings/profile`: who the person is signed in as, changing their password
//! (`holdfast_app::identity::account::change_password`: the current password and code, the
//! policy, every other session ended), and deleting their account
//! (`holdfast_app::identity::account::delete_account`, as `POST /api/v1/auth/account/delete`:
//! the password and code on the request itself, never a workspace's last owner), after typing
//! their email to confirm.

use crate::audit;
use crate::console::settings::Shell;
use crate::console::{self, Frame, is_htmx, see_other};
use crate::extract::{ClientInfo, QueryParams};
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
use holdfast_app::identity::account::{change_password, delete_account};
use holdfast_app::identity::second_factor::enabled;
use holdfast_core::error::ErrorCode;
use holdfast_store::identity::auth::Actor;
use serde::Deserialize;

const HERE: &str = "/app/settings/profile";

pub fn routes(t: &mut RouteTable) {
    t.add(
        Method::GET,
        HERE,
        Guard::User,
        Doc::page("Console", "Your profile and the password form"),
        get(profile_page),
    );
    t.add(
        Method::POST,
        "/app/settings/password",
        Guard::User,
        Doc::page("Console", "Change your password").redirect(),
        post(password_change),
    );
    // As the API's deletion: a signed-in person's own account, the password (and code) in the
    // form itself rather than an earlier step-up.
    t.add(
        Method::POST,
        "/app/settings/account/delete",
        Guard::User,
        Doc::page(
            "Console",
            "Delete your account: your email, password and code, every time",
        )
        .redirect(),
        post(account_delete),
    );
}

#[derive(Template)]
#[template(path = "settings/profile.html")]
struct ProfilePage {
    frame: Frame,
    shell: Shell,
    role: String,
    two_factor: bool,
}

#[derive(Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

async fn page(state: &AppState, actor: &Actor, shell: Shell) -> ApiResult<ProfilePage> {
    let two_factor = match actor.user_id() {
        Some(user) => enabled(state, user.as_str()).await?,
        None => false,
    };
    Ok(ProfilePage {
        frame: Frame::new(state, actor, "/app/settings").await?,
        shell,
        role: actor.role.as_str().to_owned(),
        two_factor,
    })
}

async fn profile_page(
    State(state): State<AppState>,
    Authed(actor): Authed,
    QueryParams(query): QueryParams<DoneQuery>,
) -> ApiResult<Response> {
    let done = match query.done.as_deref() {
        Some("password") => Some("Your password is changed. Your other sessions have ended."),
        _ => None,
    };
    let shell = Shell::new(&actor, HERE).done(done);
    Ok(console::render(
        StatusCode::OK,
        &page(&state, &actor, shell).await?,
    ))
}

#[derive(Deserialize)]
struct PasswordForm {
    current_password: String,
    new_password: String,
    new_password_again: String,
    totp_code: Option<String>,
}

async fn password_change(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let form: PasswordForm = console::form(&headers, &body)?;
    let changed = if form.new_password != form.new_password_again {
        Err(Problem::field(
            ErrorCode::Validation,
            "new_password_again",
            "is not the same as the new password",
        ))
    } else {
        let code = form.totp_code.as_deref().filter(|c| !c.trim().is_empty());
        change_password(
            &state,
            &actor,
            &audit::origin(&actor, &client),
            form.current_password,
            code,
            form.new_password,
        )
        .await
        .map_err(Problem)
    };
    match changed {
        Ok(()) => Ok(see_other(
            &format!("{HERE}?done=password"),
            is_htmx(&headers),
        )),
        Err(refused) => {
            let (status, message) = console::explain(&refused);
            let shell = Shell::new(&actor, HERE).error(message);
            Ok(console::render(status, &page(&state, &actor, shell).await?))
        }
    }
}

#[derive(Deserialize)]
struct DeleteForm {
    #[serde(default)]
    confirm_email: String,
    #[serde(default)]
    password: String,
    totp_code: Option<String>,
}

/// Deletes the person's account once they typed its email: their sessions end with it, and the
/// browser's cookies are cleared on the way to the sign-in page. A refusal (the wrong password
/// or code, the only owner of a workspace) is shown on the profile page, nothing deleted.
async fn account_delete(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let form: DeleteForm = console::form(&headers, &body)?;
    let email = match actor.user_id() {
        Some(user) => holdfast_store::identity::two_factor::account(&state.db, user.as_str())
            .await?
            .map(|(email, _)| email)
            .unwrap_or_default(),
        None => String::new(),
    };
    let deleted = if email.is_empty() || !form.confirm_email.trim().eq_ignore_ascii_case(&email) {
        Err(Problem::field(
            ErrorCode::Validation,
            "confirm_email",
            "type your account's email exactly, to show you mean to delete it",
        ))
    } else {
        let code = form.totp_code.as_deref().filter(|c| !c.trim().is_empty());
        delete_account(
            &state,
            &actor,
            &audit::origin(&actor, &client),
            form.password,
            code,
        )
        .await
        .map_err(Problem)
    };
    match deleted {
        Ok(()) => {
            let mut response = see_other("/sign-in?done=account_deleted", is_htmx(&headers));
            for cookie in state.cookies.clear() {
                response.headers_mut().append(SET_COOKIE, cookie);
            }
            Ok(response)
        }
        Err(refused) => {
            let (status, message) = console::explain(&refused);
            let shell = Shell::new(&actor, HERE).error(message);
            Ok(console::render(status, &page(&state, &actor, shell).await?))
        }
    }
}
