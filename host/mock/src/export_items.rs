//! Export items (Export Items API v3, 32.1.0): `GET /v3/export-items?job_id=`, the
//! accounting payload of every item of a job, readable while the job is `pending` or
//! `in_progress` (422 `EXPORT_JOB_STATUS_UNPROCESSABLE` afterwards). Scope
//! `export-items:read`.
//!
//! An `ExportItemV3` is built from the entry when it is asked for, with the master data as it
//! is now: one accounting line per entry (one per split line for split entries) with its
//! account (`identifier` is the account's `externalId`), tax (amount from the rate: included
//! in the line for `inclusive` codes, on top for `reverse` and `exclusive`) and tags; amounts
//! as `MoneyModel {currency, value}` in minor units; receipt files as 24-hour links. An entry
//! nobody categorised has lines without `account`: an exporter cannot map it. Vendor-based
//! jobs add `vendor` and `bookkeeping`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::clock::shifted;
use super::data::{CompanyData, Dataset, ser_uuid};
use super::entries::{AccountingEntry, EntryTag, Family, Money, SubFamily};
use super::error::{ApiError, json_response};
use super::exports::{ExportJob, open_job};
use super::extract::Pairs;
use super::master::MasterData;
use super::paging::{Order, PageRequest, Rules, SortValue, paginate};
use super::receipts::{FileType, presigned_url};
use super::rest::{Result, Shared, query_uuid};
use super::server::AppState;
use super::tax_codes::TaxType;

/// The export API documents `limit` with `minimum: 0` and no maximum; the mock caps it at 100.
const PAGING: Rules = Rules {
    default_limit: 20,
    min_limit: 0,
    max_limit: 100,
    allow_offset: true,
    keys: &["id", "date"],
    default_sort: &[("date", Order::Asc)],
};

pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/v3/export-items", get(list_export_items))
}

/// `MoneyModel`: `value` in minor units.
#[derive(Debug, Serialize)]
struct MoneyModel {
    currency: String,
    value: i64,
}

/// The `inSupplierCurrency`/`inWalletCurrency` pair of every amount.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Amount {
    in_supplier_currency: MoneyModel,
    in_wallet_currency: MoneyModel,
}

impl Amount {
    fn new(supplier: &Money, wallet: &Money) -> Amount {
        Amount {
            in_supplier_currency: MoneyModel {
                currency: supplier.currency.clone(),
                value: supplier.minors,
            },
            in_wallet_currency: MoneyModel {
                currency: wallet.currency.clone(),
                value: wallet.minors,
            },
        }
    }

    /// The same currencies with other values.
    fn with(&self, supplier: i64, wallet: i64) -> Amount {
        Amount {
            in_supplier_currency: MoneyModel {
                currency: self.in_supplier_currency.currency.clone(),
                value: supplier,
            },
            in_wallet_currency: MoneyModel {
                currency: self.in_wallet_currency.currency.clone(),
                value: wallet,
            },
        }
    }
}

/// `AccountV3` and `ContraAccount`.
#[derive(Debug, Serialize)]
struct AccountRef {
    #[serde(serialize_with = "ser_uuid")]
    id: Uuid,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<String>,
    /// The account's id in the ERP (`externalId`).
    #[serde(skip_serializing_if = "Option::is_none")]
    identifier: Option<String>,
}

/// `TagV3`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct TagRef {
    #[serde(serialize_with = "ser_uuid")]
    id: Uuid,
    code: String,
    group_code: String,
}

/// `TaxV3`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Tax {
    #[serde(serialize_with = "ser_uuid")]
    id: Uuid,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<String>,
    rate: f64,
    #[serde(rename = "type")]
    kind: TaxType,
    amount: Amount,
    #[serde(skip_serializing_if = "Option::is_none")]
    ingoing_tax_account: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    outgoing_tax_account: Option<String>,
}

/// `ExportItemLineV3`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Line {
    #[serde(serialize_with = "ser_uuid")]
    accounting_entry_line_id: Uuid,
    line_amount: Amount,
    net_amount: Amount,
    #[serde(skip_serializing_if = "Option::is_none")]
    account: Option<AccountRef>,
    tags: Vec<TagRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tax: Option<Tax>,
}

/// `InvoiceInformationV3`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct InvoiceInformation {
    invoice_date: DateTime<Utc>,
    invoice_number: String,
    status: &'static str,
    due_date: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payment_date: Option<DateTime<Utc>>,
}

