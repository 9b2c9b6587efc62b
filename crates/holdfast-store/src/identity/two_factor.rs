//! A user's TOTP second factor and recovery codes. Account-level (users are not tenant data):
//! every function is keyed by a user id the caller has authenticated.

use crate::db::Db;
use crate::error::StoreError;

#[derive(Debug, sqlx::FromRow)]
pub struct Totp {
    pub secret_sealed: String,
    pub confirmed_at: Option<i64>,
    pub last_step: i64,
}

pub async fn get(db: &Db, user_id: &str) -> Result<Option<Totp>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT secret_sealed, confirmed_at, last_step FROM user_totp WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(&db.pool)
    .await?)
}

/// Starts (or restarts) an unconfirmed enrolment. Refused (false) once confirmed.
pub async fn begin(
    db: &Db,
    user_id: &str,
    secret_sealed: &str,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let mut tx = db.pool.begin().await?;
    let confirmed: Option<Option<i64>> =
        sqlx::query_scalar("SELECT confirmed_at FROM user_totp WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
    if matches!(confirmed, Some(Some(_))) {
        return Ok(false);
    }
    sqlx::query("DELETE FROM user_totp WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO user_totp (user_id, secret_sealed, last_step, created_at) VALUES ($1, $2, 0, $3)")
        .bind(user_id)
        .bind(secret_sealed)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}

/// Records `step` as used if it is later than every step used before: a code works once.
pub async fn consume_step(db: &Db, user_id: &str, step: i64) -> Result<bool, StoreError> {
    let done =
        sqlx::query("UPDATE user_totp SET last_step = $2 WHERE user_id = $1 AND last_step < $2")
            .bind(user_id)
            .bind(step)
            .execute(&db.pool)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Confirms the enrolment and stores fresh recovery codes (as digests), replacing old ones.
pub async fn confirm(
    db: &Db,
    user_id: &str,
    recovery_digests: &[String],
    now_ms: i64,
) -> Result<(), StoreError> {
    let mut tx = db.pool.begin().await?;
    sqlx::query("UPDATE user_totp SET confirmed_at = $2 WHERE user_id = $1")
        .bind(user_id)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    for digest in recovery_digests {
        sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
            .bind(user_id)
            .bind(digest.as_str())
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Spends a recovery code; false when unknown or already used.
pub async fn use_recovery_code(
    db: &Db,
    user_id: &str,
    digest: &str,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL")
        .bind(user_id)
        .bind(digest)
        .bind(now_ms)
        .execute(&db.pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn remaining_recovery_codes(db: &Db, user_id: &str) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
    )
    .bind(user_id)
    .fetch_one(&db.pool)
    .await?)
}

pub async fn disable(db: &Db, user_id: &str) -> Result<(), StoreError> {
    let mut tx = db.pool.begin().await?;
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM user_totp WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// The account's email and password hash.
pub async fn account(
    db: &Db,
    user_id: &str,
) -> Result<Option<(String, Option<String>)>, StoreError> {
    Ok(
        sqlx::query_as("SELECT email, password_hash FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&db.pool)
            .await?,
    )
}
