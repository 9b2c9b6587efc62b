//! `multipart/form-data` (RFC 7578) as Mailgun posts inbound routes: text fields and file
//! parts. The verifier's parser in [`crate::webhooks::inbound::mailgun`] only reads small text fields,
//! so this one keeps files too.

use super::{Limits, MailError};

/// More parts than this is not a mail delivery.
const MAX_PARTS: usize = 1000;
/// RFC 2046 allows 70 characters; a little slack for odd senders.
const MAX_BOUNDARY_LEN: usize = 200;

/// One form field's value. `filename` and `content_type` are as sent (the
/// `filename*` form decoded); they are sanitised when the mail is built.
#[derive(Clone, PartialEq, Eq)]
pub enum FieldValue {
    Text(String),
    File {
        filename: String,
        content_type: String,
        bytes: Vec<u8>,
    },
}

impl FieldValue {
    /// The value's size in bytes.
    pub fn len(&self) -> usize {
        match self {
            FieldValue::Text(text) => text.len(),
            FieldValue::File { bytes, .. } => bytes.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl std::fmt::Debug for FieldValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FieldValue::Text(text) => f.debug_tuple("Text").field(text).finish(),
            FieldValue::File {
                filename,
                content_type,
                bytes,
            } => f
                .debug_struct("File")
                .field("filename", filename)
                .field("content_type", content_type)
                .field("len", &bytes.len())
                .finish(),
        }
    }
}

/// Parses a `multipart/form-data` body given its `Content-Type` header. Parts without a
/// `name` are skipped; text values are decoded as UTF-8 (invalid bytes replaced).
pub fn parse_multipart_form(
    content_type: &str,
    body: &[u8],
    limits: &Limits,
) -> Result<Vec<(String, FieldValue)>, MailError> {
    if body.len() > limits.max_total_bytes {
        return Err(MailError::TooLarge);
    }
    let (media_type, params) = content_type.split_once(';').unwrap_or((content_type, ""));
    if !media_type
        .trim()
        .eq_ignore_ascii_case("multipart/form-data")
    {
        return Err(MailError::Malformed("the body is not multipart/form-data"));
    }
    let boundary = parameters(params)
        .into_iter()
        .find(|(name, _)| name == "boundary")
        .map(|(_, value)| value)
        .filter(|b| !b.is_empty() && b.len() <= MAX_BOUNDARY_LEN)
        .ok_or(MailError::Malformed("the multipart body has no boundary"))?;
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();

    let mut at = if is_delimiter_at(body, 0, delimiter) {
        0
    } else {
        find_delimiter(body, delimiter)
            .map(|p| p + 1)
            .ok_or(MailError::Malformed("the multipart body has no parts"))?
    };
    let mut fields = Vec::new();
    loop {
        let after = body.get(at + delimiter.len()..).unwrap_or_default();
        if after.starts_with(b"--") {
            break;
        }
        let line_end =
            find(after, b"\n").ok_or(MailError::Malformed("the multipart body is truncated"))?;
        let part_start = at + delimiter.len() + line_end + 1;
        let rest = body.get(part_start..).unwrap_or_default();
        let part_len = find_delimiter(rest, delimiter)
            .ok_or(MailError::Malformed("the multipart body is truncated"))?;
        let part = rest.get(..part_len).unwrap_or_default();
        let part = part.strip_suffix(b"\r").unwrap_or(part);
        if fields.len() >= MAX_PARTS {
            return Err(MailError::Malformed("the form has too many fields"));
        }
        fields.extend(field(part));
        at = part_start + part_len + 1;
    }
    Ok(fields)
}

