//! `/app/settings/invoicing` and `/app/settings/payments` (module `invoicing`): the
//! workspace's invoicing settings — the business as printed, number prefixes and sequences,
//! terms, currency, payment instructions — seen with `invoices.read` and changed with
//! `invoices.write` and a step-up (payment instructions tell customers where to send money),
//! as `PUT /api/v1/invoicing/settings`; and its payment accounts (Stripe, Square, Mercado
//! Pago): connected with the secret typed once, shown afterwards only by its last four
//! characters, disconnected — both by `workspace.manage` with a step-up, as
//! `/api/v1/invoicing/payment-accounts/{provider}`. Everything goes through
//! `holdfast_app::invoicing`.

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
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use holdfast_app::invoicing::invoices as app;
use holdfast_app::invoicing::payments;
use holdfast_core::access::modules::Module;
use holdfast_core::access::policy::Permission;
use holdfast_core::error::ErrorCode;
use holdfast_core::invoicing::invoices::SettingsBody;
use holdfast_core::invoicing::payments::{AccountIn, AccountProvider};
use holdfast_core::validate::FieldError;
use holdfast_store::identity::auth::Actor;
use serde::Deserialize;

const INVOICING: &str = "/app/settings/invoicing";
const PAYMENTS: &str = "/app/settings/payments";
const SEE: Guard = Guard::Staff {
    permission: Permission::InvoicesRead,
};

pub fn routes(t: &mut RouteTable) {
    t.module(Module::Invoicing, |t| {
        t.add(
            Method::GET,
            INVOICING,
            SEE,
            Doc::page("Console", "The workspace's invoicing settings"),
            get(invoicing_page),
        );
        t.add(
            Method::POST,
            INVOICING,
            // As the API's PUT: where customers send money is changed only after a step-up.
            Guard::StaffStepUp {
                permission: Permission::InvoicesWrite,
            },
            Doc::page("Console", "Change the invoicing settings").redirect(),
            post(invoicing_save),
        );
        t.add(
            Method::GET,
            PAYMENTS,
            SEE,
            Doc::page("Console", "The workspace's payment accounts"),
            get(payments_page),
        );
        t.add(
            Method::POST,
            PAYMENTS,
            Guard::StaffStepUp {
                permission: Permission::WorkspaceManage,
            },
            Doc::page("Console", "Connect a payment account (its key is sealed)").redirect(),
            post(account_connect),
        );
        t.add(
            Method::POST,
            "/app/settings/payments/disconnect",
            Guard::StaffStepUp {
                permission: Permission::WorkspaceManage,
            },
            Doc::page("Console", "Disconnect a payment account").redirect(),
            post(account_disconnect),
        );
    });
}

#[derive(Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

/// The settings form's fields, as text (numbers are read here, the rest by the API's rules).
#[derive(Deserialize, Default)]
struct SettingsForm {
    #[serde(default)]
    business_name: String,
    #[serde(default)]
    business_details: String,
    #[serde(default)]
    invoice_prefix: String,
    #[serde(default)]
    credit_note_prefix: String,
    #[serde(default)]
    next_invoice_number: String,
    #[serde(default)]
    next_credit_note_number: String,
    #[serde(default)]
    payment_terms_days: String,
    #[serde(default)]
    currency: String,
    #[serde(default)]
    payment_instructions: String,
    #[serde(default)]
    footer: String,
}

impl SettingsForm {
    fn of(s: &SettingsBody) -> SettingsForm {
        SettingsForm {
            business_name: s.business_name.clone().unwrap_or_default(),
            business_details: s.business_details.clone().unwrap_or_default(),
            invoice_prefix: s.invoice_prefix.clone(),
            credit_note_prefix: s.credit_note_prefix.clone(),
            next_invoice_number: s.next_invoice_number.to_string(),
            next_credit_note_number: s.next_credit_note_number.to_string(),
            payment_terms_days: s.payment_terms_days.to_string(),
            currency: s.currency.clone(),
            payment_instructions: s.payment_instructions.clone().unwrap_or_default(),
            footer: s.footer.clone().unwrap_or_default(),
        }
    }

