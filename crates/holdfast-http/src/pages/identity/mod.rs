//! Identity pages: sign-in and sign-out, and confirming the password before a sensitive
//! action (step-up).

pub mod sign_in;
pub mod step_up;
