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

use crate::error::io_cause;

/// Where the host reads the API key from (`[key]` in pleo.toml). Exactly one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// An environment variable of the host process.
    Env(String),
    /// A file readable by its owner only (mode 0600 or stricter).
    File(std::path::PathBuf),
    /// A command whose standard output is the key (e.g. a password manager CLI).
    Command(Vec<String>),
}

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
        Redactor::for_secret(self.0.expose_secret())
    }

    /// The key as text, for the in-process mock server that must accept it. Nothing else; a
    /// build without the mock has no way to read the key back.
    #[cfg(feature = "mock")]
    pub(crate) fn expose_for_mock(&self) -> String {
        self.0.expose_secret().to_owned()
    }

    /// Compares with a key the mock was given, without exposing either.
    pub fn matches(&self, other: &str) -> bool {
        self.0.expose_secret() == other
    }
}

/// Shortest run of a secret's characters that is redacted wherever it appears.
const WINDOW: usize = 8;

/// Replaces the key in any form, and any run of [`WINDOW`] or more characters of one of its
/// forms, with `[REDACTED]`.
///
/// The forms: the key itself, base64 of the key and of `key:` (the Basic token) in the standard
/// and URL-safe alphabets, at each of the three alignments base64 can take inside a longer
/// encoded text. Matching runs rather than whole forms means a text that was cut (an error body
/// capped at some length, a log line cut by a plugin that padded its own input to place the cut)
/// never leaks a prefix of the key longer than `WINDOW - 1` characters, whatever the cut.
#[derive(Clone, Default)]
pub struct Redactor {
    /// Every `WINDOW`-byte run of every form, as a little-endian u64.
    windows: std::sync::Arc<std::collections::HashSet<u64>>,
    /// Forms shorter than `WINDOW`, matched whole.
    short: std::sync::Arc<Vec<Vec<u8>>>,
}

impl Redactor {
    fn for_secret(key: &str) -> Redactor {
        use base64::engine::general_purpose::URL_SAFE;
        let mut forms: Vec<Vec<u8>> = vec![key.as_bytes().to_vec()];
        for plain in [key.to_owned(), format!("{key}:")] {
            for engine in [&BASE64, &URL_SAFE] {
                // Behind 0, 1 or 2 other bytes the same text encodes differently; drop the
                // characters that depend on those bytes or on what follows.
                for shift in 0..3usize {
                    let mut bytes = vec![0u8; shift];
                    bytes.extend_from_slice(plain.as_bytes());
                    let encoded = engine.encode(&bytes);
                    let skip = (shift * 4).div_ceil(3);
                    let keep = encoded.trim_end_matches('=');
                    let keep = &keep[skip.min(keep.len())..keep.len().saturating_sub(1)];
                    forms.push(keep.as_bytes().to_vec());
                }
            }
        }
        let mut windows = std::collections::HashSet::new();
        let mut short = Vec::new();
        for form in forms.into_iter().filter(|f| f.len() >= 4) {
            if form.len() < WINDOW {
                short.push(form);
                continue;
            }
            for run in form.windows(WINDOW) {
                windows.insert(u64::from_le_bytes(run.try_into().expect("WINDOW bytes")));
            }
        }
        Redactor {
            windows: std::sync::Arc::new(windows),
            short: std::sync::Arc::new(short),
        }
    }

