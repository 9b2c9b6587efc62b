//! The billing gate of a hosted instance (`billing_mode = stripe`): what the operator's verified
//! Stripe events say about a workspace's plan ([`read_event`]), and what a plan state lets the
//! workspace's members do ([`gate`]). Pure rules: the receiver, the store and the guard apply
//! them. Self-hosted (`billing_mode = off`) never gates.
//!
//! A workspace without a billing row is `trialing`: a new workspace on a hosted instance starts
//! on a trial and works fully until the operator's Stripe says otherwise (an `incomplete`
//! subscription sends its members to checkout; `past_due` keeps writing for the grace period,
//! then turns read-only; `canceled` stays read-only).

use crate::ops::config::BillingMode;
use serde::{Deserialize, Serialize};

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// A workspace's plan state, as Stripe names a subscription's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlanState {
    Trialing,
    Active,
    PastDue,
    Canceled,
    Incomplete,
}

impl PlanState {
    pub const ALL: [PlanState; 5] = [
        Self::Trialing,
        Self::Active,
        Self::PastDue,
        Self::Canceled,
        Self::Incomplete,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trialing => "trialing",
            Self::Active => "active",
            Self::PastDue => "past_due",
            Self::Canceled => "canceled",
            Self::Incomplete => "incomplete",
        }
    }

    pub fn parse(text: &str) -> Option<PlanState> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The plan state of a Stripe subscription `status`: `incomplete_expired` (the first
    /// payment never came) is `canceled`, `unpaid` (retries exhausted, kept open) is
    /// `past_due`; `paused` (a trial ended without a payment method) is `incomplete`.
    pub fn from_stripe_status(status: &str) -> Option<PlanState> {
        match status {
            "trialing" => Some(Self::Trialing),
            "active" => Some(Self::Active),
            "past_due" | "unpaid" => Some(Self::PastDue),
            "canceled" | "incomplete_expired" => Some(Self::Canceled),
            "incomplete" | "paused" => Some(Self::Incomplete),
            _ => None,
        }
    }
}

/// What one verified event changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The Stripe event's id (`evt_…`).
    pub event_id: String,
    /// The event's `created`, in milliseconds: an event older than the last one applied to the
    /// workspace is ignored (Stripe does not deliver in order).
    pub created_ms: i64,
    /// The workspace named by the event (`metadata.holdfast_workspace` of a subscription,
    /// `client_reference_id` of a checkout session); `None` leaves it to the customer already
    /// linked.
    pub workspace: Option<String>,
    pub customer: Option<String>,
    pub subscription: Option<String>,
    /// `None` for a checkout that only links the workspace to its customer and subscription.
    pub state: Option<PlanState>,
}

/// The longest Stripe id kept (`cus_…`, `sub_…`, `evt_…` are far shorter).
const MAX_ID: usize = 255;

fn short_id(value: Option<&serde_json::Value>) -> Option<String> {
    value
        .and_then(serde_json::Value::as_str)
        .filter(|s| {
            !s.is_empty()
                && s.len() <= MAX_ID
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        })
        .map(str::to_owned)
}

/// The id of a field that Stripe sends either as an id or, expanded, as an object with `id`.
fn id_or_object(value: Option<&serde_json::Value>) -> Option<String> {
    match value {
        Some(serde_json::Value::Object(map)) => short_id(map.get("id")),
        other => short_id(other),
    }
}

/// What a verified Stripe event says about a workspace's plan: `customer.subscription.created`,
/// `.updated` and `.deleted` give the state from the subscription's `status`;
/// `checkout.session.completed` links `client_reference_id` (a workspace id) to the customer
/// and subscription (and, paid, makes it active). Any other event, or one without the fields it needs, is `None`.
pub fn read_event(body: &[u8]) -> Option<Change> {
    let event: serde_json::Value = serde_json::from_slice(body).ok()?;
    let event_id = short_id(event.get("id"))?;
    let created_ms = event.get("created")?.as_i64()?.checked_mul(1000)?;
    let object = event.get("data")?.get("object")?;
    match event.get("type")?.as_str()? {
        "customer.subscription.created"
        | "customer.subscription.updated"
        | "customer.subscription.deleted" => {
            let state = PlanState::from_stripe_status(object.get("status")?.as_str()?)?;
            Some(Change {
                event_id,
                created_ms,
                workspace: short_id(
                    object
                        .get("metadata")
                        .and_then(|m| m.get("holdfast_workspace")),
                ),
                customer: id_or_object(object.get("customer")),
                subscription: short_id(object.get("id")),
                state: Some(state),
            })
        }
        "checkout.session.completed" => Some(Change {
            event_id,
            created_ms,
            workspace: Some(short_id(object.get("client_reference_id"))?),
            customer: id_or_object(object.get("customer")),
            subscription: id_or_object(object.get("subscription")),
            // A completed subscription checkout has a live subscription: paid is active, a
            // trial needs no payment. The subscription's own events may arrive before the
            // workspace is linked (a Payment Link sets no metadata), so this one says it too.
            state: match object.get("payment_status").and_then(|s| s.as_str()) {
                Some("paid") => Some(PlanState::Active),
                Some("no_payment_required") => Some(PlanState::Trialing),
                _ => None,
            },
        }),
        _ => None,
    }
}

