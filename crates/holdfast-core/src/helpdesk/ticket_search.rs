//! The words of a ticket search (`GET /api/v1/tickets?q=`), cut out of the user's text here so
//! that nothing they type is ever read as query syntax by SQLite's FTS5, and so that
//! PostgreSQL's word table is looked up by plain words and prefix ranges
//! (docs/design/helpdesk.md, "Search").
//!
//! A word is a run of letters and digits; everything else separates words. At most
//! [`MAX_TERMS`] words of at most [`MAX_TERM_CHARS`] characters; every word must occur in the
//! ticket (its subject or any message, notes included); the last word also matches as a prefix
//! when it has at least [`MIN_PREFIX_CHARS`] characters (`inv` finds `invoice`).

use crate::validate::FieldError;

pub const MAX_TERMS: usize = 10;
pub const MAX_TERM_CHARS: usize = 64;
pub const MIN_PREFIX_CHARS: usize = 2;

/// Lower-cased, distinct words, in the order given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchQuery {
    terms: Vec<String>,
}

impl SearchQuery {
    /// The words of `text`; a 422 field error on `field` when there are none, too many, or one
    /// is too long.
    pub fn parse(field: &str, text: &str) -> Result<SearchQuery, FieldError> {
        let mut terms: Vec<String> = Vec::new();
        for word in text.split(|c: char| !c.is_alphanumeric()) {
            if word.is_empty() {
                continue;
            }
            let len = word.chars().count();
            if len > MAX_TERM_CHARS {
                let start: String = word.chars().take(20).collect();
                return Err(FieldError::new(
                    field,
                    format!(
                        "the word '{start}…' is {len} characters long; words are at most {MAX_TERM_CHARS}"
                    ),
                ));
            }
            let word = word.to_lowercase();
            if !terms.contains(&word) {
                terms.push(word);
            }
        }
        if terms.is_empty() {
            return Err(FieldError::new(
                field,
                "has no words to search for; a word is made of letters or digits",
            ));
        }
        if terms.len() > MAX_TERMS {
            return Err(FieldError::new(
                field,
                format!(
                    "has {} different words; search with at most {MAX_TERMS}",
                    terms.len()
                ),
            ));
        }
        Ok(SearchQuery { terms })
    }

    pub fn terms(&self) -> &[String] {
        &self.terms
    }

    fn prefix(&self, index: usize) -> bool {
        index + 1 == self.terms.len()
            && self
                .terms
                .get(index)
                .is_some_and(|t| t.chars().count() >= MIN_PREFIX_CHARS)
    }

    /// One FTS5 query per word: a quoted string (a word holds no `"`), `*` for a prefix.
    pub fn fts5_terms(&self) -> Vec<String> {
        self.terms
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let quoted = format!("\"{}\"", t.replace('"', ""));
                if self.prefix(i) { quoted + "*" } else { quoted }
            })
            .collect()
    }

    /// The whole search as one FTS5 query: every quoted word (implicit AND), matched against
    /// one document per ticket.
    pub fn fts5_query(&self) -> String {
        self.fts5_terms().join(" AND ")
    }

    /// Each word and whether it also matches as a prefix (the last, when long enough), for
    /// PostgreSQL, which folds the words like the documents itself.
    pub fn prefixed_terms(&self) -> Vec<(&str, bool)> {
        self.terms
            .iter()
            .enumerate()
            .map(|(i, t)| (t.as_str(), self.prefix(i)))
            .collect()
    }
}

