//! The call table: every Pleo operation a plugin can ask for, one row each, and every Pleo
//! interface, one row each with the function that links it.
//!
//! A row says everything the host does with the operation apart from building its query and
//! body: the WIT interface and function (the audit's names), the scope (the interface's, spelt
//! once in `scopes.rs`), the HTTP method and path template (filled with checked ids by
//! `call::fill`, and recorded as they are by the audit, so the audit and the request come from
//! the same row), what a successful answer holds, whether the operation changes Pleo and may be
//! repeated, and which company owns what it reads or acts on (`ownership`). `why` says why the
//! row is as it is, for a reviewer and for whoever changes it.
//!
//! Adding a Pleo family on the host side: its WIT file (and its import in `world.wit`), its
//! scope in `scopes.rs`, a capability module with its host functions and body builders, and
//! its rows here, with its interface in [`INTERFACES`]. The tests below check the table against
//! the WIT files and the scope table.

use wasmtime::component::{HasSelf, Linker};

use super::ownership::{
    ACCOUNT, AGGREGATED_TAG, COMPANY, EMPLOYEE, ENTRY, EXPORT_ITEM, EXPORT_JOB, EXPORT_JOB_ITEM,
    IMPORT_JOB, IMPORT_ROW_ERROR, IdAt, Kind, Owner, RECEIPT, Returns, TAG, TAG_DIMENSION_VALUE,
    TAG_GROUP, TAG_GROUP_DIMENSION, TAX_CODE, Target, VENDOR,
};
use super::{Caps, caps};
use crate::bindings::pleo::plugin::{
    accounting_entries_read, accounts_read, accounts_write, companies_read, export_items_read,
    export_jobs_read, export_jobs_write, tags_read, tags_write, tax_codes_read, tax_codes_write,
    users_read, vendors_read, vendors_write,
};
use crate::runtime::RunState;
use crate::scopes::scope_for;

/// A Pleo interface of the WIT world: one scope, the function that links its host functions,
/// and its operations.
pub(crate) struct Interface {
    /// As in `wit/` and in a plugin's imports: `users-read`.
    pub name: &'static str,
    /// The scope gating it, from `scopes.rs` (a name missing there fails the build).
    pub scope: &'static str,
    /// Adds its host functions to a linker; only interfaces whose scope the run has are linked.
    pub link: fn(&mut Linker<RunState<Caps>>) -> wasmtime::Result<()>,
    pub ops: &'static [&'static Op],
}

/// A Pleo API operation: one row of the call table.
pub(crate) struct Op {
    pub interface: &'static Interface,
    /// The WIT function, as the audit names it: `get-employee`.
    pub function: &'static str,
    pub method: Method,
    /// Path as in Pleo's documents, e.g. `/v2/employees/{employeeId}`: each `{…}` is filled
    /// with a checked id, in order. The audit records the template, never the ids.
    pub template: &'static str,
    /// What a successful answer holds, and so what the plugin gets.
    pub answer: Want,
    pub effect: Effect,
    /// What a successful answer holds, for the owner check (see `ownership`).
    pub returns: Returns,
    /// The existing object the call acts on, named by id: its owner is checked first.
    pub target: Option<Target>,
    /// Why the row is as it is: why a write is (not) idempotent, why an answer carries no owner.
    pub why: &'static str,
}

impl Op {
    /// The scope the operation needs: its interface's.
    pub fn scope(&self) -> &'static str {
        self.interface.scope
    }

    pub fn interface_name(&self) -> &'static str {
        self.interface.name
    }

    /// The field of each object of the answer that names its owner (or its owner's parent),
    /// when the answer holds objects with an owner.
    pub fn owner_field(&self) -> Option<&'static str> {
        match self.returns {
            Returns::Objects(kind) => match kind.owner {
                Owner::Company(field) | Owner::Parent(field, _) => Some(field),
            },
            Returns::Unowned => None,
        }
    }
}

/// The HTTP methods Pleo's operations use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Post,
    Put,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }

    pub fn http(self) -> reqwest::Method {
        match self {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Delete => reqwest::Method::DELETE,
        }
    }
}

/// What the host makes of a successful Pleo answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Want {
    /// A cursor page: `{data: [...], pagination}`.
    Page,
    /// The JSON text of `data`: one object.
    Object,
    /// The JSON text of `data`, which must be an array: a list Pleo does not paginate.
    List,
    /// The whole answer, for one whose meaning is not all in `data` (`{data, errors}`).
    Json,
    /// Nothing: a 202/204 without a body (the status alone says it worked).
    Nothing,
}

/// Whether an operation changes Pleo, and whether sending it twice is safe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Effect {
    /// Changes nothing (a `…:read` scope): repeated after any transient failure, and a list
    /// may be read ahead.
    Read,
    /// A write that, applied twice, has the effect of applying it once (`why` says why): the
    /// client repeats it like a read after a lost answer or a 502/503/504.
    Idempotent,
    /// A write a repeat could apply twice: repeated only when it surely did not reach Pleo
    /// (a 429, a connection that never opened).
    Once,
}

/// Every Pleo interface the host implements. Drives linking; `scopes.rs` is checked against it.
pub(crate) static INTERFACES: &[&Interface] = &[
    &USERS_READ,
    &COMPANIES_READ,
    &ACCOUNTING_ENTRIES_READ,
    &EXPORT_JOBS_READ,
    &EXPORT_JOBS_WRITE,
    &EXPORT_ITEMS_READ,
    &VENDORS_READ,
    &VENDORS_WRITE,
    &ACCOUNTS_READ,
    &ACCOUNTS_WRITE,
    &TAGS_READ,
    &TAGS_WRITE,
    &TAX_CODES_READ,
    &TAX_CODES_WRITE,
];

// ---- users-read: employees -------------------------------------------------------------

pub(crate) static USERS_READ: Interface = Interface {
    name: "users-read",
    scope: scope_for("users-read"),
    link: |l| users_read::add_to_linker::<_, HasSelf<Caps>>(l, caps),
    ops: &[&LIST_EMPLOYEES, &GET_EMPLOYEE],
};
pub(crate) static LIST_EMPLOYEES: Op = Op {
    interface: &USERS_READ,
    function: "list-employees",
    method: Method::Get,
    template: "/v2/employees",
    answer: Want::Page,
    effect: Effect::Read,
    returns: Returns::Objects(&EMPLOYEE),
    target: None,
    why: "employees of the run's company (query `companyId`)",
};
pub(crate) static GET_EMPLOYEE: Op = Op {
    interface: &USERS_READ,
    function: "get-employee",
    method: Method::Get,
    template: "/v2/employees/{employeeId}",
    answer: Want::Object,
    effect: Effect::Read,
    returns: Returns::Objects(&EMPLOYEE),
    target: None,
    why: "one employee by id; its `companyId` is checked in the answer",
};

// ---- companies-read: the companies the key can see ---------------------------------------

