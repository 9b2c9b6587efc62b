//! Identity pages: sign-in and sign-out, a forgotten password and its reset.

pub mod password_reset;
pub mod sign_in;
