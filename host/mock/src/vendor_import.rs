//! The vendor CSV import (`/v1/vendors/csv-import/jobs…`, External Vendors API 34.17.0, hidden
//! there with `x-exclude`): a job per file, its presigned upload, its run and its row errors.
//!
//! The lifecycle, from the `CsvImportJobStatusV1` enum: a job is created `UPLOAD_INITIATED`;
//! `:get-presigned-url` names an upload URL on the mock's own server ([`UPLOAD_ROUTE`], the
//! stand-in for S3: no API key, a per-job token, one PUT); the PUT stores the file and the job
//! becomes `UPLOADED` with its `columnNames` and `rowsTotal`; `PUT …/status` may move it to
//! `READY_FOR_IMPORT` or `QUEUED` (or `FAILED`, with an error type and message); `:run` starts
//! it (`PROCESSING`), and the next read of the job finishes it: every good row becomes a
//! vendor, every bad one a `CsvRowImportErrorV1`, and the job ends `COMPLETED` (or `FAILED`
//! when the file is not CSV at all). Any other transition is `INVALID_STATUS_TRANSITION`: 409
//! for `:run` (as documented), 400 for the others (whose documents list no 409).
//!
//! The columns: Pleo's document does not list them, so the mock reads the header row and takes
//! the vendor fields it already has (`name`, `defaultCurrency`, `externalId`, `code`,
//! `country`, `registrationNumber`, `taxRegistrationNumber`), matched without case; `name` and
//! `defaultCurrency` are required. Every size is bounded: the file ([`MAX_FILE_BYTES`]), its
//! rows ([`MAX_ROWS`]), each field ([`MAX_FIELD_CHARS`]) and each error's `rawData`.

use std::collections::HashSet;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::Response;
use axum::routing::{get, post, put};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::data::ser_uuid;
use super::error::{ApiError, json_response};
use super::extract::{Ids, Json, OptionalJson, Pairs, Text};
use super::paging::{Order, PageRequest, Rules, SortValue, paginate};
use super::rest::{self, Result, Shared, body_company, created, ok, parse_uuid, query_uuid};
use super::rest::{is_country, is_currency, one_company, uuid_set};
use super::server::AppState;
use super::store::{Books, CompanyBooks};
use super::vendors::{VendorRecord, VendorState, check_unique};

/// Where the mock takes the upload a presigned URL names: outside the API's auth (the token in
/// the query is the credential, as an S3 signature is).
pub const UPLOAD_ROUTE: &str = "/mock-s3/csv-import/{job_id}";

/// Largest file the upload takes (Pleo documents `FILE_TOO_LARGE`, not the size).
pub const MAX_FILE_BYTES: usize = 10 << 20;
/// Most data rows one file may hold; past it the job fails `FILE_TOO_LARGE`.
pub const MAX_ROWS: usize = 10_000;
/// Longest field the mock takes into a vendor (longer is a row error).
const MAX_FIELD_CHARS: usize = 255;
/// Longest `rawData` an error keeps of its row.
const MAX_RAW_CHARS: usize = 1_000;
/// Most columns a header may name.
const MAX_COLUMNS: usize = 100;

const JOB_PAGING: Rules = Rules {
    default_limit: 20,
    min_limit: 1,
    max_limit: 100,
    allow_offset: true,
    keys: &["id", "createdAt", "status"],
    default_sort: &[("createdAt", Order::Asc)],
};

const ERROR_PAGING: Rules = Rules {
    default_limit: 20,
    min_limit: 1,
    max_limit: 100,
    allow_offset: true,
    keys: &["id", "rowNumber"],
    default_sort: &[("rowNumber", Order::Asc)],
};

/// `CsvImportJobStatusV1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ImportStatus {
    UploadInitiated,
    Uploaded,
    ReadyForImport,
    Queued,
    Processing,
    Completed,
    Failed,
}

impl ImportStatus {
    fn name(self) -> &'static str {
        match self {
            ImportStatus::UploadInitiated => "UPLOAD_INITIATED",
            ImportStatus::Uploaded => "UPLOADED",
            ImportStatus::ReadyForImport => "READY_FOR_IMPORT",
            ImportStatus::Queued => "QUEUED",
            ImportStatus::Processing => "PROCESSING",
            ImportStatus::Completed => "COMPLETED",
            ImportStatus::Failed => "FAILED",
        }
    }

    fn is_final(self) -> bool {
        matches!(self, ImportStatus::Completed | ImportStatus::Failed)
    }

    /// Waiting for `:run` (uploaded, maybe marked ready or queued).
    fn runnable(self) -> bool {
        matches!(
            self,
            ImportStatus::Uploaded | ImportStatus::ReadyForImport | ImportStatus::Queued
        )
    }
}

