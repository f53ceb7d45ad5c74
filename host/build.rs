//! Builds the plugins (`plugins/`, a cargo workspace for `wasm32-wasip2`) with a nested cargo
//! and hands the components to the host crate:
//!
//! * `$OUT_DIR/first_party.rs` defines `FIRST_PARTY: &[(&str, &[u8])]`, the first-party
//!   plugins embedded in the binary (`include!` it);
//! * `PLEO_TEST_PLUGINS_DIR` (a `rustc-env`) is a directory with every plugin as
//!   `<name>.wasm`, test-only plugins included.
//!
//! The nested build gets its own target directory, `<target>/wasm-plugins`, beside this
//! build's profiles and not in `OUT_DIR`, so it survives rebuilds of the host (including the
//! std that the Debian route compiles). It runs without the outer build's cargo/rustc
//! variables: inheriting them makes it wait forever on the outer build's lock, or build with
//! the outer build's flags or wrappers.
//!
//! Toolchains: by default the `rustc` on `PATH` (rustup's, with `wasm32-wasip2` installed by
//! `scripts/setup.sh`). If `PLEO_WASM_TOOLCHAIN` is set, the private Debian toolchain that
//! `scripts/setup.sh` bootstrapped there: its `env.sh` and `-Z build-std`, for the nested
//! build only.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Plugins embedded in the host binary, by crate name.
const FIRST_PARTY: &[&str] = &["spend-report", "accounting-export", "master-data-import"];
/// Plugins only the tests use, by crate name.
const TEST_PLUGINS: &[&str] = &[
    "hostile", "snoop", "bench", "api-tour", "attacker", "trespass",
];

const WASM_TARGET: &str = "wasm32-wasip2";
const TOOLCHAIN_VAR: &str = "PLEO_WASM_TOOLCHAIN";
const LOG_TAIL_LINES: usize = 40;

