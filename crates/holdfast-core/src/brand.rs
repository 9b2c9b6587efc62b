//! How a workspace's customer-facing pages look: its name, an accent colour and a logo, shown
//! on every client portal page (the sign-in pages included, before anyone is known).
//!
//! The colour reaches the page as a small stylesheet of its own (`/portal/{slug}/brand.css`),
//! never as an inline style, so the strict CSP (`style-src 'self'`) holds. It paints the bar
//! and the main buttons; the text on it is white or black, whichever contrasts more with the
//! colour: for any colour that is at least 4.58:1, so every colour a workspace picks keeps
//! WCAG AA for normal text. Links on the white page keep the portal's own blue.
//!
//! A logo is a PNG, JPEG or WebP image recognised by its bytes, at most [`LOGO_MAX_BYTES`]. SVG
//! is refused: it is a document that can carry script and outside references, and a logo is
//! served to customers from the portal's own origin.

use crate::error::{ApiError, ErrorCode};
use crate::field_service::files::{FileType, sniff};
use crate::validate::{Errors, FieldError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The largest logo kept, in bytes.
pub const LOGO_MAX_BYTES: usize = 256 * 1024;

/// An opaque sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Colour([u8; 3]);

pub const WHITE: Colour = Colour([0xff, 0xff, 0xff]);
pub const BLACK: Colour = Colour([0, 0, 0]);

impl Colour {
    /// `#rrggbb` or `#rgb`, any case, surrounding spaces ignored.
    pub fn parse(text: &str) -> Option<Colour> {
        let hex = text.trim().strip_prefix('#')?;
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let digit = |i: usize| u8::from_str_radix(hex.get(i..=i)?, 16).ok();
        let pair = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok();
        match hex.len() {
            3 => Some(Colour([digit(0)? * 17, digit(1)? * 17, digit(2)? * 17])),
            6 => Some(Colour([pair(0)?, pair(2)?, pair(4)?])),
            _ => None,
        }
    }

    /// `#rrggbb`, lower case.
    pub fn hex(self) -> String {
        let [r, g, b] = self.0;
        format!("#{r:02x}{g:02x}{b:02x}")
    }

    /// WCAG 2 relative luminance, 0 (black) to 1 (white).
    pub fn luminance(self) -> f64 {
        let channel = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        let [r, g, b] = self.0;
        0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
    }

    /// WCAG 2 contrast ratio between two colours, 1 to 21.
    pub fn contrast(self, other: Colour) -> f64 {
        let (a, b) = (self.luminance(), other.luminance());
        let (light, dark) = if a >= b { (a, b) } else { (b, a) };
        (light + 0.05) / (dark + 0.05)
    }

    /// The text colour for this background: white or black, whichever contrasts more.
    pub fn ink(self) -> Colour {
        if self.contrast(WHITE) >= self.contrast(BLACK) {
            WHITE
        } else {
            BLACK
        }
    }
}

/// A brand colour as sent, checked.
pub fn colour(field: &str, text: &str) -> Result<Colour, FieldError> {
    Colour::parse(text).ok_or_else(|| {
        FieldError::new(
            field,
            "a colour is written #rrggbb (or #rgb) in hexadecimal, such as #0b5cad",
        )
    })
}

/// Body of `PUT /api/v1/portal/branding`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BrandingIn {
    /// The portal's accent colour, `#rrggbb`; `null` (or left out) for the portal's own.
    #[serde(default)]
    pub colour: Option<String>,
}

impl BrandingIn {
    /// The colour checked: `None` for the default (an empty string is the default too).
    pub fn validate(&self) -> Result<Option<Colour>, Vec<FieldError>> {
        let mut errors = Errors::default();
        let colour = match self.colour.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => errors.take(colour("colour", text)),
        };
        errors.finish(colour)
    }
}

/// `GET`/`PUT /api/v1/portal/branding`: how the workspace's portal looks.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct BrandingOut {
    /// The accent colour, `#rrggbb`; `null`: the portal's own.
    pub colour: Option<String>,
    /// The text colour shown on the accent colour (white or black, whichever contrasts more).
    pub ink: Option<String>,
    pub logo: Option<LogoOut>,
}

/// The workspace's logo, as the portal serves it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct LogoOut {
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    /// Where the portal serves it (a path on this server).
    pub url: String,
}

/// The workspace a portal page belongs to, as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Brand {
    pub name: String,
    pub slug: String,
    pub colour: Option<Colour>,
    /// The logo's SHA-256 (hex), when there is one.
    pub logo: Option<String>,
}

impl Brand {
    /// The page's brand stylesheet, when the workspace chose a colour; its address changes
    /// with the colour, so a browser never keeps an old one.
    pub fn stylesheet(&self) -> Option<String> {
        self.colour
            .map(|c| format!("/portal/{}/brand.css?v={}", self.slug, &c.hex()[1..]))
    }

    /// The logo's address, when there is one; it changes with the logo.
    pub fn logo_src(&self) -> Option<String> {
        self.logo.as_deref().map(|sha| logo_url(&self.slug, sha))
    }
}

/// Where a workspace's portal serves its logo, versioned by the logo's digest.
pub fn logo_url(slug: &str, sha256: &str) -> String {
    format!(
        "/portal/{slug}/logo?v={}",
        sha256.get(..16).unwrap_or(sha256)
    )
}

/// The brand stylesheet for `colour`: the accent and the ink on it, as custom properties the
/// portal's own stylesheet uses.
pub fn stylesheet(colour: Colour) -> String {
    format!(
        "body.portal {{ --brand: {}; --brand-ink: {}; }}\n",
        colour.hex(),
        colour.ink().hex()
    )
}

