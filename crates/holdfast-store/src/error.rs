//! The store's one error type: unique-constraint violations by constraint name (what callers
//! map to field errors), database and migration failures, and an unsafe database setup.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    /// A unique constraint refused the write; `constraint` is its name.
    #[error("unique constraint {constraint} violated")]
    Unique { constraint: &'static str },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The configuration of the database itself is unsafe or unusable.
    #[error("{0}")]
    Setup(String),
}

/// Names of unique constraints callers map to field errors. SQLite reports expression indexes
/// by name and column indexes by `table.column`, PostgreSQL always by name.
const KNOWN: &[(&str, &[&str])] = &[
    (
        "contacts_email_key",
        &["contacts_email_key", "contacts.email_key"],
    ),
    (
        "companies_domain_key",
        &["companies_domain_key", "companies.domain"],
    ),
    (
        "contact_fields_pkey",
        &["contact_fields_pkey", "contact_fields.workspace_id"],
    ),
    (
        "workspaces_slug_key",
        &["workspaces_slug_key", "workspaces.slug"],
    ),
    ("users_email_key", &["users_email_key", "users.email"]),
    ("roles_name_key", &["roles_name_key", "roles.name"]),
    ("saved_replies_name_key", &["saved_replies_name_key"]),
    (
        "saved_replies_shortcut_key",
        &["saved_replies_shortcut_key", "saved_replies.shortcut"],
    ),
    (
        "idempotency_keys_pkey",
        &["idempotency_keys_pkey", "idempotency_keys.workspace_id"],
    ),
];

impl StoreError {
    /// Classifies a driver error: unique violations of known constraints become `Unique`.
    pub(crate) fn classify(err: sqlx::Error) -> StoreError {
        if let sqlx::Error::Database(db) = &err
            && db.is_unique_violation()
        {
            let text = format!("{} {}", db.constraint().unwrap_or_default(), db.message());
            for (name, needles) in KNOWN {
                if needles.iter().any(|n| text.contains(n)) {
                    return StoreError::Unique { constraint: name };
                }
            }
        }
        StoreError::Database(err)
    }
}

pub(crate) trait Classify<T> {
    fn classify(self) -> Result<T, StoreError>;
}

impl<T> Classify<T> for Result<T, sqlx::Error> {
    fn classify(self) -> Result<T, StoreError> {
        self.map_err(StoreError::classify)
    }
}
