//! Export jobs (Export API v3, 32.1.0): list, get, create, the job's items (list, update in
//! batches of at most 100) and job events. The payload of the items is in `export_items`.
//! Scopes `export-jobs:read` and `export-jobs:write`.
//!
//! The life cycle, as Pleo documents it:
//!
//! ```text
//! pending --started--> in_progress --completed / completed_with_errors--> (finished)
//!    |                     |
//!    +------failed---------+-----------> failed
//! ```
//!
//! * only one job per company may be `in_progress`: `started` on another, or creating a job
//!   meanwhile, is 409 `EXPORT_ALREADY_IN_PROGRESS`;
//! * any other change is 422 `INVALID_EXPORT_JOB_STATUS_CHANGE`;
//! * items of a finished job cannot be updated (422 `EXPORT_JOB_STATUS_UNPROCESSABLE`); more
//!   than 100 per call is 413 `EXPORT_JOB_ITEMS_UPDATE_LIMIT`; an update for an entry that is
//!   not in the job is reported in the answer's `errors` (`ACCOUNTING_ENTRY_DOES_NOT_EXIST`)
//!   while the others are applied;
//! * a `pending` or `in_progress` job expires one hour after `lastUpdatedAt` (the mock's
//!   clock): it becomes `failed` with `failureReasonType` `job_expired`;
//! * when a job finishes, items never reported become `abandoned`.
//!
//! `GET /v3/export-job-items?accounting_entry_id=` (hidden in Pleo's docs, `x-exclude`) answers
//! the entry's item in its latest job (by `createdAt`), 404 `EXPORT_ENTRY_NOT_FOUND` if no job
//! holds it.
//!
//! The event body names the job `jobId` (the reference) or `exportJobId` (Pleo's how-to
//! pages); both are accepted.

use std::collections::HashSet;
use std::sync::{Arc, MutexGuard};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use chrono::{DateTime, TimeDelta, Utc};
use rand::Rng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::clock::shifted;
use super::data::{CompanyData, ser_opt_uuid, ser_uuid};
use super::entries::{AccountingEntry, ExportStatus, Status};
use super::error::{ApiError, json_response};
use super::extract::{Ids, Json, Pairs};
use super::paging::{Order, PageRequest, Rules, SortValue, paginate, single};
use super::rest::{Result, Shared, ok, parse_uuid};
use super::rest::{body_company, created, empty, query_company, query_uuid, required};
use super::seed::new_id;
use super::server::AppState;
use super::store::{Books, CompanyBooks};

/// A job expires this long after its last update (`expiresIn`).
pub const EXPIRES_IN_SECONDS: i64 = 3600;

/// At most this many item updates per call.
pub const MAX_ITEM_UPDATES: usize = 100;

/// The export API documents `limit` with `minimum: 0` and no maximum; the mock caps it at 100.
const JOB_PAGING: Rules = Rules {
    default_limit: 20,
    min_limit: 0,
    max_limit: 100,
    allow_offset: true,
    keys: &["createdAt", "id", "lastUpdatedAt", "status"],
    default_sort: &[("createdAt", Order::Asc)],
};

/// Items are keyed by their accounting entry (`id` sorts by `accountingEntryId`).
const ITEM_PAGING: Rules = Rules {
    default_limit: 20,
    min_limit: 0,
    max_limit: 100,
    allow_offset: true,
    keys: &["id", "status", "exportedAt"],
    default_sort: &[("id", Order::Asc)],
};

/// `ExportJobFailureReasonType`.
const JOB_FAILURE_TYPES: &[&str] = &[
    "invalid_configuration",
    "missing_configuration",
    "authentication_failure",
    "accounting_system_authentication_failure",
    "pleo_rate_limit",
    "accounting_system_rate_limit",
    "service_unreachable",
    "accounting_system_unreachable",
    "validation_failure",
    "authorization_failure",
    "integration_unusable",
    "job_expired",
    "service_timeout",
    "accounting_system_timeout",
    "canceled_by_user",
];

