//! pleo-host runs sandboxed WebAssembly plugins against the Pleo API while holding the API key
//! itself. Data flows one way: config -> credential -> client -> capabilities -> plugin.

pub mod admission;
pub mod apply;
pub mod approval;
pub mod audit;
pub mod authoring;
pub mod bindings;
pub mod capabilities;
pub mod cli;
pub mod config;
pub mod cpu_meter;
pub mod credential;
pub mod daemon;
pub mod error;
pub mod file_index;
pub mod first_party;
pub mod history;
pub mod inspect;
pub mod limits;
#[cfg(feature = "mock")]
pub use pleo_mock as mock;
pub mod out_quota;
pub mod output;
pub mod plan;
pub mod pleo;
pub mod plugin_list;
pub mod plugin_meta;
pub mod plugin_state;
pub mod plugins;
pub mod runtime;
pub mod scaffold;
pub mod scopes;
pub mod session;
pub mod statedb;
pub mod terminal;

/// The module map stays a tree: no module imports, directly or through others, a module that
/// imports it (a circle makes every change touch both ends).
#[cfg(test)]
mod structure_tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    /// `module -> modules it names as crate::X`, from the sources (tests left out).
    fn imports() -> BTreeMap<String, BTreeSet<String>> {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut files = vec![src.clone()];
        while let Some(path) = files.pop() {
            if path.is_dir() {
                files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
                continue;
            }
            let rel = path
                .strip_prefix(&src)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let module = rel.split(['/', '.']).next().unwrap().to_owned();
            if matches!(module.as_str(), "lib" | "main") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            // Up to the inline test module (`#[cfg(test)]` then `mod name {`), which sits at the
            // end of a file; other `#[cfg(test)]` items do not hide the imports after them.
            let code = text
                .match_indices("#[cfg(test)]\nmod ")
                .find(|(i, _)| text[*i..].lines().nth(1).is_some_and(|l| l.ends_with('{')))
                .map_or(text.as_str(), |(i, _)| &text[..i]);
            let entry = graph.entry(module.clone()).or_default();
            for (i, _) in code.match_indices("crate::") {
                let name: String = code[i + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() && name != module && name != "mock" {
                    entry.insert(name);
                }
            }
        }
        graph
    }

    #[test]
    fn no_module_imports_one_that_imports_it() {
        let graph = imports();
        let mut circles = Vec::new();
        for start in graph.keys() {
            // Depth-first from `start`: reaching `start` again is a circle.
            let mut stack: Vec<Vec<&str>> = vec![vec![start]];
            let mut seen = BTreeSet::new();
            while let Some(path) = stack.pop() {
                let last = *path.last().unwrap();
                for next in graph.get(last).into_iter().flatten() {
                    if next == start {
                        circles.push(format!("{} -> {start}", path.join(" -> ")));
                    } else if seen.insert(next.as_str()) {
                        let mut longer = path.clone();
                        longer.push(next);
                        stack.push(longer);
                    }
                }
            }
        }
        assert!(
            circles.is_empty(),
            "import circles:\n{}",
            circles.join("\n")
        );
    }
}
