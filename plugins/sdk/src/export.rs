//! The export flow's objects (Pleo's Export API v3): jobs, job items (control data) and export
//! items (the accounting payload). Same rules as the other models: Pleo's field names, required
//! fields plain, the rest `Option`, unknown fields ignored, enum-like fields as strings.

use serde::Deserialize;
use serde_json::Number;

use crate::Money;
use crate::models::nullable_list;

/// An export job (`ExportJobV3`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportJob {
    pub id: String,
    pub company_id: String,
    /// `pending`, `in_progress`, `failed`, `completed` or `completed_with_errors`.
    pub status: String,
    /// RFC 3339 timestamps, as Pleo sends them.
    pub created_at: String,
    pub created_by: Option<String>,
    pub started_at: Option<String>,
    pub completed_at: Option<String>,
    pub expired_at: Option<String>,
    pub last_updated_at: Option<String>,
    /// Seconds until the job expires, counted from `last_updated_at`.
    pub expires_in: i64,
    pub is_interactive: bool,
    pub number_of_items: u64,
    pub vendor_based_bookkeeping: bool,
    pub failure_reason: Option<String>,
    /// e.g. `invalid_configuration`, `job_expired`.
    pub failure_reason_type: Option<String>,
}

impl ExportJob {
    /// Whether the job still takes work: `pending` or `in_progress`.
    pub fn is_open(&self) -> bool {
        matches!(self.status.as_str(), "pending" | "in_progress")
    }
}

/// One entry of an export job and how its export went (`ExportJobItemV3`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportJobItem {
    pub accounting_entry_id: String,
    pub export_job_id: String,
    /// `pending`, `in_progress`, `failed`, `successful` or `abandoned`.
    pub status: String,
    pub exported_at: Option<String>,
    pub external_id: Option<String>,
    pub external_url: Option<String>,
    pub failure_reason: Option<String>,
    pub failure_reason_type: Option<String>,
}

/// Pleo's answer to `export-jobs-write.update-export-job-items` (`ExportJobItemUpdateV3`): the
/// items as they are now, and the updates Pleo did not apply.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ExportJobItemUpdates {
    #[serde(deserialize_with = "nullable_list", default)]
    pub data: Vec<ExportJobItem>,
    #[serde(deserialize_with = "nullable_list", default)]
    pub errors: Vec<ExportJobItemUpdateError>,
}

/// An item update Pleo refused (`ExportJobItemUpdateErrorV3`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportJobItemUpdateError {
    pub accounting_entry_id: String,
    /// e.g. `ACCOUNTING_ENTRY_DOES_NOT_EXIST`.
    #[serde(rename = "type")]
    pub kind: String,
    pub message: String,
}

/// An amount of the export API (`MoneyModel`): `value` is in minor units, e.g. 896.96 SEK is
/// `{"currency": "SEK", "value": 89696}`. Pleo types `value` as a JSON number, so it is kept
/// exactly as sent; [`MoneyModel::minors`] gives the integer.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct MoneyModel {
    /// ISO 4217 code.
    pub currency: String,
    pub value: Number,
}

impl MoneyModel {
    /// `value` as integer minor units; `None` if it has a fraction or is out of range.
    pub fn minors(&self) -> Option<i64> {
        if let Some(minors) = self.value.as_i64() {
            return Some(minors);
        }
        // `89696.0` is an integer written as a float; floats are exact up to 2^53.
        let value = self.value.as_f64()?;
        const EXACT: f64 = 9_007_199_254_740_992.0;
        (value.fract() == 0.0 && value.abs() <= EXACT).then_some(value as i64)
    }

    /// The amount as the SDK's [`Money`]; `None` as for [`MoneyModel::minors`].
    pub fn to_money(&self) -> Option<Money> {
        Some(Money {
            currency: self.currency.clone(),
            minors: self.minors()?,
        })
    }
}

/// An amount in the supplier's and in the company wallet's currency.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportAmount {
    pub in_supplier_currency: MoneyModel,
    pub in_wallet_currency: MoneyModel,
}

