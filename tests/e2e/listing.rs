//! `pleo-host plugin list` and `run --json` (README, "Command line").

use serde_json::Value;

use crate::common::{plugin, run_in, tempdir, write_config};

#[test]
fn plugin_list_shows_first_party_and_configured_plugins() {
    let dir = tempdir();
    let cfg = write_config(
        dir.path(),
        &format!(
            "environment = \"mock\"\nstate_dir = \"state\"\n[plugins.hostile]\npath = {:?}\n",
            plugin("hostile").display().to_string()
        ),
    );
    let run = run_in(
        dir.path(),
        &[
            "plugin",
            "list",
            "--config",
            cfg.to_str().unwrap(),
            "--json",
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let listed: Vec<Value> = serde_json::from_str(&run.stdout).unwrap();
    let names: Vec<&str> = listed.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "hostile",
            "spend-report",
            "accounting-export",
            "master-data-import"
        ],
        "{listed:?}"
    );
    let spend = &listed[1];
    assert_eq!(spend["source"], "first-party");
    assert_eq!(spend["version"], "0.1.0");
    assert_eq!(spend["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(
        spend["scopes"],
        serde_json::json!(["accounting-entries:read", "users:read"])
    );
    assert_eq!(spend["approval"], "not approved");
    assert_eq!(listed[0]["source"], "configured");

    let approve = run_in(
        dir.path(),
        &[
            "plugin",
            "approve",
            "spend-report",
            "--config",
            cfg.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(approve.code, 0, "{}", approve.stderr);
    let run = run_in(
        dir.path(),
        &["plugin", "list", "--config", cfg.to_str().unwrap()],
        &[],
    );
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("spend-report"))
        .unwrap();
    assert!(line.ends_with(" approved"), "{}", run.stdout);
}

#[test]
fn run_json_prints_one_object_for_success_and_failure() {
    let dir = tempdir();
    let run = run_in(
        dir.path(),
        &[
            "run",
            "spend-report",
            "--json",
            "--param",
            "from=2026-06-01",
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let summary: Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(summary["result"], "ok");
    assert_eq!(summary["exit_code"], 0);
    assert!(summary["api_calls"].as_u64().unwrap() > 2, "{summary}");
    assert_eq!(summary["retries"], 0);
    // The two CSVs and report.html.
    assert_eq!(summary["files"].as_array().unwrap().len(), 3, "{summary}");
    assert!(summary["duration_seconds"].as_f64().unwrap() > 0.0);

    let run = run_in(
        dir.path(),
        &[
            "run",
            "spend-report",
            "--json",
            "--param",
            "form=2026-06-01",
        ],
        &[],
    );
    run.assert_clean_failure(2);
    let summary: Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(summary["result"], "failed");
    assert_eq!(summary["exit_code"], 2);
    assert!(
        summary["error"].as_str().unwrap().contains("form"),
        "{summary}"
    );
}
