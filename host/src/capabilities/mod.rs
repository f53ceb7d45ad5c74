//! What a plugin can ask the host to do: the Pleo API families (one module per scope) and the
//! host services (log, progress, params). Everything a plugin reaches goes through [`Caps`],
//! which holds the client (and so the key) on the host side, injects the company, checks the
//! scope of every call and counts calls against the run's budget.

mod accounting_entries;
mod accounts;
mod checks;
mod companies;
mod export;
mod ownership;
mod read_ahead;
mod services;
mod tags;
mod tax_codes;
mod users;
mod vendors;

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::Value;
use wasmtime::component::{HasSelf, Linker};

use crate::audit::{Call, RunAudit, RunTotals};
use crate::bindings::pleo::plugin::{
    accounting_entries_read, accounts_read, accounts_write, companies_read, company,
    export_items_read, export_jobs_read, export_jobs_write, log, params, progress, state,
    tags_read, tags_write, tax_codes_read, tax_codes_write, types, users_read, vendors_read,
    vendors_write,
};
use crate::credential::Redactor;
use crate::limits::Limits;
use crate::pleo::{self, ApiError, ApiRequest, PleoClient};
use crate::runtime::{LimitExceeded, RunState};
use crate::scopes::ScopeSet;
use read_ahead::Fetched;

pub use crate::bindings::pleo::plugin::types::{
    ApiError as WitApiError, Page as WitPage, PageRequest, PleoError,
};
pub use services::{Progress, ProgressSink};

/// Result of a host function: a `pleo-error` the plugin sees, or a trap that ends the run.
#[derive(Debug)]
pub enum HostError {
    Guest(PleoError),
    Trap(wasmtime::Error),
}

impl From<PleoError> for HostError {
    fn from(e: PleoError) -> Self {
        HostError::Guest(e)
    }
}

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

/// A Pleo API operation, as the audit names it.
pub(crate) struct Op {
    pub interface: &'static str,
    pub function: &'static str,
    pub scope: &'static str,
    pub method: &'static str,
    /// Path template as in Pleo's documents, e.g. `/v2/employees/{employeeId}`.
    pub template: &'static str,
    /// What a successful answer holds, so the owner of each object is checked (see `ownership`).
    pub returns: ownership::Returns,
    /// The existing object the call acts on, named by id: its owner is checked first.
    pub target: Option<ownership::Target>,
}

impl Op {
    /// Whether the operation's scope only reads (`…:read`): it changes nothing in Pleo.
    fn reads_only(&self) -> bool {
        self.scope.ends_with(":read")
    }
}

/// What the host makes of a successful Pleo answer.
#[derive(Clone, Copy)]
enum Want {
    /// A cursor page: `{data: [...], pagination}`.
    Page,
    /// The JSON text of `data`: one object, or a list Pleo does not paginate.
    Object,
    /// Like `Object`, and `data` must be an array.
    List,
    /// The whole answer, for one whose meaning is not all in `data` (`{data, errors}`).
    Json,
    /// Nothing: a 202/204 without a body (the status alone says it worked).
    Nothing,
}

