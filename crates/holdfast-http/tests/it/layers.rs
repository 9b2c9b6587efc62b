//! The layer rules, checked on the source: `http → app → store → core` (each crate's
//! dependencies), an API slice never imports another slice, only the route table knows every
//! slice, and the modules of the HTTP and application crates form a graph without cycles.
//! Each rule names the offending file and line, so a violation says what to move where.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn crates_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The source of a file without its `#[cfg(test)]` tail (tests may reach anything).
fn code_of(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    match text.find("#[cfg(test)]") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

/// The names under `[dependencies]` of a crate's manifest.
fn dependencies(krate: &str) -> BTreeSet<String> {
    let manifest =
        std::fs::read_to_string(crates_dir().join(krate).join("Cargo.toml")).unwrap_or_default();
    let mut names = BTreeSet::new();
    let mut inside = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            inside = line == "[dependencies]";
            continue;
        }
        if inside && let Some((name, _)) = line.split_once(['=', '.']) {
            let name = name.trim();
            if !name.is_empty() && !name.starts_with('#') {
                names.insert(name.to_owned());
            }
        }
    }
    names
}

#[test]
fn crates_depend_only_downwards() {
    const HTTP_STACK: &[&str] = &["axum", "tower", "tower-http", "hyper", "http-body-util"];
    let rules: &[(&str, &[&str])] = &[
        (
            "holdfast-core",
            &[
                "holdfast-store",
                "holdfast-app",
                "holdfast-http",
                "sqlx",
                "tokio",
                "reqwest",
            ],
        ),
        (
            "holdfast-store",
            &["holdfast-app", "holdfast-http", "reqwest"],
        ),
        ("holdfast-app", &["holdfast-http"]),
    ];
    let mut broken = Vec::new();
    for (krate, forbidden) in rules {
        let deps = dependencies(krate);
        assert!(!deps.is_empty(), "{krate}: no [dependencies] read");
        for name in forbidden.iter().chain(HTTP_STACK) {
            if deps.contains(*name) {
                broken.push(format!("{krate} depends on {name}"));
            }
        }
    }
    assert!(
        dependencies("holdfast-http").contains("holdfast-app"),
        "the HTTP layer reaches the store through the application layer's crate"
    );
    assert!(
        broken.is_empty(),
        "layers broken (http → app → store → core): {broken:#?}"
    );
}

/// Every `crate::api::…`, `crate::pages::…` or `super::` reference in a slice (an API slice
/// under `src/api/<area>/` or a console page under `src/pages/<area>/`, other than a folder's
/// `mod.rs`) is another slice's code.
#[test]
fn slices_never_import_slices() {
    let mut slices = Vec::new();
    for root in ["api", "pages"] {
        let dir = crates_dir().join("holdfast-http/src").join(root);
        let mut files = Vec::new();
        rust_files(&dir, &mut files);
        slices.extend(
            files
                .into_iter()
                .filter(|p| p.parent() != Some(dir.as_path()) && !p.ends_with("mod.rs")),
        );
    }
    assert!(slices.len() > 25, "found only {} slices", slices.len());
    let mut broken = Vec::new();
    for path in &slices {
        for (n, line) in code_of(path).lines().enumerate() {
            if line.contains("crate::api::")
                || line.contains("crate::pages::")
                || line.contains("super::")
            {
                broken.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "a slice imports another slice; move the shared code to holdfast-app (or a shared \
         HTTP module such as paging.rs, session.rs or console/): {broken:#?}"
    );
}

/// Outside `src/api/` and `src/pages/`, only `routes.rs` (the route table) names the slices.
#[test]
fn only_the_route_table_knows_the_slices() {
    let src = crates_dir().join("holdfast-http/src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut broken = Vec::new();
    for path in files
        .iter()
        .filter(|p| !p.starts_with(src.join("api")) && !p.starts_with(src.join("pages")))
    {
        if path.ends_with("routes.rs") {
            continue;
        }
        for (n, line) in code_of(path).lines().enumerate() {
            if line.contains("crate::api::") || line.contains("api::") && line.contains("::routes")
            {
                broken.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "slices named outside the route table: {broken:#?}"
    );
}

/// The crate's top-level modules and, for each, the top-level modules its code names
/// (`crate::x`, `use crate::{x, …}`).
fn module_graph(krate: &str) -> BTreeMap<String, BTreeSet<String>> {
    let src = crates_dir().join(krate).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let module_of = |path: &Path| -> Option<String> {
        let rel = path.strip_prefix(&src).ok()?;
        let first = rel
            .components()
            .next()?
            .as_os_str()
            .to_string_lossy()
            .into_owned();
        let name = first.trim_end_matches(".rs").to_owned();
        (name != "lib" && name != "main").then_some(name)
    };
    let modules: BTreeSet<String> = files.iter().filter_map(|p| module_of(p)).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for path in &files {
        let Some(from) = module_of(path) else {
            continue;
        };
        let code = code_of(path);
        let edges = graph.entry(from.clone()).or_default();
        for (at, _) in code.match_indices("crate::") {
            let rest = &code[at + "crate::".len()..];
            let names: Vec<&str> = if let Some(list) = rest.strip_prefix('{') {
                list.split('}')
                    .next()
                    .unwrap_or("")
                    .split(',')
                    .map(|s| s.trim().split("::").next().unwrap_or(""))
                    .collect()
            } else {
                vec![
                    rest.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                        .next()
                        .unwrap_or(""),
                ]
            };
            for name in names {
                if name != from && modules.contains(name) {
                    edges.insert(name.to_owned());
                }
            }
        }
    }
    graph
}

/// A cycle in the graph, as the path that closes it.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn module_graphs_have_no_cycles() {
    for krate in ["holdfast-http", "holdfast-app"] {
        let graph = module_graph(krate);
        assert!(
            graph.len() > 5,
            "{krate}: only {} modules read",
            graph.len()
        );
        if let Some(cycle) = find_cycle(&graph) {
            panic!(
                "{krate}: its modules import each other in a loop: {}",
                cycle.join(" → ")
            );
        }
    }
}

#[test]
fn the_cycle_finder_finds_a_planted_cycle() {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    graph
        .entry("routes".into())
        .or_default()
        .insert("api".into());
    graph
        .entry("api".into())
        .or_default()
        .insert("table".into());
    graph
        .entry("table".into())
        .or_default()
        .insert("routes".into());
    assert_eq!(
        find_cycle(&graph),
        Some(vec![
            "api".into(),
            "table".into(),
            "routes".into(),
            "api".into()
        ])
    );
    graph.entry("table".into()).or_default().remove("routes");
    assert_eq!(find_cycle(&graph), None);
}
