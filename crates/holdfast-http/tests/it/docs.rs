//! ARCHITECTURE.md is the map, and a map must be true: every path it names exists, and every
//! source file is on it.
//!
//! How the map writes a path (its "Paths" note says the same): a crate's short name stands for
//! its folder — `core/`, `store/`, `app/`, `http/`, `testkit/`, `bench/` mean
//! `crates/holdfast-<name>/` — and anything else is relative to the repository root (`src/`,
//! `tests/`, `docs/`, `.ci/`, `Cargo.toml`). One `{a,b}` group stands for each alternative.
//! A path ending in `/` is a folder.
//!
//! What is read as a path: a backquoted span, or a word inside a fenced block, that starts
//! with one of those roots and a `/`, or that ends like a file (`.rs`, `.sql`, `.md` …). So a
//! bare `tenant.rs` or a shortened `api/crm/contacts.rs` fails too: it is not in the
//! convention. Templates (`<feature>`, `*`, `…`), routes (`/api/v1/…`) and URLs are not paths.

use std::path::{Path, PathBuf};

/// Short names of the crates under `crates/`.
const CRATES: &[&str] = &["core", "store", "app", "http", "testkit", "bench"];
/// First components of paths relative to the repository root.
const ROOT_DIRS: &[&str] = &["src", "tests", "docs", ".ci", "crates"];
/// How a file's name ends.
const FILE_ENDINGS: &[&str] = &[".rs", ".sql", ".md", ".js", ".mjs", ".toml", ".json"];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Whether `token` names a path in the map's convention (or should, being a file name).
fn is_path(token: &str) -> bool {
    if token.is_empty()
        || token.starts_with('/')
        || token.contains("://")
        || token.contains(char::is_whitespace)
        || ["<", "*", "…", "...", "::"]
            .iter()
            .any(|t| token.contains(t))
    {
        return false;
    }
    let first = token.split('/').next().unwrap_or("");
    let rooted = token.contains('/') && (CRATES.contains(&first) || ROOT_DIRS.contains(&first));
    rooted || FILE_ENDINGS.iter().any(|e| token.ends_with(e))
}

/// `a/{b,c}/d` → `a/b/d`, `a/c/d` (one group).
fn expand(token: &str) -> Vec<String> {
    let (Some(open), Some(close)) = (token.find('{'), token.find('}')) else {
        return vec![token.to_owned()];
    };
    if close < open {
        return vec![token.to_owned()];
    }
    token[open + 1..close]
        .split(',')
        .map(|alt| format!("{}{alt}{}", &token[..open], &token[close + 1..]))
        .collect()
}

/// Every path the text names: backquoted spans outside fenced blocks, words inside them.
fn paths_in(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        let tokens: Vec<&str> = if fenced {
            line.split_whitespace()
                .map(|w| {
                    w.trim_start_matches(['(', '[', '"', '\''])
                        .trim_end_matches([')', ']', ',', ':', ';', '.', '"', '\''])
                })
                .collect()
        } else {
            // Odd pieces between backquotes are code spans.
            line.split('`').skip(1).step_by(2).map(str::trim).collect()
        };
        for token in tokens.into_iter().filter(|t| is_path(t)) {
            found.extend(expand(token));
        }
    }
    found
}

/// Where a path of the convention points (a path outside it points nowhere, so it is missing).
fn resolve(root: &Path, path: &str) -> PathBuf {
    let (first, rest) = path.split_once('/').unwrap_or((path, ""));
    if CRATES.contains(&first) {
        root.join("crates")
            .join(format!("holdfast-{first}"))
            .join(rest)
    } else {
        root.join(path)
    }
}

/// The paths that do not exist (a folder must be one, a file must be one).
fn missing(root: &Path, paths: &[String]) -> Vec<String> {
    paths
        .iter()
        .filter(|p| {
            let target = resolve(root, p);
            if p.ends_with('/') {
                !target.is_dir()
            } else {
                !target.exists()
            }
        })
        .cloned()
        .collect()
}

