//! The export flow (Pleo's Export API v3): `export-jobs-read`, `export-jobs-write` and
//! `export-items-read`. Job ids name the job everywhere, so only the job list and job creation
//! carry the company (query `company_id`, body `companyId`).

use serde_json::{Map, Value, json};

use super::call::Args;
use super::paging;
use super::table::{
    CREATE_EXPORT_JOB, GET_EXPORT_JOB, GET_EXPORT_JOB_ITEM, LIST_EXPORT_ITEMS,
    LIST_EXPORT_JOB_ITEMS, LIST_EXPORT_JOBS, POST_EXPORT_JOB_EVENT, UPDATE_EXPORT_JOB_ITEMS,
};
use super::{Caps, HostError, PageRequest, WitPage, checked_id, checks, invalid};
use crate::bindings::pleo::plugin::export_jobs_write::{ItemUpdate, JobEvent, NewExportJob};
use crate::bindings::pleo::plugin::types::{ItemStatus, JobEventKind, JobStatus};
use crate::bindings::pleo::plugin::{export_items_read, export_jobs_read, export_jobs_write};

/// Pleo refuses more than 100 item updates per call (413 `EXPORT_JOB_ITEMS_UPDATE_LIMIT`).
pub(super) const MAX_ITEM_UPDATES: usize = 100;

impl export_jobs_read::Host for Caps {
    async fn list_export_jobs(
        &mut self,
        statuses: Vec<JobStatus>,
        page: PageRequest,
    ) -> Result<WitPage, HostError> {
        let mut args = Args::new().query("company_id", self.company_id.clone());
        // `statuses` is an exploded array: one `statuses=` per value.
        for status in statuses {
            args = args.query("statuses", job_status_name(status));
        }
        self.page(
            &LIST_EXPORT_JOBS,
            args.page(&page, &paging::CURSOR_OR_OFFSET),
        )
        .await
    }

    async fn get_export_job(&mut self, job_id: String) -> Result<String, HostError> {
        self.text(&GET_EXPORT_JOB, Args::new().id(job_id)).await
    }

    async fn list_export_job_items(
        &mut self,
        job_id: String,
        status: Option<ItemStatus>,
        page: PageRequest,
    ) -> Result<WitPage, HostError> {
        let args = Args::new()
            .id(job_id)
            .query_opt("status", status.map(item_status_name))
            .page(&page, &paging::CURSOR_OR_OFFSET);
        self.page(&LIST_EXPORT_JOB_ITEMS, args).await
    }

    async fn get_export_job_item(&mut self, entry_id: String) -> Result<String, HostError> {
        let args = Args::new()
            .query("company_id", self.company_id.clone())
            .query_id("accounting_entry_id", entry_id);
        self.text(&GET_EXPORT_JOB_ITEM, args).await
    }
}

impl export_jobs_write::Host for Caps {
    async fn create_export_job(&mut self, job: NewExportJob) -> Result<String, HostError> {
        let args = Args::new().body(new_job_body(&self.company_id, job));
        self.text(&CREATE_EXPORT_JOB, args).await
    }

    async fn update_export_job_items(
        &mut self,
        job_id: String,
        updates: Vec<ItemUpdate>,
    ) -> Result<String, HostError> {
        let args = Args::new().id(job_id).body(item_updates_body(updates));
        self.text(&UPDATE_EXPORT_JOB_ITEMS, args).await
    }

    async fn post_export_job_event(&mut self, event: JobEvent) -> Result<(), HostError> {
        let args = Args::new().body(job_event_body(event));
        self.nothing(&POST_EXPORT_JOB_EVENT, args).await
    }
}

impl export_items_read::Host for Caps {
    async fn list_export_items(
        &mut self,
        job_id: String,
        page: PageRequest,
    ) -> Result<WitPage, HostError> {
        let args = Args::new()
            .query_id("job_id", job_id)
            .page(&page, &paging::CURSOR_OR_OFFSET);
        self.page(&LIST_EXPORT_ITEMS, args).await
    }
}

fn job_status_name(status: JobStatus) -> &'static str {
    match status {
        JobStatus::Pending => "pending",
        JobStatus::InProgress => "in_progress",
        JobStatus::Failed => "failed",
        JobStatus::Completed => "completed",
        JobStatus::CompletedWithErrors => "completed_with_errors",
    }
}

fn item_status_name(status: ItemStatus) -> &'static str {
    match status {
        ItemStatus::Pending => "pending",
        ItemStatus::InProgress => "in_progress",
        ItemStatus::Failed => "failed",
        ItemStatus::Successful => "successful",
        ItemStatus::Abandoned => "abandoned",
    }
}

