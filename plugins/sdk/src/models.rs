//! Typed Pleo objects, decoded from the JSON the host passes through unchanged.
//!
//! Field names follow Pleo's OpenAPI documents: `ExternalEmployeeResponseModel` (employees),
//! `AccountingEntryV1` and `ReceiptModel` (accounting entries), `ExternalCompanyResponseModel`
//! (companies); the export flow's objects are in `export.rs`, the master data (vendors,
//! accounts, tags, tax codes) in `master_data.rs`. Fields Pleo documents as required are plain
//! fields; the others are `Option`s (lists default to empty). Unknown fields are ignored, and
//! enum-like fields (`status`, `family`, ...) stay strings so that values Pleo adds later still
//! decode. A plugin that needs a field not modelled here can decode pages into its own struct:
//! [`crate::pages`] works with any `DeserializeOwned` type.

use serde::Deserialize;

use crate::Money;

/// An employee (`GET /v2/employees`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Employee {
    pub id: String,
    pub company_id: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    /// External ID of the employee.
    pub code: Option<String>,
    pub job_title: Option<String>,
    pub phone: Option<String>,
}

impl Employee {
    /// `first last`, or whichever of the two is not empty.
    pub fn full_name(&self) -> String {
        let (first, last) = (self.first_name.trim(), self.last_name.trim());
        match (first.is_empty(), last.is_empty()) {
            (false, false) => format!("{first} {last}"),
            (false, true) => first.to_owned(),
            _ => last.to_owned(),
        }
    }
}

/// An accounting entry: an expense, invoice, reimbursement, ... (`POST
/// /v1/accounting-entries:search`). Split items and attendees are not modelled.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountingEntry {
    pub id: String,
    pub company_id: String,
    /// RFC 3339 timestamps, as Pleo sends them.
    pub created_at: String,
    pub updated_at: String,
    pub performed_at: String,
    /// e.g. `CARD_PURCHASE`, `OUT_OF_POCKET`, `BILL_INVOICE`.
    pub family: String,
    pub sub_family: Option<String>,
    /// `DRAFT`, `PENDING`, `COMPLETED`, `COMPLETED_EXTERNALLY`, `CANCELLED`, `REJECTED`, `ERROR`.
    pub status: String,
    pub export_status: String,
    pub review_status: String,
    /// The amount in the currency the payment was made in.
    pub transaction_value: Money,
    /// The amount debited or credited from the company's Pleo wallet, fees included.
    pub total_bill_value: Option<Money>,
    pub employee_id: Option<String>,
    pub team_id: Option<String>,
    pub account_id: Option<String>,
    pub account_code: Option<String>,
    pub tax_code_id: Option<String>,
    pub bookkeeping_date: Option<String>,
    pub settled_at: Option<String>,
    /// Set when the entry is deleted (only returned when deleted entries are asked for).
    pub deleted_at: Option<String>,
    pub note: Option<String>,
    pub foreign_extension_id: Option<String>,
    #[serde(default)]
    pub receipt_ids: Vec<String>,
    #[serde(default)]
    pub tags: Vec<EntryTag>,
}

impl AccountingEntry {
    pub fn is_deleted(&self) -> bool {
        self.deleted_at.is_some()
    }
}

/// A tag on an accounting entry.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntryTag {
    pub tag_group_id: String,
    pub tag_id: Option<String>,
}

/// A company (entity) the key can see (`GET /v1/companies`, `ExternalCompanyResponseModel`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Company {
    pub id: String,
    pub name: String,
    pub organization_id: Option<String>,
    pub registration_number: Option<String>,
    #[serde(default)]
    pub address: CompanyAddress,
}

/// The address of a [`Company`]; every part is optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompanyAddress {
    pub address_line1: Option<String>,
    pub address_line2: Option<String>,
    pub locality: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
}

