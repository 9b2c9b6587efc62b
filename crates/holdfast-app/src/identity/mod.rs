//! Identity: proving who someone is — sign-in verification, the second factor, password
//! hashing, forgotten passwords, the OpenID provider client and what single sign-on does once
//! the provider has spoken.

pub mod oidc;
pub mod passwords;
pub mod reset;
pub mod second_factor;
pub mod sign_in;
pub mod sso;
