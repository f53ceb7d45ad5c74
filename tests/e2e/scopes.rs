//! Effective scopes = key ∩ grant ∩ imports. A plugin importing an interface whose scope it may
//! not use is refused before it runs, one line per missing scope saying who lacks it.

use crate::common::{plugin, run_in, tempdir, write_config};

const REJECTED: i32 = 5;

/// Runs `plugin` with a grant and the mock key's scopes; returns the outcome.
fn run_with(plugin_name: &str, grant: &str, key_scopes: &str) -> crate::common::Outcome {
    let dir = tempdir();
    let config = write_config(
        dir.path(),
        &format!(
            "[mock]\nscopes = [{key_scopes}]\n[plugins.{plugin_name}]\npath = \"{}\"\nscopes = [{grant}]\n",
            plugin(plugin_name).display()
        ),
    );
    let out = dir.path().join("out");
    let run = run_in(
        dir.path(),
        &[
            "run",
            plugin_name,
            "--config",
            config.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &[],
    );
    if run.code != 0 {
        // Refused before it ran: it wrote nothing.
        assert_eq!(
            std::fs::read_dir(&out).map(|d| d.count()).unwrap_or(0),
            0,
            "{}",
            run.stderr
        );
    }
    run
}

#[test]
fn denial_matrix() {
    // snoop imports users-read (scope users:read); hostile imports no Pleo interface.
    let users = "\"users:read\"";
    let entries = "\"accounting-entries:read\"";

    let key_lacks = run_with("snoop", users, entries);
    key_lacks.assert_clean_failure(REJECTED);
    assert!(
        key_lacks
            .stderr
            .contains("  - users:read: granted, but the API key does not have it"),
        "{}",
        key_lacks.stderr
    );

    let grant_lacks = run_with("snoop", "", users);
    grant_lacks.assert_clean_failure(REJECTED);
    assert!(
        grant_lacks
            .stderr
            .contains("  - users:read: not granted to it in"),
        "{}",
        grant_lacks.stderr
    );
    assert!(
        grant_lacks.stderr.contains("(the key has it)"),
        "{}",
        grant_lacks.stderr
    );

    let both_lack = run_with("snoop", entries, entries);
    both_lack.assert_clean_failure(REJECTED);
    assert!(
        both_lack
            .stderr
            .contains("and the API key does not have it"),
        "{}",
        both_lack.stderr
    );

    // Granted and on the key, but not imported: nothing to link, the plugin runs.
    let not_imported = run_with("hostile", users, users);
    assert_eq!(not_imported.code, 0, "{}", not_imported.stderr);

    let all_present = run_with("snoop", users, users);
    assert_eq!(all_present.code, 0, "{}", all_present.stderr);
}

#[test]
fn first_party_plugin_refused_with_a_line_per_missing_scope() {
    let dir = tempdir();
    let config = write_config(
        dir.path(),
        "[mock]\nscopes = [\"companies:read\"]\n[plugins.spend-report]\nscopes = [\"users:read\"]\n",
    );
    let run = run_in(
        dir.path(),
        &["run", "spend-report", "--config", config.to_str().unwrap()],
        &[],
    );
    let line = run.assert_clean_failure(REJECTED);
    assert!(line.contains("plugin spend-report refused"), "{line}");
    let details: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("  - "))
        .collect();
    assert_eq!(
        details,
        vec![
            "  - accounting-entries:read: not granted to it in pleo.toml, and the API key does not have it"
                .replace("pleo.toml", &config.display().to_string())
                .as_str(),
            "  - users:read: granted, but the API key does not have it",
        ],
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(
            "[plugins.spend-report] scopes = [\"accounting-entries:read\", \"users:read\"]"
        ),
        "hint shows the grant: {}",
        run.stderr
    );
}

/// Pleo's environments spell the tag scopes differently (`tag-groups:read` in staging,
/// `tag-group:read` in production): a key carrying either spelling has the permission, on a
/// mock that spells them either way (`[mock] scope_spelling`); `plugin inspect` shows the
/// key's own spelling; a key with an unknown spelling is refused.
#[test]
fn either_spelling_of_the_tag_scopes_grants_them() {
    let others = "\"vendors:read\", \"vendors:write\", \"accounts:read\", \"accounts:write\", \
                  \"tax-codes:read\", \"tax-codes:write\"";
    let example =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/master-data-import/in");
    // (mock spelling, the key's tag scopes, the grant's tag scopes, exit code)
    for (spelling, key, grant, code) in [
        ("production", "tag-group", "tag-groups", 0),
        ("staging", "tag-groups", "tag-group", 0),
        ("production", "tag-grp", "tag-groups", REJECTED),
    ] {
        let dir = tempdir();
        let config = write_config(
            dir.path(),
            &format!(
                "environment = \"mock\"\n\
                 [mock]\nscope_spelling = \"{spelling}\"\n\
                 scopes = [{others}, \"{key}:read\", \"{key}:write\"]\n\
                 [plugins.master-data-import]\ninput = \"{}\"\n\
                 scopes = [{others}, \"{grant}:read\", \"{grant}:write\"]\n",
                example.display()
            ),
        );
        let config = config.to_str().unwrap();
        let case = format!("{spelling} mock, key {key}:*, grant {grant}:*");
        let plan = dir.path().join("plan.json");
        let run = run_in(
            dir.path(),
            &[
                "run",
                "master-data-import",
                "--config",
                config,
                "--plan",
                plan.to_str().unwrap(),
            ],
            &[],
        );
        let inspect = run_in(
            dir.path(),
            &[
                "plugin",
                "inspect",
                "master-data-import",
                "--config",
                config,
            ],
            &[],
        );
        assert_eq!(inspect.code, 0, "{case}: {}", inspect.stderr);
        let tags_line = inspect
            .stdout
            .lines()
            .find(|l| l.trim_start().starts_with("tag-groups:read"))
            .unwrap_or_else(|| panic!("{case}: no tag-groups:read line in\n{}", inspect.stdout));
        if code == 0 {
            assert_eq!(run.code, 0, "{case}: {}", run.stderr);
            // The plan read the tag groups from the mock, which checked its own spelling.
            let plan: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
            assert!(
                plan["writes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|w| w["function"] == "create-tag"),
                "{case}: {plan:#}"
            );
            let shown = if key == "tag-groups" {
                "on key: yes".to_owned()
            } else {
                format!("on key: yes, as {key}:read")
            };
            assert!(tags_line.ends_with(&shown), "{case}: {tags_line}");
            assert!(tags_line.contains("granted: yes"), "{case}: {tags_line}");
        } else {
            run.assert_clean_failure(code);
            assert!(
                run.stderr
                    .contains("  - tag-groups:read: granted, but the API key does not have it"),
                "{case}: {}",
                run.stderr
            );
            assert!(!plan.exists(), "{case}: a refused run plans nothing");
            assert!(tags_line.ends_with("on key: NO"), "{case}: {tags_line}");
        }
    }
}