/// The least text greater than every text that starts with `prefix`, in code-point (and so
/// UTF-8 byte) order: its last character that can grow, grown by one, and nothing after it.
/// So `prefix <= word < prefix_end(prefix)` is exactly "`word` starts with `prefix`", a range
/// a B-tree can walk. `None` when nothing is greater (every character is the last one).
pub fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last {
            '\u{d7ff}' => Some('\u{e000}'),
            _ => char::from_u32(u32::from(last) + 1),
        };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(text: &str) -> Vec<String> {
        SearchQuery::parse("q", text).unwrap().terms().to_vec()
    }

    #[test]
    fn words_are_letters_and_digits_and_everything_else_separates() {
        assert_eq!(terms("Leaking TAP"), ["leaking", "tap"]);
        assert_eq!(
            terms(r#""tap" OR (sink) NEAR -drip* ^x:y"#),
            ["tap", "or", "sink", "near", "drip", "x", "y"]
        );
        assert_eq!(terms("ada@example.com"), ["ada", "example", "com"]);
        assert_eq!(terms("Café crème 50%"), ["café", "crème", "50"]);
        assert_eq!(
            terms("tap Tap TAP"),
            ["tap"],
            "distinct, case-insensitively"
        );
        assert_eq!(terms("東京 ok"), ["東京", "ok"]);
    }

    #[test]
    fn unusable_queries_are_refused_with_a_reason() {
        for bad in ["", "  ", "\"*()-", "'''", "*"] {
            let err = SearchQuery::parse("q", bad).unwrap_err();
            assert_eq!(err.field, "q");
            assert!(err.message.contains("no words"), "{bad}: {}", err.message);
        }
        let many = (0..11)
            .map(|i| format!("w{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        assert!(
            SearchQuery::parse("q", &many)
                .unwrap_err()
                .message
                .contains("at most 10")
        );
        assert!(SearchQuery::parse("q", &"a".repeat(64)).is_ok());
        assert!(
            SearchQuery::parse("q", &"a".repeat(65))
                .unwrap_err()
                .message
                .contains("at most 64")
        );
    }

    #[test]
    fn each_dialect_gets_quoted_words_and_a_prefix_on_the_last() {
        let q = SearchQuery::parse("q", "tap inv").unwrap();
        assert_eq!(q.fts5_terms(), ["\"tap\"", "\"inv\"*"]);
        assert_eq!(q.prefixed_terms(), [("tap", false), ("inv", true)]);
        assert_eq!(q.fts5_query(), "\"tap\" AND \"inv\"*");
        assert_eq!(
            SearchQuery::parse("q", "OR").unwrap().fts5_query(),
            "\"or\"*",
            "an operator is a quoted word"
        );
        let short = SearchQuery::parse("q", "tap x").unwrap();
        assert_eq!(
            short.fts5_terms(),
            ["\"tap\"", "\"x\""],
            "no one-letter prefix"
        );
    }

    #[test]
    fn a_prefix_ends_where_the_next_prefix_begins() {
        assert_eq!(prefix_end("inv").as_deref(), Some("inw"));
        assert_eq!(prefix_end("caf\u{e9}").as_deref(), Some("caf\u{ea}"));
        assert_eq!(prefix_end("a\u{d7ff}").as_deref(), Some("a\u{e000}"));
        assert_eq!(prefix_end("a\u{10ffff}").as_deref(), Some("b"));
        assert_eq!(prefix_end("\u{10ffff}\u{10ffff}"), None);
        assert_eq!(prefix_end(""), None);
        // Every word with the prefix lies in the range, and the words around it do not, in
        // byte order as PostgreSQL's "C" collation compares.
        for (prefix, inside, outside) in [
            (
                "inv",
                ["inv", "invoice", "inv\u{10ffff}x"],
                ["inu", "inw", "io"],
            ),
            (
                "\u{e9}t\u{e9}",
                ["\u{e9}t\u{e9}", "\u{e9}t\u{e9}s", "\u{e9}t\u{e9}\u{4e00}"],
                ["\u{e9}t", "\u{e9}u", "\u{e9}t\u{ea}"],
            ),
        ] {
            let end = prefix_end(prefix).unwrap();
            for word in inside {
                assert!(
                    prefix.as_bytes() <= word.as_bytes() && word.as_bytes() < end.as_bytes(),
                    "{word}"
                );
            }
            for word in outside {
                assert!(
                    !(prefix.as_bytes() <= word.as_bytes() && word.as_bytes() < end.as_bytes()),
                    "{word}"
                );
            }
        }
    }

    #[test]
    fn no_input_yields_a_term_with_syntax_in_it() {
        for nasty in [
            "\"a\" AND b* OR c",
            "NEAR(d e) -f ^g",
            "h:i {j k} 'l' \\m",
            "x\u{0}y\u{202e}z",
        ] {
            let q = SearchQuery::parse("q", nasty).unwrap();
            for t in q.terms() {
                assert!(t.chars().all(char::is_alphanumeric), "{t}");
            }
            for t in q.fts5_terms() {
                assert_eq!(t.matches('"').count(), 2, "{t}");
            }
            assert_eq!(
                q.fts5_query().matches('"').count(),
                2 * q.terms().len(),
                "{nasty}"
            );
        }
    }
}