pub(crate) static COMPANIES_READ: Interface = Interface {
    name: "companies-read",
    scope: scope_for("companies-read"),
    link: |l| companies_read::add_to_linker::<_, HasSelf<Caps>>(l, caps),
    ops: &[&LIST_COMPANIES, &GET_COMPANY],
};
pub(crate) static LIST_COMPANIES: Op = Op {
    interface: &COMPANIES_READ,
    function: "list-companies",
    method: Method::Get,
    template: "/v1/companies",
    answer: Want::Page,
    effect: Effect::Read,
    returns: Returns::Objects(&COMPANY),
    target: None,
    why: "names no company: a page holding one the run may not use is refused whole",
};
pub(crate) static GET_COMPANY: Op = Op {
    interface: &COMPANIES_READ,
    function: "get-company",
    method: Method::Get,
    template: "/v1/companies/{companyId}",
    answer: Want::Object,
    effect: Effect::Read,
    returns: Returns::Objects(&COMPANY),
    target: None,
    why: "a company is its own owner (`id`)",
};

// ---- accounting-entries-read: entries (expenses) and their receipts ---------------------

pub(crate) static ACCOUNTING_ENTRIES_READ: Interface = Interface {
    name: "accounting-entries-read",
    scope: scope_for("accounting-entries-read"),
    link: |l| accounting_entries_read::add_to_linker::<_, HasSelf<Caps>>(l, caps),
    ops: &[
        &SEARCH_ENTRIES,
        &GET_ENTRY,
        &GET_ENTRY_CORE,
        &LIST_RECEIPTS,
        &GET_RECEIPT,
        &SEARCH_RECEIPTS,
    ],
};
pub(crate) static SEARCH_ENTRIES: Op = Op {
    interface: &ACCOUNTING_ENTRIES_READ,
    function: "search-entries",
    method: Method::Post,
    template: "/v1/accounting-entries:search",
    answer: Want::Page,
    effect: Effect::Read,
    returns: Returns::Objects(&ENTRY),
    target: None,
    why: "a search (POST, reads only) in the run's company (query `company_id`)",
};
pub(crate) static GET_ENTRY: Op = Op {
    interface: &ACCOUNTING_ENTRIES_READ,
    function: "get-entry",
    method: Method::Get,
    template: "/v1/accounting-entries/{accountingEntryId}",
    answer: Want::Object,
    effect: Effect::Read,
    returns: Returns::Objects(&ENTRY),
    target: None,
    why: "one entry by id; its `companyId` is checked in the answer",
};
pub(crate) static GET_ENTRY_CORE: Op = Op {
    interface: &ACCOUNTING_ENTRIES_READ,
    function: "get-entry-core",
    method: Method::Get,
    template: "/v1/accounting-entries/{accountingEntryId}/core",
    answer: Want::Object,
    effect: Effect::Read,
    returns: Returns::Objects(&ENTRY),
    target: None,
    why: "one entry's core record by id; its `companyId` is checked in the answer",
};
pub(crate) static LIST_RECEIPTS: Op = Op {
    interface: &ACCOUNTING_ENTRIES_READ,
    function: "list-receipts",
    method: Method::Get,
    template: "/v1/accounting-entries/{accountingEntryId}/receipts",
    answer: Want::Page,
    effect: Effect::Read,
    returns: Returns::Objects(&RECEIPT),
    target: Some(Target {
        kind: &ENTRY,
        id: IdAt::Path("accountingEntryId"),
    }),
    why: "receipts carry no company: the entry's owner is checked first",
};
pub(crate) static GET_RECEIPT: Op = Op {
    interface: &ACCOUNTING_ENTRIES_READ,
    function: "get-receipt",
    method: Method::Get,
    template: "/v1/accounting-entries/{accountingEntryId}/receipts/{receiptId}",
    answer: Want::Object,
    effect: Effect::Read,
    returns: Returns::Objects(&RECEIPT),
    target: Some(Target {
        kind: &ENTRY,
        id: IdAt::Path("accountingEntryId"),
    }),
    why: "receipts carry no company: the entry's owner is checked first",
};
pub(crate) static SEARCH_RECEIPTS: Op = Op {
    interface: &ACCOUNTING_ENTRIES_READ,
    function: "search-receipts",
    method: Method::Post,
    template: "/v1/accounting-entries/receipts:search",
    answer: Want::Page,
    effect: Effect::Read,
    returns: Returns::Unowned,
    target: None,
    why: "unowned: receipts carry only their entry, and the search is filtered by query \
          `company_id`, always the run's company (looking up each receipt's entry would cost \
          a request per entry)",
};

// ---- export-jobs-read, export-jobs-write, export-items-read: the export flow (v3) -------

pub(crate) static EXPORT_JOBS_READ: Interface = Interface {
    name: "export-jobs-read",
    scope: scope_for("export-jobs-read"),
    link: |l| export_jobs_read::add_to_linker::<_, HasSelf<Caps>>(l, caps),
    ops: &[
        &LIST_EXPORT_JOBS,
        &GET_EXPORT_JOB,
        &LIST_EXPORT_JOB_ITEMS,
        &GET_EXPORT_JOB_ITEM,
    ],
};
pub(crate) static LIST_EXPORT_JOBS: Op = Op {
    interface: &EXPORT_JOBS_READ,
    function: "list-export-jobs",
    method: Method::Get,
    template: "/v3/export-jobs",
    answer: Want::Page,
    effect: Effect::Read,
    returns: Returns::Objects(&EXPORT_JOB),
    target: None,
    why: "jobs of the run's company (query `company_id`)",
};
pub(crate) static GET_EXPORT_JOB: Op = Op {
    interface: &EXPORT_JOBS_READ,
    function: "get-export-job",
    method: Method::Get,
    template: "/v3/export-jobs/{jobId}",
    answer: Want::Object,
    effect: Effect::Read,
    returns: Returns::Objects(&EXPORT_JOB),
    target: None,
    why: "one job by id; its `companyId` is checked in the answer",
};
pub(crate) static LIST_EXPORT_JOB_ITEMS: Op = Op {
    interface: &EXPORT_JOBS_READ,
    function: "list-export-job-items",
    method: Method::Get,
    template: "/v3/export-jobs/{jobId}/items",
    answer: Want::Page,
    effect: Effect::Read,
    returns: Returns::Objects(&EXPORT_JOB_ITEM),
    target: Some(Target {
        kind: &EXPORT_JOB,
        id: IdAt::Path("jobId"),
    }),
    why: "job items carry only their job: the job's owner is checked first",
};

pub(crate) static GET_EXPORT_JOB_ITEM: Op = Op {
    interface: &EXPORT_JOBS_READ,
    function: "get-export-job-item",
    method: Method::Get,
    template: "/v3/export-job-items",
    answer: Want::Object,
    effect: Effect::Read,
    returns: Returns::Objects(&EXPORT_JOB_ITEM),
    target: None,
    why: "the item of an entry named by query `accounting_entry_id`, in the run's company \
          (query `company_id`); it carries only its job, whose owner is checked",
};

