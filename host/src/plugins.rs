//! Finding a plugin and reading what it asks for, without running it: its bytes (first-party,
//! configured path, or a `.wasm` given on the command line), the metadata the SDK embeds, and
//! its imports sorted into Pleo scopes, WASI capabilities and host services.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::{Config, PluginConfig, io_cause};
use crate::error::{ExitCode, Failure};
use crate::file_index::{self, Stamped};
use crate::scopes::{self, ScopeSet};

/// A plugin's bytes and the name it runs under.
pub struct PluginSource {
    pub name: String,
    pub bytes: Vec<u8>,
    /// The file it was read from, if it did not change while read: lets the file index
    /// record what this version of the file is (see `file_index`).
    pub file: Option<Stamped>,
}

/// A plugin found, not read yet: its name and where its bytes are.
pub struct Located {
    pub name: String,
    pub place: Place,
}

pub enum Place {
    /// A `.wasm` given on the command line (`configured: false`) or a configured path.
    File { path: PathBuf, configured: bool },
    /// Built into this binary.
    FirstParty(&'static [u8]),
}

/// Finds a plugin by first-party name, configured name, or path to a `.wasm` file, and reads it.
pub fn resolve(config: &Config, spec: &str) -> Result<PluginSource, Failure> {
    locate(config, spec)?.read()
}

/// Finds a plugin by first-party name, configured name, or path to a `.wasm` file.
pub fn locate(config: &Config, spec: &str) -> Result<Located, Failure> {
    let looks_like_path = spec.ends_with(".wasm") || spec.contains('/');
    if looks_like_path {
        let path = Path::new(spec);
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("plugin")
            .replace('_', "-");
        return Ok(Located {
            name,
            place: Place::File {
                path: path.to_owned(),
                configured: false,
            },
        });
    }
    if let Some(path) = config.plugins.get(spec).and_then(|p| p.path.as_ref()) {
        return Ok(Located {
            name: spec.to_owned(),
            place: Place::File {
                path: path.clone(),
                configured: true,
            },
        });
    }
    match crate::first_party::find(spec) {
        Some(bytes) => Ok(Located {
            name: spec.to_owned(),
            place: Place::FirstParty(bytes),
        }),
        None => Err(
            Failure::new(ExitCode::Usage, format!("unknown plugin `{spec}`")).hint(format!(
                "first-party plugins: {}; or give the path of a .wasm file",
                crate::first_party::names().join(", ")
            )),
        ),
    }
}

impl Located {
    /// Reads the plugin's bytes.
    pub fn read(self) -> Result<PluginSource, Failure> {
        let (bytes, file) = match &self.place {
            Place::File { path, .. } => {
                file_index::read(path).map_err(|e| self.unreadable(path, &e))?
            }
            Place::FirstParty(bytes) => (bytes.to_vec(), None),
        };
        Ok(PluginSource {
            name: self.name,
            bytes,
            file,
        })
    }

    /// Its file's stamp (stat only, nothing read); `None` for a first-party plugin.
    pub fn stat(&self) -> Result<Option<Stamped>, Failure> {
        match &self.place {
            Place::File { path, .. } => file_index::stat(path)
                .map(Some)
                .map_err(|e| self.unreadable(path, &e)),
            Place::FirstParty(_) => Ok(None),
        }
    }

    /// A file named on the command line is the user's mistake (exit 2); a configured one,
    /// the config's (exit 3).
    fn unreadable(&self, path: &Path, e: &std::io::Error) -> Failure {
        match &self.place {
            Place::File {
                configured: true, ..
            } => Failure::new(
                ExitCode::Config,
                format!(
                    "plugin {}: cannot read {}: {}",
                    self.name,
                    path.display(),
                    io_cause(e)
                ),
            ),
            _ => Failure::new(
                ExitCode::Usage,
                format!("cannot read plugin {}: {}", path.display(), io_cause(e)),
            ),
        }
    }
}

/// What the operator configured for a plugin, or the global defaults if nothing.
pub fn plugin_config(config: &Config, name: &str) -> PluginConfig {
    config
        .plugins
        .get(name)
        .cloned()
        .unwrap_or_else(|| PluginConfig {
            limits: config.limits,
            ..PluginConfig::default()
        })
}

/// What the plugin SDK embeds in a component (custom section `pleo-plugin-metadata`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    pub name: String,
    pub version: String,
}

