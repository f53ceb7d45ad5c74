//! The seeded dataset's containers: [`Dataset`] (the companies a key covers), each company's
//! [`CompanyData`] (its reference data and employees) and [`Ledger`] (its entries, receipts,
//! master data and export jobs, made on first use), and the reference data the families
//! share (teams, accounts, tax codes, tag groups, vendors). Each family's own records live in
//! its module (`companies`, `employees`, `entries::records`, `identity`, ...).

use std::collections::HashMap;
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use serde::Serializer;
use uuid::Uuid;

use super::MockConfig;
use super::companies::Company;
use super::employees::Employee;
use super::entries::AccountingEntry;
use super::exports::ExportJob;
use super::identity::ApiClient;
use super::master::MasterData;
use super::receipts::Receipt;
use super::seed::LedgerSeed;

/// A team (department) of the company.
#[derive(Clone, Debug)]
pub struct Team {
    pub id: Uuid,
    pub name: String,
}

/// An account of the chart of accounts (an expense category).
#[derive(Clone, Debug)]
pub struct Account {
    pub id: Uuid,
    pub code: String,
    pub name: String,
}

/// A tax (VAT) code; `rate` is a fraction (0.25 = 25 %).
#[derive(Clone, Debug)]
pub struct TaxCode {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub rate: f64,
}

/// A tag group (dimension) with its tags.
#[derive(Clone, Debug)]
pub struct TagGroup {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub tags: Vec<Tag>,
}

#[derive(Clone, Debug)]
pub struct Tag {
    pub id: Uuid,
    pub group_id: Uuid,
    pub code: String,
    pub name: String,
}

/// A merchant or supplier the company pays.
#[derive(Clone, Debug)]
pub struct Vendor {
    pub id: Uuid,
    pub name: String,
    /// The id an accounting system would know it by, e.g. `V-1007`.
    pub external_id: String,
    /// ISO 3166 alpha-2.
    pub country: String,
    pub currency: String,
    pub account_id: Uuid,
    pub tax_code_id: Uuid,
}

/// One company of the organization the key covers: its reference data and employees, and
/// (dereferencing to [`Ledger`]) its accounting entries, receipts, master data and export
/// jobs. Built by [`Dataset::seed`]; read-only afterwards.
#[derive(Clone, Debug)]
pub struct CompanyData {
    pub company: Company,
    pub teams: Vec<Team>,
    pub accounts: Vec<Account>,
    pub tax_codes: Vec<TaxCode>,
    pub tag_groups: Vec<TagGroup>,
    pub vendors: Vec<Vendor>,
    pub employees: Vec<Employee>,
    /// Made from `seed` on first use (see [`CompanyData::ledger`]).
    pub(super) ledger: OnceLock<Ledger>,
    pub(super) seed: LedgerSeed,
}

/// The bulk of a company's data. Most of seeding's work is here, so it is made on first use:
/// a run that never asks for entries does not wait for them. Each company's comes from rngs
/// of its own, so it is the same whichever request asks first.
#[derive(Clone, Debug)]
pub struct Ledger {
    /// Sorted by `performed_at`, then `id`.
    pub entries: Vec<AccountingEntry>,
    /// The receipt files of the entries (`receiptIds`), in entry order.
    pub receipts: Vec<Receipt>,
    /// Accounts, tax codes, tag groups, tags and vendors as Pleo's APIs show them, as seeded.
    /// The server keeps a live copy that write calls change (see `MockServer::master_data`).
    pub master: MasterData,
    /// Export jobs as seeded, oldest first: finished ones, then `pending` ones (see
    /// [`CompanyData::oldest_pending_job`]). The server's live copy moves on from here.
    pub export_jobs: Vec<ExportJob>,
    /// Id lookups: index in `entries` and in `receipts`.
    entry_index: HashMap<Uuid, usize>,
    receipt_index: HashMap<Uuid, usize>,
}

impl Ledger {
    pub(super) fn new(
        entries: Vec<AccountingEntry>,
        receipts: Vec<Receipt>,
        master: MasterData,
        export_jobs: Vec<ExportJob>,
    ) -> Ledger {
        let entry_index = entries.iter().enumerate().map(|(i, e)| (e.id, i)).collect();
        let receipt_index = receipts
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id, i))
            .collect();
        Ledger {
            entries,
            receipts,
            master,
            export_jobs,
            entry_index,
            receipt_index,
        }
    }
}

impl std::ops::Deref for CompanyData {
    type Target = Ledger;

    fn deref(&self) -> &Ledger {
        self.ledger()
    }
}

impl CompanyData {
    /// The entries, receipts, master data and export jobs, made on the first call.
    pub fn ledger(&self) -> &Ledger {
        // The seeding must not deref `self`: that would wait for itself.
        self.ledger.get_or_init(|| super::seed::ledger(self))
    }

    /// An accounting entry of this company.
    pub fn entry(&self, id: Uuid) -> Option<&AccountingEntry> {
        self.entries.get(*self.entry_index.get(&id)?)
    }

    /// A receipt of an entry of this company.
    pub fn receipt(&self, id: Uuid) -> Option<&Receipt> {
        self.receipts.get(*self.receipt_index.get(&id)?)
    }

