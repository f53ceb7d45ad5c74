//! Receipts of accounting entries (Gjoll Accounting Entries API 82.3.2): the receipts of one
//! entry (paginated, `limit` 1..=100, default 10), one receipt, and `receipts:search`.
//! Scope `accounting-entries:read`.
//!
//! A receipt's `url` is a pre-signed link, valid 24 hours from the moment it is handed out,
//! on a file host that is not Pleo's (`receipt-files.example`, a name that never resolves):
//! a client must pass it on and never send the API key there. The mock does not serve files.

use std::collections::HashSet;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use rand::Rng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::data::{ser_opt_uuid, ser_uuid};
use super::entries::{AccountingEntry, Family, SubFamily};
use super::error::{ApiError, json_response};
use super::extract::{Ids, Json, Pairs};
use super::paging::{Order, PageRequest, Rules, SortValue, paginate, single};
use super::rest::{Result, Shared, check_organization, companies, ok, query_uuid};
use super::rest::{required, uuid_set};
use super::seed::new_id;
use super::server::AppState;

/// Documented: `limit` 1..=100, default 10, cursors only; sorting keys `createdAt`, `id`, `size`.
const PAGING: Rules = Rules {
    default_limit: 10,
    min_limit: 1,
    max_limit: 100,
    allow_offset: false,
    keys: &["createdAt", "id", "size"],
    default_sort: &[("createdAt", Order::Asc)],
};

/// `ReceiptSource`.
const SOURCES: &[&str] = &[
    "APP_SHARE",
    "BOLT",
    "CAMERA",
    "CASHBACK",
    "EMAIL_FETCHING",
    "EMAIL_FETCHING_BATCHED",
    "EMAIL_FORWARDING",
    "GENERATED_RECEIPT",
    "LOST_RECEIPT",
    "ROGER",
    "STOREBOX",
    "STRIPE",
    "TRAVELPERK",
    "USER",
];

/// `ReceiptMimeType`.
const MIME_TYPES: &[&str] = &[
    "unknown",
    "application/pdf",
    "application/postscript",
    "application/xml",
    "image/jpeg",
    "image/png",
    "image/heic",
    "image/heif",
    "image/gif",
    "text/xml",
];

/// `value` if it is one of the enum's `allowed` values, else a 400 made by `bad`.
fn known(
    value: String,
    allowed: &[&str],
    name: &str,
    bad: fn(String) -> ApiError,
) -> Result<String> {
    if allowed.contains(&value.as_str()) {
        Ok(value)
    } else {
        Err(bad(format!(
            "{name}: {value:?} is not one of {}",
            allowed.join(", ")
        )))
    }
}

/// How long a receipt link works.
const LINK_SECONDS: i64 = 24 * 3600;

/// Where receipt files live: not Pleo's API host.
const FILE_HOST: &str = "https://receipt-files.example";

/// A receipt file of an entry, as stored (its link is made when it is handed out).
#[derive(Clone, Debug, PartialEq)]
pub struct Receipt {
    pub id: Uuid,
    pub company_id: Uuid,
    pub accounting_entry_id: Uuid,
    pub employee_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    /// `ReceiptMimeType`, e.g. `image/jpeg`.
    pub mime_type: &'static str,
    pub size_in_bytes: u32,
    /// `ReceiptSource`, e.g. `CAMERA`.
    pub source: &'static str,
    pub ocr_document_id: Option<Uuid>,
    /// The entry was deleted, and its receipts with it.
    pub deleted: bool,
}

/// `ReceiptFileType`: which rendition the link points at.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(super) enum FileType {
    #[default]
    Original,
    Thumbnail,
    Preview,
    Embed,
}

impl FileType {
    fn parse(raw: &str) -> Option<FileType> {
        match raw {
            "ORIGINAL" => Some(FileType::Original),
            "THUMBNAIL" => Some(FileType::Thumbnail),
            "PREVIEW" => Some(FileType::Preview),
            "EMBED" => Some(FileType::Embed),
            _ => None,
        }
    }
}

/// `ReceiptModel`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ReceiptView {
    #[serde(serialize_with = "ser_uuid")]
    id: Uuid,
    #[serde(serialize_with = "ser_uuid")]
    accounting_entry_id: Uuid,
    created_at: DateTime<Utc>,
    file_type: FileType,
    mime_type: &'static str,
    size_in_bytes: u32,
    source: &'static str,
    url: String,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_uuid"
    )]
    ocr_document_id: Option<Uuid>,
}

impl ReceiptView {
    fn new(r: &Receipt, file_type: FileType, now: DateTime<Utc>) -> ReceiptView {
        let (mime_type, size_in_bytes) = rendition(r, file_type);
        ReceiptView {
            id: r.id,
            accounting_entry_id: r.accounting_entry_id,
            created_at: r.created_at,
            file_type,
            mime_type,
            size_in_bytes,
            source: r.source,
            url: presigned_url(r, file_type, mime_type, now),
            ocr_document_id: r.ocr_document_id,
        }
    }
}