/// One part: headers, a blank line, the content.
fn field(part: &[u8]) -> Option<(String, FieldValue)> {
    let (head, content) = split_head(part)?;
    let head = String::from_utf8_lossy(head);
    let mut name = None;
    let mut filename = None;
    let mut filename_ext = None;
    let mut content_type = String::from("application/octet-stream");
    for line in head.lines() {
        let Some((header, value)) = line.split_once(':') else {
            continue;
        };
        let (first, params) = value.split_once(';').unwrap_or((value, ""));
        match header.trim().to_ascii_lowercase().as_str() {
            "content-disposition" if first.trim().eq_ignore_ascii_case("form-data") => {
                for (key, value) in parameters(params) {
                    match key.as_str() {
                        "name" => name = Some(value),
                        "filename" => filename = Some(value),
                        "filename*" => filename_ext = ext_value(&value),
                        _ => {}
                    }
                }
            }
            "content-type" => content_type = first.trim().to_ascii_lowercase(),
            _ => {}
        }
    }
    let name = name?;
    let value = match filename_ext.or(filename) {
        Some(filename) => FieldValue::File {
            filename,
            content_type,
            bytes: content.to_vec(),
        },
        None => FieldValue::Text(String::from_utf8_lossy(content).into_owned()),
    };
    Some((name, value))
}

/// Splits at the first blank line (CRLF or LF); `None` without one.
fn split_head(part: &[u8]) -> Option<(&[u8], &[u8])> {
    for (i, byte) in part.iter().enumerate() {
        if *byte != b'\n' {
            continue;
        }
        let next = part.get(i + 1..).unwrap_or_default();
        let skip = if next.starts_with(b"\r\n") {
            3
        } else if next.starts_with(b"\n") {
            2
        } else {
            continue;
        };
        return Some((part.get(..i)?, part.get(i + skip..)?));
    }
    None
}

/// `; key=value; key="quoted \"value\""` parameters, keys lowercased (at most 32).
fn parameters(input: &str) -> Vec<(String, String)> {
    let mut params = Vec::new();
    let mut chars = input.chars().peekable();
    while params.len() < 32 {
        while chars.next_if(|c| *c == ';' || c.is_whitespace()).is_some() {}
        let key: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=' && *c != ';'))
            .collect::<String>()
            .trim()
            .to_ascii_lowercase();
        if key.is_empty() && chars.peek().is_none() {
            break;
        }
        let mut value = String::new();
        if chars.next_if_eq(&'=').is_some() {
            while chars.next_if(|c| *c == ' ' || *c == '\t').is_some() {}
            if chars.next_if_eq(&'"').is_some() {
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => value.extend(chars.next()),
                        c => value.push(c),
                    }
                }
                while chars.next_if(|c| *c != ';').is_some() {}
            } else {
                value = std::iter::from_fn(|| chars.next_if(|c| *c != ';'))
                    .collect::<String>()
                    .trim()
                    .to_owned();
            }
        }
        if !key.is_empty() {
            params.push((key, value));
        }
    }
    params
}

/// RFC 5987 `charset'lang'percent-encoded` (UTF-8 and ASCII only).
fn ext_value(value: &str) -> Option<String> {
    let mut pieces = value.splitn(3, '\'');
    let charset = pieces.next()?;
    let _language = pieces.next()?;
    let encoded = pieces.next()?;
    if !charset.eq_ignore_ascii_case("utf-8") && !charset.eq_ignore_ascii_case("us-ascii") {
        return None;
    }
    let mut bytes = Vec::with_capacity(encoded.len());
    let mut input = encoded.bytes();
    while let Some(b) = input.next() {
        if b == b'%' {
            let hex = [input.next()?, input.next()?];
            let hex = std::str::from_utf8(&hex).ok()?;
            bytes.push(u8::from_str_radix(hex, 16).ok()?);
        } else {
            bytes.push(b);
        }
    }
    String::from_utf8(bytes).ok()
}

