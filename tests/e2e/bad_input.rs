//! Bad input: each case ends with one `error:` line, a documented exit code, no panic.

use crate::common::{run_in, tempdir, write_config};

// Exit codes from README.md.
const CONFIG: i32 = 3;
const CREDENTIAL: i32 = 4;
const REJECTED: i32 = 5;

#[test]
fn missing_config_file_given_with_flag() {
    let dir = tempdir();
    let run = run_in(
        dir.path(),
        &["run", "spend-report", "--config", "nope/pleo.toml"],
        &[],
    );
    let line = run.assert_clean_failure(CONFIG);
    assert!(
        line.contains("nope/pleo.toml") && line.contains("no such file"),
        "{line}"
    );
}

#[test]
fn malformed_toml_names_file_and_line() {
    let dir = tempdir();
    let config = write_config(
        dir.path(),
        "environment = \"mock\"\n[limits\nmemory_mb = 3\n",
    );
    let run = run_in(
        dir.path(),
        &["run", "spend-report", "--config", config.to_str().unwrap()],
        &[],
    );
    let line = run.assert_clean_failure(CONFIG);
    assert!(line.contains("pleo.toml:2:"), "{line}");
}

#[test]
fn unknown_key_names_the_key() {
    let dir = tempdir();
    let config = write_config(
        dir.path(),
        "environment = \"mock\"\n\n[plugins.spend-report]\nscopes = []\nmax_speed = 11\n",
    );
    let run = run_in(
        dir.path(),
        &["run", "spend-report", "--config", config.to_str().unwrap()],
        &[],
    );
    let line = run.assert_clean_failure(CONFIG);
    assert!(
        line.contains("pleo.toml:5:") && line.contains("max_speed"),
        "{line}"
    );
}

#[test]
fn pleo_toml_in_the_current_folder_is_used() {
    let dir = tempdir();
    write_config(dir.path(), "environment = \"moon\"\n");
    let run = run_in(dir.path(), &["run", "spend-report"], &[]);
    let line = run.assert_clean_failure(CONFIG);
    assert!(
        line.contains("pleo.toml:1:") && line.contains("moon"),
        "{line}"
    );
}

#[test]
fn a_file_that_is_not_wasm() {
    let dir = tempdir();
    let path = dir.path().join("notes.wasm");
    std::fs::write(&path, "this is a text file\n").unwrap();
    let run = run_in(dir.path(), &["run", path.to_str().unwrap()], &[]);
    let line = run.assert_clean_failure(REJECTED);
    assert!(line.contains("not a WebAssembly file"), "{line}");
}

#[test]
fn a_core_module_instead_of_a_component() {
    let dir = tempdir();
    let path = dir.path().join("core.wasm");
    // The smallest valid core module: magic + version 1, no sections.
    std::fs::write(&path, b"\0asm\x01\0\0\0").unwrap();
    let run = run_in(dir.path(), &["run", path.to_str().unwrap()], &[]);
    let line = run.assert_clean_failure(REJECTED);
    assert!(
        line.contains("core WebAssembly module, not a component"),
        "{line}"
    );
}

#[test]
fn a_truncated_component() {
    let dir = tempdir();
    let bytes = std::fs::read(crate::common::plugin("hostile")).unwrap();
    let path = dir.path().join("cut.wasm");
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let run = run_in(dir.path(), &["run", path.to_str().unwrap()], &[]);
    let line = run.assert_clean_failure(REJECTED);
    assert!(line.contains("not a valid component"), "{line}");
}

#[test]
fn missing_key_source() {
    let dir = tempdir();
    // A key variable that is not set.
    let config = write_config(
        dir.path(),
        "environment = \"mock\"\n[key]\nenv = \"PLEO_E2E_UNSET_KEY\"\n",
    );
    let run = run_in(
        dir.path(),
        &["run", "spend-report", "--config", config.to_str().unwrap()],
        &[],
    );
    let line = run.assert_clean_failure(CREDENTIAL);
    assert!(line.contains("PLEO_E2E_UNSET_KEY"), "{line}");

    // Staging without any [key]: refused before any network access.
    let config = write_config(dir.path(), "environment = \"staging\"\n");
    let run = run_in(
        dir.path(),
        &["run", "spend-report", "--config", config.to_str().unwrap()],
        &[],
    );
    let line = run.assert_clean_failure(CREDENTIAL);
    assert!(
        line.contains("no API key configured for environment staging"),
        "{line}"
    );

    // A key file anyone can read.
    let key = dir.path().join("pleo.key");
    std::fs::write(&key, "pls_0123_abcd\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let config = write_config(
        dir.path(),
        "environment = \"mock\"\n[key]\nfile = \"pleo.key\"\n",
    );
    let run = run_in(
        dir.path(),
        &["run", "spend-report", "--config", config.to_str().unwrap()],
        &[],
    );
    let line = run.assert_clean_failure(CREDENTIAL);
    assert!(line.contains("readable by group or others"), "{line}");
    assert!(!run.stderr.contains("pls_0123_abcd"), "{}", run.stderr);
}

#[test]
fn unknown_plugin_name() {
    let dir = tempdir();
    let run = run_in(dir.path(), &["run", "no-such-plugin"], &[]);
    let line = run.assert_clean_failure(2);
    assert!(line.contains("unknown plugin `no-such-plugin`"), "{line}");
    assert!(
        run.stderr.contains("spend-report"),
        "hint lists first-party plugins: {}",
        run.stderr
    );
}

#[test]
fn key_refused_by_pleo() {
    let dir = tempdir();
    let config = write_config(
        dir.path(),
        "[key]\nenv = \"PLEO_E2E_KEY\"\n[mock]\naccept_key = \"the-right-key\"\n",
    );
    let run = run_in(
        dir.path(),
        &["run", "spend-report", "--config", config.to_str().unwrap()],
        &[("PLEO_E2E_KEY", "pls_expired_0001")],
    );
    let line = run.assert_clean_failure(CREDENTIAL);
    assert!(
        line.contains("refused the API key (401)")
            && line.contains("another environment than mock"),
        "{line}"
    );
    assert!(!run.stderr.contains("pls_expired_0001"), "{}", run.stderr);
}