/// A link shaped like an S3 pre-signed URL: signed at `now`, valid for 24 hours.
pub(super) fn presigned_url(
    r: &Receipt,
    file_type: FileType,
    mime_type: &str,
    now: DateTime<Utc>,
) -> String {
    let ext = match mime_type {
        "application/pdf" => "pdf",
        "image/png" => "png",
        "image/heic" => "heic",
        _ => "jpg",
    };
    let kind = format!("{file_type:?}").to_lowercase();
    let date = now.format("%Y%m%dT%H%M%SZ");
    let day = now.format("%Y%m%d");
    let signature = hex::encode(Sha256::digest(format!("{}|{kind}|{date}", r.id)));
    format!(
        "{FILE_HOST}/{}/{}/{kind}.{ext}?X-Amz-Algorithm=AWS4-HMAC-SHA256\
         &X-Amz-Credential=MOCKRECEIPTS%2F{day}%2Feu-west-1%2Fs3%2Faws4_request\
         &X-Amz-Date={date}&X-Amz-Expires={LINK_SECONDS}&X-Amz-SignedHeaders=host\
         &X-Amz-Signature={signature}",
        r.company_id, r.id
    )
}

pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/v1/accounting-entries/receipts:search",
            post(search_receipts),
        )
        // `{entry_id}` as in the accounting-entry route: the router needs one name per place.
        .route(
            "/v1/accounting-entries/{entry_id}/receipts",
            get(list_receipts),
        )
        .route(
            "/v1/accounting-entries/{entry_id}/receipts/{receipt_id}",
            get(get_receipt),
        )
}

/// One receipt per `receiptIds` element of every entry, uploaded when the entry was created.
pub(super) fn seed(rng: &mut StdRng, entries: &[AccountingEntry]) -> Vec<Receipt> {
    let count = entries.iter().map(|e| e.receipt_ids.len()).sum();
    let mut out = Vec::with_capacity(count);
    for e in entries {
        for &id in &e.receipt_ids {
            let (mime_type, source) = kind_of(rng, e);
            let size_in_bytes = match mime_type {
                "application/pdf" => rng.random_range(35_000..420_000),
                _ => rng.random_range(140_000..3_600_000),
            };
            out.push(Receipt {
                id,
                company_id: e.company_id,
                accounting_entry_id: e.id,
                employee_id: e.employee_id,
                created_at: e.created_at,
                mime_type,
                size_in_bytes,
                source,
                ocr_document_id: rng.random_bool(0.7).then(|| new_id(rng)),
                deleted: e.deleted_at.is_some(),
            });
        }
    }
    out
}

/// File type and how it reached Pleo, by the kind of spending.
fn kind_of(rng: &mut StdRng, e: &AccountingEntry) -> (&'static str, &'static str) {
    match (e.family, e.sub_family) {
        (Family::BillInvoice, _) => ("application/pdf", "EMAIL_FORWARDING"),
        (Family::PleoInvoice, _) => ("application/pdf", "GENERATED_RECEIPT"),
        (_, Some(SubFamily::Online)) if rng.random_bool(0.6) => {
            ("application/pdf", "EMAIL_FETCHING")
        }
        _ => {
            let mime = match rng.random_range(0..20) {
                0 => "image/heic",
                1 | 2 => "image/png",
                _ => "image/jpeg",
            };
            let source = if rng.random_bool(0.8) {
                "CAMERA"
            } else {
                "APP_SHARE"
            };
            (mime, source)
        }
    }
}

/// Sort keys; `size` is the size of the rendition asked for.
fn sort_key(file_type: FileType) -> impl Fn(&Receipt, &str) -> SortValue {
    move |r, key| match key {
        "createdAt" => SortValue::Int(r.created_at.timestamp()),
        "size" => SortValue::Int(i64::from(rendition(r, file_type).1)),
        _ => SortValue::Id(r.id),
    }
}

/// Mime type and size of a rendition: thumbnails and previews are images made from the
/// original.
fn rendition(r: &Receipt, file_type: FileType) -> (&'static str, u32) {
    match file_type {
        FileType::Original | FileType::Embed => (r.mime_type, r.size_in_bytes),
        FileType::Thumbnail => ("image/png", (r.size_in_bytes / 40).max(2_000)),
        FileType::Preview => ("image/png", (r.size_in_bytes / 6).max(20_000)),
    }
}

fn file_type(query: &[(String, String)]) -> Result<FileType> {
    match single(query, "file_type")? {
        None | Some("") => Ok(FileType::Original),
        Some(raw) => FileType::parse(raw).ok_or_else(|| {
            ApiError::BadParameter("file_type must be ORIGINAL, THUMBNAIL, PREVIEW or EMBED".into())
        }),
    }
}

