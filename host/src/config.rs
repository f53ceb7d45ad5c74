//! `pleo.toml`: what the operator decides. Parsed strictly: an unknown key or a bad value is an
//! error naming the file, the line and the key, never a silent default.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::mock::{FaultConfig, FaultRates, RouteFaults};
use crate::pleo::{ClientOptions, RateLimit, RetryPolicy};

/// Which Pleo the host talks to. The key of one environment never works in another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// The embedded mock Pleo API, started in-process; no real key needed.
    #[default]
    Mock,
    Staging,
    Production,
}

impl Environment {
    /// Base URL of Pleo's External API; `None` for the mock, whose address is only known once
    /// it has started.
    pub fn base_url(self) -> Option<&'static str> {
        match self {
            Environment::Mock => None,
            Environment::Staging => Some("https://external.staging.pleo.io"),
            Environment::Production => Some("https://external.pleo.io"),
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Environment::Mock => "mock",
            Environment::Staging => "staging",
            Environment::Production => "production",
        })
    }
}

/// Where the host reads the API key from. Exactly one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// An environment variable of the host process.
    Env(String),
    /// A file readable by its owner only (mode 0600 or stricter).
    File(PathBuf),
    /// A command whose standard output is the key (e.g. a password manager CLI).
    Command(Vec<String>),
}

#[derive(Debug, Deserialize, Default)]
#[serde(
    deny_unknown_fields,
    expecting = "a [key] table with `env`, `file` or `command`"
)]
struct RawKeySource {
    env: Option<String>,
    file: Option<PathBuf>,
    command: Option<Vec<String>>,
}

/// Per-run limits. Every field may be set globally in `[limits]` and per plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Linear memory of the plugin, in bytes.
    pub memory_bytes: u64,
    /// CPU time the plugin may spend running wasm (time in host calls does not count).
    pub cpu: Duration,
    /// Wall-clock time of the whole run, host calls included.
    pub wall: Duration,
    /// Calls to the Pleo API during one run.
    pub api_calls: u64,
    /// Bytes the plugin may write to its output folder during one run (rewrites count again).
    pub output_bytes: u64,
    /// Bytes of log lines (each line costs [`LOG_LINE_COST`] more) and summary of one run.
    pub log_bytes: u64,
    /// Size of the component file; a larger one is refused before it is compiled.
    pub wasm_bytes: u64,
    /// Files and folders the plugin may create in its output folder during one run.
    pub output_files: u64,
}

/// What one log line costs the run's log budget besides its text: the host's own line around
/// it, so a flood of empty lines is bounded like a flood of long ones.
pub const LOG_LINE_COST: u64 = 64;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 256 << 20,
            cpu: Duration::from_secs(60),
            wall: Duration::from_secs(600),
            api_calls: 10_000,
            output_bytes: 1 << 30,
            log_bytes: 1 << 20,
            wasm_bytes: 64 << 20,
            output_files: 10_000,
        }
    }
}

/// Limits as written in a table (`[limits]`, a plugin's or a schedule's `limits`): each one
/// set overrides the base it is applied to.
#[derive(Debug, Deserialize, Default, Clone, Copy, PartialEq)]
#[serde(deny_unknown_fields, expecting = "a table of limits")]
pub struct RawLimits {
    memory_mb: Option<u64>,
    cpu_seconds: Option<f64>,
    wall_seconds: Option<f64>,
    api_calls: Option<u64>,
    output_mb: Option<u64>,
    log_kb: Option<u64>,
    wasm_mb: Option<u64>,
    output_files: Option<u64>,
}

impl RawLimits {
    pub fn apply(&self, base: Limits) -> Limits {
        Limits {
            memory_bytes: self.memory_mb.map_or(base.memory_bytes, |mb| mb << 20),
            cpu: self.cpu_seconds.map_or(base.cpu, Duration::from_secs_f64),
            wall: self.wall_seconds.map_or(base.wall, Duration::from_secs_f64),
            api_calls: self.api_calls.unwrap_or(base.api_calls),
            output_bytes: self.output_mb.map_or(base.output_bytes, |mb| mb << 20),
            log_bytes: self.log_kb.map_or(base.log_bytes, |kb| kb << 10),
            wasm_bytes: self.wasm_mb.map_or(base.wasm_bytes, |mb| mb << 20),
            output_files: self.output_files.unwrap_or(base.output_files),
        }
    }

