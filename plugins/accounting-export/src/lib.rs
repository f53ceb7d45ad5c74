//! `accounting-export`: Pleo's export flow, with a journal in `/out` as the accounting system.
//!
//! # Parameters
//!
//! * `job-id` (optional): export this job instead of looking for one. It must be `pending` or
//!   `in_progress`; a finished job ends the run with "nothing to export".
//!
//! # What it does
//!
//! The steps of Pleo's how-to guides for accounting integrations (`export-jobs:read`,
//! `export-jobs:write`, `export-items:read`):
//!
//! 1. Lists the `in_progress` and `pending` export jobs. An `in_progress` job is resumed
//!    first: an earlier run claimed it and stopped before the end. Otherwise the oldest
//!    `pending` job (by `createdAt`) is claimed with the `started` event. With neither, the run
//!    ends with "nothing to export".
//! 2. Reads the job's items (control data: which entries, which are still to report) and its
//!    export items (the accounting payload).
//! 3. Maps each export item to journal lines (see `journal.rs`). An item that cannot be mapped,
//!    e.g. a line without an account code, is a failed item with Pleo's reason type
//!    (`account_unknown`, `validation_failure`, ...).
//! 4. Writes the job's journal to `/out/journal-<jobId>.csv` and `/out/journal-<jobId>.jsonl`
//!    (every entry of the job exported so far, earlier runs' included), before telling Pleo
//!    anything was exported.
//! 5. Reports each item that is still `pending` (or `in_progress`) as `successful`, with the
//!    journal id `JE-<accountingEntryId>` as `externalId`, or `failed` with a reason, at most
//!    100 per call. Items an earlier run reported are left alone.
//! 6. Ends the job with `completed`, or `completed_with_errors` if any item of the job failed.
//!
//! # Errors
//!
//! A failure the job cannot recover from ends it with the `failed` event and a reason: files
//! that cannot be written (`accounting_system_unreachable`), contra accounts Pleo says are not
//! configured (`missing_configuration`). Anything else, e.g. Pleo unavailable or the run's API
//! budget used up, ends the run with an error and leaves the job `in_progress`: the next run
//! resumes it (Pleo expires a job one hour after its last update).

mod job;
mod journal;

use pleo_plugin::export_jobs_write::{self, JobEvent};
use pleo_plugin::types::{JobEventKind, JobStatus};
use pleo_plugin::{
    ExportItem, ExportJob, ExportJobItem, Guest, PleoError, export_items_read, export_jobs_read,
    log, pages, params, progress,
};

use job::{Claim, MAX_BATCH, Payload, Tally, is_outstanding};
use journal::Journal;

const OUT_DIR: &str = "/out";
const PAGE_SIZE: u32 = 100;
/// Failed items logged one by one; the rest only counted.
const LOGGED_FAILURES: usize = 20;

struct AccountingExport;

impl Guest for AccountingExport {
    fn run() -> Result<String, String> {
        progress::report(0, None, "looking for export jobs");
        match find_job()? {
            Found::Job(job, claim) => export(&job, claim),
            Found::Nothing(summary) => {
                log::info(&summary);
                Ok(summary)
            }
        }
    }
}

enum Found {
    Job(Box<ExportJob>, Claim),
    Nothing(String),
}

fn find_job() -> Result<Found, String> {
    if let Some(id) = params::get("job-id").filter(|id| !id.trim().is_empty()) {
        let id = id.trim();
        let json = export_jobs_read::get_export_job(id)
            .map_err(|e| format!("reading export job {id}: {e}"))?;
        let job: ExportJob = serde_json::from_str(&json)
            .map_err(|e| format!("unexpected export job from Pleo: {e}"))?;
        return Ok(match job::claim_for(&job) {
            Ok(claim) => Found::Job(Box::new(job), claim),
            Err(summary) => Found::Nothing(summary),
        });
    }
    let statuses = [JobStatus::InProgress, JobStatus::Pending];
    let jobs: Vec<ExportJob> = pages(PAGE_SIZE, |page| {
        export_jobs_read::list_export_jobs(&statuses, page)
    })
    .items()
    .collect::<Result<_, _>>()
    .map_err(|e| format!("listing export jobs: {e}"))?;
    Ok(match job::choose_job(&jobs) {
        Some((job, claim)) => Found::Job(Box::new(job.clone()), claim),
        None => Found::Nothing("nothing to export".to_owned()),
    })
}

