//! Host-side bindings generated from `wit/`, the single contract with plugins.

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
    trappable_error_type: { "pleo:plugin/types.pleo-error" => crate::capabilities::HostError },
});
