//! Declared parameters (README, "Declared parameters"): a plugin's declaration is listed by
//! `plugin inspect` and `run --help-params`; `run` refuses an unknown name, a bad value or a
//! missing required parameter before the key is read or Pleo is asked anything; a hostile
//! metadata section is bounded and escaped.

use std::path::Path;

use serde_json::Value;

use crate::common::{run_in, tempdir, write_config};

fn config(dir: &Path, rest: &str) -> std::path::PathBuf {
    write_config(
        dir,
        &format!("environment = \"mock\"\nstate_dir = \"state\"\ncache_dir = \"cache\"\n{rest}"),
    )
}

const GRANT: &str =
    "[plugins.spend-report]\nscopes = [\"users:read\", \"accounting-entries:read\"]\n";

#[test]
fn a_misspelt_param_is_refused_with_exit_2_and_a_suggestion_before_anything_runs() {
    let dir = tempdir();
    // A key command that leaves a trace: it must not even run.
    let marker = dir.path().join("key-was-read");
    let cfg = config(
        dir.path(),
        &format!(
            "[key]\ncommand = [\"sh\", \"-c\", \"touch {} && echo k\"]\n{GRANT}",
            marker.display()
        ),
    );
    let run = run_in(
        dir.path(),
        &[
            "run",
            "spend-report",
            "--config",
            cfg.to_str().unwrap(),
            "--param",
            "form=2026-06-01",
        ],
        &[],
    );
    let error = run.assert_clean_failure(2);
    assert!(error.contains("no parameter `form`"), "{error}");
    assert!(
        run.stderr.contains("did you mean `from`?"),
        "{}",
        run.stderr
    );
    assert!(
        !marker.exists(),
        "the key was read before the params were checked"
    );
    assert!(
        !dir.path().join("state/audit.jsonl").exists(),
        "a run was started"
    );
}

#[test]
fn bad_values_are_refused_by_type() {
    let dir = tempdir();
    let cfg = config(dir.path(), GRANT);
    for bad in ["from=2026-02-30", "to=yesterday", "from=2026-1-1"] {
        let run = run_in(
            dir.path(),
            &[
                "run",
                "spend-report",
                "--config",
                cfg.to_str().unwrap(),
                "--param",
                bad,
            ],
            &[],
        );
        let error = run.assert_clean_failure(2);
        assert!(
            error.contains("expected a date as YYYY-MM-DD"),
            "{bad}: {error}"
        );
    }
    // The same mistake in pleo.toml is a config error.
    let cfg = config(
        dir.path(),
        &format!("{GRANT}params = {{ form = \"2026-01-01\" }}\n"),
    );
    let run = run_in(
        dir.path(),
        &["run", "spend-report", "--config", cfg.to_str().unwrap()],
        &[],
    );
    let error = run.assert_clean_failure(3);
    assert!(error.contains("pleo.toml: params.form"), "{error}");
}

#[test]
fn a_declared_param_with_a_good_value_runs() {
    let dir = tempdir();
    let cfg = config(dir.path(), GRANT);
    let run = run_in(
        dir.path(),
        &[
            "run",
            "spend-report",
            "--config",
            cfg.to_str().unwrap(),
            "--param",
            "from=2026-06-01",
            "--param",
            "to=2026-06-30",
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("2026-06-01..2026-06-30"),
        "{}",
        run.stdout
    );
}

#[test]
fn inspect_and_help_params_list_the_declaration() {
    let dir = tempdir();
    let run = run_in(dir.path(), &["run", "--help-params", "spend-report"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("from"), "{}", run.stdout);
    assert!(
        run.stdout.contains("last day of the period"),
        "{}",
        run.stdout
    );

    let run = run_in(
        dir.path(),
        &[
            "plugin",
            "inspect",
            "accounting-export",
            "--offline",
            "--json",
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let params = report["metadata"]["params"].as_array().unwrap();
    assert_eq!(params.len(), 1, "{report}");
    assert_eq!(params[0]["name"], "job-id");
    assert_eq!(params[0]["type"], "string");
    assert_eq!(report["metadata"]["sdk"], "0.1.0");

    let run = run_in(
        dir.path(),
        &["plugin", "inspect", "spend-report", "--offline"],
        &[],
    );
    assert!(
        run.stdout.contains("Parameters it declares:"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("first day of the period"),
        "{}",
        run.stdout
    );
}

/// A component with nothing in it but the given custom sections (name, bytes).
fn component_with_sections(sections: &[(&str, &[u8])]) -> Vec<u8> {
    fn leb(out: &mut Vec<u8>, mut n: usize) {
        loop {
            let b = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(b);
                break;
            }
            out.push(b | 0x80);
        }
    }
    let mut wasm = wat::parse_str("(component)").unwrap();
    for (name, data) in sections {
        let mut body = Vec::new();
        leb(&mut body, name.len());
        body.extend_from_slice(name.as_bytes());
        body.extend_from_slice(data);
        wasm.push(0);
        leb(&mut wasm, body.len());
        wasm.extend_from_slice(&body);
    }
    wasm
}

#[test]
fn hostile_metadata_is_escaped_or_refused() {
    let dir = tempdir();
    let sneaky = br#"{"name":"evil\u001b]0;pwned\u0007","version":"1","params":[{"name":"mode","type":"enum","values":["a\u001b[2J","b"],"description":"clears \u001b[2J the screen\r\nfake: line"}]}"#;
    let path = dir.path().join("evil.wasm");
    std::fs::write(
        &path,
        component_with_sections(&[("pleo-plugin-metadata", sneaky)]),
    )
    .unwrap();
    let run = run_in(
        dir.path(),
        &["plugin", "inspect", path.to_str().unwrap(), "--offline"],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stdout.contains('\u{1b}'), "{}", run.stdout);
    assert!(!run.stdout.contains('\r'), "{}", run.stdout);
    assert!(run.stdout.contains("\\u{1b}[2J"), "{}", run.stdout);
    let run = run_in(
        dir.path(),
        &["run", "--help-params", path.to_str().unwrap()],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stdout.contains('\u{1b}'), "{}", run.stdout);

    let huge = format!(
        r#"{{"name":"x","version":"1","params":[],"pad":"{}"}}"#,
        "x".repeat(70_000)
    );
    let many: Vec<String> = (0..100)
        .map(|i| format!(r#"{{"name":"p{i}","type":"string"}}"#))
        .collect();
    let many = format!(
        r#"{{"name":"x","version":"1","params":[{}]}}"#,
        many.join(",")
    );
    let small = br#"{"name":"x","version":"1"}"#.as_slice();
    for (what, wasm) in [
        (
            "oversized",
            component_with_sections(&[("pleo-plugin-metadata", huge.as_bytes())]),
        ),
        (
            "too many params",
            component_with_sections(&[("pleo-plugin-metadata", many.as_bytes())]),
        ),
        (
            "two sections",
            component_with_sections(&[
                ("pleo-plugin-metadata", small),
                ("pleo-plugin-metadata", small),
            ]),
        ),
        (
            "not JSON",
            component_with_sections(&[("pleo-plugin-metadata", b"{")]),
        ),
    ] {
        std::fs::write(&path, wasm).unwrap();
        let run = run_in(
            dir.path(),
            &["plugin", "inspect", path.to_str().unwrap(), "--offline"],
            &[],
        );
        let error = run.assert_clean_failure(5);
        assert!(error.contains("refused"), "{what}: {error}");
        let run = run_in(dir.path(), &["run", path.to_str().unwrap()], &[]);
        run.assert_clean_failure(5);
    }
}
