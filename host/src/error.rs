//! How a command ends: a documented exit code, a one-line cause and an optional hint.

use std::fmt;

/// Exit codes of `pleo-host`. Documented in README.md; scripts may rely on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    Success = 0,
    /// The plugin returned an error, panicked or exited.
    PluginFailed = 1,
    /// Bad command line or unknown plugin name.
    Usage = 2,
    /// Broken or missing config file, or a rule of it violated.
    Config = 3,
    /// No usable key: missing source, unreadable file, refused by Pleo.
    Credential = 4,
    /// The plugin cannot run: not a component, wrong WIT version, scopes not granted.
    Rejected = 5,
    /// A limit ended the run: memory, CPU, wall clock, API calls, output size.
    Limit = 6,
    /// The run ended on an error from the Pleo API or the network to it.
    PleoApi = 7,
    /// `apply` refused the plan before any write: edited, for another environment, company
    /// or key, objects changed since it was made, or the operator declined.
    PlanRefused = 8,
    /// A fault of the host itself.
    Internal = 70,
    /// Stopped by Ctrl-C (SIGINT): 128 + 2, as shells report it.
    Interrupted = 130,
    /// Stopped by SIGTERM: 128 + 15.
    Terminated = 143,
}

impl ExitCode {
    /// Whether the command was stopped from outside rather than failing.
    pub fn is_cancel(self) -> bool {
        matches!(self, ExitCode::Interrupted | ExitCode::Terminated)
    }
}

/// A failed command, ready to print. Never contains the key (messages are redacted at source).
#[derive(Debug, Clone)]
pub struct Failure {
    pub code: ExitCode,
    pub message: String,
    /// One line per item when a cause has several parts (e.g. each missing scope).
    pub details: Vec<String>,
    pub hint: Option<String>,
}

impl Failure {
    pub fn new(code: ExitCode, message: impl Into<String>) -> Failure {
        Failure {
            code,
            message: message.into(),
            details: Vec::new(),
            hint: None,
        }
    }

    pub fn details(mut self, details: Vec<String>) -> Failure {
        self.details = details;
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Failure {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// An io::Error as a short cause without the OS error number noise.
pub fn io_cause(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}
