//! The README's generated parts stay true to the code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[test]
fn the_roles_table_in_the_readme_matches_the_policy() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let (_, rest) = readme.split_once("<!-- roles:begin -->\n").unwrap();
    let (table, _) = rest.split_once("<!-- roles:end -->").unwrap();
    let expected = holdfast_core::access::policy::roles_table();
    assert!(
        table == expected,
        "README.md's roles table is stale; replace what lies between the roles markers with:\n{expected}"
    );
}
