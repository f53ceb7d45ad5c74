//! Pleo's bad days: the mock injects 429s, 503s, dropped connections and latency (seeded, so
//! every run sees the same faults), and the host must either ride them out with identical
//! results (spend-report's files byte for byte, accounting-export's item updates exactly once
//! each) or end with a clear rate-limited/unavailable error, exit code 7 and nothing reported
//! as written.
//!
//! The mock's faults strike before a request is handled: a dropped request was never applied.
//! A lost answer to an applied write is not simulated.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use pleo_host::credential::ApiKey;
use pleo_host::mock::{
    ExportJob, FaultConfig, FaultRates, MOCK_API_KEY, MockConfig, MockServer, RouteFaults,
};
use pleo_host::pleo::retry::Repeat;
use pleo_host::pleo::{
    ApiError, ApiRequest, ClientOptions, PleoClient, RateLimit, RetryPolicy, WaitEvent,
};
use pleo_host::session::{RunOptions, Session};

use crate::common::{Outcome, read_tree, run_in, tempdir, tokio, write_config};

const SEED: u64 = 20261126;
const ANCHOR: &str = "2026-06-30";
const SEARCH: &str = "/v1/accounting-entries:search";

/// Runs spend-report on the mock with `extra` appended to a pinned pleo.toml; output in
/// `<dir>/report`.
fn spend_report(dir: &Path, extra: &str) -> Outcome {
    let config = write_config(
        dir,
        &format!(
            "environment = \"mock\"\n\
             [plugins.spend-report]\n\
             scopes = [\"users:read\", \"accounting-entries:read\"]\n\
             [mock]\n\
             seed = {SEED}\n\
             anchor = \"{ANCHOR}\"\n\
             {extra}"
        ),
    );
    let out = dir.join("report");
    run_in(
        dir,
        &[
            "run",
            "spend-report",
            "--config",
            config.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--param",
            "from=2025-07-01",
            "--param",
            "to=2026-06-30",
        ],
        &[],
    )
}

/// The files of a report folder, relative, sorted.
fn report_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let root = dir.join("report");
    if !root.exists() {
        return Vec::new();
    }
    let mut files: Vec<(String, Vec<u8>)> = read_tree(&root)
        .into_iter()
        .map(|(path, bytes)| {
            let rel = path.strip_prefix(&root).unwrap().display().to_string();
            (rel, bytes)
        })
        .collect();
    files.sort();
    files
}

/// Asserts a run failed on Pleo (exit 7) without claiming any output.
fn assert_failed_on_pleo(run: &Outcome, dir: &Path) -> String {
    let error = run.assert_clean_failure(7).to_owned();
    assert!(
        !run.stdout.contains("finished") && !run.stdout.contains("files written"),
        "a failed run reports no success:\n{}",
        run.stdout
    );
    assert_eq!(
        report_files(dir),
        Vec::new(),
        "nothing half-written is left"
    );
    error
}