/// `CsvImportJobV1`, and what the mock keeps beside it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportJob {
    #[serde(serialize_with = "ser_uuid")]
    pub id: Uuid,
    #[serde(serialize_with = "ser_uuid")]
    pub company_id: Uuid,
    #[serde(rename = "type")]
    pub kind: String,
    pub original_filename: String,
    pub status: ImportStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csv_format: Option<Value>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub metadata: Map<String, Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub column_names: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows_total: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows_succeeded: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows_failed: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows_skipped: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The upload URL's credential.
    #[serde(skip)]
    token: String,
    /// The file as uploaded.
    #[serde(skip)]
    pub csv: Option<Bytes>,
    /// Whether the upload request carried an `Authorization` header (it must not: a presigned
    /// URL is its own credential, and the API key has no business there).
    #[serde(skip)]
    pub upload_had_authorization: Option<bool>,
    #[serde(skip)]
    pub errors: Vec<RowError>,
}

/// `CsvRowImportErrorV1`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RowError {
    #[serde(serialize_with = "ser_uuid")]
    pub id: Uuid,
    #[serde(serialize_with = "ser_uuid")]
    pub csv_import_job_id: Uuid,
    pub row_number: u32,
    pub error_code: String,
    pub error_message: String,
    pub raw_data: String,
    pub created_at: DateTime<Utc>,
}

pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/vendors/csv-import/jobs", post(create_job))
        .route("/v1/vendors/csv-import/jobs:search", post(search_jobs))
        // `{id}:run` and `{id}:get-presigned-url` end the id's segment: `job_action` splits them.
        .route(
            "/v1/vendors/csv-import/jobs/{job_id}",
            get(get_job).post(job_action),
        )
        .route(
            "/v1/vendors/csv-import/jobs/{job_id}/errors",
            get(job_errors),
        )
        .route(
            "/v1/vendors/csv-import/jobs/{job_id}/metadata",
            put(put_metadata),
        )
        .route(
            "/v1/vendors/csv-import/jobs/{job_id}/status",
            put(put_status),
        )
        .route(
            UPLOAD_ROUTE,
            put(upload).layer(DefaultBodyLimit::max(MAX_FILE_BYTES)),
        )
}

fn find(books: &Books, id: Uuid) -> Result<(usize, usize)> {
    books
        .companies
        .iter()
        .enumerate()
        .find_map(|(c, b)| {
            b.import_jobs
                .iter()
                .position(|j| j.id == id)
                .map(|j| (c, j))
        })
        .ok_or_else(|| {
            ApiError::not_found(
                "IMPORT_JOB_NOT_FOUND",
                format!("CSV import job with ID {id} not found"),
            )
        })
}

/// A change the job's status does not allow, outside `:run`: 400, as the document gives these
/// operations no 409 (the run's own refusal is its documented 409).
fn transition(job: &ImportJob, wanted: &str) -> ApiError {
    ApiError::documented(
        StatusCode::BAD_REQUEST,
        "INVALID_STATUS_TRANSITION",
        format!("Cannot {wanted} CSV job in status {}.", job.status.name()),
    )
}

// ---------------------------------------------------------------------------
// Create, search, get
// ---------------------------------------------------------------------------

/// `CreateCsvImportJobRequestV1`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateBody {
    company_id: Option<String>,
    original_filename: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    csv_format: Option<Value>,
    metadata: Option<Map<String, Value>>,
}

