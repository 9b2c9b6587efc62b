//! The website chat widget (helpdesk module): the embeddable script (`GET /widget.js`), its
//! public routes behind `Guard::Widget` (`/api/v1/widget/{key}/config`, `…/messages`,
//! `…/conversation`), and the admins' settings (`/api/v1/widget…`: allowed origins, key and
//! identity-secret rotation, the audited reveal). Threat note: docs/design/widget.md.

use crate::audit;
use crate::extract::{ClientInfo, JsonBody, QueryParams};
use crate::guard::Authed;
use crate::guard::{Guard, RateLimit};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::table::{Doc, QueryParam, RouteTable};
use crate::widget_guard::WidgetCaller;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, options, post, put};
use holdfast_app::helpdesk::tickets::{Opening, customer_message, open};
use holdfast_app::helpdesk::widget_settings::{
    change_widget, identity_context, reveal_identity_secret, rotate_identity_secret,
    rotate_widget_key, widget_settings,
};
use holdfast_app::metrics::Refusal;
use holdfast_core::access::modules::Module;
use holdfast_core::access::policy::Permission;
use holdfast_core::error::ErrorCode;
use holdfast_core::helpdesk::tickets::{Channel, MessageKind, MessageOut, Priority};
use holdfast_core::helpdesk::widget::{
    ConversationOut, IdentitySecretOut, MAX_BODY_BYTES, MAX_MESSAGE_CHARS, VISITOR_HEADER,
    VISITOR_PREFIX, VisitorMessage, WidgetConfigOut, WidgetMessage, WidgetMessageIn,
    WidgetSettingsIn, WidgetSettingsOut, WidgetSubmitOut, subject_for, verify_identity,
};
use holdfast_core::ids::TicketId;
use holdfast_core::token::{generate_opaque, parse_opaque};
use holdfast_store::Lock;
use holdfast_store::helpdesk::tickets::{self as tickets, Author};
use holdfast_store::helpdesk::widget as store;
use serde::Deserialize;

const ROTATE_QUERY: &[QueryParam] = &[QueryParam {
    name: "revoke_visitors",
    description: "true: end every visitor token of the workspace (visitors start new conversations)",
    integer: false,
}];

/// The embeddable script, served as is.
const WIDGET_JS: &str = include_str!("../../../assets/widget.js");

/// How often the widget asks for replies.
const POLL_SECONDS: u32 = 5;

const SECURITY: Guard = Guard::StaffStepUp {
    permission: Permission::SettingsSecurity,
};