    /// The API's body, or every number that is not one.
    fn body(&self) -> Result<SettingsBody, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut number = |field: &str, text: &str| match text.trim().parse::<i64>() {
            Ok(n) => n,
            Err(_) => {
                errors.push(FieldError::new(field, "must be a whole number"));
                0
            }
        };
        let next_invoice_number = number("next_invoice_number", &self.next_invoice_number);
        let next_credit_note_number =
            number("next_credit_note_number", &self.next_credit_note_number);
        let payment_terms_days = number("payment_terms_days", &self.payment_terms_days);
        if !errors.is_empty() {
            return Err(errors);
        }
        let optional = |text: &str| Some(text.to_owned()).filter(|t| !t.trim().is_empty());
        Ok(SettingsBody {
            invoice_prefix: self.invoice_prefix.clone(),
            credit_note_prefix: self.credit_note_prefix.clone(),
            next_invoice_number,
            next_credit_note_number,
            payment_terms_days,
            currency: self.currency.clone(),
            business_name: optional(&self.business_name),
            business_details: optional(&self.business_details),
            payment_instructions: optional(&self.payment_instructions),
            footer: optional(&self.footer),
        })
    }
}

#[derive(Template)]
#[template(path = "settings/invoicing.html")]
struct InvoicingPage {
    frame: Frame,
    shell: Shell,
    may_change: bool,
    form: SettingsForm,
}

async fn render_invoicing(
    state: &AppState,
    actor: &Actor,
    status: StatusCode,
    shell: Shell,
    sent: Option<SettingsForm>,
) -> ApiResult<Response> {
    let form = match sent {
        Some(form) => form,
        None => SettingsForm::of(&app::settings(state, actor).await?),
    };
    let page = InvoicingPage {
        frame: Frame::new(state, actor, "/app/settings").await?,
        shell,
        may_change: actor.role.grants(Permission::InvoicesWrite),
        form,
    };
    Ok(console::render(status, &page))
}

async fn invoicing_page(
    State(state): State<AppState>,
    Authed(actor): Authed,
    QueryParams(query): QueryParams<DoneQuery>,
) -> ApiResult<Response> {
    let done = (query.done.as_deref() == Some("saved")).then_some("Saved.");
    let shell = Shell::new(&actor, INVOICING).done(done);
    render_invoicing(&state, &actor, StatusCode::OK, shell, None).await
}

async fn invoicing_save(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let form: SettingsForm = console::form(&headers, &body)?;
    let saved = match form.body() {
        Err(errors) => Err(Problem::validation(errors)),
        Ok(body) => {
            let origin = audit::origin(&actor, &client);
            app::save_settings(&state, &actor, &origin, &body)
                .await
                .map(|_| ())
                .map_err(Problem)
        }
    };
    match saved {
        Ok(()) => Ok(see_other(
            &format!("{INVOICING}?done=saved"),
            is_htmx(&headers),
        )),
        Err(problem) => {
            let (status, message) = console::explain(&problem);
            let shell = Shell::new(&actor, INVOICING).error(message);
            render_invoicing(&state, &actor, status, shell, Some(form)).await
        }
    }
}

/// A provider as the payments page shows it.
struct ProviderRow {
    id: &'static str,
    name: &'static str,
    about: &'static str,
    /// The key's last four characters, when connected.
    key_hint: Option<String>,
    location_id: String,
    connected: String,
    square: bool,
}

#[derive(Template)]
#[template(path = "settings/payments.html")]
struct PaymentsPage {
    frame: Frame,
    shell: Shell,
    may_change: bool,
    providers: Vec<ProviderRow>,
}

fn provider_words(provider: AccountProvider) -> (&'static str, &'static str) {
    match provider {
        AccountProvider::Stripe => (
            "Stripe",
            "Checkout Sessions for an invoice's balance. A restricted key (rk_live_… or rk_test_…) allowed to write Checkout Sessions; a full secret key is refused.",
        ),
        AccountProvider::Square => (
            "Square",
            "Payment links for an invoice's balance. An access token, and the location payments are taken at.",
        ),
        AccountProvider::Mercadopago => (
            "Mercado Pago",
            "Payments looked up when Mercado Pago notifies. An access token (APP_USR-… or TEST-…).",
        ),
    }
}

