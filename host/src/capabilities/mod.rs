//! What a plugin can ask the host to do: the Pleo API families (one module per scope) and the
//! host services (log, progress, params). Everything a plugin reaches goes through [`Caps`],
//! which holds the client (and so the key) on the host side, injects the company, checks the
//! scope of every call and counts calls against the run's budget.
//!
//! Every Pleo operation is a row of the call table (`table`), which also links the interfaces;
//! every Pleo call goes through the one call path (`call`). A family module holds only its host
//! functions (one line each: the row and the arguments) and the builders of its bodies.

mod accounting_entries;
mod accounts;
mod call;
mod checks;
mod companies;
mod export;
mod ownership;
mod paging;
mod planned;
mod read_ahead;
mod services;
mod table;
mod tags;
mod tax_codes;
mod users;
mod vendors;

use std::collections::BTreeMap;

use wasmtime::component::{HasSelf, Linker};

use crate::audit::{Call, RunAudit, RunTotals};
use crate::bindings::pleo::plugin::{company, log, params, progress, state, types};
use crate::credential::Redactor;
use crate::limits::Limits;
use crate::pleo::{ApiError, PleoClient};
use crate::runtime::{LimitExceeded, RunState};
use crate::scopes::ScopeSet;
use call::checked_id;
use table::Op;

pub use crate::bindings::HostError;
pub use crate::bindings::pleo::plugin::types::{
    ApiError as WitApiError, Page as WitPage, PageRequest, PleoError,
};
pub use services::{Progress, ProgressSink};
pub use table::{API_TABLE_END, API_TABLE_START, api_table_markdown};

/// Everything one run may use on the host side. Lives in the store; dropped with it.
pub struct Caps {
    pub plugin: String,
    client: PleoClient,
    company_id: String,
    /// `company_id` at the start, then the allowlist: the only companies requests may name.
    allowed_companies: Vec<String>,
    scopes: ScopeSet,
    params: BTreeMap<String, String>,
    /// Names of `params` the plugin has not asked for yet (a typo in `--param` shows here).
    params_unread: std::collections::BTreeSet<String>,
    progress: ProgressSink,
    redactor: Redactor,
    api_calls: u64,
    api_budget: u64,
    /// Bytes of log lines and summary the run may still hand the host.
    log_budget: u64,
    log_left: u64,
    /// Refused calls written to the audit one by one so far (see [`MAX_REFUSALS_RECORDED`]).
    refusals_recorded: u64,
    /// The last error Pleo (or the network) gave during this run, for the exit code.
    pub last_api_error: Option<ApiError>,
    audit: Option<RunAudit>,
    pub totals: RunTotals,
    read_ahead: read_ahead::ReadAhead,
    /// Owners learned during the run, and whether the key needs owner lookups at all.
    owners: ownership::Owners,
    /// `run --plan`: writes are recorded here instead of being sent (see `crate::plan`).
    plan: Option<crate::plan::Recorder>,
    /// The plugin's own small values (the `state` interface).
    state: crate::plugin_state::StateStore,
}

/// Refused calls (scope, bad argument, company) of one run written to the audit one by one;
/// the rest are counted in the run's totals, so a plugin cannot flood the audit with them.
pub const MAX_REFUSALS_RECORDED: u64 = 100;

/// What a run is allowed, decided before it starts.
pub struct Grant {
    pub plugin: String,
    pub company_id: String,
    /// Effective scopes: key ∩ operator grant ∩ plugin imports.
    pub scopes: ScopeSet,
    pub params: BTreeMap<String, String>,
    /// The run's limits (API calls, CPU, log bytes are enforced here).
    pub limits: Limits,
    /// Companies the plugin may switch to besides `company_id` (the operator's allowlist).
    pub other_companies: Vec<String>,
    /// The one company the key is bound to, as introspection said; `None` for an organisation
    /// key. Decides whether owners must be looked up (see `ownership`).
    pub key_company: Option<String>,
}

