//! accounting-export against the mock, in-process so the tests can read the mock's export jobs
//! and item updates: every item of a job is reported exactly once, unmappable entries fail with
//! `account_unknown`, an interrupted run is resumed, a fatal error fails the job.
//!
//! Each run exports one job: the mock seeds two pending ones (the older with an entry nobody
//! categorised), so the first run ends `completed_with_errors`, the second exports the next job,
//! and the third finds nothing to export.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use pleo_host::error::{ExitCode, Failure};
use pleo_host::mock::{
    AccountRecord, Dataset, Exchange, ExportJob, ItemStatus, JobStatus, MasterData, MockConfig,
    MockServer, TaxType,
};
use pleo_host::session::{RunOptions, RunReport, Session};
use serde_json::Value;
use uuid::Uuid;

use crate::common::{assert_no_formulas, parse_csv, plugin, read_tree, tempdir, tokio};

const SEED: u64 = 31_337;
/// Pinned so the data is the same whatever the date.
const ANCHOR: &str = "2026-06-30";
const SCOPES: &str = r#"["export-jobs:read", "export-jobs:write", "export-items:read"]"#;
const EVENTS_ROUTE: &str = "/v3/export-job-events";
const ITEMS_ROUTE: &str = "/v3/export-jobs/{job_id}/items";

/// A session on the mock (recording every exchange) with the plugin granted its scopes, plus
/// `extra` config lines.
async fn open(dir: &Path, extra: &str) -> Session {
    let text = format!(
        "state_dir = \"state\"\n[mock]\nseed = {SEED}\nanchor = \"{ANCHOR}\"\nrecord = true\n\
         [plugins.accounting-export]\nscopes = {SCOPES}\n{extra}"
    );
    let config = crate::common::config_in(&text, dir);
    Session::open(config).await.unwrap()
}

async fn run(session: &Session, name: &str, out: &Path) -> Result<RunReport, Failure> {
    let options = RunOptions {
        cancel: None,
        input: None,
        plan: false,
        out_dir: Some(out.to_owned()),
        params: BTreeMap::new(),
        progress: None,
        ..RunOptions::default()
    };
    session.run(name, options).await
}

/// The open jobs, oldest first: the order the plugin must take them in.
fn pending_jobs(mock: &MockServer) -> Vec<ExportJob> {
    let mut jobs: Vec<ExportJob> = mock
        .export_jobs()
        .into_iter()
        .filter(|j| j.status == JobStatus::Pending)
        .collect();
    jobs.sort_by_key(|j| (j.created_at, j.id));
    jobs
}

/// Entries of the job with a line that has no account: the plugin cannot map them.
fn unmappable(mock: &MockServer, job: &ExportJob) -> BTreeSet<Uuid> {
    let data = mock.dataset();
    job.items
        .iter()
        .map(|i| {
            data.entry(i.accounting_entry_id)
                .expect("job entries exist")
        })
        .filter(|e| {
            if e.split_items.is_empty() {
                e.account_id.is_none()
            } else {
                e.split_items.iter().any(|s| s.account_id.is_none())
            }
        })
        .map(|e| e.id)
        .collect()
}

/// Minor units of a major-unit amount ("-1234.56") with `exponent` decimals.
fn minors(amount: &str, exponent: usize) -> i64 {
    let (int, frac) = amount.split_once('.').unwrap_or((amount, ""));
    assert_eq!(frac.len(), exponent, "{amount}: {exponent} decimals");
    let digits: i64 = format!("{}{frac}", int.trim_start_matches('-'))
        .parse()
        .unwrap();
    if int.starts_with('-') {
        -digits
    } else {
        digits
    }
}

fn exponent(currency: &str) -> usize {
    match currency {
        "JPY" | "KRW" | "ISK" | "CLP" | "VND" => 0,
        "BHD" | "KWD" | "OMR" | "JOD" | "TND" => 3,
        _ => 2,
    }
}