    /// `text` with every run of the key's forms replaced by `[REDACTED]`.
    pub fn redact(&self, text: &str) -> String {
        let bytes = text.as_bytes();
        // Byte ranges to hide.
        let mut hidden: Vec<(usize, usize)> = Vec::new();
        if !self.windows.is_empty() && bytes.len() >= WINDOW {
            for start in 0..=bytes.len() - WINDOW {
                let run = u64::from_le_bytes(
                    bytes[start..start + WINDOW]
                        .try_into()
                        .expect("WINDOW bytes"),
                );
                if self.windows.contains(&run) {
                    hidden.push((start, start + WINDOW));
                }
            }
        }
        for form in self.short.iter() {
            let mut from = 0;
            while let Some(at) = find(&bytes[from..], form) {
                hidden.push((from + at, from + at + form.len()));
                from += at + 1;
            }
        }
        if hidden.is_empty() {
            return text.to_owned();
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (start, end) in merged(hidden) {
            // Whole characters only: a run may start or end inside a multi-byte one.
            let start = text.floor_char_boundary(start).max(at);
            let end = text.ceil_char_boundary(end);
            out.push_str(&text[at..start]);
            out.push_str("[REDACTED]");
            at = end;
        }
        out.push_str(&text[at..]);
        out
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Sorted ranges with overlapping or touching ones joined.
fn merged(mut ranges: Vec<(usize, usize)>) -> Vec<(usize, usize)> {
    ranges.sort_unstable();
    let mut out: Vec<(usize, usize)> = Vec::with_capacity(ranges.len());
    for (start, end) in ranges {
        match out.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => out.push((start, end)),
        }
    }
    out
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

/// A key that cannot be read is the operator's to fix: exit 4, with where to look.
impl From<CredentialError> for crate::error::Failure {
    fn from(e: CredentialError) -> Self {
        let hint = match &e {
            CredentialError::NotConfigured(_) => "see README: Configuration, [key]",
            CredentialError::EnvMissing(_) => {
                "export the variable or point [key] at a file or command"
            }
            _ => "check the [key] section of pleo.toml",
        };
        crate::error::Failure::new(crate::error::ExitCode::Credential, e.to_string()).hint(hint)
    }
}

/// A key source that cannot give a usable key. Messages never contain the key.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// The environment's name (`staging`, `production`).
    #[error("no API key configured for environment {0}; add a [key] section to pleo.toml")]
    NotConfigured(String),
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
/// Bytes of a credential command's output the host reads.
const MAX_KEY_OUTPUT: u64 = 64 << 10;

/// Kills a credential command's whole process group (it was started as the group's leader),
/// then reaps the command itself.
fn kill_group(child: &mut std::process::Child) {
    #[cfg(unix)]
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: kill(2) with a negative pid signals that process group; no memory is shared.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

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
    run_key_command_within(argv, COMMAND_TIMEOUT)
}

/// [`run_key_command`] with its time limit as an argument (tests use a short one).
fn run_key_command_within(argv: &[String], timeout: Duration) -> Result<ApiKey, CredentialError> {
    let program = argv[0].clone();
    let failed = |cause: String| CredentialError::CommandFailed {
        program: program.clone(),
        cause,
    };
    let mut command = Command::new(&argv[0]);
    // Its own process group, so a timeout ends the command and everything it started: a
    // child left in the background would otherwise hold the output pipe open.
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        // The command's own diagnostics go to the operator's terminal, not into our logs.
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| failed(io_cause(&e)))?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let (sent, output) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // A key is short: more than this is not a key, and reading stops there.
        let mut out = String::new();
        let read = stdout
            .take(MAX_KEY_OUTPUT)
            .read_to_string(&mut out)
            .map(|_| out);
        let _ = sent.send(read);
    });
    let deadline = std::time::Instant::now() + timeout;
    let timed_out = || failed(format!("no answer within {}s", timeout.as_secs_f64()));
    let status = loop {
        match child.try_wait().map_err(|e| failed(e.to_string()))? {
            Some(status) => break status,
            None if std::time::Instant::now() > deadline => {
                kill_group(&mut child);
                return Err(timed_out());
            }
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    };
    // Whatever the command left running in its group is not needed any more.
    kill_group(&mut child);
    if !status.success() {
        return Err(failed(format!("exited with {status}")));
    }
    let left = deadline.saturating_duration_since(std::time::Instant::now());
    let out = output
        .recv_timeout(left.max(Duration::from_millis(100)))
        .map_err(|_| timed_out())?
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

    /// A prefix of any form cut at any point, and any run of 8 characters inside a form, is
    /// hidden; text around it is kept.
    #[test]
    fn redactor_hides_every_run_of_eight_characters_of_every_form() {
        use base64::engine::general_purpose::URL_SAFE;
        let key = "pls_live_Zx81qQm4R7tY2vWk";
        let r = ApiKey::new(key).unwrap().redactor();
        let mut forms = vec![
            key.to_owned(),
            BASE64.encode(key),
            BASE64.encode(format!("{key}:")),
            URL_SAFE.encode(format!("{key}:")),
        ];
        // The Basic token inside a longer encoded text, at the two other alignments, without
        // the characters that also encode the bytes around it.
        for (prefix, skip) in [("x", 2), ("xy", 3)] {
            let encoded = BASE64.encode(format!("{prefix}{key}:"));
            forms.push(encoded[skip..encoded.len() - 4].to_owned());
        }
        for form in &forms {
            for start in 0..form.len().saturating_sub(10) {
                for len in [8, 9, 13, form.len() - start] {
                    let end = (start + len).min(form.len());
                    if end - start < 8 {
                        continue;
                    }
                    let piece = &form[start..end];
                    let text = format!("before {piece} after");
                    let out = r.redact(&text);
                    assert!(!out.contains(piece), "{piece} in {out}");
                    assert!(
                        out.starts_with("before ") && out.ends_with(" after"),
                        "{out}"
                    );
                }
            }
        }
        // Text that shares no run of 8 with any form is left alone.
        let plain = "an ordinary message about vendor 42 and pls_liv";
        assert_eq!(r.redact(plain), plain);
        // Multi-byte characters next to a hidden run stay whole.
        let out = r.redact(&format!("é{key}ø"));
        assert_eq!(out, "é[REDACTED]ø");
    }

    #[test]
    fn command_source_reads_stdout_and_reports_failure() {
        let ok = run_key_command(&["sh".into(), "-c".into(), "echo secret-value".into()]).unwrap();
        assert!(ok.matches("secret-value"));
        let err = run_key_command(&["sh".into(), "-c".into(), "exit 3".into()]).unwrap_err();
        assert!(err.to_string().contains("exited with"), "{err}");
        assert!(run_key_command(&["/nonexistent/tool".into()]).is_err());
    }

    /// A command that never answers is ended at its time limit, with everything it started;
    /// one that leaves a process running in the background (holding its output open) is not
    /// waited for once it has exited.
    #[cfg(unix)]
    #[test]
    fn a_key_command_is_ended_at_its_limit_and_its_leftovers_are_not_waited_for() {
        let argv = |script: &str| vec!["sh".to_owned(), "-c".to_owned(), script.to_owned()];
        let hung = run_key_command_within(&argv("sleep 600"), Duration::from_millis(200));
        let err = hung.unwrap_err().to_string();
        assert!(err.contains("no answer within 0.2s"), "{err}");
        // The key is printed, then a child keeps stdout open longer than the limit: the read
        // ends in time only because the command's group is killed once the command exited.
        let key = run_key_command_within(
            &argv("echo pls_left_behind; sleep 40 &"),
            Duration::from_secs(20),
        )
        .unwrap();
        assert!(key.matches("pls_left_behind"));
    }

    /// Each source's failure is exit 4 with a hint at what to fix, never the key.
    #[test]
    fn a_key_that_cannot_be_read_is_exit_4_with_a_hint() {
        use crate::error::{ExitCode, Failure};
        for (error, hint) in [
            (
                CredentialError::NotConfigured("staging".into()),
                "see README: Configuration, [key]",
            ),
            (
                CredentialError::EnvMissing("PLEO_KEY".into()),
                "export the variable",
            ),
            (CredentialError::Empty, "check the [key] section"),
        ] {
            let message = error.to_string();
            let failure = Failure::from(error);
            assert_eq!(failure.code, ExitCode::Credential);
            assert_eq!(failure.message, message);
            let got = failure.hint.unwrap();
            assert!(got.contains(hint), "{got}");
        }
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

    #[test]
    fn a_key_must_be_non_empty_text_without_control_characters_or_colons() {
        assert!(matches!(ApiKey::new(" \n"), Err(CredentialError::Empty)));
        for bad in ["pls:abc", "pls\u{7}abc", "pls\tabc"] {
            assert!(
                matches!(ApiKey::new(bad), Err(CredentialError::Malformed)),
                "{bad:?}"
            );
        }
        let key = ApiKey::new("pls_ok").unwrap();
        assert!(key.matches("pls_ok") && !key.matches("pls_other"));
    }

    #[test]
    fn load_reads_each_source() {
        // Cargo sets CARGO_PKG_NAME for every test run.
        assert!(
            load(&KeySource::Env("CARGO_PKG_NAME".into()))
                .unwrap()
                .matches("pleo-host")
        );
        assert!(matches!(
            load(&KeySource::Env("PLEO_TEST_SURELY_UNSET_VARIABLE".into())),
            Err(CredentialError::EnvMissing(v)) if v == "PLEO_TEST_SURELY_UNSET_VARIABLE"
        ));
        let cmd = KeySource::Command(vec![
            "sh".into(),
            "-c".into(),
            "printf ' pls_cmd \\n'".into(),
        ]);
        assert!(load(&cmd).unwrap().matches("pls_cmd"));
    }

    /// Keys shorter than the window are matched whole, every time they appear; touching
    /// hidden runs become one `[REDACTED]`.
    #[test]
    fn short_keys_and_repeated_keys_are_hidden_whole() {
        let r = ApiKey::new("k-12345").unwrap().redactor();
        assert_eq!(
            r.redact("a k-12345 b k-12345 c"),
            "a [REDACTED] b [REDACTED] c"
        );
        assert_eq!(r.redact("k-1234"), "k-1234");
        let key = "pls_live_Zx81qQm4R7tY2vWk";
        let r = ApiKey::new(key).unwrap().redactor();
        assert_eq!(r.redact(&format!("<{key}{key}>")), "<[REDACTED]>");
        assert_eq!(r.redact(""), "");
    }

    #[test]
    fn the_log_redacts_every_registered_key() {
        let key = format!("pls_logged_{}", std::process::id());
        let line = format!("sent {key} twice: {key}");
        assert_eq!(redact_for_logs("nothing secret"), "nothing secret");
        register_for_logs(&ApiKey::new(&key).unwrap().redactor());
        assert_eq!(redact_for_logs(&line), "sent [REDACTED] twice: [REDACTED]");
    }

    /// Inside a longer base64 text the characters that also encode the bytes before the key
    /// are kept; hiding starts with the first character that depends on the key alone.
    #[test]
    fn base64_text_around_the_key_is_kept() {
        let key = "pls_live_Zx81qQm4R7tY2vWk";
        let r = ApiKey::new(key).unwrap().redactor();
        for (prefix, kept) in [(&[0u8][..], 2), (&[0u8, 0][..], 3)] {
            let mut bytes = prefix.to_vec();
            bytes.extend_from_slice(format!("{key}:").as_bytes());
            let encoded = BASE64.encode(&bytes);
            let out = r.redact(&encoded);
            assert!(
                out.starts_with(&format!("{}[REDACTED]", &encoded[..kept])),
                "{encoded} -> {out}"
            );
        }
    }
}