async fn create_job(State(state): Shared, Json(body): Json<CreateBody>) -> Result<Response> {
    let company = body_company(&state, body.company_id.clone())?;
    let filename = rest::non_blank(body.original_filename, "originalFilename")?;
    let kind = rest::non_blank(body.kind, "type")?;
    if kind != "vendors" {
        return Err(ApiError::BadBody(
            "type: the mock imports `vendors` only".into(),
        ));
    }
    if filename.chars().count() > MAX_FIELD_CHARS {
        return Err(ApiError::BadBody("originalFilename is too long".into()));
    }
    if !filename.to_ascii_lowercase().ends_with(".csv") {
        return Err(ApiError::BadBody(
            "FILE_EXTENSION_NOT_SUPPORTED: originalFilename must end in .csv".into(),
        ));
    }
    let csv_format = body.csv_format.filter(|f| !f.is_null());
    if let Some(format) = &csv_format {
        delimiter(Some(format))?;
    }
    let now = state.store.now();
    let company_id = state.data.companies[company].company.id;
    let id = Uuid::new_v4();
    let job = ImportJob {
        id,
        company_id,
        kind,
        original_filename: filename,
        status: ImportStatus::UploadInitiated,
        csv_format,
        metadata: body.metadata.unwrap_or_default(),
        column_names: Vec::new(),
        rows_total: None,
        rows_succeeded: None,
        rows_failed: None,
        rows_skipped: None,
        s3_key: None,
        error_code: None,
        error_message: None,
        created_at: now,
        updated_at: now,
        token: Uuid::new_v4().simple().to_string(),
        csv: None,
        upload_had_authorization: None,
        errors: Vec::new(),
    };
    let mut books = state.store.lock();
    books.companies[company].import_jobs.push(job.clone());
    created(job)
}

/// `SearchCsvImportJobsRequestV1`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SearchBody {
    ids: Option<Vec<String>>,
    statuses: Option<Vec<ImportStatus>>,
    types: Option<Vec<String>>,
}

fn job_sort_key(j: &ImportJob, key: &str) -> SortValue {
    match key {
        "createdAt" => SortValue::Int(j.created_at.timestamp_micros()),
        "status" => SortValue::Text(j.status.name().into()),
        _ => SortValue::Id(j.id),
    }
}

async fn search_jobs(
    State(state): Shared,
    Pairs(query): Pairs,
    OptionalJson(body): OptionalJson<SearchBody>,
) -> Result<Response> {
    let page = PageRequest::parse(&query, &JOB_PAGING)?;
    let Some(company) = query_uuid(&query, "company_id")? else {
        return Err(ApiError::BadParameter("company_id is required".into()));
    };
    let company = one_company(&state, Some(company), "company_id")?;
    let ids = uuid_set(body.ids, "ids", 100)?;
    let statuses: Option<HashSet<ImportStatus>> = body
        .statuses
        .filter(|s| !s.is_empty())
        .map(|s| s.into_iter().collect());
    let types: Option<HashSet<String>> = body
        .types
        .filter(|t| !t.is_empty())
        .map(|t| t.into_iter().take(100).collect());
    let now = state.store.now();
    let mut books = state.store.lock();
    let books = &mut books.companies[company];
    for j in 0..books.import_jobs.len() {
        finish(books, j, now);
    }
    let found: Vec<&ImportJob> = books
        .import_jobs
        .iter()
        .filter(|j| ids.as_ref().is_none_or(|s| s.contains(&j.id)))
        .filter(|j| statuses.as_ref().is_none_or(|s| s.contains(&j.status)))
        .filter(|j| types.as_ref().is_none_or(|t| t.contains(&j.kind)))
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &paginate(found, &page, job_sort_key),
    ))
}

async fn get_job(State(state): Shared, Ids([id]): Ids<1>) -> Result<Response> {
    let now = state.store.now();
    let mut books = state.store.lock();
    let (c, j) = find(&books, id)?;
    finish(&mut books.companies[c], j, now);
    ok(&books.companies[c].import_jobs[j])
}

fn row_sort_key(e: &RowError, key: &str) -> SortValue {
    match key {
        "rowNumber" => SortValue::Int(i64::from(e.row_number)),
        _ => SortValue::Id(e.id),
    }
}

async fn job_errors(
    State(state): Shared,
    Ids([id]): Ids<1>,
    Pairs(query): Pairs,
) -> Result<Response> {
    let page = PageRequest::parse(&query, &ERROR_PAGING)?;
    let now = state.store.now();
    let mut books = state.store.lock();
    let (c, j) = find(&books, id)?;
    finish(&mut books.companies[c], j, now);
    let errors: Vec<&RowError> = books.companies[c].import_jobs[j].errors.iter().collect();
    Ok(json_response(
        StatusCode::OK,
        &paginate(errors, &page, row_sort_key),
    ))
}

// ---------------------------------------------------------------------------
// Upload: the presigned URL and the PUT it names
// ---------------------------------------------------------------------------