/// The job ended as expected, every item was reported exactly once (successful with its
/// journal id, or failed as unmappable), and the journal holds exactly the successful entries,
/// their lines adding up to the entries' wallet amounts.
fn check_exported(mock: &MockServer, job_id: Uuid, out: &Path, failed: &BTreeSet<Uuid>) {
    let job = mock.export_job(job_id).unwrap();
    let expected = if failed.is_empty() {
        JobStatus::Completed
    } else {
        JobStatus::CompletedWithErrors
    };
    assert_eq!(job.status, expected, "job {job_id}");
    let updates = mock.item_updates();
    let mut successful = BTreeSet::new();
    for item in &job.items {
        let entry = item.accounting_entry_id;
        assert_eq!(
            updates.get(&(job_id, entry)),
            Some(&1),
            "entry {entry} reported once"
        );
        if failed.contains(&entry) {
            assert_eq!(item.status, ItemStatus::Failed, "{entry}");
            assert_eq!(item.failure_reason_type.as_deref(), Some("account_unknown"));
            assert!(
                item.failure_reason
                    .as_deref()
                    .is_some_and(|r| !r.is_empty())
            );
            assert_eq!(item.external_id, None);
        } else {
            assert_eq!(item.status, ItemStatus::Successful, "{entry}");
            assert_eq!(item.external_id, Some(format!("JE-{entry}")));
            successful.insert(entry);
        }
    }

    let jsonl = std::fs::read_to_string(out.join(format!("journal-{job_id}.jsonl"))).unwrap();
    let csv = std::fs::read_to_string(out.join(format!("journal-{job_id}.csv"))).unwrap();
    assert!(csv.starts_with("line_id,journal_id,job_id,accounting_entry_id,"));
    assert_no_formulas(&format!("journal-{job_id}.csv"), &csv);
    let data = mock.dataset();
    let master = mock.master_data(job.company_id).unwrap();
    check_csv_rows(&csv, &jsonl);
    let mut sums: BTreeMap<Uuid, (String, i64)> = BTreeMap::new();
    let mut lines = 0;
    for line in jsonl.lines() {
        lines += 1;
        let v: Value = serde_json::from_str(line).unwrap();
        let entry: Uuid = v["accounting_entry_id"].as_str().unwrap().parse().unwrap();
        assert_eq!(v["job_id"], job_id.to_string());
        assert_eq!(v["journal_id"], format!("JE-{entry}"));
        let currency = v["currency"].as_str().unwrap().to_owned();
        let amount_minor = v["amount_minor"].as_i64().unwrap();
        assert_eq!(
            minors(v["amount"].as_str().unwrap(), exponent(&currency)),
            amount_minor,
            "{line}"
        );
        check_line(&data, &master, &v);
        let line_id = v["line_id"].as_str().unwrap();
        assert!(
            csv.contains(&format!("\n{line_id},")),
            "{line_id} in the CSV"
        );
        let slot = sums.entry(entry).or_insert((currency.clone(), 0));
        assert_eq!(slot.0, currency);
        slot.1 += amount_minor;
    }
    assert_eq!(
        csv_records(&csv),
        lines + 1,
        "one CSV record per journal line, plus the header"
    );
    assert_eq!(
        sums.keys().copied().collect::<BTreeSet<_>>(),
        successful,
        "the journal holds the successful entries"
    );
    for (entry, (currency, sum)) in sums {
        let e = data.entry(entry).unwrap();
        let wallet = e.total_bill_value.as_ref().unwrap_or(&e.transaction_value);
        assert_eq!(
            (&currency, sum),
            (&wallet.currency, wallet.minors),
            "{entry}"
        );
    }
}

