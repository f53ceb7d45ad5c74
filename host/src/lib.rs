//! pleo-host runs sandboxed WebAssembly plugins against the Pleo API while holding the API key
//! itself. Data flows one way: config -> credential -> client -> capabilities -> plugin.

pub mod apply;
pub mod approval;
pub mod audit;
pub mod authoring;
pub mod bindings;
pub mod capabilities;
pub mod cli;
pub mod config;
pub mod cpu_meter;
pub mod credential;
pub mod daemon;
pub mod daemon_metrics;
pub mod error;
pub mod first_party;
pub mod history;
pub mod inspect;
pub mod limits;
#[cfg(feature = "mock")]
pub use pleo_mock as mock;
pub mod out_quota;
pub mod output;
pub mod plan;
pub mod pleo;
pub mod plugin_list;
pub mod plugin_meta;
pub mod plugin_state;
pub mod plugins;
pub mod runtime;
pub mod scaffold;
pub mod schedule;
pub mod scopes;
pub mod session;
pub mod statedb;
pub mod terminal;
