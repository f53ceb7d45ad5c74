//! Admission: the first phase of every command that takes a plugin (`run`, `plugin inspect`,
//! `plugin approve`, a schedule's run, the bench). It finds the plugin, reads what it declares,
//! checks its params, compiles it (from the cache), sorts its imports, and checks grant, key
//! scopes and approval. Nothing here runs the plugin or talks to Pleo: the key's scopes come
//! in from the session, so the checks that need no key run before the key is read.
//!
//! The phases after it are the session's: prepare (link the admitted plugin with the
//! interfaces of its scopes, cached as an `InstancePre`), then run.

use std::collections::BTreeMap;

use crate::approval::{LockFile, Refusal};
use crate::config::{Config, PluginConfig};
use crate::error::{ExitCode, Failure};
use crate::file_index::{Entry, FileIndex, Stamped};
use crate::plugin_meta::{self, Origin, PluginMeta};
use crate::plugins::{self, Imports, Located, PluginSource};
use crate::runtime::{LoadedPlugin, Runtime};
use crate::scopes::{self, ScopeSet};

/// A plugin found and its declaration read; not compiled yet.
pub struct Candidate {
    name: String,
    body: Body,
    /// Its `[plugins.NAME]` section, or the defaults.
    pub config: PluginConfig,
    /// What its SDK embedded: name, version, declared params.
    pub meta: Option<PluginMeta>,
}

/// Where a candidate's code comes from.
enum Body {
    /// Its bytes, read, and their metadata section: `index` (none without a cache folder)
    /// records both once loaded.
    Read {
        source: PluginSource,
        meta_section: Option<Vec<u8>>,
        index: Option<FileIndex>,
    },
    /// Not read: the file index knows this version of its file (SHA-256, metadata section).
    Indexed {
        located: Located,
        file: Stamped,
        sha256: [u8; 32],
    },
}

impl Candidate {
    /// Finds a plugin by first-party name, configured name, or `.wasm` path, and reads its
    /// declaration: from the file index when it knows this version of the file (the file is
    /// then not read at all if the compile cache has its code), else from its bytes, read
    /// once for every later phase.
    pub fn resolve(config: &Config, spec: &str) -> Result<Candidate, Failure> {
        let located = plugins::locate(config, spec)?;
        let index = file_index(config);
        if let Some(index) = &index
            && let Some(file) = located.stat()?
            && let Some(entry) = index.get(&file)
        {
            let meta = plugin_meta::parse_meta(&located.name, entry.meta_section.as_deref())?;
            return Ok(Candidate {
                name: located.name.clone(),
                config: plugins::plugin_config(config, &located.name),
                meta,
                body: Body::Indexed {
                    located,
                    file,
                    sha256: entry.sha256,
                },
            });
        }
        Candidate::from_bytes(config, located.read()?, index)
    }

    /// Like [`Candidate::resolve`], but always reads and hashes the bytes: for `plugin
    /// approve` and `plugin inspect`, which show and pin what the file holds now.
    pub fn read(config: &Config, spec: &str) -> Result<Candidate, Failure> {
        Candidate::from_bytes(config, plugins::resolve(config, spec)?, file_index(config))
    }

