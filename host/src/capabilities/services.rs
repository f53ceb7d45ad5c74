//! Host services every plugin may use without a grant: log, progress and params.

use std::sync::Arc;

use super::Caps;
use crate::bindings::pleo::plugin::{company, log, params, progress, state};
use crate::limits::LOG_LINE_COST;
use crate::terminal;

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
        self.record_service("log.write", message.len());
        let kept = super::truncate(&message, MAX_MESSAGE);
        self.spend_log(kept.len() as u64 + LOG_LINE_COST)?;
        let message = self.redactor.redact(kept);
        let message = terminal::line(&message);
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
        // Not charged to the log budget: the CLI draws at most one progress line a second.
        self.record_service("progress.report", message.len());
        let message = self.redactor.redact(super::truncate(&message, MAX_MESSAGE));
        let report = Progress {
            plugin: self.plugin.clone(),
            done,
            total,
            message: terminal::line(&message).into_owned(),
        };
        (self.progress)(&report);
        Ok(())
    }
}

impl params::Host for Caps {
    fn get(&mut self, name: String) -> wasmtime::Result<Option<String>> {
        self.record_service("params.get", name.len());
        self.params_unread.remove(&name);
        Ok(self.params.get(&name).cloned())
    }

    fn all(&mut self) -> wasmtime::Result<Vec<(String, String)>> {
        self.record_service("params.all", 0);
        self.params_unread.clear();
        Ok(self
            .params
            .iter()
            .take(MAX_PARAMS)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
}

impl company::Host for Caps {
    fn current(&mut self) -> wasmtime::Result<String> {
        self.record_service("company.current", 0);
        Ok(self.company_id.clone())
    }

    fn allowed(&mut self) -> wasmtime::Result<Vec<String>> {
        self.record_service("company.allowed", 0);
        Ok(self.allowed_companies.clone())
    }

    fn use_company(&mut self, company_id: String) -> wasmtime::Result<Result<(), String>> {
        if !self.allowed_companies.contains(&company_id) {
            self.record(super::Call {
                interface: "company",
                function: "use-company",
                outcome: "company-not-allowed",
                ..super::Call::default()
            });
            let shown = super::truncate(&company_id, 80);
            return Ok(Err(format!(
                "company {shown} is not allowed for this run; the operator lists allowed companies in pleo.toml `companies`"
            )));
        }
        self.record_service("company.use-company", company_id.len());
        tracing::debug!(plugin = %self.plugin, company = %company_id, "plugin switched company");
        self.company_id = company_id;
        Ok(Ok(()))
    }
}

impl state::Host for Caps {
    fn get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        self.record_service("state.get", key.len());
        self.state
            .get(&self.company_id, &key)
            .map_err(wasmtime::Error::msg)
    }

    fn set(&mut self, key: String, value: String) -> wasmtime::Result<Result<(), String>> {
        self.record_service("state.set", key.len() + value.len());
        Ok(self.state.set(&self.company_id, &key, &value))
    }

    fn delete(&mut self, key: String) -> wasmtime::Result<bool> {
        self.record_service("state.delete", key.len());
        self.state
            .delete(&self.company_id, &key)
            .map_err(wasmtime::Error::msg)
    }

    fn keys(&mut self, prefix: String) -> wasmtime::Result<Vec<String>> {
        self.record_service("state.keys", prefix.len());
        self.state
            .list(&self.company_id, &prefix)
            .map_err(wasmtime::Error::msg)
    }
}
