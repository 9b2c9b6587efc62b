//! The billing gate of a hosted instance: the operator's Stripe receiver
//! `POST /hooks/billing/stripe` (behind `Guard::Billing`) and the workspace's plan,
//! `GET /api/v1/workspace/billing`. The gate itself is in the guard (`guard::billing_gate`);
//! the rules in `holdfast_core::ops::billing`.

use crate::guard::{Authed, Guard, read_plan};
use crate::problem::ApiResult;
use crate::signed::VerifiedBilling;
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use axum::Json;
use axum::extract::State;
use axum::http::Method;
use axum::routing::{get, post};
use holdfast_core::access::policy::Permission;
use holdfast_core::ops::billing::{Gate, PlanState, checkout_url, gate, read_event};
use holdfast_core::ops::config::BillingMode;
use holdfast_store::ops::billing::{self as store, Applied};
use schemars::JsonSchema;
use serde::Serialize;

pub fn routes(t: &mut RouteTable) {
    t.add(
        Method::POST,
        "/hooks/billing/stripe",
        Guard::Billing,
        Doc::new(
            "billing",
            "Receive the operator's signed Stripe subscription events (hosted instances; 404 while billing_mode is off)",
        )
        .response::<BillingReceived>(200),
        post(billing_receive),
    );
    t.add(
        Method::GET,
        "/api/v1/workspace/billing",
        Guard::Staff {
            permission: Permission::MembersRead,
        },
        Doc::new("billing", "This workspace's plan and what it allows").response::<BillingOut>(200),
        get(billing_get),
    );
}

/// The receiver's answer. Stripe needs a 2xx for every verified event, applied or not, or it
/// retries for days.
#[derive(Debug, Serialize, JsonSchema)]
pub struct BillingReceived {
    pub received: bool,
    /// `changed`, `unchanged`, `stale` (older than the last event applied), `duplicate` (this
    /// signed delivery was seen before), `ignored` (not a subscription or checkout event) or
    /// `unmatched` (no workspace by its metadata, reference or customer).
    pub outcome: &'static str,
}

async fn billing_receive(
    State(state): State<AppState>,
    hook: VerifiedBilling,
) -> ApiResult<Json<BillingReceived>> {
    let answer = |outcome| {
        Ok(Json(BillingReceived {
            received: true,
            outcome,
        }))
    };
    let Some(change) = read_event(&hook.body) else {
        return answer("ignored");
    };
    let target = store::unscoped_billing_target(
        &state.db,
        change.workspace.as_deref(),
        change.customer.as_deref(),
    )
    .await?;
    let Some(tenant) = target else {
        tracing::warn!(
            stripe_event = change.event_id,
            "billing event names no workspace of this server; nothing changed"
        );
        return answer("unmatched");
    };
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&tenant).await?;
    let first_sighting = holdfast_store::webhooks::inbound::remember(
        &mut tx,
        &hook.verified.replay_key,
        hook.verified.replay_until_ms,
        now,
    )
    .await?;
    if !first_sighting {
        tx.commit().await?;
        return answer("duplicate");
    }
    let applied = store::apply(&mut tx, &change, now).await?;
    tx.commit().await?;
    answer(match applied {
        Applied::Changed { from, to } => {
            tracing::info!(
                from = from.map(PlanState::as_str),
                to = to.as_str(),
                "workspace plan changed"
            );
            "changed"
        }
        Applied::Unchanged => "unchanged",
        Applied::Stale => "stale",
    })
}

/// A workspace's plan as its members see it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct BillingOut {
    /// `off` on a self-hosted server (nothing is ever gated), else `stripe`.
    pub mode: &'static str,
    /// `trialing` (also a workspace no event has named yet), `active`, `past_due`, `canceled`
    /// or `incomplete`; absent when billing is off.
    pub state: Option<PlanState>,
    /// `open`, `read_only` (reads and exports only) or `checkout` (pay first).
    pub access: &'static str,
    /// When the workspace became past due (epoch ms).
    pub past_due_since: Option<i64>,
    /// When a past-due workspace turns read-only (epoch ms).
    pub read_only_from: Option<i64>,
    /// Where to subscribe, for a workspace that must pay first.
    pub checkout_url: Option<String>,
}

async fn billing_get(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> ApiResult<Json<BillingOut>> {
    let billing = &state.config.billing;
    if billing.mode == BillingMode::Off {
        return Ok(Json(BillingOut {
            mode: "off",
            state: None,
            access: "open",
            past_due_since: None,
            read_only_from: None,
            checkout_url: None,
        }));
    }
    let plan = read_plan(&state, &actor).await?;
    let plan_state = plan.as_ref().map_or(PlanState::Trialing, |p| p.state);
    let past_due_since = plan
        .as_ref()
        .and_then(|p| p.past_due_since)
        .filter(|_| plan_state == PlanState::PastDue);
    let verdict = gate(
        billing.mode,
        Some(plan_state),
        past_due_since,
        state.clock.now_ms(),
        billing.grace_days,
    );
    Ok(Json(BillingOut {
        mode: "stripe",
        state: Some(plan_state),
        access: match verdict {
            Gate::Open => "open",
            Gate::ReadOnly(_) => "read_only",
            Gate::Checkout => "checkout",
        },
        past_due_since,
        read_only_from: past_due_since
            .map(|since| since + i64::from(billing.grace_days) * 24 * 60 * 60 * 1000),
        checkout_url: (verdict == Gate::Checkout)
            .then(|| {
                billing
                    .checkout_url
                    .as_deref()
                    .map(|base| checkout_url(base, actor.tenant.workspace_id().as_str()))
            })
            .flatten(),
    }))
}