/// What a successful Pleo call returned.
enum Answer {
    Page(crate::pleo::Page),
    Text(String),
    Nothing,
}

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
        if self.scopes.contains(op.scope) {
            return Ok(());
        }
        self.record(Call {
            interface: op.interface,
            function: op.function,
            scope: Some(op.scope),
            outcome: "scope-denied",
            ..Call::default()
        });
        Err(PleoError::ScopeDenied(op.scope.to_owned()).into())
    }

    /// Records a request the host refused to send (bad id, cursor, filter) and passes it on.
    fn refused<T>(&mut self, op: &Op, request: Result<T, HostError>) -> Result<T, HostError> {
        if let Err(HostError::Guest(e)) = &request {
            let outcome = outcome_name(e);
            self.record(Call {
                interface: op.interface,
                function: op.function,
                scope: Some(op.scope),
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

    async fn page(&mut self, op: &Op, req: ApiRequest) -> Result<WitPage, HostError> {
        match self.api(op, req, Want::Page).await? {
            Answer::Page(page) => Ok(WitPage {
                data: page.data,
                next_cursor: page.next_cursor,
                total: page.total,
            }),
            _ => unreachable!("asked for a page"),
        }
    }

    async fn object(&mut self, op: &Op, req: ApiRequest) -> Result<String, HostError> {
        self.text(op, req, Want::Object).await
    }

    /// A list Pleo does not paginate (`{data: [...]}`): the JSON array.
    async fn list(&mut self, op: &Op, req: ApiRequest) -> Result<String, HostError> {
        self.text(op, req, Want::List).await
    }

    /// Pleo's whole answer as JSON text, when `data` alone would lose part of it.
    async fn json(&mut self, op: &Op, req: ApiRequest) -> Result<String, HostError> {
        self.text(op, req, Want::Json).await
    }

    /// An operation that answers 202/204 without a body.
    async fn no_content(&mut self, op: &Op, req: ApiRequest) -> Result<(), HostError> {
        self.api(op, req, Want::Nothing).await.map(|_| ())
    }

    async fn text(&mut self, op: &Op, req: ApiRequest, want: Want) -> Result<String, HostError> {
        match self.api(op, req, want).await? {
            Answer::Text(text) => Ok(text),
            _ => unreachable!("asked for JSON text"),
        }
    }

    /// Sends one Pleo request for the plugin: budget, audit record, error mapping.
    async fn api(&mut self, op: &Op, req: ApiRequest, want: Want) -> Result<Answer, HostError> {
        // The one place a plan run diverts a write (or a read of a planned object).
        if let Some(plan) = &self.plan
            && (!op.reads_only() || plan.mentions_placeholder(&req))
        {
            return self.planned(op, req, want).await;
        }
        self.check_target(op, &req).await?;
        self.spend_call()?;
        let bytes_out = req.body.as_ref().map_or(0, |b| b.to_string().len() as u64);
        let started = Instant::now();
        if !op.reads_only() {
            self.read_ahead.write_coming();
        }
        let ahead = match want {
            Want::Page => self.read_ahead.take(&req).await,
            _ => None,
        };
        let read_ahead = ahead.is_some();
        let Fetched { reply, retries } = match ahead {
            Some(fetched) => fetched,
            None => read_ahead::fetch(&self.client, &req).await,
        };
        let answer = reply.and_then(|reply| {
            let answer = match want {
                Want::Page => {
                    let page = pleo::decode_page(&reply.body)?;
                    self.read_ahead_from(op, &req, page.next_cursor.as_deref());
                    Answer::Page(page)
                }
                Want::Object => Answer::Text(pleo::decode_object(&reply.body)?),
                Want::List => Answer::Text(pleo::decode_list(&reply.body)?),
                Want::Json => Answer::Text(pleo::decode_json_object(&reply.body)?),
                // Whatever a 2xx carries here (Pleo documents none) is not the plugin's.
                Want::Nothing => Answer::Nothing,
            };
            Ok((reply.status, answer))
        });
        let mut call = Call {
            interface: op.interface,
            function: op.function,
            scope: Some(op.scope),
            http: Some((op.method, op.template)),
            latency: started.elapsed(),
            retries,
            read_ahead,
            bytes_out,
            ..Call::default()
        };
        self.totals.api_calls += 1;
        match answer {
            Ok((status, answer)) => {
                call.status = Some(status);
                // Another company's object is dropped here, before the plugin sees any of it.
                if let Err(refusal) = self.check_answer(op, &answer).await {
                    call.outcome = host_outcome(&refusal);
                    self.record(call);
                    return Err(refusal);
                }
                call.outcome = "ok";
                if !op.reads_only() {
                    call.object_id = written_object(op, &req, &answer);
                }
                call.bytes_in = match &answer {
                    Answer::Page(page) => page.data.len() as u64,
                    Answer::Text(data) => data.len() as u64,
                    Answer::Nothing => 0,
                };
                self.record(call);
                Ok(answer)
            }
            Err(e) => {
                if let ApiError::Status { status, code, .. } = &e {
                    call.status = Some(*status);
                    call.error_type = Some(code.clone());
                }
                let err = self.api_error(e);
                call.outcome = host_outcome(&err);
                self.record(call);
                Err(err)
            }
        }
    }

    /// `run --plan`: records a write instead of sending it and answers as Pleo would (see
    /// `crate::plan`). Owner checks still apply; the state of an existing object is fetched
    /// once (a read, counted and audited as `plan-before`).
    async fn planned(&mut self, op: &Op, req: ApiRequest, want: Want) -> Result<Answer, HostError> {
        let Some(plan) = &self.plan else {
            unreachable!("only called in a plan run")
        };
        if op.reads_only() {
            return planned_answer(plan.read(&req, matches!(want, Want::Page)));
        }
        let target = op.target.as_ref().and_then(|t| {
            ownership::target_id(op.template, &req.path, req.body.as_ref(), &t.id)
                .map(|id| (t.kind, id))
        });
        let on_planned = target
            .as_ref()
            .is_some_and(|(_, id)| plan.is_placeholder(id));
        let needs_before = target
            .as_ref()
            .filter(|(kind, id)| kind.get.is_some() && plan.needs_before(id))
            .map(|(kind, id)| kind.get.unwrap_or_default().replace("{id}", id));
        if !on_planned {
            self.check_target(op, &req).await?;
        }
        let before = match needs_before {
            Some(path) => Some(self.fetch_before(op, path).await?),
            None => None,
        };
        self.spend_call()?;
        let write = crate::plan::WriteOp {
            interface: op.interface,
            function: op.function,
            target: target.map(|(kind, id)| (kind.name, kind.get, id)),
        };
        let company = self.company_id.clone();
        let answer = match &mut self.plan {
            Some(plan) => plan.record(
                &write,
                &company,
                &req,
                before,
                matches!(want, Want::Json),
                matches!(want, Want::Nothing),
            ),
            None => unreachable!("only called in a plan run"),
        };
        let (plan_id, object_id) = match &self.plan {
            Some(plan) => (
                Some(plan.plan_id.clone()),
                plan.writes().last().and_then(|w| {
                    w.placeholders
                        .first()
                        .cloned()
                        .or_else(|| w.target.as_ref().map(|t| t.id.clone()))
                }),
            ),
            None => (None, None),
        };
        self.record(Call {
            interface: op.interface,
            function: op.function,
            scope: Some(op.scope),
            http: Some((op.method, op.template)),
            bytes_out: req.body.as_ref().map_or(0, |b| b.to_string().len() as u64),
            outcome: "planned",
            object_id,
            plan_id,
            ..Call::default()
        });
        planned_answer(answer)
    }

    /// The current state of the object a planned write acts on: one `GET`, counted and audited.
    async fn fetch_before(&mut self, op: &Op, path: String) -> Result<Value, HostError> {
        self.spend_call()?;
        let started = Instant::now();
        let Fetched { reply, retries } =
            read_ahead::fetch(&self.client, &ApiRequest::get(path)).await;
        let object = reply.and_then(|reply| pleo::decode_object(&reply.body));
        self.totals.api_calls += 1;
        let mut call = Call {
            interface: op.interface,
            function: op.function,
            scope: Some(op.scope),
            http: Some(("GET", op.template)),
            latency: started.elapsed(),
            retries,
            outcome: "plan-before",
            ..Call::default()
        };
        match object {
            Ok(text) => {
                call.status = Some(200);
                call.bytes_in = text.len() as u64;
                self.record(call);
                serde_json::from_str(&text).map_err(|e| {
                    HostError::Guest(PleoError::Unavailable(format!("unexpected answer: {e}")))
                })
            }
            Err(e) => {
                if let ApiError::Status { status, .. } = &e {
                    call.status = Some(*status);
                }
                let err = self.api_error(e);
                self.record(call);
                Err(err)
            }
        }
    }

    /// Lets the read-ahead fetch the page after this one, if the operator allows it, the
    /// list is only read, and the run's budget has room for the plugin to ask for it.
    fn read_ahead_from(&mut self, op: &Op, req: &ApiRequest, next: Option<&str>) {
        let allowed =
            self.client.options().read_ahead && op.reads_only() && self.api_calls < self.api_budget;
        if allowed {
            self.read_ahead.page_given(req, next, &self.client);
        }
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

/// Links WASI plus the host services plus the Pleo interfaces whose scope is in `scopes`.
/// A plugin importing anything else fails to instantiate; the caller checks that first to
/// give a better message.
pub fn add_to_linker(
    linker: &mut Linker<RunState<Caps>>,
    scopes: &ScopeSet,
) -> wasmtime::Result<()> {
    fn caps(state: &mut RunState<Caps>) -> &mut Caps {
        &mut state.caps
    }
    types::add_to_linker::<_, HasSelf<Caps>>(linker, caps)?;
    log::add_to_linker::<_, HasSelf<Caps>>(linker, caps)?;
    progress::add_to_linker::<_, HasSelf<Caps>>(linker, caps)?;
    params::add_to_linker::<_, HasSelf<Caps>>(linker, caps)?;
    company::add_to_linker::<_, HasSelf<Caps>>(linker, caps)?;
    state::add_to_linker::<_, HasSelf<Caps>>(linker, caps)?;
    for (interface, scope) in crate::scopes::INTERFACE_SCOPES {
        if !scopes.contains(*scope) {
            continue;
        }
        match *interface {
            "users-read" => users_read::add_to_linker::<_, HasSelf<Caps>>(linker, caps)?,
            "accounting-entries-read" => {
                accounting_entries_read::add_to_linker::<_, HasSelf<Caps>>(linker, caps)?
            }
            "companies-read" => companies_read::add_to_linker::<_, HasSelf<Caps>>(linker, caps)?,
            "export-jobs-read" => {
                export_jobs_read::add_to_linker::<_, HasSelf<Caps>>(linker, caps)?
            }
            "export-jobs-write" => {
                export_jobs_write::add_to_linker::<_, HasSelf<Caps>>(linker, caps)?
            }
            "export-items-read" => {
                export_items_read::add_to_linker::<_, HasSelf<Caps>>(linker, caps)?
            }
            "vendors-read" => vendors_read::add_to_linker::<_, HasSelf<Caps>>(linker, caps)?,
            "vendors-write" => vendors_write::add_to_linker::<_, HasSelf<Caps>>(linker, caps)?,
            "accounts-read" => accounts_read::add_to_linker::<_, HasSelf<Caps>>(linker, caps)?,
            "accounts-write" => accounts_write::add_to_linker::<_, HasSelf<Caps>>(linker, caps)?,
            "tags-read" => tags_read::add_to_linker::<_, HasSelf<Caps>>(linker, caps)?,
            "tags-write" => tags_write::add_to_linker::<_, HasSelf<Caps>>(linker, caps)?,
            "tax-codes-read" => tax_codes_read::add_to_linker::<_, HasSelf<Caps>>(linker, caps)?,
            "tax-codes-write" => tax_codes_write::add_to_linker::<_, HasSelf<Caps>>(linker, caps)?,
            other => unreachable!("interface {other} is in the scope table but not linked"),
        }
    }
    Ok(())
}

/// The object a successful write created or changed: its target, else the `id` of the object
/// it answered with.
fn written_object(op: &Op, req: &ApiRequest, answer: &Answer) -> Option<String> {
    if !op.function.starts_with("create-")
        && let Some(target) = &op.target
        && let Some(id) =
            ownership::target_id(op.template, &req.path, req.body.as_ref(), &target.id)
    {
        return Some(id);
    }
    match answer {
        Answer::Text(text) => serde_json::from_str::<Value>(text)
            .ok()?
            .get("id")?
            .as_str()
            .map(str::to_owned),
        _ => None,
    }
}

/// What the plugin gets for a planned call.
fn planned_answer(planned: crate::plan::Planned) -> Result<Answer, HostError> {
    use crate::plan::Planned;
    match planned {
        Planned::Text(text) => Ok(Answer::Text(text)),
        Planned::EmptyPage => Ok(Answer::Page(crate::pleo::Page {
            data: "[]".into(),
            next_cursor: None,
            total: Some(0),
        })),
        Planned::Nothing => Ok(Answer::Nothing),
        Planned::NotFound => Err(HostError::Guest(PleoError::NotFound(
            "NOT_FOUND: the object is planned, not created yet".into(),
        ))),
    }
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

/// Checks an id a plugin passes before it becomes part of a URL path.
fn checked_id(id: &str) -> Result<&str, HostError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(id)
    } else {
        Err(invalid(format!("`{}` is not a valid id", truncate(id, 80))))
    }
}

/// Adds `after`/`limit` to a list request, with the limit clamped to what the endpoint allows.
fn paged(req: ApiRequest, page: &PageRequest, max_limit: u32) -> Result<ApiRequest, HostError> {
    if let Some(after) = &page.after
        && (after.is_empty() || after.len() > 1024 || !after.chars().all(|c| c.is_ascii_graphic()))
    {
        return Err(invalid("the page cursor is malformed".into()));
    }
    let limit = page.limit.map(|l| l.clamp(1, max_limit).to_string());
    Ok(req
        .query_opt("after", page.after.clone())
        .query_opt("limit", limit))
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
