//! Plugin state (README "Migrations", Plugin state; the `state` WIT interface and the Rust
//! SDK's `state` module): values persist between runs (separate processes), are scoped to the
//! plugin's name and to the company of the run, stay within their limits, and `plugin inspect`
//! shows the use. The `hostile` test plugin's `state-*` modes make the calls.

use pleo_host::mock::{Dataset, MockConfig};

use crate::common::{self, Outcome, plugin, run_in};

const SEED: u64 = 77;

/// A folder with `pleo.toml` (company 0) and `other.toml` (company 1) sharing one state
/// database, and `hostile` configured under two names.
fn setup() -> tempfile::TempDir {
    let data = Dataset::seed(&MockConfig {
        seed: SEED,
        companies: 2,
        ..MockConfig::default()
    });
    let [c0, c1] = [0, 1].map(|i| data.companies[i].company.id.to_string());
    let dir = common::tempdir();
    let hostile = plugin("hostile");
    for (file, company) in [("pleo.toml", &c0), ("other.toml", &c1)] {
        std::fs::write(
            dir.path().join(file),
            format!(
                "company_id = \"{company}\"\nstate_dir = \"state\"\n[mock]\nseed = {SEED}\ncompanies = 2\n\
                 [plugins.hostile]\npath = \"{0}\"\n[plugins.hostile-twin]\npath = \"{0}\"\n",
                hostile.display()
            ),
        )
        .unwrap();
    }
    dir
}

/// `pleo-host run PLUGIN --param mode=MODE [--param ...]`, with `config`.
fn run(dir: &std::path::Path, config: &str, plugin: &str, params: &[&str]) -> Outcome {
    let mut args = vec!["run", plugin, "--config", config];
    for p in params {
        args.extend(["--param", p]);
    }
    run_in(dir, &args, &[])
}

/// What a successful run printed (its summary).
fn summary(out: &Outcome) -> String {
    assert_eq!(out.code, 0, "stderr:\n{}", out.stderr);
    out.stdout.clone()
}

#[test]
fn state_persists_per_plugin_and_company_within_its_limits() {
    let dir = setup();
    let d = dir.path();
    let count =
        |config: &str, plugin: &str| summary(&run(d, config, plugin, &["mode=state-count"]));
    // Persists between runs: each run is its own process.
    assert!(count("pleo.toml", "hostile").contains("count 1"));
    assert!(count("pleo.toml", "hostile").contains("count 2"));
    // Another plugin (the same component under another name) and another company start empty.
    assert!(count("pleo.toml", "hostile-twin").contains("count 1"));
    assert!(count("other.toml", "hostile").contains("count 1"));
    // ... and did not touch this one.
    assert!(count("pleo.toml", "hostile").contains("count 3"));

    // A value over 64 KiB is refused; the plugin sees the host's error and the run fails
    // with exit code 1 (the plugin failed). Nothing was stored.
    let big = run(
        d,
        "pleo.toml",
        "hostile",
        &["mode=state-set", "key=big", "size=65537"],
    );
    let line = big.assert_clean_failure(1);
    assert!(
        line.contains("a state value is at most 65536 bytes"),
        "{line}"
    );
    let ok = run(
        d,
        "pleo.toml",
        "hostile",
        &["mode=state-set", "key=big", "size=65536"],
    );
    assert!(summary(&ok).contains("set 65536 bytes"));
    // A key over 256 bytes.
    let long_key = format!("key={}", "k".repeat(257));
    let long = run(d, "pleo.toml", "hostile", &["mode=state-set", &long_key]);
    let line = long.assert_clean_failure(1);
    assert!(line.contains("a state key is 1 to 256 bytes"), "{line}");

    // 1 MiB per plugin and company, keys included: "count" (6 bytes) and "big" (65 539) are
    // stored, so 16 more values of 60 000 bytes (keys fill-0 to fill-15) fit in the 1 048 576
    // and the 17th does not.
    let full = run(
        d,
        "pleo.toml",
        "hostile",
        &["mode=state-fill", "size=60000"],
    );
    let line = full.assert_clean_failure(1);
    assert!(line.contains("stored 16 values"), "{line}");
    assert!(line.contains("at most 1048576 bytes of state"), "{line}");
    // The twin's budget is its own: 1000 keys of one byte; the 1001st is refused. It had
    // "count" already.
    let many = run(
        d,
        "pleo.toml",
        "hostile-twin",
        &["mode=state-fill", "size=1"],
    );
    let line = many.assert_clean_failure(1);
    assert!(line.contains("stored 999 values"), "{line}");
    assert!(line.contains("at most 1000 state keys"), "{line}");

    // Delete, then the counter starts over; the other company's state is as it was.
    let deleted = run(
        d,
        "pleo.toml",
        "hostile",
        &["mode=state-delete", "key=count"],
    );
    assert!(summary(&deleted).contains("deleted count: true"));
    assert!(count("pleo.toml", "hostile").contains("count 1"));
    let shown = summary(&run(d, "other.toml", "hostile", &["mode=state-show"]));
    assert!(
        shown.contains("count=1") && !shown.contains("big"),
        "{shown}"
    );
    let shown = summary(&run(d, "pleo.toml", "hostile", &["mode=state-show"]));
    assert!(
        shown.contains("big=65536") && shown.contains("fill-15=60000"),
        "{shown}"
    );

    // `plugin inspect` says the plugin keeps state, and within which limits.
    let inspect = run_in(d, &["plugin", "inspect", "hostile", "--offline"], &[]);
    assert_eq!(inspect.code, 0, "{}", inspect.stderr);
    let line = inspect
        .stdout
        .lines()
        .find(|l| l.starts_with("state:"))
        .unwrap_or_else(|| panic!("no state line:\n{}", inspect.stdout));
    assert!(
        line.contains("per plugin and company") && line.contains("at most 1000 keys"),
        "{line}"
    );
}
