//! The export job's bookkeeping: which job to take, which items are still to report, the
//! updates and their batches, and the event that ends the job. No host calls.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use pleo_plugin::export_jobs_write::ItemUpdate;
use pleo_plugin::types::{ItemStatus, JobEventKind};
use pleo_plugin::{
    Date, ExportItem, ExportJob, ExportJobItem, ExportJobItemUpdateError, ExportJobItemUpdates,
};

use crate::journal::{self, ItemFailure, Journal, journal_id};

/// Pleo accepts at most this many item updates per call (413 `EXPORT_JOB_ITEMS_UPDATE_LIMIT`).
pub const MAX_BATCH: usize = 100;

/// Not reported yet: `pending`, or `in_progress` (taken by an export that did not finish).
pub fn is_outstanding(item: &ExportJobItem) -> bool {
    matches!(item.status.as_str(), "pending" | "in_progress")
}

/// How the run gets hold of its job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// `pending`: claim it with the `started` event.
    Start,
    /// `in_progress`: an earlier run claimed it and stopped before the end; carry on.
    Resume,
}

/// The job to export: an `in_progress` one first (recovery after a crash; Pleo allows one
/// per company), else the oldest `pending` one. Jobs in other states are ignored. Oldest is by
/// `createdAt` as an instant, then by id; unreadable timestamps sort last.
pub fn choose_job(jobs: &[ExportJob]) -> Option<(&ExportJob, Claim)> {
    let oldest = |status: &str| {
        jobs.iter()
            .filter(|job| job.status == status)
            .min_by(|a, b| by_age(a, b))
    };
    oldest("in_progress")
        .map(|job| (job, Claim::Resume))
        .or_else(|| oldest("pending").map(|job| (job, Claim::Start)))
}

/// What to do with a job named by the `job-id` parameter, given its status.
pub fn claim_for(job: &ExportJob) -> Result<Claim, String> {
    match job.status.as_str() {
        "pending" => Ok(Claim::Start),
        "in_progress" => Ok(Claim::Resume),
        other => Err(format!("job {} is {other}: nothing to export", job.id)),
    }
}

fn by_age(a: &ExportJob, b: &ExportJob) -> Ordering {
    match (instant(&a.created_at), instant(&b.created_at)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
    .then_with(|| a.id.cmp(&b.id))
}

/// An RFC 3339 timestamp as (seconds since the epoch in UTC, nanoseconds), so that timestamps
/// with other offsets or fractions compare correctly (as strings they do not).
pub fn instant(ts: &str) -> Option<(i64, u32)> {
    let date: Date = ts.get(..10)?.parse().ok()?;
    let rest = ts.get(10..)?.strip_prefix(['T', 't', ' '])?;
    let b = rest.as_bytes();
    let two = |i: usize| -> Option<i64> {
        let d = b.get(i..i + 2)?;
        d.iter()
            .all(u8::is_ascii_digit)
            .then(|| i64::from((d[0] - b'0') * 10 + (d[1] - b'0')))
    };
    if b.get(2) != Some(&b':') || b.get(5) != Some(&b':') {
        return None;
    }
    let (hour, minute, second) = (two(0)?, two(3)?, two(6)?);
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut zone = &rest[8..];
    let mut nanos = 0u32;
    if let Some(fraction) = zone.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        // Nanosecond precision; further digits cannot change the order of real timestamps.
        let kept = &fraction[..digits.min(9)];
        nanos = kept.parse::<u32>().ok()? * 10u32.pow(9 - kept.len() as u32);
        zone = &fraction[digits..];
    }
    let offset_seconds = match zone.as_bytes() {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2]
            if [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit()) =>
        {
            let hours = i64::from((h1 - b'0') * 10 + (h2 - b'0'));
            let minutes = i64::from((m1 - b'0') * 10 + (m2 - b'0'));
            let seconds = (hours * 60 + minutes) * 60;
            if *sign == b'-' { -seconds } else { seconds }
        }
        _ => return None,
    };
    let seconds =
        date.days_since_epoch() * 86_400 + hour * 3600 + minute * 60 + second - offset_seconds;
    Some((seconds, nanos))
}

