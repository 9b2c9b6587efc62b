//! Inbound provider webhooks: the receiver `POST /hooks/{provider}/{workspace_slug}` (behind
//! the signature guard), the workspace's secrets per provider (`/api/v1/inbound-hooks`), the
//! received events (`/api/v1/inbound-events`), and the job that handles a received event.

use crate::audit;
use crate::extract::{ClientInfo, JsonBody, QueryParams};
use crate::guard::Authed;
use crate::guard::Guard;
use crate::paging::{CURSOR, LIMIT, Page, page_of, page_params};
use crate::problem::{ApiResult, Problem};
use crate::signed::VerifiedHook;
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::routing::{delete, get, post, put};
use holdfast_app::webhooks::receivers::{
    Receiver, provider_filter, received_events, receivers, remove_secret, set_secret,
};
use holdfast_core::access::modules::Module;
use holdfast_core::access::policy::Permission;
use holdfast_core::token::sha256_hex;
use holdfast_core::webhooks::inbound::{InboundEventOut, Provider};
use holdfast_store::webhooks::inbound::{self as store, NewInbound};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub fn routes(t: &mut RouteTable) {
    let doc = |summary| Doc::new("inbound-hooks", summary);
    t.module(Module::Automation, |t| {
        // The receiver is public by nature; its guard is the signature. The module is
        // checked by the guard once the slug names the workspace, and refused like a bad
        // signature (401), so the receiver tells nothing about workspaces.
        t.add(
            Method::POST,
            "/hooks/{provider}/{workspace_slug}",
            Guard::Signed,
            Doc::new("inbound-hooks", "Receive a provider's signed webhook (stripe, square, mailgun, meta, mercadopago, paddle, twilio, standard)")
                .response::<Received>(200),
            post(hook_receive),
        );
        t.add(
            Method::GET,
            "/api/v1/inbound-hooks",
            Guard::Staff {
                permission: Permission::SettingsSecurity,
            },
            doc("Each provider's receiver URL and whether its secret is set")
                .response::<Vec<ReceiverOut>>(200),
            get(receivers_list),
        );
        t.add(
            Method::PUT,
            "/api/v1/inbound-hooks/{provider}",
            Guard::StaffStepUp {
                permission: Permission::SettingsSecurity,
            },
            doc("Set the provider's signing secret (stored encrypted, never shown again)")
                .request::<SecretIn>()
                .response::<ReceiverOut>(200),
            put(receiver_set),
        );
        t.add(
            Method::DELETE,
            "/api/v1/inbound-hooks/{provider}",
            Guard::StaffStepUp {
                permission: Permission::SettingsSecurity,
            },
            doc("Remove the provider's secret: its deliveries are refused from now on")
                .no_content(),
            delete(receiver_delete),
        );
        t.add(
            Method::GET,
            "/api/v1/inbound-events",
            Guard::Staff {
                permission: Permission::AutomationManage,
            },
            doc("Verified events received from providers, newest first")
                .query(&[LIMIT, CURSOR])
                .response::<Page<InboundEventOut>>(200),
            get(events_list),
        );
    });
}

/// The receiver's answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Received {
    pub received: bool,
    /// The stored event's id; absent for a duplicate.
    pub id: Option<String>,
    /// True when this delivery (or this provider event) was received before: nothing new
    /// was stored or queued.
    pub duplicate: bool,
}

