//! The one-way layers of the modules, checked against the source (docs/architecture.md):
//! `cli → server → http → app → (auth, index, mirror, publish, release, store, webhook) →
//! (git, package, config)`, with `clock` and `report` usable from anywhere. A module may use
//! modules of lower layers, and modules of its own layer as long as no cycle forms.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each top-level module with its layer; higher layers use lower ones.
const LAYERS: &[(&str, u8)] = &[
    ("cli", 6),
    ("server", 5),
    ("http", 4),
    // The web UI's pages: built from the shared state, wired to routes by `http`.
    ("web", 4),
    ("app", 3),
    ("auth", 2),
    ("index", 2),
    ("mirror", 2),
    ("publish", 2),
    ("release", 2),
    ("store", 2),
    ("webhook", 2),
    ("git", 1),
    ("package", 1),
    ("config", 1),
    ("clock", 0),
    ("report", 0),
];

/// `module -> modules it names as crate::…`, from every file under `src/module`.
fn edges(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let layers: BTreeMap<&str, u8> = LAYERS.iter().copied().collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, _) in LAYERS {
        let dir = src.join(module);
        let mut files = vec![src.join(format!("{module}.rs"))];
        let mut pending = vec![dir];
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    pending.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    files.push(path);
                }
            }
        }
        for file in files.iter().filter(|f| f.is_file()) {
            let text = std::fs::read_to_string(file).unwrap();
            let mut used: Vec<&str> = text
                .split("crate::")
                .skip(1)
                .map(|rest| {
                    rest.split(|c: char| !c.is_alphanumeric() && c != '_')
                        .next()
                })
                .map(Option::unwrap_or_default)
                .collect();
            // `use crate::{a, b::c}` names several modules at once.
            for group in text.split("crate::{").skip(1) {
                let inner = group.split('}').next().unwrap_or_default();
                used.extend(
                    inner
                        .split(',')
                        .map(|n| n.trim().split("::").next().unwrap()),
                );
            }
            for other in used {
                if other != *module && layers.contains_key(other) {
                    edges
                        .entry(module.to_string())
                        .or_default()
                        .insert(other.to_string());
                }
            }
        }
    }
    edges
}

#[test]
fn every_module_uses_only_lower_layers_and_no_cycle_forms() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let known: BTreeSet<String> = std::fs::read_dir(&src)
        .unwrap()
        .flatten()
        .map(|e| {
            e.file_name()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_string()
        })
        .filter(|m| !["lib", "main", "layers"].contains(&m.as_str()))
        .collect();
    let placed: BTreeSet<String> = LAYERS.iter().map(|(m, _)| m.to_string()).collect();
    assert_eq!(known, placed, "every module of src/ has a layer here");

    let layer: BTreeMap<&str, u8> = LAYERS.iter().copied().collect();
    let edges = edges(&src);
    let upward: Vec<String> = edges
        .iter()
        .flat_map(|(a, used)| used.iter().map(move |b| (a, b)))
        .filter(|(a, b)| layer[a.as_str()] < layer[b.as_str()])
        .map(|(a, b)| format!("{a} -> {b}"))
        .collect();
    assert!(upward.is_empty(), "modules use higher layers: {upward:?}");

    // Depth-first search from every module; meeting a module still on the path is a cycle.
    fn visit<'a>(
        module: &'a str,
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) {
        if let Some(at) = path.iter().position(|m| *m == module) {
            panic!("modules form a cycle: {}", path[at..].join(" -> "));
        }
        if !done.insert(module) {
            return;
        }
        path.push(module);
        for next in edges.get(module).into_iter().flatten() {
            visit(next, edges, path, done);
        }
        path.pop();
    }
    let mut done = BTreeSet::new();
    for (module, _) in LAYERS {
        visit(module, &edges, &mut Vec::new(), &mut done);
    }
}