pub fn routes(t: &mut RouteTable) {
    let doc = |summary| Doc::new("widget", summary);
    // The script is the same for every site and names no workspace, so no module can take
    // it away; the routes it calls answer 404 while the help desk is off.
    t.add(
        Method::GET,
        "/widget.js",
        Guard::Public {
            rate_limit: RateLimit::Standard,
        },
        doc("The website widget's script, to embed with the workspace's data-key")
            .text("application/javascript"),
        get(widget_js),
    );
    t.module(Module::Helpdesk, |t| {
        t.add(
            Method::GET,
            "/api/v1/widget/{key}/config",
            Guard::Widget { submit: false },
            doc("The widget form's settings and a fresh form token (from an allowed origin)")
                .response::<WidgetConfigOut>(200),
            get(widget_config),
        );
        t.add(
            Method::OPTIONS,
            "/api/v1/widget/{key}/messages",
            Guard::Widget { submit: false },
            doc("CORS preflight of a widget message (from an allowed origin)").no_content(),
            options(widget_preflight),
        );
        t.add(
            Method::POST,
            "/api/v1/widget/{key}/messages",
            Guard::Widget { submit: true },
            doc("A visitor's message: opens a ticket, or follows up with X-Holdfast-Visitor")
                .request::<WidgetMessageIn>()
                .response::<WidgetSubmitOut>(201),
            post(widget_submit),
        );
        t.add(
            Method::OPTIONS,
            "/api/v1/widget/{key}/conversation",
            Guard::Widget { submit: false },
            doc("CORS preflight of a conversation read (from an allowed origin)").no_content(),
            options(widget_preflight),
        );
        t.add(
            Method::GET,
            "/api/v1/widget/{key}/conversation",
            Guard::Widget { submit: false },
            doc("The visitor's conversation (X-Holdfast-Visitor): their messages and the team's replies")
                .response::<ConversationOut>(200),
            get(widget_conversation),
        );
        t.add(
            Method::GET,
            "/api/v1/widget",
            Guard::Staff {
                permission: Permission::SettingsSecurity,
            },
            doc("The widget's key, allowed origins and embed snippet (created on first use)")
                .response::<WidgetSettingsOut>(200),
            get(settings_get),
        );
        t.add(
            Method::PUT,
            "/api/v1/widget",
            SECURITY,
            doc("Turn the widget on or off and set its allowed origins")
                .request::<WidgetSettingsIn>()
                .response::<WidgetSettingsOut>(200),
            put(settings_put),
        );
        t.add(
            Method::POST,
            "/api/v1/widget/rotate-key",
            SECURITY,
            doc("Replace the widget's public key; the old key stops at once. With revoke_visitors=true, every visitor token ends too (their conversations stay in the help desk)")
                .query(ROTATE_QUERY)
                .response::<WidgetSettingsOut>(200),
            post(key_rotate),
        );
        t.add(
            Method::POST,
            "/api/v1/widget/identity-secret/rotate",
            SECURITY,
            doc("Make a new identity-verification secret (shown once; the old one stops at once)")
                .response::<IdentitySecretOut>(200),
            post(identity_secret_rotate),
        );
        t.add(
            Method::POST,
            "/api/v1/widget/identity-secret/reveal",
            SECURITY,
            doc("Show the identity-verification secret (audited)")
                .response::<IdentitySecretOut>(200),
            post(identity_secret_reveal),
        );
    });
}

async fn widget_js() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/javascript; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            // Loaded by other sites' pages: a same-origin resource policy would block it.
            (
                header::HeaderName::from_static("cross-origin-resource-policy"),
                HeaderValue::from_static("cross-origin"),
            ),
        ],
        WIDGET_JS,
    )
        .into_response()
}

async fn widget_config(
    State(state): State<AppState>,
    caller: WidgetCaller,
) -> Json<WidgetConfigOut> {
    Json(WidgetConfigOut {
        form_token: state.form_key.issue(&caller.key, state.clock.now_ms()),
        min_fill_seconds: state.config.widget_min_fill_seconds,
        poll_seconds: POLL_SECONDS,
        max_message_chars: MAX_MESSAGE_CHARS,
    })
}

/// The guard has already checked the origin and will add `Access-Control-Allow-Origin`.
async fn widget_preflight(_caller: WidgetCaller) -> Response {
    (
        StatusCode::NO_CONTENT,
        [
            (
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("GET, POST, OPTIONS"),
            ),
            (
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("content-type, x-holdfast-visitor"),
            ),
            (
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static("600"),
            ),
        ],
    )
        .into_response()
}

/// Every bot refusal reads the same, whatever tripped it (the reason goes to the log).
fn bot(state: &AppState, reason: &'static str) -> Problem {
    state.metrics.widget_refused(Refusal::Bot.as_str());
    tracing::info!(reason, "widget message refused as automated");
    Problem::new(
        ErrorCode::Validation,
        "the form was sent too quickly or looks automated; please try again",
    )
}

fn identity_refused(state: &AppState, reason: &'static str) -> Problem {
    state.metrics.widget_refused(Refusal::Identity.as_str());
    tracing::warn!(
        reason,
        "widget message with an unverifiable identity refused"
    );
    Problem::new(
        ErrorCode::Forbidden,
        "the signed-in user could not be verified (user_id needs a valid user_hash); reload the page and try again",
    )
}

