//! Online payments (module `invoicing`): the workspace's own payment accounts
//! (`/api/v1/invoicing/payment-accounts`, keys sealed and never shown again, changed with
//! step-up by `workspace.manage`) and checkouts for an invoice's open amount
//! (`POST /api/v1/invoices/{id}/checkout`). Payments themselves are recorded only by the
//! providers' verified webhooks (`/hooks/{provider}/{workspace_slug}`).

use crate::audit;
use crate::extract::{ClientInfo, JsonBody};
use crate::guard::{Authed, Guard};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::routing::{get, post, put};
use holdfast_app::invoicing::payments as app;
use holdfast_core::access::policy::Permission;
use holdfast_core::error::ErrorCode;
use holdfast_core::invoicing::payments::{AccountIn, AccountOut, AccountProvider, CheckoutOut};
use serde::Serialize;

const MANAGE: Guard = Guard::StaffStepUp {
    permission: Permission::WorkspaceManage,
};

/// The connected accounts.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct AccountsOut {
    pub data: Vec<AccountOut>,
}

pub fn routes(t: &mut RouteTable) {
    let doc = |summary| Doc::new("invoices", summary);
    t.add(
        Method::GET,
        "/api/v1/invoicing/payment-accounts",
        Guard::Staff {
            permission: Permission::InvoicesRead,
        },
        doc("The payment accounts this workspace has connected (never their keys)")
            .response::<AccountsOut>(200),
        get(accounts_list),
    );
    t.add(
        Method::PUT,
        "/api/v1/invoicing/payment-accounts/{provider}",
        MANAGE,
        doc("Connect the workspace's own Stripe, Square or Mercado Pago account (the key is sealed and never shown again)")
            .request::<AccountIn>()
            .response::<AccountOut>(200),
        put(account_set),
    );
    t.add(
        Method::DELETE,
        "/api/v1/invoicing/payment-accounts/{provider}",
        MANAGE,
        doc("Disconnect a payment account").no_content(),
        axum::routing::delete(account_delete),
    );
    t.add(
        Method::POST,
        "/api/v1/invoices/{id}/checkout",
        Guard::Staff {
            permission: Permission::InvoicesWrite,
        },
        doc("Open a checkout for the invoice's open amount with the connected Stripe (or Square) account")
            .response::<CheckoutOut>(201),
        post(checkout_open),
    );
}

fn provider(text: &str) -> Result<AccountProvider, Problem> {
    AccountProvider::parse(text).ok_or_else(|| {
        Problem::field(
            ErrorCode::NotFound,
            "provider",
            "is not a payment provider Holdfast connects (stripe, square, mercadopago)",
        )
    })
}

async fn accounts_list(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> ApiResult<Json<AccountsOut>> {
    Ok(Json(AccountsOut {
        data: app::accounts(&state, &actor).await?,
    }))
}

async fn account_set(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(name): Path<String>,
    body: JsonBody<AccountIn>,
) -> ApiResult<Json<AccountOut>> {
    let provider = provider(&name)?;
    let origin = audit::origin(&actor, &client);
    Ok(Json(
        app::connect(&state, &actor, &origin, provider, &body.value).await?,
    ))
}

async fn account_delete(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    let provider = provider(&name)?;
    let origin = audit::origin(&actor, &client);
    if app::disconnect(&state, &actor, &origin, provider).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Problem::new(
            ErrorCode::NotFound,
            "no account with this provider is connected",
        ))
    }
}

async fn checkout_open(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<CheckoutOut>)> {
    let origin = audit::origin(&actor, &client);
    let return_to = state.config.public_url.clone();
    let out = app::checkout_for_staff(&state, &actor, &origin, &id, &return_to).await?;
    Ok((StatusCode::CREATED, Json(out)))
}
