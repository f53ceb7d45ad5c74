//! `pleo-host daemon`, `schedules` and `runs` with the real binary: per-second schedules,
//! overlap, reload, a graceful stop, two daemons on one database, the failure hook.
//!
//! Nothing here asserts how long anything took: each test waits (bounded) until the state
//! database or a file shows what it expects, and the bound only guards against a hang.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use pleo_host::history::{History, RunRecord};

use crate::common::{command_in, plugin, run_in, tempdir, write_config};

/// Longest wait for something the daemon should do; a hang guard only.
const PATIENCE: Duration = Duration::from_secs(120);

/// A `pleo.toml` with the state database in `dir/state` and `hostile` configured.
fn config_text(schedules: &str) -> String {
    format!(
        "state_dir = \"state\"\n[daemon]\ngrace_seconds = 0.5\n\
         [plugins.hostile]\npath = \"{}\"\n\
         [plugins.spend-report]\nscopes = [\"users:read\", \"accounting-entries:read\"]\n\
         {schedules}",
        plugin("hostile").display()
    )
}

/// A running `pleo-host daemon`, killed if the test ends without stopping it.
struct Daemon {
    child: Option<Child>,
    stderr: PathBuf,
}

impl Daemon {
    fn start(dir: &Path, envs: &[(&str, &str)]) -> Daemon {
        Daemon::start_as(dir, "daemon", envs)
    }

    fn start_as(dir: &Path, name: &str, envs: &[(&str, &str)]) -> Daemon {
        let stderr = dir.join(format!("{name}.stderr"));
        let child = command_in(dir, &["daemon", "--config", "pleo.toml"], envs)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        Daemon {
            child: Some(child),
            stderr,
        }
    }

