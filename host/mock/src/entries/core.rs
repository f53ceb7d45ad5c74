//! `GET /v1/accounting-entries/{id}/core` (scope `accounting-entries:read`): an entry as
//! `AccountingEntryCoreV6`, the record before tags, split items and attendees were added to it.
//! Pleo's notes call it deprecated; its document does not mark it so, so the mock serves it.
//! Built from the same entry as `GET /v1/accounting-entries/{id}`, so the two always agree.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use super::records::AccountingEntry;
use crate::error::ApiError;
use crate::extract::{Ids, Pairs};
use crate::paging::single;
use crate::rest::{Result, Shared, ok, parse_bool};
use crate::server::AppState;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new().route(
        "/v1/accounting-entries/{entry_id}/core",
        get(get_entry_core),
    )
}

async fn get_entry_core(
    State(state): Shared,
    Ids([id]): Ids<1>,
    Pairs(query): Pairs,
) -> Result<Response> {
    let include_deleted = parse_bool(single(&query, "include_deleted")?, "include_deleted")?;
    // Deprecated in the document; the mock has no hidden entries, so it only checks the value.
    parse_bool(single(&query, "include_hidden")?, "include_hidden")?;
    match state.data.entry(id) {
        Some(e) if include_deleted || e.deleted_at.is_none() => ok(&core(e)?),
        _ => Err(ApiError::not_found(
            "ACCOUNTING_ENTRY_NOT_FOUND",
            format!("Accounting entry {id} not found"),
        )),
    }
}

/// The fields `AccountingEntryCoreV6` and `AccountingEntryV1` share, and `fees` (none in
/// the mock's data: card fees are not generated).
fn core(entry: &AccountingEntry) -> Result<Value> {
    let mut value = serde_json::to_value(entry).map_err(|e| ApiError::Documented {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        kind: "PROCESSING_FAILED",
        message: format!("entry {}: {e}", entry.id),
    })?;
    if let Some(fields) = value.as_object_mut() {
        for only_v1 in ["attendees", "splitItems", "tags"] {
            fields.remove(only_v1);
        }
        fields.insert("fees".into(), json!({}));
    }
    Ok(value)
}