fn event_name(event: JobEventKind) -> &'static str {
    match event {
        JobEventKind::Started => "started",
        JobEventKind::Failed => "failed",
        JobEventKind::Completed => "completed",
        JobEventKind::CompletedWithErrors => "completed_with_errors",
    }
}

/// Builds `CreateExportJob`: `{companyId, accountingEntryIds, employeeId?, isInteractive?,
/// options?: {vendorBasedBookkeeping}}`.
fn new_job_body(company_id: &str, job: NewExportJob) -> Result<Value, HostError> {
    for id in &job.accounting_entry_ids {
        checked_id(id)?;
    }
    let mut body = Map::new();
    body.insert("companyId".into(), json!(company_id));
    body.insert(
        "accountingEntryIds".into(),
        json!(checks::unique(job.accounting_entry_ids)),
    );
    if let Some(employee) = &job.employee_id {
        body.insert("employeeId".into(), json!(checked_id(employee)?));
    }
    if let Some(interactive) = job.is_interactive {
        body.insert("isInteractive".into(), json!(interactive));
    }
    if let Some(vendors) = job.vendor_based_bookkeeping {
        body.insert(
            "options".into(),
            json!({ "vendorBasedBookkeeping": vendors }),
        );
    }
    Ok(Value::Object(body))
}

/// Builds the body of `PUT /v3/export-jobs/{jobId}/items`: an array of `UpdateExportJobItemV3`
/// (`{accountingEntryId, status, exportedAt?, externalId?, externalUrl?, failureReason?,
/// failureReasonType?}`), absent fields left out. 1 to 100 updates.
fn item_updates_body(updates: Vec<ItemUpdate>) -> Result<Value, HostError> {
    if updates.is_empty() {
        return Err(invalid(
            "update-export-job-items needs at least one update".into(),
        ));
    }
    if updates.len() > MAX_ITEM_UPDATES {
        return Err(invalid(format!(
            "Pleo takes at most {MAX_ITEM_UPDATES} item updates per call, got {}; send them in \
             batches",
            updates.len()
        )));
    }
    let mut items = Vec::with_capacity(updates.len());
    for update in updates {
        let mut item = Map::new();
        item.insert(
            "accountingEntryId".into(),
            json!(checked_id(&update.accounting_entry_id)?),
        );
        item.insert("status".into(), json!(item_status_name(update.status)));
        if let Some(at) = &update.exported_at {
            item.insert(
                "exportedAt".into(),
                json!(checks::timestamp("exportedAt", at)?),
            );
        }
        if let Some(kind) = &update.failure_reason_type {
            checks::reason_type("failureReasonType", kind)?;
        }
        for (name, value) in [
            ("externalId", update.external_id),
            ("externalUrl", update.external_url),
            ("failureReason", update.failure_reason),
            ("failureReasonType", update.failure_reason_type),
        ] {
            if let Some(value) = value {
                item.insert(name.into(), json!(value));
            }
        }
        items.push(Value::Object(item));
    }
    Ok(Value::Array(items))
}

