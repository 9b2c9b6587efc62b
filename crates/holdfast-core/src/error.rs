//! Holdfast's error codes: stable, documented and greppable (`HF-AUTH-001`). The HTTP layer
//! renders an [`ApiError`] once, as RFC 9457 problem+json.

use crate::validate::FieldError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    AuthMissing,
    AuthInvalid,
    Forbidden,
    SecondFactorRequired,
    StepUpRequired,
    EnrolmentRequired,
    CsrfRejected,
    SsoRefused,
    SignatureRefused,
    Suspended,
    Locked,
    MalformedBody,
    UnsupportedMediaType,
    PayloadTooLarge,
    Validation,
    NotFound,
    MethodNotAllowed,
    Conflict,
    IdempotencyMismatch,
    RateLimited,
    Internal,
    Timeout,
    Unavailable,
    PaymentRequired,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 24] = [
        Self::AuthMissing,
        Self::AuthInvalid,
        Self::Forbidden,
        Self::SecondFactorRequired,
        Self::StepUpRequired,
        Self::EnrolmentRequired,
        Self::CsrfRejected,
        Self::SsoRefused,
        Self::SignatureRefused,
        Self::Suspended,
        Self::Locked,
        Self::MalformedBody,
        Self::UnsupportedMediaType,
        Self::PayloadTooLarge,
        Self::Validation,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::Conflict,
        Self::IdempotencyMismatch,
        Self::RateLimited,
        Self::Internal,
        Self::Timeout,
        Self::Unavailable,
        Self::PaymentRequired,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::AuthMissing => "HF-AUTH-001",
            Self::AuthInvalid => "HF-AUTH-002",
            Self::Forbidden => "HF-AUTH-003",
            Self::SecondFactorRequired => "HF-AUTH-004",
            Self::StepUpRequired => "HF-AUTH-005",
            Self::EnrolmentRequired => "HF-AUTH-006",
            Self::CsrfRejected => "HF-AUTH-007",
            Self::SsoRefused => "HF-AUTH-008",
            Self::SignatureRefused => "HF-AUTH-009",
            Self::Suspended => "HF-AUTH-010",
            Self::Locked => "HF-AUTH-011",
            Self::MalformedBody => "HF-REQ-001",
            Self::UnsupportedMediaType => "HF-REQ-002",
            Self::PayloadTooLarge => "HF-REQ-003",
            Self::Validation => "HF-REQ-004",
            Self::NotFound => "HF-REQ-005",
            Self::MethodNotAllowed => "HF-REQ-006",
            Self::Conflict => "HF-REQ-007",
            Self::IdempotencyMismatch => "HF-REQ-008",
            Self::RateLimited => "HF-RATE-001",
            Self::Internal => "HF-SRV-001",
            Self::Timeout => "HF-SRV-002",
            Self::Unavailable => "HF-SRV-003",
            Self::PaymentRequired => "HF-BILL-001",
        }
    }

    pub fn status(self) -> u16 {
        match self {
            Self::AuthMissing
            | Self::AuthInvalid
            | Self::SecondFactorRequired
            | Self::SsoRefused
            | Self::SignatureRefused => 401,
            Self::Forbidden
            | Self::StepUpRequired
            | Self::EnrolmentRequired
            | Self::CsrfRejected
            | Self::Suspended
            | Self::Locked => 403,
            Self::MalformedBody => 400,
            Self::UnsupportedMediaType => 415,
            Self::PayloadTooLarge => 413,
            Self::Validation | Self::IdempotencyMismatch => 422,
            Self::NotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::Conflict => 409,
            Self::RateLimited => 429,
            Self::Internal => 500,
            Self::Timeout | Self::Unavailable => 503,
            Self::PaymentRequired => 402,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Self::AuthMissing => "Authentication required",
            Self::AuthInvalid => "Invalid credential",
            Self::Forbidden => "Permission denied",
            Self::SecondFactorRequired => "Second factor required",
            Self::StepUpRequired => "Recent sign-in required",
            Self::EnrolmentRequired => "Two-factor enrolment required",
            Self::CsrfRejected => "Cross-site request refused",
            Self::SsoRefused => "Single sign-on refused",
            Self::SignatureRefused => "Webhook signature refused",
            Self::Suspended => "Workspace suspended",
            Self::Locked => "Account locked",
            Self::MalformedBody => "Malformed request body",
            Self::UnsupportedMediaType => "Unsupported media type",
            Self::PayloadTooLarge => "Payload too large",
            Self::Validation => "Validation failed",
            Self::NotFound => "Not found",
            Self::MethodNotAllowed => "Method not allowed",
            Self::Conflict => "Conflict",
            Self::IdempotencyMismatch => "Idempotency-Key reused",
            Self::RateLimited => "Too many requests",
            Self::Internal => "Internal server error",
            Self::Timeout => "Request timed out",
            Self::Unavailable => "Service unavailable",
            Self::PaymentRequired => "Payment required",
        }
    }

    /// The problem `type`: an absolute URI naming the code.
    pub fn type_uri(self) -> String {
        format!("urn:holdfast:problem:{}", self.code())
    }

    /// Maps an HTTP status produced outside our handlers (framework rejections) to a code.
    pub fn for_status(status: u16) -> Self {
        match status {
            400 => Self::MalformedBody,
            401 => Self::AuthMissing,
            402 => Self::PaymentRequired,
            403 => Self::Forbidden,
            404 => Self::NotFound,
            405 => Self::MethodNotAllowed,
            408 | 504 => Self::Timeout,
            409 => Self::Conflict,
            413 => Self::PayloadTooLarge,
            415 => Self::UnsupportedMediaType,
            422 => Self::Validation,
            429 => Self::RateLimited,
            503 => Self::Unavailable,
            _ => Self::Internal,
        }
    }
}

/// An error a caller may see. `detail` is written for the caller: what went wrong and what to
/// do. Internals never go here; they are logged where they happen.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: ErrorCode,
    pub detail: String,
    pub errors: Vec<FieldError>,
    /// Seconds, for 429 and 503.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
        }
    }

    pub fn validation(errors: Vec<FieldError>) -> Self {
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        Self {
            code: ErrorCode::Validation,
            detail: format!(
                "invalid fields: {}; see errors for details",
                fields.join(", ")
            ),
            errors,
            retry_after: None,
        }
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            ErrorCode::NotFound,
            format!("no {what} with this id in this workspace"),
        )
    }

    /// One field's problem: the detail names the field, the errors list carries it.
    pub fn field(code: ErrorCode, field: &str, message: &str) -> Self {
        let mut e = Self::new(code, format!("{field}: {message}"));
        e.errors.push(FieldError::new(field, message));
        e
    }

    pub fn internal() -> Self {
        Self::new(
            ErrorCode::Internal,
            "the server failed to handle this request; quote the request id when reporting it",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_statuses_are_errors() {
        let mut codes: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), ErrorCode::ALL.len());
        assert!(ErrorCode::ALL.iter().all(|c| c.status() >= 400));
    }
}
