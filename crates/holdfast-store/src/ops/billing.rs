//! The billing gate's data (table `workspace_billing`, 0056): each workspace's plan state as
//! the operator's verified Stripe events set it. The plan is read and written in the
//! workspace's own transaction (on PostgreSQL under a FORCEd tenant policy); the one read
//! before a workspace is known is the directory `billing_customers` (a Stripe customer → its
//! workspace, nothing else), by [`unscoped_billing_target`]. Rules: `holdfast_core::ops::billing`.

use crate::db::Db;
use crate::error::StoreError;
use crate::ops::audit::NewEvent;
use crate::sql::Sql;
use crate::tenant::{Lock, Tenant, TenantTx};
use holdfast_core::ids::WorkspaceId;
use holdfast_core::ops::billing::{Change, PlanState};

/// A workspace's plan as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub state: PlanState,
    pub stripe_customer: Option<String>,
    pub stripe_subscription: Option<String>,
    pub past_due_since: Option<i64>,
    pub updated_at: i64,
    pub last_event_at: i64,
}

#[derive(sqlx::FromRow)]
struct PlanRow {
    state: String,
    stripe_customer: Option<String>,
    stripe_subscription: Option<String>,
    past_due_since: Option<i64>,
    updated_at: i64,
    last_event_at: i64,
}

impl PlanRow {
    fn into_plan(self) -> Result<Plan, StoreError> {
        let state = PlanState::parse(&self.state).ok_or_else(|| {
            StoreError::Setup(format!(
                "workspace_billing.state holds an unknown plan state '{}'",
                self.state
            ))
        })?;
        Ok(Plan {
            state,
            stripe_customer: self.stripe_customer,
            stripe_subscription: self.stripe_subscription,
            past_due_since: self.past_due_since,
            updated_at: self.updated_at,
            last_event_at: self.last_event_at,
        })
    }
}

async fn read(tx: &mut TenantTx<'_>, lock: Lock) -> Result<Option<Plan>, StoreError> {
    let sql = Sql::of(&[
        "SELECT state, stripe_customer, stripe_subscription, past_due_since, updated_at, \
         last_event_at FROM workspace_billing WHERE workspace_id = $1",
        lock.clause(tx.backend),
    ]);
    let ws = tx.ws().to_owned();
    let row: Option<PlanRow> = sqlx::query_as(sql)
        .bind(ws)
        .fetch_optional(tx.conn())
        .await?;
    row.map(PlanRow::into_plan).transpose()
}

/// The workspace's plan; `None` before any event named it (a trial).
pub async fn plan(tx: &mut TenantTx<'_>) -> Result<Option<Plan>, StoreError> {
    read(tx, Lock::Read).await
}

/// The workspace an operator's billing event is about: the workspace it names (when that
/// workspace exists), else the one its Stripe customer was linked to. `None` when neither
/// leads to a workspace.
pub async fn unscoped_billing_target(
    db: &Db,
    workspace: Option<&str>,
    customer: Option<&str>,
) -> Result<Option<Tenant>, StoreError> {
    if let Some(id) = workspace {
        let found: Option<String> = sqlx::query_scalar("SELECT id FROM workspaces WHERE id = $1")
            .bind(id)
            .fetch_optional(&db.pool)
            .await?;
        if let Some(id) = found {
            return Ok(Some(Tenant::new(WorkspaceId::from_trusted(id))));
        }
    }
    let Some(customer) = customer else {
        return Ok(None);
    };
    let linked: Option<String> =
        sqlx::query_scalar("SELECT workspace_id FROM billing_customers WHERE stripe_customer = $1")
            .bind(customer)
            .fetch_optional(&db.pool)
            .await?;
    Ok(linked.map(|id| Tenant::new(WorkspaceId::from_trusted(id))))
}