fn export(job: &ExportJob, claim: Claim) -> Result<String, String> {
    let id = job.id.as_str();
    match claim {
        Claim::Start => {
            post_event_checked(id, JobEventKind::Started).map_err(|e| {
                let why = match e {
                    PleoError::Conflict(_) => " (another export job is in progress)",
                    PleoError::InvalidRequest(_) => " (the job is no longer pending)",
                    _ => "",
                };
                format!("claiming export job {id}: {e}{why}")
            })?;
            log::info(format!(
                "claimed export job {id} (created {})",
                job.created_at
            ));
        }
        Claim::Resume => log::info(format!(
            "resuming export job {id}: it is in progress, claimed by an earlier run"
        )),
    }

    progress::report(0, Some(job.number_of_items), "reading job items");
    let items: Vec<ExportJobItem> = pages(PAGE_SIZE, |page| {
        export_jobs_read::list_export_job_items(id, None, page)
    })
    .items()
    .collect::<Result<_, _>>()
    .map_err(|e| interrupted(id, format!("reading the items of job {id}: {e}"), None))?;
    let outstanding = items.iter().filter(|i| is_outstanding(i)).count();
    let mut tally = Tally::default();
    tally.add_earlier(&items);
    log::info(format!(
        "job {id}: {} items, {outstanding} to report",
        items.len()
    ));

    let mut files = String::new();
    let mut updates = Vec::new();
    if outstanding > 0 {
        progress::report(0, Some(outstanding as u64), "reading export items");
        let payload = read_export_items(id)?;
        let plan = job::plan(id, &items, &payload);
        for (entry, failure) in plan.failures.iter().take(LOGGED_FAILURES) {
            log::warn(format!(
                "entry {entry} not exported ({}): {}",
                failure.reason_type, failure.reason
            ));
        }
        if plan.failures.len() > LOGGED_FAILURES {
            log::warn(format!(
                "{} more entries not exported",
                plan.failures.len() - LOGGED_FAILURES
            ));
        }
        for (entry, failure) in &plan.lost {
            log::warn(format!(
                "entry {entry}, exported by an earlier run, is left out of the rewritten journal: {}",
                failure.reason
            ));
        }
        if plan.unknown > 0 {
            log::warn(format!(
                "{} export items are not items of job {id}; ignored",
                plan.unknown
            ));
        }
        let journal = plan.journal;
        updates = plan.updates;

        let names = write_journal(id, &journal)
            .map_err(|cause| fail_job(id, "accounting_system_unreachable", cause))?;
        log::info(format!(
            "wrote {} ({} entries, {} lines)",
            names.join(", "),
            journal.entries(),
            journal.lines().count()
        ));
        files = format!("; wrote {}", names.join(", "));
    }

    report_items(id, &updates, &mut tally)?;

    let event = tally.final_event();
    post_event_checked(id, event).map_err(|e| {
        let cause = format!("finishing job {id} as {}: {e}", job::event_name(event));
        interrupted(id, cause, Some(&e))
    })?;
    log::info(format!("job {id} {}", job::event_name(event)));
    progress::report(
        updates.len() as u64,
        Some(updates.len() as u64),
        job::event_name(event),
    );
    let done = if outstanding == 0 {
        format!("nothing left to report, {}", tally.describe())
    } else {
        tally.describe()
    };
    Ok(format!(
        "job {id}: {done}; {}{files}",
        job::event_name(event)
    ))
}

/// The job's export items by accounting entry.
fn read_export_items(id: &str) -> Result<Payload, String> {
    let mut payload = Payload::new();
    let items = pages::<serde_json::Value, _>(PAGE_SIZE, |page| {
        export_items_read::list_export_items(id, page)
    })
    .items();
    for value in items {
        let value = value.map_err(|e| match &e {
            pleo_plugin::Error::Pleo(PleoError::InvalidRequest(api))
                if api.code == "MISSING_CONTRA_ACCOUNTS" =>
            {
                fail_job(
                    id,
                    "missing_configuration",
                    format!("reading export items: {e}"),
                )
            }
            pleo_plugin::Error::Pleo(pleo) => interrupted(
                id,
                format!("reading the export items of job {id}: {e}"),
                Some(pleo),
            ),
            _ => interrupted(
                id,
                format!("reading the export items of job {id}: {e}"),
                None,
            ),
        })?;
        let Some(entry) = value
            .get("accountingEntryId")
            .and_then(|v| v.as_str())
            .map(str::to_owned)
        else {
            log::warn("an export item without accountingEntryId; ignored");
            continue;
        };
        let decoded = serde_json::from_value::<ExportItem>(value).map_err(|e| e.to_string());
        payload.insert(entry, decoded);
    }
    Ok(payload)
}

/// Writes the journal's CSV and JSON Lines files; each appears whole or not at all.
fn write_journal(id: &str, journal: &Journal) -> Result<Vec<String>, String> {
    let files = [
        (format!("journal-{id}.csv"), journal.csv()),
        (format!("journal-{id}.jsonl"), journal.jsonl()),
    ];
    let mut names = Vec::new();
    for (name, contents) in files {
        let path = format!("{OUT_DIR}/{name}");
        let partial = format!("{OUT_DIR}/.{name}.partial");
        std::fs::write(&partial, contents)
            .and_then(|()| std::fs::rename(&partial, &path))
            .map_err(|e| {
                let _ = std::fs::remove_file(&partial);
                format!("writing {path}: {e}")
            })?;
        names.push(name);
    }
    Ok(names)
}

