//! Making a workspace and its owner: the one path `holdfast admin create-workspace` and the
//! first-run setup page (`/setup/{token}`) share — the same checks of the name, slug, owner's
//! email and password, the password hashed on the bounded pool, the same rows and audit entry.

use crate::AppResult;
use crate::identity::passwords::PasswordPool;
use holdfast_core::error::{ApiError, ErrorCode};
use holdfast_core::identity::password;
use holdfast_core::validate::{self, Errors, FieldError};
use holdfast_store::ops::admin::{self, CreatedWorkspace};
use holdfast_store::{Conflict, Db, StoreError};

/// A workspace to make, checked: its name, slug and owner's (lower-cased) email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWorkspace {
    pub name: String,
    pub slug: String,
    pub owner_email: String,
}

/// How the workspace comes to be: an operator's command, or the first-run setup link whose
/// token has this SHA-256 (spent with the workspace it makes).
#[derive(Debug, Clone, Copy)]
pub enum Via<'a> {
    CommandLine,
    SetupLink { token_hash: &'a str },
}

/// Checks a new workspace and its owner's password, naming every field that is wrong
/// (`name`, `slug`, `owner_email`, `password`) at once.
pub fn check(
    name: &str,
    slug: &str,
    owner_email: &str,
    owner_password: &str,
) -> Result<NewWorkspace, Vec<FieldError>> {
    let mut errors = Errors::default();
    let name = errors.take(validate::text("name", name, 1, 100));
    let slug = errors.take(validate::slug("slug", slug.trim()));
    let owner_email = errors
        .take(validate::email("owner_email", owner_email))
        .map(|e| e.to_lowercase());
    if let (Some(name), Some(email)) = (&name, &owner_email) {
        let policy = password::check_policy(
            owner_password,
            password::Context {
                email,
                workspace_name: name,
                second_factor_required: false,
            },
        );
        errors.take(policy.map_err(|e| FieldError::new("password", e.message)));
    }
    match (name, slug, owner_email) {
        (Some(name), Some(slug), Some(owner_email)) => errors.finish(NewWorkspace {
            name,
            slug,
            owner_email,
        }),
        _ => Err(errors.finish(()).err().unwrap_or_default()),
    }
}

/// Makes the checked workspace and its owner (an existing account keeps its password). A
/// setup link that is spent, expired or unknown, or any once a workspace exists, is 404; a
/// slug in use is a conflict on `slug`.
pub async fn create(
    db: &Db,
    passwords: &PasswordPool,
    new: &NewWorkspace,
    owner_password: String,
    via: Via<'_>,
    now_ms: i64,
) -> AppResult<CreatedWorkspace> {
    let hash = passwords.hash(owner_password).await.map_err(|e| {
        tracing::error!(error = %e, "password hashing failed");
        ApiError::internal()
    })?;
    let (name, slug, email) = (&new.name, &new.slug, &new.owner_email);
    let created = match via {
        Via::CommandLine => admin::unscoped_create_workspace(db, name, slug, email, &hash, now_ms)
            .await
            .map(Some),
        Via::SetupLink { token_hash } => {
            admin::unscoped_create_first_workspace(db, token_hash, name, slug, email, &hash, now_ms)
                .await
        }
    };
    match created {
        Ok(Some(created)) => Ok(created),
        Ok(None) => Err(setup_link_gone()),
        Err(StoreError::Unique {
            conflict: Conflict::WorkspaceSlug,
        }) => Err(ApiError::field(
            ErrorCode::Conflict,
            "slug",
            "a workspace with this slug already exists; choose another",
        )),
        Err(other) => Err(other.into()),
    }
}

/// The one answer to a setup link that opens nothing: spent, expired, unknown, or any once a
/// workspace exists.
pub fn setup_link_gone() -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        "this link opens nothing: a setup link works once, within an hour, and only before the \
         first workspace exists (holdfast admin setup-link prints a new one)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_wrong_field_is_named_at_once() {
        let errors = check("", "No Slug", "not-an-email", "short").unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "slug", "owner_email"]);
        let errors = check("Acme", "acme", "Owner@Example.com", "short").unwrap_err();
        assert_eq!(errors[0].field, "password");
        assert!(errors[0].message.contains("at least 15"), "{errors:?}");
        let ok = check(
            " Acme ",
            "acme",
            "Owner@Example.com",
            "lantern orchard quietly bicycle",
        )
        .unwrap();
        assert_eq!(ok.name, "Acme");
        assert_eq!(ok.owner_email, "owner@example.com");
    }
}
