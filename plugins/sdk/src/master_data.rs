//! Master data a company keeps in Pleo for its accounting: vendors, the chart of accounts, tag
//! groups and tags, tax codes. Same rules as the other models: Pleo's field names, required
//! fields plain, the rest `Option`, unknown fields ignored, enum-like fields as strings.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::models::nullable_list;

/// A vendor (supplier) of a company (`VendorResponse`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Vendor {
    pub id: String,
    pub company_id: String,
    pub name: String,
    /// ISO 4217.
    pub default_currency: String,
    /// `DRAFT` (still to be created in the accounting system), `ACTIVE` or `ARCHIVED`.
    pub state: String,
    pub code: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    /// The vendor's id in the accounting system.
    pub external_id: Option<String>,
    pub registration_number: Option<String>,
    pub tax_registration_number: Option<String>,
    pub accounting_system: Option<String>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

/// An account of the chart of accounts (`BookkeepingAccountRestModelV1`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    pub id: String,
    pub company_id: String,
    /// The account's id in the accounting system.
    pub external_id: String,
    pub name: String,
    pub archived: bool,
    /// The account number.
    pub code: Option<String>,
    /// The accounting system's id of the account's tax code (not Pleo's id, not a rate).
    pub tax_code_external_id: Option<String>,
    /// The integration's own data about the account (Pleo's `metadata`: each value an object).
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
}

impl Account {
    /// `metadata` as the JSON text `accounts-write` takes, so an update keeps what is there
    /// (an update without it leaves the account without metadata).
    pub fn metadata_json(&self) -> Option<String> {
        self.metadata
            .as_ref()
            .map(|m| serde_json::Value::Object(m.clone()).to_string())
    }
}

/// What `accounts-write.create-accounts` made: decode its answer as
/// [`Data<AccountBatch>`](crate::Data) (`BookkeepingAccountBatchCreateResponseV1`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct AccountBatch {
    #[serde(deserialize_with = "nullable_list", default)]
    pub created: Vec<Account>,
    #[serde(deserialize_with = "nullable_list", default)]
    pub failed: Vec<AccountBatchFailure>,
}

/// An account of a batch Pleo did not create, and why.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct AccountBatchFailure {
    /// e.g. `EXTERNAL_ID_ALREADY_EXISTS`, `NAME_TOO_LONG`.
    #[serde(deserialize_with = "nullable_list", default)]
    pub reasons: Vec<String>,
    /// The item as it was sent (`externalId`, `name`, ...).
    pub request: serde_json::Value,
}

/// A tag group: a dimension such as projects or cost centres (`TagGroupModel`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagGroup {
    pub id: String,
    pub company_id: String,
    pub code: String,
    pub name: String,
    pub archived: bool,
    pub created_at: String,
    pub updated_at: String,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// Only when asked for.
    pub total_tags_count: Option<u64>,
}

/// A tag of a tag group (`TagModel`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tag {
    pub id: String,
    pub group_id: String,
    pub code: String,
    pub name: Option<String>,
    pub archived: bool,
    pub created_at: String,
    pub updated_at: String,
}

/// A dimension of a tag group: a column its tags have a value in, e.g. "Project manager"
/// (`TagGroupDimensionModel`, from `tags-read.list-tag-group-dimensions` and the dimension
/// writes).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagGroupDimension {
    pub id: String,
    pub group_id: String,
    pub code: String,
    pub name: String,
    /// Position among the group's dimensions, from 1.
    pub display_order: i32,
    pub visible: bool,
    pub created_at: String,
    pub updated_at: String,
}

/// A tag's value for one dimension of its group (`TagDimensionValueModel`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagDimensionValue {
    pub tag_id: String,
    pub dimension_id: String,
    pub value: String,
    pub created_at: String,
    pub updated_at: String,
}

