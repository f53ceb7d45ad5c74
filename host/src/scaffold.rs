//! `pleo-host new NAME`: a plugin project outside this repository, in Rust, Python or
//! JavaScript, that builds on a fresh machine with only what its own scripts install.
//!
//! The binary carries the SDKs, the WIT and the toolchain scripts (`include_str!`), and writes
//! them into the project's `pleo-sdk/` folder: the Rust project depends on that copy by path,
//! so nothing needs a registry release of the SDK, and a build works offline once crates.io
//! (or PyPI / npm) has been reached once. `pleo-sdk/VERSION` says which SDK it is. The project
//! template is the `top-spenders` example of the chosen language (`examples/<lang>-top-spenders`),
//! renamed.

use std::path::{Path, PathBuf};

use crate::error::{ExitCode, Failure};

/// Version of the SDKs this binary carries (the Rust SDK crate's version).
pub const SDK_VERSION: &str = "0.1.0";

/// The language of a plugin project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Rust,
    Python,
    Js,
}

impl std::fmt::Display for Lang {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Lang::Rust => "rust",
            Lang::Python => "python",
            Lang::Js => "js",
        })
    }
}

macro_rules! files {
    ($base:literal: $($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!($base, $name)))),*]
    };
}

/// The WIT package, as `pleo-sdk/wit/<file>`.
pub const WIT: &[(&str, &str)] = files!("../../wit/":
    "accounting-entries.wit", "accounts.wit", "companies.wit", "export.wit", "host.wit",
    "tags.wit", "tax-codes.wit", "types.wit", "users.wit", "vendors.wit", "world.wit");

/// The Rust SDK's sources, as `pleo-sdk/rust/pleo-plugin/src/<file>`.
pub const RUST_SDK: &[(&str, &str)] = files!("../../plugins/sdk/src/":
    "csv.rs", "date.rs", "declare.rs", "error.rs", "export.rs", "lib.rs", "log.rs",
    "master_data.rs", "models.rs", "money.rs", "paging.rs", "params.rs", "progress.rs",
    "search.rs", "state.rs");

/// The Rust SDK's manifest: the in-repo one inherits from the plugins workspace, this one
/// stands alone (the same dependencies; `sdk_manifest_matches_the_workspace` checks).
const RUST_SDK_MANIFEST: &str = r#"[package]
name = "pleo-plugin"
description = "SDK for pleo-host plugins (a copy written by `pleo-host new`; see ../../VERSION)"
version = "0.1.0"
edition = "2024"
rust-version = "1.95"
license = "Apache-2.0"
publish = false

[dependencies]
wit-bindgen = "0.63"
serde = { version = "1", features = ["derive"] }
serde_json = "1"
time = { version = "0.3.41", default-features = false, features = ["std", "parsing"] }
"#;

const PYTHON_SDK: &[(&str, &str)] = files!("../../plugins/sdk-python/": "pleo_plugin.py");
const JS_SDK: &[(&str, &str)] = files!("../../plugins/sdk-js/": "pleo-plugin.js", "pure.js");
const TOOLS: &[(&str, &str)] = files!("../../plugins/sdk-tools/": "toolchain.sh", "build-js.mjs");
/// The repository's toolchain script for wasm32-wasip2 (rustup, else a Debian fallback).
const SETUP_RUST: &str = include_str!("../../scripts/setup.sh");
/// Versions the SDK is tested with: a new Rust project starts from the same lock file.
const PLUGINS_LOCK: &str = include_str!("../../plugins/Cargo.lock");

/// The project templates: the `top-spenders` examples.
const RUST_TEMPLATE: &[(&str, &str)] = files!("../../examples/rust-top-spenders/":
    "Cargo.toml", "pleo-plugin.toml", "pleo.toml", "README.md", ".gitignore", "src/lib.rs",
    "src/report.rs");
const PYTHON_TEMPLATE: &[(&str, &str)] = files!("../../examples/python-top-spenders/":
    "pleo-plugin.toml", "pleo.toml", "README.md", ".gitignore", "app.py", "report.py",
    "test_report.py");
const JS_TEMPLATE: &[(&str, &str)] = files!("../../examples/js-top-spenders/":
    "pleo-plugin.toml", "pleo.toml", "README.md", ".gitignore", "app.js", "report.js",
    "report.test.js");

const TEMPLATE_NAME: &str = "top-spenders";
/// The scope the template's report needs.
const TEMPLATE_SCOPE: &str = "accounting-entries:read";

/// Options of `pleo-host new`.
pub struct NewProject {
    pub name: String,
    pub lang: Lang,
    pub scopes: Vec<String>,
    /// The folder to create; default `./NAME`.
    pub dir: Option<PathBuf>,
}

