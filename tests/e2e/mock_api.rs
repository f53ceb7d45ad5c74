//! `pleo-host mock-api` as a real process (README "Migrations", rehearsing across commands):
//! it prints the key it accepts, or accepts exactly the one in `--key-env VAR`; and a
//! migration planned, applied and planned again against that one standalone mock through
//! `base_url` ends with an empty plan.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};

use crate::common::{self, run_in};

/// A running `pleo-host mock-api`, killed when dropped.
struct MockApi {
    child: Child,
    base_url: String,
    /// What it printed before "press Ctrl-C to stop".
    banner: String,
}

impl MockApi {
    fn start(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> MockApi {
        let mut all = vec!["mock-api", "--port", "0"];
        all.extend_from_slice(args);
        let mut child = common::command_in(dir, &all, envs)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("mock-api starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut banner = String::new();
        for line in lines.by_ref() {
            let line = line.unwrap();
            banner.push_str(&line);
            banner.push('\n');
            if line.contains("press Ctrl-C") {
                break;
            }
        }
        let base_url = banner
            .split_whitespace()
            .find(|w| w.starts_with("http://127.0.0.1:"))
            .unwrap_or_else(|| panic!("no address in:\n{banner}"))
            .to_owned();
        MockApi {
            child,
            base_url,
            banner,
        }
    }

    /// The status of `GET /v1/introspect` with `key`.
    fn status_with(&self, key: &str) -> u16 {
        let url = format!("{}/v1/introspect", self.base_url);
        common::tokio().block_on(async {
            reqwest::Client::new()
                .get(url)
                .basic_auth(key, Some(""))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        })
    }
}

impl Drop for MockApi {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn mock_api_prints_its_key_or_accepts_exactly_the_one_given() {
    let dir = common::tempdir();
    let own = MockApi::start(dir.path(), &[], &[]);
    let key = own
        .banner
        .lines()
        .find_map(|l| l.strip_prefix("it accepts the API key: "))
        .unwrap_or_else(|| panic!("no key in:\n{}", own.banner))
        .trim()
        .to_owned();
    assert_eq!(own.status_with(&key), 200);
    assert_eq!(own.status_with("not-the-key"), 401);

    let given = "operator-chosen-key-4f1c";
    let mock = MockApi::start(
        dir.path(),
        &["--key-env", "MY_MOCK_KEY"],
        &[("MY_MOCK_KEY", given)],
    );
    assert!(
        !mock.banner.contains(given),
        "the key is never printed:\n{}",
        mock.banner
    );
    assert!(mock.banner.contains("$MY_MOCK_KEY"), "{}", mock.banner);
    assert_eq!(mock.status_with(given), 200);
    assert_eq!(mock.status_with(&key), 401, "its own key no longer works");
    assert_eq!(mock.status_with(&format!("{given}x")), 401);
}

#[test]
fn plan_apply_and_plan_again_against_one_standalone_mock() {
    let dir = common::tempdir();
    let key = "rehearsal-key-9d2e";
    let envs = [("REHEARSAL_KEY", key)];
    let mock = MockApi::start(dir.path(), &["--key-env", "REHEARSAL_KEY"], &envs);
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/master-data-import");
    std::fs::create_dir(dir.path().join("in")).unwrap();
    for entry in std::fs::read_dir(example.join("in")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join("in").join(entry.file_name())).unwrap();
    }
    // The example's own pleo.toml, with the mock's address and the key it accepts.
    let config = std::fs::read_to_string(example.join("pleo.toml"))
        .unwrap()
        .replace(
            "base_url = \"http://127.0.0.1:8484\"",
            &format!(
                "base_url = \"{}\"\nstate_dir = \"state\"\n[key]\nenv = \"REHEARSAL_KEY\"",
                mock.base_url
            ),
        );
    common::write_config(dir.path(), &config);

    let plan = |file: &str| {
        let out = run_in(
            dir.path(),
            &["run", "master-data-import", "--plan", file],
            &envs,
        );
        assert_eq!(out.code, 0, "{}", out.stderr);
        let text = std::fs::read_to_string(dir.path().join(file)).unwrap();
        let plan: serde_json::Value = serde_json::from_str(&text).unwrap();
        plan["writes"].as_array().unwrap().len()
    };
    assert_eq!(plan("first.json"), 10);
    // The plan sent nothing: planning again still plans every write.
    assert_eq!(plan("again.json"), 10);
    let out = run_in(dir.path(), &["apply", "first.json", "--yes"], &envs);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(plan("after.json"), 0, "the mock kept what apply made");

    // Without the key the mock was given, the host is refused (exit 4).
    let out = run_in(
        dir.path(),
        &["run", "master-data-import", "--plan", "x.json"],
        &[("REHEARSAL_KEY", "wrong")],
    );
    out.assert_clean_failure(4);
}

/// `--scope-spelling production` makes the mock spell the tag scopes as Pleo's production
/// does: its key lists `tag-group:read`, and `tag-groups:read` (staging's) is not among them.
#[test]
fn mock_api_spells_scopes_as_the_environment_given() {
    let dir = common::tempdir();
    for (spelling, has, lacks) in [
        ("production", "tag-group:read", "tag-groups:read"),
        ("staging", "tag-groups:read", "tag-group:read"),
    ] {
        let mock = MockApi::start(dir.path(), &["--scope-spelling", spelling], &[]);
        let url = format!("{}/v1/introspect", mock.base_url);
        let scopes: Vec<String> = common::tokio().block_on(async {
            let body: serde_json::Value = reqwest::Client::new()
                .get(url)
                .basic_auth(pleo_host::mock::MOCK_API_KEY, Some(""))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            body["data"]["scope"]
                .as_str()
                .unwrap()
                .split(' ')
                .map(str::to_owned)
                .collect()
        });
        assert!(scopes.iter().any(|s| s == has), "{spelling}: {scopes:?}");
        assert!(!scopes.iter().any(|s| s == lacks), "{spelling}: {scopes:?}");
    }
    let bad = run_in(dir.path(), &["mock-api", "--scope-spelling", "prod"], &[]);
    let line = bad.assert_clean_failure(2);
    assert!(line.contains("prod"), "{line}");
}
