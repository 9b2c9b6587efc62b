//! Identity: proving who someone is — sign-in verification, the second factor (and step-up),
//! password hashing, a person's own account (changing the password), forgotten passwords,
//! the OpenID provider client and what single sign-on does once the provider has spoken.

pub mod account;
pub mod oidc;
pub mod passwords;
pub mod reset;
pub mod second_factor;
pub mod sign_in;
pub mod sso;