async fn hook_receive(
    State(state): State<AppState>,
    hook: VerifiedHook,
) -> ApiResult<Json<Received>> {
    // JSON and forms are text; a multipart mail with attachments may not be: kept as base64.
    let (body, body_encoding) = match std::str::from_utf8(&hook.body) {
        Ok(text) => (text.to_owned(), "utf8"),
        Err(_) => {
            use base64::Engine as _;
            (
                base64::engine::general_purpose::STANDARD.encode(&hook.body),
                "base64",
            )
        }
    };
    // The provider's id is the idempotency key; a missing or oversized one is replaced by a
    // digest (of the body, or of the id), so the key stays short enough to index.
    let event_key = match &hook.verified.event_id {
        Some(id) if id.len() <= 200 => id.clone(),
        Some(id) => format!("sha256:{}", sha256_hex(id)),
        None => format!("sha256:{}", sha256_hex(&body)),
    };
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&hook.tenant).await?;
    let first_sighting = store::remember(
        &mut tx,
        &hook.verified.replay_key,
        hook.verified.replay_until_ms,
        now,
    )
    .await?;
    if !first_sighting {
        // The same signed delivery again: a provider's resend or a replay. Either way nothing
        // new happens, and the sender learns it arrived.
        tx.commit().await?;
        tracing::info!(
            provider = hook.provider.slug(),
            "inbound webhook delivery seen before; nothing stored"
        );
        return Ok(Json(Received {
            received: true,
            id: None,
            duplicate: true,
        }));
    }
    let stored = store::record(
        &mut tx,
        &NewInbound {
            provider: hook.provider,
            event_key: &event_key,
            event_type: hook.verified.event_type.as_deref(),
            content_type: &hook.content_type,
            body: &body,
            body_encoding,
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(Json(Received {
        received: true,
        duplicate: stored.is_none(),
        id: stored.map(|id| id.as_str().to_owned()),
    }))
}

/// One provider's receiver, as the API shows it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ReceiverOut {
    pub provider: &'static str,
    /// Give this URL to the provider.
    pub url: String,
    pub configured: bool,
    /// What the secret is in the provider's dashboard.
    pub secret_hint: &'static str,
    pub updated_at: Option<i64>,
}

/// Body of `PUT /api/v1/inbound-hooks/{provider}`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretIn {
    #[schemars(length(min = 1, max = 512))]
    pub secret: String,
}

fn provider_of(text: &str) -> ApiResult<Provider> {
    Provider::from_slug(text).ok_or_else(|| Problem::not_found("provider"))
}

fn receiver_out(r: Receiver) -> ReceiverOut {
    ReceiverOut {
        provider: r.provider.slug(),
        url: r.url,
        configured: r.updated_at.is_some(),
        secret_hint: r.provider.secret_hint(),
        updated_at: r.updated_at,
    }
}

async fn receivers_list(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> ApiResult<Json<Vec<ReceiverOut>>> {
    let all = receivers(&state, &actor.tenant).await?;
    Ok(Json(all.into_iter().map(receiver_out).collect()))
}

async fn receiver_set(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(provider): Path<String>,
    body: JsonBody<SecretIn>,
) -> ApiResult<Json<ReceiverOut>> {
    let provider = provider_of(&provider)?;
    let origin = audit::origin(&actor, &client);
    let set = set_secret(&state, &actor, &origin, provider, &body.value.secret).await?;
    Ok(Json(receiver_out(set)))
}

async fn receiver_delete(
    State(state): State<AppState>,
    Authed(actor): Authed,
    client: ClientInfo,
    Path(provider): Path<String>,
) -> ApiResult<StatusCode> {
    let provider = provider_of(&provider)?;
    let origin = audit::origin(&actor, &client);
    if !remove_secret(&state, &actor, &origin, provider).await? {
        return Err(Problem::not_found("inbound hook secret"));
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EventsQuery {
    limit: Option<String>,
    cursor: Option<String>,
    provider: Option<String>,
}

async fn events_list(
    State(state): State<AppState>,
    Authed(actor): Authed,
    QueryParams(query): QueryParams<EventsQuery>,
) -> ApiResult<Json<Page<InboundEventOut>>> {
    let (limit, before) = page_params(query.limit.as_deref(), query.cursor.as_deref())?;
    let provider = provider_filter(query.provider.as_deref())?;
    let rows = received_events(&state, &actor, provider, before.as_deref(), limit + 1).await?;
    Ok(Json(page_of(rows, limit, |e| e.id.clone())))
}
