//! `pleo-host apply FILE`: sends exactly the writes of a plan (see `plan`), in order, through
//! the session's client (rate limit, retries), with a durable journal in the state database.
//!
//! Before any write it refuses a plan that was edited (checksum), made for another
//! environment, company or key, or whose objects changed since it was made (`--allow-stale`
//! to proceed). Each write goes planned → sent → done (with the object id) or failed (with
//! Pleo's error), each step committed before the next, so a run killed at any point resumes:
//! done writes are skipped, and a write that was sent but whose answer never came is looked up
//! by its natural key (`externalId` or `code`) before it is sent again. Placeholder ids of the
//! plan are replaced by the ids earlier creates got.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde_json::{Value, json};

use crate::error::{ExitCode, Failure};
use crate::plan::{PlanFile, PlannedWrite};
use crate::pleo::{ApiError, ApiRequest, PleoClient};
use crate::session::Session;

/// How often one write is sent again when its answer is lost and it is not found in Pleo.
const MAX_SENDS: i64 = 5;

/// A write's place in the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub state: String,
    pub attempts: i64,
    pub object_id: Option<String>,
    pub error: Option<String>,
}

/// A plan checked and ready to send.
pub struct Checked {
    pub plan: PlanFile,
    /// Journal entries of an earlier apply, by write (empty: never applied).
    pub journal: Vec<Option<Entry>>,
    /// Objects that changed since the plan was made (shown, and allowed with `--allow-stale`).
    pub stale: Vec<String>,
}

impl Checked {
    pub fn done(&self) -> usize {
        self.journal
            .iter()
            .filter(|e| e.as_ref().is_some_and(|e| e.state == "done"))
            .count()
    }
}

/// What an apply did.
#[derive(Debug, Default, Serialize)]
pub struct ApplyReport {
    pub plan_id: String,
    pub writes: usize,
    /// Done by an earlier apply, skipped now.
    pub skipped: usize,
    /// Sent now and answered.
    pub sent: usize,
    /// Found already made in Pleo after a lost answer, not sent again (a delete: its repeat
    /// found the object gone).
    pub reconciled: usize,
    /// Sends that were repeats of a write whose answer was lost.
    pub resent: usize,
    pub elapsed_ms: f64,
}

fn refused(message: impl Into<String>) -> Failure {
    Failure::new(ExitCode::PlanRefused, message)
}

fn db_failure(e: rusqlite::Error) -> Failure {
    Failure::new(ExitCode::Internal, format!("state database: {e}"))
}

/// Reads a plan file; a missing, unreadable or malformed one is a usage error.
pub fn read_plan(path: &std::path::Path) -> Result<PlanFile, Failure> {
    let text = std::fs::read(path).map_err(|e| {
        Failure::new(
            ExitCode::Usage,
            format!(
                "cannot read plan {}: {}",
                path.display(),
                crate::config::io_cause(&e)
            ),
        )
        .hint("make one with `pleo-host run PLUGIN --plan FILE`")
    })?;
    let text = String::from_utf8(text).map_err(|_| {
        Failure::new(
            ExitCode::Usage,
            format!("{} is not a plan file (not UTF-8 text)", path.display()),
        )
    })?;
    PlanFile::parse(&text).map_err(|cause| {
        Failure::new(ExitCode::Usage, format!("{}: {cause}", path.display()))
            .hint("make one with `pleo-host run PLUGIN --plan FILE`")
    })
}

/// The journal of a plan, one entry per write (`None`: never applied).
pub fn journal(conn: &Connection, plan: &PlanFile) -> Result<Vec<Option<Entry>>, Failure> {
    let mut entries = vec![None; plan.writes.len()];
    let mut stmt = conn
        .prepare(
            "SELECT seq, state, attempts, object_id, error FROM plan_writes WHERE plan_id = ?1",
        )
        .map_err(db_failure)?;
    let rows = stmt
        .query_map(params![plan.id], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                Entry {
                    state: row.get(1)?,
                    attempts: row.get(2)?,
                    object_id: row.get(3)?,
                    error: row.get(4)?,
                },
            ))
        })
        .map_err(db_failure)?;
    for row in rows {
        let (seq, entry) = row.map_err(db_failure)?;
        if let Some(slot) = entries.get_mut(seq as usize) {
            *slot = Some(entry);
        }
    }
    Ok(entries)
}

