//! Key generations at run time and their rotation (the rules: `holdfast_core::ops::keys`; the
//! tables and re-sealing statements: `holdfast_store::ops::keys`).
//!
//! At start, [`load`] names this process's master key by its check value (the first start
//! records it as generation 1), refuses a key the database does not know or one a rotation
//! retired, and reads the token keys (the first start stores the ones derived from the master
//! key as generation 1). Every [`REFRESH`] a task reads both tables again, so a rotation run by
//! `holdfast keys …` in another process reaches every running server: during a master key
//! rotation each server learns the other generation's key from its wrap and opens values of
//! both; after `rotate-tokens` the new generation signs and the old verifies until its overlap
//! ends.

use crate::App;
use holdfast_core::clock::SharedClock;
use holdfast_core::crm::consent::LinkKey;
use holdfast_core::crypto::Sealer;
use holdfast_core::helpdesk::widget::FormKey;
use holdfast_core::identity::csrf::CsrfKey;
use holdfast_core::identity::jwt::KeyRing;
use holdfast_core::ops::keys::{
    MasterState, TokenKeySet, check_value, master_wrap_context, token_keys_context,
};
use holdfast_store::Db;
use holdfast_store::Tenant;
use holdfast_store::ops::keys::{self as store, Holder, MasterRow, SEALED_COLUMNS, SealedColumn};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

/// How often a running process reads the key tables again.
pub const REFRESH: Duration = Duration::from_secs(2);

/// How long a rotation waits after announcing a new master key before it re-seals anything:
/// long enough for every running process to have read it (two refreshes and a margin).
pub const ROTATION_GRACE: Duration = Duration::from_secs(5);

/// The master keys this process holds, by generation (its own, and the other one of a
/// rotation in progress, learned from the wrap).
#[derive(Default)]
pub struct Held {
    masters: Mutex<BTreeMap<u32, Vec<u8>>>,
}

impl std::fmt::Debug for Held {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Held([redacted])")
    }
}

