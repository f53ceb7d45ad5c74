//! The audit log: one record per host call with the documented fields, a start and an end
//! record per run, and never the key, even when Pleo echoes the Authorization header back.

use std::collections::BTreeMap;

use base64::Engine as _;
use pleo_host::session::{RunOptions, Session};
use serde_json::Value;

use crate::common::{plugin, read_tree, run_in, tempdir, tokio, write_config};

const CALL_FIELDS: &[&str] = &[
    "record",
    "time",
    "run_id",
    "plugin",
    "sha256",
    "interface",
    "function",
    "scope",
    "company",
    "method",
    "path",
    "status",
    "error_type",
    "latency_ms",
    "retries",
    "read_ahead",
    "bytes_in",
    "bytes_out",
    "outcome",
];

fn read_audit(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn one_record_per_host_call_with_every_field() {
    let dir = tempdir();
    let text = "state_dir = \"state\"\n[mock]\nseed = 7\nanchor = \"2026-06-30\"\n[plugins.spend-report]\nscopes = [\"users:read\", \"accounting-entries:read\"]\nparams = { from = \"2026-01-01\", to = \"2026-03-31\" }\n";
    let config = crate::common::config_in(text, dir.path());
    let (report, mock_requests) = tokio().block_on(async {
        let session = Session::open(config).await.unwrap();
        let before = session.mock_requests().unwrap();
        let options = RunOptions {
            out_dir: Some(dir.path().join("out")),
            ..RunOptions::default()
        };
        let report = session.run("spend-report", options).await.unwrap();
        (report, session.mock_requests().unwrap() - before)
    });

    let records = read_audit(&dir.path().join("state/audit.jsonl"));
    let kinds: Vec<&str> = records
        .iter()
        .map(|r| r["record"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"run-start"));
    assert_eq!(kinds.last(), Some(&"run-end"));
    assert_eq!(kinds.iter().filter(|k| **k == "run-start").count(), 1);
    assert_eq!(kinds.iter().filter(|k| **k == "run-end").count(), 1);

    let run_id = records[0]["run_id"].clone();
    assert!(
        records
            .iter()
            .all(|r| r["run_id"] == run_id && r["sha256"] == report.sha256)
    );
    assert_eq!(
        records[0]["effective_scopes"],
        serde_json::json!(["accounting-entries:read", "users:read"])
    );
    assert_eq!(records[0]["limits"]["api_calls"], 10000);

    let calls: Vec<&Value> = records.iter().filter(|r| r["record"] == "call").collect();
    for call in &calls {
        let fields: Vec<&str> = call
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut expected = CALL_FIELDS.to_vec();
        expected.sort();
        assert_eq!(fields, expected, "{call}");
    }
    // Every request that reached the mock during the run has exactly one API record.
    let api: Vec<&&Value> = calls.iter().filter(|c| !c["path"].is_null()).collect();
    assert_eq!(
        api.len() as u64,
        mock_requests,
        "one record per Pleo request"
    );
    assert_eq!(api.len() as u64, report.api_calls);
    let mut by_op = BTreeMap::new();
    for c in &api {
        assert_eq!(c["status"], 200);
        assert_eq!(c["outcome"], "ok");
        assert!(c["company"].as_str().unwrap().len() == 36);
        *by_op
            .entry(format!(
                "{} {}",
                c["method"].as_str().unwrap(),
                c["path"].as_str().unwrap()
            ))
            .or_insert(0) += 1;
    }
    assert_eq!(by_op.get("GET /v2/employees"), Some(&1));
    assert!(
        by_op
            .get("POST /v1/accounting-entries:search")
            .is_some_and(|n| *n > 5),
        "{by_op:?}"
    );
    // Host services are counted in the run's totals, not recorded one by one (a plugin could
    // flood the audit with them).
    assert!(!calls.iter().any(|c| c["interface"] == "progress"));
    let services = &records.last().unwrap()["totals"]["services"];
    assert!(
        services["progress.report"]["calls"].as_u64().unwrap() > 0,
        "{services}"
    );

    let end = records.last().unwrap();
    assert_eq!(end["result"], "ok");
    let service_calls: u64 = end["totals"]["services"]
        .as_object()
        .unwrap()
        .values()
        .map(|s| s["calls"].as_u64().unwrap())
        .sum();
    assert_eq!(
        end["totals"]["host_calls"],
        calls.len() as u64 + service_calls
    );
    assert_eq!(end["totals"]["api_calls"], api.len() as u64);
    // spend-report walks the entries to the end: pages 4.. were read ahead, none wasted.
    let read_ahead = api.iter().filter(|c| c["read_ahead"] == true).count();
    assert_eq!(read_ahead, by_op["POST /v1/accounting-entries:search"] - 3);
    assert_eq!(end["totals"]["read_ahead_unused"], 0);
    // Path templates only: no query values, no personal data.
    let raw = std::fs::read_to_string(dir.path().join("state/audit.jsonl")).unwrap();
    assert!(
        !raw.contains('@') && !raw.contains("2026-01-01T"),
        "no e-mails or filter values in the audit"
    );
}

#[test]
fn canary_key_is_redacted_even_when_pleo_echoes_it() {
    let canary = format!("pls_auditcanary_{}", std::process::id());
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{canary}:"));
    let dir = tempdir();
    let config = write_config(
        dir.path(),
        &format!(
            "state_dir = \"state\"\n[key]\nenv = \"PLEO_CANARY_KEY\"\n[mock]\necho_authorization = true\n[plugins.snoop]\npath = \"{}\"\nscopes = [\"users:read\"]\n",
            plugin("snoop").display()
        ),
    );
    let out = dir.path().join("out");
    let run = run_in(
        dir.path(),
        &[
            "-vv",
            "run",
            "snoop",
            "--config",
            config.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &[("PLEO_CANARY_KEY", &canary)],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);

    // The mock did echo the header: the plugin saw the error, with the key replaced.
    let report: Value =
        serde_json::from_slice(&std::fs::read(out.join("snoop.json")).unwrap()).unwrap();
    let echoed = report["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["attempt"] == "pleo get-employee (unknown id)")
        .unwrap();
    assert!(
        echoed["detail"].as_str().unwrap().contains("[REDACTED]"),
        "{echoed}"
    );

    let audit = std::fs::read_to_string(dir.path().join("state/audit.jsonl")).unwrap();
    assert!(
        audit.contains("\"outcome\":\"not-found\""),
        "the failed call is audited: {audit}"
    );
    for (what, text) in [
        ("stdout", run.stdout.as_str()),
        ("log", run.stderr.as_str()),
        ("audit", audit.as_str()),
    ] {
        assert!(!text.contains(&canary), "{what} leaks the key");
        assert!(
            !text.contains(&basic),
            "{what} leaks the Basic form of the key"
        );
    }
    for (path, bytes) in read_tree(&out) {
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains(&canary) && !text.contains(&basic),
            "{} leaks the key",
            path.display()
        );
    }
}

/// Whether `path` (as sent) is an instance of `template` (as audited): the same segments, each
/// `{placeholder}` standing for a non-empty id, literal text around it (`{id}:archive`) equal.
fn path_fits_template(path: &str, template: &str) -> bool {
    let (path, template): (Vec<&str>, Vec<&str>) =
        (path.split('/').collect(), template.split('/').collect());
    path.len() == template.len()
        && path
            .iter()
            .zip(&template)
            .all(|(p, t)| match t.split_once('{') {
                None => p == t,
                Some((before, rest)) => {
                    let after = rest.split_once('}').map_or("", |(_, after)| after);
                    p.strip_prefix(before)
                        .and_then(|p| p.strip_suffix(after))
                        .is_some_and(|id| !id.is_empty())
                }
            })
}

#[test]
fn paths_fit_their_templates() {
    assert!(path_fits_template(
        "/v1/vendors/v-1:archive",
        "/v1/vendors/{id}:archive"
    ));
    assert!(!path_fits_template(
        "/v1/vendors/v-1",
        "/v1/vendors/{id}:archive"
    ));
    assert!(!path_fits_template(
        "/v1/vendors/:archive",
        "/v1/vendors/{id}:archive"
    ));
    assert!(!path_fits_template("/v1/vendors/a/b", "/v1/vendors/{id}"));
    assert!(path_fits_template("/v2/employees", "/v2/employees"));
    assert!(!path_fits_template("/v2/employee", "/v2/employees"));
}

/// The audit names the request that went out: the `api-tour` plugin calls every function of
/// every Pleo interface, and the audit's API records, in order, carry the method of each
/// request the mock received and a path template the sent path is an instance of. Read-ahead is
/// off so that every request is one the plugin asked for.
#[test]
fn every_audited_request_is_the_one_the_mock_received() {
    let dir = tempdir();
    let scopes = pleo_host::scopes::known()
        .iter()
        .map(|s| format!("\"{s}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let text = format!(
        "state_dir = \"state\"\n[client]\nread_ahead = false\n\
         [mock]\nrecord = true\nanchor = \"2025-06-30\"\n\
         [plugins.api-tour]\npath = \"{}\"\nscopes = [{scopes}]\n",
        plugin("api-tour").display()
    );
    let config = crate::common::config_in(&text, dir.path());
    let exchanges = tokio().block_on(async {
        let session = Session::open(config).await.unwrap();
        let before = session.mock_exchanges().unwrap().len();
        let options = RunOptions {
            out_dir: Some(dir.path().join("out")),
            ..RunOptions::default()
        };
        if let Err(failure) = session.run("api-tour", options).await {
            panic!("the api-tour run failed: {failure:?}");
        }
        session.mock_exchanges().unwrap().split_off(before)
    });

    let records = read_audit(&dir.path().join("state/audit.jsonl"));
    let api: Vec<&Value> = records
        .iter()
        .filter(|r| r["record"] == "call" && !r["method"].is_null())
        .collect();
    let sent: Vec<String> = exchanges
        .iter()
        .map(|e| format!("{} {}", e.method, e.path))
        .collect();
    let audited: Vec<String> = api
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["method"].as_str().unwrap(),
                r["path"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        api.len(),
        exchanges.len(),
        "one API record per request received\naudited: {audited:#?}\nsent: {sent:#?}"
    );
    for (i, (record, exchange)) in api.iter().zip(&exchanges).enumerate() {
        let template = record["path"].as_str().unwrap();
        assert!(
            record["method"] == exchange.method.as_str()
                && path_fits_template(&exchange.path, template)
                && exchange.route.is_some(),
            "request {i}: audited {}, sent {} (route {:?})",
            audited[i],
            sent[i],
            exchange.route
        );
        assert_eq!(
            record["status"], exchange.status,
            "request {i}: {}",
            sent[i]
        );
    }

    // Every operation of the call table was audited under its own row.
    let table: BTreeMap<(&str, &str), (&str, &str)> = pleo_host::capabilities::operations()
        .map(|op| ((op.interface, op.function), (op.method, op.template)))
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    for record in api.iter().filter(|r| r["outcome"] != "owner-check") {
        let key = (
            record["interface"].as_str().unwrap(),
            record["function"].as_str().unwrap(),
        );
        let row = table
            .get(&key)
            .unwrap_or_else(|| panic!("{key:?} has no row"));
        assert_eq!(
            (
                record["method"].as_str().unwrap(),
                record["path"].as_str().unwrap()
            ),
            *row,
            "{key:?}"
        );
        seen.insert(key);
    }
    let missing: Vec<_> = table.keys().filter(|k| !seen.contains(*k)).collect();
    assert!(missing.is_empty(), "never sent: {missing:?}");
}