/// Checks a plan against the session, the journal and Pleo, before any write.
pub async fn check(session: &Session, plan: PlanFile) -> Result<Checked, Failure> {
    let hint = "make a new plan with `pleo-host run PLUGIN --plan FILE` and review it";
    if !plan.is_intact() {
        return Err(refused(format!(
            "plan {} was changed after it was written (its checksum does not match)",
            plan.id
        ))
        .hint(hint));
    }
    let environment = session.config().environment.to_string();
    if plan.context.environment != environment {
        return Err(refused(format!(
            "plan {} was made for environment {}, this is {environment}",
            plan.id, plan.context.environment
        ))
        .hint(hint));
    }
    if plan.context.company_id != session.company_id() {
        return Err(refused(format!(
            "plan {} was made for company {}, this config acts for {}",
            plan.id,
            plan.context.company_id,
            session.company_id()
        ))
        .hint(hint));
    }
    if plan.context.key_company_id.as_deref() != session.key_company() {
        return Err(refused(format!(
            "plan {} was made with a key of company {}, this key is of {}",
            plan.id,
            plan.context
                .key_company_id
                .as_deref()
                .unwrap_or("(an organisation)"),
            session.key_company().unwrap_or("(an organisation)")
        ))
        .hint(hint));
    }
    let db = session.state_db()?;
    let journal = {
        let conn = db.lock().unwrap_or_else(|e| e.into_inner());
        let stored: Option<String> = conn
            .query_row(
                "SELECT checksum FROM plans WHERE id = ?1",
                params![plan.id],
                |r| r.get(0),
            )
            .optional()
            .map_err(db_failure)?;
        if stored.is_some_and(|c| c != plan.checksum) {
            return Err(refused(format!(
                "another plan with id {} was applied before",
                plan.id
            ))
            .hint(hint));
        }
        journal(&conn, &plan)?
    };
    let stale = stale_objects(session.client(), &plan, &journal).await?;
    Ok(Checked {
        plan,
        journal,
        stale,
    })
}

/// Objects that changed since the plan was made: the first write on each object that no
/// apply has touched yet is compared with the object's state now.
async fn stale_objects(
    client: &PleoClient,
    plan: &PlanFile,
    journal: &[Option<Entry>],
) -> Result<Vec<String>, Failure> {
    let touched: std::collections::HashSet<&str> = plan
        .writes
        .iter()
        .zip(journal)
        .filter(|(_, e)| e.as_ref().is_some_and(|e| e.state != "planned"))
        .flat_map(|(w, _)| w.target.iter().chain(&w.targets))
        .map(|t| t.id.as_str())
        .collect();
    let mut stale = Vec::new();
    for w in &plan.writes {
        // One write's objects with their state before: its target, or each of a bulk write's.
        let objects: Vec<(&Value, &crate::plan::PlannedTarget)> = match (&w.before, &w.target) {
            (Some(before), Some(target)) => vec![(before, target)],
            (Some(Value::Array(befores)), None) => befores.iter().zip(&w.targets).collect(),
            _ => Vec::new(),
        };
        for (before, target) in objects {
            if before.is_null() {
                continue;
            }
            let Some(get) = &target.get else { continue };
            if touched.contains(target.id.as_str()) {
                continue;
            }
            let now = client.get_object(&ApiRequest::get(get.clone())).await;
            let changed = match now {
                Ok(text) => serde_json::from_str::<Value>(&text).ok().as_ref() != Some(before),
                Err(ApiError::Status { status: 404, .. }) => true,
                Err(e) => {
                    return Err(Failure::new(
                        ExitCode::PleoApi,
                        format!("cannot read {} {} to check it: {e}", target.kind, target.id),
                    )
                    .hint("check the network and Pleo's status, then apply again"));
                }
            };
            if changed {
                // A bulk write names which of its objects changed.
                let which = if w.targets.is_empty() {
                    String::new()
                } else {
                    format!(" ({} {})", target.kind, target.id)
                };
                stale.push(format!(
                    "#{} {}: changed in Pleo since the plan was made{which}",
                    w.seq + 1,
                    crate::plan::describe(w)
                ));
            }
        }
    }
    Ok(stale)
}

