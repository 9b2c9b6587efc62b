//! The words of a ticket search (`GET /api/v1/tickets?q=`), cut out of the user's text here so
//! that nothing they type is ever read as query syntax by SQLite's FTS5 or PostgreSQL's
//! `tsquery` (docs/design/helpdesk.md, "Search").
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

    /// One word per term for PostgreSQL's `holdfast_search_query`, which folds it like the
    /// documents and quotes it itself; a trailing `*` asks for a prefix.
    pub fn tsquery_terms(&self) -> Vec<String> {
        self.terms
            .iter()
            .enumerate()
            .map(|(i, t)| {
                if self.prefix(i) {
                    format!("{t}*")
                } else {
                    t.clone()
                }
            })
            .collect()
    }
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
        assert_eq!(q.tsquery_terms(), ["tap", "inv*"]);
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
