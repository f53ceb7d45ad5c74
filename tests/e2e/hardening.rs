//! Every plugin is hostile: each test here is one attack, made by a real plugin (the `attacker`
//! and `hostile` test plugins, or a component written by hand in WAT), run by the real binary in
//! its own temporary folder. Each asserts the promise that attack would break: no fragment of
//! the key anywhere, one memory budget for the whole run, compile within the limits, a bounded
//! audit and log, no raw control character on the terminal, a clean stop on SIGTERM.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;

use crate::common::{Outcome, command_in, plugin, read_tree, run_in, tempdir, write_config};

/// pleo.toml for the mock with the audit and the compile cache inside `dir`, plus `rest`.
fn config(dir: &Path, rest: &str) -> PathBuf {
    write_config(
        dir,
        &format!("environment = \"mock\"\nstate_dir = \"state\"\ncache_dir = \"cache\"\n{rest}"),
    )
}

fn attacker(dir: &Path, mode: &str, extra: &str) -> PathBuf {
    config(
        dir,
        &format!(
            "{extra}\n[plugins.attacker]\npath = \"{}\"\nscopes = [\"users:read\"]\nparams = {{ mode = \"{mode}\" }}\n",
            plugin("attacker").display()
        ),
    )
}

const SPEND_REPORT: &str =
    "[plugins.spend-report]\nscopes = [\"users:read\", \"accounting-entries:read\"]\n";

/// Runs the `attacker` plugin in `mode` (see [`attacker`]).
fn run_attacker(dir: &Path, mode: &str, extra: &str) -> Outcome {
    let cfg = attacker(dir, mode, extra);
    run_in(
        dir,
        &["run", "attacker", "--config", cfg.to_str().unwrap()],
        &[],
    )
}

fn audit_records(dir: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(dir.join("state/audit.jsonl")).unwrap_or_default();
    text.lines()
        .map(|l| serde_json::from_str(l).expect("audit lines are JSON"))
        .collect()
}

fn run_end(dir: &Path) -> Value {
    audit_records(dir)
        .into_iter()
        .rfind(|r| r["record"] == "run-end")
        .expect("a run-end record")
}

/// Every form of the key a careless server or proxy could show: the key, base64 of the key and
/// of `key:` (the Basic token), URL-safe too, and the Basic token inside a longer base64 text.
fn key_forms(key: &str) -> Vec<String> {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE};
    let mut forms = vec![key.to_owned()];
    for plain in [key.to_owned(), format!("{key}:")] {
        for engine in [&STANDARD, &URL_SAFE] {
            forms.push(engine.encode(&plain));
        }
    }
    // Behind one or two other bytes the same text encodes differently; skip what they touch.
    for shift in 1..3 {
        let encoded = STANDARD.encode(format!("{}{key}:", "x".repeat(shift)));
        forms.push(encoded[(shift * 4).div_ceil(3)..encoded.len() - 4].to_owned());
    }
    forms
}

/// Fails if `text` holds any 8 consecutive characters of any form of `key`.
fn assert_no_key_fragment(what: &str, text: &str, key: &str) {
    for form in key_forms(key) {
        for start in 0..=form.len().saturating_sub(8) {
            let run = &form[start..start + 8];
            assert!(
                !text.contains(run),
                "{what} holds `{run}`, 8 characters of a form of the key"
            );
        }
    }
}