/// The report for an entry the journal holds.
pub fn successful(accounting_entry_id: &str) -> ItemUpdate {
    ItemUpdate {
        accounting_entry_id: accounting_entry_id.to_owned(),
        status: ItemStatus::Successful,
        // Pleo fills in the time it receives the update.
        exported_at: None,
        external_id: Some(journal_id(accounting_entry_id)),
        external_url: None,
        failure_reason: None,
        failure_reason_type: None,
    }
}

/// The report for an entry that could not be exported.
pub fn failed(accounting_entry_id: &str, failure: &ItemFailure) -> ItemUpdate {
    ItemUpdate {
        accounting_entry_id: accounting_entry_id.to_owned(),
        status: ItemStatus::Failed,
        exported_at: None,
        external_id: None,
        external_url: None,
        failure_reason: Some(failure.reason.clone()),
        failure_reason_type: Some(failure.reason_type.to_owned()),
    }
}

/// The item updates Pleo refused, from its answer to `update-export-job-items`.
pub fn update_errors(answer: &str) -> Result<Vec<ExportJobItemUpdateError>, serde_json::Error> {
    serde_json::from_str::<ExportJobItemUpdates>(answer).map(|answer| answer.errors)
}

/// A job's export items by accounting entry; an item that did not decode is kept as the
/// decoding error, so that it fails alone.
pub type Payload = BTreeMap<String, Result<ExportItem, String>>;

/// What a run does with a job's items.
#[derive(Debug, Default)]
pub struct Plan {
    /// The journal of the job: the entries reported `successful` now and by earlier runs.
    pub journal: Journal,
    /// One update per outstanding item, in the order of the job's items.
    pub updates: Vec<ItemUpdate>,
    /// Outstanding entries reported `failed`, and why.
    pub failures: Vec<(String, ItemFailure)>,
    /// Entries an earlier run exported whose lines cannot be built again.
    pub lost: Vec<(String, ItemFailure)>,
    /// Export items that belong to no item of the job.
    pub unknown: usize,
}

/// Maps every item of the job. Outstanding items get an update: `successful` if their export
/// item maps to journal lines, else `failed`. Items an earlier run reported `successful` go
/// into the journal again, so rewritten files hold the whole job; other reported items are
/// left alone.
pub fn plan(job_id: &str, items: &[ExportJobItem], payload: &Payload) -> Plan {
    let mut plan = Plan::default();
    for item in items {
        let entry = item.accounting_entry_id.as_str();
        let mapped = match payload.get(entry) {
            Some(Ok(export_item)) => journal::map_item(job_id, export_item),
            Some(Err(decode)) => Err(ItemFailure::validation(format!(
                "unexpected export item from Pleo: {decode}"
            ))),
            None => Err(ItemFailure {
                reason_type: "unexpected_failure",
                reason: "Pleo sent no export item for this entry".to_owned(),
            }),
        };
        match (is_outstanding(item), mapped) {
            (true, Ok(lines)) => {
                plan.journal.add(lines);
                plan.updates.push(successful(entry));
            }
            (true, Err(failure)) => {
                plan.updates.push(failed(entry, &failure));
                plan.failures.push((entry.to_owned(), failure));
            }
            (false, Ok(lines)) if item.status == "successful" => plan.journal.add(lines),
            (false, Err(failure)) if item.status == "successful" => {
                plan.lost.push((entry.to_owned(), failure))
            }
            (false, _) => {}
        }
    }
    let of_job: BTreeSet<&str> = items
        .iter()
        .map(|i| i.accounting_entry_id.as_str())
        .collect();
    plan.unknown = payload
        .keys()
        .filter(|entry| !of_job.contains(entry.as_str()))
        .count();
    plan
}

/// Counts of a job's items, for the event that ends it and the run's summary.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Reported `successful` by this run.
    pub successful: u64,
    /// Reported `failed` by this run.
    pub failed: u64,
    /// Reports of this run that Pleo refused (the item stays unreported).
    pub refused: u64,
    /// Reported by an earlier run, by status.
    pub earlier: BTreeMap<String, u64>,
}