/// `ExportJobItemFailureReasonType`.
const ITEM_FAILURE_TYPES: &[&str] = &[
    "receipt_upload_failure",
    "receipt_download_failure",
    "receipt_file_size_limit_exceeded",
    "receipt_conversion_failure",
    "unexpected_failure",
    "invalid_configuration",
    "missing_configuration",
    "accounting_system_authentication_failure",
    "accounting_system_rate_limit",
    "accounting_system_unreachable",
    "validation_failure",
    "accounting_system_validation_failure",
    "authorization_failure",
    "accounting_system_timeout",
    "vendor_unknown",
    "account_unknown",
    "tax_code_unknown",
    "tag_unknown",
];

/// `ExportJobStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Pending,
    InProgress,
    Failed,
    Completed,
    CompletedWithErrors,
}

impl JobStatus {
    /// `pending` or `in_progress`: the job can still change and expire.
    pub fn is_open(self) -> bool {
        matches!(self, JobStatus::Pending | JobStatus::InProgress)
    }

    fn parse(raw: &str) -> Option<JobStatus> {
        serde_json::from_value(serde_json::Value::String(raw.to_string())).ok()
    }

    fn rank(self) -> i64 {
        self as i64
    }
}

/// `ExportJobItemStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    Pending,
    InProgress,
    Failed,
    Successful,
    Abandoned,
}

impl ItemStatus {
    fn parse(raw: &str) -> Option<ItemStatus> {
        serde_json::from_value(serde_json::Value::String(raw.to_string())).ok()
    }
}

/// `ExportJobV3`, with its items (not part of the JSON).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportJob {
    #[serde(serialize_with = "ser_uuid")]
    pub id: Uuid,
    #[serde(serialize_with = "ser_uuid")]
    pub company_id: Uuid,
    pub status: JobStatus,
    pub created_at: DateTime<Utc>,
    /// The employee who clicked Export.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_uuid"
    )]
    pub created_by: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expired_at: Option<DateTime<Utc>>,
    /// The job expires [`EXPIRES_IN_SECONDS`] after this unless something happens to it.
    pub last_updated_at: DateTime<Utc>,
    pub expires_in: i64,
    pub is_interactive: bool,
    pub number_of_items: usize,
    pub vendor_based_bookkeeping: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason_type: Option<String>,
    /// One per accounting entry, ordered by entry.
    #[serde(skip)]
    pub items: Vec<ExportJobItem>,
}

/// `ExportJobItemV3`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportJobItem {
    #[serde(serialize_with = "ser_uuid")]
    pub accounting_entry_id: Uuid,
    #[serde(serialize_with = "ser_uuid")]
    pub export_job_id: Uuid,
    pub status: ItemStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exported_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason_type: Option<String>,
}

impl ExportJob {
    fn new(company_id: Uuid, entries: &[Uuid], created_at: DateTime<Utc>, id: Uuid) -> ExportJob {
        ExportJob {
            id,
            company_id,
            status: JobStatus::Pending,
            created_at,
            created_by: None,
            started_at: None,
            completed_at: None,
            expired_at: None,
            last_updated_at: created_at,
            expires_in: EXPIRES_IN_SECONDS,
            is_interactive: true,
            number_of_items: entries.len(),
            vendor_based_bookkeeping: false,
            failure_reason: None,
            failure_reason_type: None,
            items: entries
                .iter()
                .map(|&e| ExportJobItem {
                    accounting_entry_id: e,
                    export_job_id: id,
                    status: ItemStatus::Pending,
                    exported_at: None,
                    external_id: None,
                    external_url: None,
                    failure_reason: None,
                    failure_reason_type: None,
                })
                .collect(),
        }
    }

    /// Ends the job; items nobody reported are abandoned.
    fn finish(&mut self, status: JobStatus, at: DateTime<Utc>) {
        self.status = status;
        self.last_updated_at = at;
        for item in &mut self.items {
            if matches!(item.status, ItemStatus::Pending | ItemStatus::InProgress) {
                item.status = ItemStatus::Abandoned;
            }
        }
    }