pub(crate) static EXPORT_JOBS_WRITE: Interface = Interface {
    name: "export-jobs-write",
    scope: scope_for("export-jobs-write"),
    link: |l| export_jobs_write::add_to_linker::<_, HasSelf<Caps>>(l, caps),
    ops: &[
        &CREATE_EXPORT_JOB,
        &UPDATE_EXPORT_JOB_ITEMS,
        &POST_EXPORT_JOB_EVENT,
    ],
};
pub(crate) static CREATE_EXPORT_JOB: Op = Op {
    interface: &EXPORT_JOBS_WRITE,
    function: "create-export-job",
    method: Method::Post,
    template: "/v3/export-jobs",
    answer: Want::Object,
    effect: Effect::Once,
    returns: Returns::Objects(&EXPORT_JOB),
    target: None,
    why: "not idempotent: every call that reaches Pleo creates a job (or meets the running one)",
};
pub(crate) static UPDATE_EXPORT_JOB_ITEMS: Op = Op {
    interface: &EXPORT_JOBS_WRITE,
    function: "update-export-job-items",
    method: Method::Put,
    template: "/v3/export-jobs/{jobId}/items",
    // Pleo's answer is `{data, errors}`: the per-item errors are part of it.
    answer: Want::Json,
    effect: Effect::Idempotent,
    returns: Returns::Unowned,
    target: Some(Target {
        kind: &EXPORT_JOB,
        id: IdAt::Path("jobId"),
    }),
    why: "idempotent by entry: it sets each named item's status and fields, so applying it \
          twice leaves the items as once; the answer is about the job's items, whose owner was \
          checked first",
};
pub(crate) static POST_EXPORT_JOB_EVENT: Op = Op {
    interface: &EXPORT_JOBS_WRITE,
    function: "post-export-job-event",
    method: Method::Post,
    template: "/v3/export-job-events",
    answer: Want::Nothing,
    effect: Effect::Idempotent,
    returns: Returns::Unowned,
    target: Some(Target {
        kind: &EXPORT_JOB,
        id: IdAt::Body("jobId"),
    }),
    why: "idempotent by state: an event moves the job to the state it names, so a repeat after \
          a lost answer changes nothing (Pleo may answer it 422 \
          INVALID_EXPORT_JOB_STATUS_CHANGE; Pleo's how-to asks integrations to retry these); no \
          body, and the job named in the request body was checked first",
};

pub(crate) static EXPORT_ITEMS_READ: Interface = Interface {
    name: "export-items-read",
    scope: scope_for("export-items-read"),
    link: |l| export_items_read::add_to_linker::<_, HasSelf<Caps>>(l, caps),
    ops: &[&LIST_EXPORT_ITEMS],
};
pub(crate) static LIST_EXPORT_ITEMS: Op = Op {
    interface: &EXPORT_ITEMS_READ,
    function: "list-export-items",
    method: Method::Get,
    template: "/v3/export-items",
    answer: Want::Page,
    effect: Effect::Read,
    returns: Returns::Objects(&EXPORT_ITEM),
    target: None,
    why: "items of a job named by query `job_id`; each carries its `companyId`",
};

// ---- vendors-read, vendors-write: suppliers ----------------------------------------------

pub(crate) static VENDORS_READ: Interface = Interface {
    name: "vendors-read",
    scope: scope_for("vendors-read"),
    link: |l| vendors_read::add_to_linker::<_, HasSelf<Caps>>(l, caps),
    ops: &[
        &SEARCH_VENDORS,
        &GET_VENDOR,
        &SEARCH_IMPORT_JOBS,
        &GET_IMPORT_JOB,
        &LIST_IMPORT_JOB_ERRORS,
    ],
};
pub(crate) static SEARCH_VENDORS: Op = Op {
    interface: &VENDORS_READ,
    function: "search-vendors",
    method: Method::Post,
    template: "/v1/vendors:search",
    answer: Want::Page,
    effect: Effect::Read,
    returns: Returns::Objects(&VENDOR),
    target: None,
    why: "a search (POST, reads only) in the run's company (query `company_id`)",
};
pub(crate) static GET_VENDOR: Op = Op {
    interface: &VENDORS_READ,
    function: "get-vendor",
    method: Method::Get,
    template: "/v1/vendors/{id}",
    answer: Want::Object,
    effect: Effect::Read,
    returns: Returns::Objects(&VENDOR),
    target: None,
    why: "one vendor by id; its `companyId` is checked in the answer",
};
pub(crate) static SEARCH_IMPORT_JOBS: Op = Op {
    interface: &VENDORS_READ,
    function: "search-import-jobs",
    method: Method::Post,
    template: "/v1/vendors/csv-import/jobs:search",
    answer: Want::Page,
    effect: Effect::Read,
    returns: Returns::Objects(&IMPORT_JOB),
    target: None,
    why: "a search (POST, reads only) in the run's company (query `company_id`)",
};
pub(crate) static GET_IMPORT_JOB: Op = Op {
    interface: &VENDORS_READ,
    function: "get-import-job",
    method: Method::Get,
    template: "/v1/vendors/csv-import/jobs/{jobId}",
    answer: Want::Object,
    effect: Effect::Read,
    returns: Returns::Objects(&IMPORT_JOB),
    target: None,
    why: "one import job by id; its `companyId` is checked in the answer",
};
pub(crate) static LIST_IMPORT_JOB_ERRORS: Op = Op {
    interface: &VENDORS_READ,
    function: "list-import-job-errors",
    method: Method::Get,
    template: "/v1/vendors/csv-import/jobs/{jobId}/errors",
    answer: Want::Page,
    effect: Effect::Read,
    returns: Returns::Objects(&IMPORT_ROW_ERROR),
    target: Some(Target {
        kind: &IMPORT_JOB,
        id: IdAt::Path("jobId"),
    }),
    why: "row errors carry only their job: the job's owner is checked first",
};

