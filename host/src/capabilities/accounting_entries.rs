//! `accounting-entries-read`: search and get accounting entries (Pleo's expenses).

use serde_json::{Map, Value, json};

use super::call::Args;
use super::checks;
use super::paging;
use super::table::{
    GET_ENTRY, GET_ENTRY_CORE, GET_RECEIPT, LIST_RECEIPTS, SEARCH_ENTRIES, SEARCH_RECEIPTS,
};
use super::{Caps, HostError, PageRequest, WitPage, checked_id, invalid, truncate};
use crate::bindings::pleo::plugin::accounting_entries_read::{
    DateField, EntryFilter, ExportStatus, FileType, Host, Nulls, ReceiptFilter, ReviewStatus,
    SortKey, Sorting, SubFamily,
};

/// Pleo's documented maximum length of each id filter list.
const MAX_IDS: usize = 100;
/// Most characters of one `foreignExtensionIds` value (Pleo gives none; an id is far shorter).
const MAX_FOREIGN_ID: usize = 255;
/// Most characters of one `families` or `status` value (Pleo's longest is 20).
const MAX_ENUM_NAME: usize = 64;

impl Host for Caps {
    async fn search_entries(
        &mut self,
        filter: EntryFilter,
        sort: Option<Sorting>,
        page: PageRequest,
    ) -> Result<WitPage, HostError> {
        let mut args = Args::new()
            .body(search_body(filter))
            .query("company_id", self.company_id.clone());
        if let Some(sort) = sort {
            // One order per request: `sort` or the page's `sorting`, not both.
            if !page.sorting.is_empty() {
                args = args.refuse(invalid(
                    "sort by `sort` or by the page's `sorting`, not both".into(),
                ));
            }
            let key = match sort.key {
                SortKey::PerformedAt => "performedAt",
                SortKey::SettledAt => "settledAt",
                SortKey::Id => "id",
                SortKey::BookkeepingDate => "bookkeepingDate",
            };
            args = args
                .query("sorting_keys", key)
                .query("sorting_order", sorting_order(sort));
        }
        self.page(&SEARCH_ENTRIES, args.page(&page, &paging::ENTRIES))
            .await
    }

    async fn get_entry(&mut self, id: String, include_deleted: bool) -> Result<String, HostError> {
        let args = Args::new()
            .id(id)
            .query("include_deleted", include_deleted.to_string());
        self.text(&GET_ENTRY, args).await
    }

    async fn get_entry_core(
        &mut self,
        id: String,
        include_deleted: bool,
    ) -> Result<String, HostError> {
        let args = Args::new()
            .id(id)
            .query("include_deleted", include_deleted.to_string());
        self.text(&GET_ENTRY_CORE, args).await
    }

    // Receipt `url`s are pre-signed links that expire: they pass through untouched, and the
    // host never fetches them (the key must not travel to a storage host).
    async fn list_receipts(
        &mut self,
        entry_id: String,
        file_type: Option<FileType>,
        sources: Vec<String>,
        page: PageRequest,
    ) -> Result<WitPage, HostError> {
        let mut args = Args::new()
            .id(entry_id)
            .query_opt("file_type", file_type.map(file_type_name));
        match enum_values("source", sources) {
            Ok(sources) => {
                for source in sources {
                    args = args.query("source", source);
                }
            }
            Err(refusal) => args = args.refuse(refusal),
        }
        self.page(&LIST_RECEIPTS, args.page(&page, &paging::RECEIPTS))
            .await
    }

    async fn get_receipt(
        &mut self,
        entry_id: String,
        receipt_id: String,
        file_type: Option<FileType>,
    ) -> Result<String, HostError> {
        let args = Args::new()
            .id(entry_id)
            .id(receipt_id)
            .query_opt("file_type", file_type.map(file_type_name));
        self.text(&GET_RECEIPT, args).await
    }

    async fn search_receipts(
        &mut self,
        filter: ReceiptFilter,
        page: PageRequest,
    ) -> Result<WitPage, HostError> {
        let args = Args::new()
            .body(receipt_search_body(filter))
            .query("company_id", self.company_id.clone())
            .page(&page, &paging::RECEIPTS);
        self.page(&SEARCH_RECEIPTS, args).await
    }
}

/// `PageOrder`: the direction, and where entries without the key's value go if asked.
fn sorting_order(sort: Sorting) -> &'static str {
    match (sort.descending, sort.nulls) {
        (false, None) => "ASC",
        (false, Some(Nulls::First)) => "ASC_NULLS_FIRST",
        (false, Some(Nulls::Last)) => "ASC_NULLS_LAST",
        (true, None) => "DESC",
        (true, Some(Nulls::First)) => "DESC_NULLS_FIRST",
        (true, Some(Nulls::Last)) => "DESC_NULLS_LAST",
    }
}