impl Held {
    fn snapshot(&self) -> BTreeMap<u32, Vec<u8>> {
        self.masters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn insert(&self, generation: u32, key: Vec<u8>) {
        self.masters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(generation, key);
    }
}

/// Names `master_key` among the database's master key generations (recording it as the first
/// when none is), then reads every key table. Refuses a key the database does not know and one
/// a rotation retired, with what to do.
pub async fn load(app: &App, master_key: &[u8]) -> Result<(), String> {
    let now = app.clock.now_ms();
    let check = check_value(master_key);
    store::adopt_first_master(&app.db, &check, now)
        .await
        .map_err(|e| format!("cannot read the master key generations: {e}"))?;
    let rows = store::master_keys(&app.db)
        .await
        .map_err(|e| format!("cannot read the master key generations: {e}"))?;
    let mine = own_generation(&rows, &check)?;
    app.held.insert(mine, master_key.to_vec());
    refresh(app).await?;
    if store::token_keys(&app.db)
        .await
        .map_err(|e| e.to_string())?
        .is_empty()
    {
        let first = serde_json::to_vec(&TokenKeySet::first_generation(master_key))
            .map_err(|e| e.to_string())?;
        let sealed = app
            .sealer
            .seal(&first, &token_keys_context(1))
            .ok_or("the token keys could not be sealed")?;
        store::adopt_first_token_keys(&app.db, &sealed, now)
            .await
            .map_err(|e| format!("cannot record the token keys: {e}"))?;
        refresh(app).await?;
    }
    Ok(())
}

/// The generation of the key whose check value is `check`, refused when retired or unknown.
fn own_generation(rows: &[MasterRow], check: &str) -> Result<u32, String> {
    match rows.iter().find(|r| r.check_value == check) {
        Some(row) if row.state == MasterState::Retired => Err(format!(
            "the master key is generation {}, which `holdfast keys rotate-master` retired; \
             start with the key it rotated to (generation {}), in HOLDFAST_MASTER_KEY_FILE or \
             <data dir>/master.key",
            row.generation,
            rows.iter()
                .map(|r| r.generation)
                .max()
                .unwrap_or(row.generation)
        )),
        Some(row) => Ok(row.generation),
        None => Err(
            "the master key does not belong to this database: its secrets were sealed under \
             another key. Start with that key (HOLDFAST_MASTER_KEY_FILE or <data dir>/master.key)"
                .to_owned(),
        ),
    }
}

/// Reads both key tables and puts what they say in place: the sealer opens every generation
/// this process holds that is not retired (learning the other key of a rotation from its
/// wrap), and the token keys are the live generations.
pub async fn refresh(app: &App) -> Result<(), String> {
    refresh_parts(&app.db, &app.clock, &app.held, &Rings::of(app)).await
}

/// The keys a refresh replaces (clones share their generations with the application's).
#[derive(Clone)]
struct Rings {
    sealer: Arc<Sealer>,
    access: Arc<KeyRing>,
    csrf: Arc<CsrfKey>,
    link: Arc<LinkKey>,
    form: Arc<FormKey>,
}

impl Rings {
    fn of(app: &App) -> Rings {
        Rings {
            sealer: app.sealer.clone(),
            access: app.keys.clone(),
            csrf: app.csrf_key.clone(),
            link: app.link_key.clone(),
            form: app.form_key.clone(),
        }
    }
}

async fn refresh_parts(
    db: &Db,
    clock: &SharedClock,
    held: &Held,
    rings: &Rings,
) -> Result<(), String> {
    let rows = store::master_keys(db)
        .await
        .map_err(|e| format!("cannot read the master key generations: {e}"))?;
    learn_rotation_partner(held, &rows);
    let held = held.snapshot();
    let usable: Vec<(u32, &[u8])> = rows
        .iter()
        .filter(|r| r.state != MasterState::Retired)
        .filter_map(|r| {
            held.get(&r.generation)
                .map(|k| (r.generation, k.as_slice()))
        })
        .collect();
    if usable.is_empty() {
        return Err("every master key this process holds has been retired".to_owned());
    }
    rings.sealer.replace_masters(&usable);
    refresh_token_keys(db, clock, rings).await
}

/// During a rotation, the active row carries its key sealed under the draining one and the
/// draining key sealed under it: whichever this process holds opens the other.
fn learn_rotation_partner(known: &Held, rows: &[MasterRow]) {
    let (Some(active), Some(draining)) = (
        rows.iter().find(|r| r.state == MasterState::Active),
        rows.iter().find(|r| r.state == MasterState::Draining),
    ) else {
        return;
    };
    let held = known.snapshot();
    let learn = |wrap: Option<&String>, by: &MasterRow, of: &MasterRow| -> Option<Vec<u8>> {
        let key = held.get(&by.generation)?;
        let sealer = Sealer::from_masters(&[(by.generation, key.as_slice())]);
        let opened = sealer.open(wrap?, &master_wrap_context(of.generation))?;
        (check_value(&opened) == of.check_value).then_some(opened)
    };
    if !held.contains_key(&active.generation)
        && let Some(key) = learn(active.key_under_previous.as_ref(), draining, active)
    {
        tracing::info!(
            generation = active.generation,
            "learned the new master key of a rotation"
        );
        known.insert(active.generation, key);
    }
    if !held.contains_key(&draining.generation)
        && let Some(key) = learn(active.previous_under_key.as_ref(), active, draining)
    {
        tracing::info!(
            generation = draining.generation,
            "learned the old master key of a rotation"
        );
        known.insert(draining.generation, key);
    }
}

async fn refresh_token_keys(db: &Db, clock: &SharedClock, rings: &Rings) -> Result<(), String> {
    let now = clock.now_ms();
    let rows = store::token_keys(db)
        .await
        .map_err(|e| format!("cannot read the token keys: {e}"))?;
    if rows
        .iter()
        .any(|r| !r.generation.retired && !r.generation.live(now))
    {
        // An overlap ended: wipe that generation's keys (once, by whichever process sees it).
        store::retire_expired_token_keys(db, now)
            .await
            .map_err(|e| format!("cannot retire token keys: {e}"))?;
    }
    let mut sets = Vec::new();
    for row in rows.iter().filter(|r| r.generation.live(now)) {
        let generation = row.generation.generation;
        let set = row
            .keys_sealed
            .as_deref()
            .and_then(|sealed| rings.sealer.open(sealed, &token_keys_context(generation)))
            .and_then(|bytes| serde_json::from_slice::<TokenKeySet>(&bytes).ok())
            .ok_or_else(|| format!("token keys of generation {generation} do not open"))?;
        sets.push((generation, set));
    }
    if sets.is_empty() {
        return Ok(());
    }
    let pick = |f: fn(&TokenKeySet) -> [u8; 32]| -> Vec<(u32, [u8; 32])> {
        sets.iter().map(|(n, set)| (*n, f(set))).collect()
    };
    rings.access.replace(pick(|s| s.access));
    rings.csrf.replace(pick(|s| s.csrf));
    rings.link.replace(pick(|s| s.link));
    rings.form.replace(pick(|s| s.form));
    Ok(())
}

/// Reads the key tables every [`REFRESH`] for as long as the application lives (the task
/// holds the application's keys weakly between rounds, so it ends with it).
pub(crate) fn spawn_refresher(app: &App) {
    let weak: Weak<Held> = Arc::downgrade(&app.held);
    let (db, clock, rings) = (app.db.clone(), app.clock.clone(), Rings::of(app));
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(REFRESH).await;
            let Some(held) = weak.upgrade() else { break };
            if let Err(e) = refresh_parts(&db, &clock, &held, &rings).await {
                tracing::error!(error = %e, "could not read the key generations");
            }
        }
    });
}

