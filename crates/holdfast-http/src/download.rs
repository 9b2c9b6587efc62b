//! One way to answer with a stored file (a ticket's attachment, a job's photo or file, a
//! portal's logo; an invoice's PDF with [`pdf_response`]): the
//! name sanitised into `Content-Disposition` (an ASCII fallback and the exact name in
//! RFC 5987 form), the content type recorded at intake (from a safe list), `nosniff`, and a
//! sandboxing policy, so a file from a stranger is never run as a page in the console's origin
//! even when opened directly. `inline` only for the image types a browser shows as pictures
//! (the console's thumbnails); everything else downloads.

use axum::response::{IntoResponse, Response};

/// The answer carrying `bytes` as the file `filename` of `content_type`.
pub(crate) fn file_response(
    bytes: Vec<u8>,
    content_type: &str,
    filename: &str,
    inline: bool,
) -> Response {
    (
        [
            ("content-type", content_type.to_owned()),
            ("content-disposition", disposition(filename, inline)),
            ("x-content-type-options", "nosniff".to_owned()),
            (
                "content-security-policy",
                "sandbox; default-src 'none'".to_owned(),
            ),
            ("cache-control", "private, no-store".to_owned()),
        ],
        bytes,
    )
        .into_response()
}

/// The answer carrying an invoice's PDF (or a credit note's) that Holdfast rendered itself:
/// like [`file_response`] but without the sandbox, which would stop a browser's PDF viewer
/// from showing it inline (the console's invoice page opens it in a tab).
pub(crate) fn pdf_response(bytes: Vec<u8>, filename: &str, inline: bool) -> Response {
    (
        [
            ("content-type", "application/pdf".to_owned()),
            ("content-disposition", disposition(filename, inline)),
            ("x-content-type-options", "nosniff".to_owned()),
            ("cache-control", "no-store".to_owned()),
        ],
        bytes,
    )
        .into_response()
}

/// `Content-Disposition` for `filename`: an ASCII fallback and the exact name (RFC 5987).
fn disposition(filename: &str, inline: bool) -> String {
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = filename
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let how = if inline { "inline" } else { "attachment" };
    format!("{how}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_cannot_break_out_of_the_header() {
        let r = file_response(b"x".to_vec(), "image/png", "a\"b;\r\nc é.png", true);
        let d = r.headers()["content-disposition"].to_str().unwrap();
        assert_eq!(
            d,
            "inline; filename=\"a_b___c__.png\"; filename*=UTF-8''a%22b%3B%0D%0Ac%20%C3%A9.png"
        );
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    }
}
