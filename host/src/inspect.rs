//! `pleo-host plugin inspect`: what a plugin asks for, read from the component without running
//! it, next to what the config grants and the key has. For the security reviewer.

use serde::Serialize;

use crate::admission::{Candidate, Loaded, granted_scopes};
use crate::approval::Refusal;
use crate::config::Config;
use crate::error::Failure;
use crate::plugin_meta::{self, PluginMeta};
use crate::runtime::Runtime;
use crate::scopes::{self, ScopeSet};

/// Everything a reviewer needs to decide whether a plugin may run.
#[derive(Debug, Serialize)]
pub struct Inspection {
    /// The name the plugin runs under (config section, first-party name, or file stem).
    pub plugin: String,
    /// Name, version, SDK version and declared parameters the SDK embedded, if the plugin was
    /// built with it.
    pub metadata: Option<PluginMeta>,
    pub sha256: String,
    pub size_bytes: u64,
    /// The WIT package it targets, e.g. `pleo:plugin@0.1.0`.
    pub wit: Option<String>,
    pub environment: String,
    pub scopes: Vec<ScopeCheck>,
    /// WASI interfaces it imports, and what the sandbox makes of them.
    pub wasi: Vec<WasiImport>,
    pub host_services: Vec<String>,
    /// The folder mounted read-only as `/in` by `[plugins.NAME] input` (`run --input` may
    /// name another), if any.
    pub input: Option<String>,
    /// The limits of the `state` service, when the plugin imports it.
    pub state: Option<String>,
    pub approval: ApprovalState,
}

#[derive(Debug, Serialize)]
pub struct ScopeCheck {
    pub scope: String,
    pub interface: String,
    /// Granted to this plugin in the config.
    pub granted: bool,
    /// On the API key; `None` when the key was not checked.
    pub on_key: Option<bool>,
    /// How the key spells the scope when it has it in another known spelling
    /// (`tag-group:read` for `tag-groups:read`; see `scopes::ALIASES`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_spelling: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct WasiImport {
    pub interface: String,
    pub sandbox: &'static str,
}

#[derive(Debug, Serialize)]
pub struct ApprovalState {
    pub required: bool,
    /// `approved`, `not approved`, `changed since approval` or `not required`.
    pub status: String,
    pub details: Vec<String>,
}

/// Inspects a plugin. `key_scopes` are the key's scopes if a session could be opened.
pub fn inspect(
    config: &Config,
    runtime: &Runtime,
    spec: &str,
    key_scopes: Option<&ScopeSet>,
) -> Result<Inspection, Failure> {
    let loaded = Candidate::read(config, spec)?.load(runtime)?;
    let granted = granted_scopes(config, &loaded.config, &loaded.needed);
    let approval = approval_state(config, &loaded)?;
    let uses_state = loaded.uses_state();
    let Loaded {
        plugin,
        config: plugin_config,
        meta: metadata,
        imports,
        needed: _,
        size_bytes,
    } = loaded;
    let wit = plugin
        .imports
        .iter()
        .find_map(|i| i.strip_prefix(&format!("{}/", scopes::WIT_PACKAGE)))
        .and_then(|rest| rest.split_once('@'))
        .map(|(_, version)| format!("{}@{version}", scopes::WIT_PACKAGE));

    Ok(Inspection {
        metadata,
        sha256: plugin.sha256.clone(),
        size_bytes,
        wit,
        environment: config.environment.to_string(),
        scopes: imports
            .pleo
            .iter()
            .map(|(interface, scope)| ScopeCheck {
                scope: scope.clone(),
                interface: interface.clone(),
                granted: granted.contains(scope),
                on_key: key_scopes.map(|k| scopes::key_spelling(k, scope).is_some()),
                key_spelling: key_scopes
                    .and_then(|k| scopes::key_spelling(k, scope))
                    .filter(|spelt| spelt != scope)
                    .map(str::to_owned),
            })
            .collect(),
        wasi: imports
            .wasi
            .iter()
            .map(|i| WasiImport {
                interface: i.clone(),
                sandbox: wasi_sandbox(i),
            })
            .collect(),
        host_services: imports.services.clone(),
        input: plugin_config
            .input
            .as_ref()
            .map(|p| p.display().to_string()),
        state: uses_state.then(|| {
            use crate::plugin_state as st;
            format!(
                "kept per plugin and company in the state database: keys up to {} bytes, values up to {} KiB, at most {} keys and {} KiB",
                st::MAX_KEY,
                st::MAX_VALUE >> 10,
                st::MAX_KEYS,
                st::MAX_BYTES >> 10
            )
        }),
        approval,
        plugin: plugin.name,
    })
}