#[test]
fn no_fragment_of_the_key_reaches_the_plugin_or_any_artifact() {
    let dir = tempdir();
    // A long key: its Basic token (about 600 characters) runs across the 500-byte cap of an
    // error message, and the 64 probes of different lengths move the cut through it one
    // character at a time, as an attacker rebuilding the key from prefixes would.
    let key: String = (0..440u32)
        .map(|i| {
            char::from(
                b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
                    [(i * 7919 % 57) as usize],
            )
        })
        .collect();
    let key = format!("pls_canary_{key}");
    let key = key.as_str();
    let cfg = attacker(
        dir.path(),
        "key-probe",
        "[key]\nenv = \"PLEO_CANARY_KEY\"\n[mock]\necho_authorization = true",
    );
    let out = dir.path().join("out");
    let run = run_in(
        dir.path(),
        &[
            "-v",
            "run",
            "attacker",
            "--config",
            cfg.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &[("PLEO_CANARY_KEY", key)],
    );
    assert_eq!(run.code, 0, "stderr:\n{}", run.stderr);
    // The plugin saw the errors, with the echoed header hidden: the attack was really made.
    let seen = std::fs::read_to_string(out.join("errors.txt")).unwrap();
    assert_eq!(seen.lines().count(), 64, "{seen}");
    assert!(
        seen.contains("[REDACTED]"),
        "the mock echoed the header: {seen}"
    );
    assert_no_key_fragment("what the plugin saw", &seen, key);
    assert_no_key_fragment("stdout", &run.stdout, key);
    assert_no_key_fragment("stderr (with -v debug lines)", &run.stderr, key);
    let audit = std::fs::read_to_string(dir.path().join("state/audit.jsonl")).unwrap();
    assert_no_key_fragment("the audit", &audit, key);
    for (path, bytes) in read_tree(dir.path()) {
        if path.starts_with(dir.path().join("cache")) {
            continue; // compiled plugins: bytes the host made before any key was in play
        }
        let text = String::from_utf8_lossy(&bytes);
        assert_no_key_fragment(&path.display().to_string(), &text, key);
    }
}

/// A component written by hand: `instances` core instances of `module`, exporting the world's
/// `run` (which answers `ok("")` from zeroed memory).
fn component(module: &str, instances: usize) -> Vec<u8> {
    let mut wat = format!(
        "(component\n (core module $main (memory (export \"memory\") 1) (func (export \"run\") (result i32) (i32.const 0)))\n (core module $extra {module})\n (core instance $main (instantiate $main))\n"
    );
    for i in 0..instances {
        wat.push_str(&format!(" (core instance $x{i} (instantiate $extra))\n"));
    }
    wat.push_str(
        " (func (export \"run\") (result (result string (error string))) (canon lift (core func $main \"run\") (memory (core memory $main \"memory\"))))\n)",
    );
    wat::parse_str(&wat).expect("valid component text")
}

fn run_component(dir: &Path, wasm: &[u8], limits: &str) -> Outcome {
    let path = dir.join("handmade.wasm");
    std::fs::write(&path, wasm).unwrap();
    let cfg = config(
        dir,
        &format!("[plugins.handmade]\npath = \"handmade.wasm\"\nlimits = {{ {limits} }}\n"),
    );
    run_in(
        dir,
        &["run", "handmade", "--config", cfg.to_str().unwrap()],
        &[],
    )
}

#[test]
fn all_memories_and_tables_of_a_run_share_one_budget() {
    // Seven memories of 40 MiB: each under 256 MiB, together over it.
    let dir = tempdir();
    let memories = component("(memory (export \"m\") 640)", 7);
    let run = run_component(dir.path(), &memories, "memory_mb = 256");
    let error = run.assert_clean_failure(6);
    assert!(error.contains("memory limit of 256 MiB"), "{error}");

    // Forty tables of a million elements (320 MiB of pointers), no memory to speak of.
    let dir = tempdir();
    let tables = component("(table (export \"t\") 1048576 funcref)", 40);
    let run = run_component(dir.path(), &tables, "memory_mb = 256");
    let error = run.assert_clean_failure(6);
    assert!(error.contains("memory limit of 256 MiB"), "{error}");

    // The same shapes within the budget run.
    let dir = tempdir();
    let run = run_component(
        dir.path(),
        &component("(memory (export \"m\") 160)", 3),
        "memory_mb = 64",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn a_component_over_the_fixed_counts_is_refused_before_compiling() {
    let dir = tempdir();
    let mut modules = String::new();
    let mut instances = String::new();
    for i in 0..17 {
        modules.push_str(&format!(" (core module $m{i} (memory 1))\n"));
        instances.push_str(&format!(" (core instance (instantiate $m{i}))\n"));
    }
    let wat = format!(
        "(component\n (core module $main (memory (export \"memory\") 1) (func (export \"run\") (result i32) (i32.const 0)))\n{modules} (core instance $main (instantiate $main))\n{instances} (func (export \"run\") (result (result string (error string))) (canon lift (core func $main \"run\") (memory (core memory $main \"memory\"))))\n)"
    );
    let run = run_component(dir.path(), &wat::parse_str(&wat).unwrap(), "memory_mb = 64");
    let error = run.assert_clean_failure(6);
    assert!(error.contains("18 memories, more than the 16"), "{error}");
    assert!(
        !dir.path()
            .join("cache")
            .read_dir()
            .is_ok_and(|mut d| d.any(|e| e
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "cwasm"))),
        "nothing was compiled"
    );
}

#[test]
fn a_component_over_wasm_mb_is_refused_before_compiling_by_run_and_inspect() {
    let dir = tempdir();
    let data = "\\00".repeat(1_200_000);
    let big = component(&format!("(memory 20) (data (i32.const 0) \"{data}\")"), 1);
    assert!(big.len() > 1 << 20);
    let run = run_component(dir.path(), &big, "wasm_mb = 1");
    let error = run.assert_clean_failure(6);
    assert!(error.contains("over the limit of 1 MiB"), "{error}");
    assert!(run.stderr.contains("limits.wasm_mb"), "{}", run.stderr);
    let cfg = dir.path().join("pleo.toml");
    let inspect = run_in(
        dir.path(),
        &[
            "plugin",
            "inspect",
            "handmade",
            "--offline",
            "--config",
            cfg.to_str().unwrap(),
        ],
        &[],
    );
    inspect.assert_clean_failure(6);
}

#[test]
fn compiling_counts_against_the_wall_clock() {
    // Many large functions: far more compile work than 50 ms of wall clock allow.
    let mut body = String::new();
    for i in 0..3000 {
        body.push_str(&format!(
            "(local.set $a (i32.add (local.get $a) (i32.const {i})))"
        ));
    }
    let mut funcs = String::new();
    for f in 0..300 {
        funcs.push_str(&format!(
            "(func (export \"f{f}\") (result i32) (local $a i32) {body} (local.get $a))\n"
        ));
    }
    let dir = tempdir();
    let slow = component(&funcs, 1);
    let run = run_component(dir.path(), &slow, "wall_seconds = 0.05");
    let error = run.assert_clean_failure(6);
    assert!(
        error.contains("compiling the component did not finish"),
        "{error}"
    );
    assert!(run.stderr.contains("limits.wall_seconds"), "{}", run.stderr);
}

#[test]
fn floods_of_host_calls_leave_a_bounded_audit() {
    let dir = tempdir();
    let run = run_attacker(dir.path(), "refusal-flood", "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let records = audit_records(dir.path());
    let calls = records.iter().filter(|r| r["record"] == "call").count();
    assert_eq!(calls, 100, "refusals recorded one by one up to the bound");
    let end = run_end(dir.path());
    assert_eq!(
        end["totals"]["refusals_not_recorded"],
        100_000 - 100,
        "{end}"
    );
    let size = std::fs::metadata(dir.path().join("state/audit.jsonl"))
        .unwrap()
        .len();
    assert!(size < 100 << 10, "audit of one run is {size} bytes");

    let dir = tempdir();
    let run = run_attacker(dir.path(), "service-flood", "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let records = audit_records(dir.path());
    assert_eq!(records.len(), 2, "only run-start and run-end: {records:?}");
    let services = &records[1]["totals"]["services"];
    // One more `params.get`: the plugin reads its `mode` first.
    assert_eq!(services["params.get"]["calls"], 100_001, "{services}");
    assert_eq!(services["progress.report"]["calls"], 100_000, "{services}");
}

#[test]
fn log_lines_and_summary_come_out_of_one_log_budget() {
    let dir = tempdir();
    let run = run_attacker(dir.path(), "log-flood", "[limits]\nlog_kb = 64");
    let error = run.assert_clean_failure(6);
    assert!(error.contains("log limit of 64 KiB"), "{error}");
    assert!(run.stderr.contains("limits.log_kb"), "{}", run.stderr);
    // 64 KiB at 64 bytes a line: at most 1024 lines reached the host log.
    let lines = run
        .stderr
        .lines()
        .filter(|l| l.contains("attacker"))
        .count();
    assert!(lines <= 1024 + 5, "{lines} log lines");
    assert_eq!(run_end(dir.path())["exit_code"], 6);

    let dir = tempdir();
    let run = run_attacker(dir.path(), "big-summary", "");
    let error = run.assert_clean_failure(6);
    assert!(error.contains("log limit of 1024 KiB"), "{error}");
    assert!(run.stdout.len() < 4096, "the summary was not printed");
    let audit = std::fs::metadata(dir.path().join("state/audit.jsonl"))
        .unwrap()
        .len();
    assert!(audit < 16 << 10, "audit is {audit} bytes");
}

/// Characters that must never reach a terminal raw.
fn raw_control(text: &str) -> Option<char> {
    text.chars().find(|&c| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    })
}

#[test]
fn control_characters_from_a_plugin_never_reach_the_terminal_or_the_audit() {
    for mode in ["terminal", "terminal-err"] {
        let dir = tempdir();
        let run = run_attacker(dir.path(), mode, "");
        assert_eq!(
            run.code,
            if mode == "terminal" { 0 } else { 1 },
            "{}",
            run.stderr
        );
        assert_eq!(raw_control(&run.stdout), None, "stdout: {:?}", run.stdout);
        assert_eq!(
            raw_control(&run.stderr),
            None,
            "stderr: {:?}",
            run.stderr.lines().find(|l| raw_control(l).is_some())
        );
        let audit = std::fs::read_to_string(dir.path().join("state/audit.jsonl")).unwrap();
        assert_eq!(raw_control(&audit), None, "audit: {audit:?}");
        // Shown, escaped, not dropped.
        let shown = if mode == "terminal" {
            &run.stdout
        } else {
            &run.stderr
        };
        assert!(shown.contains("\\u{1b}]0;owned"), "{shown}");
        assert!(
            run.stderr.contains("\\u{1b}[31mred"),
            "log and stdio lines: {}",
            run.stderr
        );
    }
}

/// The runs by hand in the state database of a `config` folder, newest first.
fn history(dir: &Path) -> Vec<pleo_host::history::RunRecord> {
    pleo_host::history::History::open(&dir.join("state/pleo-host.db"))
        .unwrap()
        .list(None, 100)
        .unwrap()
}

/// A plugin that does not finish within `[daemon] grace_seconds` after SIGTERM is interrupted:
/// exit 143, `cancelled` in the audit and the history.
#[test]
fn sigterm_mid_run_records_cancelled_and_exits_143() {
    let dir = tempdir();
    let cfg = config(
        dir.path(),
        &format!(
            "[daemon]\ngrace_seconds = 0.5\n[plugins.hostile]\npath = \"{}\"\nparams = {{ mode = \"sleep\" }}\n",
            plugin("hostile").display()
        ),
    );
    let mut child = command_in(
        dir.path(),
        &["run", "hostile", "--config", cfg.to_str().unwrap()],
        &[],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    // Wait (bounded) until the run has started, then ask it to stop.
    let started = (0..600).any(|_| {
        std::thread::sleep(Duration::from_millis(50));
        audit_records(dir.path())
            .iter()
            .any(|r| r["record"] == "run-start")
    });
    assert!(started, "the run started");
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = wait_bounded(&mut child);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{stderr}");
    assert!(
        stderr.contains("error: plugin hostile: cancelled by SIGTERM"),
        "{stderr}"
    );
    assert!(
        stderr.contains("SIGTERM: the plugin may finish within 0.5s"),
        "{stderr}"
    );
    let end = run_end(dir.path());
    assert_eq!(end["result"], "cancelled", "{end}");
    assert_eq!(end["exit_code"], 143, "{end}");
    let runs = history(dir.path());
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].result, "cancelled", "{runs:?}");
    assert_eq!(runs[0].exit_code, Some(143), "{runs:?}");
    assert_eq!(runs[0].id, end["run_id"].as_str().unwrap());
}

/// SIGTERM while the plugin works: it gets the grace period, and a run that finishes within it
/// is what it was: exit 0, its output complete, `ok` in the audit and the history. The plugin
/// finishes only when the test creates `/in/go`, after the host has taken the signal.
#[test]
fn sigterm_within_the_grace_period_lets_the_run_finish() {
    let dir = tempdir();
    let cfg = config(
        dir.path(),
        &format!(
            "[daemon]\ngrace_seconds = 600\n[plugins.hostile]\npath = \"{}\"\n\
             params = {{ mode = \"wait-for-go\" }}\n",
            plugin("hostile").display()
        ),
    );
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    let stderr_file = dir.path().join("run.stderr");
    let out = dir.path().join("out");
    let mut child = command_in(
        dir.path(),
        &[
            "run",
            "hostile",
            "--config",
            cfg.to_str().unwrap(),
            "--input",
            "in",
            "--out",
            "out",
        ],
        &[],
    )
    .stdout(Stdio::piped())
    .stderr(std::fs::File::create(&stderr_file).unwrap())
    .spawn()
    .unwrap();
    let stderr = || std::fs::read_to_string(&stderr_file).unwrap_or_default();
    let started = (0..2400).any(|_| {
        std::thread::sleep(Duration::from_millis(50));
        out.join("started.txt").exists()
    });
    assert!(started, "the plugin started:\n{}", stderr());
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let heard = (0..2400).any(|_| {
        std::thread::sleep(Duration::from_millis(50));
        stderr().contains("SIGTERM: the plugin may finish within 600s")
    });
    assert!(heard, "the host took the signal:\n{}", stderr());
    std::fs::write(input.join("go"), "").unwrap();
    let done = wait_bounded(&mut child);
    assert_eq!(done.status.code(), Some(0), "{}", stderr());
    assert_eq!(
        std::fs::read_to_string(out.join("done.txt")).unwrap(),
        "done"
    );
    let stdout = String::from_utf8_lossy(&done.stdout);
    assert!(stdout.contains("finished after /in/go"), "{stdout}");
    assert!(stdout.contains("done.txt"), "files written: {stdout}");
    let end = run_end(dir.path());
    assert_eq!(end["result"], "ok", "{end}");
    assert_eq!(end["exit_code"], 0, "{end}");
    let runs = history(dir.path());
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(
        (runs[0].result.as_str(), runs[0].exit_code),
        ("ok", Some(0))
    );
}

/// Waits for a child, killing it if it has not ended after two minutes (a hang guard, not a
/// timing assertion: the promise under test is that it ends at all).
fn wait_bounded(child: &mut std::process::Child) -> std::process::Output {
    for _ in 0..1200 {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if child.try_wait().unwrap().is_none() {
        let _ = child.kill();
    }
    let mut out = std::process::Output {
        status: child.wait().unwrap(),
        stdout: Vec::new(),
        stderr: Vec::new(),
    };
    use std::io::Read;
    child
        .stdout
        .take()
        .map(|mut s| s.read_to_end(&mut out.stdout));
    child
        .stderr
        .take()
        .map(|mut s| s.read_to_end(&mut out.stderr));
    out
}

#[test]
fn a_key_command_that_leaves_a_child_behind_does_not_hold_the_host() {
    let dir = tempdir();
    let cfg = config(
        dir.path(),
        &format!(
            "[key]\ncommand = [\"sh\", \"-c\", \"sleep 600 & echo pls_from_command\"]\n{SPEND_REPORT}"
        ),
    );
    let mut child = command_in(
        dir.path(),
        &["run", "spend-report", "--config", cfg.to_str().unwrap()],
        &[],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let out = wait_bounded(&mut child);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_proxy_in_the_environment_never_sees_the_mock_traffic() {
    // A proxy address where nothing listens: a client that used it could not reach the mock.
    let dir = tempdir();
    let cfg = config(dir.path(), SPEND_REPORT);
    let proxy = "http://127.0.0.1:9";
    let run = run_in(
        dir.path(),
        &["run", "spend-report", "--config", cfg.to_str().unwrap()],
        &[
            ("HTTP_PROXY", proxy),
            ("http_proxy", proxy),
            ("ALL_PROXY", proxy),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn without_home_the_audit_has_no_silent_fallback() {
    let dir = tempdir();
    let out = Command::new(crate::common::bin())
        .args(["run", "spend-report", "--out", "out"])
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output()
        .unwrap();
    let outcome = Outcome {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    let error = outcome.assert_clean_failure(3);
    assert!(error.contains("no place for the audit log"), "{error}");
}

#[test]
fn a_trap_inside_a_host_call_says_why() {
    let dir = tempdir();
    let run = run_attacker(dir.path(), "giant-arg", "[limits]\nmemory_mb = 512");
    let error = run.assert_clean_failure(1);
    assert!(
        error.contains("too much data is being copied between the host and the guest"),
        "{error}"
    );
    assert!(!error.contains("wasm backtrace"), "{error}");
}

#[test]
fn a_param_an_undeclaring_plugin_never_reads_is_reported() {
    // `hostile` declares no parameters (built without `params = ...`): the host cannot check
    // names before the run, so it reports the ones the plugin never asked for afterwards.
    let dir = tempdir();
    let cfg = config(
        dir.path(),
        &format!(
            "[plugins.hostile]\npath = {:?}\n",
            plugin("hostile").display().to_string()
        ),
    );
    let run = run_in(
        dir.path(),
        &[
            "run",
            "hostile",
            "--config",
            cfg.to_str().unwrap(),
            "--param",
            "mood=ok",
            "--param",
            "mode=ok",
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("--param mood was never read by hostile"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("--param mode "),
        "`mode` is read: {}",
        run.stderr
    );
}

/// Host memory on top of `memory_mb` that a run may use at its peak (engine, compiled code, the
/// embedded mock, buffers); measured at about 20-40 MiB on Linux x86_64.
const HOST_OVERHEAD_MB: i64 = 64;

#[test]
fn a_memory_bomb_peaks_within_memory_mb_plus_the_host_overhead() {
    for memory_mb in [64i64, 192] {
        let dir = tempdir();
        let cfg = config(
            dir.path(),
            &format!(
                "[plugins.hostile]\npath = \"{}\"\nparams = {{ mode = \"membomb\" }}\nlimits = {{ memory_mb = {memory_mb} }}\n",
                plugin("hostile").display()
            ),
        );
        let run = run_in(
            dir.path(),
            &["run", "hostile", "--config", cfg.to_str().unwrap()],
            &[],
        );
        // (Not `assert_clean_failure`: the guest's own abort message, logged as its stderr,
        // mentions RUST_BACKTRACE.)
        assert_eq!(run.code, 6, "ended by the memory limit: {}", run.stderr);
        // The host's own peak (VmHWM), as its audit reports it: a child's rusage would also
        // count this test process's memory, which the child shares until `exec`.
        let peak = run_end(dir.path())["host_peak_rss_mb"]
            .as_i64()
            .expect("peak memory in the run-end record");
        assert!(
            peak <= memory_mb + HOST_OVERHEAD_MB,
            "peak {peak} MiB with memory_mb = {memory_mb}"
        );
        // The bomb really used its budget: the limit, not something else, stopped it.
        assert!(
            peak >= memory_mb / 2,
            "peak {peak} MiB with memory_mb = {memory_mb}"
        );
    }
}

#[test]
fn host_work_for_a_plugin_counts_against_its_cpu_budget() {
    let dir = tempdir();
    let run = run_attacker(
        dir.path(),
        "host-cpu",
        "[limits]\ncpu_seconds = 0.5\nwall_seconds = 600",
    );
    let error = run.assert_clean_failure(6);
    assert!(error.contains("CPU budget of 500ms used up"), "{error}");
}