impl Caps {
    pub fn new(
        grant: Grant,
        client: PleoClient,
        redactor: Redactor,
        progress: ProgressSink,
        audit: Option<RunAudit>,
    ) -> Caps {
        let mut allowed_companies = vec![grant.company_id.clone()];
        for company in grant.other_companies {
            if !allowed_companies.contains(&company) {
                allowed_companies.push(company);
            }
        }
        let owners = ownership::Owners::new(grant.key_company.as_deref(), &allowed_companies);
        Caps {
            plugin: grant.plugin,
            client,
            company_id: grant.company_id,
            allowed_companies,
            scopes: grant.scopes,
            params_unread: grant.params.keys().cloned().collect(),
            params: grant.params,
            progress,
            redactor,
            api_calls: 0,
            api_budget: grant.limits.api_calls,
            log_budget: grant.limits.log_bytes,
            log_left: grant.limits.log_bytes,
            refusals_recorded: 0,
            last_api_error: None,
            audit,
            totals: RunTotals::default(),
            read_ahead: read_ahead::ReadAhead::default(),
            owners,
            plan: None,
            state: crate::plugin_state::StateStore::none(),
        }
    }

    /// Makes this a plan run: writes are recorded by `recorder`, never sent.
    pub fn with_plan(mut self, recorder: crate::plan::Recorder) -> Caps {
        self.plan = Some(recorder);
        self
    }

    /// Gives the run its plugin state.
    pub fn with_state(mut self, state: crate::plugin_state::StateStore) -> Caps {
        self.state = state;
        self
    }

    /// The writes a plan run recorded.
    pub fn take_plan(&mut self) -> Option<crate::plan::Recorder> {
        self.plan.take()
    }

    /// Parameters the plugin never read during the run.
    pub fn params_unread(&self) -> &std::collections::BTreeSet<String> {
        &self.params_unread
    }

    pub fn api_calls(&self) -> u64 {
        self.api_calls
    }

    /// Ends the run's read-ahead: a page fetched ahead and never asked for is counted in the
    /// totals, one still in flight is cancelled.
    pub fn stop_read_ahead(&mut self) {
        self.totals.read_ahead_unused = self.read_ahead.stop();
    }

    /// Retries and rate-limit waits of this run's Pleo calls.
    pub fn api_waits(&self) -> crate::pleo::WaitStats {
        self.client.run_stats()
    }

    /// This run's Pleo requests by the status of the answer.
    pub fn api_statuses(&self) -> crate::pleo::StatusCounts {
        self.client.run_statuses()
    }

    /// Records a host call in the audit log and the run totals. Every call that reached Pleo
    /// is one record (their number is bounded by `api_calls`); refused calls are recorded one
    /// by one up to [`MAX_REFUSALS_RECORDED`] a run and only counted after that.
    fn record(&mut self, call: Call) {
        self.totals.host_calls += 1;
        self.totals.retries += call.retries;
        self.totals.bytes_in += call.bytes_in;
        self.totals.bytes_out += call.bytes_out;
        if call.http.is_none() {
            if self.refusals_recorded >= MAX_REFUSALS_RECORDED {
                self.totals.refusals_not_recorded += 1;
                return;
            }
            self.refusals_recorded += 1;
        }
        if let Some(audit) = &self.audit {
            audit.call(&call);
        }
    }

    /// Counts a call to a host service (log, progress, params, company) in the run's totals.
    /// Not one audit record each: they cost a plugin nothing, so they could flood the audit.
    fn record_service(&mut self, name: &'static str, bytes: usize) {
        self.totals.host_calls += 1;
        let service = self.totals.services.entry(name).or_default();
        service.calls += 1;
        service.bytes += bytes as u64;
    }

    /// Bytes of log lines and summary the run may still hand the host, of `log_budget`.
    pub fn log_left(&self) -> u64 {
        self.log_left
    }

    pub fn log_budget(&self) -> u64 {
        self.log_budget
    }

    /// Takes a log line (or the summary) of `bytes` from the run's log budget; past the
    /// budget the run ends.
    pub fn spend_log(&mut self, bytes: u64) -> Result<(), LimitExceeded> {
        if bytes > self.log_left {
            self.log_left = 0;
            return Err(LimitExceeded::Log(self.log_budget));
        }
        self.log_left -= bytes;
        Ok(())
    }

