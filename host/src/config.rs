//! `pleo.toml`: what the operator decides. Parsed strictly: an unknown key or a bad value is an
//! error naming the file, the line and the key, never a silent default.

pub mod schedule;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::limits::{Count, PositiveSeconds};
pub use crate::limits::{LOG_LINE_COST, Limits, RawLimits, Seconds};
use crate::pleo::{ClientOptions, RateLimit, RetryPolicy};
// The key's sources belong to `credential`, which must not import config (config -> pleo ->
// credential would close a circle); re-exported where config readers have always found them.
pub use crate::credential::KeySource;
pub use crate::error::io_cause;

/// `[mock]`: the embedded mock's settings, owned and parsed by the mock crate.
#[cfg(feature = "mock")]
pub use pleo_mock::MockSettings;

/// A build without the mock accepts no `[mock]` settings.
#[cfg(not(feature = "mock"))]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "nothing: this pleo-host was built without the mock"
)]
pub struct MockSettings {}

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

/// `[client]`: how the host talks to Pleo. Defaults in [`ClientOptions::default`].
#[derive(Debug, Deserialize, Default, Clone, Copy)]
#[serde(deny_unknown_fields, expecting = "a [client] table")]
struct RawClient {
    connect_timeout_seconds: Option<PositiveSeconds>,
    request_timeout_seconds: Option<PositiveSeconds>,
    max_attempts: Option<Count<100>>,
    backoff_seconds: Option<Seconds>,
    max_backoff_seconds: Option<Seconds>,
    max_retry_wait_seconds: Option<Seconds>,
    requests_per_minute: Option<Count<1_000_000>>,
    burst: Option<Count<100_000>>,
    read_ahead: Option<bool>,
}

impl RawClient {
    fn apply(&self) -> ClientOptions {
        let d = ClientOptions::default();
        // The bounds of these counts are far below u32::MAX.
        ClientOptions {
            connect_timeout: self
                .connect_timeout_seconds
                .map_or(d.connect_timeout, |s| s.0),
            request_timeout: self
                .request_timeout_seconds
                .map_or(d.request_timeout, |s| s.0),
            retry: RetryPolicy {
                max_attempts: self
                    .max_attempts
                    .map_or(d.retry.max_attempts, |c| c.0 as u32),
                initial_backoff: self
                    .backoff_seconds
                    .map_or(d.retry.initial_backoff, |s| s.0),
                max_backoff: self
                    .max_backoff_seconds
                    .map_or(d.retry.max_backoff, |s| s.0),
                max_wait: self
                    .max_retry_wait_seconds
                    .map_or(d.retry.max_wait, |s| s.0),
            },
            rate_limit: RateLimit {
                per_minute: self
                    .requests_per_minute
                    .map_or(d.rate_limit.per_minute, |c| c.0 as u32),
                burst: self.burst.map_or(d.rate_limit.burst, |c| c.0 as u32),
            },
            read_ahead: self.read_ahead.unwrap_or(d.read_ahead),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a plugin table with `path`, `scopes`, `params`, `limits`, `input`"
)]
struct RawPlugin {
    path: Option<PathBuf>,
    input: Option<PathBuf>,
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
    base_url: Option<String>,
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
    schedules: Vec<crate::config::schedule::RawSchedule>,
    #[serde(default)]
    daemon: crate::config::schedule::RawDaemon,
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
    /// Folder (or file) mounted read-only as `/in`; `run --input` overrides it.
    pub input: Option<PathBuf>,
}

/// The whole configuration, paths resolved against the config file's folder.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file this came from; `None` when running on defaults.
    pub source: Option<PathBuf>,
    pub environment: Environment,
    /// Another Pleo-compatible server (a standalone `pleo-host mock-api`, a recording proxy)
    /// instead of the environment's; with `mock`, no mock is started in-process.
    pub base_url: Option<String>,
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
    pub schedules: Vec<crate::config::schedule::Schedule>,
    /// `[daemon]`.
    pub daemon: crate::config::schedule::DaemonSettings,
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
    /// `state_dir`, else `$XDG_STATE_HOME/pleo-host` or `~/.local/state/pleo-host`; `None` when
    /// none of these is known.
    pub fn state_dir(&self) -> Option<PathBuf> {
        match &self.state_dir {
            Some(dir) => Some(dir.clone()),
            None => Some(
                std::env::var_os("XDG_STATE_HOME")
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
                    .or_else(|| {
                        std::env::var_os("HOME")
                            .filter(|v| !v.is_empty())
                            .map(|h| PathBuf::from(h).join(".local/state"))
                    })?
                    .join("pleo-host"),
            ),
        }
    }