fn file_type_name(file_type: FileType) -> &'static str {
    match file_type {
        FileType::Original => "ORIGINAL",
        FileType::Thumbnail => "THUMBNAIL",
        FileType::Preview => "PREVIEW",
        FileType::Embed => "EMBED",
    }
}

/// Builds `ReceiptSearchRequest`.
fn receipt_search_body(filter: ReceiptFilter) -> Result<Value, HostError> {
    let mut body = Map::new();
    body.insert("includeDeleted".into(), json!(filter.include_deleted));
    for (name, ids) in [
        ("accountingEntryIds", filter.accounting_entry_ids),
        ("employeeIds", filter.employee_ids),
    ] {
        if ids.is_empty() {
            continue;
        }
        if ids.len() > MAX_IDS {
            return Err(invalid(format!("{name} takes at most {MAX_IDS} values")));
        }
        for id in &ids {
            checked_id(id)?;
        }
        body.insert(name.into(), json!(ids));
    }
    if let Some(file_type) = filter.file_type {
        body.insert("fileType".into(), json!(file_type_name(file_type)));
    }
    for (name, values) in [("mimeType", filter.mime_types), ("source", filter.sources)] {
        let values = enum_values(name, values)?;
        if !values.is_empty() {
            body.insert(name.into(), json!(values));
        }
    }
    Ok(Value::Object(body))
}

/// Most values of a filter on one of Pleo's receipt enums (`ReceiptSource` has 14,
/// `ReceiptMimeType` 10): more than this cannot all be distinct values.
const MAX_ENUM_VALUES: usize = 32;
/// Longest enum value the host sends (the longest documented one is 22 characters).
const MAX_ENUM_LEN: usize = 64;

/// A list of enum values from the plugin, bounded and without repeats; Pleo checks the names.
fn enum_values(name: &str, values: Vec<String>) -> Result<Vec<String>, HostError> {
    if values.len() > MAX_ENUM_VALUES {
        return Err(invalid(format!(
            "{name} takes at most {MAX_ENUM_VALUES} values"
        )));
    }
    if let Some(bad) = values
        .iter()
        .find(|v| v.is_empty() || v.len() > MAX_ENUM_LEN || v.chars().any(char::is_control))
    {
        return Err(invalid(format!(
            "{name}: {:?} is not a value Pleo documents",
            bad.chars().take(MAX_ENUM_LEN).collect::<String>()
        )));
    }
    let mut unique = values;
    unique.sort();
    unique.dedup();
    Ok(unique)
}

/// Builds `AccountingEntryBaseSearchRequest` from the typed filter, refusing what Pleo would.
fn search_body(filter: EntryFilter) -> Result<Value, HostError> {
    let mut body = Map::new();
    body.insert("includeDeleted".into(), json!(filter.include_deleted));
    if let Some(range) = filter.date_range {
        let (start, end) = match range.field {
            DateField::PerformedAt => ("performedAtStart", "performedAtEnd"),
            DateField::SettledAt => ("settledAtStart", "settledAtEnd"),
            DateField::BookkeepingDate => ("bookkeepingDateStart", "bookkeepingDateEnd"),
        };
        for (name, value) in [(start, range.start), (end, range.end)] {
            if let Some(value) = value {
                if chrono::DateTime::parse_from_rfc3339(&value).is_err() {
                    return Err(invalid(format!(
                        "{name} `{value}` is not an RFC 3339 date-time"
                    )));
                }
                body.insert(name.into(), json!(value));
            }
        }
    }
    let ids = [
        ("employeeIds", filter.employee_ids),
        ("accountIds", filter.account_ids),
        ("teamIds", filter.team_ids),
        // Pleo declares this one `uniqueItems`.
        ("taxCodeIds", checks::unique(filter.tax_code_ids)),
        ("tagRowIds", filter.tag_row_ids),
        ("tagGroupIdsUnset", filter.tag_group_ids_unset),
    ];
    for (name, values) in ids {
        checks::ids(name, &values, MAX_IDS)?;
        insert_list(&mut body, name, values);
    }
    checks::at_most(
        "foreignExtensionIds",
        filter.foreign_extension_ids.len(),
        MAX_IDS,
    )?;
    for id in &filter.foreign_extension_ids {
        checks::text("foreignExtensionIds", id, 1, MAX_FOREIGN_ID)?;
    }
    insert_list(
        &mut body,
        "foreignExtensionIds",
        filter.foreign_extension_ids,
    );
    for (name, values) in [("families", filter.families), ("status", filter.statuses)] {
        checks::at_most(name, values.len(), MAX_IDS)?;
        for value in &values {
            enum_name(name, value)?;
        }
        insert_list(&mut body, name, values);
    }
    checks::at_most(
        "transactionValueCurrencies",
        filter.currencies.len(),
        MAX_IDS,
    )?;
    let currencies = (filter.currencies.iter())
        .map(|c| checks::currency("transactionValueCurrencies", c))
        .collect::<Result<Vec<_>, _>>()?;
    insert_list(&mut body, "transactionValueCurrencies", currencies);
    // Enum lists: each value once, so a list is never longer than the enum.
    let export = filter.export_statuses.into_iter().map(export_status_name);
    insert_list(&mut body, "exportStatus", distinct(export));
    let review = filter.review_statuses.into_iter().map(review_status_name);
    insert_list(&mut body, "reviewStatus", distinct(review));
    let sub_families = filter.sub_families.into_iter().map(sub_family_name);
    insert_list(&mut body, "subFamilies", distinct(sub_families));
    for (name, flag) in [
        ("settled", filter.settled),
        ("hasAccount", filter.has_account),
        ("hasNote", filter.has_note),
        ("hasBookkeepingDate", filter.has_bookkeeping_date),
    ] {
        if let Some(flag) = flag {
            body.insert(name.into(), json!(flag));
        }
    }
    Ok(Value::Object(body))
}