/// An accounting entry ready for export (`ExportItemV3`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportItem {
    pub accounting_entry_id: String,
    pub company_id: String,
    /// e.g. `card_purchase`, `out_of_pocket`, `invoice` (Pleo's expense types).
    #[serde(rename = "type")]
    pub kind: String,
    pub sub_type: Option<String>,
    /// RFC 3339: the day the entry is booked on.
    pub date: String,
    pub amount: ExportAmount,
    #[serde(default)]
    pub accounting_entry_lines: Vec<ExportItemLine>,
    pub additional_information: Option<ExportAdditionalInformation>,
    pub bookkeeping: Option<Bookkeeping>,
    /// The account in the accounting system matching the Pleo account the money moved on.
    pub contra_account: Option<ExportAccount>,
    /// Attached files; their URLs are pre-signed and expire.
    #[serde(deserialize_with = "nullable_list", default)]
    pub files: Vec<ExportFile>,
    pub note: Option<String>,
    pub service_period: Option<ServicePeriod>,
    pub supplier: Option<Supplier>,
    pub team: Option<ExportTeam>,
    /// The person who spent, usually an employee.
    pub user: Option<ExportUser>,
    pub vendor: Option<ExportVendor>,
}

/// One line of an export item (`ExportItemLineV3`); an entry split over accounts has several.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportItemLine {
    pub accounting_entry_line_id: String,
    pub line_amount: ExportAmount,
    /// The amount with or without tax, depending on the tax code's `type`.
    pub net_amount: ExportAmount,
    pub account: Option<ExportAccount>,
    #[serde(deserialize_with = "nullable_list", default)]
    pub tags: Vec<ExportTag>,
    pub tax: Option<ExportTax>,
}

/// A general-ledger account of an export item (`AccountV3`, and `ContraAccount`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ExportAccount {
    pub id: String,
    pub name: String,
    /// The account number.
    pub code: Option<String>,
    /// The account's id in the accounting system.
    pub identifier: Option<String>,
}

/// A tag on an export item line (`TagV3`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportTag {
    pub id: String,
    pub code: String,
    pub group_code: String,
}

/// The tax of an export item line (`TaxV3`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportTax {
    pub id: String,
    pub code: Option<String>,
    /// As a fraction: 0.25 is 25 %.
    pub rate: f64,
    /// `inclusive`, `exclusive` or `reverse`.
    #[serde(rename = "type")]
    pub kind: String,
    pub amount: ExportAmount,
    pub ingoing_tax_account: Option<String>,
    pub outgoing_tax_account: Option<String>,
}

/// `ExportItemAdditionalInformationV3`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportAdditionalInformation {
    /// Pleo's book id, to reconcile Pleo and the accounting system.
    pub reconciliation_id: String,
    #[serde(deserialize_with = "nullable_list", default)]
    pub attendees: Vec<Option<String>>,
    /// For a reimbursement: the reconciliation ids of the expenses it settles.
    #[serde(deserialize_with = "nullable_list", default)]
    pub reconciled_entries: Vec<Option<String>>,
    pub invoice_information: Option<InvoiceInformation>,
}

/// For an invoice: its number, dates and status (`InvoiceInformationV3`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceInformation {
    pub invoice_number: String,
    pub invoice_date: String,
    pub due_date: Option<String>,
    pub payment_date: Option<String>,
    /// e.g. `pending_approval`.
    pub status: String,
}

/// `BookkeepingV3`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Bookkeeping {
    /// e.g. `none`.
    pub method: String,
}

/// A file attached to an export item (`ExportItemFile`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ExportFile {
    /// A pre-signed link that expires.
    pub url: String,
    /// MIME type, e.g. `application/pdf`.
    #[serde(rename = "type")]
    pub mime_type: String,
    pub size: u64,
}

/// When a service was provided (`ServicePeriodV3`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ServicePeriod {
    pub from: String,
    pub to: String,
}

/// The supplier or merchant (`SupplierV3`); every field is optional.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Supplier {
    pub name: Option<String>,
    pub code: Option<String>,
    pub account: Option<String>,
    /// Merchant category code, e.g. `5999`.
    pub category_code: Option<String>,
    pub country: Option<String>,
    pub tax_identifier: Option<String>,
}

/// `TeamV3`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ExportTeam {
    pub id: String,
    pub name: String,
    pub code: Option<String>,
}

/// `ExportItemUserV3`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ExportUser {
    pub id: String,
    pub name: String,
    pub code: Option<String>,
}