    /// Call-time scope check (defence in depth: ungranted interfaces are not even linked).
    fn require(&mut self, op: &Op) -> Result<(), HostError> {
        if self.scopes.contains(op.scope()) {
            return Ok(());
        }
        self.record(Call {
            interface: op.interface_name(),
            function: op.function,
            scope: Some(op.scope()),
            outcome: "scope-denied",
            ..Call::default()
        });
        Err(PleoError::ScopeDenied(op.scope().to_owned()).into())
    }

    /// Records a request the host refused to send (bad id, cursor, filter) and passes it on.
    fn refused<T>(&mut self, op: &Op, request: Result<T, HostError>) -> Result<T, HostError> {
        if let Err(HostError::Guest(e)) = &request {
            let outcome = outcome_name(e);
            self.record(Call {
                interface: op.interface_name(),
                function: op.function,
                scope: Some(op.scope()),
                outcome,
                ..Call::default()
            });
        }
        request
    }

    /// Counts a call against the budget; the call over budget ends the run.
    fn spend_call(&mut self) -> Result<(), HostError> {
        if self.api_calls >= self.api_budget {
            return Err(HostError::Trap(wasmtime::Error::new(
                LimitExceeded::ApiCalls(self.api_budget),
            )));
        }
        self.api_calls += 1;
        Ok(())
    }

    /// Maps a client error to what the plugin sees, redacted, and remembers it for the exit code.
    fn api_error(&mut self, e: ApiError) -> HostError {
        let r = &self.redactor;
        let wit = match &e {
            ApiError::Status {
                status,
                code,
                message,
                retry_after,
            } => {
                let api = WitApiError {
                    status: *status,
                    code: r.redact(code),
                    message: r.redact(message),
                };
                match status {
                    401 => PleoError::Unauthorized(format!(
                        "Pleo refused the API key: {}",
                        api.message
                    )),
                    403 => PleoError::Unauthorized(format!("{}: {}", api.code, api.message)),
                    404 => PleoError::NotFound(format!("{}: {}", api.code, api.message)),
                    409 => PleoError::Conflict(api),
                    429 => PleoError::RateLimited(retry_after.unwrap_or(1)),
                    500.. => {
                        PleoError::Unavailable(format!("Pleo answered {status}: {}", api.message))
                    }
                    _ => PleoError::InvalidRequest(api),
                }
            }
            ApiError::Unreachable(cause) => PleoError::Unavailable(r.redact(cause)),
            ApiError::Decode(cause) => {
                PleoError::Unavailable(r.redact(&format!("unexpected answer: {cause}")))
            }
        };
        tracing::debug!(plugin = %self.plugin, "Pleo call failed: {}", r.redact(&e.to_string()));
        self.last_api_error = Some(e);
        HostError::Guest(wit)
    }
}

impl types::Host for Caps {
    fn convert_pleo_error(&mut self, err: HostError) -> wasmtime::Result<PleoError> {
        match err {
            HostError::Guest(e) => Ok(e),
            HostError::Trap(e) => Err(e),
        }
    }
}

/// Links the host services plus the Pleo interfaces whose scope is in `scopes` (WASI comes
/// with the runtime's base linker), from the call table. A plugin importing anything else fails
/// to instantiate; the caller checks that first to give a better message.
pub fn add_to_linker(
    linker: &mut Linker<RunState<Caps>>,
    scopes: &ScopeSet,
) -> wasmtime::Result<()> {
    types::add_to_linker::<_, HasSelf<Caps>>(linker, caps)?;
    log::add_to_linker::<_, HasSelf<Caps>>(linker, caps)?;
    progress::add_to_linker::<_, HasSelf<Caps>>(linker, caps)?;
    params::add_to_linker::<_, HasSelf<Caps>>(linker, caps)?;
    company::add_to_linker::<_, HasSelf<Caps>>(linker, caps)?;
    state::add_to_linker::<_, HasSelf<Caps>>(linker, caps)?;
    for interface in table::INTERFACES {
        if scopes.contains(interface.scope) {
            (interface.link)(linker)?;
        }
    }
    Ok(())
}

