//! `pleo-host build [DIR]`: builds a plugin project (see [`crate::scaffold`]) whatever its
//! language, into `DIR/dist/<name>.wasm`, and tells what it is: path, size, the scopes its
//! imports ask for and the parameters it declares, read back from the component as
//! `plugin inspect` reads them.
//!
//! * Rust: `cargo build --release --target wasm32-wasip2`, after the project's copy of
//!   `scripts/setup.sh` made sure the target (or its Debian fallback) is there.
//! * Python: componentize-py, JavaScript: esbuild + componentize-js, both installed on first
//!   use by the project's `pleo-sdk/toolchain.sh` into a cache folder. Their world is written
//!   from `pleo-plugin.toml`'s `scopes` (plus the host services), and the declared `params` are
//!   appended to the component as the metadata section, which these tools cannot emit from
//!   the source: the manifest is declarative, and reading it needs no run of the author's code
//!   outside the sandbox.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Deserialize;

use crate::error::{ExitCode, Failure};
use crate::plugin_meta::{self, ParamKind, ParamSpec, PluginMeta};
use crate::scaffold::Lang;

/// `pleo-plugin.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    lang: Lang,
    name: Option<String>,
    version: Option<String>,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    params: Vec<ManifestParam>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestParam {
    name: String,
    #[serde(rename = "type")]
    kind: ParamKind,
    #[serde(default)]
    values: Vec<String>,
    default: Option<String>,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    description: String,
}

/// What `build` produced.
#[derive(Debug)]
pub struct Built {
    pub path: PathBuf,
    pub bytes: Vec<u8>,
    pub lang: Lang,
}

/// Builds the project in `dir`.
pub fn build(dir: &Path) -> Result<Built, Failure> {
    let manifest_path = dir.join("pleo-plugin.toml");
    let text = std::fs::read_to_string(&manifest_path).map_err(|e| {
        Failure::new(
            ExitCode::Usage,
            format!(
                "{} is not a plugin project: cannot read {}: {}",
                dir.display(),
                manifest_path.display(),
                crate::config::io_cause(&e)
            ),
        )
        .hint("create one with `pleo-host new NAME`, or pass the project's folder")
    })?;
    let manifest: Manifest = toml::from_str(&text).map_err(|e| {
        Failure::new(
            ExitCode::Config,
            format!(
                "{}: {}",
                manifest_path.display(),
                e.message().lines().next().unwrap_or("invalid")
            ),
        )
        .hint("see plugins/README.md, section pleo-plugin.toml")
    })?;
    if !dir.join("pleo-sdk/VERSION").is_file() {
        eprintln!(
            "writing the SDK {} into pleo-sdk/",
            crate::scaffold::SDK_VERSION
        );
        crate::scaffold::write_sdk(dir, manifest.lang)?;
    }
    let dist = dir.join("dist");
    std::fs::create_dir_all(&dist).map_err(|e| {
        Failure::new(
            ExitCode::Usage,
            format!("cannot create {}: {e}", dist.display()),
        )
    })?;
    let (name, bytes) = match manifest.lang {
        Lang::Rust => build_rust(dir)?,
        Lang::Python | Lang::Js => build_script_lang(dir, &manifest, &dist)?,
    };
    let path = dist.join(format!("{name}.wasm"));
    std::fs::write(&path, &bytes).map_err(|e| {
        Failure::new(
            ExitCode::Usage,
            format!("cannot write {}: {e}", path.display()),
        )
    })?;
    Ok(Built {
        path,
        bytes,
        lang: manifest.lang,
    })
}