#[derive(Serialize)]
struct ApplyRecord<'a> {
    record: &'static str,
    time: String,
    plan_id: &'a str,
    plugin: &'a str,
    sha256: &'a str,
    company: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    seq: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    interface: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    function: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    method: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_type: Option<String>,
    outcome: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    object_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    latency_ms: Option<f64>,
}

/// Sends the plan's writes that are not done, in order, keeping the journal.
pub async fn apply(session: &Session, checked: Checked) -> Result<ApplyReport, Failure> {
    let started = Instant::now();
    let plan = &checked.plan;
    let db = session.state_db()?;
    register(&db, plan)?;
    let audit = session.audit_log().clone();
    let record = |seq: Option<&PlannedWrite>,
                  outcome: &str,
                  status: Option<u16>,
                  error_type: Option<String>,
                  object_id: Option<&str>,
                  latency: Option<f64>| {
        audit.write(&ApplyRecord {
            record: if seq.is_some() {
                "apply-write"
            } else {
                "apply"
            },
            time: crate::statedb::now(),
            plan_id: &plan.id,
            plugin: &plan.context.plugin,
            sha256: &plan.context.plugin_sha256,
            company: &plan.context.company_id,
            seq: seq.map(|w| w.seq),
            interface: seq.map(|w| w.interface.as_str()),
            function: seq.map(|w| w.function.as_str()),
            method: seq.map(|w| w.request.method.as_str()),
            status,
            error_type,
            outcome,
            object_id,
            latency_ms: latency,
        });
    };
    record(None, "started", None, None, None, None);
    audit.flush();

    let mut report = ApplyReport {
        plan_id: plan.id.clone(),
        writes: plan.writes.len(),
        ..ApplyReport::default()
    };
    // Real ids of the placeholders of writes done so far.
    let mut ids: HashMap<String, String> = HashMap::new();
    for (w, entry) in plan.writes.iter().zip(&checked.journal) {
        if let Some(entry) = entry.as_ref().filter(|e| e.state == "done") {
            learn(&mut ids, w, entry.object_id.as_deref());
        }
    }
    let client = session.client().for_run(None);
    for (w, entry) in plan.writes.iter().zip(&checked.journal) {
        let state = entry.as_ref().map_or("planned", |e| e.state.as_str());
        if state == "done" {
            report.skipped += 1;
            continue;
        }
        let request = crate::plan::resolve(&w.request, &ids);
        let mut req = crate::plan::to_api_request(&request)
            .map_err(|cause| refused(format!("plan {} write #{}: {cause}", plan.id, w.seq + 1)))?;
        // Apply repeats a delete itself rather than the client: a 404 to its own repeat then
        // says that an earlier attempt made it (see below).
        if w.action == "delete" {
            req.idempotent = false;
        }
        // Sent before, answer never recorded: it may have been made. Look before sending again.
        let done_so_far = report.skipped + report.sent + report.reconciled;
        if state != "planned"
            && let Some(id) = find_existing(&client, w, &request)
                .await
                .map_err(|e| lookup_failed(session, plan, w, &e, done_so_far))?
        {
            mark(&db, plan, w, "done", Some(&id), None)?;
            learn(&mut ids, w, Some(&id));
            record(Some(w), "reconciled", None, None, Some(&id), None);
            report.reconciled += 1;
            continue;
        }
        let mut attempts = entry.as_ref().map_or(0, |e| e.attempts);
        loop {
            attempts += 1;
            if attempts > 1 {
                report.resent += 1;
            }
            mark(&db, plan, w, "sent", None, None)?;
            let sent = Instant::now();
            let answer = match (client.exchange(&req).await, &w.upload) {
                (Ok(reply), Some(upload)) => upload_planned_file(&client, upload, reply).await,
                (answer, _) => answer,
            };
            let latency = Some(sent.elapsed().as_secs_f64() * 1e3);
            match answer {
                Ok(reply) => {
                    let id = object_id(w, &ids, &reply.body);
                    mark(&db, plan, w, "done", id.as_deref(), None)?;
                    learn(&mut ids, w, id.as_deref());
                    record(
                        Some(w),
                        "done",
                        Some(reply.status),
                        None,
                        id.as_deref(),
                        latency,
                    );
                    report.sent += 1;
                    break;
                }
                Err(e) => {
                    let (status, code) = match &e {
                        ApiError::Status { status, code, .. } => {
                            (Some(*status), Some(code.clone()))
                        }
                        _ => (None, None),
                    };
                    // A delete sent before (by this apply or one interrupted) whose answer was
                    // lost: a 404 now means it was made (deleted objects stay deleted).
                    if w.action == "delete" && status == Some(404) && attempts > 1 {
                        mark(&db, plan, w, "done", None, None)?;
                        record(Some(w), "reconciled", status, code, None, latency);
                        report.reconciled += 1;
                        break;
                    }
                    // The write may have been made although its answer was lost (a dropped
                    // connection, a 5xx after the fact), or made by an earlier attempt (409).
                    let maybe_made = matches!(&e, ApiError::Unreachable(_))
                        || matches!(status, Some(409) | Some(500..));
                    let done_so_far = report.skipped + report.sent + report.reconciled;
                    if maybe_made
                        && let Some(id) = find_existing(&client, w, &request)
                            .await
                            .map_err(|e| lookup_failed(session, plan, w, &e, done_so_far))?
                    {
                        mark(&db, plan, w, "done", Some(&id), None)?;
                        learn(&mut ids, w, Some(&id));
                        record(Some(w), "reconciled", status, code, Some(&id), latency);
                        report.reconciled += 1;
                        break;
                    }
                    if maybe_made && status != Some(409) && attempts < MAX_SENDS {
                        record(Some(w), "retry", status, code, None, latency);
                        continue;
                    }
                    let cause = session.redactor().redact(&e.to_string());
                    mark(&db, plan, w, "failed", None, Some(&cause))?;
                    record(Some(w), "failed", status, code, None, latency);
                    audit.flush();
                    return Err(Failure::new(
                        ExitCode::PleoApi,
                        format!(
                            "write #{} of plan {} failed: {} ({} of {} writes done)",
                            w.seq + 1,
                            plan.id,
                            crate::terminal::line(&cause),
                            report.skipped + report.sent + report.reconciled,
                            plan.writes.len()
                        ),
                    )
                    .hint("fix the cause, then run apply again: done writes are skipped"));
                }
            }
        }
    }
    {
        let conn = db.lock().unwrap_or_else(|e| e.into_inner());
        conn.execute(
            "UPDATE plans SET finished_at = ?2 WHERE id = ?1",
            params![plan.id, crate::statedb::now()],
        )
        .map_err(db_failure)?;
    }
    record(None, "finished", None, None, None, None);
    audit.flush();
    report.elapsed_ms = started.elapsed().as_secs_f64() * 1e3;
    Ok(report)
}

