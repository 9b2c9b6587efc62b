//! Identity: sign-in, single sign-on, the signed-in account, two-factor sign-in.

pub mod account;
pub mod auth;
pub mod oidc;
pub mod two_factor;
