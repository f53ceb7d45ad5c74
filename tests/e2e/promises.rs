//! README promises without a test of their own elsewhere: the exit codes of the command line
//! (1, 2, 4, 70),
//! the audit of a failed run, the Quick start summary, the example configurations and the
//! compile cache.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::{plugin, run_in, tempdir, write_config};

/// The records of an audit log.
fn read_audit(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A pleo.toml on the mock with its own state and cache folders, plus `rest`.
fn config(dir: &Path, rest: &str) -> PathBuf {
    write_config(
        dir,
        &format!("environment = \"mock\"\nstate_dir = \"state\"\ncache_dir = \"cache\"\n{rest}"),
    )
}

const GRANT_SPEND_REPORT: &str =
    "[plugins.spend-report]\nscopes = [\"users:read\", \"accounting-entries:read\"]\n";

// Exit codes (README, "Exit codes").

#[test]
fn a_plugin_that_returns_an_error_exits_with_1() {
    let dir = tempdir();
    let cfg = config(
        dir.path(),
        &format!(
            "[plugins.hostile]\npath = {:?}\nparams = {{ mode = \"unknown\" }}\n",
            plugin("hostile").display().to_string()
        ),
    );
    let run = run_in(
        dir.path(),
        &["run", "hostile", "--config", cfg.to_str().unwrap()],
        &[],
    );
    let error = run.assert_clean_failure(1);
    // The plugin's own error reaches the operator.
    assert!(error.contains("unknown mode"), "{error}");
    assert!(error.contains("hostile"), "{error}");
    let records = read_audit(&dir.path().join("state/audit.jsonl"));
    let end = records.last().unwrap();
    assert_eq!(end["record"], "run-end");
    assert_eq!(end["result"], "failed");
    assert_eq!(end["exit_code"], 1);
}

#[test]
fn an_out_folder_under_a_regular_file_exits_with_2_before_the_plugin_starts() {
    let dir = tempdir();
    std::fs::write(dir.path().join("file"), "not a folder").unwrap();
    let cfg = config(dir.path(), GRANT_SPEND_REPORT);
    let run = run_in(
        dir.path(),
        &[
            "run",
            "spend-report",
            "--config",
            cfg.to_str().unwrap(),
            "--out",
            "file/out",
        ],
        &[],
    );
    let error = run.assert_clean_failure(2);
    assert!(error.contains("file/out"), "{error}");
    // Checked before the plugin starts: no run was audited, no API call made.
    let audit = dir.path().join("state/audit.jsonl");
    let started = audit.exists() && !read_audit(&audit).is_empty();
    assert!(!started, "the run started:\n{}", run.stderr);
    assert_eq!(
        std::fs::read(dir.path().join("file")).unwrap(),
        b"not a folder"
    );
}

#[test]
fn a_failing_key_command_exits_with_4() {
    let dir = tempdir();
    let cfg = config(
        dir.path(),
        &format!("[key]\ncommand = [\"false\"]\n{GRANT_SPEND_REPORT}"),
    );
    let run = run_in(
        dir.path(),
        &["run", "spend-report", "--config", cfg.to_str().unwrap()],
        &[],
    );
    let error = run.assert_clean_failure(4);
    assert!(error.contains("false"), "names the command: {error}");
    assert!(
        !dir.path().join("state/audit.jsonl").exists(),
        "no plugin ran without a key"
    );
}

/// A fault of the host itself (here: a run history it cannot read back) exits with 70, one
/// `error:` line, no panic.
#[test]
fn an_internal_error_exits_with_70_and_one_error_line() {
    let dir = tempdir();
    let cfg = config(dir.path(), "");
    let cfg = cfg.to_str().unwrap();
    let listed = run_in(dir.path(), &["runs", "--config", cfg], &[]);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    // A row the host never writes: a count that is not a number.
    let db = std::fs::read_dir(dir.path().join("state"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "db"))
        .expect("the state database");
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute(
            "INSERT INTO runs (id, plugin, started_at, result, api_calls) \
             VALUES ('r1', 'spend-report', '2026-01-01T00:00:00Z', 'ok', 'many')",
            [],
        )
        .unwrap();
    let run = run_in(dir.path(), &["runs", "--config", cfg], &[]);
    let error = run.assert_clean_failure(70);
    assert!(error.contains("cannot read the run history"), "{error}");
}

// The audit of a failed run (README, "Permissions, approval, audit").

#[test]
fn a_failed_run_is_audited_with_its_exit_code_retries_and_latencies() {
    let dir = tempdir();
    // A third of all requests answer 503 (ridden out with up to 5 attempts), and every
    // entries search does: the run ends on Pleo, exit 7.
    let cfg = config(
        dir.path(),
        "[mock]\nseed = 7\nanchor = \"2026-06-30\"\n\
         [mock.faults]\nseed = 3\nunavailable = 0.3\n\
         [[mock.faults.routes]]\npath = \"/v1/accounting-entries:search\"\nunavailable = 1\n\
         [client]\nmax_attempts = 5\nbackoff_seconds = 0.01\nmax_backoff_seconds = 0.02\n\
         [plugins.spend-report]\nscopes = [\"users:read\", \"accounting-entries:read\"]\n",
    );
    let run = run_in(
        dir.path(),
        &["run", "spend-report", "--config", cfg.to_str().unwrap()],
        &[],
    );
    run.assert_clean_failure(7);

    let records = read_audit(&dir.path().join("state/audit.jsonl"));
    assert_eq!(records[0]["record"], "run-start");
    let end = records.last().unwrap();
    assert_eq!(end["record"], "run-end");
    assert_eq!(end["result"], "failed");
    assert_eq!(end["exit_code"], 7);
    assert!(
        end["message"].as_str().unwrap().contains("503"),
        "{}",
        end["message"]
    );

    let calls: Vec<&Value> = records
        .iter()
        .filter(|r| r["record"] == "call" && !r["method"].is_null())
        .collect();
    assert!(calls.len() >= 2, "{calls:?}");
    for call in &calls {
        assert!(call["retries"].is_u64(), "{call}");
        assert!(
            call["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0),
            "{call}"
        );
    }
    // The search gave up after its 5 attempts, 4 of them retries, on a 503.
    let search = calls
        .iter()
        .find(|c| c["path"] == "/v1/accounting-entries:search")
        .expect("the search was audited");
    assert_eq!(search["retries"], 4, "{search}");
    assert_eq!(search["status"], 503, "{search}");
    assert_ne!(search["outcome"], "ok", "{search}");
    // The seeded 503s elsewhere were retried and ridden out, and recorded as such.
    assert!(
        calls
            .iter()
            .any(|c| c["outcome"] == "ok" && c["retries"].as_u64().unwrap() > 0),
        "no call was retried: {calls:?}"
    );
    let retries: u64 = calls.iter().map(|c| c["retries"].as_u64().unwrap()).sum();
    assert_eq!(end["totals"]["retries"], retries);
    assert_eq!(end["totals"]["api_calls"], calls.len() as u64);
}

// The Quick start (README, "Quick start").

#[test]
fn the_quick_start_summary_counts_the_audited_calls_and_lists_the_files_written() {
    let dir = tempdir();
    let run = run_in(dir.path(), &["run", "spend-report"], &[]);
    assert_eq!(run.code, 0, "stderr:\n{}", run.stderr);

    // `spend-report finished in 0.07s (41 Pleo API calls)`
    let first = run.stdout.lines().next().unwrap_or_default();
    let rest = first
        .strip_prefix("spend-report finished in ")
        .unwrap_or_else(|| panic!("first line: {first}"));
    let (seconds, calls) = rest.split_once("s (").unwrap();
    seconds.parse::<f64>().unwrap();
    let calls: u64 = calls
        .strip_suffix(" Pleo API calls)")
        .unwrap_or_else(|| panic!("first line: {first}"))
        .parse()
        .unwrap();

    // Without a config the audit goes to $XDG_STATE_HOME/pleo-host.
    let audit = dir.path().join(".home/.local/state/pleo-host/audit.jsonl");
    let audited = read_audit(&audit)
        .iter()
        .filter(|r| r["record"] == "call" && r["method"].is_string())
        .count() as u64;
    assert!(audited > 2, "{audited}");
    assert_eq!(calls, audited, "{first}");

    // `files written:` then `  out/spend-report/<file> (<n> bytes)`, each as it is on disk.
    let listing: Vec<&str> = run
        .stdout
        .lines()
        .skip_while(|l| *l != "files written:")
        .skip(1)
        .collect();
    let mut names = Vec::new();
    for line in &listing {
        let line = line.strip_prefix("  ").unwrap();
        let (path, size) = line.rsplit_once(" (").unwrap();
        let size: u64 = size.strip_suffix(" bytes)").unwrap().parse().unwrap();
        let on_disk = std::fs::metadata(dir.path().join(path))
            .unwrap_or_else(|e| panic!("{path}: {e}"))
            .len();
        assert_eq!(size, on_disk, "{path}");
        names.push(path.to_owned());
    }
    names.sort();
    assert_eq!(
        names,
        [
            "out/spend-report/report.html",
            "out/spend-report/spend-by-employee.csv",
            "out/spend-report/spend-by-month.csv"
        ]
    );
}

// The example configurations (README, "Running against Pleo").

/// Every `pleo.toml` under `dir`.
fn configs_under(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            configs_under(&path, found);
        } else if path.file_name().is_some_and(|n| n == "pleo.toml") {
            found.push(path);
        }
    }
}