/// Adds a non-empty list to the body; an empty one filters nothing, so it is left out.
fn insert_list<T: serde::Serialize>(body: &mut Map<String, Value>, name: &str, values: Vec<T>) {
    if !values.is_empty() {
        body.insert(name.into(), json!(values));
    }
}

fn distinct(values: impl Iterator<Item = &'static str>) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for value in values {
        if !out.contains(&value) {
            out.push(value);
        }
    }
    out
}

/// `families` and `status` stay strings (Pleo may add values), but only in the form of
/// Pleo's enum values: upper-case letters and `_`, short.
fn enum_name(name: &str, value: &str) -> Result<(), HostError> {
    let ok = (1..=MAX_ENUM_NAME).contains(&value.len())
        && value.bytes().all(|c| c.is_ascii_uppercase() || c == b'_');
    if ok {
        Ok(())
    } else {
        Err(invalid(format!(
            "{name} `{}` is not one of Pleo's values such as CARD_PURCHASE",
            truncate(value, 80)
        )))
    }
}

fn export_status_name(status: ExportStatus) -> &'static str {
    match status {
        ExportStatus::Created => "CREATED",
        ExportStatus::Exported => "EXPORTED",
        ExportStatus::Exporting => "EXPORTING",
        ExportStatus::NotCreated => "NOT_CREATED",
        ExportStatus::NotExported => "NOT_EXPORTED",
        ExportStatus::Queued => "QUEUED",
    }
}

fn review_status_name(status: ReviewStatus) -> &'static str {
    match status {
        ReviewStatus::NotOk => "NOT_OK",
        ReviewStatus::NotRequired => "NOT_REQUIRED",
        ReviewStatus::NotSet => "NOT_SET",
        ReviewStatus::Ok => "OK",
        ReviewStatus::WaitingForExpenseOwner => "WAITING_FOR_EXPENSE_OWNER",
        ReviewStatus::WaitingForReviewer => "WAITING_FOR_REVIEWER",
        ReviewStatus::WaitingForCompanyReviewer => "WAITING_FOR_COMPANY_REVIEWER",
        ReviewStatus::WaitingForTeamReviewer => "WAITING_FOR_TEAM_REVIEWER",
        ReviewStatus::WaitingForTagReviewer => "WAITING_FOR_TAG_REVIEWER",
    }
}