fn main() {
    if let Err(message) = run() {
        eprintln!("error: {message}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let manifest_dir = PathBuf::from(env_var("CARGO_MANIFEST_DIR")?);
    let repo = manifest_dir
        .parent()
        .ok_or("the host crate has no parent directory")?;
    let plugins = repo.join("plugins");
    let out_dir = PathBuf::from(env_var("OUT_DIR")?);

    watch_sources(&plugins)?;
    println!("cargo:rerun-if-env-changed={TOOLCHAIN_VAR}");

    let target_dir = outer_target_dir(&out_dir)?.join("wasm-plugins");
    let built = build_plugins(&plugins, &target_dir, &out_dir)?;

    let dest = out_dir.join("plugins");
    fs::create_dir_all(&dest).map_err(|e| format!("creating {}: {e}", dest.display()))?;
    let mut first_party = String::from("pub static FIRST_PARTY: &[(&str, &[u8])] = &[\n");
    for name in FIRST_PARTY.iter().chain(TEST_PLUGINS) {
        // Cargo names the artifact after the crate, with `-` as `_`.
        let artifact = built.join(format!("{}.wasm", name.replace('-', "_")));
        let copy = dest.join(format!("{name}.wasm"));
        let bytes =
            fs::read(&artifact).map_err(|e| format!("reading {}: {e}", artifact.display()))?;
        write_if_changed(&copy, &bytes)?;
        if FIRST_PARTY.contains(name) {
            let path = copy.to_str().ok_or("OUT_DIR is not valid UTF-8")?;
            writeln!(first_party, "    ({name:?}, include_bytes!({path:?})),").unwrap();
        }
    }
    first_party.push_str("];\n");
    write_if_changed(&out_dir.join("first_party.rs"), first_party.as_bytes())?;
    println!("cargo:rustc-env=PLEO_TEST_PLUGINS_DIR={}", dest.display());
    Ok(())
}

/// Reruns this script when the plugins' sources, their lock file or the WIT change. The paths
/// are relative to the host crate: cargo gives two checkouts of this repository the same
/// build-script fingerprint in a shared target directory, and absolute paths would make one
/// checkout watch the other's files (and build with stale plugins).
fn watch_sources(plugins: &Path) -> Result<(), String> {
    println!("cargo:rerun-if-changed=../wit");
    let entries =
        fs::read_dir(plugins).map_err(|e| format!("reading {}: {e}", plugins.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("reading {}: {e}", plugins.display()))?;
        // A directory is watched recursively; `target/` (native `cargo test` there) is not ours.
        if entry.file_name() != "target" {
            let name = entry.file_name();
            let name = name.to_str().ok_or("a plugin folder name is not UTF-8")?;
            println!("cargo:rerun-if-changed=../plugins/{name}");
        }
    }
    Ok(())
}

/// Runs the nested `cargo build`; returns the directory holding the `.wasm` files.
fn build_plugins(plugins: &Path, target_dir: &Path, out_dir: &Path) -> Result<PathBuf, String> {
    let debian = std::env::var_os(TOOLCHAIN_VAR).filter(|dir| !dir.is_empty());
    let env = match &debian {
        Some(dir) => debian_toolchain_env(Path::new(dir))?,
        None => clean_env(),
    };
    if debian.is_none() && !has_wasm_std(&env, plugins) {
        return Err(format!(
            "no {WASM_TARGET} toolchain to build the plugins: run scripts/setup.sh \
             (and export the {TOOLCHAIN_VAR} line it prints, if any)"
        ));
    }

    let log_path = out_dir.join("wasm-plugins.log");
    let log =
        fs::File::create(&log_path).map_err(|e| format!("creating {}: {e}", log_path.display()))?;
    let log_err = log.try_clone().map_err(|e| e.to_string())?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.env_clear()
        .envs(env)
        .current_dir(plugins)
        .args(["build", "--release", "--locked", "--target", WASM_TARGET])
        .arg("--manifest-path")
        .arg(plugins.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err);
    if let Ok(jobs) = std::env::var("NUM_JOBS") {
        cmd.args(["--jobs", &jobs]);
    }
    if debian.is_some() {
        cmd.args(["-Z", "build-std=std,panic_abort"]);
    }
    let status = cmd
        .status()
        .map_err(|e| format!("running cargo for the plugins: {e}"))?;
    if !status.success() {
        let text = fs::read_to_string(&log_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n");
        return Err(format!(
            "building the plugins failed ({status}); last lines of {}:\n{tail}",
            log_path.display()
        ));
    }
    Ok(target_dir.join(WASM_TARGET).join("release"))
}

/// This process's environment without what cargo set for the outer build: build-script
/// variables, the jobserver, and flags or wrappers for the host's compiler. Cargo's home and
/// its network and registry settings stay.
fn clean_env() -> Vec<(OsString, OsString)> {
    std::env::vars_os()
        .filter(|(name, _)| {
            let name = name.to_string_lossy();
            let keep = ["CARGO_HOME", "CARGO_HTTP_", "CARGO_NET_", "CARGO_REGISTR"]
                .iter()
                .any(|kept| name.starts_with(kept));
            let outer = name.starts_with("CARGO")
                || name.starts_with("__CARGO")
                || name.starts_with("RUSTC")
                || name.starts_with("RUSTDOC")
                || name.starts_with("DEP_")
                || [
                    "RUSTFLAGS",
                    "TARGET",
                    "HOST",
                    "OUT_DIR",
                    "PROFILE",
                    "OPT_LEVEL",
                    "DEBUG",
                    "NUM_JOBS",
                    "MAKEFLAGS",
                    "MFLAGS",
                ]
                .contains(&&*name);
            keep || !outer
        })
        .collect()
}

/// Whether the `rustc` the nested cargo will find has the std for `wasm32-wasip2`.
fn has_wasm_std(env: &[(OsString, OsString)], plugins: &Path) -> bool {
    let output = Command::new("rustc")
        .args(["--print", "sysroot"])
        .env_clear()
        .envs(env.iter().cloned())
        .current_dir(plugins)
        .stdin(Stdio::null())
        .output();
    match output {
        Ok(out) if out.status.success() => {
            let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            Path::new(&sysroot)
                .join("lib/rustlib")
                .join(WASM_TARGET)
                .join("lib")
                .is_dir()
        }
        _ => false,
    }
}

/// The clean environment with the toolchain's `env.sh` applied (by `sh`, as a user would).
fn debian_toolchain_env(dir: &Path) -> Result<Vec<(OsString, OsString)>, String> {
    let env_sh = dir.join("env.sh");
    if !dir.join(".complete").is_file() || !env_sh.is_file() {
        return Err(format!(
            "{TOOLCHAIN_VAR}={} is not a bootstrapped toolchain: run scripts/setup.sh",
            dir.display()
        ));
    }
    let out = Command::new("sh")
        .args(["-c", ". \"$0\" && exec env -0"])
        .arg(&env_sh)
        .env_clear()
        .envs(clean_env())
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("running sh for {}: {e}", env_sh.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} failed: {}",
            env_sh.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .split('\0')
        .filter_map(|pair| pair.split_once('='))
        .map(|(name, value)| (name.into(), value.into()))
        .collect())
}

/// Cargo's target directory for this build: `OUT_DIR` is
/// `<target>[/<triple>]/<profile>/build/<package>-<hash>/out`.
fn outer_target_dir(out_dir: &Path) -> Result<PathBuf, String> {
    let profile_dir = out_dir
        .ancestors()
        .find(|dir| dir.file_name().is_some_and(|name| name == "build"))
        .and_then(Path::parent)
        .ok_or_else(|| format!("unexpected OUT_DIR layout: {}", out_dir.display()))?;
    let mut target_dir = profile_dir.parent().unwrap_or(profile_dir);
    // With `--target <triple>`, profiles sit in a directory named after the triple.
    let triple = std::env::var_os("TARGET");
    if triple.is_some() && target_dir.file_name() == triple.as_deref() {
        target_dir = target_dir.parent().unwrap_or(target_dir);
    }
    Ok(target_dir.to_path_buf())
}

/// Writes `bytes` unless the file already holds them, so that unchanged plugins do not make
/// the host crate recompile.
fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<(), String> {
    if fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    fs::write(path, bytes).map_err(|e| format!("writing {}: {e}", path.display()))
}

fn env_var(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("cargo did not set {name}"))
}