/// The sealing context of a value in `column`, from its row's key (and workspace): the same
/// functions that sealed it. `None` for a column this build does not know.
pub fn context_of(column: &SealedColumn, tenant: Option<&Tenant>, key: &str) -> Option<String> {
    Some(match (column.name, tenant) {
        ("user_totp.secret_sealed", _) => crate::identity::second_factor::context(key),
        ("oidc_flows.verifier_sealed", _) => crate::identity::oidc::verifier_context(key),
        ("token_keys.keys_sealed", _) => token_keys_context(key.parse().ok()?),
        (
            "webhook_endpoints.secret_sealed" | "webhook_endpoints.previous_secret_sealed",
            Some(tenant),
        ) => crate::webhooks::delivery::secret_context(tenant, key),
        ("inbound_secrets.secret_sealed", Some(tenant)) => {
            let provider = holdfast_core::webhooks::inbound::Provider::from_slug(key)?;
            crate::webhooks::receivers::secret_context(tenant, provider)
        }
        ("payment_accounts.secret_sealed", Some(tenant)) => {
            let provider = holdfast_core::invoicing::payments::AccountProvider::parse(key)?;
            crate::invoicing::payments::secret_context(tenant, provider)
        }
        ("widget_settings.identity_secret_sealed", Some(tenant)) => {
            crate::helpdesk::widget_settings::identity_context(tenant)
        }
        _ => return None,
    })
}

/// A rotation's progress: values re-sealed so far of those found at its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub done: u64,
    pub total: u64,
}

/// What a master key rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterRotation {
    pub from: u32,
    pub to: u32,
    /// Whether it continued a rotation a crash or an interruption had left unfinished.
    pub resumed: bool,
    /// Values re-sealed, per column.
    pub resealed: BTreeMap<&'static str, u64>,
    /// Values neither key opens (damaged); left as they are.
    pub unreadable: u64,
    /// The token-key generation started because generation 1, derived from the first master
    /// key, still signed (see [`rotate_master`]).
    pub new_token_generation: Option<u32>,
    /// Whether the database's free space was cleared of old copies afterwards.
    pub old_copies_cleared: bool,
}

impl MasterRotation {
    pub fn total(&self) -> u64 {
        self.resealed.values().sum()
    }
}

/// Where a rotation starts: a new one, or the unfinished one it continues.
struct Plan {
    from: u32,
    to: u32,
    resumed: bool,
}