/// Reads at most [`MAX_BODY_BYTES`] of JSON: 413, 415, 400 or 422 with a helpful detail.
async fn read_submission(headers: &HeaderMap, body: Body) -> ApiResult<WidgetMessageIn> {
    let is_json = crate::extract::is_json(headers);
    if !is_json {
        return Err(Problem::new(
            ErrorCode::UnsupportedMediaType,
            "send the message as JSON with 'Content-Type: application/json'",
        ));
    }
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| {
            Problem::new(
                ErrorCode::PayloadTooLarge,
                format!("a widget message is at most {MAX_BODY_BYTES} bytes in all"),
            )
        })?;
    crate::extract::parse_json::<WidgetMessageIn>(&bytes)
}

/// The SHA-256 of the visitor token in the request, if one was sent; a malformed one is
/// the same 404 as an unknown one.
fn visitor_hash(headers: &HeaderMap) -> ApiResult<Option<String>> {
    let Some(value) = headers.get(VISITOR_HEADER) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(|v| parse_opaque(VISITOR_PREFIX, v.trim()))
        .map(Some)
        .ok_or_else(unknown_conversation)
}

/// How often reading a conversation records the token's use.
const TOUCH_EVERY_MS: i64 = 60 * 60 * 1000;

/// The oldest last use a live visitor token may have: `widget_visitor_idle_days` ago.
fn used_since(state: &AppState, now: i64) -> i64 {
    now.saturating_sub(i64::from(state.config.widget_visitor_idle_days) * 24 * 60 * 60 * 1000)
}

/// An unknown, expired or revoked visitor token: one answer for all three.
fn unknown_conversation() -> Problem {
    Problem::new(
        ErrorCode::NotFound,
        "no conversation for this visitor token; start a new one by sending a message without it",
    )
}

/// The visitor's view of a stored message; `None` for what the visitor must never see.
fn visitor_view(m: &MessageOut) -> Option<VisitorMessage> {
    let from = match MessageKind::parse(&m.kind)? {
        MessageKind::Inbound => "visitor",
        MessageKind::Reply => "team",
        MessageKind::Note => return None,
    };
    Some(VisitorMessage {
        id: m.id.clone(),
        from,
        body: m.body.clone(),
        created_at: m.created_at,
    })
}

async fn widget_submit(
    State(state): State<AppState>,
    caller: WidgetCaller,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<WidgetSubmitOut>)> {
    let input = read_submission(&headers, body).await?;
    let now = state.clock.now_ms();
    refuse_bots(&state, &caller, &input, now)?;
    let message = input.validate().map_err(Problem::validation)?;
    let user_id = verified_user(&state, &caller, &input)?;
    let token_hash = visitor_hash(&headers)?;
    let mut tx = state.db.write(&caller.tenant).await?;
    let identity_contact = match &user_id {
        Some(user_id) => store::identity_contact(&mut tx, user_id).await?,
        None => None,
    };
    let (visitor_token, stored) = match token_hash {
        Some(hash) => {
            let stored = continue_conversation(
                &mut tx,
                &state,
                &hash,
                user_id.is_some(),
                identity_contact.as_deref(),
                &message,
                now,
            )
            .await?;
            // The same conversation: the visitor keeps the token they sent.
            let sent = headers
                .get(VISITOR_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.trim().to_owned());
            (sent, stored)
        }
        None => {
            let (token, stored) =
                start_conversation(&mut tx, user_id.as_deref(), identity_contact, &message, now)
                    .await?;
            (Some(token), stored)
        }
    };
    tx.commit().await?;
    let Some(message) = visitor_view(&stored) else {
        return Err(Problem(holdfast_core::error::ApiError::internal()));
    };
    Ok((
        StatusCode::CREATED,
        Json(WidgetSubmitOut {
            visitor_token: visitor_token.unwrap_or_default(),
            message,
        }),
    ))
}