/// The live (not deleted) entry; 404 otherwise.
fn live_entry(state: &AppState, id: Uuid) -> Result<&AccountingEntry> {
    match state.data.entry(id) {
        Some(e) if e.deleted_at.is_none() => Ok(e),
        _ => Err(ApiError::not_found(
            "ACCOUNTING_ENTRY_NOT_FOUND",
            format!("Accounting entry {id} not found"),
        )),
    }
}

async fn list_receipts(
    State(state): Shared,
    Ids([entry]): Ids<1>,
    Pairs(query): Pairs,
) -> Result<Response> {
    let page = PageRequest::parse(&query, &PAGING)?;
    let file_type = file_type(&query)?;
    // `source` is an exploded array; a comma-separated value is read as several.
    let sources: HashSet<String> = query
        .iter()
        .filter(|(k, _)| k == "source")
        .flat_map(|(_, v)| v.split(','))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .map(|s| known(s, SOURCES, "source", ApiError::BadParameter))
        .collect::<Result<_>>()?;
    let entry = live_entry(&state, entry)?;
    let now = state.store.now();
    let receipts: Vec<&Receipt> = entry
        .receipt_ids
        .iter()
        .filter_map(|id| state.data.receipt(*id))
        .filter(|r| sources.is_empty() || sources.contains(r.source))
        .collect();
    let page = paginate(receipts, &page, sort_key(file_type));
    Ok(json_response(
        StatusCode::OK,
        &page.map(|r| ReceiptView::new(r, file_type, now)),
    ))
}

async fn get_receipt(
    State(state): Shared,
    Ids([entry, receipt]): Ids<2>,
    Pairs(query): Pairs,
) -> Result<Response> {
    let file_type = file_type(&query)?;
    live_entry(&state, entry)?;
    match state.data.receipt(receipt) {
        Some(r) if r.accounting_entry_id == entry => {
            ok(ReceiptView::new(r, file_type, state.store.now()))
        }
        _ => Err(ApiError::not_found(
            "RECEIPT_NOT_FOUND",
            format!("Receipt {receipt} not found"),
        )),
    }
}

/// `ReceiptSearchRequest`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SearchBody {
    include_deleted: Option<bool>,
    accounting_entry_ids: Option<Vec<String>>,
    employee_ids: Option<Vec<String>>,
    mime_type: Option<Vec<String>>,
    source: Option<Vec<String>>,
    file_type: Option<FileType>,
}

async fn search_receipts(
    State(state): Shared,
    Pairs(query): Pairs,
    Json(body): Json<SearchBody>,
) -> Result<Response> {
    let page = PageRequest::parse(&query, &PAGING)?;
    let named_organization = check_organization(&state, &query)?;
    let covered = companies(&state, &query, "company_id")?;
    // As on the entry search: company_id is required unless organization_id is given.
    if state.data.is_multi_entity()
        && !named_organization
        && query_uuid(&query, "company_id")?.is_none()
    {
        return Err(ApiError::BadParameter(
            "company_id is required if organization_id is not provided".into(),
        ));
    }
    let include_deleted = required(body.include_deleted, "includeDeleted")?;
    let entries = uuid_set(body.accounting_entry_ids, "accountingEntryIds", usize::MAX)?;
    let employees = uuid_set(body.employee_ids, "employeeIds", usize::MAX)?;
    let listed = |values: Option<Vec<String>>, allowed: &[&str], name: &str| {
        values
            .filter(|v| !v.is_empty())
            .map(|v| {
                v.into_iter()
                    .map(|s| known(s, allowed, name, ApiError::BadBody))
                    .collect::<Result<HashSet<String>>>()
            })
            .transpose()
    };
    let mimes = listed(body.mime_type, MIME_TYPES, "mimeType")?;
    let sources = listed(body.source, SOURCES, "source")?;
    let file_type = body.file_type.unwrap_or_default();
    let now = state.store.now();
    let receipts: Vec<&Receipt> = covered
        .iter()
        .flat_map(|c| &c.receipts)
        .filter(|r| include_deleted || !r.deleted)
        .filter(|r| {
            entries
                .as_ref()
                .is_none_or(|s| s.contains(&r.accounting_entry_id))
        })
        .filter(|r| {
            employees
                .as_ref()
                .is_none_or(|s| r.employee_id.is_some_and(|e| s.contains(&e)))
        })
        .filter(|r| mimes.as_ref().is_none_or(|s| s.contains(r.mime_type)))
        .filter(|r| sources.as_ref().is_none_or(|s| s.contains(r.source)))
        .collect();
    let page = paginate(receipts, &page, sort_key(file_type));
    Ok(json_response(
        StatusCode::OK,
        &page.map(|r| ReceiptView::new(r, file_type, now)),
    ))
}