/// Decides what `rotate-master` does with these generations, the current key's check value
/// and the new key's; refused with what to do instead.
fn plan_master_rotation(rows: &[MasterRow], current: &str, new: &str) -> Result<Plan, String> {
    if current == new {
        return Err(
            "the new key file holds the current master key; make a new one with \
                    `openssl rand -hex 32`"
                .to_owned(),
        );
    }
    let active = rows.iter().find(|r| r.state == MasterState::Active);
    let draining = rows.iter().find(|r| r.state == MasterState::Draining);
    let generation_of_check = |check: &str| rows.iter().find(|r| r.check_value == check);
    if let (Some(active), Some(draining)) = (active, draining) {
        return if draining.check_value == current && active.check_value == new {
            Ok(Plan {
                from: draining.generation,
                to: active.generation,
                resumed: true,
            })
        } else {
            Err(format!(
                "a rotation from generation {} to {} is unfinished: run the same command again \
                 with the current key of generation {} and --new-key-file holding generation {}",
                draining.generation, active.generation, draining.generation, active.generation
            ))
        };
    }
    let Some(active) = active else {
        return Err("no master key generation is active; the key tables are damaged".to_owned());
    };
    if active.check_value != current {
        return Err(match generation_of_check(current) {
            Some(row) => format!(
                "the current master key is generation {}, which is retired; the active one is {}",
                row.generation, active.generation
            ),
            None => "the current master key does not belong to this database".to_owned(),
        });
    }
    if let Some(row) = generation_of_check(new) {
        return Err(format!(
            "the new key was generation {} before; a retired key is never used again: make a \
             new one with `openssl rand -hex 32`",
            row.generation
        ));
    }
    Ok(Plan {
        from: active.generation,
        to: rows.iter().map(|r| r.generation).max().unwrap_or(0) + 1,
        resumed: false,
    })
}