/// `ExportItemAdditionalInformationV3`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct AdditionalInformation {
    reconciliation_id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    attendees: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    invoice_information: Option<InvoiceInformation>,
}

/// `ExportItemFile`.
#[derive(Debug, Serialize)]
struct File {
    url: String,
    #[serde(rename = "type")]
    kind: &'static str,
    size: u32,
}

/// `SupplierV3`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Supplier {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    country: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<String>,
}

/// `TeamV3` and `ExportItemUserV3`.
#[derive(Debug, Serialize)]
struct Named {
    #[serde(serialize_with = "ser_uuid")]
    id: Uuid,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<String>,
}

/// `VendorV3`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct VendorRef {
    #[serde(serialize_with = "ser_uuid")]
    id: Uuid,
    name: String,
    default_currency: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    country: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    registration_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tax_registration_number: Option<String>,
}

/// `BookkeepingV3`.
#[derive(Debug, Serialize)]
struct Bookkeeping {
    method: &'static str,
}

/// `LinksResponse`.
#[derive(Debug, Serialize)]
struct Links {
    web: BTreeMap<&'static str, String>,
}

/// `ExportItemV3`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ExportItem {
    #[serde(rename = "_links")]
    links: Links,
    #[serde(serialize_with = "ser_uuid")]
    accounting_entry_id: Uuid,
    #[serde(serialize_with = "ser_uuid")]
    company_id: Uuid,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub_type: Option<&'static str>,
    date: DateTime<Utc>,
    amount: Amount,
    accounting_entry_lines: Vec<Line>,
    additional_information: AdditionalInformation,
    #[serde(skip_serializing_if = "Option::is_none")]
    bookkeeping: Option<Bookkeeping>,
    #[serde(skip_serializing_if = "Option::is_none")]
    contra_account: Option<AccountRef>,
    files: Vec<File>,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    supplier: Option<Supplier>,
    #[serde(skip_serializing_if = "Option::is_none")]
    team: Option<Named>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<Named>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vendor: Option<VendorRef>,
}

/// `ExportItemTypeV3` and `ExportItemSubTypeV3` of an entry.
fn item_type(e: &AccountingEntry) -> (&'static str, Option<&'static str>) {
    match (e.family, e.sub_family) {
        (Family::CardPurchase, Some(SubFamily::Atm)) => ("atm_withdrawal", None),
        (Family::CardPurchase, _) => ("card_purchase", None),
        (Family::OutOfPocket, _) => ("out_of_pocket", None),
        (Family::Mileage, _) => ("mileage", None),
        (Family::PerDiem, _) => ("per_diem", None),
        (Family::BillInvoice, _) => ("invoice", None),
        (Family::BillInvoicePayment, Some(SubFamily::BillInvoicePaymentReturned)) => {
            ("invoice_payment", Some("invoice_payment_returned"))
        }
        (Family::BillInvoicePayment, _) => ("invoice_payment", Some("invoice_payment_sent")),
        (Family::Reimbursement, Some(SubFamily::ReimbursementToCompany)) => {
            ("direct_reimbursement", Some("reimbursement_to_company"))
        }
        (Family::Reimbursement, Some(SubFamily::ReimbursementToEmployeeRefund)) => (
            "direct_reimbursement",
            Some("reimbursement_to_employee_refund"),
        ),
        (Family::Reimbursement, _) => ("direct_reimbursement", Some("reimbursement_to_employee")),
        (Family::Cashback, _) => ("cashback", None),
        (Family::CreditNote, _) => ("refund", None),
        (Family::Wallet, Some(SubFamily::Unload | SubFamily::Withdrawal)) => {
            ("wallet_unload", None)
        }
        (Family::Wallet, _) => ("wallet_topup", None),
        (Family::Overdraft, Some(SubFamily::Interest)) => ("fee", Some("interest")),
        (Family::PleoInvoice | Family::Overdraft | Family::BalanceAmendment, _) => ("fee", None),
    }
}

/// A stable id for the one line of an entry that is not split.
fn line_id(entry: Uuid) -> Uuid {
    uuid::Builder::from_random_bytes((entry.as_u128() ^ 0x5EED_11E5).to_be_bytes()).into_uuid()
}

/// Pleo's "book ID": seven digits, stable per entry.
fn reconciliation_id(entry: Uuid) -> String {
    (1_000_000 + entry.as_u128() % 9_000_000).to_string()
}

