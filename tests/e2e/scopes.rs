//! A plugin that imports an interface whose scope it may not use is refused before it runs,
//! and the message names the missing scope and who lacks it.

use crate::common::{run_in, tempdir, write_config};

const REJECTED: i32 = 5;

#[test]
fn scope_not_granted_by_the_operator() {
    let dir = tempdir();
    let config = write_config(
        dir.path(),
        "[plugins.spend-report]\nscopes = [\"users:read\"]\n",
    );
    let out = dir.path().join("out");
    let run = run_in(
        dir.path(),
        &[
            "run",
            "spend-report",
            "--config",
            config.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &[],
    );
    let line = run.assert_clean_failure(REJECTED);
    assert!(
        line.contains("scope accounting-entries:read is not granted"),
        "{line}"
    );
    assert!(
        !line.contains("users:read"),
        "granted scope is not reported missing: {line}"
    );
    assert!(
        run.stderr.contains(
            "[plugins.spend-report] scopes = [\"accounting-entries:read\", \"users:read\"]"
        ),
        "hint shows the grant: {}",
        run.stderr
    );
    assert_eq!(
        std::fs::read_dir(&out).map(|d| d.count()).unwrap_or(0),
        0,
        "the plugin never ran"
    );
}

#[test]
fn scope_the_key_does_not_have() {
    let dir = tempdir();
    let config = write_config(
        dir.path(),
        "[mock]\nscopes = [\"users:read\"]\n[plugins.spend-report]\nscopes = [\"users:read\", \"accounting-entries:read\"]\n",
    );
    let run = run_in(
        dir.path(),
        &["run", "spend-report", "--config", config.to_str().unwrap()],
        &[],
    );
    let line = run.assert_clean_failure(REJECTED);
    assert!(
        line.contains("scope accounting-entries:read is not among the API key's scopes"),
        "{line}"
    );
}

#[test]
fn plugin_without_pleo_imports_needs_no_grant() {
    let dir = tempdir();
    let config = write_config(dir.path(), "environment = \"mock\"\n");
    let plugin = crate::common::plugin("hostile");
    let run = run_in(
        dir.path(),
        &[
            "run",
            plugin.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
            "--param",
            "mode=ok",
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
}
