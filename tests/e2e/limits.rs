//! Limits: each hostile behaviour ends with its own error, and the same host process goes on
//! to run the next plugin.

use std::collections::BTreeMap;
use std::path::Path;

use pleo_host::error::ExitCode;
use pleo_host::session::{RunOptions, Session};

use crate::common::{plugin, tempdir, tokio};

fn options(out: &Path, mode: &str) -> RunOptions {
    RunOptions {
        cancel: None,
        input: None,
        plan: false,
        out_dir: Some(out.join(mode)),
        params: BTreeMap::from([("mode".to_owned(), mode.to_owned())]),
        progress: None,
        ..RunOptions::default()
    }
}

#[test]
fn each_limit_has_its_own_error_and_the_host_stays_up() {
    let dir = tempdir();
    let text = format!(
        "environment = \"mock\"\nstate_dir = \"{dir}/state\"\ncache_dir = \"{dir}/cache\"\n[plugins.hostile]\npath = \"{wasm}\"\nlimits = {{ memory_mb = 32, cpu_seconds = 1, wall_seconds = 120, output_mb = 1 }}\n[plugins.sleeper]\npath = \"{wasm}\"\nlimits = {{ wall_seconds = 3 }}\n",
        wasm = plugin("hostile").display(),
        dir = dir.path().display(),
    );
    let config = crate::common::config_in(&text, dir.path());
    let rt = tokio();
    rt.block_on(async {
        let session = Session::open(config).await.unwrap();
        let run = |mode: &'static str| session.run("hostile", options(dir.path(), mode));

        // The error names the limit that ended the run: the CPU budget, long before the wall
        // clock (120 s) could.
        let spin = run("spin").await.unwrap_err();
        assert_eq!(spin.code, ExitCode::Limit, "{spin:?}");
        assert!(
            spin.message.contains("CPU budget of 1s used up"),
            "{}",
            spin.message
        );

        let bomb = run("membomb").await.unwrap_err();
        assert_eq!(bomb.code, ExitCode::Limit, "{bomb:?}");
        assert!(
            bomb.message.contains("memory limit of 32 MiB reached"),
            "{}",
            bomb.message
        );

        // Another name for the same plugin, with a short wall clock: compiling counts against
        // it, and this plugin is already compiled, so the run gets the whole 3 s.
        let sleep = session
            .run("sleeper", options(dir.path(), "sleep"))
            .await
            .unwrap_err();
        assert_eq!(sleep.code, ExitCode::Limit, "{sleep:?}");
        assert!(
            sleep.message.contains("wall-clock timeout of 3s reached"),
            "{}",
            sleep.message
        );

        let big = run("big-output").await.unwrap_err();
        assert_eq!(big.code, ExitCode::Limit, "{big:?}");
        assert!(
            big.message.contains("output limit of 1 MiB exceeded"),
            "{}",
            big.message
        );

        let panic = run("panic").await.unwrap_err();
        assert_eq!(panic.code, ExitCode::PluginFailed, "{panic:?}");
        assert!(
            panic.message.contains("plugin crashed"),
            "{}",
            panic.message
        );

        // Same process, same engine: the next plugin runs normally.
        let ok = run("ok").await.unwrap();
        assert_eq!(ok.summary, "ok");
    });
}

#[test]
fn a_limit_exits_with_its_code_from_the_cli() {
    let dir = tempdir();
    let text = format!(
        "[plugins.hostile]\npath = \"{}\"\nlimits = {{ cpu_seconds = 0.5 }}\n",
        plugin("hostile").display()
    );
    let config = crate::common::write_config(dir.path(), &text);
    let run = crate::common::run_in(
        dir.path(),
        &[
            "run",
            "hostile",
            "--config",
            config.to_str().unwrap(),
            "--param",
            "mode=spin",
        ],
        &[],
    );
    let line = run.assert_clean_failure(6);
    assert!(line.contains("CPU budget"), "{line}");
}
