//! Sign-in and sessions: wire types.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Body of `POST /api/v1/auth/login`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginIn {
    #[schemars(length(max = 254))]
    pub email: String,
    #[schemars(length(max = 1024))]
    pub password: String,
    /// The workspace's slug.
    #[schemars(length(max = 40))]
    pub workspace: String,
    /// Required once two-factor sign-in is on: the authenticator's 6-digit code, or an unused
    /// recovery code.
    #[serde(default)]
    #[schemars(length(max = 64))]
    pub totp_code: Option<String>,
    /// `token` (default): an access token and a refresh token, for API clients. `cookie`: a
    /// console session in an HttpOnly cookie, with a CSRF token for state-changing requests.
    #[serde(default)]
    pub session: SessionMode,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionMode {
    #[default]
    Token,
    Cookie,
}

/// A console session: the session id itself travels only in the HttpOnly cookie.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ConsoleSessionOut {
    pub session_id: String,
    /// Send as `X-CSRF-Token` with every state-changing request (also in the readable
    /// `…hf_csrf` cookie).
    pub csrf_token: String,
    /// Absolute end of the session (epoch ms); idle sessions end sooner.
    pub expires_at: i64,
}

/// What a sign-in returns: tokens (`session: token`) or a console session (`session: cookie`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum LoginOut {
    Tokens(TokensOut),
    Console(ConsoleSessionOut),
}

/// Returned when two-factor enrolment starts: put the secret in an authenticator app.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TotpEnrollOut {
    /// Base32, for typing in by hand.
    pub secret: String,
    pub otpauth_uri: String,
    /// The URI as an SVG QR code.
    pub qr_svg: String,
}

/// Body of `POST /api/v1/auth/2fa/enroll`: the account's password, so that a stolen session
/// cannot put its own authenticator on the account.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpEnrollIn {
    #[schemars(length(max = 1024))]
    pub password: String,
}

/// Body of `POST /api/v1/auth/2fa/confirm`: the password again and the authenticator's code.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpConfirmIn {
    #[schemars(length(max = 1024))]
    pub password: String,
    #[schemars(length(max = 64))]
    pub code: String,
}

/// Shown once: each code signs in once instead of an authenticator code.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RecoveryCodesOut {
    pub recovery_codes: Vec<String>,
}

/// Body of `POST /api/v1/auth/2fa/disable`: both factors.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpDisableIn {
    #[schemars(length(max = 1024))]
    pub password: String,
    #[schemars(length(max = 64))]
    pub code: String,
}

/// Body of `POST /api/v1/auth/refresh`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshIn {
    #[schemars(length(max = 100))]
    pub refresh_token: String,
}

/// Tokens for an API client: a short-lived access token and a refresh token that rotates on
/// every use.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TokensOut {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    pub refresh_token: String,
    pub session_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct SessionOut {
    pub id: String,
    /// `api` (access and refresh tokens) or `console` (a browser cookie).
    pub kind: String,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    /// The session the listing request was made with.
    pub current: bool,
}

/// Body of `POST /api/v1/auth/forgot-password`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ForgotIn {
    #[schemars(email, length(max = 254))]
    pub email: String,
}

/// Body of `POST /api/v1/auth/reset-password`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetIn {
    #[schemars(length(max = 100))]
    pub token: String,
    #[schemars(length(min = 15, max = 1024))]
    pub password: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct AcceptedOut {
    pub status: String,
}

/// Body of `POST /api/v1/auth/step-up`: the password again, and the second factor if on.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepUpIn {
    #[schemars(length(max = 1024))]
    pub password: String,
    #[serde(default)]
    #[schemars(length(max = 64))]
    pub totp_code: Option<String>,
}

/// Body of `POST /api/v1/auth/oidc/complete`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SsoCompleteIn {
    /// The account's password: needed the first time a provider identity is linked to it.
    #[serde(default)]
    #[schemars(length(max = 1024))]
    pub password: Option<String>,
    /// The authenticator's code (or a recovery code), when the account has one.
    #[serde(default)]
    #[schemars(length(max = 64))]
    pub totp_code: Option<String>,
}