/// `POST /v1/vendors/csv-import/jobs/{id}:run` and `…:get-presigned-url`.
async fn job_action(
    State(state): Shared,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Text(raw): Text,
) -> Result<Response> {
    // `POST …/jobs/{id}` with no action, or another one, is not served: 404, not 405.
    let Some((id, action)) = raw
        .split_once(':')
        .filter(|(_, action)| ["run", "get-presigned-url"].contains(action))
    else {
        return Err(rest::no_route(method, uri).await);
    };
    let id = parse_uuid(id, "jobId")?;
    let now = state.store.now();
    let mut books = state.store.lock();
    let (c, j) = find(&books, id)?;
    let job = &mut books.companies[c].import_jobs[j];
    if action == "run" {
        if !job.status.runnable() {
            return Err(ApiError::conflict(
                "INVALID_STATUS_TRANSITION",
                format!(
                    "Cannot process CSV job in status {}. Job must be uploaded first \
                     (UPLOADED, READY_FOR_IMPORT or QUEUED).",
                    job.status.name()
                ),
            ));
        }
        job.status = ImportStatus::Processing;
        job.updated_at = now;
        return ok(&*job);
    }
    if job.status != ImportStatus::UploadInitiated {
        return Err(transition(job, "upload to"));
    }
    // The mock's own origin, as the client reached it: the URL points back at this server.
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .unwrap_or("127.0.0.1");
    let path = UPLOAD_ROUTE.replace("{job_id}", &job.id.to_string());
    let url = format!("http://{host}{path}?token={}", job.token);
    job.s3_key = Some(format!(
        "uploads/company-{}/vendors-{}.csv",
        job.company_id, job.id
    ));
    job.updated_at = now;
    ok(serde_json::json!({ "presignedUrl": url }))
}

/// The presigned URL's `PUT`: the file, once per job, at most [`MAX_FILE_BYTES`] (a larger
/// body is refused by the route's body limit before it is read).
async fn upload(
    State(state): Shared,
    Ids([id]): Ids<1>,
    Pairs(query): Pairs,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let token = query.iter().find(|(k, _)| k == "token").map(|(_, v)| v);
    let now = state.store.now();
    let mut books = state.store.lock();
    let (c, j) = find(&books, id)?;
    let job = &mut books.companies[c].import_jobs[j];
    // Compared whole: a wrong or missing token is the same 403 as S3's.
    if token != Some(&job.token) || job.s3_key.is_none() {
        return Err(ApiError::Forbidden(
            "the upload URL is not valid for this job".into(),
        ));
    }
    if job.status != ImportStatus::UploadInitiated {
        return Err(transition(job, "upload to"));
    }
    if body.is_empty() {
        return Err(ApiError::BadBody(
            "FILE_TOO_SMALL: the file is empty".into(),
        ));
    }
    let delimiter = delimiter(job.csv_format.as_ref())?;
    job.upload_had_authorization = Some(headers.contains_key(header::AUTHORIZATION));
    match parse_csv(&body, delimiter) {
        Ok(rows) => {
            job.column_names = rows.first().cloned().unwrap_or_default();
            job.column_names.truncate(MAX_COLUMNS);
            job.rows_total = Some(rows.len().saturating_sub(1).min(u32::MAX as usize) as u32);
        }
        // Told at the run, as Pleo's processing would: the upload itself succeeded.
        Err(_) => job.rows_total = None,
    }
    job.csv = Some(body);
    job.status = ImportStatus::Uploaded;
    job.updated_at = now;
    rest::empty(StatusCode::OK)
}

// ---------------------------------------------------------------------------
// Metadata and status
// ---------------------------------------------------------------------------

#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum Strategy {
    Replace,
    Merge,
}

/// `UpdateMetadataRequestV1`.
#[derive(Debug, Deserialize)]
struct MetadataBody {
    metadata: Option<Map<String, Value>>,
    strategy: Option<Strategy>,
}

async fn put_metadata(
    State(state): Shared,
    Ids([id]): Ids<1>,
    Json(body): Json<MetadataBody>,
) -> Result<Response> {
    let metadata = rest::required(body.metadata, "metadata")?;
    let strategy = rest::required(body.strategy, "strategy")?;
    let now = state.store.now();
    let mut books = state.store.lock();
    let (c, j) = find(&books, id)?;
    let job = &mut books.companies[c].import_jobs[j];
    if job.status.is_final() {
        return Err(transition(job, "change the metadata of"));
    }
    if strategy == Strategy::Replace {
        job.metadata.clear();
    }
    job.metadata.extend(metadata);
    job.updated_at = now;
    ok(&*job)
}