    pub fn validate(&self, table: &str) -> Result<(), String> {
        let positive = |name: &str, v: Option<f64>| match v {
            Some(v) if !(v > 0.0 && v.is_finite() && v < 1e9) => Err(format!(
                "{table}.{name} must be a positive number of seconds"
            )),
            _ => Ok(()),
        };
        positive("cpu_seconds", self.cpu_seconds)?;
        positive("wall_seconds", self.wall_seconds)?;
        let range = |name: &str, v: Option<u64>, max: u64| match v {
            Some(v) if v == 0 || v > max => {
                Err(format!("{table}.{name} must be between 1 and {max}"))
            }
            _ => Ok(()),
        };
        range("memory_mb", self.memory_mb, 4096)?;
        // Bounds that keep the sizes in bytes far from overflowing.
        range("output_mb", self.output_mb, 1 << 30)?;
        range("log_kb", self.log_kb, 1 << 30)?;
        range("wasm_mb", self.wasm_mb, 4096)?;
        range("output_files", self.output_files, 10_000_000)?;
        Ok(())
    }
}

/// `[client]`: how the host talks to Pleo. Defaults in [`ClientOptions::default`].
#[derive(Debug, Deserialize, Default, Clone, Copy)]
#[serde(deny_unknown_fields, expecting = "a [client] table")]
struct RawClient {
    connect_timeout_seconds: Option<f64>,
    request_timeout_seconds: Option<f64>,
    max_attempts: Option<u32>,
    backoff_seconds: Option<f64>,
    max_backoff_seconds: Option<f64>,
    max_retry_wait_seconds: Option<f64>,
    requests_per_minute: Option<u32>,
    burst: Option<u32>,
    read_ahead: Option<bool>,
}

impl RawClient {
    fn apply(&self) -> Result<ClientOptions, String> {
        let seconds = |name: &str, value: Option<f64>, default: Duration, zero_ok: bool| match value
        {
            None => Ok(default),
            Some(v) if v.is_finite() && v < 1e6 && (v > 0.0 || (zero_ok && v == 0.0)) => {
                Ok(Duration::from_secs_f64(v))
            }
            Some(_) if zero_ok => Err(format!(
                "client.{name} must be a number of seconds, 0 or more"
            )),
            Some(_) => Err(format!(
                "client.{name} must be a positive number of seconds"
            )),
        };
        let count = |name: &str, value: Option<u32>, default: u32, max: u32| match value {
            None => Ok(default),
            Some(n) if (1..=max).contains(&n) => Ok(n),
            Some(_) => Err(format!("client.{name} must be between 1 and {max}")),
        };
        let d = ClientOptions::default();
        Ok(ClientOptions {
            connect_timeout: seconds(
                "connect_timeout_seconds",
                self.connect_timeout_seconds,
                d.connect_timeout,
                false,
            )?,
            request_timeout: seconds(
                "request_timeout_seconds",
                self.request_timeout_seconds,
                d.request_timeout,
                false,
            )?,
            retry: RetryPolicy {
                max_attempts: count("max_attempts", self.max_attempts, d.retry.max_attempts, 100)?,
                initial_backoff: seconds(
                    "backoff_seconds",
                    self.backoff_seconds,
                    d.retry.initial_backoff,
                    true,
                )?,
                max_backoff: seconds(
                    "max_backoff_seconds",
                    self.max_backoff_seconds,
                    d.retry.max_backoff,
                    true,
                )?,
                max_wait: seconds(
                    "max_retry_wait_seconds",
                    self.max_retry_wait_seconds,
                    d.retry.max_wait,
                    true,
                )?,
            },
            rate_limit: RateLimit {
                per_minute: count(
                    "requests_per_minute",
                    self.requests_per_minute,
                    d.rate_limit.per_minute,
                    1_000_000,
                )?,
                burst: count("burst", self.burst, d.rate_limit.burst, 100_000)?,
            },
            read_ahead: self.read_ahead.unwrap_or(d.read_ahead),
        })
    }
}

