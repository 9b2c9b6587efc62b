//! Identity pages: sign-in and sign-out.

pub mod sign_in;