/// `UpdateStatusRequestV1`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StatusBody {
    status: Option<ImportStatus>,
    error_type: Option<String>,
    error_message: Option<String>,
}

/// The `CsvImportErrorTypeV1` values.
const ERROR_TYPES: &[&str] = &[
    "INVALID_FILE_FORMAT",
    "FILE_TOO_LARGE",
    "FILE_TOO_SMALL",
    "FILE_TYPE_NOT_SUPPORTED",
    "FILE_EXTENSION_NOT_SUPPORTED",
    "IMPORT_JOB_NOT_FOUND",
    "INVALID_STATUS_TRANSITION",
    "PROCESSING_FAILED",
];

/// What a client may set: an uploaded job marked ready or queued, and any open job failed
/// (with the error type it gives). Processing and its end are the importer's.
async fn put_status(
    State(state): Shared,
    Ids([id]): Ids<1>,
    Json(body): Json<StatusBody>,
) -> Result<Response> {
    let status = rest::required(body.status, "status")?;
    if let Some(kind) = &body.error_type
        && !ERROR_TYPES.contains(&kind.as_str())
    {
        return Err(ApiError::BadBody(
            "errorType is not a CsvImportErrorTypeV1 value".into(),
        ));
    }
    let now = state.store.now();
    let mut books = state.store.lock();
    let (c, j) = find(&books, id)?;
    let job = &mut books.companies[c].import_jobs[j];
    let allowed = match status {
        ImportStatus::ReadyForImport => job.status == ImportStatus::Uploaded,
        ImportStatus::Queued => {
            matches!(
                job.status,
                ImportStatus::Uploaded | ImportStatus::ReadyForImport
            )
        }
        ImportStatus::Failed => !job.status.is_final(),
        _ => false,
    };
    if !allowed {
        return Err(transition(job, &format!("move to {}", status.name())));
    }
    job.status = status;
    if status == ImportStatus::Failed {
        job.error_code = Some(
            body.error_type
                .unwrap_or_else(|| "PROCESSING_FAILED".into()),
        );
        job.error_message = body
            .error_message
            .map(|m| m.chars().take(MAX_RAW_CHARS).collect());
    }
    job.updated_at = now;
    ok(&*job)
}

// ---------------------------------------------------------------------------
// Processing
// ---------------------------------------------------------------------------

/// `csvFormat.delimiter`: one character, `,` when not given; 400 otherwise.
fn delimiter(format: Option<&Value>) -> Result<char> {
    let Some(given) = format.and_then(|f| f.get("delimiter")) else {
        return Ok(',');
    };
    let mut chars = given.as_str().unwrap_or("").chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if c != '"' && c != '\n' && c != '\r' => Ok(c),
        _ => Err(ApiError::BadBody(
            "csvFormat.delimiter must be one character other than a quote or line break".into(),
        )),
    }
}

/// Why a file is not CSV at all (the job fails with it).
#[derive(Debug, PartialEq, Eq)]
enum NotCsv {
    NotUtf8,
    UnclosedQuote,
    TooManyRows,
    Empty,
}

/// Reads RFC 4180 CSV: fields split by `delimiter`, `"` quotes (`""` inside is one quote),
/// records ending in `\n` or `\r\n`, blank lines skipped. At most [`MAX_ROWS`] + 1 records
/// (the header and the rows); never panics, whatever the bytes.
fn parse_csv(bytes: &[u8], delimiter: char) -> std::result::Result<Vec<Vec<String>>, NotCsv> {
    let text = std::str::from_utf8(bytes).map_err(|_| NotCsv::NotUtf8)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    let mut end_record = |record: &mut Vec<String>, field: &mut String| {
        record.push(std::mem::take(field));
        let done = std::mem::take(record);
        // A blank line is one empty field: skipped, as `ignoreEmptyLines` says.
        if !(done.len() == 1 && done[0].is_empty()) {
            records.push(done);
        }
        records.len() <= MAX_ROWS + 1
    };
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                _ => field.push(c),
            }
        } else if c == '"' && field.is_empty() {
            quoted = true;
        } else if c == delimiter {
            record.push(std::mem::take(&mut field));
        } else if c == '\n' || c == '\r' {
            if c == '\r' && chars.peek() == Some(&'\n') {
                chars.next();
            }
            if !end_record(&mut record, &mut field) {
                return Err(NotCsv::TooManyRows);
            }
        } else {
            field.push(c);
        }
    }
    if quoted {
        return Err(NotCsv::UnclosedQuote);
    }
    if (!field.is_empty() || !record.is_empty()) && !end_record(&mut record, &mut field) {
        return Err(NotCsv::TooManyRows);
    }
    if records.is_empty() {
        return Err(NotCsv::Empty);
    }
    Ok(records)
}