/// A tag group with its dimensions (`AggregatedTagGroupModel`, from
/// `tags-read.list-aggregated-tag-groups`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AggregatedTagGroup {
    pub id: String,
    pub company_id: String,
    pub code: String,
    pub name: String,
    pub archived: bool,
    #[serde(deserialize_with = "nullable_list", default)]
    pub dimensions: Vec<AggregatedDimension>,
}

/// A dimension as an aggregation shows it; `value` only on a tag's (`AggregatedTag`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AggregatedDimension {
    pub id: String,
    pub code: String,
    pub name: String,
    pub display_order: i32,
    pub visible: bool,
    pub value: Option<String>,
}

/// A tag with its group and its dimension values (`AggregatedTagModel`, the items of
/// `tags-read.search-aggregated-tags`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AggregatedTag {
    pub id: String,
    pub company_id: String,
    pub code: String,
    pub name: Option<String>,
    pub archived: bool,
    pub group: AggregatedTagGroupRef,
    #[serde(deserialize_with = "nullable_list", default)]
    pub dimensions: Vec<AggregatedDimension>,
}

impl AggregatedTag {
    /// The tag's value for the dimension with this code, if it has one.
    pub fn value_of(&self, dimension_code: &str) -> Option<&str> {
        self.dimensions
            .iter()
            .find(|d| d.code == dimension_code)
            .and_then(|d| d.value.as_deref())
    }
}

/// The group of an [`AggregatedTag`].
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct AggregatedTagGroupRef {
    pub id: String,
    pub code: String,
    pub name: String,
}

/// A tax (VAT) code (`TaxCodeModel`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaxCode {
    pub id: String,
    pub company_id: String,
    pub name: String,
    /// As a fraction: 0.25 is 25 %.
    pub rate: f64,
    /// `inclusive`, `exclusive` or `reverse`.
    #[serde(rename = "type")]
    pub kind: String,
    pub archived: bool,
    pub code: Option<String>,
    pub ingoing_tax_account: Option<String>,
    pub outgoing_tax_account: Option<String>,
    pub accounting_integration_system: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Data;

    #[test]
    fn decodes_vendors_and_accounts() {
        let vendor: Vendor = serde_json::from_str(
            r#"{"id":"v1","companyId":"c1","name":"Acme ApS","defaultCurrency":"DKK",
                "state":"DRAFT","country":"DK","metadata":{"x":1}}"#,
        )
        .unwrap();
        assert_eq!(vendor.state, "DRAFT");
        assert_eq!(vendor.external_id, None);

        let batch: Data<AccountBatch> = serde_json::from_str(
            r#"{"data":{"created":[{"id":"a1","companyId":"c1","externalId":"A-1",
                "name":"Travel","archived":false,"code":"6100","metadata":null}],
                "failed":[{"reasons":["EXTERNAL_ID_ALREADY_EXISTS"],
                "request":{"externalId":"A-2","name":"Meals","archived":false}}]}}"#,
        )
        .unwrap();
        assert_eq!(batch.data.created[0].code.as_deref(), Some("6100"));
        assert_eq!(batch.data.created[0].metadata_json(), None);

        let account: Account = serde_json::from_str(
            r#"{"id":"a1","companyId":"c1","externalId":"A-1","name":"Travel",
                "archived":false,"metadata":{"erp":{"dimension":7}}}"#,
        )
        .unwrap();
        assert_eq!(
            account.metadata_json().as_deref(),
            Some(r#"{"erp":{"dimension":7}}"#)
        );
        assert_eq!(batch.data.failed[0].reasons, ["EXTERNAL_ID_ALREADY_EXISTS"]);
        assert_eq!(batch.data.failed[0].request["externalId"], "A-2");
    }

    #[test]
    fn decodes_tags_and_tax_codes() {
        let groups: Vec<TagGroup> = serde_json::from_str(
            r#"[{"id":"g1","companyId":"c1","code":"PRJ","name":"Projects","archived":false,
                 "createdAt":"2025-01-01T00:00:00Z","updatedAt":"2025-01-01T00:00:00Z",
                 "metadata":{"source":"erp"}}]"#,
        )
        .unwrap();
        assert_eq!(groups[0].metadata["source"], "erp");
        assert_eq!(groups[0].total_tags_count, None);

        let tag: Tag = serde_json::from_str(
            r#"{"id":"t1","groupId":"g1","code":"P-1","archived":false,
                "createdAt":"2025-01-01T00:00:00Z","updatedAt":"2025-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(tag.name, None);

        let aggregated: AggregatedTag = serde_json::from_str(
            r#"{"id":"t1","companyId":"c1","code":"P-1","name":"Apollo","archived":false,
                "createdAt":"2025-01-01T00:00:00Z","updatedAt":"2025-01-01T00:00:00Z",
                "group":{"id":"g1","code":"PRJ","name":"Projects"},
                "dimensions":[{"id":"d1","code":"PM","name":"Manager","displayOrder":1,
                               "visible":true,"value":"Ada"}]}"#,
        )
        .unwrap();
        assert_eq!(aggregated.value_of("PM"), Some("Ada"));
        assert_eq!(aggregated.value_of("ERP"), None);
        assert_eq!(aggregated.group.code, "PRJ");

        let dimension: TagGroupDimension = serde_json::from_str(
            r#"{"id":"d1","groupId":"g1","code":"PM","name":"Manager","displayOrder":2,
                "visible":false,"createdAt":"2025-01-01T00:00:00Z",
                "updatedAt":"2025-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!((dimension.display_order, dimension.visible), (2, false));

        let tax: TaxCode = serde_json::from_str(
            r#"{"id":"x1","companyId":"c1","name":"VAT 25","rate":0.25,"type":"inclusive",
                "archived":false,"code":null,"createdAt":"2025-01-01T00:00:00Z",
                "updatedAt":"2025-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!((tax.rate, tax.kind.as_str()), (0.25, "inclusive"));
    }
}