/// The position of the newline before the next delimiter line: `\n--boundary` followed by
/// `--`, or by optional blanks and a line end (so content merely starting with the
/// boundary text is not cut).
fn find_delimiter(haystack: &[u8], delimiter: &[u8]) -> Option<usize> {
    let needle = [b"\n", delimiter].concat();
    let mut from = 0;
    while let Some(found) = haystack.get(from..).and_then(|h| find(h, &needle)) {
        let at = from + found;
        if is_delimiter_at(haystack, at + 1, delimiter) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Whether a delimiter line (or the close delimiter) starts at `at`.
fn is_delimiter_at(haystack: &[u8], at: usize, delimiter: &[u8]) -> bool {
    let Some(rest) = haystack.get(at..) else {
        return false;
    };
    let Some(after) = rest.strip_prefix(delimiter) else {
        return false;
    };
    let blanks = after
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t'))
        .count();
    let after = after.get(blanks..).unwrap_or_default();
    after.is_empty()
        || after.starts_with(b"--")
        || after.starts_with(b"\n")
        || after.starts_with(b"\r\n")
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(content_type: &str, body: &str) -> Result<Vec<(String, FieldValue)>, MailError> {
        parse_multipart_form(content_type, body.as_bytes(), &Limits::default())
    }

    #[test]
    fn text_and_file_fields_are_read() {
        let body = "--b0\r\nContent-Disposition: form-data; name=\"subject\"\r\n\r\nHello;\r\n there\r\n\
            --b0\r\nContent-Disposition: form-data; name=\"attachment-1\"; filename=\"a;b \\\"c\\\".pdf\"\r\n\
            Content-Type: Application/PDF\r\n\r\n%PDF-1.4\r\n\x01\r\n\
            --b0\r\nContent-Disposition: form-data; name=\"attachment-2\"; filename*=UTF-8''%E2%82%AC%20rate.txt\r\n\r\n\r\n\
            --b0\r\nContent-Disposition: form-data\r\n\r\nno name\r\n--b0--\r\n";
        let fields = parse("multipart/form-data; boundary=\"b0\"", body).unwrap();
        assert_eq!(fields.len(), 3);
        assert_eq!(
            fields[0],
            (
                "subject".into(),
                FieldValue::Text("Hello;\r\n there".into())
            )
        );
        assert_eq!(
            fields[1].1,
            FieldValue::File {
                filename: "a;b \"c\".pdf".into(),
                content_type: "application/pdf".into(),
                bytes: b"%PDF-1.4\r\n\x01".to_vec(),
            }
        );
        assert_eq!(
            fields[2].1,
            FieldValue::File {
                filename: "€ rate.txt".into(),
                content_type: "application/octet-stream".into(),
                bytes: Vec::new(),
            }
        );
    }

    #[test]
    fn bare_lf_bodies_and_preambles_are_accepted() {
        let body = "preamble\n--x\nContent-Disposition: form-data; name=a\n\n1\n--x--";
        let fields = parse("multipart/form-data;boundary=x", body).unwrap();
        assert_eq!(fields, vec![("a".into(), FieldValue::Text("1".into()))]);
    }

    #[test]
    fn bad_bodies_are_malformed() {
        for (content_type, body) in [
            ("application/json", "{}"),
            ("multipart/form-data", "--x\r\n"),
            ("multipart/form-data; boundary=", "--\r\n"),
            ("multipart/form-data; boundary=x", "no delimiter"),
            (
                "multipart/form-data; boundary=x",
                "--x\r\nContent-Disposition: form-data; name=a\r\n\r\nunterminated",
            ),
            ("multipart/form-data; boundary=x", "--x"),
        ] {
            assert!(
                matches!(parse(content_type, body), Err(MailError::Malformed(_))),
                "{content_type} {body:?}"
            );
        }
        let small = Limits {
            max_total_bytes: 4,
            ..Limits::default()
        };
        assert_eq!(
            parse_multipart_form("multipart/form-data; boundary=x", b"--x--\r\n", &small),
            Err(MailError::TooLarge)
        );
    }

    #[test]
    fn parameters_handle_quotes_and_escapes() {
        assert_eq!(
            parameters(" name=\"a\\\"b;c\" ; Filename = x.pdf;flag;"),
            vec![
                ("name".into(), "a\"b;c".into()),
                ("filename".into(), "x.pdf".into()),
                ("flag".into(), String::new()),
            ]
        );
    }
}