/// `holdfast keys rotate-master`: announces `new_key` as the next generation (sealed under
/// the current key and the current key under it, so every running process learns it within
/// [`REFRESH`]), waits `grace`, re-seals every sealed value in batches of `batch` (each batch
/// its own transaction, so a crash loses at most one and running it again continues), then
/// retires the current key, ends the token keys derived from the first master key if they
/// still verify, and clears the database's free space of old copies. Audited in every
/// workspace's trail at the start and the end.
pub async fn rotate_master(
    db: &Db,
    clock: &SharedClock,
    current_key: &[u8],
    new_key: &[u8],
    grace: Duration,
    batch: u32,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<MasterRotation, String> {
    let rows = store::master_keys(db).await.map_err(|e| e.to_string())?;
    let plan = plan_master_rotation(&rows, &check_value(current_key), &check_value(new_key))?;
    if !plan.resumed {
        begin(db, clock, &plan, current_key, new_key).await?;
    }
    tokio::time::sleep(grace).await;
    let sealer = Sealer::from_masters(&[(plan.from, current_key), (plan.to, new_key)]);
    let tenants = store::unscoped_all_workspaces(db)
        .await
        .map_err(|e| e.to_string())?;
    let total = remaining(db, &tenants, plan.to).await?;
    let mut report = MasterRotation {
        from: plan.from,
        to: plan.to,
        resumed: plan.resumed,
        resealed: BTreeMap::new(),
        unreadable: 0,
        new_token_generation: None,
        old_copies_cleared: false,
    };
    let mut done = 0;
    progress(Progress { done, total });
    // A process that had not yet read the new generation may have sealed a value under the
    // old one meanwhile: passes repeat until one finds nothing left but damaged values.
    for _pass in 0..3 {
        report.unreadable = 0;
        for column in SEALED_COLUMNS {
            let scopes: Vec<Option<&Tenant>> = match column.holder {
                Holder::Instance => vec![None],
                Holder::Workspace => tenants.iter().map(Some).collect(),
            };
            for tenant in scopes {
                let mut after = String::new();
                loop {
                    let step = store::unscoped_reseal_batch(
                        db,
                        column,
                        tenant,
                        plan.to,
                        &after,
                        batch,
                        |key, sealed| {
                            let context = context_of(column, tenant, key)?;
                            let plain = sealer.open(sealed, &context)?;
                            sealer.seal(&plain, &context)
                        },
                    )
                    .await
                    .map_err(|e| format!("re-sealing {}: {e}", column.name))?;
                    *report.resealed.entry(column.name).or_default() += step.resealed;
                    report.unreadable += step.unreadable;
                    done += step.resealed;
                    progress(Progress {
                        done,
                        total: total.max(done),
                    });
                    match step.next_after {
                        Some(next) => after = next,
                        None => break,
                    }
                }
            }
        }
        if remaining(db, &tenants, plan.to).await? <= report.unreadable {
            return finish(db, clock, new_key, report).await;
        }
    }
    Err(format!(
        "values sealed under generation {} keep appearing; run the command again",
        plan.from
    ))
}

async fn begin(
    db: &Db,
    clock: &SharedClock,
    plan: &Plan,
    current_key: &[u8],
    new_key: &[u8],
) -> Result<(), String> {
    let wrap = |by: (u32, &[u8]), key: &[u8], of: u32| {
        Sealer::from_masters(&[by])
            .seal(key, &master_wrap_context(of))
            .ok_or_else(|| "a master key could not be sealed".to_owned())
    };
    let key_under_previous = wrap((plan.from, current_key), new_key, plan.to)?;
    let previous_under_key = wrap((plan.to, new_key), current_key, plan.from)?;
    let new = store::NewMaster {
        generation: plan.to,
        check_value: &check_value(new_key),
        key_under_previous: &key_under_previous,
        previous_under_key: &previous_under_key,
    };
    let now = clock.now_ms();
    if !store::begin_master_rotation(db, plan.from, &new, now)
        .await
        .map_err(|e| e.to_string())?
    {
        return Err("another rotation started meanwhile; run `holdfast keys status`".to_owned());
    }
    store::unscoped_audit_key_event(
        db,
        "keys.master_rotation_started",
        serde_json::json!({"from_generation": plan.from, "to_generation": plan.to}),
        now,
    )
    .await
    .map_err(|e| e.to_string())?;
    Ok(())
}

/// Values of every sealed column not yet under generation `target`.
async fn remaining(db: &Db, tenants: &[Tenant], target: u32) -> Result<u64, String> {
    let mut left = 0;
    for column in SEALED_COLUMNS {
        let scopes: Vec<Option<&Tenant>> = match column.holder {
            Holder::Instance => vec![None],
            Holder::Workspace => tenants.iter().map(Some).collect(),
        };
        for tenant in scopes {
            left += store::unscoped_count_not_under(db, column, tenant, target)
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(left)
}

async fn finish(
    db: &Db,
    clock: &SharedClock,
    new_key: &[u8],
    mut report: MasterRotation,
) -> Result<MasterRotation, String> {
    let now = clock.now_ms();
    store::finish_master_rotation(db, report.from, report.to, now)
        .await
        .map_err(|e| e.to_string())?;
    let sealer = Sealer::from_masters(&[(report.to, new_key)]);
    report.new_token_generation = end_derived_token_keys(db, clock, &sealer).await?;
    report.old_copies_cleared = match store::scrub_after_rotation(db).await {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %e, "old copies of re-sealed values could not be cleared");
            false
        }
    };
    store::unscoped_audit_key_event(
        db,
        "keys.master_rotated",
        serde_json::json!({
            "from_generation": report.from,
            "to_generation": report.to,
            "values_resealed": report.total(),
            "values_unreadable": report.unreadable,
        }),
        now,
    )
    .await
    .map_err(|e| e.to_string())?;
    Ok(report)
}

/// What `rotate-tokens` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRotation {
    pub generation: u32,
    /// The generations that signed until now verify until then (ms).
    pub previous_verify_until: i64,
    /// Generations retired because their overlap had ended.
    pub retired: u64,
}

/// `holdfast keys rotate-tokens`: a new generation of random token keys signs from now on
/// (every running process within [`REFRESH`]); the generations that signed until now verify
/// for `overlap` more, then are retired and their keys wiped. Audited in every workspace.
pub async fn rotate_tokens(app: &App, overlap: Duration) -> Result<TokenRotation, String> {
    let done = new_token_generation(&app.db, &app.clock, &app.sealer, overlap).await?;
    refresh(app).await?;
    Ok(done)
}