pub(crate) static VENDORS_WRITE: Interface = Interface {
    name: "vendors-write",
    scope: scope_for("vendors-write"),
    link: |l| vendors_write::add_to_linker::<_, HasSelf<Caps>>(l, caps),
    ops: &[
        &CREATE_VENDOR,
        &UPDATE_VENDOR,
        &ARCHIVE_VENDOR,
        &ACTIVATE_VENDOR,
        &CREATE_IMPORT_JOB,
        &UPLOAD_IMPORT_CSV,
        &RUN_IMPORT_JOB,
        &UPDATE_IMPORT_JOB_METADATA,
        &UPDATE_IMPORT_JOB_STATUS,
    ],
};
pub(crate) static CREATE_VENDOR: Op = Op {
    interface: &VENDORS_WRITE,
    function: "create-vendor",
    method: Method::Post,
    template: "/v1/vendors",
    answer: Want::Object,
    effect: Effect::Once,
    returns: Returns::Objects(&VENDOR),
    target: None,
    why: "not idempotent: a repeat that meets the vendor created by the first attempt is a 409",
};
pub(crate) static UPDATE_VENDOR: Op = Op {
    interface: &VENDORS_WRITE,
    function: "update-vendor",
    method: Method::Put,
    template: "/v1/vendors/{id}",
    answer: Want::Object,
    effect: Effect::Idempotent,
    returns: Returns::Objects(&VENDOR),
    target: Some(Target {
        kind: &VENDOR,
        id: IdAt::Path("id"),
    }),
    why: "idempotent: a PUT of every required field sets the vendor to the same state each time",
};
pub(crate) static ARCHIVE_VENDOR: Op = Op {
    interface: &VENDORS_WRITE,
    function: "archive-vendor",
    method: Method::Post,
    template: "/v1/vendors/{id}:archive",
    answer: Want::Nothing,
    effect: Effect::Idempotent,
    returns: Returns::Unowned,
    target: Some(Target {
        kind: &VENDOR,
        id: IdAt::Path("id"),
    }),
    why: "idempotent by state: archiving an archived vendor leaves it archived; no body, and \
          the vendor was checked first",
};
pub(crate) static ACTIVATE_VENDOR: Op = Op {
    interface: &VENDORS_WRITE,
    function: "activate-vendor",
    method: Method::Post,
    template: "/v1/vendors/{id}:activate",
    answer: Want::Nothing,
    effect: Effect::Idempotent,
    returns: Returns::Unowned,
    target: Some(Target {
        kind: &VENDOR,
        id: IdAt::Path("id"),
    }),
    why: "idempotent by state: activating with the same external id leaves the vendor active \
          with that id; no body, and the vendor was checked first",
};
pub(crate) static CREATE_IMPORT_JOB: Op = Op {
    interface: &VENDORS_WRITE,
    function: "create-import-job",
    method: Method::Post,
    template: "/v1/vendors/csv-import/jobs",
    answer: Want::Object,
    effect: Effect::Once,
    returns: Returns::Objects(&IMPORT_JOB),
    target: None,
    why: "not idempotent: every call that reaches Pleo creates another job",
};
pub(crate) static UPLOAD_IMPORT_CSV: Op = Op {
    interface: &VENDORS_WRITE,
    function: "upload-import-csv",
    method: Method::Post,
    template: "/v1/vendors/csv-import/jobs/{jobId}:get-presigned-url",
    answer: Want::Object,
    effect: Effect::Idempotent,
    returns: Returns::Unowned,
    target: Some(Target {
        kind: &IMPORT_JOB,
        id: IdAt::Path("jobId"),
    }),
    why: "the host's own first step of the upload: it asks for the job's presigned URL \
          (idempotent: a repeat names an upload URL for the same job), then PUTs the file there \
          itself, without the key (`pleo::upload`); the URL is a credential and never reaches \
          the plugin, which gets the file's size, rows and SHA-256; the job was checked first",
};
pub(crate) static RUN_IMPORT_JOB: Op = Op {
    interface: &VENDORS_WRITE,
    function: "run-import-job",
    method: Method::Post,
    template: "/v1/vendors/csv-import/jobs/{jobId}:run",
    answer: Want::Object,
    effect: Effect::Once,
    returns: Returns::Objects(&IMPORT_JOB),
    target: Some(Target {
        kind: &IMPORT_JOB,
        id: IdAt::Path("jobId"),
    }),
    why: "not idempotent: a repeat meets a job already processing (409 \
          `INVALID_STATUS_TRANSITION`); the job was checked first",
};
pub(crate) static UPDATE_IMPORT_JOB_METADATA: Op = Op {
    interface: &VENDORS_WRITE,
    function: "update-import-job-metadata",
    method: Method::Put,
    template: "/v1/vendors/csv-import/jobs/{jobId}/metadata",
    answer: Want::Object,
    effect: Effect::Idempotent,
    returns: Returns::Objects(&IMPORT_JOB),
    target: Some(Target {
        kind: &IMPORT_JOB,
        id: IdAt::Path("jobId"),
    }),
    why: "idempotent: replacing with, or merging in, the same object twice leaves the same \
          metadata; the job was checked first",
};
pub(crate) static UPDATE_IMPORT_JOB_STATUS: Op = Op {
    interface: &VENDORS_WRITE,
    function: "update-import-job-status",
    method: Method::Put,
    template: "/v1/vendors/csv-import/jobs/{jobId}/status",
    answer: Want::Object,
    effect: Effect::Once,
    returns: Returns::Objects(&IMPORT_JOB),
    target: Some(Target {
        kind: &IMPORT_JOB,
        id: IdAt::Path("jobId"),
    }),
    why: "not idempotent: a transition made by the first attempt makes its repeat a 409; the \
          job was checked first",
};

// ---- accounts-read, accounts-write: the chart of accounts -------------------------------

pub(crate) static ACCOUNTS_READ: Interface = Interface {
    name: "accounts-read",
    scope: scope_for("accounts-read"),
    link: |l| accounts_read::add_to_linker::<_, HasSelf<Caps>>(l, caps),
    ops: &[&SEARCH_ACCOUNTS, &GET_ACCOUNT],
};
pub(crate) static SEARCH_ACCOUNTS: Op = Op {
    interface: &ACCOUNTS_READ,
    function: "search-accounts",
    method: Method::Post,
    template: "/v1/chart-of-accounts:search",
    answer: Want::Page,
    effect: Effect::Read,
    returns: Returns::Objects(&ACCOUNT),
    target: None,
    why: "a search (POST, reads only) in the run's company (body `companyId`)",
};
pub(crate) static GET_ACCOUNT: Op = Op {
    interface: &ACCOUNTS_READ,
    function: "get-account",
    method: Method::Get,
    template: "/v1/chart-of-accounts/{accountId}",
    answer: Want::Object,
    effect: Effect::Read,
    returns: Returns::Objects(&ACCOUNT),
    target: None,
    why: "one account by id; its `companyId` is checked in the answer",
};

pub(crate) static ACCOUNTS_WRITE: Interface = Interface {
    name: "accounts-write",
    scope: scope_for("accounts-write"),
    link: |l| accounts_write::add_to_linker::<_, HasSelf<Caps>>(l, caps),
    ops: &[
        &CREATE_ACCOUNT,
        &CREATE_ACCOUNTS,
        &UPDATE_ACCOUNT,
        &DELETE_ACCOUNT,
    ],
};
pub(crate) static CREATE_ACCOUNT: Op = Op {
    interface: &ACCOUNTS_WRITE,
    function: "create-account",
    method: Method::Post,
    template: "/v1/chart-of-accounts",
    answer: Want::Object,
    effect: Effect::Idempotent,
    returns: Returns::Objects(&ACCOUNT),
    target: None,
    why: "idempotent: Pleo answers a create that matches an existing account with that account \
          (200), so a repeat of a create whose answer was lost returns what the first made",
};
pub(crate) static CREATE_ACCOUNTS: Op = Op {
    interface: &ACCOUNTS_WRITE,
    function: "create-accounts",
    method: Method::Post,
    template: "/v1/chart-of-accounts/batch",
    answer: Want::Json,
    effect: Effect::Once,
    returns: Returns::Unowned,
    target: None,
    why: "not idempotent: a repeat would report every account the first attempt made as failed \
          (EXTERNAL_ID_ALREADY_EXISTS); unowned: `{data, errors}` of accounts created in the \
          body's `companyId`, the run's company",
};
pub(crate) static UPDATE_ACCOUNT: Op = Op {
    interface: &ACCOUNTS_WRITE,
    function: "update-account",
    method: Method::Put,
    template: "/v1/chart-of-accounts/{accountId}",
    answer: Want::Object,
    effect: Effect::Idempotent,
    returns: Returns::Objects(&ACCOUNT),
    target: Some(Target {
        kind: &ACCOUNT,
        id: IdAt::Path("accountId"),
    }),
    why: "idempotent: a PUT of the same fields leaves the account in the same state",
};
pub(crate) static DELETE_ACCOUNT: Op = Op {
    interface: &ACCOUNTS_WRITE,
    function: "delete-account",
    method: Method::Delete,
    template: "/v1/chart-of-accounts/{accountId}",
    answer: Want::Nothing,
    effect: Effect::Idempotent,
    returns: Returns::Unowned,
    target: Some(Target {
        kind: &ACCOUNT,
        id: IdAt::Path("accountId"),
    }),
    why: "idempotent: a deleted account stays deleted (a repeat after a lost answer may see a \
          404, never a second effect); no body, and the account was checked first",
};

// ---- tags-read, tags-write: tag groups (dimensions) and their tags -----------------------