    /// When the job expires if nothing happens to it.
    pub fn expires_at(&self) -> DateTime<Utc> {
        shifted(self.last_updated_at, TimeDelta::seconds(self.expires_in))
    }
}

/// Fails every open job whose time is up (Pleo: "Job not updated within expiry time limit").
pub(super) fn expire(books: &mut Books, now: DateTime<Utc>) {
    for job in books
        .companies
        .iter_mut()
        .flat_map(|c| c.export_jobs.iter_mut())
    {
        if job.status.is_open() && job.expires_at() <= now {
            let at = job.expires_at();
            job.expired_at = Some(at);
            job.failure_reason = Some("Job not updated within expiry time limit.".into());
            job.failure_reason_type = Some("job_expired".into());
            job.finish(JobStatus::Failed, at);
        }
    }
}

pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v3/export-jobs", get(list_jobs).post(create_job))
        .route("/v3/export-jobs/{job_id}", get(get_job))
        .route(
            "/v3/export-jobs/{job_id}/items",
            get(list_items).put(update_items),
        )
        .route("/v3/export-job-events", post(post_event))
        .route("/v3/export-job-items", get(get_item_of_entry))
}

fn not_found(id: Uuid) -> ApiError {
    ApiError::not_found("EXPORT_NOT_FOUND", format!("Export job {id} not found."))
}

/// The books after expiring what is due, and the job's company and index; 404 if unknown.
pub(super) fn open_job(
    state: &AppState,
    id: Uuid,
) -> Result<(MutexGuard<'_, Books>, usize, usize)> {
    let now = state.store.now();
    let mut books = state.store.lock();
    expire(&mut books, now);
    let (c, j) = books.find_job(id).ok_or_else(|| not_found(id))?;
    Ok((books, c, j))
}

fn in_progress(company: &CompanyBooks, except: Uuid) -> Option<&ExportJob> {
    company
        .export_jobs
        .iter()
        .find(|j| j.status == JobStatus::InProgress && j.id != except)
}

fn already_in_progress(job: &ExportJob) -> ApiError {
    ApiError::conflict(
        "EXPORT_ALREADY_IN_PROGRESS",
        format!(
            "Export Job already in progress for this company ({}).",
            job.id
        ),
    )
}

// ---------------------------------------------------------------------------
// Jobs: list, get, create
// ---------------------------------------------------------------------------

fn job_key(j: &ExportJob, key: &str) -> SortValue {
    match key {
        "createdAt" => SortValue::Int(j.created_at.timestamp()),
        "lastUpdatedAt" => SortValue::Int(j.last_updated_at.timestamp()),
        "status" => SortValue::Int(j.status.rank()),
        _ => SortValue::Id(j.id),
    }
}

async fn list_jobs(State(state): Shared, Pairs(query): Pairs) -> Result<Response> {
    let page = PageRequest::parse(&query, &JOB_PAGING)?;
    let company = query_company(&state, &query)?;
    // `statuses` is an exploded array (`statuses=pending&statuses=in_progress`); a
    // comma-separated value is read as several too.
    let statuses = query
        .iter()
        .filter(|(k, _)| k == "statuses")
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            JobStatus::parse(s).ok_or_else(|| {
                ApiError::BadParameter(format!(
                    "statuses: {s:?} is not one of pending, in_progress, failed, completed, completed_with_errors"
                ))
            })
        })
        .collect::<Result<HashSet<JobStatus>>>()?;
    let now = state.store.now();
    let mut books = state.store.lock();
    expire(&mut books, now);
    let jobs: Vec<&ExportJob> = books.companies[company]
        .export_jobs
        .iter()
        .filter(|j| statuses.is_empty() || statuses.contains(&j.status))
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &paginate(jobs, &page, job_key),
    ))
}

async fn get_job(State(state): Shared, Ids([id]): Ids<1>) -> Result<Response> {
    let (books, c, j) = open_job(&state, id)?;
    ok(&books.companies[c].export_jobs[j])
}

