//! `accounting-entries-read`: search and get accounting entries (Pleo's expenses).

use serde_json::{Map, Value, json};

use super::ownership::{ENTRY, IdAt, RECEIPT, Returns, Target};
use super::{Caps, HostError, Op, PageRequest, WitPage, checked_id, invalid, paged};
use crate::bindings::pleo::plugin::accounting_entries_read::{
    DateField, EntryFilter, FileType, Host, ReceiptFilter, SortKey, Sorting,
};
use crate::pleo::ApiRequest;

const INTERFACE: &str = "accounting-entries-read";
const SCOPE: &str = "accounting-entries:read";

const SEARCH_ENTRIES: Op = Op {
    interface: INTERFACE,
    function: "search-entries",
    scope: SCOPE,
    method: "POST",
    template: "/v1/accounting-entries:search",
    returns: Returns::Objects(&ENTRY),
    target: None,
};
const LIST_RECEIPTS: Op = Op {
    interface: INTERFACE,
    function: "list-receipts",
    scope: SCOPE,
    method: "GET",
    template: "/v1/accounting-entries/{accountingEntryId}/receipts",
    returns: Returns::Objects(&RECEIPT),
    target: Some(Target {
        kind: &ENTRY,
        id: IdAt::Path("accountingEntryId"),
    }),
};
const GET_RECEIPT: Op = Op {
    interface: INTERFACE,
    function: "get-receipt",
    scope: SCOPE,
    method: "GET",
    template: "/v1/accounting-entries/{accountingEntryId}/receipts/{receiptId}",
    returns: Returns::Objects(&RECEIPT),
    target: Some(Target {
        kind: &ENTRY,
        id: IdAt::Path("accountingEntryId"),
    }),
};
const SEARCH_RECEIPTS: Op = Op {
    interface: INTERFACE,
    function: "search-receipts",
    scope: SCOPE,
    method: "POST",
    template: "/v1/accounting-entries/receipts:search",
    // Receipts carry no company, only their entry; the search is filtered by query
    // `company_id`, always the run's company (looking up each receipt's entry would cost a
    // request per entry).
    returns: Returns::Unowned,
    target: None,
};
const GET_ENTRY: Op = Op {
    interface: INTERFACE,
    function: "get-entry",
    scope: SCOPE,
    method: "GET",
    template: "/v1/accounting-entries/{accountingEntryId}",
    returns: Returns::Objects(&ENTRY),
    target: None,
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
        let op = &SEARCH_ENTRIES;
        self.require(op)?;
        let body = self.refused(op, search_body(filter))?;
        let mut req =
            ApiRequest::post(op.template, body).query("company_id", self.company_id.clone());
        if let Some(sort) = sort {
            let key = match sort.key {
                SortKey::PerformedAt => "performedAt",
                SortKey::SettledAt => "settledAt",
                SortKey::Id => "id",
                SortKey::BookkeepingDate => "bookkeepingDate",
            };
            let order = if sort.descending { "DESC" } else { "ASC" };
            req = req.query("sorting_keys", key).query("sorting_order", order);
        }
        let req = self.refused(op, paged(req, &page, MAX_PAGE))?;
        self.page(op, req).await
    }

    async fn get_entry(&mut self, id: String, include_deleted: bool) -> Result<String, HostError> {
        let op = &GET_ENTRY;
        self.require(op)?;
        let path = checked_id(&id).map(|id| format!("/v1/accounting-entries/{id}"));
        let req = ApiRequest::get(self.refused(op, path)?)
            .query("include_deleted", include_deleted.to_string());
        self.object(op, req).await
    }

    // Receipt `url`s are pre-signed links that expire: they pass through untouched, and the
    // host never fetches them (the key must not travel to a storage host).
    async fn list_receipts(
        &mut self,
        entry_id: String,
        file_type: Option<FileType>,
        page: PageRequest,
    ) -> Result<WitPage, HostError> {
        let op = &LIST_RECEIPTS;
        self.require(op)?;
        let path = checked_id(&entry_id).map(|id| format!("/v1/accounting-entries/{id}/receipts"));
        let req = ApiRequest::get(self.refused(op, path)?)
            .query_opt("file_type", file_type.map(file_type_name));
        let req = self.refused(op, paged(req, &page, MAX_PAGE))?;
        self.page(op, req).await
    }

    async fn get_receipt(
        &mut self,
        entry_id: String,
        receipt_id: String,
        file_type: Option<FileType>,
    ) -> Result<String, HostError> {
        let op = &GET_RECEIPT;
        self.require(op)?;
        let path = checked_id(&entry_id).and_then(|entry| {
            Ok(format!(
                "/v1/accounting-entries/{entry}/receipts/{}",
                checked_id(&receipt_id)?
            ))
        });
        let req = ApiRequest::get(self.refused(op, path)?)
            .query_opt("file_type", file_type.map(file_type_name));
        self.object(op, req).await
    }

    async fn search_receipts(
        &mut self,
        filter: ReceiptFilter,
        page: PageRequest,
    ) -> Result<WitPage, HostError> {
        let op = &SEARCH_RECEIPTS;
        self.require(op)?;
        let body = self.refused(op, receipt_search_body(filter))?;
        let req = ApiRequest::post(op.template, body).query("company_id", self.company_id.clone());
        let req = self.refused(op, paged(req, &page, MAX_PAGE))?;
        self.page(op, req).await
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
    Ok(Value::Object(body))
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