/// Reports the updates, at most [`MAX_BATCH`] per call, and counts them into `tally`.
fn report_items(
    id: &str,
    updates: &[export_jobs_write::ItemUpdate],
    tally: &mut Tally,
) -> Result<(), String> {
    let total = updates.len() as u64;
    let mut done = 0;
    for batch in updates.chunks(MAX_BATCH) {
        let answer = export_jobs_write::update_export_job_items(id, batch).map_err(|e| {
            interrupted(
                id,
                format!("reporting the items of job {id}: {e}"),
                Some(&e),
            )
        })?;
        let refused = job::update_errors(&answer).map_err(|e| {
            interrupted(
                id,
                format!("unexpected answer to the item updates: {e}"),
                None,
            )
        })?;
        for error in &refused {
            log::warn(format!(
                "Pleo refused the update of entry {}: {} {}",
                error.accounting_entry_id, error.kind, error.message
            ));
        }
        for update in batch {
            if refused
                .iter()
                .any(|e| e.accounting_entry_id == update.accounting_entry_id)
            {
                tally.refused += 1;
            } else if update.status == pleo_plugin::types::ItemStatus::Successful {
                tally.successful += 1;
            } else {
                tally.failed += 1;
            }
        }
        done += batch.len() as u64;
        progress::report(
            done,
            Some(total),
            format!("reported {done} of {total} items"),
        );
    }
    Ok(())
}

fn post_event(
    id: &str,
    event: JobEventKind,
    failure: Option<(&str, &str)>,
) -> Result<(), PleoError> {
    export_jobs_write::post_export_job_event(&JobEvent {
        job_id: id.to_owned(),
        event,
        failure_reason: failure.map(|(_, reason)| reason.to_owned()),
        failure_reason_type: failure.map(|(kind, _)| kind.to_owned()),
    })
}

/// Posts an event; a refused transition is fine if the job is already where the event leads.
/// The host retries events whose answer was lost, and a retry of one that was applied meets
/// 422 `INVALID_EXPORT_JOB_STATUS_CHANGE`.
fn post_event_checked(id: &str, event: JobEventKind) -> Result<(), PleoError> {
    let refused = match post_event(id, event, None) {
        Ok(()) => return Ok(()),
        Err(PleoError::InvalidRequest(api)) if api.code == "INVALID_EXPORT_JOB_STATUS_CHANGE" => {
            PleoError::InvalidRequest(api)
        }
        Err(e) => return Err(e),
    };
    let status = export_jobs_read::get_export_job(id)
        .ok()
        .and_then(|json| serde_json::from_str::<ExportJob>(&json).ok())
        .map(|job| job.status);
    if status.as_deref() == Some(job::status_after(event)) {
        log::warn(format!(
            "job {id} is already {}; the {} event had been applied",
            job::status_after(event),
            job::event_name(event)
        ));
        return Ok(());
    }
    Err(refused)
}

/// Ends the job with the `failed` event; returns the run's error message.
fn fail_job(id: &str, reason_type: &str, cause: String) -> String {
    log::error(format!("export job {id} failed: {cause}"));
    match post_event(id, JobEventKind::Failed, Some((reason_type, &cause))) {
        Ok(()) => format!("{cause}; job {id} reported failed ({reason_type})"),
        Err(e) => format!("{cause}; reporting job {id} failed did not work either: {e}"),
    }
}

/// The run's error message for a failure that leaves the job as it is: in progress, for the
/// next run to resume, unless Pleo says it has ended meanwhile (e.g. expired).
fn interrupted(id: &str, cause: String, error: Option<&PleoError>) -> String {
    let ended = matches!(
        error,
        Some(PleoError::InvalidRequest(api)) if matches!(
            api.code.as_str(),
            "EXPORT_JOB_STATUS_UNPROCESSABLE" | "INVALID_EXPORT_JOB_STATUS_CHANGE"
        )
    );
    if ended {
        format!("{cause}; job {id} has ended (Pleo expires a job an hour after its last update)")
    } else {
        format!("{cause}; job {id} stays in progress, the next run resumes it")
    }
}

/// The parameters, as `pleo-host plugin inspect` shows them.
const PARAMS: &[pleo_plugin::Param] = &[pleo_plugin::Param::string(
    "job-id",
    "export job to do (default: resume the one in progress, else the oldest pending)",
)];

pleo_plugin::export_plugin!(AccountingExport, params = PARAMS);