/// `CreateExportJob`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateBody {
    company_id: Option<String>,
    accounting_entry_ids: Option<Vec<String>>,
    employee_id: Option<String>,
    is_interactive: Option<bool>,
    options: Option<CreateOptions>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateOptions {
    vendor_based_bookkeeping: Option<bool>,
}

async fn create_job(State(state): Shared, Json(body): Json<CreateBody>) -> Result<Response> {
    let company = body_company(&state, body.company_id)?;
    let data = &state.data.companies[company];
    let raw_ids = required(body.accounting_entry_ids, "accountingEntryIds")?;
    if raw_ids.is_empty() {
        return Err(ApiError::BadBody(
            "accountingEntryIds must name at least one entry".into(),
        ));
    }
    let mut entries: Vec<Uuid> = Vec::with_capacity(raw_ids.len());
    for raw in &raw_ids {
        let id = parse_uuid(raw, "accountingEntryIds")
            .map_err(|_| ApiError::BadBody(format!("accountingEntryIds: {raw:?} is not a UUID")))?;
        match state.data.entry(id) {
            Some(e) if e.company_id == data.company.id && e.deleted_at.is_none() => {}
            _ => {
                return Err(ApiError::BadBody(format!(
                    "accounting entry {id} does not exist in company {}",
                    data.company.id
                )));
            }
        }
        if !entries.contains(&id) {
            entries.push(id);
        }
    }
    let created_by = match body.employee_id {
        Some(raw) => {
            let id = parse_uuid(&raw, "employeeId")
                .map_err(|_| ApiError::BadBody("employeeId must be a UUID".into()))?;
            if !data.employees.iter().any(|e| e.id == id) {
                return Err(ApiError::BadBody(format!(
                    "employee {id} does not exist in company {}",
                    data.company.id
                )));
            }
            Some(id)
        }
        None => None,
    };
    let now = state.store.now();
    let mut books = state.store.lock();
    expire(&mut books, now);
    let company_books = &mut books.companies[company];
    if let Some(running) = in_progress(company_books, Uuid::nil()) {
        return Err(already_in_progress(running));
    }
    let mut job = ExportJob::new(data.company.id, &entries, now, Uuid::new_v4());
    job.created_by = created_by;
    job.is_interactive = body.is_interactive.unwrap_or(true);
    job.vendor_based_bookkeeping = body
        .options
        .unwrap_or_default()
        .vendor_based_bookkeeping
        .unwrap_or(false);
    company_books.export_jobs.push(job.clone());
    created(job)
}

// ---------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------

/// `CreateExportJobEvent`, plus the how-to pages' spelling `exportJobId`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventBody {
    job_id: Option<String>,
    export_job_id: Option<String>,
    event: Option<String>,
    failure_reason: Option<String>,
    failure_reason_type: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Event {
    Started,
    Failed,
    Completed,
    CompletedWithErrors,
}

impl Event {
    fn parse(raw: &str) -> Option<Event> {
        match raw {
            "started" => Some(Event::Started),
            "failed" => Some(Event::Failed),
            "completed" => Some(Event::Completed),
            "completed_with_errors" => Some(Event::CompletedWithErrors),
            _ => None,
        }
    }
}

/// The job named by `jobId` or `exportJobId` (400 if neither, or two different ones).
fn event_job_id(body: &EventBody) -> Result<Uuid> {
    let raw = match (&body.job_id, &body.export_job_id) {
        (Some(a), Some(b)) if a != b => {
            return Err(ApiError::BadBody(
                "jobId and exportJobId name different jobs".into(),
            ));
        }
        (Some(id), _) | (None, Some(id)) => id,
        (None, None) => return Err(ApiError::BadBody("jobId is required".into())),
    };
    parse_uuid(raw, "jobId").map_err(|_| ApiError::BadBody("jobId must be a UUID".into()))
}

