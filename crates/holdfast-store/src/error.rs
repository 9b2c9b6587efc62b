//! The store's one error type: unique-constraint violations by constraint name (what callers
//! map to field errors), database and migration failures, and an unsafe database setup.

use holdfast_core::error::{ApiError, ErrorCode};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    /// A unique constraint refused the write: which record already holds the value.
    #[error("unique constraint {} violated", .conflict.constraint())]
    Unique { conflict: Conflict },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The configuration of the database itself is unsafe or unusable.
    #[error("{0}")]
    Setup(String),
    /// The operator suspended the workspace: no tenant transaction opens for it.
    #[error("the workspace is suspended")]
    Suspended,
    /// The operator locked the account: no session starts for it.
    #[error("the account is locked")]
    Locked,
}

/// The unique constraints callers map to answers, as a type: a caller matches every kind (the
/// compiler lists a new one), never a constraint's name as a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    ContactEmail,
    CompanyDomain,
    ContactFieldKey,
    WorkspaceSlug,
    UserEmail,
    RoleName,
    SavedReplyName,
    SavedReplyShortcut,
    IdempotencyKey,
    InvoiceNumber,
}

impl Conflict {
    /// The constraint's name (PostgreSQL's; the same index name on SQLite).
    pub fn constraint(self) -> &'static str {
        KNOWN
            .iter()
            .find(|(conflict, _)| *conflict == self)
            .and_then(|(_, needles)| needles.first().copied())
            .unwrap_or("unique")
    }
}

/// How each database names the constraint in its error: SQLite reports expression indexes by
/// name and column indexes by `table.column`, PostgreSQL always by name (listed first).
const KNOWN: &[(Conflict, &[&str])] = &[
    (
        Conflict::ContactEmail,
        &["contacts_email_key", "contacts.email_key"],
    ),
    (
        Conflict::CompanyDomain,
        &["companies_domain_key", "companies.domain"],
    ),
    (
        Conflict::ContactFieldKey,
        &["contact_fields_pkey", "contact_fields.workspace_id"],
    ),
    (
        Conflict::WorkspaceSlug,
        &["workspaces_slug_key", "workspaces.slug"],
    ),
    (Conflict::UserEmail, &["users_email_key", "users.email"]),
    (Conflict::RoleName, &["roles_name_key", "roles.name"]),
    (Conflict::SavedReplyName, &["saved_replies_name_key"]),
    (
        Conflict::SavedReplyShortcut,
        &["saved_replies_shortcut_key", "saved_replies.shortcut"],
    ),
    (
        Conflict::IdempotencyKey,
        &["idempotency_keys_pkey", "idempotency_keys.workspace_id"],
    ),
    (
        Conflict::InvoiceNumber,
        &["invoices_number_key", "invoices.number"],
    ),
];

impl StoreError {
    /// Classifies a driver error: unique violations of known constraints become `Unique`.
    pub(crate) fn classify(err: sqlx::Error) -> StoreError {
        if let sqlx::Error::Database(db) = &err
            && db.is_unique_violation()
        {
            let text = format!("{} {}", db.constraint().unwrap_or_default(), db.message());
            for (conflict, needles) in KNOWN {
                if needles.iter().any(|n| text.contains(n)) {
                    return StoreError::Unique {
                        conflict: *conflict,
                    };
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

/// What a caller is told about a store failure: a conflict names the field that must be
/// unique (409); anything else is logged here and answered as an internal error, without
/// internals.
impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unique { conflict } => match conflict {
                Conflict::ContactEmail => ApiError::field(
                    ErrorCode::Conflict,
                    "email",
                    "a contact with this email already exists in this workspace",
                ),
                Conflict::CompanyDomain => ApiError::field(
                    ErrorCode::Conflict,
                    "domain",
                    "a company with this domain already exists in this workspace",
                ),
                Conflict::ContactFieldKey => ApiError::field(
                    ErrorCode::Conflict,
                    "key",
                    "a custom field with this key already exists in this workspace",
                ),
                Conflict::RoleName => ApiError::field(
                    ErrorCode::Conflict,
                    "name",
                    "a role with this name already exists in this workspace",
                ),
                Conflict::SavedReplyName => ApiError::field(
                    ErrorCode::Conflict,
                    "name",
                    "a saved reply with this name already exists in this workspace",
                ),
                Conflict::SavedReplyShortcut => ApiError::field(
                    ErrorCode::Conflict,
                    "shortcut",
                    "another saved reply of this workspace has this shortcut",
                ),
                Conflict::InvoiceNumber => ApiError::new(
                    ErrorCode::Conflict,
                    "the next number of this sequence is already used by another document (the \
                     prefix changed): move the next number past it in the invoicing settings",
                ),
                Conflict::IdempotencyKey => ApiError::new(
                    ErrorCode::Conflict,
                    "another request with this Idempotency-Key is being processed; retry shortly",
                ),
                other @ (Conflict::WorkspaceSlug | Conflict::UserEmail) => ApiError::new(
                    ErrorCode::Conflict,
                    format!("conflicts with an existing record ({})", other.constraint()),
                ),
            },
            StoreError::Suspended => ApiError::new(
                ErrorCode::Suspended,
                "this workspace is suspended by the operator of this Holdfast server; its data is \
                 kept, and nothing in it can be used until they resume it",
            ),
            StoreError::Locked => ApiError::new(
                ErrorCode::Locked,
                "this account is locked by the operator of this Holdfast server; ask them to \
                 unlock it",
            ),
            other => {
                tracing::error!(error = %other, "store failure");
                ApiError::internal()
            }
        }
    }
}