impl Tally {
    /// Counts the items an earlier run already reported.
    pub fn add_earlier(&mut self, items: &[ExportJobItem]) {
        for item in items.iter().filter(|i| !is_outstanding(i)) {
            *self.earlier.entry(item.status.clone()).or_default() += 1;
        }
    }

    fn earlier_errors(&self) -> u64 {
        self.earlier
            .iter()
            .filter(|(status, _)| status.as_str() != "successful")
            .map(|(_, n)| n)
            .sum()
    }

    /// `completed` when every item of the job was exported, `completed_with_errors` when any
    /// failed, now or in an earlier run, or a report was refused.
    pub fn final_event(&self) -> JobEventKind {
        if self.failed + self.refused + self.earlier_errors() == 0 {
            JobEventKind::Completed
        } else {
            JobEventKind::CompletedWithErrors
        }
    }

    /// e.g. `12 items exported, 1 failed, 3 reported by an earlier run`.
    pub fn describe(&self) -> String {
        let mut parts = vec![format!("{} items exported", self.successful)];
        if self.failed > 0 {
            parts.push(format!("{} failed", self.failed));
        }
        if self.refused > 0 {
            parts.push(format!("{} refused by Pleo", self.refused));
        }
        let earlier: u64 = self.earlier.values().sum();
        if earlier > 0 {
            parts.push(format!("{earlier} reported by an earlier run"));
        }
        parts.join(", ")
    }
}

/// Pleo's spelling of a job event, for logs and summaries.
pub fn event_name(event: JobEventKind) -> &'static str {
    match event {
        JobEventKind::Started => "started",
        JobEventKind::Failed => "failed",
        JobEventKind::Completed => "completed",
        JobEventKind::CompletedWithErrors => "completed_with_errors",
    }
}

