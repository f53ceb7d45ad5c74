//! The accounting entry as Pleo's accounting-entries API shows it (`AccountingEntryV1`) and
//! its parts and enums. Public structs serialize to Pleo's JSON field names (camelCase,
//! optional fields omitted rather than `null`); `#[serde(skip)]` fields are helpers Pleo's
//! model does not carry.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize, Serializer};
use uuid::Uuid;

use crate::data::{ser_opt_uuid, ser_uuid};

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

fn ser_uuids<S: Serializer>(ids: &[Uuid], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(ids.iter().map(|id| id.to_string()))
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::{Dataset, MockConfig};

    #[test]
    fn json_uses_pleo_field_names() {
        let ds = Dataset::seed(&MockConfig {
            anchor: NaiveDate::from_ymd_opt(2025, 6, 30).unwrap_or_default(),
            ..MockConfig::default()
        });
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
        assert!(e.performed_at.to_rfc3339().ends_with("+00:00"));
        assert!(v["performedAt"].as_str().unwrap().ends_with('Z'));
    }
}
