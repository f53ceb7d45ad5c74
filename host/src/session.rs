//! A configured host: config -> credential -> client -> capabilities -> plugin, in that order.
//! A [`Session`] is opened once per process (it learns the key's company and scopes once) and
//! runs any number of plugins, each in its own store with its own limits.

use std::collections::{BTreeMap, HashMap};

use crate::bindings::PluginPre;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::admission::{Admitted, Candidate, Loaded};
use crate::audit::{AuditLog, RunAudit};
use crate::capabilities::{self, Caps, Grant, ProgressSink};
use crate::config::{Config, Environment};
use crate::credential::{self, CredentialError, Redactor};
use crate::error::{ExitCode, Failure};
#[cfg(feature = "mock")]
use crate::mock::MockServer;
use crate::output::{self, OutputFile};
use crate::pleo::{ApiError, Introspection, PleoClient};
use crate::runtime::{Cancel, LoadedPlugin, RunError, RunOutcome, RunState, Runtime, Sandbox};
use crate::scopes::ScopeSet;
use crate::terminal;

/// A plugin linked with the interfaces of its effective scopes, ready to instantiate.
pub type Prepared = PluginPre<RunState<Caps>>;

/// The host, connected to one Pleo environment with one key.
pub struct Session {
    config: Config,
    runtime: Runtime,
    client: PleoClient,
    key_info: Introspection,
    company_id: String,
    redactor: Redactor,
    audit: std::sync::Arc<AuditLog>,
    /// Linked plugins by (sha256, effective scopes).
    prepared: std::sync::Mutex<HashMap<(String, ScopeSet), Prepared>>,
    /// The embedded mock, when the environment is `mock`; stops when the session is dropped.
    #[cfg(feature = "mock")]
    mock: Option<MockServer>,
    /// The state database, opened when a run first needs it.
    state_db: std::sync::OnceLock<std::sync::Arc<std::sync::Mutex<rusqlite::Connection>>>,
}

/// Per-run choices from the command line.
#[derive(Default)]
pub struct RunOptions {
    pub out_dir: Option<PathBuf>,
    /// `--param k=v` values; they override pleo.toml's.
    pub params: BTreeMap<String, String>,
    pub progress: Option<ProgressSink>,
    /// Ends the run early when it fires (Ctrl-C, SIGTERM): see [`Cancel`].
    pub cancel: Option<Cancel>,
    /// Folder mounted read-only as `/in`; overrides `[plugins.NAME] input`.
    pub input: Option<PathBuf>,
    /// Plan the run (`run --plan`): reads go to Pleo, writes are recorded and never sent; the
    /// report carries the plan.
    pub plan: bool,
    /// Params the host sets itself (a schedule's `scheduled_for`, its params): they override
    /// pleo.toml's like `params`, but a plugin that never reads one is not warned about.
    pub host_params: BTreeMap<String, String>,
    /// Overrides of the plugin's limits for this run (a schedule's `limits`).
    pub limits: Option<crate::config::RawLimits>,
    /// The run's id in the audit log and the history (default: a new UUID).
    pub run_id: Option<String>,
    /// Called once the run has ended and its `run-end` audit record is written, whatever the
    /// result: the run history hangs here.
    pub on_end: Option<OnEnd>,
}

/// See [`RunOptions::on_end`].
pub type OnEnd = Box<dyn FnOnce(&RunEnd<'_>) + Send>;

/// How a run that started ended, for the history ([`RunOptions::on_end`]).
pub struct RunEnd<'a> {
    pub run_id: &'a str,
    pub plugin: &'a str,
    pub sha256: &'a str,
    pub started_at: SystemTime,
    pub out_dir: &'a Path,
    /// `ok`, `failed` or `cancelled`, as in the audit.
    pub result: &'a str,
    pub exit_code: i32,
    /// The summary, or the error line (redacted).
    pub message: &'a str,
    pub api_calls: u64,
    pub retries: u64,
    /// The run's HTTP requests to Pleo by the status of the answer (`None`: no answer).
    pub api_statuses: crate::pleo::StatusCounts,
    /// Time the run's calls waited for the key's rate limiter.
    pub rate_limit_wait: Duration,
    /// The HTTP status of the last error Pleo answered during the run, if any.
    pub last_api_status: Option<u16>,
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
    /// What the listing of `out_dir` left out and why (see [`output::Listing`]).
    pub files_not_listed: Vec<String>,
    pub api_calls: u64,
    pub elapsed: Duration,
    /// Retries and rate-limit waits of the run's Pleo calls.
    pub api_waits: crate::pleo::WaitStats,
    /// `run --plan`: the writes the run would have made.
    pub plan: Option<crate::plan::PlanFile>,
}

