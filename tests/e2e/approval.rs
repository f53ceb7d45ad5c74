//! Approval and pinning: a plugin runs only as approved in pleo.lock (hash and scopes), and a
//! changed plugin is refused with the difference.

use crate::common::{plugin, run_in, tempdir, write_config};

#[test]
fn unapproved_then_approved_then_changed_then_reapproved() {
    let dir = tempdir();
    let wasm = dir.path().join("job.wasm");
    std::fs::copy(plugin("hostile"), &wasm).unwrap();
    let config = write_config(
        dir.path(),
        "require_approval = true\n[plugins.job]\npath = \"job.wasm\"\nscopes = [\"users:read\"]\n",
    );
    let config = config.to_str().unwrap();
    let run = || run_in(dir.path(), &["run", "job", "--config", config], &[]);

    let refused = run();
    let line = refused.assert_clean_failure(5);
    assert!(line.contains("plugin job is not approved"), "{line}");
    assert!(
        refused.stderr.contains("has never been approved"),
        "{}",
        refused.stderr
    );

    let approve = run_in(
        dir.path(),
        &["plugin", "approve", "job", "--config", config],
        &[],
    );
    assert_eq!(approve.code, 0, "{}", approve.stderr);
    let lock = std::fs::read_to_string(dir.path().join("pleo.lock")).unwrap();
    assert!(
        lock.contains("[plugins.job]") && lock.contains("scopes = []"),
        "{lock}"
    );
    assert_eq!(run().code, 0, "approved plugin runs");

    // Same name, other bytes that need more: refused with the difference.
    let old_hash = lock
        .lines()
        .find(|l| l.starts_with("sha256"))
        .unwrap()
        .to_owned();
    std::fs::copy(plugin("snoop"), &wasm).unwrap();
    let changed = run();
    let line = changed.assert_clean_failure(5);
    assert!(
        line.contains("plugin job changed since it was approved"),
        "{line}"
    );
    let old = old_hash.split('"').nth(1).unwrap();
    assert!(
        changed
            .stderr
            .contains(&format!("  - sha256 changed: approved {old}, now ")),
        "{}",
        changed.stderr
    );
    assert!(
        changed
            .stderr
            .contains("  - scope added since approval: users:read"),
        "{}",
        changed.stderr
    );

    let reapprove = run_in(
        dir.path(),
        &["plugin", "approve", "job", "--config", config],
        &[],
    );
    assert_eq!(reapprove.code, 0, "{}", reapprove.stderr);
    assert!(
        reapprove.stdout.contains(&format!("replaces sha256 {old}")),
        "{}",
        reapprove.stdout
    );
    assert_eq!(run().code, 0, "re-approved plugin runs");
}

#[test]
fn mock_skips_approval_by_default_but_real_environments_never_do() {
    let dir = tempdir();
    let config = write_config(
        dir.path(),
        "[plugins.spend-report]\nscopes = [\"users:read\", \"accounting-entries:read\"]\n",
    );
    let run = run_in(
        dir.path(),
        &["run", "spend-report", "--config", config.to_str().unwrap()],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);

    let config = write_config(
        dir.path(),
        "environment = \"production\"\nrequire_approval = false\n",
    );
    let run = run_in(
        dir.path(),
        &["run", "spend-report", "--config", config.to_str().unwrap()],
        &[],
    );
    let line = run.assert_clean_failure(3);
    assert!(
        line.contains("require_approval cannot be turned off for production"),
        "{line}"
    );
}

#[test]
fn inspect_reports_needs_grants_and_approval() {
    let dir = tempdir();
    let config = write_config(
        dir.path(),
        "require_approval = true\n[plugins.spend-report]\nscopes = [\"users:read\"]\n",
    );
    let run = run_in(
        dir.path(),
        &[
            "plugin",
            "inspect",
            "spend-report",
            "--json",
            "--config",
            config.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["metadata"]["name"], "spend-report");
    assert_eq!(report["wit"], "pleo:plugin@0.1.0");
    assert_eq!(report["sha256"].as_str().unwrap().len(), 64);
    let scopes = report["scopes"].as_array().unwrap();
    let find = |s: &str| scopes.iter().find(|x| x["scope"] == s).unwrap().clone();
    assert_eq!(find("users:read")["granted"], true);
    assert_eq!(find("accounting-entries:read")["granted"], false);
    assert_eq!(find("accounting-entries:read")["on_key"], true);
    assert_eq!(
        report["host_services"],
        serde_json::json!(["log", "progress", "params"])
    );
    assert!(report["wasi"].as_array().unwrap().iter().any(|w| {
        w["interface"]
            .as_str()
            .unwrap()
            .starts_with("wasi:filesystem/")
    }));
    assert!(!report["wasi"].as_array().unwrap().iter().any(|w| {
        w["interface"]
            .as_str()
            .unwrap()
            .starts_with("wasi:sockets/")
    }));
    assert_eq!(report["approval"]["status"], "not approved");

    // Offline: no key check, everything else the same.
    let offline = run_in(
        dir.path(),
        &[
            "plugin",
            "inspect",
            "snoop.wasm",
            "--offline",
            "--config",
            config.to_str().unwrap(),
        ],
        &[],
    );
    offline.assert_clean_failure(2);
    let offline = run_in(
        dir.path(),
        &[
            "plugin",
            "inspect",
            plugin("snoop").to_str().unwrap(),
            "--offline",
            "--config",
            config.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(offline.code, 0, "{}", offline.stderr);
    assert!(
        offline.stdout.contains("users:read") && offline.stdout.contains("on key: not checked"),
        "{}",
        offline.stdout
    );
    assert!(
        offline.stdout.contains("wasi:sockets/"),
        "snoop imports sockets: {}",
        offline.stdout
    );
}