/// The vendor fields a header may name, as `VendorCreateRequest` spells them.
const COLUMNS: &[&str] = &[
    "name",
    "defaultCurrency",
    "externalId",
    "code",
    "country",
    "registrationNumber",
    "taxRegistrationNumber",
];

/// Finishes a job that `:run` started (`PROCESSING`): the mock's importer works when the job
/// is next read, so a client sees it running, then done.
fn finish(books: &mut CompanyBooks, j: usize, now: DateTime<Utc>) {
    let job = &mut books.import_jobs[j];
    if job.status != ImportStatus::Processing {
        return;
    }
    let delimiter = delimiter(job.csv_format.as_ref()).unwrap_or(',');
    let bytes = job.csv.clone().unwrap_or_default();
    let records = match parse_csv(&bytes, delimiter) {
        Ok(records) => records,
        Err(e) => {
            let (code, message) = match e {
                NotCsv::TooManyRows => (
                    "FILE_TOO_LARGE",
                    format!("the file has more than {MAX_ROWS} rows"),
                ),
                NotCsv::Empty => ("FILE_TOO_SMALL", "the file has no rows".to_owned()),
                NotCsv::NotUtf8 | NotCsv::UnclosedQuote => (
                    "INVALID_FILE_FORMAT",
                    "Uploaded file is not a valid CSV format.".to_owned(),
                ),
            };
            job.status = ImportStatus::Failed;
            job.error_code = Some(code.into());
            job.error_message = Some(message);
            job.updated_at = now;
            return;
        }
    };
    let header: Vec<Option<usize>> = records[0]
        .iter()
        .map(|h| {
            COLUMNS
                .iter()
                .position(|c| c.eq_ignore_ascii_case(h.trim()))
        })
        .collect();
    let job_id = job.id;
    let company_id = job.company_id;
    let mut errors = Vec::new();
    let (mut succeeded, mut failed) = (0u32, 0u32);
    for (n, row) in records.iter().enumerate().skip(1) {
        // Row numbers count the header as row 1, as a spreadsheet shows them.
        let row_number = (n + 1).min(u32::MAX as usize) as u32;
        match vendor_of(&header, row, &books.master.vendors, company_id, now) {
            Ok(vendor) => {
                books.master.vendors.push(vendor);
                succeeded += 1;
            }
            Err((code, message)) => {
                failed += 1;
                let raw: String = serde_json::to_string(row)
                    .unwrap_or_default()
                    .chars()
                    .take(MAX_RAW_CHARS)
                    .collect();
                errors.push(RowError {
                    id: Uuid::new_v4(),
                    csv_import_job_id: job_id,
                    row_number,
                    error_code: code.into(),
                    error_message: message,
                    raw_data: raw,
                    created_at: now,
                });
            }
        }
    }
    let job = &mut books.import_jobs[j];
    job.errors = errors;
    job.rows_total = Some(succeeded + failed);
    job.rows_succeeded = Some(succeeded);
    job.rows_failed = Some(failed);
    job.rows_skipped = Some(0);
    job.status = ImportStatus::Completed;
    job.updated_at = now;
}

