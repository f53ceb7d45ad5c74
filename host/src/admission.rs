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
use crate::plugin_meta::{self, Origin, PluginMeta};
use crate::plugins::{self, Imports, PluginSource};
use crate::runtime::{LoadedPlugin, Runtime};
use crate::scopes::{self, ScopeSet};

/// A plugin found and its declaration read; not compiled yet.
pub struct Candidate {
    pub source: PluginSource,
    /// Its `[plugins.NAME]` section, or the defaults.
    pub config: PluginConfig,
    /// What its SDK embedded: name, version, declared params.
    pub meta: Option<PluginMeta>,
}

impl Candidate {
    /// Finds a plugin by first-party name, configured name, or `.wasm` path, and reads its
    /// declaration. The file is read once; later phases use these bytes.
    pub fn resolve(config: &Config, spec: &str) -> Result<Candidate, Failure> {
        let source = plugins::resolve(config, spec)?;
        let meta = plugin_meta::read_meta(&source.name, &source.bytes)?;
        let config = plugins::plugin_config(config, &source.name);
        Ok(Candidate {
            source,
            config,
            meta,
        })
    }

    pub fn name(&self) -> &str {
        &self.source.name
    }

    /// Hashes the bytes themselves when loaded, never the file index's SHA-256: for
    /// `plugin approve` and `plugin inspect`, which show and pin what the file holds now.
    pub fn hash_the_bytes(mut self) -> Candidate {
        self.source.file = None;
        self
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
        let size_bytes = self.source.bytes.len() as u64;
        let plugin = runtime.load_file(
            &self.source.name,
            &self.source.bytes,
            self.source.file.as_ref(),
            &self.config.limits,
        )?;
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