pub(crate) static TAGS_READ: Interface = Interface {
    name: "tags-read",
    scope: scope_for("tags-read"),
    link: |l| tags_read::add_to_linker::<_, HasSelf<Caps>>(l, caps),
    ops: &[
        &LIST_TAG_GROUPS,
        &GET_TAG_GROUP,
        &LIST_TAGS,
        &GET_TAG,
        &GET_TAG_GROUP_USAGE,
        &SEARCH_TAGS,
        &LIST_AGGREGATED_TAG_GROUPS,
        &SEARCH_AGGREGATED_TAGS,
        &LIST_TAG_GROUP_DIMENSIONS,
        &GET_TAG_GROUP_DIMENSION,
        &LIST_TAG_DIMENSION_VALUES,
        &GET_TAG_DIMENSION_VALUE,
    ],
};
pub(crate) static LIST_TAG_GROUPS: Op = Op {
    interface: &TAGS_READ,
    function: "list-tag-groups",
    method: Method::Get,
    template: "/v0/tag-groups",
    answer: Want::List,
    effect: Effect::Read,
    returns: Returns::Objects(&TAG_GROUP),
    target: None,
    why: "not paginated: Pleo answers `{data: [...]}` with every group of the run's company \
          (query `company_id`)",
};
pub(crate) static GET_TAG_GROUP: Op = Op {
    interface: &TAGS_READ,
    function: "get-tag-group",
    method: Method::Get,
    template: "/v0/tag-groups/{groupId}",
    answer: Want::Object,
    effect: Effect::Read,
    returns: Returns::Objects(&TAG_GROUP),
    target: None,
    why: "one group by id; its `companyId` is checked in the answer",
};
pub(crate) static LIST_TAGS: Op = Op {
    interface: &TAGS_READ,
    function: "list-tags",
    method: Method::Get,
    template: "/v0/tag-groups/{groupId}/tags",
    answer: Want::Page,
    effect: Effect::Read,
    returns: Returns::Objects(&TAG),
    target: Some(Target {
        kind: &TAG_GROUP,
        id: IdAt::Path("groupId"),
    }),
    why: "tags carry only their group: the group's owner is checked first",
};
pub(crate) static GET_TAG: Op = Op {
    interface: &TAGS_READ,
    function: "get-tag",
    method: Method::Get,
    template: "/v0/tags/{tagId}",
    answer: Want::Object,
    effect: Effect::Read,
    returns: Returns::Objects(&TAG),
    target: None,
    why: "one tag by id; its group's owner is checked from the answer",
};
pub(crate) static GET_TAG_GROUP_USAGE: Op = Op {
    interface: &TAGS_READ,
    function: "get-tag-group-usage",
    method: Method::Get,
    template: "/v0/tag-groups/{groupId}/usage",
    answer: Want::Object,
    effect: Effect::Read,
    returns: Returns::Unowned,
    target: Some(Target {
        kind: &TAG_GROUP,
        id: IdAt::Path("groupId"),
    }),
    why: "counts of the group's tags carry no owner: the group's owner is checked first",
};
pub(crate) static SEARCH_TAGS: Op = Op {
    interface: &TAGS_READ,
    function: "search-tags",
    method: Method::Post,
    template: "/v0/tags:search",
    answer: Want::Page,
    effect: Effect::Read,
    returns: Returns::Objects(&TAG),
    target: None,
    why: "a search (POST, reads only) in the run's company (query `company_id`); each tag's \
          group owner is checked in the answer",
};
pub(crate) static LIST_AGGREGATED_TAG_GROUPS: Op = Op {
    interface: &TAGS_READ,
    function: "list-aggregated-tag-groups",
    method: Method::Get,
    template: "/v0/aggregations/tag-groups",
    answer: Want::List,
    effect: Effect::Read,
    returns: Returns::Objects(&TAG_GROUP),
    target: None,
    why: "not paginated: `{data: [...]}` with the groups of the run's company (query \
          `company_id`), each with its `companyId` checked",
};
pub(crate) static SEARCH_AGGREGATED_TAGS: Op = Op {
    interface: &TAGS_READ,
    function: "search-aggregated-tags",
    method: Method::Post,
    template: "/v0/aggregations/tags",
    answer: Want::Page,
    effect: Effect::Read,
    returns: Returns::Objects(&AGGREGATED_TAG),
    target: None,
    why: "a search (POST, reads only) in the run's company (query `company_id`); an \
          aggregated tag carries its `companyId`, checked in the answer",
};
pub(crate) static LIST_TAG_GROUP_DIMENSIONS: Op = Op {
    interface: &TAGS_READ,
    function: "list-tag-group-dimensions",
    method: Method::Get,
    template: "/v0/tag-groups/{groupId}/dimensions",
    answer: Want::List,
    effect: Effect::Read,
    returns: Returns::Objects(&TAG_GROUP_DIMENSION),
    target: Some(Target {
        kind: &TAG_GROUP,
        id: IdAt::Path("groupId"),
    }),
    why: "not paginated; dimensions carry only their group: the group's owner is checked \
          first, and each dimension's `groupId` in the answer",
};
pub(crate) static GET_TAG_GROUP_DIMENSION: Op = Op {
    interface: &TAGS_READ,
    function: "get-tag-group-dimension",
    method: Method::Get,
    template: "/v0/tag-groups/{groupId}/dimensions/{dimensionId}",
    answer: Want::Object,
    effect: Effect::Read,
    returns: Returns::Objects(&TAG_GROUP_DIMENSION),
    target: Some(Target {
        kind: &TAG_GROUP,
        id: IdAt::Path("groupId"),
    }),
    why: "one dimension of a group: the group's owner is checked first, its `groupId` after",
};
pub(crate) static LIST_TAG_DIMENSION_VALUES: Op = Op {
    interface: &TAGS_READ,
    function: "list-tag-dimension-values",
    method: Method::Get,
    template: "/v0/tags/{tagId}/dimensions",
    answer: Want::List,
    effect: Effect::Read,
    returns: Returns::Objects(&TAG_DIMENSION_VALUE),
    target: Some(Target {
        kind: &TAG,
        id: IdAt::Path("tagId"),
    }),
    why: "not paginated; values carry only their tag: the tag's owner is checked first, and \
          each value's `tagId` in the answer",
};
pub(crate) static GET_TAG_DIMENSION_VALUE: Op = Op {
    interface: &TAGS_READ,
    function: "get-tag-dimension-value",
    method: Method::Get,
    template: "/v0/tags/{tagId}/dimensions/{dimensionId}",
    answer: Want::Object,
    effect: Effect::Read,
    returns: Returns::Objects(&TAG_DIMENSION_VALUE),
    target: Some(Target {
        kind: &TAG,
        id: IdAt::Path("tagId"),
    }),
    why: "one value of a tag: the tag's owner is checked first, its `tagId` after",
};