/// Why a workspace is read-only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadOnlyReason {
    /// `past_due` for longer than the grace period.
    PastDue,
    /// `canceled`.
    Canceled,
}

/// What a plan state lets a workspace's members do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Everything.
    Open,
    /// Reads and exports; every change answers 402.
    ReadOnly(ReadOnlyReason),
    /// Nothing until a subscription is paid: pages go to checkout, the API answers 402.
    Checkout,
}

/// The gate for a workspace in `state` (`None`: no billing row yet, which is `trialing`),
/// `past_due` since `past_due_since`, at `now`, with `grace_days` of grace. `Off` never gates.
/// The grace period ends exactly `grace_days` after the workspace became past due.
pub fn gate(
    mode: BillingMode,
    state: Option<PlanState>,
    past_due_since: Option<i64>,
    now_ms: i64,
    grace_days: u32,
) -> Gate {
    if mode == BillingMode::Off {
        return Gate::Open;
    }
    match state.unwrap_or(PlanState::Trialing) {
        PlanState::Trialing | PlanState::Active => Gate::Open,
        PlanState::Incomplete => Gate::Checkout,
        PlanState::Canceled => Gate::ReadOnly(ReadOnlyReason::Canceled),
        PlanState::PastDue => {
            let since = past_due_since.unwrap_or(now_ms);
            if now_ms - since < i64::from(grace_days) * DAY_MS {
                Gate::Open
            } else {
                Gate::ReadOnly(ReadOnlyReason::PastDue)
            }
        }
    }
}