/// The refusal of a logo over [`LOGO_MAX_BYTES`].
pub fn logo_too_large() -> ApiError {
    ApiError::new(
        ErrorCode::PayloadTooLarge,
        format!(
            "a logo is at most {} KiB; save it smaller (a few hundred pixels wide is plenty)",
            LOGO_MAX_BYTES / 1024
        ),
    )
}

/// Checks a logo's bytes: 422 when empty, 413 over [`LOGO_MAX_BYTES`], 415 unless the bytes
/// are a PNG, JPEG or WebP image (whatever type was declared).
pub fn check_logo(bytes: &[u8]) -> Result<FileType, ApiError> {
    if bytes.is_empty() {
        return Err(ApiError::new(
            ErrorCode::Validation,
            "the file is empty; choose the logo again",
        ));
    }
    if bytes.len() > LOGO_MAX_BYTES {
        return Err(logo_too_large());
    }
    match sniff(bytes) {
        Some(t @ (FileType::Png | FileType::Jpeg | FileType::Webp)) => Ok(t),
        _ => Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "a logo is a PNG, JPEG or WebP image, recognised by its bytes (SVG is not taken: \
             it can carry script)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_parse_in_both_lengths_and_any_case() {
        assert_eq!(
            Colour::parse("#0B5CAD").map(Colour::hex).as_deref(),
            Some("#0b5cad")
        );
        assert_eq!(
            Colour::parse(" #fa0 ").map(Colour::hex).as_deref(),
            Some("#ffaa00")
        );
        for bad in [
            "",
            "#",
            "0b5cad",
            "#0b5ca",
            "#0b5cadd",
            "#ggg",
            "red",
            "#+1+2+3",
            "#ﬀﬀﬀ",
            "#0b5cad;}body{",
        ] {
            assert_eq!(Colour::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn luminance_and_contrast_match_wcag() {
        assert!((WHITE.luminance() - 1.0).abs() < 1e-9);
        assert!(BLACK.luminance().abs() < 1e-9);
        assert!((WHITE.contrast(BLACK) - 21.0).abs() < 1e-9);
        // The portal's own blue on white, as WCAG tools report it (about 6.6:1).
        let blue = Colour::parse("#0b5cad").unwrap();
        assert!(
            (blue.contrast(WHITE) - 6.6).abs() < 0.1,
            "{}",
            blue.contrast(WHITE)
        );
    }

    /// Whatever colour a workspace picks, the ink on it reaches AA for normal text (4.5:1):
    /// the worst case of max(contrast with white, with black) is about 4.58.
    #[test]
    fn the_ink_keeps_aa_contrast_on_every_colour() {
        let mut worst = f64::MAX;
        for r in (0..=255u16).step_by(5) {
            for g in (0..=255u16).step_by(5) {
                for b in (0..=255u16).step_by(5) {
                    let c = Colour([r as u8, g as u8, b as u8]);
                    worst = worst.min(c.contrast(c.ink()));
                }
            }
        }
        assert!(worst >= 4.5, "worst contrast {worst}");
        assert_eq!(Colour::parse("#ffff00").unwrap().ink(), BLACK);
        assert_eq!(Colour::parse("#1b1f24").unwrap().ink(), WHITE);
    }

    #[test]
    fn branding_in_takes_a_colour_or_the_default() {
        let of = |colour: Option<&str>| {
            BrandingIn {
                colour: colour.map(str::to_owned),
            }
            .validate()
        };
        assert_eq!(of(None), Ok(None));
        assert_eq!(of(Some("  ")), Ok(None));
        assert_eq!(
            of(Some("#123456")).unwrap().map(Colour::hex).as_deref(),
            Some("#123456")
        );
        let errors = of(Some("blue")).unwrap_err();
        assert_eq!(errors[0].field, "colour");
    }

    #[test]
    fn a_brand_points_at_versioned_addresses() {
        let brand = Brand {
            name: "Acme".into(),
            slug: "acme".into(),
            colour: Colour::parse("#123456"),
            logo: Some("ab".repeat(32)),
        };
        assert_eq!(
            brand.stylesheet().as_deref(),
            Some("/portal/acme/brand.css?v=123456")
        );
        assert_eq!(
            brand.logo_src().as_deref(),
            Some("/portal/acme/logo?v=abababababababab")
        );
        let plain = Brand {
            colour: None,
            logo: None,
            ..brand
        };
        assert_eq!(plain.stylesheet(), None);
        assert_eq!(plain.logo_src(), None);
        assert_eq!(
            stylesheet(Colour::parse("#ffff00").unwrap()),
            "body.portal { --brand: #ffff00; --brand-ink: #000000; }\n"
        );
    }

    #[test]
    fn logos_are_pictures_recognised_by_their_bytes() {
        let png = b"\x89PNG\r\n\x1a\nrest";
        assert_eq!(check_logo(png).unwrap(), FileType::Png);
        assert_eq!(check_logo(b"\xFF\xD8\xFFxx").unwrap(), FileType::Jpeg);
        assert_eq!(check_logo(b"").unwrap_err().code, ErrorCode::Validation);
        let svg = b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>";
        assert_eq!(
            check_logo(svg).unwrap_err().code,
            ErrorCode::UnsupportedMediaType
        );
        assert_eq!(
            check_logo(b"%PDF-1.7").unwrap_err().code,
            ErrorCode::UnsupportedMediaType
        );
        let mut big = png.to_vec();
        big.resize(LOGO_MAX_BYTES + 1, 0);
        assert_eq!(
            check_logo(&big).unwrap_err().code,
            ErrorCode::PayloadTooLarge
        );
        big.truncate(LOGO_MAX_BYTES);
        assert!(check_logo(&big).is_ok());
    }
}
