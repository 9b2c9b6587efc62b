//! The worker's daily backup: at or after the configured UTC hour, the instance that claims
//! the day (one row per day in `backup_runs`) writes the backup, records it, audits it in every
//! workspace's trail, updates the metrics and rotates the folder (`keep_daily` days, then one
//! per ISO week for `keep_weekly` weeks). `/readyz` reports a backup older than 36 hours.

use crate::App;
use crate::backup::{self, SUFFIX};
use holdfast_core::ops::config::BackupSettings;
use holdfast_store::ops::admin;
use holdfast_store::ops::backup::{self as store, RunOutcome};
use std::collections::BTreeSet;
use std::path::Path;

const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;
/// A claim older than this without an outcome belongs to an instance that died.
const STALE_CLAIM_MS: i64 = 2 * HOUR_MS;
/// `/readyz` reports the backup when the last success is older than this.
pub const STALE_AFTER_MS: i64 = 36 * HOUR_MS;

/// Runs the day's backup if it is due and this instance claims it; returns whether one ran.
pub async fn tick(app: &App) -> bool {
    let Some(settings) = app.config.backup.clone() else {
        return false;
    };
    let now = app.clock.now_ms();
    let Some(day) = due_day(now, settings.hour_utc) else {
        return false;
    };
    match store::unscoped_claim_backup_day(&app.db, day, now, now - STALE_CLAIM_MS).await {
        Ok(true) => {}
        Ok(false) => return false,
        Err(e) => {
            tracing::warn!(error = %e, "claiming the day's backup failed");
            return false;
        }
    }
    run(app, &settings, day).await;
    true
}

/// The UTC day whose backup is due at `now`: today's, once its hour has come.
fn due_day(now_ms: i64, hour_utc: u32) -> Option<i64> {
    (now_ms.rem_euclid(DAY_MS) >= i64::from(hour_utc) * HOUR_MS).then(|| now_ms.div_euclid(DAY_MS))
}

async fn run(app: &App, settings: &BackupSettings, day: i64) {
    let now = app.clock.now_ms();
    let created = match backup::recipients(&settings.recipients) {
        Ok(recipients) => {
            backup::create(
                &app.db,
                &app.config.data_dir,
                &settings.dir,
                &recipients,
                now,
            )
            .await
        }
        Err(e) => Err(e),
    };
    let finished = app.clock.now_ms();
    let outcome = match &created {
        Ok(c) => {
            let name = c
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            app.metrics.backup_succeeded(finished, c.bytes, c.millis);
            tracing::info!(file = %c.path.display(), bytes = c.bytes, millis = c.millis, "scheduled backup written");
            (name, c.bytes, c.millis, String::new())
        }
        Err(e) => {
            app.metrics.backup_failed();
            tracing::error!(error = %e, "the scheduled backup failed");
            (String::new(), 0, 0, e.clone())
        }
    };
    let (file, bytes, millis, error) = outcome;
    let recorded = store::unscoped_finish_backup_day(
        &app.db,
        day,
        finished,
        RunOutcome {
            file: &file,
            bytes,
            millis,
            error: &error,
        },
    )
    .await;
    if let Err(e) = recorded {
        tracing::warn!(error = %e, "recording the day's backup failed");
    }
    audit(app, &file, bytes, &error).await;
    if created.is_ok() {
        let removed = rotate(&settings.dir, settings.keep_daily, settings.keep_weekly);
        if removed > 0 {
            tracing::info!(removed, "old backups rotated out");
        }
    }
}

/// `backup.created` or `backup.failed` in every workspace's trail (the backup holds them all).
async fn audit(app: &App, file: &str, bytes: u64, error: &str) {
    let slugs = match admin::unscoped_workspace_slugs(&app.db).await {
        Ok(slugs) => slugs,
        Err(e) => {
            tracing::warn!(error = %e, "auditing the backup failed");
            return;
        }
    };
    let (action, summary) = if error.is_empty() {
        (
            "backup.created",
            serde_json::json!({"file": file, "bytes": bytes}),
        )
    } else {
        ("backup.failed", serde_json::json!({}))
    };
    for slug in slugs {
        let Ok(Some(tenant)) = admin::unscoped_tenant_by_slug(&app.db, &slug).await else {
            continue;
        };
        let event = crate::audit::by_system(action, "backup", file, summary.clone());
        let written = async {
            let mut tx = app.db.write(&tenant).await?;
            holdfast_store::ops::audit::append(&mut tx, &event, app.clock.now_ms()).await?;
            tx.commit().await
        }
        .await;
        if let Err(e) = written {
            tracing::warn!(workspace = %slug, error = %e, "auditing the backup failed");
        }
    }
}

/// Why `/readyz` should mention the backup: backups are configured and the last scheduled
/// one that succeeded is older than 36 hours (or none succeeded in the 36 hours since the
/// schedule first ran).
pub async fn staleness(app: &App) -> Option<String> {
    app.config.backup.as_ref()?;
    let now = app.clock.now_ms();
    let (last_success, first_claim) = match store::unscoped_backup_history(&app.db).await {
        Ok(history) => history,
        Err(e) => return Some(format!("backup history unreadable: {e}")),
    };
    match (last_success, first_claim) {
        (Some(at), _) if now - at > STALE_AFTER_MS => Some(format!(
            "the last scheduled backup succeeded {} hours ago (over 36)",
            (now - at) / HOUR_MS
        )),
        (None, Some(start)) if now - start > STALE_AFTER_MS => Some(format!(
            "no scheduled backup has succeeded since the schedule started {} hours ago",
            (now - start) / HOUR_MS
        )),
        _ => None,
    }
}