/// Builds `CreateExportJobEvent`: `{jobId, event, failureReason?, failureReasonType?}`. Pleo's
/// how-to pages spell the id `exportJobId`; its reference and OpenAPI document say `jobId`.
fn job_event_body(event: JobEvent) -> Result<Value, HostError> {
    let mut body = Map::new();
    body.insert("jobId".into(), json!(checked_id(&event.job_id)?));
    body.insert("event".into(), json!(event_name(event.event)));
    if let Some(reason) = event.failure_reason {
        body.insert("failureReason".into(), json!(reason));
    }
    if let Some(kind) = event.failure_reason_type {
        checks::reason_type("failureReasonType", &kind)?;
        body.insert("failureReasonType".into(), json!(kind));
    }
    Ok(Value::Object(body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::pleo::plugin::types::PleoError;

    fn update(id: &str, status: ItemStatus) -> ItemUpdate {
        ItemUpdate {
            accounting_entry_id: id.into(),
            status,
            exported_at: None,
            external_id: None,
            external_url: None,
            failure_reason: None,
            failure_reason_type: None,
        }
    }

    fn refused(r: Result<Value, HostError>) -> String {
        match r {
            Err(HostError::Guest(PleoError::InvalidRequest(e))) => {
                assert_eq!(e.code, "HOST_REJECTED_REQUEST");
                e.message
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn item_updates_use_pleo_names_and_spellings() {
        let mut ok = update("e1", ItemStatus::Successful);
        ok.external_id = Some("JE-1".into());
        ok.external_url = Some("https://erp.example/je/1".into());
        ok.exported_at = Some("2025-03-01T12:00:00+01:00".into());
        let mut failed = update("e2", ItemStatus::Failed);
        failed.failure_reason = Some("no such account".into());
        failed.failure_reason_type = Some("account_unknown".into());
        let body =
            item_updates_body(vec![ok, failed, update("e3", ItemStatus::InProgress)]).unwrap();
        assert_eq!(
            body,
            json!([
                {"accountingEntryId": "e1", "status": "successful", "externalId": "JE-1",
                 "externalUrl": "https://erp.example/je/1", "exportedAt": "2025-03-01T11:00:00Z"},
                {"accountingEntryId": "e2", "status": "failed", "failureReason": "no such account",
                 "failureReasonType": "account_unknown"},
                {"accountingEntryId": "e3", "status": "in_progress"},
            ])
        );
    }

    #[test]
    fn item_updates_are_bounded_before_any_request() {
        let hundred: Vec<_> = (0..100)
            .map(|i| update(&format!("e{i}"), ItemStatus::Successful))
            .collect();
        assert_eq!(
            item_updates_body(hundred.clone())
                .unwrap()
                .as_array()
                .unwrap()
                .len(),
            100
        );
        let mut too_many = hundred;
        too_many.push(update("e100", ItemStatus::Successful));
        assert!(refused(item_updates_body(too_many)).contains("at most 100"));
        refused(item_updates_body(vec![]));
        refused(item_updates_body(vec![update(
            "../jobs",
            ItemStatus::Failed,
        )]));
        let mut bad_time = update("e1", ItemStatus::Successful);
        bad_time.exported_at = Some("yesterday".into());
        refused(item_updates_body(vec![bad_time]));
        let mut bad_kind = update("e1", ItemStatus::Failed);
        bad_kind.failure_reason_type = Some("Account Unknown".into());
        refused(item_updates_body(vec![bad_kind]));
    }

    #[test]
    fn job_events_name_the_job_and_the_event() {
        let event = |kind, reason: Option<&str>, reason_type: Option<&str>| JobEvent {
            job_id: "j1".into(),
            event: kind,
            failure_reason: reason.map(Into::into),
            failure_reason_type: reason_type.map(Into::into),
        };
        assert_eq!(
            job_event_body(event(JobEventKind::Started, None, None)).unwrap(),
            json!({"jobId": "j1", "event": "started"})
        );
        assert_eq!(
            job_event_body(event(JobEventKind::CompletedWithErrors, None, None)).unwrap(),
            json!({"jobId": "j1", "event": "completed_with_errors"})
        );
        assert_eq!(
            job_event_body(event(
                JobEventKind::Failed,
                Some("ERP down"),
                Some("accounting_system_unreachable")
            ))
            .unwrap(),
            json!({"jobId": "j1", "event": "failed", "failureReason": "ERP down",
                   "failureReasonType": "accounting_system_unreachable"})
        );
        let mut bad = event(JobEventKind::Completed, None, None);
        bad.job_id = "j1?x=1".into();
        refused(job_event_body(bad));
    }

    #[test]
    fn new_jobs_carry_the_company_in_the_body() {
        let job = NewExportJob {
            accounting_entry_ids: vec!["a".into(), "b".into(), "a".into()],
            employee_id: Some("u1".into()),
            is_interactive: Some(false),
            vendor_based_bookkeeping: Some(true),
        };
        assert_eq!(
            new_job_body("c1", job).unwrap(),
            json!({"companyId": "c1", "accountingEntryIds": ["a", "b"], "employeeId": "u1",
                   "isInteractive": false, "options": {"vendorBasedBookkeeping": true}})
        );
        let bare = NewExportJob {
            accounting_entry_ids: vec!["a".into()],
            employee_id: None,
            is_interactive: None,
            vendor_based_bookkeeping: None,
        };
        assert_eq!(
            new_job_body("c1", bare).unwrap(),
            json!({"companyId": "c1", "accountingEntryIds": ["a"]})
        );
    }

    #[test]
    fn statuses_use_pleo_spellings() {
        assert_eq!(job_status_name(JobStatus::InProgress), "in_progress");
        assert_eq!(
            job_status_name(JobStatus::CompletedWithErrors),
            "completed_with_errors"
        );
        assert_eq!(item_status_name(ItemStatus::InProgress), "in_progress");
        assert_eq!(item_status_name(ItemStatus::Abandoned), "abandoned");
    }
}