/// One row of the call table, as tools and tests read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    pub interface: &'static str,
    pub function: &'static str,
    pub scope: &'static str,
    pub method: &'static str,
    /// As the audit records it: `/v1/vendors/{id}:archive`.
    pub template: &'static str,
    /// Whether it changes something in Pleo (a plan mode records these instead of sending).
    pub writes: bool,
    /// Whether the client may repeat it after a lost answer.
    pub idempotent: bool,
    pub why: &'static str,
}

/// Every Pleo operation a plugin can call, in the call table's order.
pub fn operations() -> impl Iterator<Item = Operation> {
    table::all_ops().map(|op| Operation {
        interface: op.interface_name(),
        function: op.function,
        scope: op.scope(),
        method: op.method.as_str(),
        template: op.template,
        writes: op.effect != table::Effect::Read,
        idempotent: op.effect != table::Effect::Once,
        why: op.why,
    })
}

/// The capabilities of a run's store, for the generated `add_to_linker` functions.
fn caps(state: &mut RunState<Caps>) -> &mut Caps {
    &mut state.caps
}

/// The `pleo-error` case name, as the audit records what the plugin saw.
fn outcome_name(e: &PleoError) -> &'static str {
    match e {
        PleoError::ScopeDenied(_) => "scope-denied",
        PleoError::Unauthorized(_) => "unauthorized",
        PleoError::NotFound(_) => "not-found",
        PleoError::Conflict(_) => "conflict",
        PleoError::InvalidRequest(_) => "invalid-request",
        PleoError::RateLimited(_) => "rate-limited",
        PleoError::Unavailable(_) => "unavailable",
        PleoError::BudgetExceeded(_) => "budget-exceeded",
        PleoError::NotAllowed(_) => "company-not-allowed",
    }
}

/// The audit outcome of a host call that failed.
fn host_outcome(e: &HostError) -> &'static str {
    match e {
        HostError::Guest(e) => outcome_name(e),
        HostError::Trap(_) => "trap",
    }
}

/// A request the host refuses before anything reaches Pleo.
fn invalid(message: String) -> HostError {
    HostError::Guest(PleoError::InvalidRequest(WitApiError {
        status: 400,
        code: "HOST_REJECTED_REQUEST".into(),
        message,
    }))
}

fn truncate(s: &str, max: usize) -> &str {
    &s[..s.floor_char_boundary(max)]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every interface of the scope table has a `Host` implementation linked for it.
    #[test]
    fn every_interface_in_the_scope_table_links() {
        let runtime = crate::runtime::Runtime::new(None).unwrap();
        let mut linker = runtime.base_linker::<Caps>().unwrap();
        let all: ScopeSet = crate::scopes::known()
            .into_iter()
            .map(str::to_owned)
            .collect();
        add_to_linker(&mut linker, &all).unwrap();
    }

    fn caps(limits: Limits) -> Caps {
        let key = crate::credential::ApiKey::new("unit-test-key").unwrap();
        let grant = Grant {
            plugin: "unit".into(),
            company_id: "00000000-0000-4000-8000-000000000000".into(),
            scopes: ScopeSet::new(),
            params: BTreeMap::new(),
            limits,
            other_companies: Vec::new(),
            key_company: Some("00000000-0000-4000-8000-000000000000".into()),
        };
        let client = PleoClient::new("http://127.0.0.1:9", &key).unwrap();
        Caps::new(
            grant,
            client,
            key.redactor(),
            std::sync::Arc::new(|_: &Progress| {}),
            None,
        )
    }

    /// Log lines and the summary share one budget; the line that does not fit ends the run.
    #[test]
    fn the_log_budget_is_spent_and_then_refused() {
        let mut caps = caps(Limits {
            log_bytes: 100,
            ..Limits::default()
        });
        assert!(caps.spend_log(60).is_ok());
        assert_eq!(caps.log_left(), 40);
        assert_eq!(caps.spend_log(41), Err(LimitExceeded::Log(100)));
        assert_eq!(caps.log_left(), 0);
    }
}
