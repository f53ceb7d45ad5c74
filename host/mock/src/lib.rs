//! A mock of Pleo's External API, served over real HTTP.
//!
//! The host starts it in-process (tests, demos) or standalone (`pleo-host mock-api`).
//! Response shapes follow Pleo's published OpenAPI documents: single objects as
//! `{"data": ...}`, lists as `{"data": [...], "pagination": {...}}`, errors as
//! `{"type": ..., "message": ...}`.
//!
//! The data is generated from a seed ([`Dataset::seed`]) so that the same
//! [`MockConfig`] always yields the same company, employees and accounting entries.
//! Starting is quick: each company's entries, receipts, master data and export jobs (its
//! [`Ledger`]) are made when a request first needs them, the same whichever request that is.
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
//! | `GET /v1/accounting-entries/{id}/receipts[/{receiptId}]`, `POST /v1/accounting-entries/receipts:search` | `accounting-entries:read` |
//! | `GET /v3/export-jobs`, `GET /v3/export-jobs/{jobId}`, `GET /v3/export-jobs/{jobId}/items` | `export-jobs:read` |
//! | `POST /v3/export-jobs`, `PUT /v3/export-jobs/{jobId}/items`, `POST /v3/export-job-events` | `export-jobs:write` |
//! | `GET /v3/export-items?job_id=` | `export-items:read` |
//! | `POST /v1/vendors:search`, `GET /v1/vendors/{id}` | `vendors:read` |
//! | `POST /v1/vendors`, `PUT /v1/vendors/{id}`, `POST /v1/vendors/{id}:archive`, `POST /v1/vendors/{id}:activate` | `vendors:write` |
//! | `POST /v1/vendors/csv-import/jobs:search`, `GET /v1/vendors/csv-import/jobs/{jobId}[/errors]` | `vendors:read` |
//! | `POST /v1/vendors/csv-import/jobs`, `POST …/jobs/{jobId}:get-presigned-url`, `POST …/jobs/{jobId}:run`, `PUT …/jobs/{jobId}/metadata`, `PUT …/jobs/{jobId}/status` | `vendors:write` |
//! | `PUT /mock-s3/csv-import/{jobId}?token=` (the presigned upload URL: no key, the token) | none |
//! | `POST /v1/chart-of-accounts:search`, `GET /v1/chart-of-accounts/{accountId}` | `accounts:read` |
//! | `POST /v1/chart-of-accounts`, `POST /v1/chart-of-accounts/batch`, `PUT`/`DELETE /v1/chart-of-accounts/{accountId}` | `accounts:write` |
//! | `GET /v0/tag-groups`, `GET /v0/tag-groups/{groupId}`, `GET /v0/tag-groups/{groupId}/tags`, `GET /v0/tags/{tagId}` | `tag-groups:read` |
//! | `POST /v0/tag-groups`, `PUT /v0/tag-groups/{groupId}`, `POST /v0/tag-groups/{groupId}/tags`, `PUT /v0/tags/{tagId}` | `tag-groups:write` |
//! | `GET /v0/aggregations/tag-groups`, `POST /v0/aggregations/tags`, `GET /v0/tag-groups/{groupId}/dimensions[/{dimensionId}]`, `GET /v0/tags/{tagId}/dimensions[/{dimensionId}]` | `tag-groups:read` |
//! | `POST`/`PUT`/`DELETE` of `/v0/tag-groups/{groupId}/dimensions[/{dimensionId}]` and `/v0/tags/{tagId}/dimensions/{dimensionId}` | `tag-groups:write` |
//! | `POST /v0/tax-codes:search`, `GET /v0/tax-codes/{taxCodeId}` | `tax-codes:read` |
//! | `POST /v0/tax-codes`, `PUT /v0/tax-codes/{taxCodeId}` | `tax-codes:write` |
//!
//! `limit` is 1..=100 everywhere (default 20), except receipts (default 10) and the export API
//! (0..=100: its documents say `minimum: 0`); most documents give no maximum, and the mock
//! answers 400 outside these bounds.
//!
//! Write calls change a live copy of the seeded master data and export jobs (see
//! `store`); the export job life cycle, its errors and expiry are described in `exports`.
//! The mock has its own clock ([`MockServer::now`], [`MockServer::advance_clock`]) for every
//! timestamp it writes: real time, plus what a test added. The seeded data lies before
//! [`Dataset::epoch`], fixed by the anchor, so it is the same whenever the mock runs.
//!
//! With [`MockConfig::companies`] above 1 the key covers an organization of several
//! companies: `/v1/introspect` names the organization, `company_id` (`companyId` on
//! employees) picks one of them, and leaving it out means all of them, except on
//! the accounting-entry and receipt searches, which then need `company_id` or
//! `organization_id`, and on export jobs and master data (accounts, tax codes, tags,
//! vendors), which act on exactly one company named by `company_id` (`companyId` in bodies);
//! tag groups can also be listed by `organization_id`.
//!
//! Module map. One module per family, each with its records, their seeding, its routes and
//! handlers: `identity` (introspect, installation), `companies`, `employees`, `entries`
//! (`entries/records`, `entries/seed`, the search with its filters in `entries/search`, the
//! v6 core view in `entries/core`, and by id), `receipts`, `exports` (jobs, items, events),
//! `export_items`, `vendors`, `vendor_import` (CSV import jobs, the presigned upload, the
//! importer), `accounts`, `tags` (with `dimensions`: tag group dimensions, tag values,
//! aggregations), `tax_codes`. Shared by all of them: `extract` (path ids, query pairs
//! and JSON bodies, with Pleo's 400 for a bad one), `rest` (answers, company checks, body
//! fields, the 404 for every method and path it does not serve), `paging` (cursors),
//! `error` (error bodies). The data: `catalog` (static names and vendors), `data` (the
//! containers: [`Dataset`], [`CompanyData`], [`Ledger`], and the reference data every family
//! points at), `seed` (the order of the generation, the reference data, the rng helpers),
//! `master` (seeds master data, receipts and export jobs after the entries), `clock`, `store`
//! (live state).
//! Serving: `server` (listener, auth), `scopes` (Pleo's scope per route), `faults`
//! (injected 429/503/dropped connections/latency and a per-key rate limit, see
//! [`FaultConfig`]), `rate_limit`, `settings`, `recorder` (keeps every exchange for tests,
//! see [`MockConfig::record`]).

