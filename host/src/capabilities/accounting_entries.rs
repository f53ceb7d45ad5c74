//! `accounting-entries-read`: search and get accounting entries (Pleo's expenses).

use serde_json::{Map, Value, json};

use super::call::Args;
use super::table::{
    GET_ENTRY, GET_ENTRY_CORE, GET_RECEIPT, LIST_RECEIPTS, SEARCH_ENTRIES, SEARCH_RECEIPTS,
};
use super::{Caps, HostError, PageRequest, WitPage, checked_id, invalid};
use crate::bindings::pleo::plugin::accounting_entries_read::{
    DateField, EntryFilter, FileType, Host, ReceiptFilter, SortKey, Sorting,
};

/// Pleo's documented maximum page size for accounting entries.
const MAX_PAGE: u32 = 100;
/// Pleo's documented maximum length of each id filter list.
const MAX_IDS: usize = 100;

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
            let key = match sort.key {
                SortKey::PerformedAt => "performedAt",
                SortKey::SettledAt => "settledAt",
                SortKey::Id => "id",
                SortKey::BookkeepingDate => "bookkeepingDate",
            };
            let order = if sort.descending { "DESC" } else { "ASC" };
            args = args
                .query("sorting_keys", key)
                .query("sorting_order", order);
        }
        self.page(&SEARCH_ENTRIES, args.page(&page, MAX_PAGE)).await
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
        self.page(&LIST_RECEIPTS, args.page(&page, MAX_PAGE)).await
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
            .page(&page, MAX_PAGE);
        self.page(&SEARCH_RECEIPTS, args).await
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
    let lists = [
        ("employeeIds", filter.employee_ids, true),
        ("accountIds", filter.account_ids, true),
        ("families", filter.families, false),
        ("status", filter.statuses, false),
        ("transactionValueCurrencies", filter.currencies, false),
    ];
    for (name, values, are_ids) in lists {
        if values.is_empty() {
            continue;
        }
        if values.len() > MAX_IDS {
            return Err(invalid(format!("{name} takes at most {MAX_IDS} values")));
        }
        if are_ids {
            for id in &values {
                checked_id(id)?;
            }
        }
        body.insert(name.into(), json!(values));
    }
    Ok(Value::Object(body))
}