async fn render_payments(
    state: &AppState,
    actor: &Actor,
    status: StatusCode,
    shell: Shell,
) -> ApiResult<Response> {
    let accounts = payments::accounts(state, actor).await?;
    let providers = AccountProvider::ALL
        .iter()
        .map(|p| {
            let (name, about) = provider_words(*p);
            let account = accounts.iter().find(|a| a.provider == *p);
            ProviderRow {
                id: p.as_str(),
                name,
                about,
                key_hint: account.map(|a| a.key_hint.clone()),
                location_id: account
                    .and_then(|a| a.location_id.clone())
                    .unwrap_or_default(),
                connected: account
                    .map(|a| console::when(a.connected_at))
                    .unwrap_or_default(),
                square: *p == AccountProvider::Square,
            }
        })
        .collect();
    let page = PaymentsPage {
        frame: Frame::new(state, actor, "/app/settings").await?,
        shell,
        may_change: actor.role.grants(Permission::WorkspaceManage),
        providers,
    };
    Ok(console::render(status, &page))
}

async fn payments_page(
    State(state): State<AppState>,
    Authed(actor): Authed,
    QueryParams(query): QueryParams<DoneQuery>,
) -> ApiResult<Response> {
    let done = match query.done.as_deref() {
        Some("connected") => Some(
            "Connected. The key is sealed; only its last four characters are shown from now on.",
        ),
        Some("disconnected") => Some("Disconnected."),
        _ => None,
    };
    let shell = Shell::new(&actor, PAYMENTS).done(done);
    render_payments(&state, &actor, StatusCode::OK, shell).await
}

#[derive(Deserialize, Default)]
struct AccountForm {
    #[serde(default)]
    provider: String,
    #[serde(default)]
    secret_key: String,
    location_id: Option<String>,
}

fn provider_of(form: &AccountForm) -> Result<AccountProvider, Problem> {
    AccountProvider::parse(form.provider.trim()).ok_or_else(|| {
        Problem::field(
            ErrorCode::Validation,
            "provider",
            "is not a payment provider Holdfast connects (stripe, square, mercadopago)",
        )
    })
}

async fn account_connect(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let form: AccountForm = console::form(&headers, &body)?;
    let connected = match provider_of(&form) {
        Err(problem) => Err(problem),
        Ok(provider) => {
            let origin = audit::origin(&actor, &client);
            let account = AccountIn {
                secret_key: form.secret_key.clone(),
                location_id: form.location_id.clone().filter(|l| !l.trim().is_empty()),
            };
            payments::connect(&state, &actor, &origin, provider, &account)
                .await
                .map(|_| ())
                .map_err(Problem)
        }
    };
    match connected {
        Ok(()) => Ok(see_other(
            &format!("{PAYMENTS}?done=connected"),
            is_htmx(&headers),
        )),
        Err(problem) => {
            // The key typed is never sent back.
            let (status, message) = console::explain(&problem);
            let shell = Shell::new(&actor, PAYMENTS).error(message);
            render_payments(&state, &actor, status, shell).await
        }
    }
}

async fn account_disconnect(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let form: AccountForm = console::form(&headers, &body)?;
    let outcome = match provider_of(&form) {
        Err(problem) => Err(problem),
        Ok(provider) => {
            let origin = audit::origin(&actor, &client);
            match payments::disconnect(&state, &actor, &origin, provider).await {
                Ok(true) => Ok(()),
                Ok(false) => Err(Problem::new(
                    ErrorCode::NotFound,
                    "no account with this provider is connected",
                )),
                Err(e) => Err(Problem(e)),
            }
        }
    };
    match outcome {
        Ok(()) => Ok(see_other(
            &format!("{PAYMENTS}?done=disconnected"),
            is_htmx(&headers),
        )),
        Err(problem) => {
            let (status, message) = console::explain(&problem);
            let shell = Shell::new(&actor, PAYMENTS).error(message);
            render_payments(&state, &actor, status, shell).await
        }
    }
}
