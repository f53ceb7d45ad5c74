//! A configured host: config -> credential -> client -> capabilities -> plugin, in that order.
//! A [`Session`] is opened once per process (it learns the key's company and scopes once) and
//! runs any number of plugins, each in its own store with its own limits.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::capabilities::{self, Caps, Grant, ProgressSink};
use crate::config::{Config, Environment, Limits, PluginConfig};
use crate::credential::{self, ApiKey, CredentialError, Redactor};
use crate::error::{ExitCode, Failure};
use crate::mock::{MockConfig, MockServer};
use crate::output::{self, OutputFile};
use crate::pleo::{ApiError, Introspection, PleoClient};
use crate::runtime::{LoadedPlugin, RunError, Runtime, Sandbox};
use crate::scopes::{self, ScopeSet};

/// The host, connected to one Pleo environment with one key.
pub struct Session {
    config: Config,
    runtime: Runtime,
    client: PleoClient,
    key_info: Introspection,
    company_id: String,
    redactor: Redactor,
    /// The embedded mock, when the environment is `mock`; stops when the session is dropped.
    mock: Option<MockServer>,
}

/// Per-run choices from the command line.
#[derive(Default)]
pub struct RunOptions {
    pub out_dir: Option<PathBuf>,
    /// `--param k=v` values; they override pleo.toml's.
    pub params: BTreeMap<String, String>,
    pub progress: Option<ProgressSink>,
}

/// What a successful run produced.
#[derive(Debug)]
pub struct RunReport {
    pub plugin: String,
    pub sha256: String,
    pub summary: String,
    pub out_dir: PathBuf,
    /// Files the run created or changed, relative to `out_dir`.
    pub files: Vec<OutputFile>,
    pub api_calls: u64,
    pub elapsed: Duration,
}

