//! Passwords: Argon2id (m = 64 MiB, t = 3, p = 1, parameters kept in the PHC string), a policy
//! after NIST SP 800-63B rev. 4, and a one-time upgrade path for bcrypt hashes imported from
//! other systems. Hashing is CPU- and memory-heavy on purpose: callers run it off the async
//! runtime on a bounded pool. Threat note: docs/design/passwords.md.

use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use argon2::{Algorithm, Argon2, Params, PasswordHash, Version};

use crate::validate::FieldError;

const M_COST: u32 = 64 * 1024;
const T_COST: u32 = 3;
const P_COST: u32 = 1;
pub const MIN_LEN: usize = 15;
pub const MAX_LEN: usize = 1024;

fn hasher() -> Result<Argon2<'static>, argon2::Error> {
    Ok(Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(M_COST, T_COST, P_COST, None)?,
    ))
}

/// Who the password belongs to, so it cannot simply be their own name.
#[derive(Debug, Default, Clone, Copy)]
pub struct Context<'a> {
    pub email: &'a str,
    pub workspace_name: &'a str,
    /// The password is not the only factor (the workspace requires 2FA): 8 characters suffice.
    pub second_factor_required: bool,
}

/// The shortest password accepted when a second factor is required.
pub const MIN_LEN_WITH_2FA: usize = 8;

/// Length (15–1024 characters), no composition rules, no common or guessable passwords
/// (zxcvbn with its bundled dictionaries, score ≥ 3 of 4), nothing built on the user's email
/// local part or the workspace name. Errors say what to do.
pub fn check_policy(password: &str, ctx: Context<'_>) -> Result<(), FieldError> {
    let len = password.chars().count();
    let min = if ctx.second_factor_required {
        MIN_LEN_WITH_2FA
    } else {
        MIN_LEN
    };
    if len < min {
        return Err(FieldError::new(
            "password",
            format!(
                "must be at least {min} characters (got {len}); a passphrase of several unrelated words works well"
            ),
        ));
    }
    if len > MAX_LEN {
        return Err(FieldError::new(
            "password",
            format!("must be at most {MAX_LEN} characters"),
        ));
    }
    let lower = password.to_lowercase();
    let local = ctx
        .email
        .split('@')
        .next()
        .unwrap_or_default()
        .to_lowercase();
    let workspace = ctx.workspace_name.to_lowercase();
    for (part, what) in [
        (local.as_str(), "your email address"),
        (workspace.as_str(), "the workspace name"),
    ] {
        if part.chars().count() >= 3 && lower.contains(part) {
            return Err(FieldError::new(
                "password",
                format!("must not contain {what}; choose words unrelated to you"),
            ));
        }
    }
    let inputs: Vec<&str> = [local.as_str(), workspace.as_str()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
    let estimate = zxcvbn::zxcvbn(password, &inputs);
    if u8::from(estimate.score()) < 3 {
        let hint = estimate
            .feedback()
            .and_then(|f| f.warning().map(|w| w.to_string()))
            .unwrap_or_else(|| "it is too easy to guess".to_owned());
        return Err(FieldError::new(
            "password",
            format!("is too easy to guess ({hint}); add more unrelated words"),
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

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    No,
    Yes,
    /// Correct, but stored with other parameters or another scheme: store a fresh hash now.
    YesRehash,
}

pub fn verify(password: &str, stored: &str) -> Verified {
    if stored.starts_with("$2a$") || stored.starts_with("$2b$") || stored.starts_with("$2y$") {
        return match bcrypt::verify(password, stored) {
            Ok(true) => Verified::YesRehash,
            _ => Verified::No,
        };
    }
    let Ok(parsed) = PasswordHash::new(stored) else {
        return Verified::No;
    };
    let ok = hasher()
        .map(|h| h.verify_password(password.as_bytes(), &parsed).is_ok())
        .unwrap_or(false);
    match (ok, needs_rehash(&parsed)) {
        (false, _) => Verified::No,
        (true, true) => Verified::YesRehash,
        (true, false) => Verified::Yes,
    }
}

fn needs_rehash(parsed: &PasswordHash<'_>) -> bool {
    let current = parsed.algorithm.as_str() == "argon2id"
        && parsed.version == Some(0x13)
        && Params::try_from(parsed)
            .is_ok_and(|p| p.m_cost() == M_COST && p.t_cost() == T_COST && p.p_cost() == P_COST);
    !current
}

/// A hash of a random password, verified against when an account does not exist so that a
/// sign-in takes the same time either way.
pub fn decoy_hash() -> &'static str {
    "$argon2id$v=19$m=65536,t=3,p=1$ZGVjb3lzYWx0ZGVjb3lzYWx0$2tqAi2VhkcRZ8Ss4zAyxZnMmS0ZomD5FV2Hh5tm6Bhk"
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "correct horse battery staple";

    #[test]
    fn hashes_are_argon2id_with_the_documented_parameters() {
        let phc = hash(GOOD).unwrap_or_default();
        assert!(phc.starts_with("$argon2id$v=19$m=65536,t=3,p=1$"), "{phc}");
        assert_eq!(verify(GOOD, &phc), Verified::Yes);
        assert_eq!(verify("correct horse battery stapler", &phc), Verified::No);
        assert_eq!(verify("x", "not a phc string"), Verified::No);
    }

    #[test]
    fn weaker_parameters_and_bcrypt_verify_once_and_ask_for_a_rehash() {
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8 * 1024, 1, 1, None).unwrap(),
        )
        .hash_password(GOOD.as_bytes(), &SaltString::generate(&mut OsRng))
        .unwrap()
        .to_string();
        assert_eq!(verify(GOOD, &weak), Verified::YesRehash);
        let legacy = bcrypt::hash(GOOD, 4).unwrap();
        assert!(legacy.starts_with("$2b$"));
        assert_eq!(verify(GOOD, &legacy), Verified::YesRehash);
        assert_eq!(verify("wrong password entirely", &legacy), Verified::No);
    }

    #[test]
    fn decoy_hash_is_a_valid_current_hash() {
        assert!(PasswordHash::new(decoy_hash()).is_ok());
        assert_eq!(verify(GOOD, decoy_hash()), Verified::No);
    }

    #[test]
    fn policy_refuses_short_common_and_personal_passwords_with_advice() {
        let ctx = Context {
            email: "ada.lovelace@example.com",
            workspace_name: "Acme Cleaning",
            second_factor_required: false,
        };
        let msg = |p: &str| {
            check_policy(p, ctx)
                .err()
                .map(|e| e.message)
                .unwrap_or_default()
        };
        assert!(msg("short").contains("at least 15"));
        assert!(
            msg("passwordpassword1").contains("too easy"),
            "{}",
            msg("passwordpassword1")
        );
        assert!(msg("aaaaaaaaaaaaaaaaaaaa").contains("too easy"));
        assert!(msg("ada.lovelace tram violin jungle").contains("email"));
        assert!(msg("acme cleaning tram violin jungle").contains("workspace"));
        assert!(check_policy(GOOD, ctx).is_ok());
        assert!(
            check_policy(&"tram violin jungle ".repeat(4), ctx).is_ok(),
            "64+ characters are accepted"
        );
        let with_2fa = Context {
            second_factor_required: true,
            ..ctx
        };
        assert!(
            check_policy("Qz7!mK2#vB", with_2fa).is_ok(),
            "shorter with a second factor"
        );
        assert!(
            check_policy("Qz7!mK2", with_2fa).is_err(),
            "but never under 8"
        );
    }
}