/// A vendor CSV import job (`CsvImportJobV1`): `vendors-write.create-import-job`,
/// `run-import-job` and `vendors-read.get-import-job` answer with one.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VendorImportJob {
    pub id: String,
    pub company_id: Option<String>,
    /// `UPLOAD_INITIATED`, `UPLOADED`, `READY_FOR_IMPORT`, `QUEUED`, `PROCESSING`, `COMPLETED`
    /// or `FAILED` (see [`VendorImportJob::status`]); absent in the made-up answer of a plan run.
    pub status: Option<String>,
    pub original_filename: Option<String>,
    pub column_names: Option<Vec<String>>,
    pub rows_total: Option<u64>,
    pub rows_succeeded: Option<u64>,
    pub rows_failed: Option<u64>,
    pub rows_skipped: Option<u64>,
    /// Set when the job failed (`INVALID_FILE_FORMAT`, `FILE_TOO_LARGE`, ...).
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

impl VendorImportJob {
    /// `status` as the WIT enum; `None` when absent or unknown.
    pub fn status(&self) -> Option<crate::types::ImportJobStatus> {
        use crate::types::ImportJobStatus as S;
        Some(match self.status.as_deref()? {
            "UPLOAD_INITIATED" => S::UploadInitiated,
            "UPLOADED" => S::Uploaded,
            "READY_FOR_IMPORT" => S::ReadyForImport,
            "QUEUED" => S::Queued,
            "PROCESSING" => S::Processing,
            "COMPLETED" => S::Completed,
            "FAILED" => S::Failed,
            _ => return None,
        })
    }
}

/// A row of an import file that did not become a vendor (`CsvRowImportErrorV1`), from
/// `vendors-read.list-import-job-errors`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VendorImportError {
    pub id: String,
    pub csv_import_job_id: String,
    /// The row in the file, the header being row 1.
    pub row_number: u64,
    pub error_code: String,
    pub error_message: String,
    /// The row as read, as JSON text.
    pub raw_data: String,
    pub created_at: Option<String>,
}