/// The UTC day number of a backup file's name (`holdfast-YYYYMMDDTHHMMSSZ.tar.zst.age`).
fn day_of(name: &str) -> Option<i64> {
    let stamp = name.strip_prefix("holdfast-")?.strip_suffix(SUFFIX)?;
    if stamp.len() != 16 || !stamp.ends_with('Z') || stamp.as_bytes().get(8) != Some(&b'T') {
        return None;
    }
    let y: i64 = stamp.get(0..4)?.parse().ok()?;
    let m: i64 = stamp.get(4..6)?.parse().ok()?;
    let d: i64 = stamp.get(6..8)?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// Which of `names` (backup files of one folder) rotation removes: it keeps the newest file
/// of each of the newest `keep_daily` days, then the newest file of each of the newest
/// `keep_weekly` weeks (Monday to Sunday) before those; files not named like a backup stay.
pub fn rotated_out(names: &[String], keep_daily: u32, keep_weekly: u32) -> Vec<String> {
    let mut dated: Vec<(i64, &String)> = names
        .iter()
        .filter_map(|n| day_of(n).map(|d| (d, n)))
        .collect();
    // Newest first: the stamp sorts as the time.
    dated.sort_by(|a, b| b.1.cmp(a.1));
    let mut kept = BTreeSet::new();
    let mut days = BTreeSet::new();
    let mut weeks = BTreeSet::new();
    for (day, name) in &dated {
        if days.contains(day) {
            continue;
        }
        if days.len() < keep_daily as usize {
            days.insert(*day);
            kept.insert((*name).clone());
            continue;
        }
        // 1970-01-01 was a Thursday: day + 3 counts weeks from a Monday.
        let week = (day + 3).div_euclid(7);
        if !weeks.contains(&week) && weeks.len() < keep_weekly as usize {
            let newest_days_week = days.iter().any(|d| (d + 3).div_euclid(7) == week);
            if !newest_days_week {
                weeks.insert(week);
                kept.insert((*name).clone());
            }
        }
    }
    dated
        .iter()
        .filter(|(_, n)| !kept.contains(*n))
        .map(|(_, n)| (*n).clone())
        .collect()
}

/// Removes the backups rotation lets go from `dir`; returns how many.
pub fn rotate(dir: &Path, keep_daily: u32, keep_weekly: u32) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let names: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    rotated_out(&names, keep_daily, keep_weekly)
        .iter()
        .filter(|name| std::fs::remove_file(dir.join(name)).is_ok())
        .count()
}

#[cfg(test)]
mod tests {
    use super::{DAY_MS, HOUR_MS, day_of, due_day, rotated_out};

    #[test]
    fn a_day_is_due_from_its_hour_on() {
        let day = 20_794;
        let at = |h: i64| day * DAY_MS + h * HOUR_MS;
        assert_eq!(due_day(at(2) + HOUR_MS - 1, 3), None);
        assert_eq!(due_day(at(3), 3), Some(day));
        assert_eq!(due_day(at(23), 3), Some(day));
        assert_eq!(due_day(at(0), 0), Some(day));
        assert_eq!(due_day(at(24), 3), None, "the next day, before its hour");
    }

    fn name(y: i64, m: i64, d: i64, h: i64) -> String {
        format!("holdfast-{y:04}{m:02}{d:02}T{h:02}0000Z.tar.zst.age")
    }

    #[test]
    fn file_names_give_their_day() {
        assert_eq!(day_of(&name(1970, 1, 1, 3)), Some(0));
        assert_eq!(day_of(&name(2026, 12, 7, 3)), Some(20_794));
        assert_eq!(day_of("holdfast-2026127T030000Z.tar.zst.age"), None);
        assert_eq!(day_of("notes.txt"), None);
        assert_eq!(
            day_of(&super::super::file_name(20_794 * 86_400_000 + 3_600_000)),
            Some(20_794)
        );
    }

    #[test]
    fn rotation_keeps_daily_then_weekly_and_leaves_other_files() {
        // 120 days of backups, two on the newest day, and a stranger's file.
        let mut names: Vec<String> = (0..120)
            .map(|i| {
                let day = 20_794 - i;
                let text = holdfast_core::privacy::day_text(day);
                let (y, rest) = text.split_at(4);
                format!(
                    "holdfast-{y}{}{}T030000Z.tar.zst.age",
                    &rest[1..3],
                    &rest[4..6]
                )
            })
            .collect();
        names.push(name(2026, 12, 7, 9));
        names.push("notes.txt".into());
        let gone = rotated_out(&names, 14, 8);
        let kept: Vec<&String> = names.iter().filter(|n| !gone.contains(n)).collect();
        assert!(kept.contains(&&"notes.txt".to_owned()));
        // 14 days, the newest of two on the last day, then 8 weeks.
        assert_eq!(kept.len(), 1 + 14 + 8, "{kept:?}");
        assert!(kept.contains(&&name(2026, 12, 7, 9)));
        assert!(!kept.contains(&&name(2026, 12, 7, 3)));
        assert!(gone.iter().all(|n| n.starts_with("holdfast-")));
        // Fewer than the limits: nothing goes.
        assert!(rotated_out(&names[..5], 14, 8).is_empty());
    }
}