/// Tax and net amount of a line of `gross` under `tax`: included in the amount for inclusive
/// codes, on top of it otherwise.
fn tax_part(gross: i64, rate: f64, kind: TaxType) -> (i64, i64) {
    let g = gross as f64;
    match kind {
        TaxType::Inclusive => {
            let tax = (g * rate / (1.0 + rate)).round() as i64;
            (tax, gross - tax)
        }
        TaxType::Exclusive | TaxType::Reverse => ((g * rate).round() as i64, gross),
    }
}

/// Everything a payload is built from.
struct Context<'a> {
    dataset: &'a Dataset,
    data: &'a CompanyData,
    master: &'a MasterData,
    job: &'a ExportJob,
    now: DateTime<Utc>,
}

impl Context<'_> {
    fn account(&self, id: Option<Uuid>) -> Option<AccountRef> {
        let a = self.master.accounts.iter().find(|a| Some(a.id) == id)?;
        Some(AccountRef {
            id: a.id,
            name: a.name.clone(),
            code: a.code.clone(),
            identifier: Some(a.external_id.clone()),
        })
    }

    fn tags(&self, tags: &[EntryTag]) -> Vec<TagRef> {
        tags.iter()
            .filter_map(|t| {
                let tag = self.master.tags.iter().find(|x| Some(x.id) == t.tag_id)?;
                let group = self
                    .master
                    .tag_groups
                    .iter()
                    .find(|g| g.id == tag.group_id)?;
                Some(TagRef {
                    id: tag.id,
                    code: tag.code.clone(),
                    group_code: group.code.clone(),
                })
            })
            .collect()
    }

    fn line(
        &self,
        id: Uuid,
        amount: Amount,
        account: Option<Uuid>,
        tax_code: Option<Uuid>,
        tags: &[EntryTag],
    ) -> Line {
        let code = self
            .master
            .tax_codes
            .iter()
            .find(|t| Some(t.id) == tax_code);
        let (tax, net_amount) = match code {
            Some(t) => {
                let (tax_s, net_s) = tax_part(amount.in_supplier_currency.value, t.rate, t.kind);
                let (tax_w, net_w) = tax_part(amount.in_wallet_currency.value, t.rate, t.kind);
                let tax = Tax {
                    id: t.id,
                    code: t.code.clone(),
                    rate: t.rate,
                    kind: t.kind,
                    amount: amount.with(tax_s, tax_w),
                    ingoing_tax_account: t.ingoing_tax_account.clone(),
                    outgoing_tax_account: t.outgoing_tax_account.clone(),
                };
                (Some(tax), amount.with(net_s, net_w))
            }
            None => (
                None,
                amount.with(
                    amount.in_supplier_currency.value,
                    amount.in_wallet_currency.value,
                ),
            ),
        };
        Line {
            accounting_entry_line_id: id,
            line_amount: amount,
            net_amount,
            account: self.account(account),
            tags: self.tags(tags),
            tax,
        }
    }

    fn build(&self, e: &AccountingEntry) -> ExportItem {
        let wallet = e.total_bill_value.as_ref().unwrap_or(&e.transaction_value);
        let lines = if e.split_items.is_empty() {
            vec![self.line(
                line_id(e.id),
                Amount::new(&e.transaction_value, wallet),
                e.account_id,
                e.tax_code_id,
                &e.tags,
            )]
        } else {
            e.split_items
                .iter()
                .map(|s| {
                    let amount = Amount::new(&s.transaction_value, &s.total_bill_value);
                    self.line(s.id, amount, s.account_id, s.tax_code_id, &s.tags)
                })
                .collect()
        };
        let employee = e
            .employee_id
            .and_then(|id| self.data.employees.iter().find(|x| x.id == id));
        let team = e
            .team_id
            .and_then(|id| self.data.teams.iter().find(|t| t.id == id));
        let vendor = e
            .vendor_id
            .and_then(|id| self.master.vendors.iter().find(|v| v.id == id));
        let (kind, sub_type) = item_type(e);
        let files = e
            .receipt_ids
            .iter()
            .filter_map(|id| self.dataset.receipt(*id))
            .map(|r| File {
                url: presigned_url(r, FileType::Original, r.mime_type, self.now),
                kind: r.mime_type,
                size: r.size_in_bytes,
            })
            .collect();
        let invoice = (e.family == Family::BillInvoice).then(|| InvoiceInformation {
            invoice_date: e.performed_at,
            invoice_number: e
                .supplier
                .as_ref()
                .and_then(|s| s.document_number.clone())
                .unwrap_or_else(|| reconciliation_id(e.id)),
            status: if e.settled_at.is_some() {
                "paid"
            } else {
                "scheduled"
            },
            due_date: shifted(e.performed_at, TimeDelta::days(30)),
            payment_date: e.settled_at,
        });
        let attendees = e
            .attendees
            .iter()
            .map(|a| {
                self.data
                    .employees
                    .iter()
                    .find(|x| x.id.to_string() == a.attendable_id)
                    .map_or_else(
                        || "Guest".to_string(),
                        |x| format!("{} {}", x.first_name, x.last_name),
                    )
            })
            .collect();
        let vendor_based = self.job.vendor_based_bookkeeping;
        ExportItem {
            links: Links {
                web: BTreeMap::from([(
                    "accountingEntry",
                    format!("https://app.pleo.io/expenses/{}", e.id),
                )]),
            },
            accounting_entry_id: e.id,
            company_id: e.company_id,
            kind,
            sub_type,
            date: e
                .bookkeeping_date
                .or(e.settled_at)
                .unwrap_or(e.performed_at),
            amount: Amount::new(&e.transaction_value, wallet),
            accounting_entry_lines: lines,
            additional_information: AdditionalInformation {
                reconciliation_id: reconciliation_id(e.id),
                attendees,
                invoice_information: invoice,
            },
            bookkeeping: vendor_based.then(|| Bookkeeping {
                method: if vendor.is_some() && e.family == Family::BillInvoice {
                    "accounts_payable"
                } else {
                    "journal"
                },
            }),
            contra_account: self
                .master
                .accounts
                .iter()
                .find(|a| a.contra_account && !a.archived)
                .and_then(|a| self.account(Some(a.id))),
            files,
            note: e.note.clone(),
            supplier: vendor.map(|v| Supplier {
                name: v.name.clone(),
                country: v.country.clone(),
                code: (e.family == Family::BillInvoice)
                    .then(|| v.code.clone())
                    .flatten(),
            }),
            team: team.map(|t| Named {
                id: t.id,
                name: t.name.clone(),
                code: None,
            }),
            user: employee.map(|x| Named {
                id: x.id,
                name: format!("{} {}", x.first_name, x.last_name),
                code: x.code.clone(),
            }),
            vendor: vendor.filter(|_| vendor_based).map(|v| VendorRef {
                id: v.id,
                name: v.name.clone(),
                default_currency: v.default_currency.clone(),
                code: v.code.clone(),
                external_id: v.external_id.clone(),
                country: v.country.clone(),
                registration_number: v.registration_number.clone(),
                tax_registration_number: v.tax_registration_number.clone(),
            }),
        }
    }
}

