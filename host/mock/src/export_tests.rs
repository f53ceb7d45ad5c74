//! The export API over HTTP: seeded jobs, the payload of export items, the job life cycle
//! with its 409/413/422 answers, expiry on the mock's clock, both spellings of the event's
//! job id, creating jobs, paging bounds and scopes.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use super::test_client::{Client, assert_error, basic, cfg};
use super::{Dataset, ExportJob, ItemStatus, JobStatus, MockConfig};

fn oldest_pending(ds: &Dataset) -> ExportJob {
    ds.companies[0]
        .oldest_pending_job()
        .cloned()
        .expect("a pending job is seeded")
}

fn newest_pending(ds: &Dataset) -> ExportJob {
    ds.companies[0]
        .export_jobs
        .iter()
        .filter(|j| j.status == JobStatus::Pending)
        .max_by_key(|j| j.created_at)
        .cloned()
        .expect("two pending jobs are seeded")
}

fn ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .map(|a| a.iter().map(super::test_client::identity).collect())
        .unwrap_or_default()
}

async fn event(c: &Client, body: Value) -> (StatusCode, Value) {
    c.post("/v3/export-job-events", &[], &body).await
}

async fn job(c: &Client, id: Uuid) -> Value {
    let (status, body) = c.get(&format!("/v3/export-jobs/{id}"), &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"].clone()
}

/// One update per item: `failed` (account_unknown) for entries without an account,
/// `successful` with an external id for the others.
fn reports(ds: &Dataset, job: &ExportJob) -> Vec<Value> {
    job.items
        .iter()
        .enumerate()
        .map(|(n, i)| {
            let entry = ds.entry(i.accounting_entry_id).expect("item entry exists");
            if entry.account_id.is_none() {
                json!({
                    "accountingEntryId": i.accounting_entry_id.to_string(),
                    "status": "failed",
                    "failureReason": "No account to book on",
                    "failureReasonType": "account_unknown",
                })
            } else {
                json!({
                    "accountingEntryId": i.accounting_entry_id.to_string(),
                    "status": "successful",
                    "externalId": format!("JE-{n}"),
                })
            }
        })
        .collect()
}

#[tokio::test]
async fn seeded_jobs_wait_oldest_first_with_live_entries() {
    let c = Client::start(cfg()).await;
    let ds = c.server.dataset();
    let company = &ds.companies[0];
    let statuses: Vec<JobStatus> = company.export_jobs.iter().map(|j| j.status).collect();
    assert_eq!(
        statuses,
        [
            JobStatus::Completed,
            JobStatus::Failed,
            JobStatus::CompletedWithErrors,
            JobStatus::Pending,
            JobStatus::Pending
        ]
    );
    let oldest = oldest_pending(&ds);
    let newest = newest_pending(&ds);
    assert!(oldest.created_at < newest.created_at && newest.created_at < ds.epoch);
    // More than one batch of updates, and at least one entry nobody can map.
    assert!(oldest.items.len() > 100, "{}", oldest.items.len());
    let mut unmapped = 0;
    let mut seen = HashSet::new();
    for job in company.export_jobs.iter().filter(|j| j.status.is_open()) {
        for item in &job.items {
            let e = ds.entry(item.accounting_entry_id).expect("entry exists");
            assert!(e.deleted_at.is_none() && e.company_id == company.company.id);
            assert_eq!(item.status, ItemStatus::Pending);
            assert!(seen.insert(e.id), "an entry is in two open jobs");
            unmapped += usize::from(e.account_id.is_none() && job.id == oldest.id);
        }
    }
    assert!(unmapped >= 1);

    // The pending ones, oldest first.
    let (status, page) = c.get("/v3/export-jobs", &[("statuses", "pending")]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&page), [oldest.id.to_string(), newest.id.to_string()]);
    let first = &page["data"][0];
    assert_eq!(first["status"], "pending");
    assert_eq!(first["companyId"], company.company.id.to_string());
    assert_eq!(first["expiresIn"], 3600);
    assert_eq!(first["numberOfItems"], oldest.items.len());
    assert_eq!(first["isInteractive"], true);
    assert_eq!(first["vendorBasedBookkeeping"], false);
    // Made before the anchor's epoch, touched when the mock started (real time): its hour runs.
    let live = c.server.export_job(oldest.id).expect("job exists");
    assert_eq!(first["lastUpdatedAt"], json!(live.last_updated_at));
    assert!(oldest.created_at < live.last_updated_at && live.last_updated_at <= c.server.now());
    assert!(first.get("startedAt").is_none() && first.get("failureReasonType").is_none());
    assert_eq!(page["data"][1]["vendorBasedBookkeeping"], true);
    // `statuses` repeated or comma-separated; anything else is a 400.
    for q in [
        vec![("statuses", "pending"), ("statuses", "completed")],
        vec![("statuses", "pending,completed")],
    ] {
        let (_, page) = c.get("/v3/export-jobs", &q).await;
        assert_eq!(ids(&page).len(), 3, "{q:?}");
    }
    assert_error(
        &c.get("/v3/export-jobs", &[("statuses", "done")]).await,
        StatusCode::BAD_REQUEST,
        "PARAMETER_VALIDATION_FAILED",
    );
    // Every job once, across pages.
    let all = c
        .all_pages(Method::GET, "/v3/export-jobs", &[], None, 2)
        .await;
    assert_eq!(all.len(), company.export_jobs.len());
    let history = &all[0];
    assert_eq!(history["status"], "completed");
    assert!(history["startedAt"].is_string() && history["completedAt"].is_string());
    assert_eq!(all[1]["failureReasonType"], "job_expired");
    assert!(all[1]["expiredAt"].is_string());

    // The oldest job's items (control data), every one once.
    let path = format!("/v3/export-jobs/{}/items", oldest.id);
    let items = c.all_pages(Method::GET, &path, &[], None, 7).await;
    let got: HashSet<String> = items
        .iter()
        .map(|i| {
            i["accountingEntryId"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    let want: HashSet<String> = oldest
        .items
        .iter()
        .map(|i| i.accounting_entry_id.to_string())
        .collect();
    assert_eq!(got, want);
    assert!(
        items
            .iter()
            .all(|i| i["exportJobId"] == oldest.id.to_string() && i["status"] == "pending")
    );
    let (_, none) = c.get(&path, &[("status", "successful")]).await;
    assert_eq!(ids(&none).len(), 0);
    assert_error(
        &c.get(&path, &[("status", "done")]).await,
        StatusCode::BAD_REQUEST,
        "PARAMETER_VALIDATION_FAILED",
    );
    // The seeded history: reported items of a completed job.
    let done = &company.export_jobs[0];
    let (_, page) = c
        .get(
            &format!("/v3/export-jobs/{}/items", done.id),
            &[("limit", "100")],
        )
        .await;
    assert!(page["data"].as_array().is_some_and(|a| {
        !a.is_empty()
            && a.iter()
                .all(|i| i["status"] == "successful" && i["externalId"].is_string())
    }));
}

#[tokio::test]
async fn export_items_carry_the_accounting_payload() {
    let c = Client::start(cfg()).await;
    let ds = c.server.dataset();
    let company = &ds.companies[0];
    let master = c
        .server
        .master_data(company.company.id)
        .expect("company 0 has master data");
    let oldest = oldest_pending(&ds);
    let id = oldest.id.to_string();
    let items = c
        .all_pages(
            Method::GET,
            "/v3/export-items",
            &[("job_id", &id)],
            None,
            25,
        )
        .await;
    assert_eq!(items.len(), oldest.items.len());
    let base = c.server.base_url();
    let mut unmapped = 0;
    for item in &items {
        let entry_id: Uuid = item["accountingEntryId"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("accountingEntryId");
        let e = ds.entry(entry_id).expect("entry exists");
        assert_eq!(item["companyId"], company.company.id.to_string());
        assert!(item["type"].is_string() && item["date"].is_string());
        assert!(item["_links"].is_object());
        assert!(item["additionalInformation"]["reconciliationId"].is_string());
        assert_eq!(
            item["amount"]["inSupplierCurrency"],
            json!({"currency": e.transaction_value.currency, "value": e.transaction_value.minors})
        );
        assert_eq!(item["amount"]["inWalletCurrency"]["currency"], "DKK");
        let lines = item["accountingEntryLines"].as_array().expect("lines");
        let sum: i64 = lines
            .iter()
            .map(|l| {
                l["lineAmount"]["inSupplierCurrency"]["value"]
                    .as_i64()
                    .unwrap_or(0)
            })
            .sum();
        assert_eq!(sum, e.transaction_value.minors);
        for line in lines {
            let gross = line["lineAmount"]["inWalletCurrency"]["value"]
                .as_i64()
                .unwrap_or(0);
            let net = line["netAmount"]["inWalletCurrency"]["value"]
                .as_i64()
                .unwrap_or(0);
            match line["tax"]["type"].as_str() {
                Some("inclusive") => {
                    let tax = line["tax"]["amount"]["inWalletCurrency"]["value"].as_i64();
                    assert_eq!(Some(gross - net), tax, "{line}");
                }
                Some(_) => assert_eq!(gross, net),
                None => assert_eq!(gross, net),
            }
        }
        match e.account_id {
            None => {
                unmapped += 1;
                assert!(lines.iter().all(|l| l.get("account").is_none()), "{item}");
            }
            Some(account) if e.split_items.is_empty() => {
                let a = master
                    .accounts
                    .iter()
                    .find(|a| a.id == account)
                    .expect("account in chart");
                assert_eq!(lines[0]["account"]["id"], account.to_string());
                assert_eq!(lines[0]["account"]["identifier"], a.external_id);
                assert_eq!(
                    lines[0]["tags"].as_array().map(Vec::len),
                    Some(e.tags.len())
                );
                if let Some(tax) = e.tax_code_id {
                    assert_eq!(lines[0]["tax"]["id"], tax.to_string());
                }
            }
            Some(_) => assert_eq!(lines.len(), e.split_items.len()),
        }
        let files = item["files"].as_array().expect("files");
        assert_eq!(files.len(), e.receipt_ids.len());
        for f in files {
            let url = f["url"].as_str().unwrap_or_default();
            assert!(
                url.starts_with("https://") && !url.starts_with(&base),
                "{url}"
            );
            assert!(url.contains("X-Amz-Expires=86400"), "{url}");
            assert!(f["size"].as_u64().is_some_and(|s| s > 0));
        }
        assert!(item["contraAccount"]["id"].is_string());
        // Only vendor-based jobs carry vendor and bookkeeping.
        assert!(item.get("vendor").is_none() && item.get("bookkeeping").is_none());
    }
    assert!(unmapped >= 1);

    let newest = newest_pending(&ds);
    let (status, page) = c
        .get("/v3/export-items", &[("job_id", &newest.id.to_string())])
        .await;
    assert_eq!(status, StatusCode::OK);
    let data = page["data"].as_array().expect("data");
    assert_eq!(data.len(), newest.items.len());
    assert!(data.iter().all(|i| i["bookkeeping"]["method"].is_string()));
    assert!(data.iter().any(|i| i["vendor"]["id"].is_string()));
}

#[tokio::test]
async fn the_job_life_cycle() {
    let c = Client::start(cfg()).await;
    let ds = c.server.dataset();
    let oldest = oldest_pending(&ds);
    let newest = newest_pending(&ds);
    let id = oldest.id.to_string();
    let items_path = format!("/v3/export-jobs/{id}/items");

    // Nothing but `started` (or `failed`) moves a pending job.
    for e in ["completed", "completed_with_errors"] {
        assert_error(
            &event(&c, json!({"jobId": id, "event": e})).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "INVALID_EXPORT_JOB_STATUS_CHANGE",
        );
    }
    // Claim it; the event is accepted without a body.
    let before = c.server.now();
    let (status, body) = event(&c, json!({"jobId": id, "event": "started"})).await;
    assert_eq!((status, body), (StatusCode::ACCEPTED, Value::Null));
    let claimed = job(&c, oldest.id).await;
    assert_eq!(claimed["status"], "in_progress");
    assert_eq!(claimed["startedAt"], claimed["lastUpdatedAt"]);
    let started: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(claimed["startedAt"].clone()).expect("startedAt");
    assert!(started >= before);
    assert_error(
        &event(&c, json!({"jobId": id, "event": "started"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "INVALID_EXPORT_JOB_STATUS_CHANGE",
    );
    // One job in progress per company: neither another start nor a new job.
    assert_error(
        &event(
            &c,
            json!({"exportJobId": newest.id.to_string(), "event": "started"}),
        )
        .await,
        StatusCode::CONFLICT,
        "EXPORT_ALREADY_IN_PROGRESS",
    );
    let entry = newest.items[0].accounting_entry_id.to_string();
    let create = json!({"companyId": ds.company.id.to_string(), "accountingEntryIds": [entry]});
    assert_error(
        &c.post("/v3/export-jobs", &[], &create).await,
        StatusCode::CONFLICT,
        "EXPORT_ALREADY_IN_PROGRESS",
    );

    // More than 100 updates at once: 413, nothing applied.
    let reports = reports(&ds, &oldest);
    let mut too_many: Vec<Value> = reports.iter().take(100).cloned().collect();
    too_many.push(reports[0].clone());
    assert_error(
        &c.put(&items_path, &Value::Array(too_many)).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "EXPORT_JOB_ITEMS_UPDATE_LIMIT",
    );
    assert!(c.server.item_updates().is_empty());
    // Malformed updates: 400.
    for bad in [
        json!({"accountingEntryId": entry, "status": "successful"}),
        json!([{"accountingEntryId": entry, "status": "done"}]),
        json!([{"accountingEntryId": "nope", "status": "successful"}]),
        json!([{"status": "successful"}]),
        json!([{"accountingEntryId": entry, "status": "failed", "failureReasonType": "oops"}]),
        json!([{"accountingEntryId": entry, "status": "successful", "exportedAt": "today"}]),
    ] {
        assert_error(
            &c.put(&items_path, &bad).await,
            StatusCode::BAD_REQUEST,
            "VALIDATION_FAILED",
        );
    }

    // Report every item once, in batches of at most 100; an entry that is not in the job is
    // reported back in `errors`, the rest of its batch is applied.
    let stranger = Uuid::new_v4();
    let mut first = true;
    for batch in reports.chunks(99) {
        let mut batch = batch.to_vec();
        if first {
            batch.push(json!({"accountingEntryId": stranger.to_string(), "status": "successful"}));
        }
        let (status, answer) = c.put(&items_path, &Value::Array(batch.clone())).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let applied = answer["data"].as_array().map(Vec::len).unwrap_or(0);
        let errors = answer["errors"].as_array().cloned().unwrap_or_default();
        if first {
            assert_eq!(applied, batch.len() - 1);
            assert_eq!(errors.len(), 1);
            assert_eq!(errors[0]["accountingEntryId"], stranger.to_string());
            assert_eq!(errors[0]["type"], "ACCOUNTING_ENTRY_DOES_NOT_EXIST");
            assert!(errors[0]["message"].is_string());
            first = false;
        } else {
            assert_eq!((applied, errors.len()), (batch.len(), 0));
        }
        assert!(answer["data"].as_array().is_some_and(|d| {
            d.iter()
                .all(|i| i["exportJobId"] == id && i["status"] != "pending")
        }));
    }
    let counts = c.server.item_updates();
    let want: BTreeMap<(Uuid, Uuid), u32> = oldest
        .items
        .iter()
        .map(|i| ((oldest.id, i.accounting_entry_id), 1))
        .collect();
    assert_eq!(counts, want);
    let live = c.server.export_job(oldest.id).expect("job exists");
    assert!(live.items.iter().all(|i| match i.status {
        ItemStatus::Successful => i.external_id.is_some() && i.exported_at.is_some(),
        ItemStatus::Failed => i.failure_reason_type.as_deref() == Some("account_unknown"),
        _ => false,
    }));
    let (_, failed) = c.get(&items_path, &[("status", "failed")]).await;
    assert!(!ids(&failed).is_empty());

    // Finish; then the job accepts nothing more.
    let (status, _) = event(&c, json!({"jobId": id, "event": "completed_with_errors"})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let done = job(&c, oldest.id).await;
    assert_eq!(done["status"], "completed_with_errors");
    assert!(done["completedAt"].is_string());
    assert_error(
        &c.put(&items_path, &json!([reports[0]])).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "EXPORT_JOB_STATUS_UNPROCESSABLE",
    );
    assert_error(
        &c.get("/v3/export-items", &[("job_id", &id)]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "EXPORT_JOB_STATUS_UNPROCESSABLE",
    );
    for e in ["started", "completed", "failed"] {
        assert_error(
            &event(&c, json!({"jobId": id, "event": e})).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "INVALID_EXPORT_JOB_STATUS_CHANGE",
        );
    }
    // The control data stays readable.
    assert_eq!(c.get(&items_path, &[]).await.0, StatusCode::OK);

    // The next job can start now, named the how-to way, and fail: unreported items are
    // abandoned.
    let next = newest.id.to_string();
    let (status, _) = event(&c, json!({"exportJobId": next, "event": "started"})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, _) = event(
        &c,
        json!({"exportJobId": next, "event": "failed", "failureReason": "ERP is down",
               "failureReasonType": "accounting_system_unreachable"}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let failed = job(&c, newest.id).await;
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["failureReason"], "ERP is down");
    assert_eq!(failed["failureReasonType"], "accounting_system_unreachable");
    let live = c.server.export_job(newest.id).expect("job exists");
    assert!(live.items.iter().all(|i| i.status == ItemStatus::Abandoned));
}

#[tokio::test]
async fn event_bodies_are_checked() {
    let c = Client::start(cfg()).await;
    let ds = c.server.dataset();
    let id = oldest_pending(&ds).id.to_string();
    let other = newest_pending(&ds).id.to_string();
    for bad in [
        json!({"event": "started"}),
        json!({"jobId": id}),
        json!({"jobId": id, "event": "finished"}),
        json!({"jobId": "nope", "event": "started"}),
        json!({"jobId": id, "exportJobId": other, "event": "started"}),
        json!({"jobId": id, "event": "failed", "failureReasonType": "bad_luck"}),
        json!([]),
    ] {
        assert_error(
            &event(&c, bad).await,
            StatusCode::BAD_REQUEST,
            "VALIDATION_FAILED",
        );
    }
    let unknown = Uuid::new_v4().to_string();
    assert_error(
        &event(&c, json!({"jobId": unknown, "event": "started"})).await,
        StatusCode::NOT_FOUND,
        "EXPORT_NOT_FOUND",
    );
    // Both spellings naming the same job are fine.
    let (status, _) = event(
        &c,
        json!({"jobId": id, "exportJobId": id, "event": "started"}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    for path in [
        format!("/v3/export-jobs/{unknown}"),
        format!("/v3/export-jobs/{unknown}/items"),
    ] {
        assert_error(
            &c.get(&path, &[]).await,
            StatusCode::NOT_FOUND,
            "EXPORT_NOT_FOUND",
        );
    }
    assert_error(
        &c.put(&format!("/v3/export-jobs/{unknown}/items"), &json!([]))
            .await,
        StatusCode::NOT_FOUND,
        "EXPORT_NOT_FOUND",
    );
    assert_error(
        &c.get("/v3/export-items", &[("job_id", &unknown)]).await,
        StatusCode::NOT_FOUND,
        "EXPORT_NOT_FOUND",
    );
    assert_error(
        &c.get("/v3/export-jobs/not-a-uuid", &[]).await,
        StatusCode::BAD_REQUEST,
        "PARAMETER_VALIDATION_FAILED",
    );
}

#[tokio::test]
async fn jobs_expire_an_hour_after_their_last_update() {
    let c = Client::start(cfg()).await;
    let ds = c.server.dataset();
    let oldest = oldest_pending(&ds);
    let newest = newest_pending(&ds);
    let id = oldest.id.to_string();
    let items_path = format!("/v3/export-jobs/{id}/items");
    // Seeded long before the mock started, both were touched when it started: an hour each.
    let touched_at_start = job(&c, newest.id).await["lastUpdatedAt"].clone();
    assert_eq!(
        touched_at_start,
        json!(c.server.export_job(newest.id).map(|j| j.last_updated_at))
    );

    // 50 minutes on, both are still pending; claiming one starts its hour again.
    c.server.advance_clock(Duration::from_secs(50 * 60));
    assert_eq!(job(&c, oldest.id).await["status"], "pending");
    let (status, _) = event(&c, json!({"jobId": id, "event": "started"})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    // 20 minutes later the untouched job has expired, the claimed one has not.
    c.server.advance_clock(Duration::from_secs(20 * 60));
    let expired = job(&c, newest.id).await;
    assert_eq!(expired["status"], "failed");
    assert_eq!(expired["failureReasonType"], "job_expired");
    let touched: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(touched_at_start).expect("lastUpdatedAt");
    assert!(newest.created_at < touched);
    assert_eq!(
        expired["expiredAt"],
        json!(touched + chrono::TimeDelta::seconds(3600))
    );
    assert_eq!(job(&c, oldest.id).await["status"], "in_progress");
    // An item update counts as activity.
    let first = json!([{"accountingEntryId": oldest.items[0].accounting_entry_id.to_string(),
                        "status": "successful", "externalId": "JE-1"}]);
    assert_eq!(c.put(&items_path, &first).await.0, StatusCode::OK);
    let touched: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(job(&c, oldest.id).await["lastUpdatedAt"].clone())
            .expect("lastUpdatedAt");
    c.server.advance_clock(Duration::from_secs(59 * 60));
    assert_eq!(job(&c, oldest.id).await["status"], "in_progress");
    c.server.advance_clock(Duration::from_secs(2 * 60));
    let gone = job(&c, oldest.id).await;
    assert_eq!(gone["status"], "failed");
    assert_eq!(gone["failureReasonType"], "job_expired");
    let expired_at: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(gone["expiredAt"].clone()).expect("expiredAt");
    assert_eq!(expired_at, touched + chrono::TimeDelta::seconds(3600));
    // Its items: the reported one stays, the others are abandoned.
    let live = c.server.export_job(oldest.id).expect("job exists");
    assert_eq!(live.items[0].status, ItemStatus::Successful);
    assert!(
        live.items[1..]
            .iter()
            .all(|i| i.status == ItemStatus::Abandoned)
    );
    // Nothing more is accepted.
    assert_error(
        &c.put(&items_path, &first).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "EXPORT_JOB_STATUS_UNPROCESSABLE",
    );
    assert_error(
        &event(&c, json!({"jobId": id, "event": "completed"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "INVALID_EXPORT_JOB_STATUS_CHANGE",
    );
    assert_error(
        &c.get("/v3/export-items", &[("job_id", &id)]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "EXPORT_JOB_STATUS_UNPROCESSABLE",
    );
    let (_, page) = c
        .get("/v3/export-jobs", &[("statuses", "pending,in_progress")])
        .await;
    assert!(ids(&page).is_empty());
}

#[tokio::test]
async fn creating_a_job() {
    let c = Client::start(cfg()).await;
    let ds = c.server.dataset();
    let company = ds.company.id.to_string();
    let live: Vec<String> = ds
        .entries
        .iter()
        .filter(|e| e.deleted_at.is_none())
        .take(3)
        .map(|e| e.id.to_string())
        .collect();
    let employee = ds.employees[0].id.to_string();
    let body = json!({"companyId": company, "accountingEntryIds": live, "employeeId": employee,
                      "isInteractive": false, "options": {"vendorBasedBookkeeping": true}});
    let before = c.server.now();
    let (status, created) = c.post("/v3/export-jobs", &[], &body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let job = &created["data"];
    assert_eq!(job["status"], "pending");
    assert_eq!(job["numberOfItems"], 3);
    assert_eq!(job["createdBy"], employee);
    assert_eq!(job["isInteractive"], false);
    assert_eq!(job["vendorBasedBookkeeping"], true);
    let at: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(job["createdAt"].clone()).expect("createdAt");
    assert!(before <= at && at <= c.server.now());
    assert_eq!(job["lastUpdatedAt"], job["createdAt"]);
    let id = job["id"].as_str().unwrap_or_default();
    let (_, items) = c.get(&format!("/v3/export-jobs/{id}/items"), &[]).await;
    assert_eq!(ids(&items).len(), 3);
    let (_, page) = c.get("/v3/export-jobs", &[("statuses", "pending")]).await;
    assert_eq!(ids(&page).last().map(String::as_str), Some(id));
    // Defaults.
    let minimal = json!({"companyId": company, "accountingEntryIds": [live[0]]});
    let (_, created) = c.post("/v3/export-jobs", &[], &minimal).await;
    assert_eq!(created["data"]["isInteractive"], true);
    assert_eq!(created["data"]["vendorBasedBookkeeping"], false);

    let deleted = ds
        .entries
        .iter()
        .find(|e| e.deleted_at.is_some())
        .map(|e| e.id.to_string())
        .expect("a deleted entry");
    for bad in [
        json!({"accountingEntryIds": [live[0]]}),
        json!({"companyId": company}),
        json!({"companyId": company, "accountingEntryIds": []}),
        json!({"companyId": company, "accountingEntryIds": [Uuid::new_v4().to_string()]}),
        json!({"companyId": company, "accountingEntryIds": [deleted]}),
        json!({"companyId": company, "accountingEntryIds": ["x"]}),
        json!({"companyId": company, "accountingEntryIds": [live[0]], "employeeId": Uuid::new_v4().to_string()}),
    ] {
        assert_error(
            &c.post("/v3/export-jobs", &[], &bad).await,
            StatusCode::BAD_REQUEST,
            "VALIDATION_FAILED",
        );
    }
    let foreign = json!({"companyId": Uuid::new_v4().to_string(), "accountingEntryIds": [live[0]]});
    assert_error(
        &c.post("/v3/export-jobs", &[], &foreign).await,
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
    );
}

#[tokio::test]
async fn each_company_runs_its_own_job() {
    let c = Client::start(MockConfig {
        companies: 2,
        entries: 1200,
        ..cfg()
    })
    .await;
    let ds = c.server.dataset();
    // An organization key must name the company.
    assert_error(
        &c.get("/v3/export-jobs", &[]).await,
        StatusCode::BAD_REQUEST,
        "PARAMETER_VALIDATION_FAILED",
    );
    for company in &ds.companies {
        let job = company.oldest_pending_job().expect("each company has work");
        let cid = company.company.id.to_string();
        let (status, page) = c
            .get(
                "/v3/export-jobs",
                &[("company_id", &cid), ("statuses", "pending")],
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(ids(&page)[0], job.id.to_string());
        let (status, _) = event(&c, json!({"jobId": job.id.to_string(), "event": "started"})).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{cid}");
    }
    let jobs = c.server.export_jobs();
    assert_eq!(
        jobs.iter()
            .filter(|j| j.status == JobStatus::InProgress)
            .count(),
        ds.companies.len()
    );
}

#[tokio::test]
async fn export_paging_bounds_and_scopes() {
    let c = Client::start(cfg()).await;
    let ds = c.server.dataset();
    let id = oldest_pending(&ds).id.to_string();
    let items = format!("/v3/export-jobs/{id}/items");
    for (path, query) in [
        ("/v3/export-jobs", vec![]),
        (items.as_str(), vec![]),
        ("/v3/export-items", vec![("job_id", id.as_str())]),
    ] {
        // The documents allow 0; the mock caps at 100.
        let mut q = query.clone();
        q.push(("limit", "0"));
        let (status, page) = c.get(path, &q).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(ids(&page).len(), 0);
        assert_eq!(page["pagination"]["hasNextPage"], true);
        let (_, page) = c.get(path, &query).await;
        assert_eq!(page["pagination"]["currentRequestPagination"]["limit"], 20);
        for bad in ["101", "-1", "x"] {
            let mut q = query.clone();
            q.push(("limit", bad));
            assert_error(
                &c.get(path, &q).await,
                StatusCode::BAD_REQUEST,
                "PARAMETER_VALIDATION_FAILED",
            );
        }
    }
    assert_error(
        &c.get("/v3/export-items", &[]).await,
        StatusCode::BAD_REQUEST,
        "PARAMETER_VALIDATION_FAILED",
    );

    // A key that may read jobs but not write them or read the payload.
    let reader = Client::start(MockConfig {
        scopes: vec!["export-jobs:read".into()],
        ..cfg()
    })
    .await;
    assert_eq!(reader.get("/v3/export-jobs", &[]).await.0, StatusCode::OK);
    let denied = [
        (
            reader.get("/v3/export-items", &[("job_id", &id)]).await,
            "export-items:read",
        ),
        (
            reader
                .post(
                    "/v3/export-job-events",
                    &[],
                    &json!({"jobId": id, "event": "started"}),
                )
                .await,
            "export-jobs:write",
        ),
        (reader.put(&items, &json!([])).await, "export-jobs:write"),
        (
            reader.post("/v3/export-jobs", &[], &json!({})).await,
            "export-jobs:write",
        ),
    ];
    for (answer, scope) in denied {
        assert_error(&answer, StatusCode::FORBIDDEN, "FORBIDDEN");
        assert_eq!(answer.1["message"], format!("missing scope {scope}"));
    }
    let anonymous = c.with_auth(None);
    assert_error(
        &anonymous.get("/v3/export-jobs", &[]).await,
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
    );
    let wrong = c.with_auth(Some(basic("not-the-key")));
    assert_error(
        &wrong.post("/v3/export-job-events", &[], &json!({})).await,
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
    );
}

/// `GET /v3/export-job-items?accounting_entry_id=`: the entry's item in the latest job that
/// holds it; a new job with the entry takes over; an entry in no job is 404.
#[tokio::test]
async fn the_item_of_an_entry_is_the_one_of_its_latest_job() {
    let c = Client::start(cfg()).await;
    let ds = c.server.dataset();
    let company = ds.company.id.to_string();
    let job = oldest_pending(&ds);
    let entry = job.items[0].accounting_entry_id;
    let latest = ds.companies[0]
        .export_jobs
        .iter()
        .filter(|j| j.items.iter().any(|i| i.accounting_entry_id == entry))
        .max_by_key(|j| j.created_at)
        .map(|j| j.id.to_string())
        .unwrap_or_default();
    let entry = entry.to_string();
    let query = [
        ("company_id", company.as_str()),
        ("accounting_entry_id", entry.as_str()),
    ];
    let (status, item) = c.get("/v3/export-job-items", &query).await;
    assert_eq!(status, StatusCode::OK, "{item}");
    assert_eq!(item["data"]["accountingEntryId"], entry.as_str());
    assert_eq!(item["data"]["exportJobId"], latest.as_str());

    let body = json!({"companyId": company, "accountingEntryIds": [entry]});
    let (status, created) = c.post("/v3/export-jobs", &[], &body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (_, item) = c.get("/v3/export-job-items", &query).await;
    assert_eq!(item["data"]["exportJobId"], created["data"]["id"]);
    assert_eq!(item["data"]["status"], "pending");

    let unknown = [(
        "accounting_entry_id",
        "00000000-0000-4000-8000-000000000001",
    )];
    assert_error(
        &c.get("/v3/export-job-items", &unknown).await,
        StatusCode::NOT_FOUND,
        "EXPORT_ENTRY_NOT_FOUND",
    );
    assert_eq!(
        c.get("/v3/export-job-items", &[]).await.0,
        StatusCode::BAD_REQUEST
    );
}