impl Session {
    /// Reads the key, starts the mock if asked for, and asks Pleo who the key belongs to.
    pub async fn open(config: Config) -> Result<Session, Failure> {
        let key = match (&config.key, config.environment) {
            (Some(source), _) => credential::load(source).map_err(credential_failure)?,
            (None, Environment::Mock) => {
                ApiKey::new(crate::mock::MOCK_API_KEY).map_err(credential_failure)?
            }
            (None, env) => return Err(credential_failure(CredentialError::NotConfigured(env))),
        };
        let redactor = key.redactor();

        let mock = match config.environment {
            Environment::Mock => {
                let defaults = MockConfig::default();
                let mock_config = MockConfig {
                    seed: config.mock.seed.unwrap_or(defaults.seed),
                    scopes: config
                        .mock
                        .scopes
                        .clone()
                        .unwrap_or(defaults.scopes.clone()),
                    anchor: config.mock.anchor.unwrap_or(defaults.anchor),
                    api_key: key.expose_for_mock(),
                    ..defaults
                };
                let bind = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
                let server = MockServer::start(bind, mock_config).await.map_err(|e| {
                    Failure::new(
                        ExitCode::Internal,
                        format!("cannot start the mock Pleo API: {e}"),
                    )
                })?;
                Some(server)
            }
            _ => None,
        };
        let base_url = match (&mock, config.environment.base_url()) {
            (Some(mock), _) => mock.base_url(),
            (None, Some(url)) => url.to_owned(),
            (None, None) => unreachable!("only the mock environment has no fixed base URL"),
        };
        let client = PleoClient::new(&base_url, &key).map_err(|e| api_failure(&e, &redactor))?;

        let key_info = client
            .introspect()
            .await
            .map_err(|e| introspect_failure(&e, config.environment, &redactor))?;
        let company_id = match (&config.company_id, &key_info.company_id) {
            (Some(configured), _) => configured.clone(),
            (None, Some(from_key)) => from_key.clone(),
            (None, None) => {
                return Err(Failure::new(
                    ExitCode::Config,
                    "the API key is not bound to one company",
                )
                .hint("set company_id in pleo.toml"));
            }
        };
        tracing::debug!(environment = %config.environment, %company_id, scopes = ?key_info.scopes, "connected");

        let cache_dir = config.cache_dir.clone().or_else(default_cache_dir);
        let runtime = Runtime::new(cache_dir.as_deref()).map_err(|e| {
            Failure::new(
                ExitCode::Internal,
                format!("cannot set up the WebAssembly engine: {e}"),
            )
        })?;
        Ok(Session {
            config,
            runtime,
            client,
            key_info,
            company_id,
            redactor,
            mock,
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// Base URL of the embedded mock, if this session runs against it.
    pub fn mock_url(&self) -> Option<String> {
        self.mock.as_ref().map(MockServer::base_url)
    }

    /// Requests the session's client has sent (introspection included).
    pub fn api_requests(&self) -> u64 {
        self.client.request_count()
    }

    /// Loads a plugin by first-party name, configured name, or path to a `.wasm` file.
    pub fn load_plugin(&self, spec: &str) -> Result<(LoadedPlugin, PluginConfig), Failure> {
        let (name, bytes) = self.plugin_bytes(spec)?;
        let plugin_config =
            self.config
                .plugins
                .get(&name)
                .cloned()
                .unwrap_or_else(|| PluginConfig {
                    limits: self.config.limits,
                    ..PluginConfig::default()
                });
        let plugin = self.runtime.load(&name, &bytes).map_err(|e| {
            Failure::new(ExitCode::Rejected, e.to_string())
                .hint("plugins are WebAssembly components built for wasm32-wasip2 against wit/")
        })?;
        Ok((plugin, plugin_config))
    }

    fn plugin_bytes(&self, spec: &str) -> Result<(String, Vec<u8>), Failure> {
        let looks_like_path = spec.ends_with(".wasm") || spec.contains('/');
        if looks_like_path {
            let path = Path::new(spec);
            let name = plugin_name_from_path(path);
            let bytes = std::fs::read(path).map_err(|e| {
                Failure::new(
                    ExitCode::Usage,
                    format!("cannot read plugin {spec}: {}", crate::config::io_cause(&e)),
                )
            })?;
            return Ok((name, bytes));
        }
        if let Some(path) = self.config.plugins.get(spec).and_then(|p| p.path.as_ref()) {
            let bytes = std::fs::read(path).map_err(|e| {
                Failure::new(
                    ExitCode::Config,
                    format!(
                        "plugin {spec}: cannot read {}: {}",
                        path.display(),
                        crate::config::io_cause(&e)
                    ),
                )
            })?;
            return Ok((spec.to_owned(), bytes));
        }
        match crate::first_party::find(spec) {
            Some(bytes) => Ok((spec.to_owned(), bytes.to_vec())),
            None => Err(
                Failure::new(ExitCode::Usage, format!("unknown plugin `{spec}`")).hint(format!(
                    "first-party plugins: {}; or give the path of a .wasm file",
                    crate::first_party::names().join(", ")
                )),
            ),
        }
    }

    /// Effective scopes of a plugin: key ∩ grant ∩ imports. Refuses the plugin, one line per
    /// missing scope, if it imports an interface it may not use.
    pub fn effective_scopes(
        &self,
        plugin: &LoadedPlugin,
        plugin_config: &PluginConfig,
    ) -> Result<ScopeSet, Failure> {
        let needed = needed_scopes(plugin)?;
        // Without a pleo.toml only the mock is reachable: grant what the plugin asks for.
        let granted: ScopeSet = if self.config.source.is_none() {
            needed.clone()
        } else {
            plugin_config.scopes.iter().cloned().collect()
        };
        let mut problems = Vec::new();
        for scope in &needed {
            if !granted.contains(scope) {
                problems.push(format!(
                    "scope {scope} is not granted to it in {}",
                    self.config.describe_source()
                ));
            }
            if !self.key_info.scopes.contains(scope) {
                problems.push(format!("scope {scope} is not among the API key's scopes"));
            }
        }
        if !problems.is_empty() {
            let name = &plugin.name;
            return Err(Failure::new(ExitCode::Rejected, format!("plugin {name} refused: {}", problems.join("; ")))
                .hint(format!(
                    "grant it in pleo.toml: [plugins.{name}] scopes = [{}] (and make sure the key has them)",
                    needed.iter().map(|s| format!("\"{s}\"")).collect::<Vec<_>>().join(", ")
                )));
        }
        Ok(needed)
    }

    /// Runs a plugin to completion within its limits.
    pub async fn run(&self, spec: &str, options: RunOptions) -> Result<RunReport, Failure> {
        let (plugin, plugin_config) = self.load_plugin(spec)?;
        let scopes = self.effective_scopes(&plugin, &plugin_config)?;
        let out_dir = self.out_dir(&plugin.name, options.out_dir.as_deref())?;

        let mut linker = self
            .runtime
            .base_linker::<Caps>()
            .and_then(|mut linker| {
                capabilities::add_to_linker(&mut linker, &scopes).map(|_| linker)
            })
            .map_err(|e| Failure::new(ExitCode::Internal, format!("linking failed: {e}")))?;
        linker.allow_shadowing(false);
        let pre = linker
            .instantiate_pre(&plugin.component)
            .and_then(crate::bindings::PluginPre::new)
            .map_err(|e| {
                Failure::new(
                    ExitCode::Rejected,
                    format!("plugin {} cannot be linked: {}", plugin.name, one_line(&e)),
                )
                .hint("it must export `run` from world pleo:plugin/plugin@0.1.0")
            })?;

        let mut params = plugin_config.params.clone();
        params.extend(options.params);
        let grant = Grant {
            plugin: plugin.name.clone(),
            company_id: self.company_id.clone(),
            scopes,
            params,
            api_budget: plugin_config.limits.api_calls,
        };
        let progress = options
            .progress
            .unwrap_or_else(|| std::sync::Arc::new(|_: &capabilities::Progress| {}));
        let caps = Caps::new(grant, self.client.clone(), self.redactor.clone(), progress);
        let sandbox = Sandbox {
            out_dir: out_dir.clone(),
            limits: plugin_config.limits,
        };

        tracing::info!(plugin = %plugin.name, sha256 = %plugin.sha256, out = %out_dir.display(), "run started");
        let started_at = SystemTime::now();
        let outcome = self.runtime.run(&pre, caps, &sandbox).await;
        self.log_stdio(&plugin.name, "stdout", &outcome.stdout);
        self.log_stdio(&plugin.name, "stderr", &outcome.stderr);

        let files = output::changed_files(&out_dir, started_at).map_err(|e| {
            Failure::new(
                ExitCode::Internal,
                format!("cannot list {}: {e}", out_dir.display()),
            )
        })?;
        let summary = match outcome.result {
            Ok(Ok(summary)) => self.redactor.redact(&summary),
            Ok(Err(cause)) => {
                return Err(self.plugin_failure(&plugin.name, &cause, outcome.caps.last_api_error));
            }
            Err(e) => return Err(run_failure(&plugin.name, e, &self.redactor)),
        };
        check_output_limit(&files, &plugin_config.limits)?;
        Ok(RunReport {
            plugin: plugin.name,
            sha256: plugin.sha256,
            summary,
            out_dir,
            files,
            api_calls: outcome.caps.api_calls(),
            elapsed: outcome.elapsed,
        })
    }

    fn out_dir(&self, plugin: &str, requested: Option<&Path>) -> Result<PathBuf, Failure> {
        let dir = match (requested, &self.config.output_dir) {
            (Some(dir), _) => dir.to_owned(),
            (None, Some(root)) => root.join(plugin),
            (None, None) => Path::new("out").join(plugin),
        };
        std::fs::create_dir_all(&dir).map_err(|e| {
            Failure::new(
                ExitCode::Usage,
                format!(
                    "cannot create output folder {}: {}",
                    dir.display(),
                    crate::config::io_cause(&e)
                ),
            )
        })?;
        Ok(dir)
    }

    /// The plugin's stdout/stderr become host log lines under its name (redacted).
    fn log_stdio(&self, plugin: &str, stream: &str, bytes: &[u8]) {
        for line in String::from_utf8_lossy(bytes)
            .lines()
            .filter(|l| !l.trim().is_empty())
        {
            let line = self.redactor.redact(line);
            tracing::info!(target: "plugin", plugin, stream, "{line}");
        }
    }

    fn plugin_failure(&self, plugin: &str, cause: &str, api_error: Option<ApiError>) -> Failure {
        let cause = self.redactor.redact(cause);
        match api_error {
            Some(api) => Failure::new(
                ExitCode::PleoApi,
                format!("plugin {plugin} failed: {cause}"),
            )
            .hint(format!(
                "last Pleo API error: {}",
                self.redactor.redact(&api.to_string())
            )),
            None => Failure::new(
                ExitCode::PluginFailed,
                format!("plugin {plugin} failed: {cause}"),
            ),
        }
    }
}

/// Scopes a plugin needs, from its imports. Refuses imports this host does not provide.
pub fn needed_scopes(plugin: &LoadedPlugin) -> Result<ScopeSet, Failure> {
    let mut needed = ScopeSet::new();
    for import in &plugin.imports {
        let reject = |why: String| {
            Failure::new(
                ExitCode::Rejected,
                format!("plugin {} refused: {why}", plugin.name),
            )
        };
        if import.starts_with("wasi:") {
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
                "it was built for {}@{version}; this host implements {}@{}",
                scopes::WIT_PACKAGE,
                scopes::WIT_PACKAGE,
                scopes::WIT_VERSION
            ))
            .hint("rebuild the plugin against this host's wit/"));
        }
        match scopes::scope_of(interface) {
            Some(scope) => {
                needed.insert(scope.to_owned());
            }
            None if scopes::HOST_SERVICES.contains(&interface) || interface == "types" => {}
            None => return Err(reject(format!("it imports unknown interface `{import}`"))),
        }
    }
    Ok(needed)
}