mod accounts;
mod catalog;
mod clock;
mod companies;
mod data;
mod dimensions;
mod employees;
mod entries;
mod error;
mod export_items;
mod exports;
mod extract;
mod faults;
mod identity;
mod master;
mod paging;
mod rate_limit;
mod receipts;
mod recorder;
mod rest;
pub mod scopes;
mod seed;
mod server;
pub mod settings;
mod store;
mod tags;
mod tax_codes;
mod vendor_import;
mod vendors;

#[cfg(test)]
mod export_tests;
#[cfg(test)]
mod master_tests;
#[cfg(test)]
mod test_client;
#[cfg(test)]
mod tests;

pub use accounts::AccountRecord;
pub use companies::{Address, Company};
pub use data::{
    Account, CompanyData, Dataset, Ledger, ORGANIZATION_URN_PREFIX, Tag, TagGroup, TaxCode, Team,
    Vendor,
};
pub use dimensions::{TagDimensionRecord, TagDimensionValueRecord};
pub use employees::Employee;
pub use entries::{
    AccountingEntry, Attendee, EntryTag, ExportStatus, Family, Money, ReviewStatus, SplitItem,
    Status, SubFamily, Supplier,
};
pub use exports::{EXPIRES_IN_SECONDS, ExportJob, ExportJobItem, ItemStatus, JobStatus};
pub use faults::{FaultConfig, FaultCounts, FaultRates, RouteFaults};
pub use identity::ApiClient;
pub use master::MasterData;
pub use rate_limit::RateLimit;
pub use receipts::Receipt;
pub use recorder::Exchange;
pub use server::MockServer;
pub use settings::{MockFaults, MockRouteFaults, MockSettings, Seconds, Share};
pub use tags::{TagGroupRecord, TagRecord};
pub use tax_codes::{TaxCodeRecord, TaxType};
pub use vendor_import::{ImportJob, ImportStatus, RowError};
pub use vendors::{VendorRecord, VendorState};

/// The API key the mock accepts unless configured otherwise.
pub const MOCK_API_KEY: &str = "pleo-mock-key";

/// Seed used when none is given ("PLEO" in ASCII).
pub const DEFAULT_SEED: u64 = 0x504C_454F;

/// Every scope the mock's routes check, in Pleo's `resource:permission` spelling.
pub fn all_scopes() -> Vec<String> {
    scopes::all().into_iter().map(str::to_owned).collect()
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
    /// Whether routes need staging's or production's spelling of a scope (they differ for
    /// tags: `tag-groups:read` or `tag-group:read`).
    pub scope_spelling: scopes::Spelling,
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
    /// Test switch: keep every request and answer for [`MockServer::exchanges`].
    pub record: bool,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            seed: DEFAULT_SEED,
            api_key: MOCK_API_KEY.to_string(),
            scopes: all_scopes(),
            scope_spelling: scopes::Spelling::Staging,
            employees: 50,
            entries: 4000,
            companies: 1,
            echo_authorization: false,
            anchor: chrono::Utc::now().date_naive(),
            latency: None,
            faults: FaultConfig::default(),
            record: false,
        }
    }
}