#[test]
fn every_path_on_the_map_exists() {
    let root = repo_root();
    let map = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let paths = paths_in(&map);
    let mut distinct = paths.clone();
    distinct.sort();
    distinct.dedup();
    // A reader that found next to nothing would pass vacuously.
    assert!(
        distinct.len() >= 150,
        "read only {} distinct paths in ARCHITECTURE.md; is the reader broken?",
        distinct.len()
    );
    let gone = missing(&root, &distinct);
    assert!(
        gone.is_empty(),
        "ARCHITECTURE.md names paths that do not exist (written `core/src/…` for \
         crates/holdfast-core/src/…, else from the repository root): {gone:#?}"
    );
}

/// Feature folders: naming one does not put its files on the map (each file is named).
const FEATURES: &[&str] = &[
    "identity", "access", "crm", "helpdesk", "privacy", "webhooks", "ops",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for path in entries.filter_map(Result::ok).map(|e| e.path()) {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The map's name of a source file: `core/src/ids.rs`, `src/main.rs`.
fn map_name(root: &Path, path: &Path) -> String {
    let rel = path
        .strip_prefix(root)
        .unwrap()
        .to_string_lossy()
        .replace('\\', "/");
    match rel.strip_prefix("crates/holdfast-") {
        Some(rest) => rest.to_owned(),
        None => rel,
    }
}

/// Whether a named folder puts every file under it on the map: not a crate's `src/`, `api/`,
/// or a feature folder, whose files are each named.
fn folder_covers(folder: &str) -> bool {
    let last = folder
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("");
    folder.ends_with('/') && !["src", "api"].contains(&last) && !FEATURES.contains(&last)
}

/// A new source file is a new place on the map: every file under a crate's `src/` (and the
/// binary's) is named, or lies in a named folder (`core/src/webhooks/inbound/`). A folder's
/// `mod.rs` and a crate's `lib.rs` need no line of their own.
#[test]
fn every_source_file_is_on_the_map() {
    let root = repo_root();
    let map = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let named = paths_in(&map);
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    for krate in CRATES {
        rust_files(
            &root.join("crates").join(format!("holdfast-{krate}/src")),
            &mut files,
        );
    }
    assert!(files.len() > 150, "found only {} source files", files.len());
    let mut off_the_map: Vec<String> = files
        .iter()
        .filter(|p| !p.ends_with("mod.rs") && !p.ends_with("lib.rs"))
        .map(|p| map_name(&root, p))
        .filter(|name| {
            !named
                .iter()
                .any(|n| n == name || (folder_covers(n) && name.starts_with(n.as_str())))
        })
        .collect();
    off_the_map.sort();
    assert!(
        off_the_map.is_empty(),
        "source files missing from ARCHITECTURE.md; name each in its crate's list or its \
         feature's entry: {off_the_map:#?}"
    );
}

#[test]
fn the_path_reader_keeps_to_the_convention() {
    let text = "\
A `core/src/clock.rs`, a folder `http/src/api/`, `store/migrations/{sqlite,postgres}/`, \
the root's `Cargo.toml` and `.ci/unscoped-allowlist`; not paths: `/api/v1/contacts/{id}`, \
`text/csv`, `http/src/api/<feature>/<slice>.rs`, `core::ops::queue`, `http://x/y.md`.
A bare `tenant.rs` and a shortened `api/crm/contacts.rs` are outside the convention.
```
  → edge (http/src/edge.rs): request id
  → handler (http/src/api/<feature>/<slice>.rs) → store (store/src/nowhere.rs).
```
";
    let paths = paths_in(text);
    assert_eq!(
        paths,
        [
            "core/src/clock.rs",
            "http/src/api/",
            "store/migrations/sqlite/",
            "store/migrations/postgres/",
            "Cargo.toml",
            ".ci/unscoped-allowlist",
            "tenant.rs",
            "api/crm/contacts.rs",
            "http/src/edge.rs",
            "store/src/nowhere.rs",
        ]
    );
    assert_eq!(
        missing(&repo_root(), &paths),
        ["tenant.rs", "api/crm/contacts.rs", "store/src/nowhere.rs"]
    );
}
