//! Identity: proving who someone is. Password hashing and policy (`password`), TOTP and
//! recovery codes (`totp`), access tokens (`jwt`), session wire types (`sessions`), OpenID
//! Connect ID-token verification (`oidc`) and console CSRF tokens (`csrf`).

pub mod csrf;
pub mod jwt;
pub mod oidc;
pub mod password;
pub mod sessions;
pub mod totp;