async fn post_event(State(state): Shared, Json(body): Json<EventBody>) -> Result<Response> {
    let id = event_job_id(&body)?;
    let raw_event = required(body.event.clone(), "event")?;
    let event = Event::parse(&raw_event).ok_or_else(|| {
        ApiError::BadBody(format!(
            "event {raw_event:?} is not one of started, failed, completed, completed_with_errors"
        ))
    })?;
    if let Some(t) = &body.failure_reason_type
        && !JOB_FAILURE_TYPES.contains(&t.as_str())
    {
        return Err(ApiError::BadBody(format!(
            "failureReasonType {t:?} is not an ExportJobFailureReasonType"
        )));
    }
    let now = state.store.now();
    let (mut books, c, j) = open_job(&state, id)?;
    let company = &mut books.companies[c];
    let status = company.export_jobs[j].status;
    let invalid = || {
        ApiError::unprocessable(
            "INVALID_EXPORT_JOB_STATUS_CHANGE",
            format!(
                "Export Job status change failed: {raw_event} is not possible on a job that is {status:?}"
            ),
        )
    };
    match (event, status) {
        (Event::Started, JobStatus::Pending) => {
            if let Some(running) = in_progress(company, id) {
                return Err(already_in_progress(running));
            }
            let job = &mut company.export_jobs[j];
            job.status = JobStatus::InProgress;
            job.started_at = Some(now);
            job.last_updated_at = now;
        }
        (Event::Completed | Event::CompletedWithErrors, JobStatus::InProgress) => {
            let job = &mut company.export_jobs[j];
            job.completed_at = Some(now);
            let to = if event == Event::Completed {
                JobStatus::Completed
            } else {
                JobStatus::CompletedWithErrors
            };
            job.finish(to, now);
        }
        (Event::Failed, JobStatus::Pending | JobStatus::InProgress) => {
            let job = &mut company.export_jobs[j];
            job.failure_reason = body.failure_reason;
            job.failure_reason_type = body.failure_reason_type;
            job.finish(JobStatus::Failed, now);
        }
        _ => return Err(invalid()),
    }
    empty(StatusCode::ACCEPTED)
}

// ---------------------------------------------------------------------------
// Job items
// ---------------------------------------------------------------------------

fn item_key(i: &ExportJobItem, key: &str) -> SortValue {
    match key {
        "status" => SortValue::Int(i.status as i64),
        "exportedAt" => i
            .exported_at
            .map_or(SortValue::Null, |t| SortValue::Int(t.timestamp())),
        _ => SortValue::Id(i.accounting_entry_id),
    }
}

async fn list_items(
    State(state): Shared,
    Ids([id]): Ids<1>,
    Pairs(query): Pairs,
) -> Result<Response> {
    let page = PageRequest::parse(&query, &ITEM_PAGING)?;
    let status = match single(&query, "status")?.filter(|s| !s.is_empty()) {
        Some(raw) => Some(ItemStatus::parse(raw).ok_or_else(|| {
            ApiError::BadParameter(format!(
                "status {raw:?} is not one of pending, in_progress, failed, successful, abandoned"
            ))
        })?),
        None => None,
    };
    let (books, c, j) = open_job(&state, id)?;
    let items: Vec<&ExportJobItem> = books.companies[c].export_jobs[j]
        .items
        .iter()
        .filter(|i| status.is_none_or(|s| i.status == s))
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &paginate(items, &page, item_key),
    ))
}

/// `UpdateExportJobItemV3`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ItemUpdateBody {
    accounting_entry_id: Option<String>,
    status: Option<ItemStatus>,
    exported_at: Option<String>,
    external_id: Option<String>,
    external_url: Option<String>,
    failure_reason: Option<String>,
    failure_reason_type: Option<String>,
}

/// A checked update.
struct ItemUpdate {
    entry: Uuid,
    status: ItemStatus,
    exported_at: Option<DateTime<Utc>>,
    external_id: Option<String>,
    external_url: Option<String>,
    failure_reason: Option<String>,
    failure_reason_type: Option<String>,
}