/// Settings of the embedded mock Pleo API.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, expecting = "a [mock] table")]
pub struct MockSettings {
    /// Seed of the generated company data; the same seed gives the same data.
    pub seed: Option<u64>,
    /// Scopes the mock grants its key (default: every scope).
    pub scopes: Option<Vec<String>>,
    /// Last day of the 12 months of generated data, `"YYYY-MM-DD"` (default: today, UTC).
    pub anchor: Option<chrono::NaiveDate>,
    /// Companies under the mock key (more than one: a multi-entity key). Default 1.
    pub companies: Option<usize>,
    /// The key the mock accepts (default: the configured key, so any key works); set it to
    /// see how the host handles a key Pleo refuses.
    pub accept_key: Option<String>,
    /// Testing switch: the mock copies the request's Authorization header into every error
    /// message, as a careless or hostile server might. The host must redact it everywhere.
    #[serde(default)]
    pub echo_authorization: bool,
    /// Per-key rate limit of the mock, requests a minute; over it the mock answers 429 with
    /// `Retry-After`, as Pleo does (default: no limit).
    pub rate_limit_per_minute: Option<u32>,
    /// Requests the per-key limit lets through at once (default: a second's worth, at least 1).
    pub rate_limit_burst: Option<u32>,
    /// Injected faults (default: none).
    pub faults: Option<MockFaults>,
    /// Testing switch: the mock keeps every request and answer (see
    /// [`Session::mock_exchanges`](crate::session::Session::mock_exchanges)).
    #[serde(default)]
    pub record: bool,
}

/// A share of requests, from 0 to 1.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(try_from = "f64")]
pub struct Share(pub f64);

impl TryFrom<f64> for Share {
    type Error = String;
    fn try_from(v: f64) -> Result<Share, String> {
        if (0.0..=1.0).contains(&v) {
            Ok(Share(v))
        } else {
            Err(format!("must be a share between 0 and 1, not {v}"))
        }
    }
}

/// A number of seconds, 0 or more.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(try_from = "f64")]
pub struct Seconds(pub Duration);

impl TryFrom<f64> for Seconds {
    type Error = String;
    fn try_from(v: f64) -> Result<Seconds, String> {
        if v.is_finite() && (0.0..1e6).contains(&v) {
            Ok(Seconds(Duration::from_secs_f64(v)))
        } else {
            Err(format!("must be a number of seconds, 0 or more, not {v}"))
        }
    }
}

/// `[mock.faults]`: faults the mock injects, for every route that no `[[mock.faults.routes]]`
/// entry matches.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, expecting = "a [mock.faults] table")]
pub struct MockFaults {
    /// Seed of the fault draws (default 0): the same seed and requests give the same faults.
    pub seed: Option<u64>,
    /// Share of requests answered 429 with `Retry-After`.
    pub too_many_requests: Option<Share>,
    /// The `Retry-After` of those 429s (default 1).
    pub retry_after_seconds: Option<u32>,
    /// Share of requests answered 503.
    pub unavailable: Option<Share>,
    /// Share of requests whose connection is closed without an answer.
    pub drop: Option<Share>,
    /// Added to every request.
    pub latency_seconds: Option<Seconds>,
    /// Per-route faults; the first whose `path` matches applies.
    #[serde(default)]
    pub routes: Vec<MockRouteFaults>,
}

/// `[[mock.faults.routes]]`: faults for the routes `path` matches, a template
/// (`/v2/employees/{id}`) or a prefix ending in `*`. Unset keys take `[mock.faults]`'s values.
#[derive(Debug, Clone, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a [[mock.faults.routes]] table with `path`"
)]
pub struct MockRouteFaults {
    pub path: String,
    pub too_many_requests: Option<Share>,
    pub retry_after_seconds: Option<u32>,
    pub unavailable: Option<Share>,
    pub drop: Option<Share>,
    pub latency_seconds: Option<Seconds>,
}

