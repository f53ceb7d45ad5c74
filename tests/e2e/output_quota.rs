//! The output limits hold while the plugin writes, whatever it returns, whatever mtimes or
//! sparse files it tries, and a deep or huge tree in the output folder breaks no run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pleo_host::error::ExitCode;
use pleo_host::session::{RunOptions, Session};

use crate::common::{plugin, run_in, tempdir, tokio, write_config};

const MIB: u64 = 1 << 20;

/// A config in `dir`: state, cache and output there too; `limits` for the hostile plugin.
fn config_text(dir: &Path, limits: &str) -> String {
    format!(
        "environment = \"mock\"\nstate_dir = \"{0}/state\"\ncache_dir = \"{0}/cache\"\noutput_dir = \"{0}/out\"\n[plugins.hostile]\npath = \"{1}\"\nlimits = {{ {limits} }}\n",
        dir.display(),
        plugin("hostile").display()
    )
}

fn session(dir: &Path, limits: &str) -> (tokio::runtime::Runtime, Session) {
    let text = config_text(dir, limits);
    let config = crate::common::config_in(&text, dir);
    let rt = tokio();
    let session = rt.block_on(Session::open(config)).unwrap();
    (rt, session)
}

fn options(out: &Path, mode: &str, extra: &[(&str, &str)]) -> RunOptions {
    let mut params = BTreeMap::from([("mode".to_owned(), mode.to_owned())]);
    params.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    RunOptions {
        out_dir: Some(out.to_owned()),
        params,
        progress: None,
        cancel: None,
        ..RunOptions::default()
    }
}

/// Everything under `dir`, never following links: (entries, bytes by length, bytes allocated).
fn usage(dir: &Path) -> (u64, u64, u64) {
    use std::os::unix::fs::MetadataExt;
    let (mut entries, mut len, mut allocated) = (0, 0, 0);
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let entry = entry.unwrap();
            let meta = std::fs::symlink_metadata(entry.path()).unwrap();
            entries += 1;
            if meta.is_dir() {
                stack.push(entry.path());
            } else {
                len += meta.len();
                allocated += meta.blocks() * 512;
            }
        }
    }
    (entries, len, allocated)
}

#[test]
fn writing_past_output_mb_ends_the_run_whatever_the_plugin_returns() {
    let dir = tempdir();
    let (rt, session) = session(dir.path(), "output_mb = 1, output_files = 100");
    for mode in [
        "big-output",
        "output-then-err",
        "output-then-panic",
        "old-mtime",
        "sparse",
    ] {
        let out = dir.path().join(mode);
        let failure = rt
            .block_on(session.run("hostile", options(&out, mode, &[])))
            .unwrap_err();
        assert_eq!(failure.code, ExitCode::Limit, "{mode}: {failure:?}");
        assert!(
            failure.message.contains("output limit of 1 MiB exceeded"),
            "{mode}: {}",
            failure.message
        );
        assert!(
            failure
                .hint
                .as_deref()
                .unwrap_or("")
                .contains("limits.output_mb"),
            "{mode}: {failure:?}"
        );
        // A write past the limit is refused before it reaches the disk: at most the limit is
        // there (the bound allows one more 1 MiB write).
        let (_, len, allocated) = usage(&out);
        assert!(len <= 2 * MIB, "{mode}: {len} bytes on disk");
        assert!(
            allocated <= 2 * MIB + 64 * 1024,
            "{mode}: {allocated} bytes allocated"
        );
    }
    // The same session runs the next plugin normally.
    let ok = rt
        .block_on(session.run("hostile", options(&dir.path().join("ok"), "ok", &[])))
        .unwrap();
    assert_eq!(ok.summary, "ok");
}