#[test]
fn spend_report_is_byte_identical_with_15_percent_faults() {
    let clean = tempdir();
    let run = spend_report(clean.path(), "");
    assert_eq!(run.code, 0, "fault-free run; stderr:\n{}", run.stderr);
    let expected = report_files(clean.path());
    assert_eq!(
        expected.len(),
        3,
        "two CSV files and report.html: {expected:?}"
    );

    let faulty = tempdir();
    let run = spend_report(
        faulty.path(),
        "[mock.faults]\n\
         seed = 5\n\
         too_many_requests = 0.05\n\
         unavailable = 0.05\n\
         drop = 0.05\n",
    );
    assert_eq!(
        run.code, 0,
        "with faults; stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    // The faults were there and were ridden out: the report says how often it retried.
    assert!(
        run.stdout.contains("Pleo API:") && run.stdout.contains("retr"),
        "{}",
        run.stdout
    );
    let got = report_files(faulty.path());
    assert_eq!(got.len(), expected.len());
    for ((name, bytes), (want_name, want_bytes)) in got.iter().zip(&expected) {
        assert_eq!(name, want_name);
        assert!(
            bytes == want_bytes,
            "{name} differs from the fault-free run"
        );
    }
}

#[test]
fn persistent_503s_end_the_run_as_unavailable() {
    let dir = tempdir();
    // Employees and introspection work; every search answers 503, more often than 3
    // attempts can absorb.
    let run = spend_report(
        dir.path(),
        &format!(
            "[[mock.faults.routes]]\n\
             path = \"{SEARCH}\"\n\
             unavailable = 1\n\
             [client]\n\
             max_attempts = 3\n\
             backoff_seconds = 0.01\n"
        ),
    );
    let error = assert_failed_on_pleo(&run, dir.path());
    assert!(error.contains("Pleo unavailable"), "{error}");
    assert!(error.contains("503"), "{error}");
    assert!(
        run.stderr.contains("giving up after 3 attempt(s)"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_retry_after_beyond_the_wait_budget_ends_the_run_as_rate_limited() {
    let dir = tempdir();
    // Pleo asks for two minutes; the host may wait five seconds per call: it stops at once
    // and tells the plugin how long it would have had to wait.
    let run = spend_report(
        dir.path(),
        &format!(
            "[[mock.faults.routes]]\n\
             path = \"{SEARCH}\"\n\
             too_many_requests = 1\n\
             retry_after_seconds = 120\n\
             [client]\n\
             max_retry_wait_seconds = 5\n"
        ),
    );
    let error = assert_failed_on_pleo(&run, dir.path());
    assert!(error.contains("rate limited: retry after 120 s"), "{error}");
}

#[test]
fn answers_slower_than_the_request_timeout_end_the_run_as_timed_out() {
    let dir = tempdir();
    let run = spend_report(
        dir.path(),
        &format!(
            "[[mock.faults.routes]]\n\
             path = \"{SEARCH}\"\n\
             latency_seconds = 5\n\
             [client]\n\
             request_timeout_seconds = 0.2\n\
             max_attempts = 2\n\
             backoff_seconds = 0.01\n"
        ),
    );
    let error = assert_failed_on_pleo(&run, dir.path());
    assert!(error.contains("timed out (2 attempts)"), "{error}");
}

#[test]
fn mock_api_refuses_bad_fault_flags() {
    // Exit 2 (usage) with one error line naming what is wrong, and no server started.
    let dir = tempdir();
    for (args, cause) in [
        (
            &["mock-api", "--port", "0", "--fault-503", "1.5"][..],
            "--fault-503: must be a share between 0 and 1, not 1.5",
        ),
        (
            &[
                "mock-api",
                "--port",
                "0",
                "--fault-429",
                "0.6",
                "--fault-drop",
                "0.6",
            ],
            "too_many_requests + unavailable + internal_error + drop + drop_answer must be at most 1",
        ),
        (
            &["mock-api", "--port", "0", "--fault-500", "1.01"][..],
            "--fault-500: must be a share between 0 and 1, not 1.01",
        ),
        (
            &["mock-api", "--port", "0", "--fault-drop-answer", "2"][..],
            "--fault-drop-answer: must be a share between 0 and 1, not 2",
        ),
        (
            &[
                "mock-api",
                "--port",
                "0",
                "--route-faults",
                "/v2/employees,teapot=1",
            ],
            "--route-faults /v2/employees,teapot=1: bad `teapot=1`",
        ),
        (
            &["mock-api", "--port", "0", "--route-faults", "v2,503=1"],
            "route `v2` must start with /",
        ),
        (
            &["mock-api", "--port", "0", "--rate-limit", "0"],
            "the rate limit and its burst must be at least 1",
        ),
    ] {
        let run = run_in(dir.path(), args, &[]);
        let error = run.assert_clean_failure(2);
        assert!(error.contains(cause), "{args:?}: {error}");
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
    }
}

// The client on its own, against the mock in this process.

/// A client with `retry` and a rate limit that does not get in the way.
fn client(mock: &MockServer, retry: RetryPolicy) -> PleoClient {
    let options = ClientOptions {
        retry,
        rate_limit: RateLimit {
            per_minute: 60_000,
            burst: 100,
        },
        ..ClientOptions::default()
    };
    let key = ApiKey::new(MOCK_API_KEY).unwrap();
    PleoClient::with_options(&mock.base_url(), &key, options).unwrap()
}

fn quick_retries(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        initial_backoff: Duration::from_millis(2),
        max_backoff: Duration::from_millis(20),
        max_wait: Duration::from_secs(30),
    }
}

async fn start_mock(faults: FaultConfig) -> MockServer {
    let config = MockConfig {
        seed: SEED,
        anchor: ANCHOR.parse().unwrap(),
        employees: 40,
        entries: 200,
        faults,
        ..MockConfig::default()
    };
    MockServer::start(([127, 0, 0, 1], 0).into(), config)
        .await
        .unwrap()
}

/// Every employee, one per page.
async fn all_employees(client: &PleoClient) -> Result<Vec<String>, ApiError> {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let req = ApiRequest::get("/v2/employees")
            .query("limit", "1")
            .query_opt("after", cursor.clone());
        let page = client.get_page(&req).await?;
        pages.push(page.data);
        cursor = page.next_cursor;
        if cursor.is_none() {
            return Ok(pages);
        }
    }
}

#[test]
fn every_injected_fault_costs_exactly_one_retry_and_changes_nothing() {
    tokio().block_on(async {
        let clean = start_mock(FaultConfig::default()).await;
        let expected = all_employees(&client(&clean, quick_retries(1)))
            .await
            .unwrap();

        // 40 % faults: about two requests in five fail; 12 attempts are plenty. A read is
        // repeated after a 500 too (Pleo's errors page: try again later).
        let faulty = start_mock(FaultConfig {
            seed: 11,
            global: FaultRates {
                too_many_requests: 0.1,
                retry_after: 0,
                unavailable: 0.1,
                internal_error: 0.1,
                drop: 0.1,
                drop_answer: 0.0,
                latency: Duration::ZERO,
            },
            ..FaultConfig::default()
        })
        .await;
        let client = client(&faulty, quick_retries(12));
        let got = all_employees(&client).await.unwrap();
        assert_eq!(got, expected);

        let faults = faulty.fault_counts();
        let injected =
            faults.too_many_requests + faults.unavailable + faults.internal_errors + faults.dropped;
        assert!(
            faults.too_many_requests > 0
                && faults.unavailable > 0
                && faults.internal_errors > 0
                && faults.dropped > 0,
            "{faults:?}"
        );
        let stats = client.stats();
        assert_eq!(stats.retries, injected, "{stats:?} {faults:?}");
        assert_eq!(stats.requests, faulty.request_count());
        assert_eq!(stats.requests, expected.len() as u64 + injected);
        // Every attempt by how it ended (the daemon's `pleo_host_pleo_requests_total`).
        let statuses: Vec<(Option<u16>, u64)> = client.run_statuses().into_iter().collect();
        assert_eq!(
            statuses,
            [
                (None, faults.dropped),
                (Some(200), expected.len() as u64),
                (Some(429), faults.too_many_requests),
                (Some(500), faults.internal_errors),
                (Some(503), faults.unavailable),
            ]
        );
    });
}

#[test]
fn a_429s_retry_after_holds_back_every_client_of_the_key() {
    tokio().block_on(async {
        // Every employees list answers 429 with `Retry-After: 30`; nothing else is faulty.
        let mock = start_mock(FaultConfig {
            routes: vec![RouteFaults {
                path: "/v2/employees".into(),
                rates: FaultRates {
                    too_many_requests: 1.0,
                    retry_after: 30,
                    ..FaultRates::default()
                },
            }],
            ..FaultConfig::default()
        })
        .await;
        // One attempt: the call that got the 429 gives up at once instead of waiting.
        let first = client(&mock, quick_retries(1));
        let refused = first.get_page(&ApiRequest::get("/v2/employees")).await;
        assert!(
            matches!(refused, Err(ApiError::Status { status: 429, .. })),
            "{refused:?}"
        );
        assert_eq!(mock.request_count(), 1);

        // Another client with the same key (another run, say) asks for something unrelated.
        // It must wait out the Retry-After before sending anything: its first event is the
        // rate limiter holding it back for (about) the 30 s Pleo asked for.
        let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
        let hook: pleo_host::pleo::WaitHook = std::sync::Arc::new(move |event| {
            let _ = tx.send(match event {
                WaitEvent::RateLimit { wait } => Ok(*wait),
                other => Err(format!("{other:?}")),
            });
        });
        let second = client(&mock, quick_retries(1)).for_run(Some(hook));
        let mut call = tokio::spawn(async move {
            second
                .send(&ApiRequest::get("/v1/introspect"))
                .await
                .map(|_| ())
        });
        tokio::select! {
            event = events.recv() => {
                let wait = event.unwrap().unwrap();
                // What is left of the 30 s (the client's limit alone would not hold it back).
                assert!(
                    wait > Duration::from_secs(20) && wait <= Duration::from_secs(30),
                    "{wait:?}"
                );
            }
            done = &mut call => panic!("sent during the Retry-After: {done:?}"),
        }
        call.abort();
        assert_eq!(mock.request_count(), 1, "nothing was sent while held back");
    });
}

#[test]
fn writes_are_repeated_after_a_lost_answer_only_when_marked_idempotent() {
    tokio().block_on(async {
        // The mock has no write endpoints yet; the request never gets past the dropped
        // connection anyway.
        let path = "/v3/export-jobs/1/events";
        let mock = start_mock(FaultConfig {
            routes: vec![RouteFaults {
                path: path.into(),
                rates: FaultRates {
                    drop: 1.0,
                    ..FaultRates::default()
                },
            }],
            ..FaultConfig::default()
        })
        .await;
        let client = client(&mock, quick_retries(4));
        let write = ApiRequest::post(path, serde_json::json!({"event": "started"}));
        assert_eq!(write.repeat(), Repeat::Write);
        let err = client.send(&write).await.unwrap_err();
        assert!(matches!(err, ApiError::Unreachable(_)), "{err:?}");
        assert_eq!(mock.request_count(), 1, "an unsafe write is sent once");

        let err = client.send(&write.clone().idempotent()).await.unwrap_err();
        assert!(
            matches!(&err, ApiError::Unreachable(m) if m.contains("4 attempts")),
            "{err:?}"
        );
        assert_eq!(mock.request_count(), 1 + 4);

        // The read-only search is safe to repeat although it is a POST.
        assert_eq!(
            ApiRequest::post(SEARCH, serde_json::json!({})).repeat(),
            Repeat::Read
        );
    });
}

#[test]
fn client_errors_are_never_repeated() {
    tokio().block_on(async {
        let mock = start_mock(FaultConfig::default()).await;
        let client = client(&mock, quick_retries(5));
        for path in [
            "/v2/employees/not-a-uuid",
            "/v2/employees/00000000-0000-4000-8000-000000000000",
        ] {
            let before = mock.request_count();
            let err = client.get_object(&ApiRequest::get(path)).await.unwrap_err();
            assert!(
                matches!(
                    err,
                    ApiError::Status {
                        status: 400 | 404,
                        ..
                    }
                ),
                "{err:?}"
            );
            assert_eq!(mock.request_count(), before + 1, "{path}");
        }
        assert_eq!(client.stats().retries, 0);
    });
}

#[test]
fn the_client_stays_under_the_mock_rate_limit_without_a_429() {
    tokio().block_on(async {
        // The mock allows 1200 a minute with a burst of 20; the client is set to the same rate
        // with a smaller burst, so it is held back instead of refused. 40 requests take about
        // a second.
        // The mock's own limiter (pleo_mock::RateLimit), not the client's bucket.
        let mock = start_mock(FaultConfig {
            rate_limit: Some(pleo_host::mock::RateLimit {
                per_minute: 1200,
                burst: 20,
            }),
            ..FaultConfig::default()
        })
        .await;
        let key = ApiKey::new(MOCK_API_KEY).unwrap();
        let options = ClientOptions {
            retry: quick_retries(1),
            rate_limit: RateLimit {
                per_minute: 1200,
                burst: 5,
            },
            ..ClientOptions::default()
        };
        let client = PleoClient::with_options(&mock.base_url(), &key, options).unwrap();
        // Four concurrent pagers, as several runs in one process would be, share the limiter.
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let client = client.clone();
            tasks.push(tokio::spawn(async move {
                for _ in 0..10 {
                    client
                        .get_object(&ApiRequest::get("/v1/introspect"))
                        .await
                        .unwrap();
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(mock.fault_counts().rate_limited, 0);
        assert_eq!(client.stats().requests, 40);
        assert!(client.stats().throttled > 0, "{:?}", client.stats());
    });
}

/// What exporting every pending job left on the mock: the jobs that were pending (with their
/// items, `exported_at` cleared since it is the time of the update), how often each item was
/// updated, the retries the runs needed and the writes that met a fault.
struct Exported {
    jobs: Vec<ExportJob>,
    updates: BTreeMap<(uuid::Uuid, uuid::Uuid), u32>,
    retries: u64,
    faulted_writes: usize,
}

/// Runs accounting-export on the mock until it finds nothing to export.
fn export_everything(faults: &str) -> Exported {
    let dir = tempdir();
    let text = format!(
        "state_dir = \"state\"\n\
         [mock]\n\
         seed = 31337\n\
         record = true\n\
         anchor = \"{ANCHOR}\"\n\
         {faults}\n\
         [plugins.accounting-export]\n\
         scopes = [\"export-jobs:read\", \"export-jobs:write\", \"export-items:read\"]\n"
    );
    let config = crate::common::config_in(&text, dir.path());
    tokio().block_on(async {
        let session = Session::open(config).await.unwrap();
        let mock = session.mock().unwrap();
        let pending: Vec<uuid::Uuid> = mock
            .export_jobs()
            .into_iter()
            .filter(|j| j.status.is_open())
            .map(|j| j.id)
            .collect();
        assert!(!pending.is_empty());
        let mut retries = 0;
        for _ in 0..=pending.len() {
            let options = RunOptions {
                cancel: None,
                input: None,
                plan: false,
                out_dir: Some(dir.path().join("out")),
                params: BTreeMap::new(),
                progress: None,
                ..RunOptions::default()
            };
            let report = session
                .run("accounting-export", options)
                .await
                .unwrap_or_else(|f| panic!("{}: {:?}", f.message, f.hint));
            retries += report.api_waits.retries;
            if report.summary == "nothing to export" {
                break;
            }
        }
        let jobs = pending
            .iter()
            .map(|id| {
                let mut job = mock.export_job(*id).unwrap();
                for item in &mut job.items {
                    item.exported_at = None;
                }
                job
            })
            .collect();
        // Writes that met a fault (the recorder sits outside fault injection; it sees a
        // dropped request as the 503 that never reached the client).
        let faulted_writes = session
            .mock_exchanges()
            .unwrap()
            .iter()
            .filter(|x| x.method != "GET" && matches!(x.status, 429 | 503))
            .count();
        Exported {
            jobs,
            updates: mock.item_updates(),
            retries,
            faulted_writes,
        }
    })
}

#[test]
fn accounting_export_reports_every_item_exactly_once_with_15_percent_faults() {
    let clean = export_everything("");
    // The plugin makes about 20 calls in all; this seed makes 4 of its writes (item updates,
    // job events) meet a fault, besides some reads.
    let faulty = export_everything(
        "[mock.faults]\nseed = 12\ntoo_many_requests = 0.05\nunavailable = 0.05\ndrop = 0.05",
    );
    assert!(faulty.retries > 0, "the faults were hit");
    assert!(
        faulty.faulted_writes > 0,
        "some hit item updates or job events"
    );
    for exported in [&clean, &faulty] {
        let mut expected = BTreeMap::new();
        for job in &exported.jobs {
            assert!(
                !job.status.is_open(),
                "job {} finished: {:?}",
                job.id,
                job.status
            );
            for item in &job.items {
                expected.insert((job.id, item.accounting_entry_id), 1);
            }
        }
        // 0 lost, 0 duplicated: one update per item of the exported jobs, and no other.
        assert_eq!(exported.updates, expected);
    }
    // And the same outcome as without faults, item by item.
    let summary = |e: &Exported| -> Vec<(uuid::Uuid, String, Vec<String>)> {
        e.jobs
            .iter()
            .map(|j| {
                let items = j.items.iter().map(|i| format!("{i:?}")).collect();
                (j.id, format!("{:?}", j.status), items)
            })
            .collect()
    };
    assert_eq!(summary(&faulty), summary(&clean));
}
