//! The seeded dataset: one company (or an organization of several), its employees and
//! a year of accounting entries.
//!
//! Public structs serialize to Pleo's JSON field names (camelCase, optional fields
//! omitted rather than `null`). Fields marked `#[serde(skip)]` are helpers that Pleo's
//! models do not carry.

use std::collections::HashMap;
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize, Serializer};
use uuid::Uuid;

use super::MockConfig;
use super::exports::ExportJob;
use super::master::MasterData;
use super::receipts::Receipt;
use super::seed::LedgerSeed;

// ---------------------------------------------------------------------------
// Model
// ---------------------------------------------------------------------------

/// `ExternalCompanyResponseModel` (companies API).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Company {
    #[serde(serialize_with = "ser_uuid")]
    pub id: Uuid,
    pub name: String,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_uuid"
    )]
    pub organization_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_number: Option<String>,
    pub address: Address,
}

/// `ExternalAddressResponseModel`; `country` is an ISO 3166 alpha-2 code.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_line1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_line2: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

/// `ExternalEmployeeResponseModel` (employees API v2).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Employee {
    #[serde(serialize_with = "ser_uuid")]
    pub id: Uuid,
    #[serde(serialize_with = "ser_uuid")]
    pub company_id: Uuid,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    /// External id of the employee (e.g. from an HR system).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Team the employee belongs to (not in Pleo's employee model).
    #[serde(skip)]
    pub team_id: Option<Uuid>,
    /// Cost-center tag their spending is usually tagged with (not in Pleo's model).
    #[serde(skip)]
    pub cost_center_tag_id: Option<Uuid>,
}

/// `Money`: an amount in minor units (øre, cents, pence) of an ISO 4217 currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Money {
    pub currency: String,
    pub minors: i64,
}

/// `AccountingEntryTagV1`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EntryTag {
    #[serde(serialize_with = "ser_uuid")]
    pub tag_group_id: Uuid,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_uuid"
    )]
    pub tag_id: Option<Uuid>,
}

/// `AttendeeV1`; `attendableType` is `EMPLOYEE` or `CONTACT`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attendee {
    pub id: String,
    pub attendable_id: String,
    pub attendable_type: String,
}

/// `SplitItemV1`: one line of a split entry. The lines' amounts add up to the entry's.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SplitItem {
    #[serde(serialize_with = "ser_uuid")]
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_uuid"
    )]
    pub account_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_code: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_uuid"
    )]
    pub tax_code_id: Option<Uuid>,
    pub tags: Vec<EntryTag>,
    pub transaction_value: Money,
    pub total_bill_value: Money,
}

/// `AccountingEntrySupplier` (it has no supplier name in Pleo's model).
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Supplier {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cif: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_account_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_supplier_id: Option<String>,
}

/// `AccountingEntryV1`.
///
/// Amounts: `transaction_value` is in the currency paid; `total_bill_value` is the
/// same amount in the company's currency (DKK) and is set on every generated entry.
/// Both are positive. Deleted entries have `deleted_at`; cancelled and rejected ones
/// keep their amounts but have no `settled_at`/`bookkeeping_date`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountingEntry {
    #[serde(serialize_with = "ser_uuid")]
    pub id: Uuid,
    #[serde(serialize_with = "ser_uuid")]
    pub company_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub performed_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settled_at: Option<DateTime<Utc>>,
    /// Midnight UTC of the booking day (the API types it as a date-time).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bookkeeping_date: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<DateTime<Utc>>,
    pub family: Family,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_family: Option<SubFamily>,
    pub status: Status,
    pub export_status: ExportStatus,
    pub review_status: ReviewStatus,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_uuid"
    )]
    pub employee_id: Option<Uuid>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_uuid"
    )]
    pub team_id: Option<Uuid>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_uuid"
    )]
    pub account_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_code: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_uuid"
    )]
    pub tax_code_id: Option<Uuid>,
    pub transaction_value: Money,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_bill_value: Option<Money>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supplier: Option<Supplier>,
    #[serde(serialize_with = "ser_uuids")]
    pub receipt_ids: Vec<Uuid>,
    pub tags: Vec<EntryTag>,
    pub split_items: Vec<SplitItem>,
    pub attendees: Vec<Attendee>,
    /// The vendor (merchant/supplier) behind the entry (not in Pleo's entry model).
    #[serde(skip)]
    pub vendor_id: Option<Uuid>,
}

/// `AccountingEntryFamily`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Family {
    BalanceAmendment,
    BillInvoice,
    BillInvoicePayment,
    CardPurchase,
    Cashback,
    CreditNote,
    Mileage,
    OutOfPocket,
    Overdraft,
    PerDiem,
    PleoInvoice,
    Reimbursement,
    Wallet,
}

/// `AccountingEntrySubFamily`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SubFamily {
    Atm,
    InStore,
    Online,
    PleoInvoice,
    PleoInvoiceRefund,
    ReimbursementToCompany,
    ReimbursementToEmployee,
    ReimbursementToEmployeeRefund,
    Load,
    Unload,
    Withdrawal,
    Fee,
    Interest,
    BillInvoicePaymentReturned,
    BillInvoicePaymentReceived,
}

/// `AccountingEntryStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Draft,
    Pending,
    Completed,
    CompletedExternally,
    Cancelled,
    Rejected,
    Error,
}

/// `ExportStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExportStatus {
    Created,
    Exported,
    Exporting,
    NotCreated,
    NotExported,
    Queued,
}

/// `ReviewStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReviewStatus {
    NotOk,
    NotRequired,
    NotSet,
    Ok,
    WaitingForExpenseOwner,
    WaitingForReviewer,
    WaitingForCompanyReviewer,
    WaitingForTeamReviewer,
    WaitingForTagReviewer,
}

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

/// Who the API key belongs to, as `/v1/introspect` and `/v1/installations/me` report.
#[derive(Clone, Debug)]
pub struct ApiClient {
    pub client_id: Uuid,
    pub application_id: Uuid,
    pub installation_id: Uuid,
    pub application_name: String,
    pub installed_at: DateTime<Utc>,
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
    /// Where the mock's clock starts: every seeded timestamp lies before it.
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

fn ser_uuids<S: Serializer>(ids: &[Uuid], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(ids.iter().map(|id| id.to_string()))
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn cfg() -> MockConfig {
        MockConfig {
            anchor: NaiveDate::from_ymd_opt(2025, 6, 30).unwrap_or_default(),
            ..MockConfig::default()
        }
    }

    #[test]
    fn json_uses_pleo_field_names() {
        let ds = Dataset::seed(&cfg());
        let e = ds
            .entries
            .iter()
            .find(|e| e.family == Family::BillInvoice)
            .unwrap();
        let v = serde_json::to_value(e).unwrap();
        for key in [
            "id",
            "companyId",
            "createdAt",
            "updatedAt",
            "performedAt",
            "family",
            "status",
            "exportStatus",
            "reviewStatus",
            "receiptIds",
            "tags",
            "splitItems",
            "attendees",
            "transactionValue",
            "totalBillValue",
            "supplier",
        ] {
            assert!(v.get(key).is_some(), "{key} missing in {v}");
        }
        assert!(v.get("vendorId").is_none() && v.get("vendor_id").is_none());
        assert!(v["transactionValue"]["minors"].is_i64());
        let c = serde_json::to_value(&ds.company).unwrap();
        assert!(c["address"]["addressLine1"].is_string());
        assert!(c["organizationId"].is_string());
        assert!(e.performed_at.to_rfc3339().ends_with("+00:00"));
        assert!(v["performedAt"].as_str().unwrap().ends_with('Z'));
    }
}