impl ItemUpdate {
    fn check(body: ItemUpdateBody) -> Result<ItemUpdate> {
        let raw = required(body.accounting_entry_id, "accountingEntryId")?;
        let entry = parse_uuid(&raw, "accountingEntryId")
            .map_err(|_| ApiError::BadBody(format!("accountingEntryId {raw:?} is not a UUID")))?;
        let exported_at = match body.exported_at {
            Some(raw) => Some(
                DateTime::parse_from_rfc3339(&raw)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|_| {
                        ApiError::BadBody(format!(
                            "exportedAt {raw:?} is not an RFC 3339 date-time"
                        ))
                    })?,
            ),
            None => None,
        };
        if let Some(t) = &body.failure_reason_type
            && !ITEM_FAILURE_TYPES.contains(&t.as_str())
        {
            return Err(ApiError::BadBody(format!(
                "failureReasonType {t:?} is not an ExportJobItemFailureReasonType"
            )));
        }
        Ok(ItemUpdate {
            entry,
            status: required(body.status, "status")?,
            exported_at,
            external_id: body.external_id,
            external_url: body.external_url,
            failure_reason: body.failure_reason,
            failure_reason_type: body.failure_reason_type,
        })
    }
}

/// `ExportJobItemUpdateErrorV3`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UpdateError {
    #[serde(serialize_with = "ser_uuid")]
    accounting_entry_id: Uuid,
    #[serde(rename = "type")]
    kind: &'static str,
    message: String,
}

/// `ExportJobItemUpdateV3`.
#[derive(Serialize)]
struct UpdateResult {
    data: Vec<ExportJobItem>,
    errors: Vec<UpdateError>,
}

async fn update_items(
    State(state): Shared,
    Ids([id]): Ids<1>,
    Json(updates): Json<Vec<ItemUpdateBody>>,
) -> Result<Response> {
    let updates = updates
        .into_iter()
        .map(ItemUpdate::check)
        .collect::<Result<Vec<_>>>()?;
    let now = state.store.now();
    let (mut books, c, j) = open_job(&state, id)?;
    if updates.len() > MAX_ITEM_UPDATES {
        return Err(ApiError::too_large(
            "EXPORT_JOB_ITEMS_UPDATE_LIMIT",
            format!(
                "Number of items to update is more than {MAX_ITEM_UPDATES} ({}).",
                updates.len()
            ),
        ));
    }
    let Books {
        companies,
        item_updates,
    } = &mut *books;
    let job = &mut companies[c].export_jobs[j];
    if !job.status.is_open() {
        return Err(ApiError::unprocessable(
            "EXPORT_JOB_STATUS_UNPROCESSABLE",
            "Export job is finished.",
        ));
    }
    let mut result = UpdateResult {
        data: Vec::new(),
        errors: Vec::new(),
    };
    for u in updates {
        let Some(item) = job
            .items
            .iter_mut()
            .find(|i| i.accounting_entry_id == u.entry)
        else {
            result.errors.push(UpdateError {
                accounting_entry_id: u.entry,
                kind: "ACCOUNTING_ENTRY_DOES_NOT_EXIST",
                message: format!(
                    "Accounting entry {} is not part of export job {id}",
                    u.entry
                ),
            });
            continue;
        };
        item.status = u.status;
        // Pleo fills in the time of a successful export when the integration does not.
        item.exported_at = u
            .exported_at
            .or((u.status == ItemStatus::Successful).then_some(now));
        item.external_id = u.external_id;
        item.external_url = u.external_url;
        item.failure_reason = u.failure_reason;
        item.failure_reason_type = u.failure_reason_type;
        *item_updates.entry((id, u.entry)).or_default() += 1;
        result.data.push(item.clone());
    }
    if !result.data.is_empty() {
        job.last_updated_at = now;
    }
    Ok(json_response(StatusCode::OK, &result))
}

// ---------------------------------------------------------------------------
// Seeding
// ---------------------------------------------------------------------------