fn entry_key(e: &AccountingEntry, key: &str) -> SortValue {
    match key {
        "date" => SortValue::Int(
            e.bookkeeping_date
                .or(e.settled_at)
                .unwrap_or(e.performed_at)
                .timestamp(),
        ),
        _ => SortValue::Id(e.id),
    }
}

async fn list_export_items(State(state): Shared, Pairs(query): Pairs) -> Result<Response> {
    let page = PageRequest::parse(&query, &PAGING)?;
    let Some(job_id) = query_uuid(&query, "job_id")? else {
        return Err(ApiError::BadParameter("job_id is required".into()));
    };
    let now = state.store.now();
    let (books, c, j) = open_job(&state, job_id)?;
    let job = &books.companies[c].export_jobs[j];
    if !job.status.is_open() {
        return Err(ApiError::unprocessable(
            "EXPORT_JOB_STATUS_UNPROCESSABLE",
            "Export Job is finished and can no longer be processed.",
        ));
    }
    let entries: Vec<&AccountingEntry> = job
        .items
        .iter()
        .filter_map(|i| state.data.entry(i.accounting_entry_id))
        .collect();
    let context = Context {
        dataset: &state.data,
        data: &state.data.companies[c],
        master: &books.companies[c].master,
        job,
        now,
    };
    let page = paginate(entries, &page, entry_key);
    Ok(json_response(
        StatusCode::OK,
        &page.map(|e| context.build(e)),
    ))
}
