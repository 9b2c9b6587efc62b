//! Identity: proving who someone is — `jwt`, `oidc`, `password`, `totp`, `sessions`, `csrf`.

pub mod csrf;
pub mod jwt;
pub mod oidc;
pub mod password;
pub mod sessions;
pub mod totp;