/// `base` with the settings that are present replacing its values.
fn fault_rates(
    base: FaultRates,
    too_many_requests: Option<Share>,
    retry_after_seconds: Option<u32>,
    unavailable: Option<Share>,
    drop: Option<Share>,
    latency: Option<Seconds>,
) -> FaultRates {
    FaultRates {
        too_many_requests: too_many_requests.map_or(base.too_many_requests, |s| s.0),
        retry_after: retry_after_seconds.unwrap_or(base.retry_after),
        unavailable: unavailable.map_or(base.unavailable, |s| s.0),
        drop: drop.map_or(base.drop, |s| s.0),
        latency: latency.map_or(base.latency, |s| s.0),
    }
}

impl MockSettings {
    /// The fault injection and per-key limit these settings ask the mock for.
    pub fn fault_config(&self) -> FaultConfig {
        let faults = self.faults.clone().unwrap_or_default();
        let global = fault_rates(
            FaultRates::default(),
            faults.too_many_requests,
            faults.retry_after_seconds,
            faults.unavailable,
            faults.drop,
            faults.latency_seconds,
        );
        let routes = faults
            .routes
            .iter()
            .map(|r| RouteFaults {
                path: r.path.clone(),
                rates: fault_rates(
                    global,
                    r.too_many_requests,
                    r.retry_after_seconds,
                    r.unavailable,
                    r.drop,
                    r.latency_seconds,
                ),
            })
            .collect();
        FaultConfig {
            seed: faults.seed.unwrap_or(0),
            global,
            routes,
            rate_limit: self.rate_limit_per_minute.map(|per_minute| RateLimit {
                per_minute,
                burst: self.rate_limit_burst.unwrap_or((per_minute / 60).max(1)),
            }),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a plugin table with `path`, `scopes`, `params`, `limits`"
)]
struct RawPlugin {
    path: Option<PathBuf>,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    params: BTreeMap<String, toml::Value>,
    #[serde(default)]
    limits: RawLimits,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a pleo.toml document")]
struct RawConfig {
    #[serde(default)]
    environment: Environment,
    key: Option<RawKeySource>,
    company_id: Option<String>,
    #[serde(default)]
    companies: Vec<String>,
    output_dir: Option<PathBuf>,
    cache_dir: Option<PathBuf>,
    state_dir: Option<PathBuf>,
    audit_file: Option<PathBuf>,
    require_approval: Option<bool>,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default)]
    mock: MockSettings,
    #[serde(default)]
    client: RawClient,
    #[serde(default)]
    plugins: BTreeMap<String, RawPlugin>,
    #[serde(default)]
    schedules: Vec<crate::schedule::RawSchedule>,
    #[serde(default)]
    daemon: crate::schedule::RawDaemon,
}

/// What the operator configured for one plugin.
#[derive(Debug, Clone, Default)]
pub struct PluginConfig {
    /// The `.wasm` file; `None` for a first-party plugin that ships inside the host.
    pub path: Option<PathBuf>,
    /// Pleo scopes the operator grants this plugin.
    pub scopes: Vec<String>,
    /// Non-secret settings handed to the plugin through the `params` interface.
    pub params: BTreeMap<String, String>,
    pub limits: Limits,
}

