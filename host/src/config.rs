//! `pleo.toml`: what the operator decides. Parsed strictly: an unknown key or a bad value is an
//! error naming the file, the line and the key, never a silent default.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

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
    /// Bytes the plugin may leave in its output folder.
    pub output_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 256 << 20,
            cpu: Duration::from_secs(60),
            wall: Duration::from_secs(600),
            api_calls: 10_000,
            output_bytes: 1 << 30,
        }
    }
}

#[derive(Debug, Deserialize, Default, Clone, Copy)]
#[serde(deny_unknown_fields, expecting = "a table of limits")]
struct RawLimits {
    memory_mb: Option<u64>,
    cpu_seconds: Option<f64>,
    wall_seconds: Option<f64>,
    api_calls: Option<u64>,
    output_mb: Option<u64>,
}

impl RawLimits {
    fn apply(&self, base: Limits) -> Limits {
        Limits {
            memory_bytes: self.memory_mb.map_or(base.memory_bytes, |mb| mb << 20),
            cpu: self.cpu_seconds.map_or(base.cpu, Duration::from_secs_f64),
            wall: self.wall_seconds.map_or(base.wall, Duration::from_secs_f64),
            api_calls: self.api_calls.unwrap_or(base.api_calls),
            output_bytes: self.output_mb.map_or(base.output_bytes, |mb| mb << 20),
        }
    }

    fn validate(&self, table: &str) -> Result<(), String> {
        let positive = |name: &str, v: Option<f64>| match v {
            Some(v) if !(v > 0.0 && v.is_finite() && v < 1e9) => Err(format!(
                "{table}.{name} must be a positive number of seconds"
            )),
            _ => Ok(()),
        };
        positive("cpu_seconds", self.cpu_seconds)?;
        positive("wall_seconds", self.wall_seconds)?;
        if self.memory_mb == Some(0) || self.memory_mb.is_some_and(|mb| mb > 4096) {
            return Err(format!("{table}.memory_mb must be between 1 and 4096"));
        }
        Ok(())
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
    output_dir: Option<PathBuf>,
    cache_dir: Option<PathBuf>,
    require_approval: Option<bool>,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default)]
    mock: MockSettings,
    #[serde(default)]
    plugins: BTreeMap<String, RawPlugin>,
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
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The file this came from; `None` when running on defaults.
    pub source: Option<PathBuf>,
    pub environment: Environment,
    pub key: Option<KeySource>,
    pub company_id: Option<String>,
    pub output_dir: Option<PathBuf>,
    pub cache_dir: Option<PathBuf>,
    /// Whether `run` needs the plugin's hash and scopes approved in `pleo.lock`. Always true
    /// for staging and production.
    pub require_approval: bool,
    pub limits: Limits,
    pub mock: MockSettings,
    pub plugins: BTreeMap<String, PluginConfig>,
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

        Ok(Config {
            source: Some(path.to_owned()),
            environment: raw.environment,
            key,
            company_id: raw.company_id,
            output_dir: raw.output_dir.map(&resolve),
            cache_dir: raw.cache_dir.map(&resolve),
            require_approval,
            limits,
            mock: raw.mock,
            plugins,
        })
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

fn param_value(v: toml::Value) -> Option<String> {
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
        assert!(parse("[plugins.x]\nparams = { a = [1] }").is_err());
    }
}