pub(crate) static TAGS_WRITE: Interface = Interface {
    name: "tags-write",
    scope: scope_for("tags-write"),
    link: |l| tags_write::add_to_linker::<_, HasSelf<Caps>>(l, caps),
    ops: &[
        &CREATE_TAG_GROUP,
        &UPDATE_TAG_GROUP,
        &CREATE_TAG,
        &UPDATE_TAG,
        &DELETE_TAG_GROUP,
        &DELETE_TAG,
        &DELETE_TAGS,
        &ARCHIVE_TAGS,
        &CREATE_TAG_GROUP_DIMENSION,
        &UPDATE_TAG_GROUP_DIMENSION,
        &DELETE_TAG_GROUP_DIMENSION,
        &CREATE_TAG_DIMENSION_VALUE,
        &UPDATE_TAG_DIMENSION_VALUE,
        &DELETE_TAG_DIMENSION_VALUE,
    ],
};
pub(crate) static CREATE_TAG_GROUP: Op = Op {
    interface: &TAGS_WRITE,
    function: "create-tag-group",
    method: Method::Post,
    template: "/v0/tag-groups",
    answer: Want::Object,
    effect: Effect::Once,
    returns: Returns::Objects(&TAG_GROUP),
    target: None,
    why: "not idempotent: a repeat may create a second group",
};
pub(crate) static UPDATE_TAG_GROUP: Op = Op {
    interface: &TAGS_WRITE,
    function: "update-tag-group",
    method: Method::Put,
    template: "/v0/tag-groups/{groupId}",
    answer: Want::Object,
    effect: Effect::Idempotent,
    returns: Returns::Objects(&TAG_GROUP),
    target: Some(Target {
        kind: &TAG_GROUP,
        id: IdAt::Path("groupId"),
    }),
    why: "idempotent: a PUT of the same fields leaves the group in the same state",
};
pub(crate) static CREATE_TAG: Op = Op {
    interface: &TAGS_WRITE,
    function: "create-tag",
    method: Method::Post,
    template: "/v0/tag-groups/{groupId}/tags",
    answer: Want::Object,
    effect: Effect::Once,
    returns: Returns::Objects(&TAG),
    target: Some(Target {
        kind: &TAG_GROUP,
        id: IdAt::Path("groupId"),
    }),
    why: "not idempotent: a repeat may create a second tag (or meet a 409 for the first)",
};
pub(crate) static UPDATE_TAG: Op = Op {
    interface: &TAGS_WRITE,
    function: "update-tag",
    method: Method::Put,
    template: "/v0/tags/{tagId}",
    answer: Want::Object,
    effect: Effect::Idempotent,
    returns: Returns::Objects(&TAG),
    target: Some(Target {
        kind: &TAG,
        id: IdAt::Path("tagId"),
    }),
    why: "idempotent: a PUT of the same fields leaves the tag in the same state",
};
pub(crate) static DELETE_TAG_GROUP: Op = Op {
    interface: &TAGS_WRITE,
    function: "delete-tag-group",
    method: Method::Delete,
    template: "/v0/tag-groups/{groupId}",
    answer: Want::Nothing,
    effect: Effect::Idempotent,
    returns: Returns::Unowned,
    target: Some(Target {
        kind: &TAG_GROUP,
        id: IdAt::Path("groupId"),
    }),
    why: "idempotent: a deleted group stays deleted (a repeat after a lost answer may see a \
          404, never a second effect); 204 without a body, and the group was checked first",
};
pub(crate) static DELETE_TAG: Op = Op {
    interface: &TAGS_WRITE,
    function: "delete-tag",
    method: Method::Delete,
    template: "/v0/tags/{tagId}",
    answer: Want::Nothing,
    effect: Effect::Idempotent,
    returns: Returns::Unowned,
    target: Some(Target {
        kind: &TAG,
        id: IdAt::Path("tagId"),
    }),
    why: "idempotent: a deleted tag stays deleted (a repeat may see a 404); Pleo documents no \
          answer schema, so the plugin gets none, and the tag was checked first",
};
pub(crate) static DELETE_TAGS: Op = Op {
    interface: &TAGS_WRITE,
    function: "delete-tags",
    method: Method::Delete,
    template: "/v0/tags",
    answer: Want::Nothing,
    effect: Effect::Idempotent,
    returns: Returns::Unowned,
    target: Some(Target {
        kind: &TAG,
        id: IdAt::BodyList("tagIds"),
    }),
    why: "idempotent: deleted tags stay deleted (a repeat may see a 404); 1 to 100 ids \
          (Pleo's bounds, checked before sending), each tag's owner checked first, and the \
          body's `companyId` is the run's company",
};
pub(crate) static ARCHIVE_TAGS: Op = Op {
    interface: &TAGS_WRITE,
    function: "archive-tags",
    method: Method::Post,
    template: "/v0/tags/archive",
    answer: Want::List,
    effect: Effect::Idempotent,
    returns: Returns::Objects(&TAG),
    target: Some(Target {
        kind: &TAG,
        id: IdAt::BodyList("tagIds"),
    }),
    why: "idempotent: it sets `archived` on each tag named, so twice is as once; 1 to 100 \
          ids, each tag's owner checked first, and each tag answered too",
};
pub(crate) static CREATE_TAG_GROUP_DIMENSION: Op = Op {
    interface: &TAGS_WRITE,
    function: "create-tag-group-dimension",
    method: Method::Post,
    template: "/v0/tag-groups/{groupId}/dimensions",
    answer: Want::Object,
    effect: Effect::Once,
    returns: Returns::Objects(&TAG_GROUP_DIMENSION),
    target: Some(Target {
        kind: &TAG_GROUP,
        id: IdAt::Path("groupId"),
    }),
    why: "not idempotent: a repeat may create a second dimension (or meet a 409 for the \
          first); the group's owner is checked first",
};
pub(crate) static UPDATE_TAG_GROUP_DIMENSION: Op = Op {
    interface: &TAGS_WRITE,
    function: "update-tag-group-dimension",
    method: Method::Put,
    template: "/v0/tag-groups/{groupId}/dimensions/{dimensionId}",
    answer: Want::Object,
    effect: Effect::Idempotent,
    returns: Returns::Objects(&TAG_GROUP_DIMENSION),
    target: Some(Target {
        kind: &TAG_GROUP,
        id: IdAt::Path("groupId"),
    }),
    why: "idempotent: a PUT of the same fields leaves the dimension in the same state; the \
          group's owner is checked first (a plan shows the dimension, see `nested`)",
};
pub(crate) static DELETE_TAG_GROUP_DIMENSION: Op = Op {
    interface: &TAGS_WRITE,
    function: "delete-tag-group-dimension",
    method: Method::Delete,
    template: "/v0/tag-groups/{groupId}/dimensions/{dimensionId}",
    answer: Want::Nothing,
    effect: Effect::Idempotent,
    returns: Returns::Unowned,
    target: Some(Target {
        kind: &TAG_GROUP,
        id: IdAt::Path("groupId"),
    }),
    why: "idempotent: a deleted dimension stays deleted (a repeat may see a 404); Pleo \
          documents no answer schema, so the plugin gets none, and the group was checked first",
};
pub(crate) static CREATE_TAG_DIMENSION_VALUE: Op = Op {
    interface: &TAGS_WRITE,
    function: "create-tag-dimension-value",
    method: Method::Post,
    template: "/v0/tags/{tagId}/dimensions/{dimensionId}",
    answer: Want::Object,
    effect: Effect::Once,
    returns: Returns::Objects(&TAG_DIMENSION_VALUE),
    target: Some(Target {
        kind: &TAG,
        id: IdAt::Path("tagId"),
    }),
    why: "sent once: a repeat after a lost answer meets a 409 (the value exists), which the \
          plugin would take for a failure; the tag's owner is checked first",
};
pub(crate) static UPDATE_TAG_DIMENSION_VALUE: Op = Op {
    interface: &TAGS_WRITE,
    function: "update-tag-dimension-value",
    method: Method::Put,
    template: "/v0/tags/{tagId}/dimensions/{dimensionId}",
    answer: Want::Object,
    effect: Effect::Idempotent,
    returns: Returns::Objects(&TAG_DIMENSION_VALUE),
    target: Some(Target {
        kind: &TAG,
        id: IdAt::Path("tagId"),
    }),
    why: "idempotent: a PUT of the same value leaves it as it is; the tag's owner is checked \
          first (a plan shows the value, see `nested`)",
};
pub(crate) static DELETE_TAG_DIMENSION_VALUE: Op = Op {
    interface: &TAGS_WRITE,
    function: "delete-tag-dimension-value",
    method: Method::Delete,
    template: "/v0/tags/{tagId}/dimensions/{dimensionId}",
    answer: Want::Object,
    effect: Effect::Idempotent,
    returns: Returns::Objects(&TAG_DIMENSION_VALUE),
    target: Some(Target {
        kind: &TAG,
        id: IdAt::Path("tagId"),
    }),
    why: "idempotent: a removed value stays removed (a repeat may see a 404); the tag's owner \
          is checked first, and the removed value is answered",
};