/// The whole configuration, paths resolved against the config file's folder.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file this came from; `None` when running on defaults.
    pub source: Option<PathBuf>,
    pub environment: Environment,
    pub key: Option<KeySource>,
    pub company_id: Option<String>,
    /// Other companies of a multi-entity key that plugins may switch to (the `company`
    /// interface). Empty: only the default company.
    pub companies: Vec<String>,
    pub output_dir: Option<PathBuf>,
    pub cache_dir: Option<PathBuf>,
    /// Folder for the host's own records (the audit log by default).
    pub state_dir: Option<PathBuf>,
    /// The audit log (JSON Lines); default `<state_dir>/audit.jsonl`.
    pub audit_file: Option<PathBuf>,
    /// Whether `run` needs the plugin's hash and scopes approved in `pleo.lock`. Always true
    /// for staging and production.
    pub require_approval: bool,
    pub limits: Limits,
    pub mock: MockSettings,
    /// `[client]`: timeouts, retries and the rate limit of the Pleo client.
    pub client: ClientOptions,
    pub plugins: BTreeMap<String, PluginConfig>,
    /// `[[schedules]]`, run by `pleo-host daemon`.
    pub schedules: Vec<crate::schedule::Schedule>,
    /// `[daemon]`.
    pub daemon: crate::schedule::DaemonSettings,
}

/// A config file that cannot be used. Displays as one line: `file:line: cause`.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {path} cannot be read: {cause}")]
    Unreadable { path: PathBuf, cause: String },
    #[error("{path}:{line}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{path}: {message}")]
    Rule { path: PathBuf, message: String },
}

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Unreadable {
            path: path.to_owned(),
            cause: io_cause(&e),
        })?;
        Config::parse(&text, path)
    }

    /// Parses config text; `path` names the file in errors and anchors relative paths.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let invalid = |e: toml::de::Error, key: String| {
            let span = e.span().unwrap_or(0..0);
            let start = span.start.min(text.len());
            let line = text[..start].matches('\n').count() + 1;
            // toml's message may span lines (it lists expected keys); keep the first, and show
            // the offending text when the message does not already name it.
            let mut message = e
                .message()
                .lines()
                .next()
                .unwrap_or("invalid TOML")
                .to_owned();
            let snippet = text
                .get(start..span.end.min(text.len()))
                .unwrap_or("")
                .trim();
            if !snippet.is_empty()
                && snippet.len() <= 60
                && !snippet.contains('\n')
                && !message.contains(snippet)
            {
                message = format!("{message}: `{snippet}`");
            }
            if !key.is_empty() && key != "." {
                message = format!("{key}: {message}");
            }
            ConfigError::Invalid {
                path: path.to_owned(),
                line,
                message,
            }
        };
        let document = toml::Deserializer::parse(text).map_err(|e| invalid(e, String::new()))?;
        let raw: RawConfig = serde_path_to_error::deserialize(document).map_err(|e| {
            let key = e.path().to_string();
            invalid(e.into_inner(), key)
        })?;
        let rule = |message: String| ConfigError::Rule {
            path: path.to_owned(),
            message,
        };
        let base = path.parent().unwrap_or(Path::new("."));
        let resolve = |p: PathBuf| resolve_path(base, p);

        raw.limits.validate("limits").map_err(rule)?;
        let mut client = raw.client.apply().map_err(rule)?;
        // Pacing protects Pleo's limit (600/min). The embedded mock has none unless it is told
        // to simulate one: pace to that, or not at all, unless [client] says otherwise.
        if raw.environment == Environment::Mock && raw.client.requests_per_minute.is_none() {
            client.rate_limit = match raw.mock.rate_limit_per_minute {
                Some(per_minute) => RateLimit {
                    per_minute,
                    burst: raw.client.burst.unwrap_or(client.rate_limit.burst),
                },
                None => RateLimit::UNLIMITED,
            };
        }
        raw.mock
            .fault_config()
            .validate()
            .map_err(|e| rule(format!("[mock]: {e}")))?;
        let require_approval = match (raw.environment, raw.require_approval) {
            (Environment::Mock, setting) => setting.unwrap_or(false),
            (env, Some(false)) => {
                return Err(rule(format!(
                    "require_approval cannot be turned off for {env}: plugins that touch real data must be approved"
                )));
            }
            (_, _) => true,
        };
        let limits = raw.limits.apply(Limits::default());
        let key = raw
            .key
            .map(|k| key_source(k, &resolve))
            .transpose()
            .map_err(rule)?;
        if let Some(company) = &raw.company_id
            && !is_uuid(company)
        {
            return Err(rule(format!("company_id `{company}` is not a UUID")));
        }
        if let Some(company) = raw.companies.iter().find(|c| !is_uuid(c)) {
            return Err(rule(format!("companies: `{company}` is not a UUID")));
        }

        let mut plugins = BTreeMap::new();
        for (name, p) in raw.plugins {
            let table = format!("plugins.{name}");
            p.limits
                .validate(&format!("{table}.limits"))
                .map_err(rule)?;
            for scope in &p.scopes {
                if !crate::scopes::is_known(scope) {
                    return Err(rule(format!(
                        "{table}.scopes: unknown scope `{scope}` (known: {})",
                        crate::scopes::known().join(", ")
                    )));
                }
            }
            let params = p
                .params
                .into_iter()
                .map(|(k, v)| param_value(v).map(|v| (k.clone(), v)).ok_or(k))
                .collect::<Result<_, _>>()
                .map_err(|k| {
                    rule(format!(
                        "{table}.params.{k} must be a string, number or boolean"
                    ))
                })?;
            plugins.insert(
                name,
                PluginConfig {
                    path: p.path.map(&resolve),
                    scopes: p.scopes,
                    params,
                    limits: p.limits.apply(limits),
                },
            );
        }

        let (schedules, daemon) =
            crate::schedule::build(raw.schedules, raw.daemon, &plugins, text, path)?;

        Ok(Config {
            source: Some(path.to_owned()),
            environment: raw.environment,
            key,
            company_id: raw.company_id,
            companies: raw.companies,
            output_dir: raw.output_dir.map(&resolve),
            cache_dir: raw.cache_dir.map(&resolve),
            state_dir: raw.state_dir.map(&resolve),
            audit_file: raw.audit_file.map(&resolve),
            require_approval,
            limits,
            mock: raw.mock,
            client,
            plugins,
            schedules,
            daemon,
        })
    }

    /// The built-in defaults, used when there is no pleo.toml: the same rules as an empty file.
    pub fn defaults() -> Config {
        let mut config =
            Config::parse("", Path::new("pleo.toml")).expect("an empty pleo.toml is valid");
        config.source = None;
        config
    }

    /// Where this config came from, for messages.
    pub fn describe_source(&self) -> String {
        self.source.as_ref().map_or_else(
            || "built-in defaults (no pleo.toml)".into(),
            |p| p.display().to_string(),
        )
    }
}