#[test]
fn too_many_files_or_bytes_exit_6_from_the_cli() {
    let dir = tempdir();
    let config = write_config(
        dir.path(),
        &config_text(dir.path(), "output_mb = 1, output_files = 100"),
    );
    let run = |mode: &str| {
        run_in(
            dir.path(),
            &[
                "run",
                "hostile",
                "--config",
                config.to_str().unwrap(),
                "--param",
                &format!("mode={mode}"),
            ],
            &[],
        )
    };

    let many = run("many-files");
    let line = many.assert_clean_failure(6);
    assert!(
        line.contains("output limit of 100 files and folders exceeded"),
        "{line}"
    );
    assert!(
        many.stderr.contains("limits.output_files"),
        "{}",
        many.stderr
    );
    let (entries, _, _) = usage(&dir.path().join("out/hostile"));
    assert!(entries <= 100, "{entries} entries created");
    assert!(entries >= 90, "stopped at the limit, not before: {entries}");

    let err = run("output-then-err");
    let line = err.assert_clean_failure(6);
    assert!(line.contains("output limit of 1 MiB exceeded"), "{line}");
    assert!(err.stderr.contains("limits.output_mb"), "{}", err.stderr);
}

/// Removes a `deep/d/d/...` chain without deep paths or many open folders (std's
/// `remove_dir_all` holds one per level): the second level is lifted into the first's place.
fn remove_chain(out: &Path) {
    let top = out.join("deep");
    let lifted = out.join("lifted");
    loop {
        let child = top.join("d");
        let grandchild = child.join("d");
        if !grandchild.exists() {
            break;
        }
        std::fs::rename(&grandchild, &lifted).unwrap();
        std::fs::remove_dir(&child).unwrap();
        std::fs::rename(&lifted, &child).unwrap();
    }
    std::fs::remove_dir_all(&top).unwrap();
}

#[test]
fn a_deep_tree_breaks_neither_its_run_nor_the_next() {
    let dir = tempdir();
    let (rt, session) = session(dir.path(), "output_files = 20000");
    let out = dir.path().join("deep-out");
    let depth = [("depth", "12000")];
    for run in ["first", "second"] {
        let report = rt
            .block_on(session.run("hostile", options(&out, "deep-tree", &depth)))
            .unwrap_or_else(|e| panic!("{run} run: {e:?}"));
        assert_eq!(report.summary, "12000 levels", "{run} run");
        assert!(
            report
                .files_not_listed
                .iter()
                .any(|w| w.contains("deeper than 64 levels")),
            "{run} run: {:?}",
            report.files_not_listed
        );
    }
    // Still deep enough to have needed more than the open-file limit of a walk per level.
    let mut path = out.join("deep");
    for _ in 0..100 {
        path.push("d");
    }
    assert!(path.is_dir(), "the tree is there");
    remove_chain(&out);
}

#[test]
fn links_are_refused_inside_the_plugin() {
    let dir = tempdir();
    let (rt, session) = session(dir.path(), "");
    let out = dir.path().join("links");
    let report = rt
        .block_on(session.run("hostile", options(&out, "links", &[])))
        .unwrap();
    assert!(
        report.summary.contains("symlink to /etc (not-permitted)")
            && report.summary.contains("relative symlink (not-permitted)")
            && report.summary.contains("hard link (not-permitted)"),
        "{}",
        report.summary
    );
    let mut stack: Vec<PathBuf> = vec![out.clone()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let meta = std::fs::symlink_metadata(entry.unwrap().path()).unwrap();
            assert!(!meta.file_type().is_symlink(), "a link was planted");
        }
    }
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        std::fs::metadata(out.join("target.txt")).unwrap().nlink(),
        1
    );
    assert!(!out.join("hard").exists());
    assert!(std::fs::symlink_metadata(out.join("relative")).is_err());
}

#[cfg(unix)]
#[test]
fn an_unwritable_out_folder_fails_before_the_plugin_runs() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempdir();
    let config = write_config(dir.path(), &config_text(dir.path(), ""));
    // Root writes through permission bits: procfs refuses new files to anyone.
    let root = unsafe { libc::geteuid() } == 0;
    let locked = dir.path().join("locked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o555)).unwrap();
    let out = if root {
        PathBuf::from("/proc/self")
    } else {
        locked.clone()
    };
    let run = run_in(
        dir.path(),
        &[
            "run",
            "hostile",
            "--config",
            config.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--param",
            "mode=big-output",
        ],
        &[],
    );
    let line = run.assert_clean_failure(2);
    assert!(line.contains("is not writable"), "{line}");
    assert!(run.stderr.contains("hint:"), "{}", run.stderr);
    // No run started: the audit log has no run-start record.
    let audit = std::fs::read_to_string(dir.path().join("state/audit.jsonl")).unwrap_or_default();
    assert!(!audit.contains("run-start"), "{audit}");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
}
