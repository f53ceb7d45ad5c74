//! End-to-end tests: the real `pleo-host` binary and library, real plugins built from
//! `plugins/`, the real mock Pleo API over HTTP, real files.

mod accounting_export;
mod approval;
mod audit;
mod authoring;
mod bad_input;
mod common;
mod companies;
mod conformance;
mod hardening;
mod isolation;
mod limits;
mod listing;
mod migrations;
mod mock_api;
mod output_quota;
mod params;
mod plugin_state;
mod pool;
mod promises;
mod read_ahead;
mod resilience;
mod schedules;
mod scopes;
mod spend_report;
mod vendor_import;
