//! The API key: where it comes from, how it is held, and how it is kept out of every output.
//!
//! The key lives in a [`SecretString`] that never prints. It leaves this module in exactly one
//! form: the `Authorization: Basic base64("<key>:")` header value, marked sensitive. The
//! [`Redactor`] scrubs the key (and its Basic form) from any text the host writes, as a second
//! line of defence.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};

use crate::config::{KeySource, io_cause};

/// A Pleo Standalone API Key. `Debug` prints `[REDACTED]`.
#[derive(Clone)]
pub struct ApiKey(SecretString);

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey([REDACTED])")
    }
}

impl ApiKey {
    /// Wraps a key, trimming the whitespace a file or command output usually carries.
    pub fn new(key: &str) -> Result<ApiKey, CredentialError> {
        let key = key.trim();
        if key.is_empty() {
            return Err(CredentialError::Empty);
        }
        if key.chars().any(|c| c.is_control() || c == ':') {
            return Err(CredentialError::Malformed);
        }
        Ok(ApiKey(SecretString::from(key.to_owned())))
    }

    /// The header Pleo expects: HTTP Basic, key as user name, empty password.
    pub fn authorization(&self) -> HeaderValue {
        let token = BASE64.encode(format!("{}:", self.0.expose_secret()));
        let mut value = HeaderValue::from_str(&format!("Basic {token}"))
            .expect("base64 is always a valid header value");
        value.set_sensitive(true);
        value
    }

    /// Every form of the key that must never appear in output.
    pub fn redactor(&self) -> Redactor {
        let key = self.0.expose_secret();
        let basic = BASE64.encode(format!("{key}:"));
        let bare = BASE64.encode(key);
        Redactor {
            needles: vec![key.to_owned(), basic, bare],
        }
    }

    /// The key as text, for the in-process mock server that must accept it. Nothing else.
    pub(crate) fn expose_for_mock(&self) -> String {
        self.0.expose_secret().to_owned()
    }

    /// Compares with a key the mock was given, without exposing either.
    pub fn matches(&self, other: &str) -> bool {
        self.0.expose_secret() == other
    }
}

/// Replaces every occurrence of the key's forms with `[REDACTED]`.
#[derive(Clone, Default)]
pub struct Redactor {
    needles: Vec<String>,
}

impl Redactor {
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for needle in self.needles.iter().filter(|n| n.len() >= 4) {
            if out.contains(needle.as_str()) {
                out = out.replace(needle.as_str(), "[REDACTED]");
            }
        }
        out
    }
}

/// Keys loaded in this process, whose forms the host log must never show.
static LOG_REDACTORS: std::sync::RwLock<Vec<Redactor>> = std::sync::RwLock::new(Vec::new());

/// Makes the host log redact this key (see [`redact_for_logs`]); called once a key is loaded.
pub fn register_for_logs(redactor: &Redactor) {
    LOG_REDACTORS
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .push(redactor.clone());
}

/// Removes every registered key from a log line: the log's second line of defence.
pub fn redact_for_logs(text: &str) -> String {
    let redactors = LOG_REDACTORS.read().unwrap_or_else(|e| e.into_inner());
    redactors
        .iter()
        .fold(text.to_owned(), |text, r| r.redact(&text))
}

/// A key source that cannot give a usable key. Messages never contain the key.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("no API key configured for environment {0}; add a [key] section to pleo.toml")]
    NotConfigured(crate::config::Environment),
    #[error("environment variable {0} is not set")]
    EnvMissing(String),
    #[error("key file {path} cannot be read: {cause}")]
    FileUnreadable { path: String, cause: String },
    #[error(
        "key file {path} is readable by group or others (mode {mode:o}); run `chmod 600 {path}`"
    )]
    FileTooOpen { path: String, mode: u32 },
    #[error("key command `{program}` failed: {cause}")]
    CommandFailed { program: String, cause: String },
    #[error("the key source gave an empty key")]
    Empty,
    #[error("the key source gave a value that is not an API key (control characters or ':')")]
    Malformed,
}

/// How long a credential command (e.g. a password manager asking its agent) may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// Reads the key from its configured source.
pub fn load(source: &KeySource) -> Result<ApiKey, CredentialError> {
    match source {
        KeySource::Env(var) => match std::env::var(var) {
            Ok(v) => ApiKey::new(&v),
            Err(_) => Err(CredentialError::EnvMissing(var.clone())),
        },
        KeySource::File(path) => read_key_file(path),
        KeySource::Command(argv) => run_key_command(argv),
    }
}

fn read_key_file(path: &Path) -> Result<ApiKey, CredentialError> {
    let shown = path.display().to_string();
    let unreadable = |e: std::io::Error| CredentialError::FileUnreadable {
        path: shown.clone(),
        cause: io_cause(&e),
    };
    let mut file = std::fs::File::open(path).map_err(unreadable)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = file.metadata().map_err(unreadable)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(CredentialError::FileTooOpen { path: shown, mode });
        }
    }
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(unreadable)?;
    ApiKey::new(&text)
}

fn run_key_command(argv: &[String]) -> Result<ApiKey, CredentialError> {
    let program = argv[0].clone();
    let failed = |cause: String| CredentialError::CommandFailed {
        program: program.clone(),
        cause,
    };
    let mut child = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        // The command's own diagnostics go to the operator's terminal, not into our logs.
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| failed(io_cause(&e)))?;
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        stdout.read_to_string(&mut out).map(|_| out)
    });
    let deadline = std::time::Instant::now() + COMMAND_TIMEOUT;
    let status = loop {
        match child.try_wait().map_err(|e| failed(e.to_string()))? {
            Some(status) => break status,
            None if std::time::Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(failed(format!(
                    "no answer within {}s",
                    COMMAND_TIMEOUT.as_secs()
                )));
            }
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    };
    if !status.success() {
        return Err(failed(format!("exited with {status}")));
    }
    let out = reader
        .join()
        .map_err(|_| failed("output reader stopped".into()))?
        .map_err(|e| failed(format!("output is not UTF-8 text: {e}")))?;
    ApiKey::new(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_basic_with_empty_password_and_sensitive() {
        let key = ApiKey::new(" pls_abc_123\n").unwrap();
        let h = key.authorization();
        assert!(h.is_sensitive());
        assert_eq!(
            h.to_str().unwrap(),
            format!("Basic {}", BASE64.encode("pls_abc_123:"))
        );
        assert_eq!(format!("{key:?}"), "ApiKey([REDACTED])");
    }

    #[test]
    fn redactor_removes_every_form() {
        let key = ApiKey::new("canary-7f3a9c").unwrap();
        let r = key.redactor();
        let basic = BASE64.encode("canary-7f3a9c:");
        let text = format!("a canary-7f3a9c b Basic {basic} c");
        let out = r.redact(&text);
        assert!(
            !out.contains("canary-7f3a9c") && !out.contains(&basic),
            "{out}"
        );
    }

    #[test]
    fn command_source_reads_stdout_and_reports_failure() {
        let ok = run_key_command(&["sh".into(), "-c".into(), "echo secret-value".into()]).unwrap();
        assert!(ok.matches("secret-value"));
        let err = run_key_command(&["sh".into(), "-c".into(), "exit 3".into()]).unwrap_err();
        assert!(err.to_string().contains("exited with"), "{err}");
        assert!(run_key_command(&["/nonexistent/tool".into()]).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn key_file_must_be_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("pleo-cred-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("key");
        std::fs::write(&path, "k-123\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            read_key_file(&path),
            Err(CredentialError::FileTooOpen { .. })
        ));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(read_key_file(&path).unwrap().matches("k-123"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