/// Most items a seeded pending job gets.
const BIG_JOB: usize = 150;
/// Items of the newer, vendor-based pending job.
const SMALL_JOB: usize = 5;

/// History and work for every company, oldest first:
///
/// 1. `completed` twelve days ago, its items `successful` (entries already `EXPORTED`);
/// 2. `failed` with `job_expired` a week ago, nobody claimed it: items `abandoned`;
/// 3. `completed_with_errors` four days ago: some items `failed` (entries `NOT_EXPORTED`);
/// 4. `pending`, three minutes before the epoch: the oldest pending job. Up to 150
///    recent settled entries waiting for export, among them at least one without an
///    account (an exporter cannot map it) whenever the data has one;
/// 5. `pending`, one minute before the epoch: a few entries, vendor-based bookkeeping,
///    created by the system (`isInteractive` false).
pub(super) fn seed(
    rng: &mut StdRng,
    data: &CompanyData,
    entries: &[AccountingEntry],
    epoch: DateTime<Utc>,
) -> Vec<ExportJob> {
    let live: Vec<&AccountingEntry> = entries.iter().filter(|e| e.deleted_at.is_none()).collect();
    let with = |status: ExportStatus| -> Vec<Uuid> {
        live.iter()
            .filter(|e| e.export_status == status)
            .map(|e| e.id)
            .collect()
    };
    let exported = with(ExportStatus::Exported);
    let not_exported = with(ExportStatus::NotExported);
    let waiting: Vec<&AccountingEntry> = live
        .iter()
        .copied()
        .filter(|e| e.status == Status::Completed)
        .filter(|e| {
            matches!(
                e.export_status,
                ExportStatus::Queued | ExportStatus::Created
            )
        })
        .collect();
    let finance = data
        .employees
        .get(1)
        .or(data.employees.first())
        .map(|e| e.id);
    let mut jobs = Vec::new();

    // History, from the most recently exported entries backwards.
    let mut recent = exported.iter().rev().copied();
    let h3_ok: Vec<Uuid> = recent.by_ref().take(6).collect();
    let h2: Vec<Uuid> = recent.by_ref().take(4).collect();
    let h1: Vec<Uuid> = recent.by_ref().take(8).collect();
    let h3_failed: Vec<Uuid> = not_exported.iter().rev().take(2).copied().collect();

    if !h1.is_empty() {
        let created = shifted(epoch, TimeDelta::minutes(37) - TimeDelta::days(12));
        let mut job = ExportJob::new(data.company.id, &h1, created, new_id(rng));
        job.created_by = finance;
        let started = shifted(created, TimeDelta::minutes(2));
        job.started_at = Some(started);
        for (n, item) in job.items.iter_mut().enumerate() {
            item.status = ItemStatus::Successful;
            item.exported_at = Some(shifted(started, TimeDelta::seconds(20 * (n as i64 + 1))));
            item.external_id = Some(format!("JE-{}", 40_000 + n));
        }
        let done = shifted(started, TimeDelta::minutes(5));
        job.completed_at = Some(done);
        job.finish(JobStatus::Completed, done);
        jobs.push(job);
    }
    if !h2.is_empty() {
        let created = shifted(epoch, TimeDelta::minutes(12) - TimeDelta::days(7));
        let mut job = ExportJob::new(data.company.id, &h2, created, new_id(rng));
        job.created_by = finance;
        let at = job.expires_at();
        job.expired_at = Some(at);
        job.failure_reason = Some("Job not updated within expiry time limit.".into());
        job.failure_reason_type = Some("job_expired".into());
        job.finish(JobStatus::Failed, at);
        jobs.push(job);
    }
    if !h3_ok.is_empty() || !h3_failed.is_empty() {
        let created = shifted(epoch, TimeDelta::minutes(51) - TimeDelta::days(4));
        let entries: Vec<Uuid> = h3_ok.iter().chain(&h3_failed).copied().collect();
        let mut job = ExportJob::new(data.company.id, &entries, created, new_id(rng));
        job.created_by = finance;
        let started = shifted(created, TimeDelta::minutes(1));
        job.started_at = Some(started);
        for (n, item) in job.items.iter_mut().enumerate() {
            if h3_failed.contains(&item.accounting_entry_id) {
                item.status = ItemStatus::Failed;
                item.failure_reason =
                    Some("The account is not in the ERP's chart of accounts".into());
                item.failure_reason_type = Some("account_unknown".into());
            } else {
                item.status = ItemStatus::Successful;
                item.exported_at = Some(shifted(started, TimeDelta::seconds(15 * (n as i64 + 1))));
                item.external_id = Some(format!("JE-{}", 41_000 + n));
            }
        }
        let done = shifted(started, TimeDelta::minutes(3));
        job.completed_at = Some(done);
        job.finish(JobStatus::CompletedWithErrors, done);
        jobs.push(job);
    }

    // Work: the newest mappable entries go to the small job, the rest to the big one.
    let small: Vec<Uuid> = waiting
        .iter()
        .rev()
        .filter(|e| e.account_id.is_some())
        .take(SMALL_JOB)
        .map(|e| e.id)
        .collect();
    let rest: Vec<&AccountingEntry> = waiting
        .iter()
        .copied()
        .filter(|e| !small.contains(&e.id))
        .collect();
    let mut big: Vec<&AccountingEntry> = rest.iter().rev().take(BIG_JOB).copied().collect();
    if !big.iter().any(|e| e.account_id.is_none())
        && let Some(unmapped) = rest.iter().rev().find(|e| e.account_id.is_none())
        && !big.is_empty()
    {
        let last = big.len() - 1;
        big[last] = unmapped;
    }
    big.sort_by(|a, b| a.performed_at.cmp(&b.performed_at).then(a.id.cmp(&b.id)));
    let big: Vec<Uuid> = big.iter().map(|e| e.id).collect();
    if !big.is_empty() {
        let ago = TimeDelta::minutes(3) + TimeDelta::seconds(rng.random_range(0..60));
        let created = shifted(epoch, -ago);
        let mut job = ExportJob::new(data.company.id, &big, created, new_id(rng));
        job.created_by = finance;
        jobs.push(job);
    }
    if !small.is_empty() {
        let mut small = small;
        small.reverse();
        let ago = TimeDelta::minutes(1) + TimeDelta::seconds(rng.random_range(0..30));
        let created = shifted(epoch, -ago);
        let mut job = ExportJob::new(data.company.id, &small, created, new_id(rng));
        job.is_interactive = false;
        job.vendor_based_bookkeeping = true;
        jobs.push(job);
    }
    jobs
}

