//! What a plugin can ask the host to do: the Pleo API families (one module per scope) and the
//! host services (log, progress, params). Everything a plugin reaches goes through [`Caps`],
//! which holds the client (and so the key) on the host side, injects the company, checks the
//! scope of every call and counts calls against the run's budget.

mod accounting_entries;
mod services;
mod users;

use std::collections::BTreeMap;

use wasmtime::component::{HasSelf, Linker};

use crate::bindings::pleo::plugin::{
    accounting_entries_read, log, params, progress, types, users_read,
};
use crate::credential::Redactor;
use crate::pleo::{ApiError, ApiRequest, PleoClient};
use crate::runtime::{LimitExceeded, RunState};
use crate::scopes::ScopeSet;

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
    scopes: ScopeSet,
    params: BTreeMap<String, String>,
    progress: ProgressSink,
    redactor: Redactor,
    api_calls: u64,
    api_budget: u64,
    /// The last error Pleo (or the network) gave during this run, for the exit code.
    pub last_api_error: Option<ApiError>,
}

/// What a run is allowed, decided before it starts.
pub struct Grant {
    pub plugin: String,
    pub company_id: String,
    /// Effective scopes: key ∩ operator grant ∩ plugin imports.
    pub scopes: ScopeSet,
    pub params: BTreeMap<String, String>,
    pub api_budget: u64,
}

impl Caps {
    pub fn new(
        grant: Grant,
        client: PleoClient,
        redactor: Redactor,
        progress: ProgressSink,
    ) -> Caps {
        Caps {
            plugin: grant.plugin,
            client,
            company_id: grant.company_id,
            scopes: grant.scopes,
            params: grant.params,
            progress,
            redactor,
            api_calls: 0,
            api_budget: grant.api_budget,
            last_api_error: None,
        }
    }

    pub fn api_calls(&self) -> u64 {
        self.api_calls
    }

    /// Call-time scope check (defence in depth: ungranted interfaces are not even linked).
    fn require(&self, scope: &str) -> Result<(), HostError> {
        if self.scopes.contains(scope) {
            Ok(())
        } else {
            Err(PleoError::ScopeDenied(scope.to_owned()).into())
        }
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

    async fn page(&mut self, req: ApiRequest) -> Result<WitPage, HostError> {
        self.spend_call()?;
        match self.client.get_page(&req).await {
            Ok(page) => Ok(WitPage {
                data: page.data,
                next_cursor: page.next_cursor,
                total: page.total,
            }),
            Err(e) => Err(self.api_error(e)),
        }
    }

    async fn object(&mut self, req: ApiRequest) -> Result<String, HostError> {
        self.spend_call()?;
        match self.client.get_object(&req).await {
            Ok(data) => Ok(data),
            Err(e) => Err(self.api_error(e)),
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
    for (interface, scope) in crate::scopes::INTERFACE_SCOPES {
        if !scopes.contains(*scope) {
            continue;
        }
        match *interface {
            "users-read" => users_read::add_to_linker::<_, HasSelf<Caps>>(linker, caps)?,
            "accounting-entries-read" => {
                accounting_entries_read::add_to_linker::<_, HasSelf<Caps>>(linker, caps)?
            }
            other => unreachable!("interface {other} is in the scope table but not linked"),
        }
    }
    Ok(())
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
