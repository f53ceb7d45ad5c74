//! `pleo-host plugin list` (first-party and configured plugins: version, SHA-256, the scopes
//! their imports ask for, approval) and the one-line JSON summary of `run --json`. Both read
//! components without compiling them.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::error::{ExitCode, Failure};
use crate::session::RunReport;

#[derive(Debug, Serialize)]
pub struct Listed {
    pub name: String,
    /// `first-party` or `configured`.
    pub source: &'static str,
    pub version: Option<String>,
    pub sha256: Option<String>,
    pub scopes: Vec<String>,
    /// `approved`, `not approved`, `changed since approval`, `not required`, or why the
    /// plugin could not be read.
    pub approval: String,
}

/// Every plugin the config names, then the first-party ones it does not.
pub fn list(config: &Config) -> Result<Vec<Listed>, Failure> {
    let lock = match config.source.as_deref() {
        Some(source) => Some(
            crate::approval::LockFile::load(&crate::approval::LockFile::path_for(source))
                .map_err(|e| Failure::new(ExitCode::Config, e))?,
        ),
        None => None,
    };
    let mut names: Vec<(String, &'static str)> = config
        .plugins
        .keys()
        .map(|n| (n.clone(), "configured"))
        .collect();
    for name in crate::first_party::names() {
        if !config.plugins.contains_key(name) || config.plugins[name].path.is_none() {
            names.retain(|(n, _)| n != name);
            names.push((name.to_owned(), "first-party"));
        }
    }
    let mut out = Vec::new();
    for (name, source) in names {
        let mut listed = Listed {
            name: name.clone(),
            source,
            version: None,
            sha256: None,
            scopes: Vec::new(),
            approval: String::new(),
        };
        let read = crate::plugins::resolve(config, &name).and_then(|plugin| {
            let meta = crate::plugin_meta::read_meta(&name, &plugin.bytes)?;
            let imports = crate::authoring::component_imports(&plugin.bytes).map_err(|e| {
                Failure::new(ExitCode::Rejected, format!("not a valid component: {e}"))
            })?;
            let scopes = crate::plugins::classify_imports(&name, &imports)?.scopes();
            Ok((plugin.bytes, meta, scopes))
        });
        match read {
            Ok((bytes, meta, scopes)) => {
                let sha256 = hex::encode(Sha256::digest(&bytes));
                listed.approval = match &lock {
                    None => "not required".into(),
                    Some(lock) => match lock.check(&name, &sha256, &scopes) {
                        Ok(()) => "approved".into(),
                        Err(crate::approval::Refusal::NotApproved { .. }) => "not approved".into(),
                        Err(_) => "changed since approval".into(),
                    },
                };
                listed.version = meta.map(|m| m.version);
                listed.sha256 = Some(sha256);
                listed.scopes = scopes.into_iter().collect();
            }
            Err(failure) => listed.approval = format!("unreadable: {}", failure.message),
        }
        out.push(listed);
    }
    Ok(out)
}

/// The table `plugin list` prints (escaped by the caller).
pub fn render(listed: &[Listed]) -> String {
    let mut out = format!(
        "{:<20} {:<11} {:<9} {:<16} {:<40} approval\n",
        "plugin", "source", "version", "sha256", "scopes"
    );
    for p in listed {
        let sha = p.sha256.as_deref().map_or("-", |s| &s[..16.min(s.len())]);
        let scopes = if p.scopes.is_empty() {
            "-".to_owned()
        } else {
            p.scopes.join(",")
        };
        out.push_str(&format!(
            "{:<20} {:<11} {:<9} {:<16} {:<40} {}\n",
            crate::terminal::line(&p.name),
            p.source,
            crate::terminal::line(p.version.as_deref().unwrap_or("-")),
            sha,
            scopes,
            crate::terminal::line(&p.approval)
        ));
    }
    out
}

/// `run --json`: one JSON object for a finished run, on success or failure.
pub fn run_summary(
    plugin: &str,
    result: &Result<RunReport, Failure>,
    elapsed: std::time::Duration,
) -> serde_json::Value {
    match result {
        Ok(report) => serde_json::json!({
            "plugin": report.plugin,
            "result": "ok",
            "exit_code": 0,
            "summary": report.summary,
            "sha256": report.sha256,
            "out_dir": report.out_dir,
            "files": report.files.iter().map(|f| serde_json::json!({
                "path": f.path, "bytes": f.bytes, "link": f.is_link,
            })).collect::<Vec<_>>(),
            "api_calls": report.api_calls,
            "retries": report.api_waits.retries,
            "retry_wait_seconds": report.api_waits.retry_wait.as_secs_f64(),
            "duration_seconds": report.elapsed.as_secs_f64(),
        }),
        Err(failure) => serde_json::json!({
            "plugin": plugin,
            "result": if failure.code.is_cancel() { "cancelled" } else { "failed" },
            "exit_code": failure.code as i32,
            "error": failure.message,
            "hint": failure.hint,
            "duration_seconds": elapsed.as_secs_f64(),
        }),
    }
}