/// The second half of an `upload-import-csv` write: Pleo answered the planned request with a
/// presigned URL, and the planned file (checked against its SHA-256) goes there, without the
/// key (see `pleo::upload`). A failed upload fails the write like a failed answer.
async fn upload_planned_file(
    client: &PleoClient,
    upload: &crate::plan::PlannedUpload,
    reply: crate::pleo::Reply,
) -> Result<crate::pleo::Reply, ApiError> {
    use crate::pleo::upload;
    let csv = upload.file().map_err(ApiError::Decode)?;
    if csv.len() as u64 > crate::limits::MAX_UPLOAD_BYTES {
        return Err(ApiError::Decode(format!(
            "the planned file is over the upload limit of {} MiB",
            crate::limits::MAX_UPLOAD_BYTES >> 20
        )));
    }
    let data = crate::pleo::decode_object(&reply.body)?;
    upload::send(client, &data, csv).await?;
    Ok(reply)
}

/// Adds the plan and its writes to the journal, once.
fn register(db: &Arc<Mutex<Connection>>, plan: &PlanFile) -> Result<(), Failure> {
    let mut conn = db.lock().unwrap_or_else(|e| e.into_inner());
    let tx = conn.transaction().map_err(db_failure)?;
    let now = crate::statedb::now();
    let inserted = tx
        .execute(
            "INSERT OR IGNORE INTO plans (id, checksum, plugin, plugin_sha256, environment,
                company_id, writes, planned_at, first_applied_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                plan.id,
                plan.checksum,
                plan.context.plugin,
                plan.context.plugin_sha256,
                plan.context.environment,
                plan.context.company_id,
                plan.writes.len() as i64,
                plan.context.created_at,
                now
            ],
        )
        .map_err(db_failure)?;
    if inserted == 1 {
        let mut stmt = tx
            .prepare(
                "INSERT INTO plan_writes (plan_id, seq, state, updated_at)
                 VALUES (?1, ?2, 'planned', ?3)",
            )
            .map_err(db_failure)?;
        for w in &plan.writes {
            stmt.execute(params![plan.id, w.seq as i64, now])
                .map_err(db_failure)?;
        }
    }
    drop_stmt_then_commit(tx)
}