/// The vendor one row describes, or the row's error (code and message).
fn vendor_of(
    header: &[Option<usize>],
    row: &[String],
    existing: &[VendorRecord],
    company_id: Uuid,
    now: DateTime<Utc>,
) -> std::result::Result<VendorRecord, (&'static str, String)> {
    if row.len() != header.len() {
        return Err((
            "INVALID_ROW",
            format!(
                "the row has {} fields, the header {}",
                row.len(),
                header.len()
            ),
        ));
    }
    let mut fields: [Option<String>; 7] = Default::default();
    for (value, column) in row.iter().zip(header) {
        let value = value.trim();
        if let Some(column) = column
            && !value.is_empty()
        {
            if value.chars().count() > MAX_FIELD_CHARS {
                return Err((
                    "FIELD_TOO_LONG",
                    format!(
                        "{} is longer than {MAX_FIELD_CHARS} characters",
                        COLUMNS[*column]
                    ),
                ));
            }
            fields[*column] = Some(value.to_owned());
        }
    }
    let [
        name,
        currency,
        external_id,
        code,
        country,
        registration,
        tax,
    ] = fields;
    let name = name.ok_or(("MISSING_NAME", "name is required".to_owned()))?;
    let currency = currency
        .map(|c| c.to_ascii_uppercase())
        .filter(|c| is_currency(c))
        .ok_or((
            "INVALID_CURRENCY",
            "defaultCurrency must be an ISO 4217 code such as DKK".to_owned(),
        ))?;
    let country = country.map(|c| c.to_ascii_uppercase());
    if country.as_deref().is_some_and(|c| !is_country(c)) {
        return Err((
            "INVALID_COUNTRY",
            "country must be an ISO 3166 alpha-2 code such as DK".to_owned(),
        ));
    }
    check_unique(existing, Some(&name), external_id.as_deref(), None)
        .map_err(|e| ("VENDOR_ALREADY_EXISTS", e.to_string()))?;
    Ok(VendorRecord {
        id: Uuid::new_v4(),
        company_id,
        name,
        default_currency: currency,
        state: if external_id.is_some() {
            VendorState::Active
        } else {
            VendorState::Draft
        },
        code,
        external_id,
        country,
        registration_number: registration,
        tax_registration_number: tax,
        accounting_system: None,
        created_at: now,
        updated_at: now,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_delimiters_and_line_ends() {
        let rows = parse_csv(
            b"\xef\xbb\xbfname,code\r\n\"Acme, \"\"Inc\"\"\",7\n\nB\xc3\xa6r,\n\"multi\nline\",9",
            ',',
        )
        .unwrap();
        assert_eq!(
            rows,
            vec![
                vec!["name", "code"],
                vec!["Acme, \"Inc\"", "7"],
                vec!["B\u{e6}r", ""],
                vec!["multi\nline", "9"],
            ]
        );
        assert_eq!(parse_csv(b"a;b\n1;2", ';').unwrap()[1], vec!["1", "2"]);
    }

    #[test]
    fn hostile_files_are_refused_not_panicked_on() {
        assert_eq!(parse_csv(b"name\n\"open", ','), Err(NotCsv::UnclosedQuote));
        assert_eq!(parse_csv(b"\xff\xfe", ','), Err(NotCsv::NotUtf8));
        assert_eq!(parse_csv(b"\n\r\n", ','), Err(NotCsv::Empty));
        let many = "name\n".to_owned() + &"x\n".repeat(MAX_ROWS + 1);
        assert_eq!(parse_csv(many.as_bytes(), ','), Err(NotCsv::TooManyRows));
        let just = "name\n".to_owned() + &"x\n".repeat(MAX_ROWS);
        assert_eq!(parse_csv(just.as_bytes(), ',').unwrap().len(), MAX_ROWS + 1);
        // A quote inside an unquoted field is text.
        assert_eq!(parse_csv(b"a\"b", ',').unwrap(), vec![vec!["a\"b"]]);
    }

    #[test]
    fn a_row_becomes_a_vendor_or_names_its_error() {
        let header: Vec<Option<usize>> = ["Name", "DEFAULTCURRENCY", "externalId", "note"]
            .iter()
            .map(|h| COLUMNS.iter().position(|c| c.eq_ignore_ascii_case(h)))
            .collect();
        let row = |cells: &[&str]| cells.iter().map(|c| c.to_string()).collect::<Vec<_>>();
        let c = Uuid::new_v4();
        let now = Utc::now();
        let v = vendor_of(
            &header,
            &row(&["<b>Acme</b>", "dkk", "E-1", "x"]),
            &[],
            c,
            now,
        )
        .unwrap();
        assert_eq!(
            (v.name.as_str(), v.default_currency.as_str(), v.state),
            ("<b>Acme</b>", "DKK", VendorState::Active)
        );
        let code = |cells: &[&str], existing: &[VendorRecord]| {
            vendor_of(&header, &row(cells), existing, c, now)
                .unwrap_err()
                .0
        };
        assert_eq!(code(&["", "DKK", "", ""], &[]), "MISSING_NAME");
        assert_eq!(code(&["B", "Euro", "", ""], &[]), "INVALID_CURRENCY");
        assert_eq!(code(&["B", "DKK"], &[]), "INVALID_ROW");
        let long = "n".repeat(256);
        assert_eq!(code(&[long.as_str(), "DKK", "", ""], &[]), "FIELD_TOO_LONG");
        assert_eq!(
            code(&["<B>acme</B>", "EUR", "", ""], &[v]),
            "VENDOR_ALREADY_EXISTS"
        );
    }
}

/// The lifecycle over HTTP: create, run before upload, the presigned URL and its PUT (no key;
/// a wrong token, a second upload), status, run, the job finished on its next read, its errors
/// and the vendors made.
#[cfg(test)]
mod route_tests {
    use reqwest::StatusCode;
    use serde_json::{Value, json};

    use crate::test_client::{Client, assert_error, cfg};

    #[tokio::test]
    async fn a_job_goes_from_upload_to_vendors_and_row_errors() {
        let c = Client::start(cfg()).await;
        let cid = c.server.dataset().company.id.to_string();
        let (status, created) = c
            .post(
                "/v1/vendors/csv-import/jobs",
                &[],
                &json!({"companyId": cid, "originalFilename": "v.csv", "type": "vendors",
                        "metadata": {"from": {"file": "v.csv"}}}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let job = &created["data"];
        assert_eq!(job["status"], "UPLOAD_INITIATED");
        let id = job["id"].as_str().unwrap().to_owned();
        let base = format!("/v1/vendors/csv-import/jobs/{id}");
        assert_error(
            &c.post(&format!("{base}:run"), &[], &json!({})).await,
            StatusCode::CONFLICT,
            "INVALID_STATUS_TRANSITION",
        );
        let (status, url) = c
            .post(&format!("{base}:get-presigned-url"), &[], &json!({}))
            .await;
        assert_eq!(status, StatusCode::OK, "{url}");
        let url = url["data"]["presignedUrl"].as_str().unwrap().to_owned();
        assert!(url.starts_with(&c.server.base_url()), "{url}");

        let http = reqwest::Client::new();
        let csv = "name,defaultCurrency,externalId\n<script>x</script>,dkk,CSV-1\n,EUR,CSV-2\n";
        let wrong = url.replace("token=", "token=x");
        let put = |url: String| http.put(url).body(csv).send();
        assert_eq!(put(wrong).await.unwrap().status(), StatusCode::FORBIDDEN);
        assert_eq!(put(url.clone()).await.unwrap().status(), StatusCode::OK);
        assert_eq!(put(url).await.unwrap().status(), StatusCode::BAD_REQUEST);
        let job = c.server.import_jobs().remove(0);
        assert_eq!(job.upload_had_authorization, Some(false));
        assert_eq!(job.rows_total, Some(2));

        let (status, _) = c
            .put(&format!("{base}/status"), &json!({"status": "QUEUED"}))
            .await;
        assert_eq!(status, StatusCode::OK);
        let (status, running) = c.post(&format!("{base}:run"), &[], &json!({})).await;
        assert_eq!(
            (status, &running["data"]["status"]),
            (StatusCode::OK, &json!("PROCESSING"))
        );
        let (_, done) = c.get(&base, &[]).await;
        assert_eq!(done["data"]["status"], "COMPLETED", "{done}");
        assert_eq!(done["data"]["rowsSucceeded"], 1);
        assert_eq!(done["data"]["rowsFailed"], 1);
        let (_, errors) = c.get(&format!("{base}/errors"), &[]).await;
        let errors = errors["data"].as_array().unwrap();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0]["rowNumber"], 3);
        assert_eq!(errors[0]["errorCode"], "MISSING_NAME");
        assert_eq!(errors[0]["csvImportJobId"], json!(id));
        let vendors = &c
            .server
            .master_data(c.server.dataset().company.id)
            .unwrap()
            .vendors;
        let made = vendors
            .iter()
            .find(|v| v.external_id.as_deref() == Some("CSV-1"));
        assert_eq!(made.map(|v| v.name.as_str()), Some("<script>x</script>"));
        assert_error(
            &c.put(
                &format!("{base}/metadata"),
                &json!({"metadata": {}, "strategy": "MERGE"}),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "INVALID_STATUS_TRANSITION",
        );
        let (_, found) = c
            .post(
                "/v1/vendors/csv-import/jobs:search",
                &[("company_id", cid.as_str())],
                &json!({"statuses": ["COMPLETED"]}),
            )
            .await;
        assert_eq!(found["data"].as_array().map(Vec::len), Some(1));
        let unknown = "00000000-0000-4000-8000-000000000000";
        let (status, _): (StatusCode, Value) = c
            .get(&format!("/v1/vendors/csv-import/jobs/{unknown}"), &[])
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}