/// The operator's checkout URL for `workspace_id`: `client_reference_id` appended, which the
/// `checkout.session.completed` event brings back to link the workspace.
pub fn checkout_url(base: &str, workspace_id: &str) -> String {
    let joiner = if base.contains('?') { '&' } else { '?' };
    format!("{base}{joiner}client_reference_id={workspace_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_900_000_000_000;

    fn stripe(state: Option<PlanState>, since: Option<i64>, now: i64, grace: u32) -> Gate {
        gate(BillingMode::Stripe, state, since, now, grace)
    }

    #[test]
    fn off_never_gates() {
        for state in PlanState::ALL {
            assert_eq!(
                gate(BillingMode::Off, Some(state), Some(0), NOW, 0),
                Gate::Open
            );
        }
    }

    #[test]
    fn a_workspace_without_a_billing_row_is_trialing_and_open() {
        assert_eq!(stripe(None, None, NOW, 7), Gate::Open);
        assert_eq!(stripe(Some(PlanState::Active), None, NOW, 7), Gate::Open);
    }

    #[test]
    fn past_due_is_open_through_the_grace_period_and_read_only_from_its_end() {
        let since = NOW - 7 * DAY_MS;
        let past_due = Some(PlanState::PastDue);
        assert_eq!(stripe(past_due, Some(since), NOW - 1, 7), Gate::Open);
        assert_eq!(
            stripe(past_due, Some(since), NOW, 7),
            Gate::ReadOnly(ReadOnlyReason::PastDue)
        );
        assert_eq!(
            stripe(past_due, Some(NOW), NOW, 0),
            Gate::ReadOnly(ReadOnlyReason::PastDue)
        );
    }

    #[test]
    fn canceled_is_read_only_and_incomplete_goes_to_checkout() {
        assert_eq!(
            stripe(Some(PlanState::Canceled), None, NOW, 60),
            Gate::ReadOnly(ReadOnlyReason::Canceled)
        );
        assert_eq!(
            stripe(Some(PlanState::Incomplete), None, NOW, 60),
            Gate::Checkout
        );
    }

    #[test]
    fn stripe_statuses_map_to_plan_states() {
        for (status, state) in [
            ("trialing", PlanState::Trialing),
            ("active", PlanState::Active),
            ("past_due", PlanState::PastDue),
            ("unpaid", PlanState::PastDue),
            ("canceled", PlanState::Canceled),
            ("incomplete_expired", PlanState::Canceled),
            ("incomplete", PlanState::Incomplete),
        ] {
            assert_eq!(
                PlanState::from_stripe_status(status),
                Some(state),
                "{status}"
            );
        }
        assert_eq!(PlanState::from_stripe_status("bogus"), None);
        for state in PlanState::ALL {
            assert_eq!(PlanState::parse(state.as_str()), Some(state));
        }
    }

    #[test]
    fn subscription_events_read_their_state_workspace_and_customer() {
        let body = serde_json::json!({
            "id": "evt_1", "type": "customer.subscription.updated", "created": 1_900_000_000,
            "data": {"object": {"id": "sub_1", "status": "unpaid", "customer": "cus_1",
                "metadata": {"holdfast_workspace": "ws_abc"}}}
        });
        let change = read_event(body.to_string().as_bytes()).unwrap();
        assert_eq!(change.event_id, "evt_1");
        assert_eq!(change.created_ms, 1_900_000_000_000);
        assert_eq!(change.workspace.as_deref(), Some("ws_abc"));
        assert_eq!(change.customer.as_deref(), Some("cus_1"));
        assert_eq!(change.subscription.as_deref(), Some("sub_1"));
        assert_eq!(change.state, Some(PlanState::PastDue));
        let expanded = serde_json::json!({
            "id": "evt_2", "type": "customer.subscription.deleted", "created": 1,
            "data": {"object": {"id": "sub_1", "status": "canceled", "customer": {"id": "cus_1"}}}
        });
        let change = read_event(expanded.to_string().as_bytes()).unwrap();
        assert_eq!(change.workspace, None);
        assert_eq!(change.customer.as_deref(), Some("cus_1"));
        assert_eq!(change.state, Some(PlanState::Canceled));
    }

    #[test]
    fn a_completed_checkout_links_its_reference_to_the_customer() {
        let body = serde_json::json!({
            "id": "evt_3", "type": "checkout.session.completed", "created": 5,
            "data": {"object": {"id": "cs_1", "client_reference_id": "ws_abc",
                "customer": "cus_9", "subscription": "sub_9"}}
        });
        let change = read_event(body.to_string().as_bytes()).unwrap();
        assert_eq!(change.workspace.as_deref(), Some("ws_abc"));
        assert_eq!(change.customer.as_deref(), Some("cus_9"));
        assert_eq!(change.subscription.as_deref(), Some("sub_9"));
        assert_eq!(change.state, None);
        let paid = body
            .to_string()
            .replace("\"cs_1\"", "\"cs_1\",\"payment_status\":\"paid\"");
        assert_eq!(
            read_event(paid.as_bytes()).unwrap().state,
            Some(PlanState::Active)
        );
        let without_reference = body.to_string().replace("client_reference_id", "other");
        assert_eq!(read_event(without_reference.as_bytes()), None);
    }

    #[test]
    fn other_or_malformed_events_change_nothing() {
        for body in [
            r#"{"id":"evt_1","type":"invoice.paid","created":1,"data":{"object":{}}}"#,
            r#"{"id":"evt_1","type":"customer.subscription.updated","created":1,"data":{"object":{"status":"weird"}}}"#,
            r#"{"id":"evt_1","type":"customer.subscription.updated","data":{"object":{"status":"active"}}}"#,
            r#"{"id":"evt 1","type":"customer.subscription.updated","created":1,"data":{"object":{"status":"active"}}}"#,
            "not json",
        ] {
            assert_eq!(read_event(body.as_bytes()), None, "{body}");
        }
    }

    #[test]
    fn the_checkout_url_carries_the_workspace() {
        assert_eq!(
            checkout_url("https://buy.stripe.com/x", "ws_1"),
            "https://buy.stripe.com/x?client_reference_id=ws_1"
        );
        assert_eq!(
            checkout_url("https://pay.example.com/?plan=a", "ws_1"),
            "https://pay.example.com/?plan=a&client_reference_id=ws_1"
        );
    }
}
