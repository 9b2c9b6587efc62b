//! Identity pages: sign-in and sign-out; the person's own profile and password, two-factor
//! sign-in and sessions; the step-up form.

pub mod profile;
pub mod sessions;
pub mod sign_in;
pub mod step_up;
pub mod two_factor;