fn key_source(
    raw: RawKeySource,
    resolve: &dyn Fn(PathBuf) -> PathBuf,
) -> Result<KeySource, String> {
    match (raw.env, raw.file, raw.command) {
        (Some(var), None, None) if !var.is_empty() => Ok(KeySource::Env(var)),
        (None, Some(file), None) => Ok(KeySource::File(resolve(file))),
        (None, None, Some(cmd)) if !cmd.is_empty() => Ok(KeySource::Command(cmd)),
        (None, None, None) => Err("[key] needs one of `env`, `file` or `command`".into()),
        _ => Err("[key] takes exactly one non-empty source: `env`, `file` or `command`".into()),
    }
}

/// Makes a configured path absolute: `~/` is the user's home, relative is relative to the
/// config file's folder (not to wherever the command was started).
fn resolve_path(base: &Path, path: PathBuf) -> PathBuf {
    if let Ok(rest) = path.strip_prefix("~")
        && let Some(home) = std::env::var_os("HOME")
    {
        return PathBuf::from(home).join(rest);
    }
    if path.is_absolute() {
        path
    } else {
        base.join(path)
    }
}

pub(crate) fn param_value(v: toml::Value) -> Option<String> {
    match v {
        toml::Value::String(s) => Some(s),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Float(f) => Some(f.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        toml::Value::Datetime(d) => Some(d.to_string()),
        _ => None,
    }
}

/// Loose UUID shape check (8-4-4-4-12 hex), enough to catch a pasted key or name.
pub fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && parts
            .iter()
            .all(|p| p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// An io::Error as a short cause without the OS error number noise.
pub fn io_cause(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::defaults()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("/etc/pleo/pleo.toml"))
    }

    #[test]
    fn full_config_parses_and_resolves_paths() {
        let c = parse(
            r#"
environment = "staging"
company_id = "0b3d9a8e-2f4c-4d6e-8a1b-3c5d7e9f1a2b"
output_dir = "reports"
[key]
file = "secrets/pleo.key"
[limits]
memory_mb = 64
cpu_seconds = 5
[plugins.spend-report]
scopes = ["users:read", "accounting-entries:read"]
params = { from = "2026-01-01", top = 5 }
limits = { wall_seconds = 30 }
"#,
        )
        .unwrap();
        assert_eq!(c.environment, Environment::Staging);
        assert_eq!(
            c.key,
            Some(KeySource::File("/etc/pleo/secrets/pleo.key".into()))
        );
        assert_eq!(
            c.output_dir.as_deref(),
            Some(Path::new("/etc/pleo/reports"))
        );
        let p = &c.plugins["spend-report"];
        assert_eq!(p.params["top"], "5");
        assert_eq!(p.limits.memory_bytes, 64 << 20, "inherits [limits]");
        assert_eq!(p.limits.cpu, Duration::from_secs(5));
        assert_eq!(p.limits.wall, Duration::from_secs(30));
    }

    #[test]
    fn output_files_defaults_and_overrides_per_plugin() {
        let c = parse("[limits]\noutput_files = 50\n[plugins.a]\n[plugins.b]\nlimits = { output_files = 7 }\n")
            .unwrap();
        assert_eq!(Limits::default().output_files, 10_000);
        assert_eq!(c.plugins["a"].limits.output_files, 50);
        assert_eq!(c.plugins["b"].limits.output_files, 7);
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let err = parse("environment = \"mock\"\n\n[limits]\nmemroy_mb = 3\n").unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("/etc/pleo/pleo.toml:4: "), "{msg}");
        assert!(msg.contains("memroy_mb"), "{msg}");
        assert!(!msg.contains('\n'), "one line: {msg}");
    }

    #[test]
    fn bad_values_are_errors() {
        assert!(
            parse("environment = \"prod\"")
                .unwrap_err()
                .to_string()
                .contains(":1:")
        );
        assert!(parse("[key]\nenv = \"A\"\nfile = \"b\"").is_err());
        assert!(parse("[key]").is_err());
        assert!(parse("company_id = \"acme\"").is_err());
        assert!(parse("[plugins.x]\nscopes = [\"users:write\"]").is_err());
        assert!(parse("[limits]\ncpu_seconds = -1").is_err());
        assert!(parse("[limits]\noutput_files = 0").is_err());
        assert!(parse("[plugins.x]\nlimits = { output_files = 20000000 }").is_err());
        assert!(parse("[plugins.x]\nparams = { a = [1] }").is_err());
    }

    #[test]
    fn staging_and_production_require_approval_unless_told_nothing() {
        // README: staging and production always require approval; the mock only when asked.
        for env in ["staging", "production"] {
            let c = parse(&format!(
                "environment = \"{env}\"\n[key]\nenv = \"PLEO_KEY\"\n"
            ))
            .unwrap();
            assert!(c.require_approval, "{env} requires approval by default");
            let c = parse(&format!(
                "environment = \"{env}\"\nrequire_approval = true\n[key]\nenv = \"PLEO_KEY\"\n"
            ))
            .unwrap();
            assert!(c.require_approval, "{env} with require_approval = true");
        }
        assert!(!parse("").unwrap().require_approval, "mock: off by default");
        assert!(parse("require_approval = true").unwrap().require_approval);
    }
}