/// One journal line against the mock's own entry and master data: the line of the entry it
/// names (the n-th split line, or the entry itself), its account's code (or ERP id) and name,
/// the wallet's contra account, the tax code with a tax amount computed here from its rate and
/// kind, the net amount, the supplier amount, and the UTC day of the booking date.
fn check_line(data: &Dataset, master: &MasterData, v: &Value) {
    let entry_id: Uuid = v["accounting_entry_id"].as_str().unwrap().parse().unwrap();
    let e = data.entry(entry_id).unwrap();
    let n: usize = v["line_id"]
        .as_str()
        .unwrap()
        .rsplit_once('-')
        .unwrap()
        .1
        .parse()
        .unwrap();
    let wallet = e.total_bill_value.as_ref().unwrap_or(&e.transaction_value);
    let (account_id, tax_code_id, supplier, gross) = if e.split_items.is_empty() {
        assert_eq!(n, 1, "{v}");
        (e.account_id, e.tax_code_id, &e.transaction_value, wallet)
    } else {
        let s = &e.split_items[n - 1];
        assert_eq!(v["entry_line_id"], s.id.to_string(), "{v}");
        (
            s.account_id,
            s.tax_code_id,
            &s.transaction_value,
            &s.total_bill_value,
        )
    };
    let number = |a: &AccountRecord| {
        [a.code.as_deref(), Some(a.external_id.as_str())]
            .into_iter()
            .flatten()
            .map(str::trim)
            .find(|c| !c.is_empty())
            .map(str::to_owned)
    };
    let account = master
        .accounts
        .iter()
        .find(|a| Some(a.id) == account_id)
        .unwrap();
    assert_eq!(
        v["account"].as_str().map(str::to_owned),
        number(account),
        "{v}"
    );
    assert_eq!(v["account_name"], account.name, "{v}");
    let contra = master
        .accounts
        .iter()
        .find(|a| a.contra_account && !a.archived)
        .and_then(number);
    assert!(contra.is_some(), "the mock has a contra account");
    assert_eq!(
        v["contra_account"].as_str().map(str::to_owned),
        contra,
        "{v}"
    );

    assert_eq!(v["currency"], wallet.currency, "{v}");
    assert_eq!(v["amount_minor"], gross.minors, "{v}");
    assert_eq!(v["supplier_currency"], supplier.currency, "{v}");
    assert_eq!(v["supplier_amount_minor"], supplier.minors, "{v}");
    assert_eq!(
        minors(
            v["supplier_amount"].as_str().unwrap(),
            exponent(&supplier.currency)
        ),
        supplier.minors,
        "{v}"
    );
    let tax = master.tax_codes.iter().find(|t| Some(t.id) == tax_code_id);
    let g = gross.minors as f64;
    let (tax_minor, net) = match tax.map(|t| (t.rate, t.kind)) {
        None => (None, gross.minors),
        Some((rate, TaxType::Inclusive)) => {
            let tax = (g * rate / (1.0 + rate)).round() as i64;
            (Some(tax), gross.minors - tax)
        }
        Some((rate, _)) => (Some((g * rate).round() as i64), gross.minors),
    };
    assert_eq!(
        v["tax_code"].as_str(),
        tax.and_then(|t| t.code.as_deref()),
        "{v}"
    );
    assert_eq!(v["tax_amount_minor"].as_i64(), tax_minor, "{v}");
    if let Some(minor) = tax_minor {
        let text = v["tax_amount"].as_str().unwrap();
        assert_eq!(minors(text, exponent(&wallet.currency)), minor, "{v}");
    }
    assert_eq!(v["net_amount_minor"], net, "{v}");
    assert_eq!(
        minors(
            v["net_amount"].as_str().unwrap(),
            exponent(&wallet.currency)
        ),
        net,
        "{v}"
    );
    let booked = e
        .bookkeeping_date
        .or(e.settled_at)
        .unwrap_or(e.performed_at);
    assert_eq!(v["date"], booked.format("%Y-%m-%d").to_string(), "{v}");
}

