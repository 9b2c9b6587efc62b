//! Identity pages: sign-in and sign-out, a forgotten password and its reset, single sign-on.

pub mod password_reset;
pub mod sign_in;
pub mod sso;