/// An object Pleo names by its parent's id and its own (`…/{groupId}/dimensions/{dimensionId}`)
/// and reads with a `GET` of that same path.
pub(crate) struct Nested {
    pub kind: &'static Kind,
    /// The placeholder of the object's own id in the template.
    pub id: &'static str,
}

/// The object a write changes or removes when it is nested in the row's target: the row's
/// `target` (the parent) is what the owner check looks up, while a plan shows the object
/// itself, read with a `GET` of the write's own path. A create (POST) names no object yet.
pub(crate) fn nested(op: &Op) -> Option<Nested> {
    if op.method == Method::Post {
        return None;
    }
    let kind = match op.template {
        "/v0/tag-groups/{groupId}/dimensions/{dimensionId}" => &TAG_GROUP_DIMENSION,
        "/v0/tags/{tagId}/dimensions/{dimensionId}" => &TAG_DIMENSION_VALUE,
        _ => return None,
    };
    Some(Nested {
        kind,
        id: "dimensionId",
    })
}

// ---- tax-codes-read, tax-codes-write: tax (VAT) codes ------------------------------------

pub(crate) static TAX_CODES_READ: Interface = Interface {
    name: "tax-codes-read",
    scope: scope_for("tax-codes-read"),
    link: |l| tax_codes_read::add_to_linker::<_, HasSelf<Caps>>(l, caps),
    ops: &[&SEARCH_TAX_CODES, &GET_TAX_CODE, &CALCULATE_TAX_AMOUNTS],
};
pub(crate) static SEARCH_TAX_CODES: Op = Op {
    interface: &TAX_CODES_READ,
    function: "search-tax-codes",
    method: Method::Post,
    template: "/v0/tax-codes:search",
    answer: Want::Page,
    effect: Effect::Read,
    returns: Returns::Objects(&TAX_CODE),
    target: None,
    why: "a search (POST, reads only) in the run's company (query `company_id`)",
};
pub(crate) static GET_TAX_CODE: Op = Op {
    interface: &TAX_CODES_READ,
    function: "get-tax-code",
    method: Method::Get,
    template: "/v0/tax-codes/{taxCodeId}",
    answer: Want::Object,
    effect: Effect::Read,
    returns: Returns::Objects(&TAX_CODE),
    target: None,
    why: "one tax code by id; its `companyId` is checked in the answer",
};
pub(crate) static CALCULATE_TAX_AMOUNTS: Op = Op {
    interface: &TAX_CODES_READ,
    function: "calculate-tax-amounts",
    method: Method::Post,
    template: "/v0/tax-codes:calculate-tax-amounts",
    answer: Want::Object,
    effect: Effect::Read,
    returns: Returns::Unowned,
    target: Some(Target {
        kind: &TAX_CODE,
        id: IdAt::BodyKeys("amountsByTaxCodeId"),
    }),
    why: "a calculation (POST, changes nothing); the answer holds amounts only, keyed by the \
          tax codes named, whose owners are checked first",
};

pub(crate) static TAX_CODES_WRITE: Interface = Interface {
    name: "tax-codes-write",
    scope: scope_for("tax-codes-write"),
    link: |l| tax_codes_write::add_to_linker::<_, HasSelf<Caps>>(l, caps),
    ops: &[&CREATE_TAX_CODE, &UPDATE_TAX_CODE, &DELETE_TAX_CODE],
};
pub(crate) static CREATE_TAX_CODE: Op = Op {
    interface: &TAX_CODES_WRITE,
    function: "create-tax-code",
    method: Method::Post,
    template: "/v0/tax-codes",
    answer: Want::Object,
    effect: Effect::Once,
    returns: Returns::Objects(&TAX_CODE),
    target: None,
    why: "not idempotent: a repeat may create a second tax code",
};
pub(crate) static UPDATE_TAX_CODE: Op = Op {
    interface: &TAX_CODES_WRITE,
    function: "update-tax-code",
    method: Method::Put,
    template: "/v0/tax-codes/{taxCodeId}",
    answer: Want::Object,
    effect: Effect::Idempotent,
    returns: Returns::Objects(&TAX_CODE),
    target: Some(Target {
        kind: &TAX_CODE,
        id: IdAt::Path("taxCodeId"),
    }),
    why: "idempotent: a PUT of the same fields leaves the tax code in the same state",
};
pub(crate) static DELETE_TAX_CODE: Op = Op {
    interface: &TAX_CODES_WRITE,
    function: "delete-tax-code",
    method: Method::Delete,
    template: "/v0/tax-codes/{taxCodeId}",
    answer: Want::Nothing,
    effect: Effect::Idempotent,
    returns: Returns::Unowned,
    target: Some(Target {
        kind: &TAX_CODE,
        id: IdAt::Path("taxCodeId"),
    }),
    why: "idempotent: a deleted tax code stays deleted (a repeat may see a 404); Pleo documents \
          no answer schema, so the plugin gets none, and the tax code was checked first",
};

/// Every operation of every interface, in table order.
pub(crate) fn all_ops() -> impl Iterator<Item = &'static Op> {
    INTERFACES.iter().flat_map(|i| i.ops.iter().copied())
}

/// The lines around the README's API table.
pub const API_TABLE_START: &str =
    "<!-- api-table: generated from host/src/capabilities/table.rs -->";
pub const API_TABLE_END: &str = "<!-- api-table: end -->";