    /// The compile cache's folder (the file index lives in it too): `cache_dir`, else
    /// `$XDG_CACHE_HOME/pleo-host/components` or `~/.cache/pleo-host/components`.
    pub fn compile_cache_dir(&self) -> Option<PathBuf> {
        if let Some(dir) = &self.cache_dir {
            return Some(dir.clone());
        }
        let base = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
        Some(base.join("pleo-host").join("components"))
    }

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

        let client = raw.client.apply();
        // Pacing protects Pleo's limit (600/min). The embedded mock has none unless it is told
        // to simulate one: pace to that, or not at all, unless [client] says otherwise.
        #[cfg(feature = "mock")]
        let client =
            if raw.environment == Environment::Mock && raw.client.requests_per_minute.is_none() {
                let rate_limit = match raw.mock.rate_limit_per_minute {
                    Some(per_minute) => RateLimit {
                        per_minute,
                        burst: client.rate_limit.burst,
                    },
                    None => RateLimit::UNLIMITED,
                };
                ClientOptions {
                    rate_limit,
                    ..client
                }
            } else {
                client
            };
        #[cfg(feature = "mock")]
        {
            raw.mock
                .fault_config()
                .validate()
                .map_err(|e| rule(format!("[mock]: {e}")))?;
        }
        #[cfg(not(feature = "mock"))]
        if raw.environment == Environment::Mock {
            return Err(rule(
                "environment = \"mock\" needs a pleo-host built with the `mock` feature (the default)"
                    .into(),
            ));
        }
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
        let base_url = match raw.base_url {
            Some(url) => Some(check_base_url(&url).map_err(rule)?),
            None => None,
        };
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
                    input: p.input.map(&resolve),
                },
            );
        }

        let (schedules, daemon) =
            crate::config::schedule::build(raw.schedules, raw.daemon, &plugins, text, path)?;

        Ok(Config {
            source: Some(path.to_owned()),
            environment: raw.environment,
            base_url,
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

/// `base_url`: an `http://` or `https://` URL without query or fragment, no trailing `/`.
fn check_base_url(url: &str) -> Result<String, String> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    let ok = rest.is_some_and(|rest| {
        !rest.is_empty()
            && !rest.starts_with('/')
            && rest
                .chars()
                .all(|c| c.is_ascii_graphic() && !"?#@\\".contains(c))
    });
    if ok {
        Ok(url.trim_end_matches('/').to_owned())
    } else {
        Err(format!(
            "base_url `{}` is not an http:// or https:// URL such as http://127.0.0.1:8484",
            url.chars().take(80).collect::<String>()
        ))
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

impl Default for Config {
    fn default() -> Self {
        Config::defaults()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

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
    use std::time::Duration;

    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("/etc/pleo/pleo.toml"))
    }

    #[test]
    fn bad_limits_and_client_values_name_file_line_and_key() {
        for (text, key, range) in [
            (
                "[limits]\napi_calls = 5\nmemory_mb = 0\n",
                "memory_mb",
                "between 1 and 4096",
            ),
            (
                "[client]\n\nmax_attempts = 101\n",
                "max_attempts",
                "between 1 and 100",
            ),
            (
                "[client]\nburst = 1\nbackoff_seconds = -1\n",
                "backoff_seconds",
                "0 or more",
            ),
            (
                "[plugins.a]\npath = \"a.wasm\"\n[plugins.a.limits]\ncpu_seconds = 0\n",
                "cpu_seconds",
                "positive number of seconds",
            ),
        ] {
            let msg = parse(text).unwrap_err().to_string();
            let line = text.lines().position(|l| l.starts_with(key)).unwrap() + 1;
            assert!(
                msg.starts_with(&format!("/etc/pleo/pleo.toml:{line}: ")),
                "{text}: {msg}"
            );
            assert!(msg.contains(key) && msg.contains(range), "{text}: {msg}");
        }
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
            Some(pleo_mock::RateLimit {
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
