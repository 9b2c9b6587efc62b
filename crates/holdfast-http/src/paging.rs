//! Paging of every list: `limit` and `cursor`, validated once, and the page answered.

use crate::table::QueryParam;
use schemars::JsonSchema;
use serde::Serialize;

/// A list's page size when the request names none.
pub const DEFAULT_LIMIT: u32 = 50;
/// The largest page size a list accepts.
pub const MAX_LIMIT: u32 = 200;

/// The page size of every list.
pub const LIMIT: QueryParam = QueryParam {
    name: "limit",
    description: "Page size, 1–200 (default 50)",
    integer: true,
};

/// The position in every list.
pub const CURSOR: QueryParam = QueryParam {
    name: "cursor",
    description: "next_cursor of the previous page",
    integer: false,
};

/// A page of a list: `next_cursor` is absent on the last page.
#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct Page<T> {
    pub data: Vec<T>,
    pub next_cursor: Option<String>,
}

/// The page from `rows` fetched with `limit + 1`: the extra row only says another page
/// exists, and the last kept row's key (its id, or the audit trail's sequence number) is the
/// next cursor.
pub(crate) fn page_of<T>(mut rows: Vec<T>, limit: u32, key: impl Fn(&T) -> String) -> Page<T> {
    let limit = limit as usize;
    let next_cursor = (rows.len() > limit).then(|| {
        rows.truncate(limit);
        rows.last()
            .map(|r| encode_cursor(&key(r)))
            .unwrap_or_default()
    });
    Page {
        data: rows,
        next_cursor,
    }
}

/// Cursors are opaque to clients: the last row's id, base64url-encoded.
pub(crate) fn encode_cursor(id: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id)
}

/// `limit` and `cursor` of a list request, validated together (one 422 naming both).
pub(crate) fn page_params(
    limit: Option<&str>,
    cursor: Option<&str>,
) -> Result<(u32, Option<String>), crate::problem::Problem> {
    let mut errors = holdfast_core::validate::Errors::default();
    let page = page_params_into(limit, cursor, &mut errors);
    errors
        .finish(page)
        .map_err(crate::problem::Problem::validation)
}

/// As [`page_params`], adding its errors to those of the list's other parameters.
pub(crate) fn page_params_into(
    limit: Option<&str>,
    cursor: Option<&str>,
    errors: &mut holdfast_core::validate::Errors,
) -> (u32, Option<String>) {
    use base64::Engine as _;
    let limit = match limit {
        None => DEFAULT_LIMIT,
        Some(text) => match text.parse::<u32>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => {
                errors.push(
                    "limit",
                    format!("must be a whole number from 1 to {MAX_LIMIT}"),
                );
                DEFAULT_LIMIT
            }
        },
    };
    let cursor = cursor.and_then(|text| {
        let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .filter(|s| s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
        if decoded.is_none() {
            errors.push(
                "cursor",
                "is not a cursor this API issued; pass next_cursor from the previous page",
            );
        }
        decoded
    });
    (limit, cursor)
}

/// The position in a list keyed by sequence number (the audit trail): the rows before the
/// cursor's number, or every row (`i64::MAX`) without one. A cursor that decoded (or was
/// refused by [`page_params_into`], which named it already) but is no number is refused.
pub(crate) fn before_seq(
    cursor: Option<&str>,
    errors: &mut holdfast_core::validate::Errors,
) -> i64 {
    match cursor.map(str::parse::<i64>) {
        None => i64::MAX,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            errors.push(
                "cursor",
                "is not a cursor this API issued; pass next_cursor from the previous page",
            );
            i64::MAX
        }
    }
}
