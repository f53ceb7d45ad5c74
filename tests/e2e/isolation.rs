//! Key isolation with a canary key: a plugin that looks everywhere it can (environment,
//! arguments, the file system, the network) never sees the key, and the key appears in no
//! output of the run. Its escape attempts all fail.

use std::net::TcpListener;

use serde_json::Value;

use crate::common::{plugin, read_tree, run_in, tempdir, write_config};

#[test]
fn canary_key_never_reaches_the_plugin_or_any_output() {
    let canary = format!("pls_canary{}_{}", std::process::id(), rand_suffix());
    let dir = tempdir();
    // A listener the plugin is told about: it must not be able to connect to it.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let key_file = dir.path().join("canary.key");
    std::fs::write(&key_file, &canary).unwrap();
    let probes = [
        key_file.display().to_string(),
        dir.path().display().to_string(),
        "/proc/self/environ".into(),
        "/etc/passwd".into(),
    ]
    .join(",");
    let config = write_config(
        dir.path(),
        &format!(
            "environment = \"mock\"\n[key]\nenv = \"PLEO_CANARY_KEY\"\n[plugins.snoop]\npath = \"{}\"\nscopes = [\"users:read\"]\nparams = {{ mock-port = \"{port}\", probe-paths = \"{probes}\" }}\n",
            plugin("snoop").display()
        ),
    );
    let out = dir.path().join("out");
    let run = run_in(
        dir.path(),
        &[
            "-v",
            "run",
            "snoop",
            "--config",
            config.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &[("PLEO_CANARY_KEY", &canary)],
    );
    assert_eq!(
        run.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );

    // The key is in none of the host's output (summary, log, plugin stdout/stderr) ...
    assert!(!run.stdout.contains(&canary), "stdout leaks the key");
    assert!(!run.stderr.contains(&canary), "host log leaks the key");
    // snoop prints its findings on stdout and stderr and logs them in chunks: they reach the
    // host log under its name (the host's own lines never say `stream=`).
    for stream in ["stream=\"stdout\"", "stream=\"stderr\""] {
        assert!(
            run.stderr
                .lines()
                .any(|l| l.contains(stream) && l.contains("\"attempts\"")),
            "snoop's {stream} is not in the host log: {}",
            run.stderr
        );
    }
    // ... nor in anything the plugin wrote.
    let files = read_tree(&out);
    assert!(!files.is_empty(), "snoop wrote its findings");
    for (path, bytes) in &files {
        let text = String::from_utf8_lossy(bytes);
        assert!(!text.contains(&canary), "{} leaks the key", path.display());
    }

    let report: Value =
        serde_json::from_slice(&std::fs::read(out.join("snoop.json")).unwrap()).unwrap();
    let text = report.to_string();
    assert!(
        !text.contains("PLEO_CANARY_KEY"),
        "host environment visible: {text}"
    );
    // It really used the API through the host (so the key was in play during the run).
    // Every escape attempt failed; only its own folder and the API worked.
    let attempts = report["attempts"].as_array().expect("attempts list");
    assert!(attempts.len() >= 10, "{text}");
    for attempt in attempts {
        let name = attempt["attempt"].as_str().unwrap_or_default();
        let allowed = name == "pleo list-employees" || name == "list /out";
        assert_eq!(attempt["ok"], allowed, "{attempt}");
    }
    assert_eq!(
        report["env"],
        serde_json::json!([]),
        "the plugin has no environment"
    );
    assert!(
        listener.accept().is_err(),
        "the plugin reached a loopback socket"
    );
}

fn rand_suffix() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{nanos:08x}")
}

/// A full run with no config file writes its audit, compile cache and output where HOME, the
/// XDG variables and the working folder say, and nowhere else in the folder tree it was given.
/// (Every e2e test runs with HOME inside its own temporary folder through `run_in`.)
#[test]
fn a_run_writes_only_to_its_home_state_cache_and_output() {
    let dir = tempdir();
    // Outside its folder, where a run that ignored HOME/XDG would write: the invoking user's
    // state, cache and config folders of pleo-host stay as they were.
    let user_home = std::path::PathBuf::from(std::env::var_os("HOME").unwrap_or_default());
    let outside = [
        user_home.join(".local/state/pleo-host"),
        user_home.join(".cache/pleo-host"),
        user_home.join(".config/pleo-host"),
    ];
    let before: Vec<_> = outside.iter().map(|p| listing(p)).collect();
    let run = crate::common::run_in(dir.path(), &["run", "spend-report"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for (path, before) in outside.iter().zip(before) {
        assert_eq!(listing(path), before, "{} changed", path.display());
    }
    let home = dir.path().join(".home");
    let audit = home.join(".local/state/pleo-host/audit.jsonl");
    assert!(audit.is_file(), "audit in XDG_STATE_HOME");
    let cache = home.join(".cache/pleo-host/components");
    assert!(
        std::fs::read_dir(&cache).unwrap().any(|e| e
            .unwrap()
            .path()
            .extension()
            .is_some_and(|x| x == "cwasm")),
        "compile cache in XDG_CACHE_HOME"
    );
    for (path, _) in read_tree(dir.path()) {
        let allowed = [
            audit.parent().unwrap(),
            cache.as_path(),
            &dir.path().join("out/spend-report"),
        ];
        assert!(
            allowed.iter().any(|root| path.starts_with(root)),
            "{} written outside the state, cache and output folders",
            path.display()
        );
    }
}

/// Paths, sizes and modification times of everything under `dir` (empty if it is missing).
fn listing(dir: &std::path::Path) -> Vec<(std::path::PathBuf, u64, Option<std::time::SystemTime>)> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                stack.push(entry.path());
            }
            found.push((entry.path(), meta.len(), meta.modified().ok()));
        }
    }
    found.sort();
    found
}