#[test]
fn every_example_config_parses() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut found = Vec::new();
    configs_under(&examples, &mut found);
    assert!(found.len() >= 2, "{found:?}");
    for path in &found {
        // Loading reads no key: a key source naming an unset variable must not matter.
        let config = pleo_host::config::Config::load(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            !config.plugins.is_empty(),
            "{}: grants no plugin",
            path.display()
        );
        // The key source the example suggests (an environment variable) parses without the
        // variable being set: it is read when a run needs the key, not before.
        let text = std::fs::read_to_string(path).unwrap();
        if text.contains("# [key]") && text.contains("# env = ") {
            let with_key = text
                .replace("# [key]", "[key]")
                .replace("# env = ", "env = ");
            let config = pleo_host::config::Config::parse(&with_key, path)
                .unwrap_or_else(|e| panic!("{} with [key] env: {e}", path.display()));
            assert!(
                matches!(config.key, Some(pleo_host::config::KeySource::Env(_))),
                "{:?}",
                config.key
            );
        }
    }
}

// The compile cache (README, Configuration: `cache_dir`).

/// The files in the compile cache folder.
/// The compiled entries of the compile cache (the file index beside them, `files/`, left out).
fn cache_entries(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("cache"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().is_some_and(|n| n != "files"))
        .collect();
    files.sort();
    files
}

#[test]
fn the_compile_cache_is_written_once_reused_and_repaired() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempdir();
    let cfg = config(
        dir.path(),
        &format!(
            "[plugins.hostile]\npath = {:?}\n",
            plugin("hostile").display().to_string()
        ),
    );
    let run = || {
        let run = run_in(
            dir.path(),
            &["run", "hostile", "--config", cfg.to_str().unwrap()],
            &[],
        );
        assert_eq!(run.code, 0, "stderr:\n{}", run.stderr);
    };
    // A miss compiles and writes one entry.
    run();
    let entries = cache_entries(dir.path());
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].extension().unwrap(), "cwasm");
    let written = std::fs::metadata(&entries[0]).unwrap();

    // A hit loads it and writes nothing (a rewrite is a new file, published by rename).
    run();
    assert_eq!(cache_entries(dir.path()), entries);
    assert_eq!(std::fs::metadata(&entries[0]).unwrap().ino(), written.ino());

    // A corrupt entry is compiled again: the run succeeds and the entry is repaired.
    std::fs::write(&entries[0], b"garbage").unwrap();
    run();
    assert_eq!(cache_entries(dir.path()), entries);
    assert_eq!(std::fs::metadata(&entries[0]).unwrap().len(), written.len());
}