/// What applying an event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The plan state moved (or was first set).
    Changed {
        from: Option<PlanState>,
        to: PlanState,
    },
    /// The state stayed; the customer or subscription may have been linked.
    Unchanged,
    /// Older than the last event applied: ignored (only missing ids were filled in).
    Stale,
}

/// Applies a verified event to the workspace's plan, under the row's lock: an event older than
/// the last one applied changes no state; `past_due_since` starts when the workspace becomes
/// past due (at the event's time) and is kept while it stays so. A change of state is audited
/// as `workspace.plan_changed` by the system actor `stripe-billing`.
pub async fn apply(
    tx: &mut TenantTx<'_>,
    change: &Change,
    now_ms: i64,
) -> Result<Applied, StoreError> {
    let current = read(tx, Lock::ForUpdate).await?;
    let ws = tx.ws().to_owned();
    if let Some(customer) = &change.customer {
        // The first workspace a customer was linked to keeps it.
        sqlx::query(
            "INSERT INTO billing_customers (stripe_customer, workspace_id) VALUES ($1, $2) \
             ON CONFLICT (stripe_customer) DO NOTHING",
        )
        .bind(customer)
        .bind(&ws)
        .execute(tx.conn())
        .await?;
    }
    let stale = current
        .as_ref()
        .is_some_and(|plan| change.created_ms < plan.last_event_at);
    if stale {
        sqlx::query(
            "UPDATE workspace_billing SET \
             stripe_customer = COALESCE(stripe_customer, $2), \
             stripe_subscription = COALESCE(stripe_subscription, $3) \
             WHERE workspace_id = $1",
        )
        .bind(&ws)
        .bind(&change.customer)
        .bind(&change.subscription)
        .execute(tx.conn())
        .await?;
        return Ok(Applied::Stale);
    }
    let from = current.as_ref().map(|plan| plan.state);
    let to = change.state.or(from).unwrap_or(PlanState::Trialing);
    let past_due_since = match (to, &current) {
        (PlanState::PastDue, Some(plan)) if plan.state == PlanState::PastDue => {
            plan.past_due_since.or(Some(change.created_ms))
        }
        (PlanState::PastDue, _) => Some(change.created_ms),
        _ => None,
    };
    let customer = change
        .customer
        .clone()
        .or_else(|| current.as_ref().and_then(|p| p.stripe_customer.clone()));
    let subscription = change
        .subscription
        .clone()
        .or_else(|| current.as_ref().and_then(|p| p.stripe_subscription.clone()));
    if current.is_some() {
        sqlx::query(
            "UPDATE workspace_billing SET state = $2, stripe_customer = $3, \
             stripe_subscription = $4, past_due_since = $5, updated_at = $6, last_event_at = $7 \
             WHERE workspace_id = $1",
        )
        .bind(&ws)
        .bind(to.as_str())
        .bind(&customer)
        .bind(&subscription)
        .bind(past_due_since)
        .bind(now_ms)
        .bind(change.created_ms)
        .execute(tx.conn())
        .await?;
    } else {
        sqlx::query(
            "INSERT INTO workspace_billing (workspace_id, state, stripe_customer, \
             stripe_subscription, past_due_since, updated_at, last_event_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&ws)
        .bind(to.as_str())
        .bind(&customer)
        .bind(&subscription)
        .bind(past_due_since)
        .bind(now_ms)
        .bind(change.created_ms)
        .execute(tx.conn())
        .await?;
    }
    if from == Some(to) {
        return Ok(Applied::Unchanged);
    }
    let event = NewEvent {
        actor_type: "system",
        actor_id: "stripe-billing".to_owned(),
        action: "workspace.plan_changed",
        entity_type: "workspace",
        entity_id: ws.clone(),
        summary: serde_json::json!({
            "from": from.map(PlanState::as_str),
            "to": to.as_str(),
            "stripe_event": change.event_id,
            "stripe_subscription": subscription,
        }),
        ..Default::default()
    };
    crate::ops::audit::append(tx, &event, now_ms).await?;
    Ok(Applied::Changed { from, to })
}