/// Every CSV row holds the same fields as the JSON line with its `line_id` (the JSON lines are
/// checked against the mock), in the same order; numbers and ids as they are.
fn check_csv_rows(csv: &str, jsonl: &str) {
    let records = parse_csv(csv);
    let header = &records[0];
    let json: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), json.len() + 1);
    for (row, v) in records[1..].iter().zip(&json) {
        assert_eq!(row.len(), header.len(), "{row:?}");
        for (name, cell) in header.iter().zip(row) {
            let expected = match &v[name.as_str()] {
                Value::Null => String::new(),
                // Text as it is, or neutralised against formulas: a `'` in front.
                Value::String(s) if cell != s => {
                    assert_eq!(cell.strip_prefix('\''), Some(s.as_str()), "{name}");
                    continue;
                }
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Array(tags) => tags
                    .iter()
                    .map(|t| {
                        format!(
                            "{}={}",
                            t["group"].as_str().unwrap(),
                            t["code"].as_str().unwrap()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(";"),
                other => panic!("{name}: {other}"),
            };
            assert_eq!(cell, &expected, "{name} of {}", v["line_id"]);
        }
    }
}

/// The output folder's files and contents, sorted.
fn snapshot(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut files = read_tree(dir);
    files.sort();
    files
}

/// Records of an RFC 4180 text: line ends outside quoted fields.
fn csv_records(text: &str) -> usize {
    let mut quoted = false;
    let mut records = 0;
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            '\n' if !quoted => records += 1,
            _ => {}
        }
    }
    records
}

