//! Helpers shared by the end-to-end tests.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The `pleo-host` binary cargo built for these tests.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_pleo-host")
}

/// A test plugin built by the host's build script (`hostile`, `snoop`, `spend-report`).
pub fn plugin(name: &str) -> PathBuf {
    let path = Path::new(env!("PLEO_TEST_PLUGINS_DIR")).join(format!("{name}.wasm"));
    assert!(path.is_file(), "test plugin missing: {}", path.display());
    path
}

/// What a finished `pleo-host` process left.
#[derive(Debug)]
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    /// Asserts the failure is reported as one `error:` line (plus an optional hint) and exits
    /// with `code`, without a panic or backtrace.
    pub fn assert_clean_failure(&self, code: i32) -> &str {
        assert_eq!(self.code, code, "exit code; stderr:\n{}", self.stderr);
        assert!(!self.stderr.contains("panicked"), "panic:\n{}", self.stderr);
        assert!(
            !self.stderr.contains("RUST_BACKTRACE"),
            "backtrace hint:\n{}",
            self.stderr
        );
        let error_lines: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .collect();
        assert_eq!(
            error_lines.len(),
            1,
            "exactly one error line:\n{}",
            self.stderr
        );
        let hint_lines = self
            .stderr
            .lines()
            .filter(|l| l.starts_with("  hint:"))
            .count();
        assert!(hint_lines <= 1, "at most one hint:\n{}", self.stderr);
        error_lines[0]
    }
}

/// Runs `pleo-host` in `dir` with a clean environment plus `envs`. HOME and the XDG folders
/// are inside `dir`, so the run writes nothing (audit, compile cache) outside it.
pub fn run_in(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Outcome {
    let mut cmd = command_in(dir, args, envs);
    let out = cmd.output().expect("pleo-host starts");
    Outcome {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The `pleo-host` command [`run_in`] runs, to spawn and watch it (signals, peak memory).
pub fn command_in(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(bin());
    cmd.args(args).current_dir(dir).env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    let home = dir.join(".home");
    cmd.env("HOME", &home)
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env("XDG_STATE_HOME", home.join(".local/state"));
    cmd.envs(envs.iter().copied());
    cmd
}

/// A fresh temporary folder, removed when dropped.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("pleo-e2e-")
        .tempdir()
        .expect("temp dir")
}

/// Writes `pleo.toml` into `dir` and returns its path.
pub fn write_config(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("pleo.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Every file under `dir`, recursively, as (path, bytes). Does not follow links.
pub fn read_tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let entry = entry.unwrap();
            let ty = entry.file_type().unwrap();
            if ty.is_dir() {
                stack.push(entry.path());
            } else if ty.is_file() {
                out.push((entry.path(), std::fs::read(entry.path()).unwrap()));
            }
        }
    }
    out
}

/// A tokio runtime for in-process tests of the library.
pub fn tokio() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The records of an RFC 4180 text (`\n` or `\r\n` line ends), fields unquoted.
pub fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let (mut records, mut record, mut field) = (Vec::new(), Vec::new(), String::new());
    let (mut quoted, mut chars) = (false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => record.push(std::mem::take(&mut field)),
            '\r' if !quoted && chars.peek() == Some(&'\n') => {}
            '\n' if !quoted => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            c => field.push(c),
        }
    }
    assert!(!quoted, "unterminated quoted field");
    assert!(
        field.is_empty() && record.is_empty(),
        "the last record has no line end"
    );
    records
}

/// Asserts no cell of a CSV a spreadsheet opens can be read as a formula (CSV injection): none
/// starts with `=`, `+`, `@`, TAB or CR, and one that starts with `-` is a plain number.
pub fn assert_no_formulas(name: &str, text: &str) {
    for (i, record) in parse_csv(text).iter().enumerate() {
        for cell in record {
            let number = cell.strip_prefix('-').is_some_and(|n| {
                !n.is_empty() && n.chars().all(|c| c.is_ascii_digit() || c == '.')
            });
            assert!(
                !cell.starts_with(['=', '+', '@', '\t', '\r'])
                    && (!cell.starts_with('-') || number),
                "{name}, record {i}: cell {cell:?} reads as a formula"
            );
        }
    }
}

/// Parses a pleo.toml text as if it were `dir/pleo.toml`, with the audit (`state_dir`) and the
/// compile cache (`cache_dir`) inside `dir` unless the text sets them: an in-process test never
/// writes to the user's home.
pub fn config_in(text: &str, dir: &Path) -> pleo_host::config::Config {
    let mut full = String::new();
    for (key, folder) in [("state_dir", "state"), ("cache_dir", "cache")] {
        if !text.lines().any(|l| l.trim_start().starts_with(key)) {
            full.push_str(&format!(
                "{key} = {:?}\n",
                dir.join(folder).display().to_string()
            ));
        }
    }
    full.push_str(text);
    pleo_host::config::Config::parse(&full, &dir.join("pleo.toml")).expect("test config parses")
}
