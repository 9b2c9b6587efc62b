//! Identity: proving who someone is — sign-in verification, the second factor, password
//! hashing, the OpenID provider client.

pub mod oidc;
pub mod passwords;
pub mod second_factor;
pub mod sign_in;
