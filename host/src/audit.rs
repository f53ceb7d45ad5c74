//! The audit log: one JSON Lines record per Pleo call a plugin makes (and per refused call, up
//! to a bound), plus one when a run starts (effective scopes, limits) and one when it ends
//! (result, totals, including counts of host-service calls such as `log`). Records name the
//! interface, function, scope, company, HTTP method and path *template*; never the key, headers,
//! query values or response bodies. Every line passes through the key redactor before it is
//! written, and has its control and bidi characters escaped.
//!
//! The audit of one run is bounded: two run records of at most a few KiB, one record per Pleo
//! call (at most `[limits] api_calls`) and at most `MAX_REFUSALS_RECORDED` refused calls, each
//! record a fixed set of short fields.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

use crate::credential::Redactor;
use crate::limits::Limits;
use crate::scopes::ScopeSet;

/// An append-only JSON Lines file shared by every run of the process.
pub struct AuditLog {
    path: PathBuf,
    file: Mutex<std::io::BufWriter<std::fs::File>>,
    redactor: Redactor,
}

impl AuditLog {
    /// Opens (creating folders as needed) the audit file for appending.
    pub fn open(path: &Path, redactor: Redactor) -> std::io::Result<Arc<AuditLog>> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(Arc::new(AuditLog {
            path: path.to_owned(),
            file: Mutex::new(std::io::BufWriter::new(file)),
            redactor,
        }))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record. Buffered: [`AuditLog::flush`] runs at the end of every run.
    pub fn write(&self, record: &impl Serialize) {
        let line = match serde_json::to_string(record) {
            Ok(line) => crate::terminal::json(&self.redactor.redact(&line)).into_owned(),
            Err(e) => {
                tracing::error!("audit record not encodable: {e}");
                return;
            }
        };
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = writeln!(file, "{line}") {
            tracing::error!("audit log {} not written: {e}", self.path.display());
        }
    }

    pub fn flush(&self) {
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = file.flush() {
            tracing::error!("audit log {} not written: {e}", self.path.display());
        }
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        self.flush();
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// The audit log as one run sees it: every record carries the run's identity.
#[derive(Clone)]
pub struct RunAudit {
    log: Arc<AuditLog>,
    pub run_id: String,
    pub plugin: String,
    pub sha256: String,
    pub company: String,
}

/// What a run was started with, for its `run-start` record.
#[derive(Debug, Default, Clone)]
pub struct RunInputs {
    pub params: std::collections::BTreeMap<String, String>,
    pub input_sha256: Option<String>,
    pub plan_id: Option<String>,
}

/// What one host call did, as the capability saw it.
#[derive(Debug, Default)]
pub struct Call {
    pub interface: &'static str,
    pub function: &'static str,
    pub scope: Option<&'static str>,
    /// HTTP method and path template, for calls that reach Pleo.
    pub http: Option<(&'static str, &'static str)>,
    pub status: Option<u16>,
    /// Pleo's error `type`, if it answered with one.
    pub error_type: Option<String>,
    /// Time the plugin waited for the answer.
    pub latency: Duration,
    pub retries: u64,
    /// The request was sent before the plugin asked for it (see `capabilities::read_ahead`).
    pub read_ahead: bool,
    /// Bytes of the request body sent / of the data handed to the plugin.
    pub bytes_out: u64,
    pub bytes_in: u64,
    /// What the plugin saw: `ok` or the `pleo-error` case (`scope-denied`, `not-found`, ...).
    pub outcome: &'static str,
    /// The object a write created or changed, when known.
    pub object_id: Option<String>,
    /// The plan a write belongs to (`run --plan` records it, `apply` sends it).
    pub plan_id: Option<String>,
}

#[derive(Serialize)]
struct CallRecord<'a> {
    record: &'static str,
    time: String,
    run_id: &'a str,
    plugin: &'a str,
    sha256: &'a str,
    interface: &'a str,
    function: &'a str,
    scope: Option<&'a str>,
    company: Option<&'a str>,
    method: Option<&'a str>,
    path: Option<&'a str>,
    status: Option<u16>,
    error_type: Option<&'a str>,
    latency_ms: f64,
    retries: u64,
    read_ahead: bool,
    bytes_in: u64,
    bytes_out: u64,
    outcome: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    object_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    plan_id: Option<&'a str>,
}

#[derive(Serialize)]
struct LimitsRecord {
    memory_mb: u64,
    cpu_seconds: f64,
    wall_seconds: f64,
    api_calls: u64,
    output_mb: u64,
    log_kb: u64,
    wasm_mb: u64,
    output_files: u64,
}

#[derive(Serialize)]
struct RunStartRecord<'a> {
    record: &'static str,
    time: String,
    run_id: &'a str,
    plugin: &'a str,
    sha256: &'a str,
    environment: &'a str,
    company: &'a str,
    effective_scopes: &'a ScopeSet,
    limits: LimitsRecord,
    /// The run's parameters (pleo.toml and `--param`): non-secret by definition.
    params: &'a std::collections::BTreeMap<String, String>,
    /// SHA-256 of the input folder mounted as `/in` (see `plan::input_sha256`).
    input_sha256: Option<&'a str>,
    /// `run --plan`: the plan this run records.
    #[serde(skip_serializing_if = "Option::is_none")]
    plan_id: Option<&'a str>,
}

