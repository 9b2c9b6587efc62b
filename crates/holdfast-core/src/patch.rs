//! PATCH bodies: the one way to tell a field that is absent (leave it as it is) from `null`
//! (clear it) from a value (set it), as JSON merge patch (RFC 7396) reads them.

use serde::{Deserialize, Deserializer};

/// For a PATCH field typed `Option<Option<T>>` with `#[serde(default, deserialize_with =
/// "crate::patch::absent_null_or")]`: absent stays `None` (the default), `null` becomes
/// `Some(None)` and a value `Some(Some(value))`.
pub fn absent_null_or<'de, D, T>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Body {
        #[serde(default, deserialize_with = "super::absent_null_or")]
        note: Option<Option<String>>,
    }

    #[test]
    fn absent_null_and_a_value_are_three_different_things() {
        let parse = |text: &str| serde_json::from_str::<Body>(text).unwrap().note;
        assert_eq!(parse("{}"), None);
        assert_eq!(parse(r#"{"note": null}"#), Some(None));
        assert_eq!(parse(r#"{"note": "hi"}"#), Some(Some("hi".to_owned())));
        assert!(serde_json::from_str::<Body>(r#"{"note": 3}"#).is_err());
    }
}
