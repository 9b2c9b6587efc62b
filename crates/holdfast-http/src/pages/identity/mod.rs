//! Identity pages: sign-in and sign-out, a forgotten password and its reset, single sign-on;
//! the person's own profile and password, two-factor sign-in and sessions; the step-up form.

pub mod password_reset;
pub mod profile;
pub mod sessions;
pub mod sign_in;
pub mod sso;
pub mod step_up;
pub mod two_factor;