/// Totals of a run, for its end record.
#[derive(Debug, Default, Serialize)]
pub struct RunTotals {
    pub host_calls: u64,
    pub api_calls: u64,
    pub retries: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// Pages the host fetched ahead of the plugin that it never asked for.
    pub read_ahead_unused: u64,
    /// Calls to host services (`log.write`, `progress.report`, `params.get`, ...): counted
    /// here, never one record each.
    pub services: std::collections::BTreeMap<&'static str, ServiceTotals>,
    /// Refused calls past the ones recorded one by one.
    pub refusals_not_recorded: u64,
}

/// Calls to one host service during a run, and the bytes of text they handed the host.
#[derive(Debug, Default, Serialize)]
pub struct ServiceTotals {
    pub calls: u64,
    pub bytes: u64,
}

/// Longest run-end message kept in the audit (the summary or the failure); the rest is cut.
pub const MAX_AUDIT_MESSAGE: usize = 1024;

#[derive(Serialize)]
struct RunEndRecord<'a> {
    record: &'static str,
    time: String,
    run_id: &'a str,
    plugin: &'a str,
    sha256: &'a str,
    result: &'a str,
    exit_code: i32,
    message: &'a str,
    elapsed_ms: f64,
    /// Peak resident memory of the host process so far (Linux), wasm memories included.
    host_peak_rss_mb: Option<u64>,
    totals: &'a RunTotals,
}

/// The process's peak resident memory in MiB, from `/proc/self/status` (`VmHWM`). Not from
/// `getrusage`, whose peak also counts the parent's memory up to `exec`.
fn peak_rss_mb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb >> 10)
}

impl RunAudit {
    pub fn new(log: Arc<AuditLog>, plugin: &str, sha256: &str, company: &str) -> RunAudit {
        RunAudit {
            log,
            run_id: uuid::Uuid::new_v4().to_string(),
            plugin: plugin.to_owned(),
            sha256: sha256.to_owned(),
            company: company.to_owned(),
        }
    }

    pub fn start(&self, environment: &str, scopes: &ScopeSet, limits: &Limits, run: &RunInputs) {
        self.log.write(&RunStartRecord {
            record: "run-start",
            time: now(),
            run_id: &self.run_id,
            plugin: &self.plugin,
            sha256: &self.sha256,
            environment,
            company: &self.company,
            effective_scopes: scopes,
            limits: LimitsRecord {
                memory_mb: limits.memory_bytes >> 20,
                cpu_seconds: limits.cpu.as_secs_f64(),
                wall_seconds: limits.wall.as_secs_f64(),
                api_calls: limits.api_calls,
                output_mb: limits.output_bytes >> 20,
                log_kb: limits.log_bytes >> 10,
                wasm_mb: limits.wasm_bytes >> 20,
                output_files: limits.output_files,
            },
            params: &run.params,
            input_sha256: run.input_sha256.as_deref(),
            plan_id: run.plan_id.as_deref(),
        });
        // On disk before the plugin starts: a run that never ends (killed) still shows it began.
        self.log.flush();
    }

    pub fn call(&self, call: &Call) {
        let is_api = call.http.is_some();
        self.log.write(&CallRecord {
            record: "call",
            time: now(),
            run_id: &self.run_id,
            plugin: &self.plugin,
            sha256: &self.sha256,
            interface: call.interface,
            function: call.function,
            scope: call.scope,
            company: is_api.then_some(self.company.as_str()),
            method: call.http.map(|(method, _)| method),
            path: call.http.map(|(_, path)| path),
            status: call.status,
            error_type: call.error_type.as_deref(),
            latency_ms: call.latency.as_secs_f64() * 1e3,
            retries: call.retries,
            read_ahead: call.read_ahead,
            bytes_in: call.bytes_in,
            bytes_out: call.bytes_out,
            outcome: call.outcome,
            object_id: call.object_id.as_deref(),
            plan_id: call.plan_id.as_deref(),
        });
    }

    pub fn end(
        &self,
        result: &str,
        exit_code: i32,
        message: &str,
        elapsed: Duration,
        totals: &RunTotals,
    ) {
        self.log.write(&RunEndRecord {
            record: "run-end",
            time: now(),
            run_id: &self.run_id,
            plugin: &self.plugin,
            sha256: &self.sha256,
            result,
            exit_code,
            message: &message[..message.floor_char_boundary(MAX_AUDIT_MESSAGE)],
            elapsed_ms: elapsed.as_secs_f64() * 1e3,
            host_peak_rss_mb: peak_rss_mb(),
            totals,
        });
        self.log.flush();
    }
}
