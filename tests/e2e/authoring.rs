//! Writing a plugin (README, "Writing a plugin"; plugins/README.md): `pleo-host new` →
//! `pleo-host build` → `pleo-host run` against the mock, in Rust, Python and JavaScript; the
//! three `top-spenders` examples give the same file and summary on the same data; `inspect`
//! shows the declared params and the scopes; a bad param is refused before the plugin runs.
//!
//! The Python and JavaScript toolchains are installed on first use by the project's own
//! `pleo-sdk/toolchain.sh`, into `<cargo target dir>/toolchains` (needs python3 with venv, node
//! and npm, and PyPI/npm reachable). Rust projects build with the machine's cargo and rustup.

use std::path::{Path, PathBuf};

use crate::common::{Outcome, run_in, tempdir};

/// The environment a build needs beyond the clean one of `run_in`: cargo's and rustup's homes
/// (HOME is the test's), a shared target folder for the projects' Rust dependencies, and the
/// toolchain cache.
fn build_env() -> Vec<(String, String)> {
    let home = std::env::var("HOME").unwrap_or_default();
    let target = Path::new(env!("PLEO_TEST_PLUGINS_DIR"))
        .ancestors()
        .find(|p| p.join("CACHEDIR.TAG").is_file())
        .map(Path::to_path_buf)
        .unwrap_or_else(std::env::temp_dir);
    let mut env = vec![
        (
            "CARGO_HOME".to_owned(),
            std::env::var("CARGO_HOME").unwrap_or(format!("{home}/.cargo")),
        ),
        (
            "RUSTUP_HOME".to_owned(),
            std::env::var("RUSTUP_HOME").unwrap_or(format!("{home}/.rustup")),
        ),
        (
            "CARGO_TARGET_DIR".to_owned(),
            target.join("authoring-projects").display().to_string(),
        ),
        (
            "PLEO_TOOLCHAINS".to_owned(),
            target.join("toolchains").display().to_string(),
        ),
    ];
    for name in ["RUSTUP_TOOLCHAIN", "PLEO_WASM_TOOLCHAIN"] {
        if let Ok(value) = std::env::var(name) {
            env.push((name.to_owned(), value));
        }
    }
    env
}

fn run(dir: &Path, args: &[&str]) -> Outcome {
    let env = build_env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    run_in(dir, args, &env)
}

/// Copies an example project into `dir` (examples are never built in the repository).
fn copy_example(name: &str, dir: &Path) -> PathBuf {
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(name);
    let to = dir.join(name);
    let mut stack = vec![from.clone()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let target = to.join(path.strip_prefix(&from).unwrap());
            if path.is_dir() {
                stack.push(path);
            } else {
                std::fs::create_dir_all(target.parent().unwrap()).unwrap();
                std::fs::copy(&path, &target).unwrap();
            }
        }
    }
    to
}

const PERIOD: [&str; 6] = [
    "--param",
    "from=2026-03-01",
    "--param",
    "to=2026-08-31",
    "--param",
    "top=7",
];
/// The mock's data is generated for the 12 months up to this day, whatever today is.
const MOCK: &str = "\n[mock]\nanchor = \"2026-10-31\"\n";

/// Builds an example and runs it for [`PERIOD`] in DKK, JPY (no decimals) and KWD (three);
/// returns the summary line and the CSV of each run.
fn build_and_run(example: &str) -> Vec<(String, String)> {
    let dir = tempdir();
    let project = copy_example(example, dir.path());
    let config = project.join("pleo.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        format!("state_dir = \"state\"\ncache_dir = \"cache\"\n{text}{MOCK}"),
    )
    .unwrap();
    let built = run(&project, &["build"]);
    assert_eq!(built.code, 0, "{example}: build failed:\n{}", built.stderr);
    assert!(
        built
            .stdout
            .contains("scopes it asks for: accounting-entries:read\n"),
        "{example}: {}",
        built.stdout
    );
    let mut results = Vec::new();
    for currency in CURRENCIES {
        let mut args = vec!["run", "top-spenders"];
        args.extend(PERIOD);
        let param = format!("currency={currency}");
        args.extend(["--param", &param]);
        let ran = run(&project, &args);
        assert_eq!(ran.code, 0, "{example}: run failed:\n{}", ran.stderr);
        let summary = ran
            .stdout
            .lines()
            .nth(1)
            .unwrap_or_default()
            .trim()
            .to_owned();
        let csv =
            std::fs::read_to_string(project.join("out/top-spenders/top-spenders.csv")).unwrap();
        results.push((summary, csv));
    }

    // The declaration made it into the component, whatever the language.
    let inspect = run(
        &project,
        &["plugin", "inspect", "top-spenders", "--offline"],
    );
    assert_eq!(inspect.code, 0, "{}", inspect.stderr);
    assert!(
        inspect.stdout.contains("integer (default 5)"),
        "{example}: {}",
        inspect.stdout
    );
    assert!(
        inspect.stdout.contains("accounting-entries:read"),
        "{}",
        inspect.stdout
    );
    let bad = run(&project, &["run", "top-spenders", "--param", "tpo=3"]);
    bad.assert_clean_failure(2);
    assert!(bad.stderr.contains("did you mean `top`?"), "{}", bad.stderr);
    results
}