/// Whether a submission passes the bot checks: an empty honeypot and a form token of this key
/// that was served long enough ago.
fn refuse_bots(
    state: &AppState,
    caller: &WidgetCaller,
    input: &WidgetMessageIn,
    now: i64,
) -> ApiResult<()> {
    if input.honeypot_filled() {
        return Err(bot(state, "honeypot"));
    }
    let min_fill_ms = i64::from(state.config.widget_min_fill_seconds) * 1000;
    if let Err(why) =
        state
            .form_key
            .check(&caller.key, input.form_token.as_deref(), now, min_fill_ms)
    {
        return Err(bot(state, why.as_str()));
    }
    Ok(())
}

/// The site's signed-in user, when the submission names one with a hash the workspace's
/// identity secret verifies; a missing, unverifiable or wrong hash is refused.
fn verified_user(
    state: &AppState,
    caller: &WidgetCaller,
    input: &WidgetMessageIn,
) -> ApiResult<Option<String>> {
    match (&input.user_id, &input.user_hash) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err(Problem::field(
            ErrorCode::Validation,
            "user_hash",
            "is sent only with user_id",
        )),
        (Some(_), None) => Err(identity_refused(state, "hash_missing")),
        (Some(user_id), Some(hash)) => {
            let Some(sealed) = &caller.identity_secret_sealed else {
                return Err(identity_refused(state, "no_secret"));
            };
            let Some(secret) = state
                .sealer
                .open(sealed, &identity_context(&caller.tenant))
                .and_then(|b| String::from_utf8(b).ok())
            else {
                tracing::error!(
                    "a workspace's widget identity secret cannot be opened with this master key"
                );
                return Err(identity_refused(state, "secret_unusable"));
            };
            if !verify_identity(&secret, user_id, hash) {
                return Err(identity_refused(state, "bad_hash"));
            }
            Ok(Some(user_id.to_owned()))
        }
    }
}

/// Adds the message to the conversation a live visitor token opens, as every customer message
/// is added (`holdfast_app::helpdesk::tickets::customer_message`, which publishes its events);
/// a verified user may write only into their own contact's conversations.
async fn continue_conversation(
    tx: &mut holdfast_store::TenantTx<'_>,
    state: &AppState,
    token_hash: &str,
    verified: bool,
    identity_contact: Option<&str>,
    message: &WidgetMessage,
    now: i64,
) -> ApiResult<MessageOut> {
    let store::Visitor {
        ticket_id,
        contact_id,
        ..
    } = store::visitor(tx, token_hash, used_since(state, now))
        .await?
        .ok_or_else(unknown_conversation)?;
    store::touch_visitor(tx, token_hash, now).await?;
    // A verified user writes only into their own conversations.
    if verified && identity_contact != Some(contact_id.as_str()) {
        return Err(identity_refused(state, "token_of_another_contact"));
    }
    let ticket = TicketId::from_trusted(ticket_id);
    Ok(customer_message(tx, &ticket, &contact_id, &message.message, now).await?)
}

/// A new conversation for a visitor without a token, under the verified user's contact (linked
/// on first use) or a new contact; returns the new visitor token and the message.
async fn start_conversation(
    tx: &mut holdfast_store::TenantTx<'_>,
    user_id: Option<&str>,
    identity_contact: Option<String>,
    message: &WidgetMessage,
    now: i64,
) -> ApiResult<(String, MessageOut)> {
    let contact = match (user_id, identity_contact) {
        (Some(_), Some(contact)) => contact,
        (Some(user_id), None) => {
            let contact =
                store::create_contact(tx, message.name.as_deref(), message.email.as_deref(), now)
                    .await?;
            // A first message from another tab may have linked this user meanwhile:
            // theirs stands and the contact made here goes.
            store::link_identity(tx, user_id, &contact, now).await?
        }
        (None, _) => store::create_contact(tx, message.name.as_deref(), None, now).await?,
    };
    let (token, stored) = open_conversation(tx, message, &contact, now).await?;
    let claimed = if user_id.is_none() {
        message.email.as_deref()
    } else {
        None
    };
    store::add_visitor(tx, &token.1, &stored.ticket_id, &contact, claimed, now).await?;
    Ok((token.0, stored))
}