/// `GET /v3/export-job-items`: the item of `accounting_entry_id` in the latest job that holds
/// it, among the jobs of `company_id` (every company of the key without it).
async fn get_item_of_entry(State(state): Shared, Pairs(query): Pairs) -> Result<Response> {
    let entry = query_uuid(&query, "accounting_entry_id")?
        .ok_or_else(|| ApiError::BadParameter("accounting_entry_id is required".into()))?;
    let company = match query_uuid(&query, "company_id")? {
        Some(_) => Some(query_company(&state, &query)?),
        None => None,
    };
    let now = state.store.now();
    let mut books = state.store.lock();
    expire(&mut books, now);
    let item = books
        .companies
        .iter()
        .enumerate()
        .filter(|(c, _)| company.is_none_or(|only| only == *c))
        .flat_map(|(_, b)| &b.export_jobs)
        .filter_map(|job| {
            let item = job.items.iter().find(|i| i.accounting_entry_id == entry);
            item.map(|item| (job.created_at, item))
        })
        .max_by_key(|(created, _)| *created)
        .map(|(_, item)| item);
    match item {
        Some(item) => ok(item),
        None => Err(ApiError::not_found(
            "EXPORT_ENTRY_NOT_FOUND",
            format!("Export Job Item not found for accounting entry {entry}"),
        )),
    }
}