const CURRENCIES: [&str; 3] = ["DKK", "JPY", "KWD"];

/// The ranking the README describes, computed here from the mock's own data: spend (not
/// deleted, cancelled, rejected or a reimbursement) in `currency` performed in [`PERIOD`], by
/// employee, largest first, amounts in the currency's own decimals.
fn expected_csv(currency: &str, decimals: u32) -> String {
    let data = pleo_host::mock::Dataset::seed(&pleo_host::mock::MockConfig {
        anchor: "2026-10-31".parse().unwrap(),
        ..Default::default()
    });
    let entries = serde_json::to_value(&data.entries).unwrap();
    let mut totals: std::collections::BTreeMap<String, (u64, i64)> = Default::default();
    for e in entries.as_array().unwrap() {
        let day = &e["performedAt"].as_str().unwrap()[..10];
        if e["deletedAt"].is_null()
            && !["CANCELLED", "REJECTED"].contains(&e["status"].as_str().unwrap())
            && e["family"] != "REIMBURSEMENT"
            && ("2026-03-01"..="2026-08-31").contains(&day)
            && e["transactionValue"]["currency"] == currency
        {
            let slot = totals
                .entry(e["employeeId"].as_str().unwrap_or("").to_owned())
                .or_default();
            slot.0 += 1;
            slot.1 += e["transactionValue"]["minors"].as_i64().unwrap();
        }
    }
    let mut ranked: Vec<_> = totals.into_iter().collect();
    ranked.sort_by(|a, b| b.1.1.cmp(&a.1.1).then(a.0.cmp(&b.0)));
    let unit = 10_i64.pow(decimals);
    let mut csv = String::from("rank,employee_id,entries,amount\n");
    for (i, (id, (n, minors))) in ranked.into_iter().take(7).enumerate() {
        let amount = match decimals {
            0 => minors.to_string(),
            d => format!("{}.{:0d$}", minors / unit, minors % unit, d = d as usize),
        };
        csv.push_str(&format!("{},{id},{n},{amount}\n", i + 1));
    }
    csv
}

#[test]
fn the_top_spenders_examples_agree_across_languages() {
    let rust = build_and_run("rust-top-spenders");
    assert!(rust[0].0.starts_with("top 7 of "), "{}", rust[0].0);
    assert_eq!(rust[0].1.lines().count(), 8, "{}", rust[0].1);
    // 1234 JPY prints as 1234 and 1.234 KWD as 1.234, as the data says.
    for ((currency, decimals), (_, csv)) in CURRENCIES.iter().zip([2, 0, 3]).zip(&rust) {
        assert_eq!(csv, &expected_csv(currency, decimals), "{currency}");
    }
    for example in ["python-top-spenders", "js-top-spenders"] {
        assert_eq!(build_and_run(example), rust, "{example}");
    }
}

#[test]
fn a_new_rust_project_builds_and_runs() {
    let dir = tempdir();
    let made = run(
        dir.path(),
        &[
            "new",
            "cost-watch",
            "--scopes",
            "users:read,accounting-entries:read",
        ],
    );
    assert_eq!(made.code, 0, "{}", made.stderr);
    let project = dir.path().join("cost-watch");
    for file in [
        "Cargo.toml",
        "Cargo.lock",
        "src/lib.rs",
        "src/report.rs",
        "pleo.toml",
        "README.md",
        ".gitignore",
        "pleo-sdk/VERSION",
        "pleo-sdk/wit/world.wit",
        "pleo-sdk/rust/pleo-plugin/src/lib.rs",
    ] {
        assert!(project.join(file).is_file(), "{file} missing");
    }
    let config = std::fs::read_to_string(project.join("pleo.toml")).unwrap();
    assert!(
        config.contains("scopes = [\"users:read\", \"accounting-entries:read\"]"),
        "{config}"
    );
    let built = run(&project, &["build"]);
    assert_eq!(built.code, 0, "{}", built.stderr);
    assert!(
        built.stdout.contains("dist/cost-watch.wasm"),
        "{}",
        built.stdout
    );
    let ran = run(&project, &["run", "cost-watch", "--param", "currency=EUR"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(ran.stdout.contains("by EUR spend"), "{}", ran.stdout);
    assert!(project.join("out/cost-watch/cost-watch.csv").is_file());

    // The same folder again, and bad names, are refused.
    let again = run(dir.path(), &["new", "cost-watch"]);
    again.assert_clean_failure(2);
    let bad = run(dir.path(), &["new", "Bad_Name"]);
    bad.assert_clean_failure(2);
    let bad = run(dir.path(), &["new", "x", "--scopes", "cards:steal"]);
    bad.assert_clean_failure(2);
    let not_a_project = run(dir.path(), &["build"]);
    not_a_project.assert_clean_failure(2);
}