#[cfg(test)]
mod client_and_fault_tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("/etc/pleo/pleo.toml"))
    }

    #[test]
    fn client_settings_default_and_override() {
        // Real Pleo: 600/min; the embedded mock: no pacing unless it simulates a limit.
        let staging = parse("environment = \"staging\"").unwrap().client;
        assert_eq!(staging, ClientOptions::default());
        assert!(staging.read_ahead, "read-ahead is on unless turned off");
        assert!(
            !parse("[client]\nread_ahead = false")
                .unwrap()
                .client
                .read_ahead
        );
        assert_eq!(parse("").unwrap().client.rate_limit, RateLimit::UNLIMITED);
        let limited = parse("[mock]\nrate_limit_per_minute = 90").unwrap().client;
        assert_eq!(limited.rate_limit.per_minute, 90);
        let c = parse(
            "[client]\nmax_attempts = 3\nbackoff_seconds = 0\nrequests_per_minute = 120\nburst = 2\nrequest_timeout_seconds = 2.5\n",
        )
        .unwrap()
        .client;
        assert_eq!(c.retry.max_attempts, 3);
        assert_eq!(c.retry.initial_backoff, Duration::ZERO);
        assert_eq!(c.retry.max_wait, RetryPolicy::default().max_wait);
        assert_eq!(
            c.rate_limit,
            RateLimit {
                per_minute: 120,
                burst: 2
            }
        );
        assert_eq!(c.request_timeout, Duration::from_millis(2500));
    }

    #[test]
    fn bad_client_settings_are_errors() {
        for bad in [
            "[client]\nmax_attempts = 0",
            "[client]\nrequests_per_minute = 0",
            "[client]\nrequest_timeout_seconds = 0",
            "[client]\nbackoff_seconds = -1",
            "[client]\nretries = 3",
            "[client]\nread_ahead = \"yes\"",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let msg = parse("environment = \"mock\"\n[client]\nmax_atempts = 3\n")
            .unwrap_err()
            .to_string();
        assert!(msg.starts_with("/etc/pleo/pleo.toml:3: "), "{msg}");
        assert!(msg.contains("max_atempts"), "{msg}");
    }

    #[test]
    fn mock_faults_inherit_per_route_and_set_the_rate_limit() {
        let c = parse(
            r#"
[mock]
rate_limit_per_minute = 600
[mock.faults]
seed = 9
too_many_requests = 0.05
unavailable = 0.05
drop = 0.05
retry_after_seconds = 2
[[mock.faults.routes]]
path = "/v1/accounting-entries:search"
unavailable = 1
too_many_requests = 0
drop = 0
latency_seconds = 0.25
"#,
        )
        .unwrap();
        let f = c.mock.fault_config();
        assert_eq!(f.seed, 9);
        assert_eq!(f.global.drop, 0.05);
        assert_eq!(f.global.retry_after, 2);
        assert_eq!(
            f.rate_limit,
            Some(RateLimit {
                per_minute: 600,
                burst: 10
            })
        );
        let route = &f.routes[0].rates;
        assert_eq!(route.unavailable, 1.0);
        assert_eq!(route.retry_after, 2, "inherited");
        assert_eq!(route.latency, Duration::from_millis(250));
        assert!(!parse("").unwrap().mock.fault_config().is_active());
    }

    #[test]
    fn bad_fault_settings_name_the_line_or_the_rule() {
        let msg = parse("[mock.faults]\n\ndrop = 1.5\n")
            .unwrap_err()
            .to_string();
        assert!(msg.starts_with("/etc/pleo/pleo.toml:3: "), "{msg}");
        assert!(
            msg.contains("drop") && msg.contains("between 0 and 1"),
            "{msg}"
        );
        let msg = parse("[mock.faults]\nunavailable = 0.6\ndrop = 0.6\n")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("at most 1"), "{msg}");
        assert!(parse("[mock.faults]\nlatency_seconds = -1").is_err());
        assert!(parse("[mock]\nrate_limit_per_minute = 0").is_err());
        assert!(parse("[[mock.faults.routes]]\nunavailable = 1").is_err());
        assert!(parse("[mock.faults]\n[[mock.faults.routes]]\npath = \"v2\"").is_err());
        assert!(parse("[mock.faults]\nerror_rate = 0.1").is_err());
    }
}