fn drop_stmt_then_commit(tx: rusqlite::Transaction<'_>) -> Result<(), Failure> {
    tx.commit().map_err(db_failure)
}

/// Moves a write to `state`, committed before the function returns.
fn mark(
    db: &Arc<Mutex<Connection>>,
    plan: &PlanFile,
    w: &PlannedWrite,
    state: &str,
    object_id: Option<&str>,
    error: Option<&str>,
) -> Result<(), Failure> {
    let conn = db.lock().unwrap_or_else(|e| e.into_inner());
    conn.execute(
        "UPDATE plan_writes SET state = ?3,
            attempts = attempts + (?3 = 'sent'),
            object_id = coalesce(?4, object_id), error = ?5, updated_at = ?6
         WHERE plan_id = ?1 AND seq = ?2",
        params![
            plan.id,
            w.seq as i64,
            state,
            object_id,
            error,
            crate::statedb::now()
        ],
    )
    .map_err(db_failure)?;
    Ok(())
}

/// Remembers the real ids of a done write's placeholders (a batch's are comma-separated).
fn learn(ids: &mut HashMap<String, String>, w: &PlannedWrite, object_id: Option<&str>) {
    let Some(object_id) = object_id else { return };
    for (placeholder, id) in w.placeholders.iter().zip(object_id.split(',')) {
        ids.insert(placeholder.clone(), id.to_owned());
    }
}

