//! Accounting entries (`/v1/accounting-entries`, scope `accounting-entries:read`): their
//! records (`records`), their seeding (`seed`), search with filters and keyset paging
//! (`search`), and one entry by id. Their receipts are `receipts.rs`.

pub(super) mod core;
mod records;
mod search;
pub(super) mod seed;

pub use records::{
    AccountingEntry, Attendee, EntryTag, ExportStatus, Family, Money, ReviewStatus, SplitItem,
    Status, SubFamily, Supplier,
};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::error::{ApiError, json_response};
use super::extract::{Ids, Pairs, RawBody};
use super::paging::{Order, PageRequest, Rules, SortValue, paginate, single};
use super::rest::{Result, Shared, check_organization, companies, ok, parse_bool, query_uuid};
use super::server::AppState;
use search::Filter;

/// The accounting-entries API documents `limit` 1..=100 (default 20) and no `offset`.
const ENTRY_PAGING: Rules = Rules {
    default_limit: 20,
    min_limit: 1,
    max_limit: 100,
    allow_offset: false,
    keys: &["settledAt", "performedAt", "id", "bookkeepingDate"],
    default_sort: &[("performedAt", Order::Asc)],
};

pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/accounting-entries:search", post(search_entries))
        .route("/v1/accounting-entries/{entry_id}", get(get_entry))
}

fn entry_key(e: &AccountingEntry, key: &str) -> SortValue {
    let time =
        |t: Option<DateTime<Utc>>| t.map_or(SortValue::Null, |t| SortValue::Int(t.timestamp()));
    match key {
        "performedAt" => time(Some(e.performed_at)),
        "settledAt" => time(e.settled_at),
        "bookkeepingDate" => time(e.bookkeeping_date),
        _ => SortValue::Id(e.id),
    }
}

pub(super) async fn search_entries(
    State(state): Shared,
    Pairs(query): Pairs,
    RawBody(body): RawBody,
) -> Result<Response> {
    let page = PageRequest::parse(&query, &ENTRY_PAGING)?;
    let named_organization = check_organization(&state, &query)?;
    let companies = companies(&state, &query, "company_id")?;
    // The accounting-entries API requires company_id "if partner_id or
    // organization_id is not provided"; a key for one company implies its company.
    if state.data.is_multi_entity()
        && !named_organization
        && query_uuid(&query, "company_id")?.is_none()
    {
        return Err(ApiError::BadParameter(
            "company_id is required if organization_id is not provided".into(),
        ));
    }
    let filter = Filter::from_json(&body)?;
    let entries: Vec<&AccountingEntry> = companies
        .iter()
        .flat_map(|c| &c.entries)
        .filter(|e| filter.matches(e))
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &paginate(entries, &page, entry_key),
    ))
}

pub(super) async fn get_entry(
    State(state): Shared,
    Ids([id]): Ids<1>,
    Pairs(query): Pairs,
) -> Result<Response> {
    let include_deleted = parse_bool(single(&query, "include_deleted")?, "include_deleted")?;
    match state.data.entry(id) {
        Some(e) if include_deleted || e.deleted_at.is_none() => ok(e),
        _ => Err(ApiError::not_found(
            "ACCOUNTING_ENTRY_NOT_FOUND",
            format!("Accounting entry {id} not found"),
        )),
    }
}