/// The job events sent, accepted or not, as `(jobId, event)`, in order.
fn events(exchanges: &[Exchange]) -> Vec<(String, String)> {
    exchanges
        .iter()
        .filter(|x| x.route.as_deref() == Some(EVENTS_ROUTE))
        .map(|x| {
            let body: Value = serde_json::from_slice(&x.request_body).unwrap();
            (
                body["jobId"].as_str().unwrap().to_owned(),
                body["event"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Sizes of the item-update batches the plugin sent.
fn batches(exchanges: &[Exchange]) -> Vec<usize> {
    exchanges
        .iter()
        .filter(|x| x.method == "PUT" && x.route.as_deref() == Some(ITEMS_ROUTE))
        .map(|x| {
            let body: Value = serde_json::from_slice(&x.request_body).unwrap();
            body.as_array().unwrap().len()
        })
        .collect()
}

#[test]
fn exports_each_pending_job_once_then_finds_nothing_to_do() {
    let dir = tempdir();
    let out = dir.path().join("out");
    tokio().block_on(async {
        let session = open(dir.path(), "").await;
        let mock = session.mock().unwrap();
        let pending = pending_jobs(mock);
        assert_eq!(pending.len(), 2, "the mock seeds two pending jobs");
        let (first, second) = (&pending[0], &pending[1]);
        let first_failed = unmappable(mock, first);
        assert!(
            !first_failed.is_empty(),
            "the oldest job has an entry without an account"
        );
        assert!(
            first.items.len() > 100,
            "the oldest job needs more than one batch"
        );
        let history: Vec<ExportJob> = mock
            .export_jobs()
            .into_iter()
            .filter(|j| !j.status.is_open())
            .collect();

        // First run: the oldest pending job, one unmappable entry.
        let report = run(&session, "accounting-export", &out).await.unwrap();
        assert!(
            report.summary.contains(&first.id.to_string())
                && report.summary.contains("completed_with_errors"),
            "{}",
            report.summary
        );
        check_exported(mock, first.id, &out, &first_failed);
        assert_eq!(
            mock.export_job(second.id).unwrap().status,
            JobStatus::Pending,
            "one job per run"
        );

        // Second run: the next pending job.
        let report = run(&session, "accounting-export", &out).await.unwrap();
        assert!(
            report.summary.contains(&second.id.to_string()),
            "{}",
            report.summary
        );
        check_exported(mock, second.id, &out, &unmappable(mock, second));

        // Third run: nothing left; one list request and no change anywhere.
        let before = session.mock_requests().unwrap();
        let updates = mock.item_updates();
        let files = snapshot(&out);
        let report = run(&session, "accounting-export", &out).await.unwrap();
        assert_eq!(report.summary, "nothing to export");
        assert_eq!(session.mock_requests().unwrap() - before, 1);
        assert_eq!(mock.item_updates(), updates);
        assert_eq!(snapshot(&out), files);

        let exchanges = session.mock_exchanges().unwrap();
        let (a, b) = (first.id.to_string(), second.id.to_string());
        assert_eq!(
            events(&exchanges),
            [
                (a.clone(), "started".to_owned()),
                (a, "completed_with_errors".to_owned()),
                (b.clone(), "started".to_owned()),
                (b, "completed".to_owned()),
            ]
        );
        let sizes = batches(&exchanges);
        assert!(sizes.iter().all(|&n| (1..=100).contains(&n)), "{sizes:?}");
        assert_eq!(
            sizes.iter().sum::<usize>(),
            first.items.len() + second.items.len()
        );
        // Finished jobs were left alone.
        for job in history {
            assert_eq!(mock.export_job(job.id).unwrap(), job);
        }
    });
}

/// The mock has a merchant named `=HYPERLINK(...)` and notes starting with `+cmd|...`: the
/// journal must hold them as text a spreadsheet does not evaluate, amounts as numbers.
#[test]
fn text_typed_into_pleo_cannot_become_formulas_in_the_journal() {
    let dir = tempdir();
    let out = dir.path().join("out");
    let records = tokio().block_on(async {
        let session = open(dir.path(), "").await;
        let mut records = Vec::new();
        for job in pending_jobs(session.mock().unwrap()) {
            run(&session, "accounting-export", &out).await.unwrap();
            let name = format!("journal-{}.csv", job.id);
            let csv = std::fs::read_to_string(out.join(&name)).unwrap();
            assert_no_formulas(&name, &csv);
            records.push(parse_csv(&csv));
        }
        records
    });
    let header = records[0][0].clone();
    let rows: Vec<&Vec<String>> = records.iter().flat_map(|r| &r[1..]).collect();
    let cells = |name: &str| {
        let column = header.iter().position(|h| h == name).expect(name);
        rows.iter().map(move |r| r[column].as_str())
    };
    let merchant = r#"'=HYPERLINK("http://evil.example","Restaurant Barr")"#;
    assert!(cells("supplier").any(|s| s == merchant), "{merchant}");
    assert!(
        cells("note").any(|n| n.starts_with("'+cmd|' /C calc'!A0")),
        "neutralised note"
    );
    // Amounts stay numbers (a `'` in front would not parse).
    for column in ["amount", "net_amount", "supplier_amount"] {
        assert!(cells(column).all(|a| a.parse::<f64>().is_ok()), "{column}");
    }
}

#[test]
fn resumes_the_job_an_interrupted_run_left_in_progress() {
    let dir = tempdir();
    let out = dir.path().join("out");
    tokio().block_on(async {
        // Sizes the budget of `interrupted` from the data so that it is killed between its
        // first and second batch of item updates: list jobs, `started`, the job items and the
        // export items (100 per page), one batch.
        let data = Dataset::seed(&MockConfig {
            seed: SEED,
            anchor: ANCHOR.parse().unwrap(),
            ..MockConfig::default()
        });
        let job = data.companies[0].oldest_pending_job().unwrap().clone();
        assert!(job.items.len() > 100, "two batches");
        let pages = job.items.len().div_ceil(100);
        let budget = 2 + 2 * pages + 1;
        let extra = format!(
            "[plugins.interrupted]\npath = \"{}\"\nscopes = {SCOPES}\nlimits = {{ api_calls = {budget} }}\n",
            plugin("accounting-export").display()
        );
        let session = open(dir.path(), &extra).await;
        let mock = session.mock().unwrap();
        assert_eq!(pending_jobs(mock)[0].id, job.id, "same data");

        let failure = run(&session, "interrupted", &out).await.unwrap_err();
        assert_eq!(failure.code, ExitCode::Limit, "{}", failure.message);
        let halfway = mock.export_job(job.id).unwrap();
        assert_eq!(halfway.status, JobStatus::InProgress);
        let reported = halfway
            .items
            .iter()
            .filter(|i| !matches!(i.status, ItemStatus::Pending | ItemStatus::InProgress))
            .count();
        assert_eq!(reported, 100, "killed after the first batch");
        let before = session.mock_exchanges().unwrap().len();

        let report = run(&session, "accounting-export", &out).await.unwrap();
        assert!(
            report.summary.contains(&job.id.to_string())
                && report.summary.contains("100 reported by an earlier run"),
            "{}",
            report.summary
        );
        check_exported(mock, job.id, &out, &unmappable(mock, &job));

        // The resumed run did not claim the job again and reported only what was left.
        let resumed = &session.mock_exchanges().unwrap()[before..];
        assert_eq!(
            events(resumed),
            [(job.id.to_string(), "completed_with_errors".to_owned())]
        );
        assert_eq!(batches(resumed), [job.items.len() - 100]);
        // The other pending job is still there for the next run.
        assert_eq!(pending_jobs(mock).len(), 1);
    });
}

#[test]
fn a_job_left_in_progress_past_its_expiry_is_not_touched() {
    let dir = tempdir();
    let out = dir.path().join("out");
    tokio().block_on(async {
        let extra = format!(
            "[plugins.interrupted]\npath = \"{}\"\nscopes = {SCOPES}\nlimits = {{ api_calls = 2 }}\n",
            plugin("accounting-export").display()
        );
        let session = open(dir.path(), &extra).await;
        let mock = session.mock().unwrap();
        let job = pending_jobs(mock)[0].clone();

        // Claimed, then killed before reading anything.
        let failure = run(&session, "interrupted", &out).await.unwrap_err();
        assert_eq!(failure.code, ExitCode::Limit, "{}", failure.message);
        assert_eq!(
            mock.export_job(job.id).unwrap().status,
            JobStatus::InProgress
        );

        // Pleo expires a job an hour after its last update; every open job is past it now.
        mock.advance_clock(Duration::from_secs(2 * 3600));
        let before = session.mock_exchanges().unwrap().len();
        let report = run(&session, "accounting-export", &out).await.unwrap();
        assert_eq!(report.summary, "nothing to export");
        let expired = mock.export_job(job.id).unwrap();
        assert_eq!(expired.status, JobStatus::Failed);
        assert_eq!(expired.failure_reason_type.as_deref(), Some("job_expired"));
        let after = &session.mock_exchanges().unwrap()[before..];
        assert!(events(after).is_empty() && batches(after).is_empty());
    });
}

#[test]
fn journal_that_cannot_be_written_fails_the_job() {
    let dir = tempdir();
    let out = dir.path().join("out");
    tokio().block_on(async {
        let session = open(dir.path(), "").await;
        let mock = session.mock().unwrap();
        let job = pending_jobs(mock)[0].clone();
        // A folder where the CSV file must go: the rename onto it fails.
        std::fs::create_dir_all(out.join(format!("journal-{}.csv", job.id))).unwrap();

        let failure = run(&session, "accounting-export", &out).await.unwrap_err();
        assert_eq!(failure.code, ExitCode::PluginFailed, "{}", failure.message);
        assert!(
            failure
                .message
                .contains("reported failed (accounting_system_unreachable)"),
            "{}",
            failure.message
        );
        let failed = mock.export_job(job.id).unwrap();
        assert_eq!(failed.status, JobStatus::Failed);
        assert_eq!(
            failed.failure_reason_type.as_deref(),
            Some("accounting_system_unreachable")
        );
        assert!(
            failed
                .failure_reason
                .as_deref()
                .is_some_and(|r| r.contains(&format!("journal-{}.csv", job.id))),
            "{:?}",
            failed.failure_reason
        );
        // Nothing was reported as exported; Pleo abandons the items.
        assert!(mock.item_updates().keys().all(|(j, _)| *j != job.id));
        assert!(
            failed
                .items
                .iter()
                .all(|i| i.status == ItemStatus::Abandoned)
        );
        assert!(!out.join(format!("journal-{}.jsonl", job.id)).exists());
    });
}