/// The vendor of an export item (`VendorV3`), when the job uses vendor-based bookkeeping.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportVendor {
    pub id: String,
    pub name: String,
    pub default_currency: String,
    pub code: Option<String>,
    pub country: Option<String>,
    pub external_id: Option<String>,
    pub registration_number: Option<String>,
    pub tax_registration_number: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_jobs_and_job_items() {
        let job: ExportJob = serde_json::from_str(
            r#"{"id":"j1","companyId":"c1","status":"in_progress",
                "createdAt":"2025-01-02T10:00:00Z","createdBy":null,
                "startedAt":"2025-01-02T10:01:00Z","expiresIn":3600,"isInteractive":true,
                "numberOfItems":3,"vendorBasedBookkeeping":false,"failureReasonType":null}"#,
        )
        .unwrap();
        assert!(job.is_open());
        assert_eq!(job.number_of_items, 3);
        assert_eq!(job.completed_at, None);

        let updates: ExportJobItemUpdates = serde_json::from_str(
            r#"{"data":[{"accountingEntryId":"a1","exportJobId":"j1","status":"successful",
                "externalId":"JE-a1","exportedAt":"2025-01-02T10:05:00Z"}],
                "errors":[{"accountingEntryId":"a9","type":"ACCOUNTING_ENTRY_DOES_NOT_EXIST",
                "message":"no such entry"}]}"#,
        )
        .unwrap();
        assert_eq!(updates.data[0].external_id.as_deref(), Some("JE-a1"));
        assert_eq!(updates.errors[0].kind, "ACCOUNTING_ENTRY_DOES_NOT_EXIST");
    }

    #[test]
    fn decodes_an_export_item() {
        let item: ExportItem = serde_json::from_str(
            r#"{"_links":{"web":{"exportItem":"https://x"}},"accountingEntryId":"a1",
                "companyId":"c1","type":"card_purchase","subType":null,
                "date":"2025-01-02T00:00:00Z",
                "amount":{"inSupplierCurrency":{"currency":"SEK","value":89696},
                          "inWalletCurrency":{"currency":"DKK","value":61234.0}},
                "accountingEntryLines":[{"accountingEntryLineId":"l1",
                    "lineAmount":{"inSupplierCurrency":{"currency":"SEK","value":89696},
                                  "inWalletCurrency":{"currency":"DKK","value":61234}},
                    "netAmount":{"inSupplierCurrency":{"currency":"SEK","value":71757},
                                 "inWalletCurrency":{"currency":"DKK","value":48987}},
                    "account":{"id":"ac1","name":"Travel","code":"6100","identifier":null},
                    "tags":null,
                    "tax":{"id":"t1","code":"V25","rate":0.25,"type":"inclusive",
                           "amount":{"inSupplierCurrency":{"currency":"SEK","value":17939},
                                     "inWalletCurrency":{"currency":"DKK","value":12247}}}}],
                "additionalInformation":{"reconciliationId":"B-17","attendees":null},
                "files":null,"note":"Taxi","supplier":{"name":"TAXI 4x35","categoryCode":"4121"},
                "user":{"id":"u1","name":"Ana Lind","code":"E-1"},"vendor":null}"#,
        )
        .unwrap();
        assert_eq!(item.kind, "card_purchase");
        let money = item.amount.in_wallet_currency.to_money().unwrap();
        assert_eq!((money.currency.as_str(), money.minors), ("DKK", 61234));
        let line = &item.accounting_entry_lines[0];
        assert_eq!(line.account.as_ref().unwrap().code.as_deref(), Some("6100"));
        assert!(line.tags.is_empty());
        assert_eq!(line.tax.as_ref().unwrap().rate, 0.25);
        assert_eq!(
            item.additional_information.unwrap().reconciliation_id,
            "B-17"
        );
        assert!(item.files.is_empty());
        assert_eq!(item.user.unwrap().code.as_deref(), Some("E-1"));
        assert_eq!(item.vendor, None);
    }

    #[test]
    fn money_model_values_are_exact_minor_units() {
        let money = |json: &str| serde_json::from_str::<MoneyModel>(json).unwrap();
        assert_eq!(
            money(r#"{"currency":"SEK","value":-89696}"#).minors(),
            Some(-89696)
        );
        assert_eq!(
            money(r#"{"currency":"SEK","value":89696.0}"#).minors(),
            Some(89696)
        );
        assert_eq!(money(r#"{"currency":"SEK","value":896.96}"#).minors(), None);
        assert_eq!(money(r#"{"currency":"SEK","value":1e300}"#).minors(), None);
    }
}