/// A new ticket (channel `widget`) with the visitor's first message, opened as every ticket is
/// (`holdfast_app::helpdesk::tickets::open`, which publishes its events); returns the new
/// visitor token (text, SHA-256) and the message.
async fn open_conversation(
    tx: &mut holdfast_store::TenantTx<'_>,
    message: &WidgetMessage,
    contact: &str,
    now: i64,
) -> ApiResult<((String, String), MessageOut)> {
    let subject = subject_for(message);
    let (_, stored) = open(
        tx,
        &Opening {
            subject: &subject,
            priority: Priority::Normal,
            tags: &[],
            channel: Channel::Widget,
            contact,
            message: &message.message,
        },
        &Author {
            kind: "contact",
            id: Some(contact),
        },
        now,
    )
    .await?;
    let (token, hash) = generate_opaque(VISITOR_PREFIX);
    Ok(((token.expose().clone(), hash), stored))
}

async fn widget_conversation(
    State(state): State<AppState>,
    caller: WidgetCaller,
    headers: HeaderMap,
) -> ApiResult<Json<ConversationOut>> {
    let hash = visitor_hash(&headers)?.ok_or_else(unknown_conversation)?;
    let now = state.clock.now_ms();
    let mut tx = state.db.read(&caller.tenant).await?;
    let visitor = store::visitor(&mut tx, &hash, used_since(&state, now))
        .await?
        .ok_or_else(unknown_conversation)?;
    let ticket_id = TicketId::from_trusted(visitor.ticket_id);
    let ticket = tickets::get(&mut tx, &ticket_id, Lock::Read)
        .await?
        .ok_or_else(unknown_conversation)?;
    let messages = tickets::messages(&mut tx, &ticket_id).await?;
    tx.commit().await?;
    // The widget polls every few seconds: a read moves the idle clock at most once an hour,
    // so polling stays a read.
    if now.saturating_sub(visitor.last_used_at) >= TOUCH_EVERY_MS {
        let mut tx = state.db.write(&caller.tenant).await?;
        store::touch_visitor(&mut tx, &hash, now).await?;
        tx.commit().await?;
    }
    Ok(Json(ConversationOut {
        status: ticket.status,
        messages: messages.iter().filter_map(visitor_view).collect(),
    }))
}

async fn settings_get(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> ApiResult<Json<WidgetSettingsOut>> {
    Ok(Json(widget_settings(&state, &actor).await?))
}

async fn settings_put(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    body: JsonBody<WidgetSettingsIn>,
) -> ApiResult<Json<WidgetSettingsOut>> {
    let change = body.value.validate().map_err(Problem::validation)?;
    let origin = audit::origin(&actor, &client);
    Ok(Json(change_widget(&state, &actor, &origin, change).await?))
}

/// `POST /api/v1/widget/rotate-key?revoke_visitors=true`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RotateQuery {
    revoke_visitors: Option<String>,
}

async fn key_rotate(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    QueryParams(query): QueryParams<RotateQuery>,
) -> ApiResult<Json<WidgetSettingsOut>> {
    let revoke = match query.revoke_visitors.as_deref().map(str::trim) {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return Err(Problem::field(
                ErrorCode::Validation,
                "revoke_visitors",
                "must be true (end every visitor's conversation token) or false",
            ));
        }
    };
    let origin = audit::origin(&actor, &client);
    Ok(Json(
        rotate_widget_key(&state, &actor, &origin, revoke).await?,
    ))
}

async fn identity_secret_rotate(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
) -> ApiResult<Json<IdentitySecretOut>> {
    let origin = audit::origin(&actor, &client);
    Ok(Json(IdentitySecretOut {
        identity_secret: rotate_identity_secret(&state, &actor, &origin).await?,
    }))
}

async fn identity_secret_reveal(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
) -> ApiResult<Json<IdentitySecretOut>> {
    let origin = audit::origin(&actor, &client);
    Ok(Json(IdentitySecretOut {
        identity_secret: reveal_identity_secret(&state, &actor, &origin).await?,
    }))
}
