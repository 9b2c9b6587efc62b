//! Password hashing: Argon2id, m = 64 MiB, t = 3, p = 1, parameters kept in the PHC string.
//! This is CPU- and memory-heavy on purpose: callers run it on a blocking thread.

use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use argon2::{Algorithm, Argon2, Params, PasswordHash, Version};

use crate::validate::FieldError;

fn hasher() -> Result<Argon2<'static>, argon2::Error> {
    Ok(Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(64 * 1024, 3, 1, None)?,
    ))
}

/// Length rule of NIST SP 800-63B for a password that is the only factor. Strength
/// estimation arrives with the identity work.
pub fn check_policy(password: &str) -> Result<(), FieldError> {
    let len = password.chars().count();
    if len < 15 {
        return Err(FieldError::new(
            "password",
            format!(
                "must be at least 15 characters (got {len}); a passphrase of several words works well"
            ),
        ));
    }
    if len > 1024 {
        return Err(FieldError::new(
            "password",
            "must be at most 1024 characters",
        ));
    }
    Ok(())
}

pub fn hash(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .map_err(|e| e.to_string())?
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

pub fn verify(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    hasher()
        .map(|h| h.verify_password(password.as_bytes(), &parsed).is_ok())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_the_documented_parameters() {
        let phc = hash("correct horse battery staple").unwrap_or_default();
        assert!(phc.starts_with("$argon2id$v=19$m=65536,t=3,p=1$"), "{phc}");
        assert!(verify("correct horse battery staple", &phc));
        assert!(!verify("correct horse battery stapler", &phc));
        assert!(!verify("x", "not a phc string"));
    }

    #[test]
    fn short_passwords_are_refused_with_advice() {
        let err = check_policy("short")
            .err()
            .map(|e| e.message)
            .unwrap_or_default();
        assert!(err.contains("at least 15"), "{err}");
        assert!(check_policy("a long enough passphrase").is_ok());
    }
}