fn build_rust(dir: &Path) -> Result<(String, Vec<u8>), Failure> {
    let setup = dir.join("pleo-sdk/setup-rust.sh");
    let out = Command::new("bash")
        .arg(&setup)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| tool_failure(&format!("running {}", setup.display()), &e.to_string()))?;
    if !out.status.success() {
        return Err(tool_failure(
            "no wasm32-wasip2 toolchain",
            "pleo-sdk/setup-rust.sh failed (see above)",
        ));
    }
    let debian = String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("export PLEO_WASM_TOOLCHAIN="))
        .map(str::to_owned);
    let mut args = vec![
        "build",
        "--release",
        "--target",
        "wasm32-wasip2",
        "--message-format=json-render-diagnostics",
    ];
    let mut cmd = match &debian {
        Some(toolchain) => {
            args.extend(["-Z", "build-std=std,panic_abort"]);
            let mut cmd = Command::new("sh");
            cmd.arg("-c")
                .arg(". \"$0/env.sh\" && shift && exec cargo \"$@\"")
                .arg(toolchain)
                .arg("--");
            cmd
        }
        None => Command::new("cargo"),
    };
    cmd.args(&args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .stdout(Stdio::piped());
    let out = cmd
        .output()
        .map_err(|e| tool_failure("running cargo", &e.to_string()))?;
    if !out.status.success() {
        return Err(tool_failure(
            "cargo build failed",
            "see cargo's messages above",
        ));
    }
    // The cdylib's `.wasm`, from cargo's own account of what it built.
    let artifact = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact")
        .filter(|m| {
            m["target"]["crate_types"]
                .as_array()
                .is_some_and(|t| t.iter().any(|k| k == "cdylib"))
        })
        .filter_map(|m| {
            let name = m["target"]["name"].as_str()?.replace('_', "-");
            let file = m["filenames"]
                .as_array()?
                .iter()
                .filter_map(|f| f.as_str())
                .find(|f| f.ends_with(".wasm"))?
                .to_owned();
            Some((name, file))
        })
        .next_back();
    let Some((name, file)) = artifact else {
        return Err(tool_failure(
            "cargo built no .wasm",
            "the crate must be a cdylib (crate-type = [\"cdylib\"])",
        ));
    };
    let bytes = std::fs::read(&file)
        .map_err(|e| tool_failure(&format!("reading {file}"), &e.to_string()))?;
    Ok((name, bytes))
}

fn build_script_lang(
    dir: &Path,
    manifest: &Manifest,
    dist: &Path,
) -> Result<(String, Vec<u8>), Failure> {
    let config = |m: String| {
        Failure::new(ExitCode::Config, format!("pleo-plugin.toml: {m}"))
            .hint("see plugins/README.md, section pleo-plugin.toml")
    };
    let name = manifest
        .name
        .clone()
        .ok_or_else(|| config("`name` is missing".into()))?;
    let meta = PluginMeta {
        name: name.clone(),
        version: manifest.version.clone().unwrap_or_else(|| "0.1.0".into()),
        sdk: Some(crate::scaffold::SDK_VERSION.into()),
        params: Some(
            manifest
                .params
                .iter()
                .map(|p| ParamSpec {
                    name: p.name.clone(),
                    kind: p.kind,
                    values: p.values.clone(),
                    default: p.default.clone(),
                    required: p.required,
                    description: p.description.clone(),
                })
                .collect(),
        ),
    };
    plugin_meta::validate(&meta)
        .map_err(|e| config(e.replacen("its metadata", "the manifest", 1)))?;
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(config(format!("name {name:?}: use a-z, 0-9 and `-`")));
    }
    // The world: the host services and one interface per scope, nothing else.
    let mut world = String::from(
        "package pleo:plugin@0.1.0;\n\n/// Written by `pleo-host build` from pleo-plugin.toml.\nworld app {\n    import log;\n    import progress;\n    import params;\n",
    );
    for scope in &manifest.scopes {
        let interface = scope.replace(':', "-");
        if crate::scopes::scope_of(&interface).is_none() {
            return Err(config(format!("unknown scope {scope:?}")));
        }
        world.push_str(&format!("    import {interface};\n"));
    }
    if manifest.lang == Lang::Js {
        // The JS SDK writes /out through WASI itself (componentize-js has no `node:fs`).
        world.push_str("    import wasi:filesystem/preopens@0.2.12;\n");
    }
    world.push_str("    export run: func() -> result<string, string>;\n}\n");
    let wit = dir.join("pleo-sdk/wit");
    std::fs::write(wit.join("zz-app-world.wit"), world)
        .map_err(|e| tool_failure("writing the world", &e.to_string()))?;

    let lang = manifest.lang.to_string();
    let toolchain = dir.join("pleo-sdk/toolchain.sh");
    let out = Command::new("bash")
        .arg(&toolchain)
        .arg(&lang)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| tool_failure(&format!("running {}", toolchain.display()), &e.to_string()))?;
    let tools = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if !out.status.success() || tools.is_empty() {
        return Err(tool_failure(
            &format!("no {lang} toolchain"),
            "pleo-sdk/toolchain.sh failed (see above)",
        ));
    }
    let tools = PathBuf::from(tools);
    let raw = dist.join(".build").join(format!("{name}.raw.wasm"));
    std::fs::create_dir_all(raw.parent().unwrap_or(dist))
        .map_err(|e| tool_failure("creating dist/.build", &e.to_string()))?;
    let mut cmd = match manifest.lang {
        Lang::Python => {
            let mut cmd = Command::new(tools.join("bin/componentize-py"));
            cmd.arg("-d")
                .arg(&wit)
                .args(["-w", "app", "componentize", "-p", "."])
                .arg("-p")
                .arg(dir.join("pleo-sdk/python"))
                .arg("app")
                .arg("-o")
                .arg(&raw);
            cmd
        }
        _ => {
            // The build script runs from the toolchain folder, where its packages are.
            let script = tools.join("build-js.mjs");
            std::fs::copy(dir.join("pleo-sdk/build-js.mjs"), &script)
                .map_err(|e| tool_failure("copying build-js.mjs", &e.to_string()))?;
            let mut cmd = Command::new("node");
            cmd.arg(&script)
                .arg(std::path::absolute(dir).unwrap_or(dir.to_path_buf()))
                .arg(std::path::absolute(&wit).unwrap_or(wit.clone()))
                .arg("app")
                .arg(std::path::absolute(&raw).unwrap_or(raw.clone()));
            cmd
        }
    };
    let status = cmd
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .status()
        .map_err(|e| tool_failure(&format!("running the {lang} toolchain"), &e.to_string()))?;
    if !status.success() {
        return Err(tool_failure(
            &format!("the {lang} build failed"),
            "see its messages above",
        ));
    }
    let mut bytes =
        std::fs::read(&raw).map_err(|e| tool_failure("reading the component", &e.to_string()))?;
    plugin_meta::append_section(&mut bytes, &meta).map_err(config)?;
    Ok((name, bytes))
}