    /// The export job an integration should take first: the oldest `pending` one.
    pub fn oldest_pending_job(&self) -> Option<&ExportJob> {
        self.export_jobs
            .iter()
            .filter(|j| j.status == super::exports::JobStatus::Pending)
            .min_by_key(|j| (j.created_at, j.id))
    }
}

/// Everything the mock serves. Built once by [`Dataset::seed`]; read-only afterwards.
///
/// It derefs to company 0, the key's own company (`ds.entries` are company 0's entries). With
/// [`MockConfig::companies`] above 1 the key covers an organization of several companies, all
/// listed in `companies`.
#[derive(Clone, Debug)]
pub struct Dataset {
    pub api_client: ApiClient,
    /// Every company the key covers, company 0 first; one element unless
    /// [`MockConfig::companies`] is above 1. All share company 0's `organization_id`.
    pub companies: Vec<CompanyData>,
    /// What the seeded data is placed before (08:00 UTC the day after the anchor): every
    /// seeded timestamp lies before it. The mock's clock is real time (see `clock`).
    pub epoch: DateTime<Utc>,
    /// Id lookups into `companies`: `(company index, item index)`.
    employee_index: HashMap<Uuid, (usize, usize)>,
    company_index: HashMap<Uuid, usize>,
}

impl std::ops::Deref for Dataset {
    type Target = CompanyData;

    /// Company 0, the key's own company.
    fn deref(&self) -> &CompanyData {
        &self.companies[0]
    }
}

impl Dataset {
    /// Generates the dataset for `cfg`; the same config always gives the same data.
    pub fn seed(cfg: &MockConfig) -> Dataset {
        super::seed::generate(cfg)
    }

    /// Builds the dataset from its companies (company 0 first; there is always one) and the
    /// id lookups.
    pub(super) fn assemble(
        api_client: ApiClient,
        companies: Vec<CompanyData>,
        epoch: DateTime<Utc>,
    ) -> Dataset {
        let company_index = (companies.iter().enumerate())
            .map(|(c, data)| (data.company.id, c))
            .collect();
        let employee_index = (companies.iter().enumerate())
            .flat_map(|(c, data)| {
                (data.employees.iter().enumerate()).map(move |(i, e)| (e.id, (c, i)))
            })
            .collect();
        Dataset {
            api_client,
            companies,
            epoch,
            employee_index,
            company_index,
        }
    }

    /// An employee of any company the key covers.
    pub fn employee(&self, id: Uuid) -> Option<&Employee> {
        let &(c, i) = self.employee_index.get(&id)?;
        self.companies.get(c)?.employees.get(i)
    }

    /// An accounting entry of any company the key covers.
    pub fn entry(&self, id: Uuid) -> Option<&AccountingEntry> {
        self.companies.iter().find_map(|c| c.entry(id))
    }

    /// A receipt of an entry of any company the key covers.
    pub fn receipt(&self, id: Uuid) -> Option<&Receipt> {
        self.companies.iter().find_map(|c| c.receipt(id))
    }

    /// Index in `companies` of the company with this id, if the key covers it.
    pub fn company_position(&self, id: Uuid) -> Option<usize> {
        self.company_index.get(&id).copied()
    }

    /// The company with this id, if the key covers it.
    pub fn company_data(&self, id: Uuid) -> Option<&CompanyData> {
        self.companies.get(*self.company_index.get(&id)?)
    }

    /// True if the key covers more than one company (an organization-level key).
    pub fn is_multi_entity(&self) -> bool {
        self.companies.len() > 1
    }

    /// The organization all the companies belong to.
    pub fn organization_id(&self) -> Option<Uuid> {
        self.company.organization_id
    }

    /// `urn:pleo:company:<uuid>` of company 0.
    pub fn company_urn(&self) -> String {
        format!("urn:pleo:company:{}", self.company.id)
    }

    /// The subject of the key as `/v1/introspect` reports it: the company's URN, or
    /// for a key covering several companies the organization's,
    /// `urn:pleo:organisation:<uuid>` (spelled as in the examples of Pleo's webhook
    /// subscriptions API, the only organization URNs in its OpenAPI documents).
    pub fn subject_urn(&self) -> String {
        match self.organization_id() {
            Some(org) if self.is_multi_entity() => format!("{ORGANIZATION_URN_PREFIX}{org}"),
            _ => self.company_urn(),
        }
    }
}

/// Prefix of an organization's URN (see [`Dataset::subject_urn`]).
pub const ORGANIZATION_URN_PREFIX: &str = "urn:pleo:organisation:";

// ---------------------------------------------------------------------------
// Serialization helpers (uuid is used without its serde feature)
// ---------------------------------------------------------------------------

pub(super) fn ser_uuid<S: Serializer>(id: &Uuid, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(id)
}

pub(super) fn ser_opt_uuid<S: Serializer>(id: &Option<Uuid>, s: S) -> Result<S::Ok, S::Error> {
    match id {
        Some(id) => s.collect_str(id),
        None => s.serialize_none(),
    }
}
