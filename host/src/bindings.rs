//! Host-side bindings generated from `wit/`, the single contract with plugins, and the two
//! things the generated code needs from the host: the error type of every Pleo function
//! ([`HostError`]) and how the runtime starts a linked plugin ([`runtime::Prepared`]).
//!
//! It imports nothing else of the host, so the capabilities (which implement the generated
//! `Host` traits) and the runtime (which knows no world) can both depend on it without a
//! circle.

use crate::runtime::{self, Started};

wasmtime::component::bindgen!({
    path: "../wit",
    world: "plugin",
    imports: {
        // Host services answer from memory: plain calls, no future to poll.
        "pleo:plugin/log": trappable,
        "pleo:plugin/progress": trappable,
        "pleo:plugin/params": trappable,
        "pleo:plugin/company": trappable,
        // A small local SQLite file: plain calls too.
        "pleo:plugin/state": trappable,
        // Pleo API calls await HTTP; a failure the plugin should see is a `pleo-error`,
        // anything else traps the run.
        default: async | trappable,
    },
    exports: { default: async },
    trappable_error_type: { "pleo:plugin/types.pleo-error" => crate::bindings::HostError },
});

/// Result of a host function: a `pleo-error` the plugin sees, or a trap that ends the run.
#[derive(Debug)]
pub enum HostError {
    Guest(pleo::plugin::types::PleoError),
    Trap(wasmtime::Error),
}

impl From<pleo::plugin::types::PleoError> for HostError {
    fn from(e: pleo::plugin::types::PleoError) -> Self {
        HostError::Guest(e)
    }
}

/// The `plugin` world's entry point, for the runtime: instantiate, then call `run`.
impl<T: Send + 'static> runtime::Prepared<T> for PluginPre<T> {
    async fn start(
        &self,
        store: &mut wasmtime::Store<T>,
        instantiated: &mut Option<std::time::Instant>,
    ) -> Started {
        let instance = match self.instantiate_async(&mut *store).await {
            Ok(instance) => instance,
            Err(e) => return Started::NotInstantiated(e),
        };
        *instantiated = Some(std::time::Instant::now());
        match instance.call_run(&mut *store).await {
            Ok(answer) => Started::Ran(answer),
            Err(e) => Started::Trapped(e),
        }
    }
}