/// Adds a generation of random token keys, sealed with `sealer`; the older ones verify for
/// `overlap` more.
async fn new_token_generation(
    db: &Db,
    clock: &SharedClock,
    sealer: &Sealer,
    overlap: Duration,
) -> Result<TokenRotation, String> {
    let now = clock.now_ms();
    let rows = store::token_keys(db).await.map_err(|e| e.to_string())?;
    let generation = rows
        .iter()
        .map(|r| r.generation.generation)
        .max()
        .unwrap_or(0)
        + 1;
    let keys = serde_json::to_vec(&TokenKeySet::random()).map_err(|e| e.to_string())?;
    let sealed = sealer
        .seal(&keys, &token_keys_context(generation))
        .ok_or("the token keys could not be sealed")?;
    let until = now.saturating_add(i64::try_from(overlap.as_millis()).unwrap_or(i64::MAX));
    if !store::add_token_generation(db, generation, &sealed, until, now)
        .await
        .map_err(|e| e.to_string())?
    {
        return Err("another token rotation happened meanwhile; run it again".to_owned());
    }
    let retired = store::retire_expired_token_keys(db, now)
        .await
        .map_err(|e| e.to_string())?;
    store::unscoped_audit_key_event(
        db,
        "keys.tokens_rotated",
        serde_json::json!({"generation": generation, "previous_verify_until": until}),
        now,
    )
    .await
    .map_err(|e| e.to_string())?;
    Ok(TokenRotation {
        generation,
        previous_verify_until: until,
        retired,
    })
}

/// After a master key rotation: token-key generation 1 was derived from the first master key
/// (what a Holdfast that never rotated its token keys used), so whoever holds a retired key
/// could make its tokens. If it still verifies, a random generation takes over and generation
/// 1 ends at once (access tokens are renewed with their refresh tokens; open console pages
/// need a reload). Returns the new generation, if one was needed.
async fn end_derived_token_keys(
    db: &Db,
    clock: &SharedClock,
    sealer: &Sealer,
) -> Result<Option<u32>, String> {
    let now = clock.now_ms();
    let rows = store::token_keys(db).await.map_err(|e| e.to_string())?;
    let derived_live = rows
        .iter()
        .any(|r| r.generation.derived_from_master() && r.generation.live(now));
    if !derived_live {
        return Ok(None);
    }
    let signing = rows
        .iter()
        .filter(|r| r.generation.live(now))
        .map(|r| r.generation.generation)
        .max();
    if signing.is_some_and(|g| g > 1) {
        // A random generation signs already: generation 1 only verifies; end it now.
        store::end_token_generation(db, 1, now)
            .await
            .map_err(|e| e.to_string())?;
        store::retire_expired_token_keys(db, now)
            .await
            .map_err(|e| e.to_string())?;
        return Ok(None);
    }
    let done = new_token_generation(db, clock, sealer, Duration::ZERO).await?;
    Ok(Some(done.generation))
}

/// One line per generation, for `holdfast keys status`.
pub async fn status(db: &Db, clock: &SharedClock) -> Result<Vec<String>, String> {
    let now = clock.now_ms();
    let mut lines = Vec::new();
    for row in store::master_keys(db).await.map_err(|e| e.to_string())? {
        lines.push(format!(
            "master key generation {}: {}",
            row.generation,
            row.state.as_str()
        ));
    }
    let tenants = store::unscoped_all_workspaces(db)
        .await
        .map_err(|e| e.to_string())?;
    if let Some(active) = store::master_keys(db)
        .await
        .map_err(|e| e.to_string())?
        .iter()
        .find(|r| r.state == MasterState::Active)
    {
        let left = remaining(db, &tenants, active.generation).await?;
        lines.push(format!(
            "sealed values not under generation {}: {left}",
            active.generation
        ));
    }
    for row in store::token_keys(db).await.map_err(|e| e.to_string())? {
        let g = row.generation;
        let state = match (g.retired, g.verify_until) {
            (true, _) => "retired".to_owned(),
            (false, None) => "signs".to_owned(),
            (false, Some(until)) if until > now => format!("verifies until {}", iso(until)),
            (false, Some(_)) => "overlap ended (retired at the next refresh)".to_owned(),
        };
        lines.push(format!("token keys generation {}: {state}", g.generation));
    }
    Ok(lines)
}

/// A time in ms as RFC 3339, for operators.
pub fn iso(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms / 1000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| ms.to_string())
}