/// A receipt file of an accounting entry (`ReceiptModel`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    pub id: String,
    pub accounting_entry_id: String,
    pub created_at: String,
    /// `ORIGINAL`, `THUMBNAIL`, `PREVIEW` or `EMBED`.
    pub file_type: String,
    pub mime_type: String,
    pub size_in_bytes: u64,
    pub source: String,
    /// A pre-signed link that expires (Pleo says after 24 hours). The host never fetches it,
    /// and a plugin cannot either: it has no network.
    pub url: String,
    pub ocr_document_id: Option<String>,
}

/// Pleo's single-object envelope `{"data": ...}`, for the few calls whose whole answer the host
/// passes on (`accounts-write.create-accounts`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Data<T> {
    pub data: T,
}

/// Decodes a JSON array that Pleo may send as `null` as an empty list.
pub(crate) fn nullable_list<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<Vec<T>>::deserialize(deserializer).map(Option::unwrap_or_default)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_pleo_json() {
        let employee: Employee = serde_json::from_str(
            r#"{"id":"e1","companyId":"c1","email":"ana@example.com","firstName":"Ana",
                "lastName":"Lind","code":null,"unknown":{"x":1}}"#,
        )
        .unwrap();
        assert_eq!(employee.full_name(), "Ana Lind");
        assert_eq!(employee.code, None);

        let entry: AccountingEntry = serde_json::from_str(
            r#"{"id":"a1","companyId":"c1","createdAt":"2025-01-02T10:00:00Z",
                "updatedAt":"2025-01-02T10:00:00Z","performedAt":"2025-01-01T09:00:00Z",
                "family":"CARD_PURCHASE","status":"COMPLETED","exportStatus":"NOT_EXPORTED",
                "reviewStatus":"NOT_SET","receiptIds":[],"tags":[{"tagGroupId":"g"}],
                "splitItems":[],"attendees":[],
                "transactionValue":{"currency":"EUR","minors":-1250},
                "employeeId":"e1","deletedAt":null,"supplier":{"cif":"x"}}"#,
        )
        .unwrap();
        assert_eq!(entry.transaction_value.minors, -1250);
        assert_eq!(entry.employee_id.as_deref(), Some("e1"));
        assert!(!entry.is_deleted());
        assert_eq!(entry.tags[0].tag_id, None);
    }

    /// `get-entry-core` answers `AccountingEntryCoreV6`: no tags, split items or attendees,
    /// and `fees`; it decodes as the same model.
    #[test]
    fn decodes_an_entry_core_record() {
        let core: AccountingEntry = serde_json::from_str(
            r#"{"id":"a1","companyId":"c1","createdAt":"2025-01-02T10:00:00Z",
                "updatedAt":"2025-01-02T10:00:00Z","performedAt":"2025-01-01T09:00:00Z",
                "family":"OUT_OF_POCKET","status":"PENDING","exportStatus":"NOT_EXPORTED",
                "reviewStatus":"NOT_SET","receiptIds":["r1"],"fees":{},
                "transactionValue":{"currency":"DKK","minors":-9900}}"#,
        )
        .unwrap();
        assert!(core.tags.is_empty());
        assert_eq!(core.receipt_ids, ["r1"]);
        assert_eq!(core.transaction_value.minors, -9900);
    }

    #[test]
    fn decodes_companies_and_receipts() {
        let company: Company = serde_json::from_str(
            r#"{"id":"c1","name":"Acme ApS","organizationId":"o1",
                "address":{"addressLine1":"Main 1","postalCode":"2100","country":"DK"}}"#,
        )
        .unwrap();
        assert_eq!(company.address.address_line1.as_deref(), Some("Main 1"));
        assert_eq!(company.address.country.as_deref(), Some("DK"));
        assert_eq!(company.registration_number, None);

        let receipt: Receipt = serde_json::from_str(
            r#"{"id":"r1","accountingEntryId":"a1","createdAt":"2025-01-02T10:00:00Z",
                "fileType":"ORIGINAL","mimeType":"application/pdf","sizeInBytes":2084,
                "source":"MOBILE","url":"https://files.example/r1?sig=x"}"#,
        )
        .unwrap();
        assert_eq!(receipt.size_in_bytes, 2084);
        assert_eq!(receipt.ocr_document_id, None);
    }
}