    fn from_bytes(
        config: &Config,
        source: PluginSource,
        index: Option<FileIndex>,
    ) -> Result<Candidate, Failure> {
        let meta_section = plugin_meta::section(&source.bytes)
            .map_err(|why| plugin_meta::refused(&source.name, &why))?
            .map(<[u8]>::to_vec);
        let meta = plugin_meta::parse_meta(&source.name, meta_section.as_deref())?;
        Ok(Candidate {
            name: source.name.clone(),
            config: plugins::plugin_config(config, &source.name),
            meta,
            body: Body::Read {
                source,
                meta_section,
                index,
            },
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Checks the run's params (pleo.toml's, the host's, then the command line's) against the
    /// declaration; returns them with declared defaults added.
    pub fn check_params(
        &self,
        host_params: &BTreeMap<String, String>,
        command_line: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>, Failure> {
        let mut given: BTreeMap<_, _> = self
            .config
            .params
            .iter()
            .map(|(k, v)| (k.clone(), (v.clone(), Origin::Config)))
            .collect();
        // A schedule's params (and `scheduled_for`, `last_success_for`) override pleo.toml's;
        // `--param` overrides both.
        for (k, v) in host_params {
            given.insert(k.clone(), (v.clone(), Origin::Host));
        }
        for (k, v) in command_line {
            given.insert(k.clone(), (v.clone(), Origin::CommandLine));
        }
        plugin_meta::check_params(self.name(), self.meta.as_ref(), &given)
    }

    /// Compiles the plugin (or loads it from the compile cache) within its limits and sorts
    /// its imports; refuses imports this host does not provide.
    pub fn load(self, runtime: &Runtime) -> Result<Loaded, Failure> {
        let limits = self.config.limits;
        let (plugin, size_bytes) = match self.body {
            Body::Indexed {
                located,
                file,
                sha256,
            } => match runtime.load_compiled(&self.name, &sha256, file.stamp.size(), &limits)? {
                Some(plugin) => (plugin, file.stamp.size()),
                // The compile cache lost its entry: only the bytes will do. They are the
                // version the declaration came from, or the run stops.
                None => {
                    let source = located.read()?;
                    if plugin_meta::read_meta(&source.name, &source.bytes)? != self.meta {
                        return Err(Failure::new(
                            ExitCode::Usage,
                            format!("plugin {} changed while it was starting", source.name),
                        )
                        .hint("run it again"));
                    }
                    let size = source.bytes.len() as u64;
                    (runtime.load(&self.name, &source.bytes, &limits)?, size)
                }
            },
            Body::Read {
                source,
                meta_section,
                index,
            } => {
                let plugin = runtime.load(&self.name, &source.bytes, &limits)?;
                if let (Some(index), Some(file)) = (&index, &source.file) {
                    let entry = Entry {
                        sha256: plugin.digest,
                        meta_section,
                    };
                    index.put(file, &entry, std::time::SystemTime::now());
                }
                (plugin, source.bytes.len() as u64)
            }
        };
        let imports = plugins::classify_imports(&plugin.name, &plugin.imports)?;
        let needed = imports.scopes();
        Ok(Loaded {
            plugin,
            config: self.config,
            meta: self.meta,
            imports,
            needed,
            size_bytes,
        })
    }
}

/// The file index beside the config's compile cache (none without a cache folder).
fn file_index(config: &Config) -> Option<FileIndex> {
    config.compile_cache_dir().map(|dir| FileIndex::new(&dir))
}

/// A plugin compiled and its imports sorted; not yet checked against grant, key or approval.
pub struct Loaded {
    pub plugin: LoadedPlugin,
    pub config: PluginConfig,
    pub meta: Option<PluginMeta>,
    pub imports: Imports,
    /// The scopes its Pleo imports need.
    pub needed: ScopeSet,
    pub size_bytes: u64,
}

impl Loaded {
    pub fn name(&self) -> &str {
        &self.plugin.name
    }

    /// Does the plugin use the `state` service (and so the state database)?
    pub fn uses_state(&self) -> bool {
        self.imports.services.iter().any(|s| s == "state")
    }

    /// Effective scopes: key ∩ grant ∩ imports. Refuses the plugin, with one line per missing
    /// scope saying whether the grant or the key lacks it.
    pub fn check_scopes(
        &self,
        config: &Config,
        key_scopes: &ScopeSet,
    ) -> Result<ScopeSet, Failure> {
        let granted = granted_scopes(config, &self.config, &self.needed);
        let missing: Vec<String> = self
            .needed
            .iter()
            .filter_map(|scope| {
                let on_key = scopes::key_spelling(key_scopes, scope).is_some();
                let why = match (granted.contains(scope), on_key) {
                    (true, true) => return None,
                    (false, true) => format!(
                        "not granted to it in {} (the key has it)",
                        config.describe_source()
                    ),
                    (true, false) => "granted, but the API key does not have it".to_owned(),
                    (false, false) => format!(
                        "not granted to it in {}, and the API key does not have it",
                        config.describe_source()
                    ),
                };
                Some(format!("{scope}: {why}"))
            })
            .collect();
        if missing.is_empty() {
            return Ok(self.needed.clone());
        }
        let name = self.name();
        let list = self
            .needed
            .iter()
            .map(|s| format!("\"{s}\""))
            .collect::<Vec<_>>()
            .join(", ");
        Err(Failure::new(
            ExitCode::Rejected,
            format!(
                "plugin {name} refused: it imports {} interface(s) whose scope it may not use",
                missing.len()
            ),
        )
        .details(missing)
        .hint(format!(
            "grant in pleo.toml: [plugins.{name}] scopes = [{list}], with a key that has them"
        )))
    }

    /// What pleo.lock says of this plugin: approved, not approved, or changed since.
    /// `None` when there is no pleo.toml (and so no pleo.lock).
    pub fn approval(&self, config: &Config) -> Result<Option<Result<(), Refusal>>, Failure> {
        let Some(lock_path) = lock_path(config) else {
            return Ok(None);
        };
        let lock = LockFile::load(&lock_path).map_err(|e| Failure::new(ExitCode::Config, e))?;
        Ok(Some(lock.check(
            &self.plugin.name,
            &self.plugin.sha256,
            &self.needed,
        )))
    }

    /// Refuses a plugin whose bytes or needed scopes differ from what the operator approved,
    /// when the config requires approval (staging and production do by default).
    pub fn check_approval(&self, config: &Config) -> Result<(), Failure> {
        if !config.require_approval {
            return Ok(());
        }
        let Some(Err(refusal)) = self.approval(config)? else {
            return Ok(());
        };
        let what = match refusal {
            Refusal::NotApproved { .. } => "is not approved",
            Refusal::Changed { .. } => "changed since it was approved",
        };
        let name = self.name();
        let shown = lock_path(config).unwrap_or_default();
        Err(Failure::new(
            ExitCode::Rejected,
            format!("plugin {name} {what} ({})", shown.display()),
        )
        .details(refusal.details())
        .hint(format!(
            "review it with `pleo-host plugin inspect {name}`, then `pleo-host plugin approve {name}`"
        )))
    }
}

/// A plugin the session admitted for its key: what it may call.
pub struct Admitted {
    pub loaded: Loaded,
    /// Its effective scopes: key ∩ grant ∩ imports (equal to its needed scopes, or it would
    /// have been refused).
    pub scopes: ScopeSet,
}

/// `pleo.lock` beside the config file; none when running on defaults.
pub fn lock_path(config: &Config) -> Option<std::path::PathBuf> {
    config.source.as_deref().map(LockFile::path_for)
}

/// What the operator granted a plugin. Without a pleo.toml only the mock is reachable, and a
/// plugin is granted what it asks for; with one, exactly the scopes listed under its name.
pub fn granted_scopes(
    config: &Config,
    plugin_config: &PluginConfig,
    needed: &ScopeSet,
) -> ScopeSet {
    if config.source.is_none() {
        needed.clone()
    } else {
        // A grant may use another spelling of a scope (`tag-group:read`).
        plugin_config
            .scopes
            .iter()
            .map(|s| scopes::canonical(s).to_owned())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::{Duration, SystemTime};

    use sha2::{Digest, Sha256};

    use super::*;
    use crate::plugin_meta::ParamSpec;

    /// A component whose metadata declares `version`.
    fn plugin(version: &str) -> Vec<u8> {
        let mut wasm = wat::parse_str("(component (core module))").unwrap();
        let meta = PluginMeta {
            name: "p".into(),
            version: version.into(),
            sdk: None,
            params: Some(Vec::<ParamSpec>::new()),
        };
        plugin_meta::append_section(&mut wasm, &meta).unwrap();
        wasm
    }

    fn setup(dir: &Path, wasm: &[u8]) -> (Config, String) {
        let path = dir.join("p.wasm");
        std::fs::write(&path, wasm).unwrap();
        let config = Config {
            cache_dir: Some(dir.join("cache")),
            ..Config::default()
        };
        (config, path.to_str().unwrap().to_owned())
    }

    /// What the next run finds in the file index (a file is recorded only once it has been
    /// left alone for a while; the test records it as if it had).
    fn record(config: &Config, spec: &str, sha256: [u8; 32], meta: &[u8]) {
        let index = FileIndex::new(config.cache_dir.as_ref().unwrap());
        let file = crate::file_index::stat(Path::new(spec)).unwrap();
        let entry = Entry {
            sha256,
            meta_section: plugin_meta::section(meta).unwrap().map(<[u8]>::to_vec),
        };
        index.put(&file, &entry, SystemTime::now() + Duration::from_secs(60));
    }

    fn is_indexed(candidate: &Candidate) -> bool {
        matches!(candidate.body, Body::Indexed { .. })
    }

    #[test]
    fn a_known_file_is_run_from_the_index_without_reading_it() {
        let dir = tempfile::tempdir().unwrap();
        let wasm = plugin("1");
        let (config, spec) = setup(dir.path(), &wasm);
        let runtime = Runtime::new(config.cache_dir.as_deref()).unwrap();
        let first = Candidate::resolve(&config, &spec).unwrap();
        assert!(!is_indexed(&first), "nothing is recorded before a run");
        let loaded = first.load(&runtime).unwrap();
        let sha256: [u8; 32] = Sha256::digest(&wasm).into();
        assert_eq!(loaded.plugin.digest, sha256);

        record(&config, &spec, sha256, &wasm);
        let again = Candidate::resolve(&config, &spec).unwrap();
        assert!(is_indexed(&again), "the file is not read again");
        assert_eq!(again.meta.as_ref().unwrap().version, "1");
        let fresh = Runtime::new(config.cache_dir.as_deref()).unwrap();
        let loaded = again.load(&fresh).unwrap();
        assert_eq!(
            (loaded.plugin.digest, loaded.size_bytes),
            (sha256, wasm.len() as u64)
        );

        // `plugin approve` and `plugin inspect` read and hash the bytes whatever the index says.
        assert!(!is_indexed(&Candidate::read(&config, &spec).unwrap()));

        // A changed file has another stamp: read again.
        std::fs::write(Path::new(&spec), plugin("22")).unwrap();
        let changed = Candidate::resolve(&config, &spec).unwrap();
        assert!(!is_indexed(&changed));
        assert_eq!(changed.meta.as_ref().unwrap().version, "22");
    }

    /// The file index only names which compiled entry to load: when the compile cache has no
    /// entry of the SHA-256 it gives, the bytes are read, hashed and compiled under their own.
    #[test]
    fn a_compiled_entry_is_named_by_the_bytes_never_by_the_file_index() {
        let dir = tempfile::tempdir().unwrap();
        let wasm = plugin("1");
        let (config, spec) = setup(dir.path(), &wasm);
        // An entry that names other bytes (the file was changed within a clock tick).
        record(&config, &spec, [7; 32], &wasm);
        let candidate = Candidate::resolve(&config, &spec).unwrap();
        assert!(is_indexed(&candidate));
        let runtime = Runtime::new(config.cache_dir.as_deref()).unwrap();
        let loaded = candidate.load(&runtime).unwrap();
        assert_eq!(
            loaded.plugin.digest,
            <[u8; 32]>::from(Sha256::digest(&wasm))
        );
        let compiled: Vec<_> = std::fs::read_dir(dir.path().join("cache"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "cwasm"))
            .collect();
        assert_eq!(compiled.len(), 1, "{compiled:?}");
    }

    /// A declaration from the index that is not the file's stops the run rather than letting
    /// params checked against one version run another.
    #[test]
    fn a_file_whose_declaration_is_not_the_indexed_one_is_not_run() {
        let dir = tempfile::tempdir().unwrap();
        let (config, spec) = setup(dir.path(), &plugin("1"));
        record(&config, &spec, [7; 32], &plugin("0"));
        let candidate = Candidate::resolve(&config, &spec).unwrap();
        assert_eq!(candidate.meta.as_ref().unwrap().version, "0");
        let runtime = Runtime::new(config.cache_dir.as_deref()).unwrap();
        let refused = candidate.load(&runtime).err().unwrap();
        assert_eq!(refused.code, ExitCode::Usage);
        assert!(
            refused.message.contains("changed while"),
            "{}",
            refused.message
        );
    }
}