    fn signal(&self, signal: i32) {
        let pid = self.child.as_ref().unwrap().id() as i32;
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(pid, signal) };
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// SIGTERM, then the exit code (bounded wait).
    fn stop(mut self) -> (i32, String) {
        self.signal(libc::SIGTERM);
        let mut child = self.child.take().unwrap();
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return (status.code().unwrap_or(-1), self.stderr());
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("the daemon did not stop:\n{}", self.stderr());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Waits until `check` holds, polling; panics with `what` and the daemon's log after
/// [`PATIENCE`].
fn wait_for<T>(daemon: &Daemon, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(value) = check() {
            return value;
        }
        if Instant::now() > deadline {
            panic!(
                "gave up waiting for {what}; daemon log:\n{}",
                daemon.stderr()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn runs(dir: &Path) -> Vec<RunRecord> {
    let path = dir.join("state/pleo-host.db");
    if !path.exists() {
        return Vec::new();
    }
    History::open(&path).unwrap().list(None, 10_000).unwrap()
}

fn runs_with(dir: &Path, result: &str) -> Vec<RunRecord> {
    runs(dir)
        .into_iter()
        .filter(|r| r.result == result)
        .collect()
}

fn audit(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("state/audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn a_per_second_schedule_runs_with_its_nominal_time_and_folders() {
    let dir = tempdir();
    write_config(
        dir.path(),
        &config_text(
            "[[schedules]]\nname = \"each-second\"\nplugin = \"spend-report\"\n\
             cron = \"* * * * * *\"\ntimezone = \"Europe/Copenhagen\"\n\
             params = { period = \"month-to-date\" }\nkeep = 2\n",
        ),
    );
    let daemon = Daemon::start(dir.path(), &[]);
    let ok = wait_for(&daemon, "three successful runs", || {
        let ok = runs_with(dir.path(), "ok");
        (ok.len() >= 3).then_some(ok)
    });
    let (code, log) = daemon.stop();
    assert_eq!(code, 0, "a clean stop exits 0:\n{log}");

    let schedule_dir = dir.path().join("out/spend-report/each-second");
    for run in &ok {
        let nominal = run.nominal_time.as_deref().unwrap();
        assert!(
            nominal.ends_with("+01:00"),
            "local time of the schedule: {nominal}"
        );
        assert_eq!(run.schedule.as_deref(), Some("each-second"));
        assert_eq!(run.exit_code, Some(0));
        assert!(run.sha256.as_ref().is_some_and(|h| h.len() == 64));
    }
    // Each run's own folder, named after its nominal time; older ones pruned to `keep`.
    let newest = ok.iter().max_by_key(|r| r.nominal_unix).unwrap();
    let latest = std::fs::read_link(schedule_dir.join("latest")).unwrap();
    let newest_dir = PathBuf::from(newest.output_dir.as_deref().unwrap());
    assert_eq!(Some(latest.as_os_str()), newest_dir.file_name());
    // The plugin got `scheduled_for`: the page it wrote names the run's nominal time.
    let page = std::fs::read_to_string(schedule_dir.join("latest/report.html")).unwrap();
    assert!(
        page.contains(&format!(
            "scheduled for {}",
            newest.nominal_time.as_deref().unwrap()
        )),
        "report.html of the latest run names its nominal time"
    );
    let folders = std::fs::read_dir(&schedule_dir)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_type().unwrap().is_dir())
        .count();
    assert!(
        folders <= 2 + 1,
        "keep = 2 (plus a run that ended while stopping): {folders}"
    );
    // Every nominal time ran once.
    let mut seen = BTreeMap::new();
    for run in runs(dir.path()) {
        *seen.entry(run.nominal_unix).or_insert(0) += 1;
    }
    assert!(seen.values().all(|n| *n == 1), "{seen:?}");
    // `runs` shows them.
    let listed = run_in(
        dir.path(),
        &[
            "runs",
            "--config",
            "pleo.toml",
            "--schedule",
            "each-second",
            "--json",
        ],
        &[],
    );
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let listed: Vec<serde_json::Value> = serde_json::from_str(&listed.stdout).unwrap();
    assert!(listed.len() >= 3);
    let shown = run_in(
        dir.path(),
        &["runs", "show", &newest.id[..8], "--config", "pleo.toml"],
        &[],
    );
    assert!(shown.stdout.contains(&newest.id), "{}", shown.stdout);
}

/// A plugin that takes longer than the schedule's period: with `overlap = "skip"` runs never
/// overlap, and the fire times that came during a run are recorded as skipped.
#[test]
fn overlap_skip_never_runs_two_at_once() {
    let dir = tempdir();
    write_config(
        dir.path(),
        &config_text(
            "[[schedules]]\nname = \"slow\"\nplugin = \"hostile\"\ncron = \"* * * * * *\"\n\
             params = { mode = \"sleep\" }\nlimits = { wall_seconds = 2.5 }\n",
        ),
    );
    let daemon = Daemon::start(dir.path(), &[]);
    wait_for(&daemon, "two slow runs and a skipped fire time", || {
        let all = runs(dir.path());
        let ended = all.iter().filter(|r| r.result == "failed").count();
        let skipped = all.iter().filter(|r| r.result == "skipped").count();
        (ended >= 2 && skipped >= 1).then_some(())
    });
    let (code, log) = daemon.stop();
    assert_eq!(code, 0, "{log}");
    let mut ran: Vec<RunRecord> = runs(dir.path())
        .into_iter()
        .filter(|r| r.result != "skipped")
        .collect();
    ran.sort_by(|a, b| a.started_at.cmp(&b.started_at));
    for pair in ran.windows(2) {
        let ended = pair[0]
            .ended_at
            .as_deref()
            .expect("an earlier run has ended");
        assert!(
            ended <= pair[1].started_at.as_str(),
            "runs overlap: {:?} and {:?}",
            pair[0],
            pair[1]
        );
    }
    // The slow runs ended on their wall-clock limit (exit 6), each for its own nominal time.
    assert!(ran.iter().any(|r| r.exit_code == Some(6)), "{ran:?}");
}

/// SIGHUP with a broken pleo.toml keeps the schedules running; with a good one, the new
/// schedules run.
#[test]
fn sighup_with_a_broken_config_keeps_the_old_one() {
    let dir = tempdir();
    let schedule = |name: &str| {
        format!(
            "[[schedules]]\nname = \"{name}\"\nplugin = \"hostile\"\ncron = \"* * * * * *\"\n\
             params = {{ mode = \"ok\" }}\n"
        )
    };
    write_config(dir.path(), &config_text(&schedule("first")));
    let daemon = Daemon::start(dir.path(), &[]);
    let count = |name: &str| {
        runs_with(dir.path(), "ok")
            .iter()
            .filter(|r| r.schedule.as_deref() == Some(name))
            .count()
    };
    wait_for(&daemon, "a run of `first`", || {
        (count("first") >= 1).then_some(())
    });

    write_config(
        dir.path(),
        "[[schedules]]\nname = \"first\"\ncron = \"not a cron line\"\n",
    );
    daemon.signal(libc::SIGHUP);
    wait_for(&daemon, "the refused reload in the log", || {
        daemon.stderr().contains("reload refused").then_some(())
    });
    let before = count("first");
    wait_for(
        &daemon,
        "more runs of `first` after the refused reload",
        || (count("first") >= before + 2).then_some(()),
    );

    write_config(dir.path(), &config_text(&schedule("second")));
    daemon.signal(libc::SIGHUP);
    wait_for(&daemon, "a run of `second` after the good reload", || {
        (count("second") >= 1).then_some(())
    });
    let (code, log) = daemon.stop();
    assert_eq!(code, 0, "{log}");
    assert!(
        log.contains("pleo.toml:3:"),
        "the refusal names file and line:\n{log}"
    );
}

/// SIGTERM while a plugin runs: the plugin gets `grace_seconds`, then is interrupted; the
/// audit and the history record `cancelled`; the daemon exits 0.
#[test]
fn sigterm_mid_run_records_cancelled_and_exits_0() {
    let dir = tempdir();
    write_config(
        dir.path(),
        &config_text(
            "[[schedules]]\nname = \"sleepy\"\nplugin = \"hostile\"\ncron = \"* * * * * *\"\n\
             params = { mode = \"sleep\" }\n",
        ),
    );
    let daemon = Daemon::start(dir.path(), &[]);
    let running = wait_for(&daemon, "a running run", || {
        runs_with(dir.path(), "running").into_iter().next()
    });
    let (code, log) = daemon.stop();
    assert_eq!(code, 0, "{log}");
    let after = runs(dir.path());
    let run = after.iter().find(|r| r.id == running.id).unwrap();
    assert_eq!(run.result, "cancelled", "{run:?}");
    assert_eq!(run.exit_code, Some(143), "{run:?}");
    assert_eq!(after.iter().filter(|r| r.result == "running").count(), 0);
    let end = audit(dir.path())
        .into_iter()
        .find(|r| r["record"] == "run-end" && r["run_id"] == running.id.as_str())
        .expect("a run-end record for the run");
    assert_eq!(end["result"], "cancelled", "{end}");
    assert!(log.contains("stopping: no new runs"), "{log}");
}

/// Two daemons on one state database: every nominal time runs once.
#[test]
fn two_daemons_on_one_database_run_each_fire_time_once() {
    let dir = tempdir();
    write_config(
        dir.path(),
        &config_text(
            "[[schedules]]\nname = \"shared\"\nplugin = \"hostile\"\ncron = \"* * * * * *\"\n\
             params = { mode = \"ok\" }\noverlap = \"queue\"\n",
        ),
    );
    let a = Daemon::start_as(dir.path(), "a", &[]);
    let b = Daemon::start_as(dir.path(), "b", &[]);
    wait_for(&a, "six runs between the two daemons", || {
        (runs_with(dir.path(), "ok").len() >= 6).then_some(())
    });
    let (code_a, log_a) = a.stop();
    let (code_b, log_b) = b.stop();
    assert_eq!((code_a, code_b), (0, 0), "{log_a}\n{log_b}");
    let mut by_nominal: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for run in runs(dir.path())
        .into_iter()
        .filter(|r| r.result != "skipped")
    {
        by_nominal
            .entry(run.nominal_unix.unwrap())
            .or_default()
            .push(run.id);
    }
    assert!(by_nominal.len() >= 6);
    for (nominal, ids) in &by_nominal {
        assert_eq!(
            ids.len(),
            1,
            "nominal time {nominal} ran {} times",
            ids.len()
        );
    }
}

/// `on_failure` runs with the run's facts in its environment, never the key (which the
/// daemon read from its own environment).
#[test]
fn on_failure_gets_the_runs_facts_and_never_the_key() {
    const KEY: &str = "canary-key-7f3a9c1e5b2d4680";
    let dir = tempdir();
    let text = config_text(
        "[[schedules]]\nname = \"breaks\"\nplugin = \"hostile\"\ncron = \"* * * * * *\"\n\
         params = { mode = \"panic\" }\n\
         on_failure = [\"sh\", \"-c\", \"env > hook-$PLEO_RUN_ID.env\"]\n",
    );
    write_config(
        dir.path(),
        &format!("{text}[key]\nenv = \"PLEO_TEST_KEY\"\n"),
    );
    let daemon = Daemon::start(dir.path(), &[("PLEO_TEST_KEY", KEY)]);
    let hook = wait_for(&daemon, "the failure hook's file", || {
        std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == "env"))
    });
    // The hook may still be writing: wait until its file holds the last variable we look for.
    let env = wait_for(&daemon, "a complete hook environment", || {
        let env = std::fs::read_to_string(&hook).unwrap();
        env.contains("PLEO_OUTPUT_DIR=").then_some(env)
    });
    let (code, log) = daemon.stop();
    assert_eq!(code, 0, "{log}");
    let vars: BTreeMap<&str, &str> = env.lines().filter_map(|l| l.split_once('=')).collect();
    assert_eq!(vars["PLEO_SCHEDULE"], "breaks");
    assert_eq!(vars["PLEO_PLUGIN"], "hostile");
    assert_eq!(vars["PLEO_RESULT"], "failed");
    assert_eq!(vars["PLEO_EXIT_CODE"], "1");
    assert!(vars["PLEO_ERROR"].contains("plugin hostile"), "{env}");
    let run_id = vars["PLEO_RUN_ID"];
    assert!(hook.ends_with(format!("hook-{run_id}.env")));
    let run = runs(dir.path())
        .into_iter()
        .find(|r| r.id == run_id)
        .unwrap();
    assert_eq!(
        run.nominal_time.as_deref(),
        Some(vars["PLEO_SCHEDULED_FOR"])
    );
    assert!(
        !env.contains(KEY) && !env.contains("PLEO_TEST_KEY"),
        "{env}"
    );
    assert!(!log.contains(KEY));
}

#[test]
fn schedules_prints_fire_times_and_bad_schedules_name_file_line_and_key() {
    let dir = tempdir();
    write_config(
        dir.path(),
        &config_text(
            "[[schedules]]\nname = \"monthly\"\nplugin = \"spend-report\"\n\
             cron = \"30 0 1 * *\"\ntimezone = \"Europe/Copenhagen\"\n",
        ),
    );
    let out = run_in(
        dir.path(),
        &["schedules", "--config", "pleo.toml", "-n", "3"],
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .starts_with("monthly: spend-report `30 0 1 * *` in Europe/Copenhagen")
    );
    let fires: Vec<&str> = out.stdout.lines().skip(1).collect();
    assert_eq!(fires.len(), 3, "{}", out.stdout);
    assert!(
        fires.iter().all(|l| l.contains("-01T00:30:00+0")),
        "{}",
        out.stdout
    );

    for (bad, key) in [
        ("cron = \"61 * * * *\"", "schedules[0].cron"),
        ("cron = \"* * * *\"", "schedules[0].cron"),
        (
            "cron = \"* * * * *\"\ntimezone = \"Mars/Olympus\"",
            "schedules[0].timezone",
        ),
        ("cron = \"* * * * *\"\novelap = \"skip\"", "ovelap"),
        ("cron = \"* * * * *\"\nkeep = 0", "keep"),
        (
            "cron = \"* * * * *\"\ncatch_up = \"some\"",
            "schedules[0].catch_up",
        ),
    ] {
        write_config(
            dir.path(),
            &format!(
                "environment = \"mock\"\n[[schedules]]\nname = \"x\"\nplugin = \"spend-report\"\n{bad}\n"
            ),
        );
        for command in ["schedules", "daemon"] {
            let out = run_in(dir.path(), &[command, "--config", "pleo.toml"], &[]);
            let line = out.assert_clean_failure(3);
            assert!(line.contains("pleo.toml:"), "{command} {bad}: {line}");
            assert!(line.contains(key), "{command} {bad}: {line}");
        }
    }
    write_config(dir.path(), "environment = \"mock\"\n");
    let out = run_in(dir.path(), &["daemon", "--config", "pleo.toml"], &[]);
    assert!(out.assert_clean_failure(3).contains("no [[schedules]]"));
}

/// SIGHUP reads the key file again: after a rotation (the mock now accepting only the new
/// key) the next runs use the new key; a key Pleo refuses is logged and the old one kept.
#[test]
fn sighup_reads_a_rotated_key() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempdir();
    let key_file = dir.path().join("pleo.key");
    let write_key = |key: &str| {
        std::fs::write(&key_file, key).unwrap();
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    };
    let config = |accept: &str| {
        config_text(&format!(
            "[[schedules]]\nname = \"spend\"\nplugin = \"spend-report\"\ncron = \"* * * * * *\"\n\
             params = {{ period = \"month-to-date\" }}\n\
             [key]\nfile = \"pleo.key\"\n[mock]\naccept_key = \"{accept}\"\n"
        ))
    };
    write_key("rotation-key-one-0001");
    write_config(dir.path(), &config("rotation-key-one-0001"));
    let daemon = Daemon::start(dir.path(), &[]);
    let ok_count = || runs_with(dir.path(), "ok").len();
    wait_for(&daemon, "a run with the first key", || {
        (ok_count() >= 1).then_some(())
    });

    // Rotated: the key file and the (mock) Pleo both move to the second key.
    write_key("rotation-key-two-0002");
    write_config(dir.path(), &config("rotation-key-two-0002"));
    daemon.signal(libc::SIGHUP);
    wait_for(&daemon, "the reload", || {
        daemon
            .stderr()
            .contains("configuration and key reloaded")
            .then_some(())
    });
    let before = ok_count();
    wait_for(&daemon, "runs with the second key", || {
        (ok_count() >= before + 2).then_some(())
    });

    // A key the (mock) Pleo refuses: the reload is refused, the second key keeps working.
    write_key("rotation-key-bad-0003");
    daemon.signal(libc::SIGHUP);
    wait_for(&daemon, "the refused reload", || {
        daemon
            .stderr()
            .contains("keeping the previous configuration and key")
            .then_some(())
    });
    let before = ok_count();
    wait_for(&daemon, "runs with the second key still", || {
        (ok_count() >= before + 2).then_some(())
    });
    let (code, log) = daemon.stop();
    assert_eq!(code, 0, "{log}");
    assert!(log.contains("refused the API key (401)"), "{log}");
    assert_eq!(runs_with(dir.path(), "failed").len(), 0, "{log}");
    for key in ["rotation-key-one", "rotation-key-two", "rotation-key-bad"] {
        assert!(!log.contains(key), "a key in the log:\n{log}");
    }
}

/// After downtime, `catch_up = "all"` runs the latest `catch_up_limit` missed fire times,
/// oldest first, each with its own nominal time; the older ones are only counted.
#[test]
fn catch_up_runs_the_missed_fire_times_after_downtime() {
    let dir = tempdir();
    write_config(
        dir.path(),
        &config_text(
            "[[schedules]]\nname = \"minutely\"\nplugin = \"hostile\"\ncron = \"* * * * *\"\n\
             params = { mode = \"ok\" }\ncatch_up = \"all\"\ncatch_up_limit = 3\n",
        ),
    );
    // The last fire time a daemon took on was 10 minutes ago: as if it had been down since.
    let now = chrono::Utc::now().timestamp();
    let last = now - now % 60 - 600;
    let history = History::open(&dir.path().join("state/pleo-host.db")).unwrap();
    assert_eq!(
        history
            .claim("minutely", last, "then", "an earlier daemon", 30, true)
            .unwrap(),
        pleo_host::history::Claim::Claimed
    );
    history
        .finish("minutely", last, "an earlier daemon", "run-0")
        .unwrap();
    let daemon = Daemon::start(dir.path(), &[]);
    let caught_up = wait_for(&daemon, "three catch-up runs", || {
        let ok = runs_with(dir.path(), "ok");
        (ok.len() >= 3).then_some(ok)
    });
    let (code, log) = daemon.stop();
    assert_eq!(code, 0, "{log}");
    let mut nominal: Vec<i64> = caught_up.iter().map(|r| r.nominal_unix.unwrap()).collect();
    nominal.sort();
    assert!(
        nominal.windows(2).all(|w| w[1] - w[0] == 60),
        "consecutive minutes: {nominal:?}"
    );
    assert!(
        nominal
            .iter()
            .all(|n| n % 60 == 0 && *n > last && *n <= now + 60)
    );
    assert!(
        log.contains("fire times missed while no daemon ran"),
        "{log}"
    );
    assert_eq!(
        runs_with(dir.path(), "skipped").len(),
        0,
        "catch-up fire times queue whatever `overlap` says"
    );
    // Oldest first: each ran after the one before it.
    let mut by_start = caught_up.clone();
    by_start.sort_by(|a, b| a.started_at.cmp(&b.started_at));
    let order: Vec<i64> = by_start.iter().map(|r| r.nominal_unix.unwrap()).collect();
    assert_eq!(order, nominal);
}

/// A mock Pleo in the test process (`base_url`), recording every exchange, so a test can
/// switch the key it accepts and count what the daemon's client sent.
struct Pleo {
    server: pleo_host::mock::MockServer,
    _rt: tokio::runtime::Runtime,
}

impl Pleo {
    fn start(key: &str, faults: pleo_host::mock::FaultConfig) -> Pleo {
        let rt = crate::common::tokio();
        let config = pleo_host::mock::MockConfig {
            api_key: key.to_owned(),
            record: true,
            faults,
            ..pleo_host::mock::MockConfig::default()
        };
        let bind = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        let server = rt
            .block_on(pleo_host::mock::MockServer::start(bind, config))
            .unwrap();
        Pleo { server, _rt: rt }
    }

    /// (path, status) of every exchange so far, oldest first.
    fn exchanges(&self) -> Vec<(String, u16)> {
        self.server
            .exchanges()
            .into_iter()
            .map(|e| (e.path, e.status))
            .collect()
    }
}

/// Writes a 0600 key file.
fn write_key(file: &Path, key: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(file, key).unwrap();
    std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// A spend-report schedule on `cron` against `pleo`, with the key in `pleo.key`; `daemon`:
/// more lines of `[daemon]`.
fn spend_config(pleo: &Pleo, cron: &str, daemon: &str) -> String {
    format!(
        "state_dir = \"state\"\nenvironment = \"mock\"\nbase_url = \"{}\"\n\
         [key]\nfile = \"pleo.key\"\n\
         [client]\nbackoff_seconds = 0.01\nmax_backoff_seconds = 0.05\nmax_attempts = 8\n\
         [daemon]\ngrace_seconds = 0.5\n{daemon}\
         [plugins.spend-report]\nscopes = [\"users:read\", \"accounting-entries:read\"]\n\
         [[schedules]]\nname = \"spend\"\nplugin = \"spend-report\"\ncron = \"{cron}\"\n\
         params = {{ period = \"month-to-date\" }}\n",
        pleo.server.base_url()
    )
}

/// A run whose key Pleo stops accepting (rotated) reads the key file again, once, and runs
/// again with the new key; when the key read again is refused too, the run stays failed and
/// its history row says the key was refused, for which environment and what to do.
#[test]
fn a_401_reads_the_key_again_once() {
    // The refusal of the key read again: which environment, and (checked below) what to do.
    const REFUSED: &str = "Pleo mock refused the API key (401)";
    let pleo = Pleo::start("reread-key-one-0001", Default::default());
    let dir = tempdir();
    let key_file = dir.path().join("pleo.key");
    write_key(&key_file, "reread-key-one-0001");
    write_config(dir.path(), &spend_config(&pleo, "* * * * * *", ""));
    let daemon = Daemon::start(dir.path(), &[]);
    wait_for(&daemon, "a run with the first key", || {
        (!runs_with(dir.path(), "ok").is_empty()).then_some(())
    });

    // Rotated in Pleo and in the key file, without SIGHUP.
    write_key(&key_file, "reread-key-two-0002");
    let switched = pleo.exchanges().len();
    pleo.server.accept_key("reread-key-two-0002");
    let retried = wait_for(&daemon, "a run refused and run again", || {
        let all = runs(dir.path());
        all.iter()
            .find(|r| r.result == "failed")
            .and_then(|failed| {
                let again: Vec<&RunRecord> = all
                    .iter()
                    .filter(|r| r.nominal_time == failed.nominal_time && r.id != failed.id)
                    .collect();
                (again.len() == 1 && again[0].result == "ok")
                    .then(|| (failed.clone(), again[0].clone()))
            })
    });
    let (failed, again) = retried;
    assert_eq!(failed.exit_code, Some(7), "{failed:?}");
    assert!(again.api_calls > 0, "{again:?}");

    // A key Pleo refuses: read again, refused again, the run fails.
    write_key(&key_file, "reread-key-bad-0003");
    let second_switch = pleo.exchanges().len();
    pleo.server.accept_key("reread-key-four-0004");
    let refused = wait_for(&daemon, "a run whose key read again is refused", || {
        runs(dir.path()).into_iter().find(|r| {
            r.result == "failed" && r.message.as_deref().is_some_and(|m| m.contains(REFUSED))
        })
    });
    let (code, log) = daemon.stop();
    assert_eq!(code, 0, "{log}");
    let exchanges = pleo.exchanges();

    // Exactly one run of the rotation's nominal time was refused and exactly one ran again.
    let all = runs(dir.path());
    let of_nominal: Vec<&RunRecord> = all
        .iter()
        .filter(|r| r.nominal_time == failed.nominal_time)
        .collect();
    assert_eq!(of_nominal.len(), 2, "{of_nominal:?}");
    // On the wire: after the rotation, 401s (the old key), then one introspection of the key
    // read again (accepted), then only accepted requests until the second switch.
    // (Answers to requests that were in flight at the switch may come first, accepted.)
    let rotation = &exchanges[switched..second_switch];
    let refused_from = rotation
        .iter()
        .position(|(_, status)| *status == 401)
        .expect("the old key is refused");
    let reread = rotation
        .iter()
        .position(|(path, status)| path == "/v1/introspect" && *status == 200)
        .expect("the key read again is checked with Pleo");
    assert!(
        rotation[..refused_from].iter().all(|(_, s)| *s == 200),
        "{rotation:?}"
    );
    assert!(
        rotation[refused_from..reread]
            .iter()
            .all(|(_, s)| *s == 401),
        "{rotation:?}"
    );
    assert!(
        rotation[reread + 1..].iter().all(|(_, s)| *s == 200),
        "{rotation:?}"
    );
    assert_eq!(
        rotation
            .iter()
            .filter(|(p, _)| p == "/v1/introspect")
            .count(),
        1,
        "one re-read: {rotation:?}"
    );

    let message = refused.message.clone().unwrap();
    assert!(message.contains(REFUSED), "{message}");
    assert!(message.contains("rotate the key"), "what to do: {message}");
    assert_eq!(refused.exit_code, Some(7), "{refused:?}");
    // Each refused run read the key once: one refused introspection per refused run.
    let refused_runs = all
        .iter()
        .filter(|r| r.message.as_deref().is_some_and(|m| m.contains(REFUSED)))
        .count();
    let refused_checks = exchanges[second_switch..]
        .iter()
        .filter(|(p, s)| p == "/v1/introspect" && *s == 401)
        .count();
    assert_eq!(refused_checks, refused_runs, "{log}");
    assert!(
        log.contains("the key read again does not work either"),
        "{log}"
    );
    for key in [
        "reread-key-one",
        "reread-key-two",
        "reread-key-bad",
        "reread-key-four",
    ] {
        assert!(!log.contains(key), "a key in the log:\n{log}");
        assert!(
            all.iter()
                .all(|r| !r.message.as_deref().unwrap_or("").contains(key)),
            "a key in the history"
        );
    }
}

/// A GET of `path` on the daemon's metrics server: the body.
fn http_get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_owned()
}

/// The value of one sample line of Prometheus text (`name{labels} value`), 0 if absent.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |v| v.parse().unwrap())
}

/// `/metrics` of a real daemon has every metric the README lists, and counts Pleo's answers by
/// status as the client got them: exactly the 503s and 200s the mock sent to the runs.
#[test]
fn metrics_count_runs_and_pleo_requests_by_status() {
    let faults = pleo_host::mock::FaultConfig {
        seed: 11,
        global: pleo_host::mock::FaultRates {
            unavailable: 0.2,
            ..Default::default()
        },
        ..Default::default()
    };
    let pleo = Pleo::start("metrics-key-0001", faults);
    let dir = tempdir();
    write_key(&dir.path().join("pleo.key"), "metrics-key-0001");
    let listen = "listen = \"127.0.0.1:0\"\n";
    write_config(dir.path(), &spend_config(&pleo, "* * * * * *", listen));
    let daemon = Daemon::start(dir.path(), &[]);
    let addr = wait_for(&daemon, "the metrics server", || {
        let log = daemon.stderr();
        let rest = log.split("/metrics on http://").nth(1)?;
        Some(rest.split_whitespace().next()?.to_owned())
    });
    wait_for(&daemon, "runs that met 503s", || {
        let done = runs(dir.path())
            .iter()
            .filter(|r| r.result == "ok" || r.result == "failed")
            .count();
        (done >= 2 && pleo.server.fault_counts().unavailable >= 1).then_some(())
    });
    // No more fire times (a yearly schedule), so the figures settle.
    write_config(dir.path(), &spend_config(&pleo, "0 0 1 1 *", listen));
    daemon.signal(libc::SIGHUP);
    let text = wait_for(&daemon, "settled metrics", || {
        let health: serde_json::Value = serde_json::from_str(&http_get(&addr, "/healthz")).unwrap();
        let first = http_get(&addr, "/metrics");
        std::thread::sleep(Duration::from_millis(500));
        let quiet = health["running"] == 0
            && runs_with(dir.path(), "running").is_empty()
            && daemon.stderr().contains("configuration and key reloaded");
        (quiet && http_get(&addr, "/metrics") == first).then_some(first)
    });
    let exchanges = pleo.exchanges();
    let (code, log) = daemon.stop();
    assert_eq!(code, 0, "{log}");

    // What the runs sent (the key checks at start and reload are no run's).
    let sent = |status: u16| {
        exchanges
            .iter()
            .filter(|(p, s)| p != "/v1/introspect" && *s == status)
            .count() as f64
    };
    let by_status = |status: &str| {
        sample(
            &text,
            &format!("pleo_host_pleo_requests_total{{schedule=\"spend\",status=\"{status}\"}}"),
        )
    };
    assert!(sent(503) >= 1.0, "{exchanges:?}");
    assert_eq!(by_status("503"), sent(503), "{text}");
    assert_eq!(by_status("200"), sent(200), "{text}");
    let all = runs(dir.path());
    let ok = all.iter().filter(|r| r.result == "ok").count() as f64;
    assert_eq!(
        sample(
            &text,
            "pleo_host_runs_total{schedule=\"spend\",result=\"ok\"}"
        ),
        ok,
        "{text}"
    );
    let calls: u64 = all.iter().map(|r| r.api_calls).sum();
    let retries: u64 = all.iter().map(|r| r.retries).sum();
    assert_eq!(
        sample(&text, "pleo_host_pleo_api_calls_total{schedule=\"spend\"}"),
        calls as f64
    );
    assert_eq!(
        sample(
            &text,
            "pleo_host_pleo_api_retries_total{schedule=\"spend\"}"
        ),
        retries as f64
    );
    let finished = all.iter().filter(|r| r.result != "skipped").count() as f64;
    assert_eq!(
        sample(
            &text,
            "pleo_host_run_duration_seconds_count{schedule=\"spend\"}"
        ),
        finished,
        "{text}"
    );
    assert!(
        text.contains("pleo_host_rate_limit_wait_seconds_total{schedule=\"spend\"} "),
        "{text}"
    );
    use chrono::Datelike;
    let next = sample(
        &text,
        "pleo_host_next_fire_timestamp_seconds{schedule=\"spend\"}",
    );
    let new_year = chrono::NaiveDate::from_ymd_opt(chrono::Utc::now().year() + 1, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp() as f64;
    assert_eq!(next, new_year, "the reloaded schedule's next fire time");
    assert_eq!(
        sample(&text, "pleo_host_config_reloads_total{result=\"ok\"}"),
        1.0
    );
}