impl Session {
    /// Reads the key, starts the mock if asked for, and asks Pleo who the key belongs to.
    pub async fn open(config: Config) -> Result<Session, Failure> {
        let runtime = runtime_for(&config)?;
        Session::with_runtime(config, runtime).await
    }

    /// [`Session::open`] with a runtime of the caller's (the bench's instance pool).
    pub async fn with_runtime(config: Config, runtime: Runtime) -> Result<Session, Failure> {
        let key = match (&config.key, config.environment) {
            (Some(source), _) => credential::load(source)?,
            #[cfg(feature = "mock")]
            (None, Environment::Mock) => credential::ApiKey::new(crate::mock::MOCK_API_KEY)?,
            (None, env) => {
                return Err(CredentialError::NotConfigured(env.to_string()).into());
            }
        };
        let redactor = key.redactor();
        crate::credential::register_for_logs(&redactor);
        let audit_path = audit_path(&config).ok_or_else(|| {
            Failure::new(
                ExitCode::Config,
                "no place for the audit log: neither HOME nor XDG_STATE_HOME is set",
            )
            .hint("set state_dir or audit_file in pleo.toml")
        })?;
        let audit = AuditLog::open(&audit_path, redactor.clone()).map_err(|e| {
            Failure::new(
                ExitCode::Config,
                format!(
                    "cannot open the audit log {}: {}",
                    audit_path.display(),
                    crate::config::io_cause(&e)
                ),
            )
            .hint("set state_dir or audit_file in pleo.toml to a writable place")
        })?;

        // With `base_url` the mock environment means a mock served elsewhere (`mock-api`).
        #[cfg(feature = "mock")]
        let mock = match config.environment {
            Environment::Mock if config.base_url.is_none() => {
                Some(start_mock(&config, &key).await?)
            }
            _ => None,
        };
        #[cfg(feature = "mock")]
        let mock_url = mock.as_ref().map(MockServer::base_url);
        #[cfg(not(feature = "mock"))]
        let mock_url: Option<String> = None;
        let base_url = match (mock_url, &config.base_url, config.environment.base_url()) {
            (Some(mock), _, _) => mock,
            (None, Some(url), _) => url.clone(),
            (None, None, Some(url)) => url.to_owned(),
            (None, None, None) => {
                return Err(Failure::new(
                    ExitCode::Config,
                    "environment = \"mock\" needs a base_url or a pleo-host built with the `mock` feature",
                ));
            }
        };
        let client = PleoClient::with_options(&base_url, &key, config.client)
            .map_err(|e| api_failure(&e, &redactor))?;

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

        Ok(Session {
            config,
            runtime,
            client,
            key_info,
            company_id,
            redactor,
            audit,
            prepared: Default::default(),
            #[cfg(feature = "mock")]
            mock,
            state_db: Default::default(),
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The client every run of the session shares (rate limit, retries, the key).
    pub fn client(&self) -> &PleoClient {
        &self.client
    }

    /// The company runs act for.
    pub fn company_id(&self) -> &str {
        &self.company_id
    }

    /// The one company the key is bound to, per introspection; `None` for an organisation key.
    pub fn key_company(&self) -> Option<&str> {
        self.key_info.company_id.as_deref()
    }

    pub fn audit_log(&self) -> &std::sync::Arc<AuditLog> {
        &self.audit
    }

    /// The state database, opened (and migrated) on first use.
    pub fn state_db(
        &self,
    ) -> Result<std::sync::Arc<std::sync::Mutex<rusqlite::Connection>>, Failure> {
        if let Some(db) = self.state_db.get() {
            return Ok(db.clone());
        }
        let conn = open_state_db(&self.config)?;
        Ok(self
            .state_db
            .get_or_init(|| std::sync::Arc::new(std::sync::Mutex::new(conn)))
            .clone())
    }

    /// The run's input folder: it must exist and be a folder.
    fn input_dir(
        &self,
        plugin: &str,
        requested: Option<&Path>,
    ) -> Result<Option<PathBuf>, Failure> {
        let Some(dir) = requested else {
            return Ok(None);
        };
        let hint =
            format!("pass a folder with --input, or set [plugins.{plugin}] input in pleo.toml");
        match std::fs::metadata(dir) {
            Ok(meta) if meta.is_dir() => Ok(Some(dir.to_owned())),
            Ok(_) => Err(Failure::new(
                ExitCode::Usage,
                format!("input {} is not a folder", dir.display()),
            )
            .hint("pass the folder that holds the file: it is mounted whole as /in")),
            Err(e) => Err(Failure::new(
                ExitCode::Usage,
                format!(
                    "input folder {} cannot be used: {}",
                    dir.display(),
                    crate::config::io_cause(&e)
                ),
            )
            .hint(hint)),
        }
    }

    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// Base URL of the embedded mock, if this session runs against it.
    #[cfg(feature = "mock")]
    pub fn mock_url(&self) -> Option<String> {
        self.mock.as_ref().map(MockServer::base_url)
    }

    /// Requests the embedded mock has received (every one, refused ones included).
    #[cfg(feature = "mock")]
    pub fn mock_requests(&self) -> Option<u64> {
        self.mock.as_ref().map(MockServer::request_count)
    }

    /// What the embedded mock received and answered, with `[mock] record = true` (else empty).
    #[cfg(feature = "mock")]
    pub fn mock_exchanges(&self) -> Option<Vec<crate::mock::Exchange>> {
        self.mock.as_ref().map(MockServer::exchanges)
    }

    /// The embedded mock itself, so tests can read its state (export jobs, item updates) and
    /// move its clock.
    #[cfg(feature = "mock")]
    pub fn mock(&self) -> Option<&MockServer> {
        self.mock.as_ref()
    }

    /// Requests the session's client has sent (introspection included).
    pub fn api_requests(&self) -> u64 {
        self.client.request_count()
    }

    /// Admits a loaded plugin for this key: its effective scopes (key ∩ grant ∩ imports),
    /// and its approval when the config requires one.
    pub fn admit(&self, loaded: Loaded) -> Result<Admitted, Failure> {
        let scopes = loaded.check_scopes(&self.config, &self.key_info.scopes)?;
        loaded.check_approval(&self.config)?;
        Ok(Admitted { loaded, scopes })
    }

    /// What one run of a plugin may do: its scopes, params and limits, for this company.
    pub fn grant(
        &self,
        plugin: &str,
        scopes: ScopeSet,
        params: BTreeMap<String, String>,
        limits: crate::limits::Limits,
    ) -> Grant {
        Grant {
            plugin: plugin.to_owned(),
            company_id: self.company_id.clone(),
            scopes,
            params,
            limits,
            other_companies: self.config.companies.clone(),
            key_company: self.key_info.company_id.clone(),
        }
    }

    /// The capabilities of one run: its grant, over the session's client (which shares the
    /// pool and the key's rate limiter, and counts this run's waits).
    pub fn caps(&self, grant: Grant, progress: ProgressSink, audit: Option<RunAudit>) -> Caps {
        Caps::new(
            grant,
            self.client.for_run(None),
            self.redactor.clone(),
            progress,
            audit,
        )
    }

    /// Scopes of the API key, as `/v1/introspect` reported them.
    pub fn key_scopes(&self) -> &ScopeSet {
        &self.key_info.scopes
    }

    /// Runs a plugin to completion within its limits: every phase, from finding the plugin.
    pub async fn run(&self, spec: &str, options: RunOptions) -> Result<RunReport, Failure> {
        let candidate = Candidate::resolve(&self.config, spec)?;
        let params = candidate.check_params(&options.host_params, &options.params)?;
        self.run_candidate(candidate, params, options).await
    }

    /// Runs a plugin whose params were already checked (`run` checks them before the key is
    /// read): load, admit, prepare, run.
    pub async fn run_candidate(
        &self,
        candidate: Candidate,
        params: BTreeMap<String, String>,
        options: RunOptions,
    ) -> Result<RunReport, Failure> {
        let admitted = self.admit(candidate.load(&self.runtime)?)?;
        let pre = self.prepare(&admitted)?;
        let Admitted { loaded, scopes } = admitted;
        let uses_state = loaded.uses_state();
        let plugin = loaded.plugin;
        let plugin_config = loaded.config;
        let out_dir = self.out_dir(&plugin.name, options.out_dir.as_deref())?;
        let in_dir = self.input_dir(
            &plugin.name,
            options.input.as_deref().or(plugin_config.input.as_deref()),
        )?;
        let input_sha256 = match &in_dir {
            Some(dir) => Some(crate::plan::input_sha256(dir).map_err(|e| {
                Failure::new(
                    ExitCode::Usage,
                    format!(
                        "input folder {} cannot be read: {}",
                        dir.display(),
                        crate::config::io_cause(&e)
                    ),
                )
            })?),
            None => None,
        };
        let plan_id = options.plan.then(|| uuid::Uuid::new_v4().to_string());
        let state = if uses_state {
            crate::plugin_state::StateStore::new(self.state_db()?, &plugin.name, options.plan)
        } else {
            crate::plugin_state::StateStore::none()
        };

        let from_command_line: Vec<String> = options.params.keys().cloned().collect();
        let run_limits = options
            .limits
            .map_or(plugin_config.limits, |o| o.apply(plugin_config.limits));
        let grant = self.grant(&plugin.name, scopes, params, run_limits);
        let progress = options
            .progress
            .unwrap_or_else(|| std::sync::Arc::new(|_: &capabilities::Progress| {}));
        let mut audit = RunAudit::new(
            self.audit.clone(),
            &plugin.name,
            &plugin.sha256,
            &self.company_id,
        );
        if let Some(id) = options.run_id {
            audit.run_id = id;
        }
        let inputs = crate::audit::RunInputs {
            params: grant.params.clone(),
            input_sha256: input_sha256.clone(),
            plan_id: plan_id.clone(),
        };
        audit.start(
            &self.config.environment.to_string(),
            &grant.scopes,
            &run_limits,
            &inputs,
        );
        let caps = self
            .caps(grant, progress, Some(audit.clone()))
            .with_state(state);
        let caps = match &plan_id {
            Some(id) => caps.with_plan(crate::plan::Recorder::new(id.clone())),
            None => caps,
        };
        // Compiling counted against the wall clock; the run gets what is left of it.
        let mut limits = run_limits;
        limits.wall = limits
            .wall
            .saturating_sub(plugin.compile_time)
            .max(std::time::Duration::from_millis(1));
        let sandbox = Sandbox {
            out_dir: out_dir.clone(),
            in_dir,
            limits,
            cancel: options.cancel,
        };

        tracing::info!(plugin = %plugin.name, sha256 = %plugin.sha256, out = %out_dir.display(), "run started");
        let started_at = SystemTime::now();
        let mut outcome = self.runtime.run(&pre, caps, &sandbox).await;
        outcome.caps.stop_read_ahead();
        // A plugin that declares no parameters was checked against nothing: a `--param` it
        // never asked for is most likely misspelled, and would otherwise pass without a word.
        for name in &from_command_line {
            if outcome.caps.params_unread().contains(name) {
                tracing::warn!(
                    "--param {} was never read by {}: is the name right?",
                    terminal::line(name),
                    plugin.name
                );
            }
        }
        self.log_stdio(&plugin.name, "stdout", &outcome.stdout);
        self.log_stdio(&plugin.name, "stderr", &outcome.stderr);

        let recorder = outcome.caps.take_plan();
        let mut result = self.conclude(&plugin, &out_dir, started_at, &outcome);
        if let (Ok(report), Some(recorder), Some(id)) = (&mut result, recorder, plan_id) {
            let context = crate::plan::PlanContext {
                plugin: plugin.name.clone(),
                plugin_sha256: plugin.sha256.clone(),
                params: inputs.params.clone(),
                input_sha256,
                environment: self.config.environment.to_string(),
                company_id: self.company_id.clone(),
                key_company_id: self.key_info.company_id.clone(),
                created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            };
            report.plan = Some(crate::plan::PlanFile::new(
                context,
                recorder.into_writes(),
                id,
            ));
        }
        let (verdict, code, message) = match &result {
            Ok(report) => ("ok", ExitCode::Success, report.summary.clone()),
            Err(failure) if failure.code.is_cancel() => {
                ("cancelled", failure.code, failure.message.clone())
            }
            Err(failure) => ("failed", failure.code, failure.message.clone()),
        };
        audit.end(
            verdict,
            code as i32,
            &message,
            outcome.elapsed,
            &outcome.caps.totals,
        );
        if let Some(on_end) = options.on_end {
            on_end(&RunEnd {
                run_id: &audit.run_id,
                plugin: &plugin.name,
                sha256: &plugin.sha256,
                started_at,
                out_dir: &out_dir,
                result: verdict,
                exit_code: code as i32,
                message: &message,
                api_calls: outcome.caps.api_calls(),
                retries: outcome.caps.api_waits().retries,
                api_statuses: outcome.caps.api_statuses(),
                rate_limit_wait: outcome.caps.api_waits().throttle_wait,
                last_api_status: match &outcome.caps.last_api_error {
                    Some(ApiError::Status { status, .. }) => Some(*status),
                    _ => None,
                },
            });
        }
        result
    }

    /// Turns what a run left into its report or its failure.
    fn conclude(
        &self,
        plugin: &LoadedPlugin,
        out_dir: &Path,
        started_at: SystemTime,
        outcome: &RunOutcome<Caps>,
    ) -> Result<RunReport, Failure> {
        let summary = match &outcome.result {
            Ok(Ok(summary)) => {
                // The summary is printed and audited: it comes out of the log budget.
                if summary.len() as u64 > outcome.caps.log_left() {
                    let limit = crate::runtime::LimitExceeded::Log(outcome.caps.log_budget());
                    return Err(run_failure(
                        &plugin.name,
                        &RunError::Limit(limit),
                        &self.redactor,
                    ));
                }
                terminal::text(&self.redactor.redact(summary)).into_owned()
            }
            Ok(Err(cause)) => {
                return Err(self.plugin_failure(
                    &plugin.name,
                    cause,
                    outcome.caps.last_api_error.clone(),
                ));
            }
            Err(e) => return Err(run_failure(&plugin.name, e, &self.redactor)),
        };
        // The output limits were enforced while the plugin wrote (see `out_quota`); this
        // listing only tells the operator what is there.
        let listing = output::changed_files(out_dir, started_at);
        Ok(RunReport {
            plugin: plugin.name.clone(),
            sha256: plugin.sha256.clone(),
            summary,
            out_dir: out_dir.to_owned(),
            files: listing.files,
            files_not_listed: listing.not_listed,
            api_calls: outcome.caps.api_calls(),
            elapsed: outcome.elapsed,
            api_waits: outcome.caps.api_waits(),
            plan: None,
        })
    }

    /// Links a plugin with exactly the interfaces of its effective scopes. Cached per plugin
    /// hash and scope set, so a process that runs a plugin again skips linking.
    pub fn prepare(&self, admitted: &Admitted) -> Result<Prepared, Failure> {
        let (plugin, scopes) = (&admitted.loaded.plugin, &admitted.scopes);
        let key = (plugin.sha256.clone(), scopes.clone());
        if let Some(pre) = self
            .prepared
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return Ok(pre.clone());
        }
        let mut linker = self
            .runtime
            .base_linker::<Caps>()
            .and_then(|mut linker| capabilities::add_to_linker(&mut linker, scopes).map(|_| linker))
            .map_err(|e| Failure::new(ExitCode::Internal, format!("linking failed: {e}")))?;
        linker.allow_shadowing(false);
        let pre = linker
            .instantiate_pre(&plugin.component)
            .and_then(PluginPre::new)
            .map_err(|e| {
                Failure::new(
                    ExitCode::Rejected,
                    format!("plugin {} cannot be linked: {}", plugin.name, one_line(&e)),
                )
                .hint("it must export `run` from world pleo:plugin/plugin@0.1.0")
            })?;
        self.prepared
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, pre.clone());
        Ok(pre)
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
        check_writable(&dir)?;
        Ok(dir)
    }

    /// The plugin's stdout/stderr become host log lines under its name (redacted).
    fn log_stdio(&self, plugin: &str, stream: &str, bytes: &[u8]) {
        for line in String::from_utf8_lossy(bytes)
            .lines()
            .filter(|l| !l.trim().is_empty())
        {
            let line = self.redactor.redact(line);
            let line = terminal::line(&line);
            tracing::info!(target: "plugin", plugin, stream, "{line}");
        }
    }

    fn plugin_failure(&self, plugin: &str, cause: &str, api_error: Option<ApiError>) -> Failure {
        let cause = cause
            .get(..cause.floor_char_boundary(MAX_CAUSE))
            .unwrap_or_default();
        let cause = terminal::line(&self.redactor.redact(cause)).into_owned();
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

/// Finds an output folder the plugin could not write to before the plugin does its work:
/// creates and removes a probe file.
/// Starts the embedded mock Pleo API on a free loopback port, accepting the configured key.
#[cfg(feature = "mock")]
async fn start_mock(config: &Config, key: &credential::ApiKey) -> Result<MockServer, Failure> {
    let settings = config.mock.server_config(key.expose_for_mock());
    let bind = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    MockServer::start(bind, settings).await.map_err(|e| {
        Failure::new(
            ExitCode::Internal,
            format!("cannot start the mock Pleo API: {e}"),
        )
    })
}

fn check_writable(dir: &Path) -> Result<(), Failure> {
    let probe = dir.join(format!(".pleo-host-write-check-{}", std::process::id()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe);
    match written {
        Ok(file) => {
            drop(file);
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) => Err(Failure::new(
            ExitCode::Usage,
            format!(
                "output folder {} is not writable: {}",
                dir.display(),
                crate::config::io_cause(&e)
            ),
        )
        .hint("pass a writable folder with --out, or set output_dir in pleo.toml")),
    }
}

/// Longest cause of a failed run the host shows (a plugin's own error text, a trap).
const MAX_CAUSE: usize = 2048;

fn run_failure(plugin: &str, e: &RunError, redactor: &Redactor) -> Failure {
    let message = format!("plugin {plugin}: {e}");
    let message = message
        .get(..message.floor_char_boundary(MAX_CAUSE))
        .unwrap_or_default();
    let message = terminal::line(&redactor.redact(message)).into_owned();
    match e {
        RunError::Limit(limit) => limit.failure(message),
        RunError::Cancelled(signal) => Failure::new(cancel_code(*signal), message)
            .hint("the run was interrupted; what it wrote to Pleo before stays written"),
        RunError::Instantiate(_) => Failure::new(ExitCode::Rejected, message),
        RunError::Trap(_) | RunError::Exit(_) | RunError::Host(_) => {
            Failure::new(ExitCode::PluginFailed, message)
        }
    }
}

fn cancel_code(signal: crate::runtime::Signal) -> ExitCode {
    match signal {
        crate::runtime::Signal::Interrupt => ExitCode::Interrupted,
        crate::runtime::Signal::Terminate => ExitCode::Terminated,
    }
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

fn one_line(e: &wasmtime::Error) -> String {
    format!("{e:#}")
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// A WebAssembly runtime with the config's compile cache, for commands that need no session.
pub fn runtime_for(config: &Config) -> Result<Runtime, Failure> {
    Runtime::new(config.compile_cache_dir().as_deref()).map_err(|e| {
        Failure::new(
            ExitCode::Internal,
            format!("cannot set up the WebAssembly engine: {e}"),
        )
    })
}

/// `audit_file`, else `<state_dir>/audit.jsonl`, else under `$XDG_STATE_HOME/pleo-host` or
/// `~/.local/state/pleo-host`. `None` when none of these is known: the audit never goes
/// somewhere the operator would not look (such as a shared temporary folder).
pub fn audit_path(config: &Config) -> Option<PathBuf> {
    if let Some(file) = &config.audit_file {
        return Some(file.clone());
    }
    Some(state_dir(config)?.join("audit.jsonl"))
}

/// `state_dir`, or `$XDG_STATE_HOME/pleo-host`, or `~/.local/state/pleo-host`.
pub fn state_dir(config: &Config) -> Option<PathBuf> {
    config.state_dir()
}

/// The state database (`<state_dir>/pleo-host.db`), opened and migrated.
pub fn open_state_db(config: &Config) -> Result<rusqlite::Connection, Failure> {
    let dir = state_dir(config).ok_or_else(|| {
        Failure::new(
            ExitCode::Config,
            "no place for the state database: neither HOME nor XDG_STATE_HOME is set",
        )
        .hint("set state_dir in pleo.toml")
    })?;
    crate::statedb::open(&dir.join(crate::statedb::FILE_NAME)).map_err(|e| {
        Failure::new(ExitCode::Config, e.to_string())
            .hint("set state_dir in pleo.toml to a writable place")
    })
}