fn sub_family_name(sub_family: SubFamily) -> &'static str {
    match sub_family {
        SubFamily::Atm => "ATM",
        SubFamily::InStore => "IN_STORE",
        SubFamily::Online => "ONLINE",
        SubFamily::PleoInvoice => "PLEO_INVOICE",
        SubFamily::PleoInvoiceRefund => "PLEO_INVOICE_REFUND",
        SubFamily::ReimbursementToCompany => "REIMBURSEMENT_TO_COMPANY",
        SubFamily::ReimbursementToEmployee => "REIMBURSEMENT_TO_EMPLOYEE",
        SubFamily::ReimbursementToEmployeeRefund => "REIMBURSEMENT_TO_EMPLOYEE_REFUND",
        SubFamily::Load => "LOAD",
        SubFamily::Unload => "UNLOAD",
        SubFamily::Withdrawal => "WITHDRAWAL",
        SubFamily::Fee => "FEE",
        SubFamily::Interest => "INTEREST",
        SubFamily::BillInvoicePaymentReturned => "BILL_INVOICE_PAYMENT_RETURNED",
        SubFamily::BillInvoicePaymentReceived => "BILL_INVOICE_PAYMENT_RECEIVED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty() -> EntryFilter {
        EntryFilter {
            include_deleted: false,
            date_range: None,
            employee_ids: Vec::new(),
            account_ids: Vec::new(),
            families: Vec::new(),
            statuses: Vec::new(),
            currencies: Vec::new(),
            export_statuses: Vec::new(),
            review_statuses: Vec::new(),
            sub_families: Vec::new(),
            team_ids: Vec::new(),
            tax_code_ids: Vec::new(),
            tag_row_ids: Vec::new(),
            tag_group_ids_unset: Vec::new(),
            foreign_extension_ids: Vec::new(),
            settled: None,
            has_account: None,
            has_note: None,
            has_bookkeeping_date: None,
        }
    }

    #[test]
    fn every_filter_reaches_the_body_under_pleos_name() {
        let id = "0b0e4c2e-8a8f-4a55-9d7c-2f1f0e0c0a01";
        let filter = EntryFilter {
            export_statuses: vec![ExportStatus::NotExported, ExportStatus::NotExported],
            review_statuses: vec![ReviewStatus::WaitingForTagReviewer],
            sub_families: vec![SubFamily::InStore, SubFamily::Atm],
            team_ids: vec![id.into()],
            tax_code_ids: vec![id.into(), id.into()],
            tag_row_ids: vec![id.into()],
            tag_group_ids_unset: vec![id.into()],
            foreign_extension_ids: vec!["ext:42/a".into()],
            currencies: vec!["dkk".into()],
            settled: Some(true),
            has_account: Some(false),
            has_note: Some(true),
            has_bookkeeping_date: Some(false),
            ..empty()
        };
        let body = search_body(filter).unwrap();
        assert_eq!(
            body,
            json!({
                "includeDeleted": false,
                "exportStatus": ["NOT_EXPORTED"],
                "reviewStatus": ["WAITING_FOR_TAG_REVIEWER"],
                "subFamilies": ["IN_STORE", "ATM"],
                "teamIds": [id],
                "taxCodeIds": [id],
                "tagRowIds": [id],
                "tagGroupIdsUnset": [id],
                "foreignExtensionIds": ["ext:42/a"],
                "transactionValueCurrencies": ["DKK"],
                "settled": true,
                "hasAccount": false,
                "hasNote": true,
                "hasBookkeepingDate": false,
            })
        );
        assert_eq!(
            search_body(empty()).unwrap(),
            json!({"includeDeleted": false})
        );
    }

    #[test]
    fn plugin_lists_and_values_are_bounded() {
        let many = |value: &str| vec![value.to_owned(); MAX_IDS + 1];
        let id = "0b0e4c2e-8a8f-4a55-9d7c-2f1f0e0c0a01";
        for filter in [
            EntryFilter {
                team_ids: many(id),
                ..empty()
            },
            EntryFilter {
                tag_row_ids: many(id),
                ..empty()
            },
            EntryFilter {
                tag_group_ids_unset: many(id),
                ..empty()
            },
            EntryFilter {
                foreign_extension_ids: many("x"),
                ..empty()
            },
            EntryFilter {
                families: many("MILEAGE"),
                ..empty()
            },
            EntryFilter {
                currencies: many("DKK"),
                ..empty()
            },
            EntryFilter {
                team_ids: vec!["../x".into()],
                ..empty()
            },
            EntryFilter {
                tax_code_ids: vec![String::new()],
                ..empty()
            },
            EntryFilter {
                foreign_extension_ids: vec!["x".repeat(256)],
                ..empty()
            },
            EntryFilter {
                foreign_extension_ids: vec![String::new()],
                ..empty()
            },
            EntryFilter {
                families: vec!["MILEAGE\",\"x".into()],
                ..empty()
            },
            EntryFilter {
                statuses: vec!["A".repeat(65)],
                ..empty()
            },
            EntryFilter {
                currencies: vec!["DKKK".into()],
                ..empty()
            },
        ] {
            assert!(search_body(filter).is_err());
        }
        // A thousand repeats of an enum value are one value on the wire.
        let filter = EntryFilter {
            review_statuses: vec![ReviewStatus::Ok; 1000],
            ..empty()
        };
        assert_eq!(search_body(filter).unwrap()["reviewStatus"], json!(["OK"]));
    }

    #[test]
    fn sort_orders_name_where_nulls_go() {
        let order = |descending, nulls| {
            sorting_order(Sorting {
                key: SortKey::SettledAt,
                descending,
                nulls,
            })
        };
        assert_eq!(order(false, None), "ASC");
        assert_eq!(order(true, None), "DESC");
        assert_eq!(order(false, Some(Nulls::First)), "ASC_NULLS_FIRST");
        assert_eq!(order(false, Some(Nulls::Last)), "ASC_NULLS_LAST");
        assert_eq!(order(true, Some(Nulls::First)), "DESC_NULLS_FIRST");
        assert_eq!(order(true, Some(Nulls::Last)), "DESC_NULLS_LAST");
    }
}