pub use crate::plugin_meta::read_meta;

/// What the sandbox allows for a WASI interface.
fn wasi_sandbox(interface: &str) -> &'static str {
    let name = interface.split('@').next().unwrap_or(interface);
    match name.split('/').next().unwrap_or(name) {
        "wasi:filesystem" => "only /out (read-write) and /in if given (read-only)",
        "wasi:sockets" => "denied: no network",
        "wasi:cli" if name.ends_with("/environment") => "empty: no variables, no arguments",
        "wasi:cli" if name.ends_with("/stdin") => "closed",
        "wasi:cli" if name.ends_with("/stdout") || name.ends_with("/stderr") => {
            "captured into the host log"
        }
        "wasi:cli" if name.contains("/terminal") => "no terminal",
        "wasi:cli" => "allowed",
        "wasi:clocks" => "allowed (read the time)",
        "wasi:random" => "allowed",
        "wasi:io" => "allowed (streams of the above)",
        _ => "linked by wasmtime-wasi",
    }
}

fn approval_state(config: &Config, loaded: &Loaded) -> Result<ApprovalState, Failure> {
    let Some(check) = loaded.approval(config)? else {
        return Ok(ApprovalState {
            required: false,
            status: "not required".into(),
            details: vec![],
        });
    };
    let (status, details) = match check {
        Ok(()) => ("approved", vec![]),
        Err(refusal @ Refusal::NotApproved { .. }) => ("not approved", refusal.details()),
        Err(refusal) => ("changed since approval", refusal.details()),
    };
    let required = config.require_approval;
    let status = if required || status == "approved" {
        status
    } else {
        "not required"
    };
    Ok(ApprovalState {
        required,
        status: status.into(),
        details,
    })
}

impl Inspection {
    /// The human-readable report.
    pub fn render(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let yes_no = |b: bool| if b { "yes" } else { "NO" };
        let _ = writeln!(out, "plugin      {}", self.plugin);
        match &self.metadata {
            Some(m) => {
                let sdk = m.sdk.as_deref().map(|v| format!(" (SDK {v})"));
                let _ = writeln!(
                    out,
                    "built as    {} {}{}",
                    m.name,
                    m.version,
                    sdk.unwrap_or_default()
                );
            }
            None => {
                let _ = writeln!(out, "built as    (no SDK metadata)");
            }
        }
        let _ = writeln!(out, "sha256      {}", self.sha256);
        let _ = writeln!(out, "size        {} bytes", self.size_bytes);
        let _ = writeln!(
            out,
            "targets     {}",
            self.wit.as_deref().unwrap_or("no pleo:plugin interface")
        );
        let _ = writeln!(out, "environment {}", self.environment);
        let _ = writeln!(out, "\nPleo scopes it needs:");
        if self.scopes.is_empty() {
            let _ = writeln!(out, "  none");
        }
        for s in &self.scopes {
            let key = match (s.on_key, &s.key_spelling) {
                (Some(true), Some(spelt)) => format!("yes, as {spelt}"),
                (Some(on_key), _) => yes_no(on_key).to_owned(),
                (None, _) => "not checked".to_owned(),
            };
            let _ = writeln!(
                out,
                "  {:<26} via {:<26} granted: {:<4} on key: {key}",
                s.scope,
                s.interface,
                yes_no(s.granted)
            );
        }
        let _ = writeln!(out, "\nParameters it declares:");
        out.push_str(&plugin_meta::render_params(self.metadata.as_ref()));
        let _ = writeln!(out, "\nWASI it imports:");
        for w in &self.wasi {
            let _ = writeln!(out, "  {:<40} {}", w.interface, w.sandbox);
        }
        let services = if self.host_services.is_empty() {
            "none".into()
        } else {
            self.host_services.join(", ")
        };
        let _ = writeln!(out, "\nhost services: {services}");
        if let Some(state) = &self.state {
            let _ = writeln!(out, "state:         {state}");
        }
        let input = self
            .input
            .as_deref()
            .unwrap_or("none (run --input DIR gives one)");
        let _ = writeln!(out, "input (/in):   {input}, read-only");
        let _ = writeln!(
            out,
            "approval:      {}{}",
            self.approval.status,
            if self.approval.required {
                " (required)"
            } else {
                ""
            }
        );
        for d in &self.approval.details {
            let _ = writeln!(out, "  - {d}");
        }
        out
    }
}