fn check_output_limit(files: &[OutputFile], limits: &Limits) -> Result<(), Failure> {
    let written: u64 = files.iter().map(|f| f.bytes).sum();
    if written > limits.output_bytes {
        let limit = crate::runtime::LimitExceeded::Output {
            limit: limits.output_bytes,
            written,
        };
        return Err(Failure::new(ExitCode::Limit, limit.to_string())
            .hint("raise limits.output_mb for this plugin"));
    }
    Ok(())
}

fn run_failure(plugin: &str, e: RunError, redactor: &Redactor) -> Failure {
    let message = redactor.redact(&format!("plugin {plugin}: {e}"));
    match e {
        RunError::Limit(limit) => {
            let setting = match limit {
                crate::runtime::LimitExceeded::Memory(_) => "memory_mb",
                crate::runtime::LimitExceeded::Cpu(_) => "cpu_seconds",
                crate::runtime::LimitExceeded::WallClock(_) => "wall_seconds",
                crate::runtime::LimitExceeded::ApiCalls(_) => "api_calls",
                crate::runtime::LimitExceeded::Output { .. } => "output_mb",
            };
            Failure::new(ExitCode::Limit, message).hint(format!(
                "if the plugin needs more, raise limits.{setting} in its pleo.toml section"
            ))
        }
        RunError::Instantiate(_) => Failure::new(ExitCode::Rejected, message),
        RunError::Trap(_) | RunError::Exit(_) | RunError::Host(_) => {
            Failure::new(ExitCode::PluginFailed, message)
        }
    }
}