/// `--input` is read-only and nothing more: the plugin sees the folder's files at `/in`, every
/// attempt to create, overwrite, remove or add a folder there fails and leaves the folder as it
/// was, and a file beside the input folder stays out of reach.
#[test]
fn the_input_folder_is_read_only_and_the_only_thing_mounted_besides_out() {
    let dir = tempdir();
    let input = dir.path().join("in");
    std::fs::create_dir_all(input.join("sub")).unwrap();
    std::fs::write(input.join("accounts.csv"), "code,name\n4000,Travel\n").unwrap();
    std::fs::write(input.join("sub/more.csv"), "x\n").unwrap();
    let beside_secret = format!("beside-secret-{}", rand_suffix());
    std::fs::write(dir.path().join("beside.txt"), &beside_secret).unwrap();
    let before = read_tree(&input);
    let config = write_config(
        dir.path(),
        &format!(
            "environment = \"mock\"\n[plugins.snoop]\npath = \"{}\"\nscopes = [\"users:read\"]\nparams = {{ probe-paths = \"/in/..,/in/../beside.txt,../beside.txt\" }}\n",
            plugin("snoop").display()
        ),
    );
    let out = dir.path().join("out");
    let run = run_in(
        dir.path(),
        &[
            "run",
            "snoop",
            "--config",
            config.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: Value =
        serde_json::from_slice(&std::fs::read(out.join("snoop.json")).unwrap()).unwrap();

    let mut preopens: Vec<&str> = report["preopens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    preopens.sort();
    assert_eq!(preopens, ["/in", "/out"], "{report}");
    let seen: Vec<&str> = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(seen.contains(&"/in/accounts.csv"), "{seen:?}");

    let writes: Vec<&Value> = report["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| {
            let what = a["attempt"].as_str().unwrap();
            ["write ", "overwrite ", "remove ", "mkdir "]
                .iter()
                .any(|verb| what.starts_with(verb))
        })
        .collect();
    assert!(
        writes.len() >= 4,
        "every kind of change was tried: {writes:?}"
    );
    for attempt in &writes {
        assert!(
            attempt["attempt"].as_str().unwrap().contains("/in/"),
            "{attempt}"
        );
        assert_eq!(attempt["ok"], false, "{attempt}");
    }
    assert_eq!(read_tree(&input), before, "the input folder changed");
    assert!(
        !report.to_string().contains(&beside_secret),
        "a file beside the input folder was read"
    );
}

/// Key-like text a plugin got hold of is redacted from everything it sends out: its log calls,
/// stdout, stderr, progress lines and summary (the second line of defence the README promises).
#[test]
fn key_text_a_plugin_prints_is_redacted_from_its_log_stdout_stderr_and_summary() {
    use base64::Engine as _;
    let canary = format!("pls_echo{}_{}", std::process::id(), rand_suffix());
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{canary}:"));
    // A run of 8 characters from inside the key is enough to be hidden.
    let slice = &canary[3..13];
    let dir = tempdir();
    let config = write_config(
        dir.path(),
        &format!(
            "environment = \"mock\"\n[key]\nenv = \"PLEO_CANARY_KEY\"\n[plugins.hostile]\npath = \"{}\"\nparams = {{ mode = \"echo\", text = \"<{canary}|{basic}|{slice}>\" }}\n",
            plugin("hostile").display()
        ),
    );
    let run = run_in(
        dir.path(),
        &["run", "hostile", "--config", config.to_str().unwrap()],
        &[("PLEO_CANARY_KEY", &canary)],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Each of the three forms is replaced (the last characters of the base64 form, shorter
    // than a run of 8, may stay).
    let redacted = |l: &str| l.contains("<[REDACTED]|[REDACTED]") && l.contains("|[REDACTED]>");
    for (what, text) in [("stdout", &run.stdout), ("log", &run.stderr)] {
        assert!(!text.contains(slice), "{what} leaks the key: {text}");
        assert!(
            !text.contains(&basic[..12]),
            "{what} leaks the Basic form: {text}"
        );
    }
    for said in ["log says", "stdout says", "stderr says", "progress says"] {
        assert!(
            run.stderr.lines().any(|l| l.contains(said) && redacted(l)),
            "no redacted `{said}` line in the log: {}",
            run.stderr
        );
    }
    assert!(
        run.stdout
            .lines()
            .any(|l| l.contains("summary says") && redacted(l)),
        "{}",
        run.stdout
    );
}