fn tool_failure(what: &str, why: &str) -> Failure {
    Failure::new(ExitCode::Usage, format!("build: {what}: {why}"))
        .hint("see plugins/README.md, section Building")
}

/// The report `pleo-host build` prints.
pub fn describe(built: &Built) -> Result<String, Failure> {
    let meta = crate::plugin_meta::read_meta("plugin", &built.bytes)?;
    let imports = component_imports(&built.bytes).map_err(|e| {
        Failure::new(
            ExitCode::Rejected,
            format!("the built component is invalid: {e}"),
        )
    })?;
    let name = meta
        .as_ref()
        .map_or("plugin".to_owned(), |m| m.name.clone());
    let sorted = crate::plugins::classify_imports(&name, &imports)?;
    let scopes: Vec<String> = sorted.scopes().into_iter().collect();
    let mut out = format!(
        "built {} ({}, {} bytes)\n",
        built.path.display(),
        built.lang,
        built.bytes.len()
    );
    if let Some(m) = &meta {
        out.push_str(&format!(
            "  {} {} (SDK {})\n",
            m.name,
            m.version,
            m.sdk.as_deref().unwrap_or("?")
        ));
    }
    out.push_str(&format!(
        "  scopes it asks for: {}\n",
        if scopes.is_empty() {
            "none".to_owned()
        } else {
            scopes.join(", ")
        }
    ));
    out.push_str("  parameters:\n");
    out.push_str(
        &plugin_meta::render_params(meta.as_ref())
            .replace("\n  ", "\n    ")
            .replacen("  ", "    ", 1),
    );
    Ok(out)
}

/// The names a component imports at its top level (read without compiling it: a Python or
/// JavaScript component takes seconds to compile).
pub fn component_imports(wasm: &[u8]) -> Result<Vec<String>, String> {
    let mut depth = 0usize;
    let mut names = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        match payload.map_err(|e| e.message().to_owned())? {
            wasmparser::Payload::Version { .. } => depth += 1,
            wasmparser::Payload::End(_) => depth = depth.saturating_sub(1),
            wasmparser::Payload::ComponentImportSection(section) if depth == 1 => {
                for import in section {
                    names.push(
                        import
                            .map_err(|e| e.message().to_owned())?
                            .name
                            .name
                            .to_owned(),
                    );
                }
            }
            _ => {}
        }
    }
    Ok(names)
}