fn credential_failure(e: CredentialError) -> Failure {
    let hint = match &e {
        CredentialError::NotConfigured(_) => "see README: Configuration, [key]",
        CredentialError::EnvMissing(_) => "export the variable or point [key] at a file or command",
        _ => "check the [key] section of pleo.toml",
    };
    Failure::new(ExitCode::Credential, e.to_string()).hint(hint)
}

fn introspect_failure(e: &ApiError, environment: Environment, redactor: &Redactor) -> Failure {
    match e {
        ApiError::Status { status: 401, .. } => Failure::new(
            ExitCode::Credential,
            format!("Pleo {environment} refused the API key (401): it is invalid, expired, revoked, or was made for another environment than {environment}"),
        )
        .hint("create or rotate the key in Pleo (Settings > API Keys) for this environment"),
        ApiError::Status { status: 403, .. } => Failure::new(
            ExitCode::Credential,
            format!("Pleo {environment} accepted the key but refused introspection (403)"),
        )
        .hint("the key may belong to another environment or be restricted"),
        other => api_failure(other, redactor),
    }
}

fn api_failure(e: &ApiError, redactor: &Redactor) -> Failure {
    Failure::new(ExitCode::PleoApi, redactor.redact(&e.to_string()))
        .hint("check the network and Pleo's status, then retry")
}

fn plugin_name_from_path(path: &Path) -> String {
    path.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("plugin")
        .replace('_', "-")
}

fn one_line(e: &wasmtime::Error) -> String {
    format!("{e:#}")
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// `$XDG_CACHE_HOME/pleo-host/components` or `~/.cache/pleo-host/components`.
fn default_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("pleo-host").join("components"))
}
