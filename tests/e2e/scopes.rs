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
