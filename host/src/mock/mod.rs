//! A mock of Pleo's External API, served over real HTTP.
//!
//! The host starts it in-process (tests, demos) or standalone (`pleo-host mock-api`).
//! Response shapes follow Pleo's published OpenAPI documents: single objects as
//! `{"data": ...}`, lists as `{"data": [...], "pagination": {...}}`, errors as
//! `{"type": ..., "message": ...}`.
//!
//! The data is generated from a seed ([`Dataset::seed`]) so that the same
//! [`MockConfig`] always yields the same company, employees and accounting entries.
//!
//! Routes (every one needs `Authorization: Basic base64("<key>:")`, else 401):
//!
//! | Route | Scope |
//! |---|---|
//! | `GET /v1/introspect` | any valid key |
//! | `GET /v1/installations/me` | any valid key |
//! | `GET /v1/companies`, `GET /v1/companies/{companyId}` | `companies:read` |
//! | `GET /v2/employees`, `GET /v2/employees/{employeeId}` | `users:read` |
//! | `POST /v1/accounting-entries:search`, `GET /v1/accounting-entries/{id}` | `accounting-entries:read` |
//!
//! With [`MockConfig::companies`] above 1 the key covers an organization of several
//! companies: `/v1/introspect` names the organization, `company_id` (`companyId` on
//! employees) picks one of them, and leaving it out means all of them, except on
//! the accounting-entry search, which then needs `company_id` or `organization_id`.
//!
//! Module map: `catalog` (static names and vendors), `seed` (generation), `data`
//! (the model), `server` (listener, auth), `handlers` (routes), `paging`
//! (cursors), `search` (accounting-entry filters), `error` (error bodies), `faults`
//! (injected 429/503/dropped connections/latency and a per-key rate limit, see
//! [`FaultConfig`]).

mod catalog;
mod data;
mod error;
mod faults;
mod handlers;
mod paging;
mod search;
mod seed;
mod server;

#[cfg(test)]
mod tests;

pub use data::{
    Account, AccountingEntry, Address, ApiClient, Attendee, Company, CompanyData, Dataset,
    Employee, EntryTag, ExportStatus, Family, Money, ORGANIZATION_URN_PREFIX, ReviewStatus,
    SplitItem, Status, SubFamily, Supplier, Tag, TagGroup, TaxCode, Team, Vendor,
};
pub use faults::{FaultConfig, FaultCounts, FaultRates, RouteFaults};
pub use server::MockServer;

/// The API key the mock accepts unless configured otherwise.
pub const MOCK_API_KEY: &str = "pleo-mock-key";

/// Seed used when none is given ("PLEO" in ASCII).
pub const DEFAULT_SEED: u64 = 0x504C_454F;

/// Every scope the mock knows about, in Pleo's `resource:permission` spelling.
pub fn all_scopes() -> Vec<String> {
    [
        "users:read",
        "companies:read",
        "accounting-entries:read",
        "export-jobs:read",
        "export-jobs:write",
        "export-items:read",
        "vendors:read",
        "vendors:write",
        "accounts:read",
        "accounts:write",
        "tag-groups:read",
        "tag-groups:write",
        "tax-codes:read",
        "tax-codes:write",
    ]
    .into_iter()
    .map(String::from)
    .collect()
}

/// How the mock server behaves and what data it serves.
#[derive(Clone, Debug)]
pub struct MockConfig {
    /// Seed for the dataset; the same config always produces the same data.
    pub seed: u64,
    /// The only key accepted, sent as HTTP Basic `base64("<key>:")`.
    pub api_key: String,
    /// Scopes granted to that key.
    pub scopes: Vec<String>,
    /// Number of employees to generate.
    pub employees: usize,
    /// Number of accounting entries to generate (exactly this many).
    pub entries: usize,
    /// Companies the key covers. 1 (the default) is a key made for one company.
    /// More make an organization-level key over that many companies: company 0 is
    /// the same as with 1, each other one has its own, smaller data (see
    /// [`Dataset::companies`]).
    pub companies: usize,
    /// Hostile-server switch for redaction tests: every error body's `message` then
    /// repeats the raw `Authorization` header of the request.
    pub echo_authorization: bool,
    /// The data covers the 12 months ending on this date (inclusive).
    pub anchor: chrono::NaiveDate,
    /// Delay before answering each request, as a far-away Pleo would (benchmarks).
    pub latency: Option<std::time::Duration>,
    /// Injected faults and a per-key rate limit (default: none).
    pub faults: FaultConfig,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            seed: DEFAULT_SEED,
            api_key: MOCK_API_KEY.to_string(),
            scopes: all_scopes(),
            employees: 50,
            entries: 4000,
            companies: 1,
            echo_authorization: false,
            anchor: chrono::Utc::now().date_naive(),
            latency: None,
            faults: FaultConfig::default(),
        }
    }
}
