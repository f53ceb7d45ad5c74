//! Host services every plugin may use without a grant: log, progress and params.

use std::sync::Arc;

use super::Caps;
use crate::bindings::pleo::plugin::{log, params, progress};

/// Longest log line or progress message the host keeps from a plugin.
const MAX_MESSAGE: usize = 4096;
/// Most parameters a plugin can list (config + command line never come near this).
const MAX_PARAMS: usize = 1000;

/// One progress report of a plugin, for whoever draws it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub plugin: String,
    pub done: u64,
    pub total: Option<u64>,
    pub message: String,
}

/// Receives progress reports; the CLI draws them, a daemon may forward them.
pub type ProgressSink = Arc<dyn Fn(&Progress) + Send + Sync>;

impl log::Host for Caps {
    fn write(&mut self, level: log::Level, message: String) -> wasmtime::Result<()> {
        self.record_service("log", "write");
        let message = self.redactor.redact(super::truncate(&message, MAX_MESSAGE));
        let plugin = self.plugin.as_str();
        match level {
            log::Level::Trace => tracing::trace!(target: "plugin", plugin, "{message}"),
            log::Level::Debug => tracing::debug!(target: "plugin", plugin, "{message}"),
            log::Level::Info => tracing::info!(target: "plugin", plugin, "{message}"),
            log::Level::Warn => tracing::warn!(target: "plugin", plugin, "{message}"),
            log::Level::Error => tracing::error!(target: "plugin", plugin, "{message}"),
        }
        Ok(())
    }
}

impl progress::Host for Caps {
    fn report(&mut self, done: u64, total: Option<u64>, message: String) -> wasmtime::Result<()> {
        self.record_service("progress", "report");
        let report = Progress {
            plugin: self.plugin.clone(),
            done,
            total,
            message: self.redactor.redact(super::truncate(&message, MAX_MESSAGE)),
        };
        (self.progress)(&report);
        Ok(())
    }
}

impl params::Host for Caps {
    fn get(&mut self, name: String) -> wasmtime::Result<Option<String>> {
        self.record_service("params", "get");
        Ok(self.params.get(&name).cloned())
    }

    fn all(&mut self) -> wasmtime::Result<Vec<(String, String)>> {
        self.record_service("params", "all");
        Ok(self
            .params
            .iter()
            .take(MAX_PARAMS)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
}