/// The id of what a write made or changed, from Pleo's answer or its target.
fn object_id(w: &PlannedWrite, ids: &HashMap<String, String>, body: &[u8]) -> Option<String> {
    let answer: Option<Value> = serde_json::from_slice(body).ok();
    let data = answer.as_ref().and_then(|a| a.get("data"));
    if let Some(Value::Array(created)) = data.and_then(|d| d.get("created")) {
        let ids: Vec<&str> = created
            .iter()
            .filter_map(|o| o.get("id").and_then(Value::as_str))
            .collect();
        return Some(ids.join(","));
    }
    if w.action == "create"
        && let Some(id) = data.and_then(|d| d.get("id")).and_then(Value::as_str)
    {
        return Some(id.to_owned());
    }
    w.target
        .as_ref()
        .map(|t| ids.get(&t.id).cloned().unwrap_or_else(|| t.id.clone()))
        .or_else(|| {
            data.and_then(|d| d.get("id"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
}

/// Stops an apply whose lookup of a maybe-made write got no answer: sending the write again
/// could make it twice. Its journal entry stays `sent`, so the next apply looks again.
fn lookup_failed(
    session: &Session,
    plan: &PlanFile,
    w: &PlannedWrite,
    e: &ApiError,
    done: usize,
) -> Failure {
    let cause = session.redactor().redact(&e.to_string());
    Failure::new(
        ExitCode::PleoApi,
        format!(
            "write #{} of plan {} may have been made, and looking it up failed: {} ({} of {} writes done)",
            w.seq + 1,
            plan.id,
            crate::terminal::line(&cause),
            done,
            plan.writes.len()
        ),
    )
    .hint("run apply again: it looks the write up again before sending it")
}

/// Looks a created object up by its natural key, for a create whose answer was lost.
/// `Ok(None)`: Pleo says it is not there (or it is not a create with a natural key): it must
/// be sent. `Err`: no answer from Pleo (network, 429, 5xx), so nobody knows.
async fn find_existing(
    client: &PleoClient,
    w: &PlannedWrite,
    request: &crate::plan::PlannedRequest,
) -> Result<Option<String>, ApiError> {
    if w.action != "create" {
        return Ok(None);
    }
    let Some(key) = w.natural_key.as_ref() else {
        return Ok(None);
    };
    let company = w.company_id.clone();
    let value = key.value.clone();
    let matches = |object: &Value| object.get(&key.field).and_then(Value::as_str) == Some(&value);
    let path = request.path.as_str();
    let lookup = if path == "/v1/vendors" {
        let filter = if key.field == "externalId" {
            "externalIds"
        } else {
            "codes"
        };
        let mut body = serde_json::Map::new();
        body.insert(filter.into(), json!([value]));
        ApiRequest::post("/v1/vendors:search", Value::Object(body)).query("company_id", company)
    } else if path == "/v1/chart-of-accounts" {
        let mut body = json!({"companyId": company, "excludeIfAssignedToCategory": false,
                              "excludeIfAssignedToContraAccount": false});
        if let Value::Object(map) = &mut body {
            map.insert(key.field.clone(), json!(value));
        }
        ApiRequest::post("/v1/chart-of-accounts:search", body)
    } else if path == "/v0/tag-groups" {
        ApiRequest::get("/v0/tag-groups")
            .query("company_id", company)
            .query("include_archived", "true")
    } else if path.starts_with("/v0/tag-groups/") && path.ends_with("/tags") {
        ApiRequest::get(path.to_owned())
            .query("include_archived", "true")
            .query("limit", "100")
    } else if path.starts_with("/v0/tag-groups/") && path.ends_with("/dimensions") {
        // A group's dimensions: one unpaginated list, codes unique in the group.
        ApiRequest::get(path.to_owned())
    } else if path == "/v0/tax-codes" {
        ApiRequest::post("/v0/tax-codes:search", json!({ "code": value }))
            .query("company_id", company)
    } else {
        return Ok(None);
    };
    // Pages of a list walked with `after`. A lookup counts as not found only when Pleo
    // answered: a refusal (4xx but 429) or an answer without the object.
    let mut req = lookup;
    for _ in 0..100 {
        let body = match client.send(&req).await {
            Ok(body) => body,
            Err(ApiError::Status { status, .. })
                if (400..500).contains(&status) && status != 429 =>
            {
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let Ok(answer) = serde_json::from_slice::<Value>(&body) else {
            return Ok(None);
        };
        let Some(items) = answer.get("data").and_then(Value::as_array) else {
            return Ok(None);
        };
        if let Some(found) = items.iter().find(|o| matches(o)) {
            return Ok(found.get("id").and_then(Value::as_str).map(str::to_owned));
        }
        let next = answer
            .pointer("/pagination/endCursor")
            .and_then(Value::as_str)
            .filter(|_| {
                answer
                    .pointer("/pagination/hasNextPage")
                    .and_then(Value::as_bool)
                    == Some(true)
            });
        let Some(next) = next else {
            return Ok(None);
        };
        req.query.retain(|(k, _)| *k != "after");
        req = req.query("after", next.to_owned());
    }
    Ok(None)
}

/// `apply --status`: each write's state.
#[derive(Debug, Serialize)]
pub struct Status {
    pub plan_id: String,
    pub writes: usize,
    pub planned: usize,
    pub sent: usize,
    pub done: usize,
    pub failed: usize,
    pub lines: Vec<String>,
}

pub fn status(conn: &Connection, plan: &PlanFile) -> Result<Status, Failure> {
    let journal = journal(conn, plan)?;
    let mut status = Status {
        plan_id: plan.id.clone(),
        writes: plan.writes.len(),
        planned: 0,
        sent: 0,
        done: 0,
        failed: 0,
        lines: Vec::new(),
    };
    for (w, entry) in plan.writes.iter().zip(&journal) {
        let state = entry.as_ref().map_or("planned", |e| e.state.as_str());
        match state {
            "done" => status.done += 1,
            "sent" => status.sent += 1,
            "failed" => status.failed += 1,
            _ => status.planned += 1,
        }
        let mut line = format!("#{} {state:7} {}", w.seq + 1, crate::plan::describe(w));
        if let Some(id) = entry.as_ref().and_then(|e| e.object_id.as_deref()) {
            line.push_str(&format!(" -> {id}"));
        }
        if let Some(error) = entry.as_ref().and_then(|e| e.error.as_deref()) {
            line.push_str(&format!(": {error}"));
        }
        status.lines.push(line);
    }
    Ok(status)
}

/// Shared handle to the state database (the session's).
pub type Db = Arc<Mutex<Connection>>;