/// The README's API table (operation, WIT function, scope), rendered from the call table so
/// the two cannot drift (`tests::the_readme_api_table_is_the_call_table`).
pub fn api_table_markdown() -> String {
    let mut out = String::from("| operation | WIT function | scope |\n|---|---|---|\n");
    for op in super::operations() {
        out.push_str(&format!(
            "| `{} {}` | `{}::{}` | `{}` |\n",
            op.method, op.template, op.interface, op.function, op.scope
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;
    use crate::scopes::{HOST_SERVICES, INTERFACE_SCOPES};

    /// `(interface, function)` → what the WIT function returns on success, from `wit/`.
    fn wit_functions() -> BTreeMap<(String, String), String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit");
        let mut functions = BTreeMap::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            let mut interface = None;
            for line in text.lines().map(str::trim) {
                if let Some(rest) = line.strip_prefix("interface ") {
                    interface = rest.split_whitespace().next().map(str::to_owned);
                } else if let (Some(current), Some((name, signature))) =
                    (&interface, line.split_once(": func("))
                    && !HOST_SERVICES.contains(&current.as_str())
                {
                    let returns = signature
                        .rsplit_once("-> ")
                        .map_or("", |(_, r)| r.trim_end_matches(';'));
                    functions.insert((current.clone(), name.to_owned()), returns.to_owned());
                }
            }
        }
        functions
    }

    /// The interfaces of the call table are exactly those of the scope table, each with the
    /// scope that table spells, each listed once: one source for what a plugin may import.
    #[test]
    fn the_scope_table_and_the_call_table_agree() {
        let table: BTreeMap<&str, &str> = INTERFACES.iter().map(|i| (i.name, i.scope)).collect();
        assert_eq!(
            table.len(),
            INTERFACES.len(),
            "an interface is listed twice"
        );
        let scopes: BTreeMap<&str, &str> = INTERFACE_SCOPES.iter().copied().collect();
        assert_eq!(table, scopes);
    }

    /// Every function of every Pleo interface in `wit/` has exactly one row, in its own
    /// interface, and its answer shape is what the WIT function returns.
    #[test]
    fn every_wit_function_has_one_row_of_the_right_shape() {
        let wit = wit_functions();
        let mut rows = BTreeSet::new();
        for interface in INTERFACES {
            for op in interface.ops {
                assert!(
                    std::ptr::eq(op.interface, *interface),
                    "{} is listed under {} but belongs to {}",
                    op.function,
                    interface.name,
                    op.interface.name
                );
                let key = (interface.name.to_owned(), op.function.to_owned());
                let returns = wit
                    .get(&key)
                    .unwrap_or_else(|| panic!("{key:?} is not a function of wit/"));
                let expected = match op.answer {
                    Want::Page => "result<page, pleo-error>",
                    Want::Object | Want::List | Want::Json => "result<string, pleo-error>",
                    Want::Nothing => "result<_, pleo-error>",
                };
                assert_eq!(returns, expected, "{key:?}");
                assert!(rows.insert(key.clone()), "{key:?} has two rows");
            }
        }
        let wit: BTreeSet<_> = wit.into_keys().collect();
        assert_eq!(
            rows, wit,
            "functions of wit/ without a row (or rows without a function)"
        );
    }

    /// Reads are the operations of read scopes, and the client repeats them as reads (GET or a
    /// `…:search` POST); writes change something, so they are never GETs.
    #[test]
    fn effects_follow_scopes_and_methods() {
        for op in all_ops() {
            let reads = op.scope().ends_with(":read");
            assert_eq!(op.effect == Effect::Read, reads, "{}", op.function);
            if reads {
                assert!(
                    op.method == Method::Get
                        || (op.method == Method::Post
                            && (op.template.ends_with(":search")
                                || op.template.ends_with(":calculate-tax-amounts")
                                // A search by another name (Pleo: "Retrieve tags").
                                || op.template == "/v0/aggregations/tags")),
                    "{}: a read the client would not repeat",
                    op.function
                );
            } else {
                assert_ne!(op.method, Method::Get, "{}", op.function);
            }
            assert!(!op.why.trim().is_empty(), "{} says no why", op.function);
        }
    }

    /// Templates are versioned absolute paths whose placeholders are whole names, and a target
    /// named in the path names one of them.
    #[test]
    fn templates_are_well_formed() {
        for op in all_ops() {
            let t = op.template;
            assert!(t.starts_with("/v") && !t.contains(['?', '#', ' ']), "{t}");
            let names: Vec<&str> = t
                .split('{')
                .skip(1)
                .map(|rest| rest.split_once('}').expect("closed placeholder").0)
                .collect();
            assert!(
                names.iter().all(|n| !n.is_empty() && !n.contains('/')),
                "{t}"
            );
            if let Some(Target {
                id: IdAt::Path(name),
                ..
            }) = &op.target
            {
                assert!(
                    names.contains(name),
                    "{}: no {{{name}}} in {t}",
                    op.function
                );
            }
        }
    }

    /// A write on a nested object names the object after its parent (the target the owner
    /// check looks up), and its kind has no `GET` by id of its own: a plan reads it by the
    /// write's path.
    #[test]
    fn nested_objects_sit_after_their_parent_in_the_path() {
        let mut writes = 0;
        for op in all_ops() {
            let Some(nested) = nested(op) else { continue };
            let Some(Target {
                id: IdAt::Path(parent),
                ..
            }) = &op.target
            else {
                panic!(
                    "{}: a nested object needs its parent in the path",
                    op.function
                )
            };
            let parent_at = op.template.find(&format!("{{{parent}}}"));
            let own_at = op.template.find(&format!("{{{}}}", nested.id));
            assert!(parent_at < own_at && parent_at.is_some(), "{}", op.template);
            assert!(nested.kind.get.is_none(), "{}", op.function);
            writes += usize::from(op.effect != Effect::Read);
        }
        // Update and delete of a dimension and of a tag's value.
        assert_eq!(writes, 4);
    }

    /// The README's API table is the call table. To regenerate it after changing a row, run
    /// `UPDATE_README=1 cargo test -p pleo-host --lib the_readme_api_table_is_the_call_table`.
    #[test]
    fn the_readme_api_table_is_the_call_table() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
        let readme = std::fs::read_to_string(&path).unwrap();
        let (before, rest) = readme
            .split_once(API_TABLE_START)
            .unwrap_or_else(|| panic!("README.md has no line {API_TABLE_START}"));
        let (table, after) = rest
            .split_once(API_TABLE_END)
            .unwrap_or_else(|| panic!("README.md has no line {API_TABLE_END}"));
        let expected = format!("\n{}", api_table_markdown());
        if table == expected {
            return;
        }
        if std::env::var_os("UPDATE_README").is_some() {
            let text = format!("{before}{API_TABLE_START}{expected}{API_TABLE_END}{after}");
            std::fs::write(&path, text).unwrap();
            return;
        }
        panic!(
            "README.md's API table (between {API_TABLE_START} and {API_TABLE_END}) differs from \
             the call table in host/src/capabilities/table.rs; regenerate it with \
             `UPDATE_README=1 cargo test -p pleo-host --lib the_readme_api_table_is_the_call_table` \
             and commit README.md"
        );
    }

    /// The scope of every row is the one the mock requires on that route. The mock's list is
    /// its own, written from Pleo's scope pages (`host/mock/src/scopes.rs`): a wrong spelling
    /// or a row on the wrong interface on either side fails here.
    #[cfg(feature = "mock")]
    #[test]
    fn every_row_needs_the_scope_the_mock_requires() {
        let id = "0b0e4c2e-8a8f-4a55-9d7c-2f1f0e0c0a01";
        let mut wrong = Vec::new();
        for op in all_ops() {
            let ids = vec![id; op.template.matches('{').count()];
            let path = crate::capabilities::call::fill(op.template, &ids)
                .unwrap_or_else(|_| panic!("{} fills", op.template));
            let mock = pleo_mock::scopes::scope_for_path(op.method.as_str(), &path);
            if mock != Some(Some(op.scope())) {
                wrong.push(format!(
                    "{} {} ({}): host {}, mock {mock:?}",
                    op.method.as_str(),
                    op.template,
                    op.function,
                    op.scope()
                ));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }
}