/// Creates the project; returns its folder.
pub fn create(options: &NewProject) -> Result<PathBuf, Failure> {
    let usage = |m: String| Failure::new(ExitCode::Usage, m);
    let name = &options.name;
    let valid = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-');
    if !valid {
        return Err(usage(format!(
            "`{}` is not a plugin name",
            crate::terminal::line(name)
        ))
        .hint(
            "use lower-case letters, digits and `-`, starting with a letter (e.g. monthly-spend)",
        ));
    }
    let mut scopes: Vec<String> = Vec::new();
    for scope in &options.scopes {
        let scope = scope.trim();
        if crate::scopes::scope_of(&scope.replace(':', "-")).is_none() {
            return Err(usage(format!(
                "`{}` is not a Pleo scope this host knows",
                crate::terminal::line(scope)
            ))
            .hint("scopes look like users:read or vendors:write; see wit/ for the list"));
        }
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    if !scopes.iter().any(|s| s == TEMPLATE_SCOPE) {
        scopes.insert(0, TEMPLATE_SCOPE.to_owned());
    }
    let dir = options.dir.clone().unwrap_or_else(|| PathBuf::from(name));
    if dir.exists()
        && std::fs::read_dir(&dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return Err(usage(format!("{} exists and is not empty", dir.display()))
            .hint("pick another NAME or --dir"));
    }

    let template = match options.lang {
        Lang::Rust => RUST_TEMPLATE,
        Lang::Python => PYTHON_TEMPLATE,
        Lang::Js => JS_TEMPLATE,
    };
    let scope_list = scopes
        .iter()
        .map(|s| format!("{s:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    for (file, text) in template {
        let mut text = text.replace(TEMPLATE_NAME, name);
        if *file == "pleo.toml" || *file == "pleo-plugin.toml" {
            text = text.replace(&format!("[{TEMPLATE_SCOPE:?}]"), &format!("[{scope_list}]"));
        }
        write(&dir.join(file), &text)?;
    }
    write_sdk(&dir, options.lang)?;
    if options.lang == Lang::Rust {
        // Cargo trims the lock file to this project's packages and keeps their versions.
        write(&dir.join("Cargo.lock"), PLUGINS_LOCK)?;
    }
    Ok(dir)
}

/// Writes `pleo-sdk/` (SDK, WIT, toolchain scripts) into a project, replacing what is there.
pub fn write_sdk(project: &Path, lang: Lang) -> Result<(), Failure> {
    let sdk = project.join("pleo-sdk");
    write(
        &sdk.join("VERSION"),
        &format!(
            "{SDK_VERSION}\n(written by pleo-host {})\n",
            env!("CARGO_PKG_VERSION")
        ),
    )?;
    for (file, text) in WIT {
        write(&sdk.join("wit").join(file), text)?;
    }
    match lang {
        Lang::Rust => {
            let crate_dir = sdk.join("rust/pleo-plugin");
            write(&crate_dir.join("Cargo.toml"), RUST_SDK_MANIFEST)?;
            for (file, text) in RUST_SDK {
                write(&crate_dir.join("src").join(file), text)?;
            }
            write(&sdk.join("setup-rust.sh"), SETUP_RUST)?;
            make_executable(&sdk.join("setup-rust.sh"))?;
        }
        Lang::Python => {
            for (file, text) in PYTHON_SDK {
                write(&sdk.join("python").join(file), text)?;
            }
        }
        Lang::Js => {
            for (file, text) in JS_SDK {
                write(&sdk.join("js").join(file), text)?;
            }
        }
    }
    for (file, text) in TOOLS {
        write(&sdk.join(file), text)?;
    }
    make_executable(&sdk.join("toolchain.sh"))?;
    Ok(())
}

fn write(path: &Path, text: &str) -> Result<(), Failure> {
    let fail = |e: std::io::Error| {
        Failure::new(
            ExitCode::Usage,
            format!(
                "cannot write {}: {}",
                path.display(),
                crate::config::io_cause(&e)
            ),
        )
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(fail)?;
    }
    std::fs::write(path, text).map_err(fail)
}

fn make_executable(path: &Path) -> Result<(), Failure> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).map_err(|e| {
        Failure::new(
            ExitCode::Usage,
            format!("cannot make {} executable: {e}", path.display()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files_in(dir: &str, ext: &str) -> Vec<String> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        let mut names: Vec<String> = std::fs::read_dir(&root)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(ext))
            .collect();
        names.sort();
        names
    }

    #[test]
    fn every_sdk_and_wit_file_is_carried() {
        let carried = |list: &[(&str, &str)]| {
            let mut names: Vec<String> = list.iter().map(|(n, _)| n.to_string()).collect();
            names.sort();
            names
        };
        assert_eq!(carried(WIT), files_in("../wit", ".wit"));
        assert_eq!(carried(RUST_SDK), files_in("../plugins/sdk/src", ".rs"));
        assert_eq!(
            carried(PYTHON_SDK),
            files_in("../plugins/sdk-python", ".py")
        );
        assert_eq!(carried(JS_SDK), files_in("../plugins/sdk-js", ".js"));
    }

    #[test]
    fn sdk_manifest_matches_the_workspace() {
        let read = |p: &str| {
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(p))
                .unwrap()
                .parse::<toml::Table>()
                .unwrap()
        };
        let workspace = read("../plugins/Cargo.toml");
        let ours: toml::Table = RUST_SDK_MANIFEST.parse().unwrap();
        let deps = &workspace["workspace"]["dependencies"];
        // Every dependency of the in-repo SDK, and no other, at the workspace's version.
        let sdk = read("../plugins/sdk/Cargo.toml");
        let names: Vec<&String> = sdk["dependencies"].as_table().unwrap().keys().collect();
        let our_names: Vec<&String> = ours["dependencies"].as_table().unwrap().keys().collect();
        assert_eq!(our_names, names);
        for name in names {
            assert_eq!(ours["dependencies"][name], deps[name], "{name}");
        }
        assert_eq!(
            ours["package"]["version"],
            workspace["workspace"]["package"]["version"]
        );
        assert_eq!(ours["package"]["version"].as_str(), Some(SDK_VERSION));
    }
}