/// The job status an event leads to.
pub fn status_after(event: JobEventKind) -> &'static str {
    match event {
        JobEventKind::Started => "in_progress",
        other => event_name(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: &str, status: &str, created_at: &str) -> ExportJob {
        serde_json::from_value(serde_json::json!({
            "id": id, "companyId": "c", "status": status, "createdAt": created_at,
            "expiresIn": 3600, "isInteractive": true, "numberOfItems": 1,
            "vendorBasedBookkeeping": false,
        }))
        .unwrap()
    }

    fn item(id: &str, status: &str) -> ExportJobItem {
        serde_json::from_value(serde_json::json!({
            "accountingEntryId": id, "exportJobId": "j", "status": status,
        }))
        .unwrap()
    }

    #[test]
    fn takes_in_progress_first_then_oldest_pending() {
        let jobs = vec![
            job("b", "pending", "2025-01-02T10:00:00Z"),
            // Older as an instant, though later as a string.
            job("c", "pending", "2025-01-02T11:30:00+02:00"),
            job("a", "completed", "2024-01-01T00:00:00Z"),
            job("d", "failed", "2024-01-01T00:00:00Z"),
        ];
        let (chosen, claim) = choose_job(&jobs).unwrap();
        assert_eq!((chosen.id.as_str(), claim), ("c", Claim::Start));

        let mut with_running = jobs.clone();
        with_running.push(job("z", "in_progress", "2026-01-01T00:00:00Z"));
        let (chosen, claim) = choose_job(&with_running).unwrap();
        assert_eq!((chosen.id.as_str(), claim), ("z", Claim::Resume));

        // Same instant: by id. Unreadable timestamps last.
        let ties = vec![
            job("y", "pending", "garbage"),
            job("x", "pending", "2025-01-01T00:00:00.000Z"),
            job("w", "pending", "2025-01-01T00:00:00Z"),
        ];
        assert_eq!(choose_job(&ties).unwrap().0.id, "w");
        assert_eq!(choose_job(&ties[..1]).unwrap().0.id, "y");

        let finished = vec![job("a", "completed", "2024-01-01T00:00:00Z")];
        assert_eq!(choose_job(&finished), None);
        assert_eq!(choose_job(&[]), None);
    }

    #[test]
    fn named_job_by_status() {
        assert_eq!(claim_for(&job("j", "pending", "")), Ok(Claim::Start));
        assert_eq!(claim_for(&job("j", "in_progress", "")), Ok(Claim::Resume));
        assert_eq!(
            claim_for(&job("j", "completed", "")),
            Err("job j is completed: nothing to export".into())
        );
    }

    #[test]
    fn instants() {
        assert_eq!(instant("1970-01-01T00:00:00Z"), Some((0, 0)));
        assert_eq!(instant("1970-01-01T01:00:00+01:00"), Some((0, 0)));
        assert_eq!(instant("1969-12-31T23:59:59.5Z"), Some((-1, 500_000_000)));
        assert_eq!(
            instant("2025-01-01T00:00:00.123456789123Z"),
            Some((1_735_689_600, 123_456_789))
        );
        assert!(instant("2025-01-01T00:00:00.1Z") > instant("2025-01-01T00:00:00Z"));
        for bad in [
            "2025-01-01",
            "2025-01-01T00:00:00",
            "2025-01-01T24:00:00Z",
            "2025-01-01T00:00:00.Z",
            "2025-01-01T00:00:00+0100",
            "",
        ] {
            assert_eq!(instant(bad), None, "{bad}");
        }
    }

    #[test]
    fn updates_carry_ids_or_reasons() {
        let ok = successful("e1");
        assert_eq!(ok.status, ItemStatus::Successful);
        assert_eq!(ok.external_id.as_deref(), Some("JE-e1"));
        assert_eq!(ok.failure_reason_type, None);
        let bad = failed(
            "e2",
            &ItemFailure {
                reason_type: "account_unknown",
                reason: "line 1 has no account".into(),
            },
        );
        assert_eq!(bad.status, ItemStatus::Failed);
        assert_eq!(bad.external_id, None);
        assert_eq!(bad.failure_reason_type.as_deref(), Some("account_unknown"));
        assert_eq!(bad.failure_reason.as_deref(), Some("line 1 has no account"));

        let updates: Vec<ItemUpdate> = (0..250).map(|i| successful(&i.to_string())).collect();
        let sizes: Vec<usize> = updates.chunks(MAX_BATCH).map(<[_]>::len).collect();
        assert_eq!(sizes, [100, 100, 50]);
    }

    #[test]
    fn reads_refused_updates() {
        let answer = r#"{"data":[{"accountingEntryId":"e1","exportJobId":"j","status":"successful"}],
            "errors":[{"accountingEntryId":"e2","type":"ACCOUNTING_ENTRY_DOES_NOT_EXIST","message":"no"}]}"#;
        let refused = update_errors(answer).unwrap();
        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0].accounting_entry_id, "e2");
        assert_eq!(refused[0].kind, "ACCOUNTING_ENTRY_DOES_NOT_EXIST");
        assert_eq!(
            update_errors(r#"{"data":[],"errors":null}"#).unwrap(),
            vec![]
        );
        assert!(update_errors("nonsense").is_err());
    }

    #[test]
    fn final_event_counts_every_item_of_the_job() {
        let mut tally = Tally {
            successful: 5,
            ..Tally::default()
        };
        assert_eq!(tally.final_event(), JobEventKind::Completed);
        assert_eq!(tally.describe(), "5 items exported");

        tally.add_earlier(&[
            item("a", "successful"),
            item("b", "pending"),
            item("c", "in_progress"),
        ]);
        assert_eq!(tally.final_event(), JobEventKind::Completed);
        assert_eq!(
            tally.describe(),
            "5 items exported, 1 reported by an earlier run"
        );

        tally.add_earlier(&[item("d", "failed")]);
        assert_eq!(tally.final_event(), JobEventKind::CompletedWithErrors);

        let failed_now = Tally {
            failed: 1,
            ..Tally::default()
        };
        assert_eq!(failed_now.final_event(), JobEventKind::CompletedWithErrors);
        let refused = Tally {
            successful: 2,
            refused: 1,
            ..Tally::default()
        };
        assert_eq!(refused.final_event(), JobEventKind::CompletedWithErrors);
        assert_eq!(refused.describe(), "2 items exported, 1 refused by Pleo");
        assert_eq!(
            event_name(JobEventKind::CompletedWithErrors),
            "completed_with_errors"
        );
    }

    /// A one-line export item of DKK -12.50 on account `code` (none: no account).
    fn export_item(entry: &str, code: Option<&str>) -> ExportItem {
        let money = serde_json::json!({
            "inWalletCurrency": {"currency": "DKK", "value": -1250},
            "inSupplierCurrency": {"currency": "DKK", "value": -1250},
        });
        let account = code.map(|c| serde_json::json!({"id": "a", "name": "Travel", "code": c}));
        serde_json::from_value(serde_json::json!({
            "_links": {}, "accountingEntryId": entry, "companyId": "c", "type": "card_purchase",
            "date": "2025-01-02T10:00:00Z", "amount": money,
            "accountingEntryLines": [{"accountingEntryLineId": "l", "lineAmount": money,
                                      "netAmount": money, "account": account}],
            "additionalInformation": {"reconciliationId": "B-1"},
        }))
        .unwrap()
    }

    #[test]
    fn plans_updates_for_outstanding_items_and_keeps_earlier_exports() {
        let items = [
            item("new-ok", "pending"),
            item("new-bad", "pending"),
            item("taken", "in_progress"),
            item("done", "successful"),
            item("failed-before", "failed"),
            item("missing", "pending"),
            item("garbled", "pending"),
        ];
        let mut payload = Payload::new();
        for (entry, code) in [
            ("new-ok", Some("4010")),
            ("new-bad", None),
            ("taken", Some("4010")),
            ("done", Some("4020")),
            ("failed-before", None),
            ("stray", Some("1")),
        ] {
            payload.insert(entry.to_owned(), Ok(export_item(entry, code)));
        }
        payload.insert("garbled".to_owned(), Err("missing field `date`".to_owned()));

        let plan = plan("j1", &items, &payload);
        let updates: Vec<(&str, ItemStatus, Option<&str>)> = plan
            .updates
            .iter()
            .map(|u| {
                let detail = u
                    .external_id
                    .as_deref()
                    .or(u.failure_reason_type.as_deref());
                (u.accounting_entry_id.as_str(), u.status, detail)
            })
            .collect();
        assert_eq!(
            updates,
            [
                ("new-ok", ItemStatus::Successful, Some("JE-new-ok")),
                ("new-bad", ItemStatus::Failed, Some("account_unknown")),
                ("taken", ItemStatus::Successful, Some("JE-taken")),
                ("missing", ItemStatus::Failed, Some("unexpected_failure")),
                ("garbled", ItemStatus::Failed, Some("validation_failure")),
            ]
        );
        let failed: Vec<&str> = plan.failures.iter().map(|(e, _)| e.as_str()).collect();
        assert_eq!(failed, ["new-bad", "missing", "garbled"]);
        // The journal holds this run's exports and the earlier one, not the failures.
        let mut in_journal: Vec<&str> = plan
            .journal
            .lines()
            .map(|l| l.accounting_entry_id.as_str())
            .collect();
        in_journal.sort_unstable();
        assert_eq!(in_journal, ["done", "new-ok", "taken"]);
        assert!(plan.lost.is_empty());
        assert_eq!(plan.unknown, 1);

        // An earlier export whose export item is gone cannot be written again: reported, not
        // reported to Pleo again.
        payload.remove("done");
        let plan = super::plan("j1", &items, &payload);
        assert_eq!(plan.lost.len(), 1);
        assert_eq!(plan.lost[0].0, "done");
        assert_eq!(plan.updates.len(), 5);
    }

    #[test]
    fn outstanding_items() {
        assert!(is_outstanding(&item("a", "pending")));
        assert!(is_outstanding(&item("a", "in_progress")));
        for status in ["successful", "failed", "abandoned"] {
            assert!(!is_outstanding(&item("a", status)), "{status}");
        }
    }
}