const METADATA_SECTION: &str = "pleo-plugin-metadata";

/// Reads the SDK's metadata section, in the component or any module nested in it.
pub fn metadata(wasm: &[u8]) -> Option<Metadata> {
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        if let Ok(wasmparser::Payload::CustomSection(section)) = payload
            && section.name() == METADATA_SECTION
        {
            return serde_json::from_slice(section.data()).ok();
        }
    }
    None
}

/// A plugin's imports, sorted by what they give it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Imports {
    /// Pleo interface -> the scope it needs, e.g. `users-read` -> `users:read`.
    pub pleo: Vec<(String, String)>,
    /// WASI interfaces, e.g. `wasi:filesystem/types@0.2.6`.
    pub wasi: Vec<String>,
    /// Host services: `log`, `progress`, `params`.
    pub services: Vec<String>,
}

impl Imports {
    pub fn scopes(&self) -> ScopeSet {
        self.pleo.iter().map(|(_, scope)| scope.clone()).collect()
    }
}

/// Sorts import names; refuses imports this host does not provide, or another WIT version.
pub fn classify_imports(plugin: &str, imports: &[String]) -> Result<Imports, Failure> {
    let reject = |why: String| {
        Failure::new(
            ExitCode::Rejected,
            format!("plugin {plugin} refused: {why}"),
        )
    };
    let mut sorted = Imports::default();
    for import in imports {
        if import.starts_with("wasi:") {
            sorted.wasi.push(import.clone());
            continue;
        }
        let Some(rest) = import.strip_prefix(&format!("{}/", scopes::WIT_PACKAGE)) else {
            return Err(reject(format!(
                "it imports `{import}`, which this host does not provide"
            )));
        };
        let (interface, version) = rest.split_once('@').unwrap_or((rest, ""));
        if version != scopes::WIT_VERSION {
            return Err(reject(format!(
                "it was built for {pkg}@{version}; this host implements {pkg}@{}",
                scopes::WIT_VERSION,
                pkg = scopes::WIT_PACKAGE
            ))
            .hint("rebuild the plugin against this host's wit/"));
        }
        match scopes::scope_of(interface) {
            Some(scope) => sorted.pleo.push((interface.to_owned(), scope.to_owned())),
            None if scopes::HOST_SERVICES.contains(&interface) => {
                sorted.services.push(interface.to_owned())
            }
            // Shared type definitions: no functions, no permission.
            None if interface == "types" => {}
            None => return Err(reject(format!("it imports unknown interface `{import}`"))),
        }
    }
    sorted.wasi.sort();
    Ok(sorted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn imports_are_sorted_and_checked() {
        let imports = classify_imports(
            "p",
            &names(&[
                "wasi:cli/environment@0.2.6",
                "pleo:plugin/types@0.1.0",
                "pleo:plugin/log@0.1.0",
                "pleo:plugin/users-read@0.1.0",
            ]),
        )
        .unwrap();
        assert_eq!(
            imports.pleo,
            vec![("users-read".into(), "users:read".into())]
        );
        assert_eq!(imports.services, vec!["log".to_string()]);
        assert_eq!(imports.wasi.len(), 1);

        let old = classify_imports("p", &names(&["pleo:plugin/users-read@0.0.9"])).unwrap_err();
        assert!(
            old.message.contains("built for pleo:plugin@0.0.9"),
            "{}",
            old.message
        );
        let foreign = classify_imports("p", &names(&["acme:evil/net@1.0.0"])).unwrap_err();
        assert!(
            foreign.message.contains("does not provide"),
            "{}",
            foreign.message
        );
        let unknown =
            classify_imports("p", &names(&["pleo:plugin/cards-write@0.1.0"])).unwrap_err();
        assert!(
            unknown.message.contains("unknown interface"),
            "{}",
            unknown.message
        );
    }
}
