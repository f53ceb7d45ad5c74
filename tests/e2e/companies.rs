//! Multi-entity keys: a plugin may act for another company only if the operator allowlisted
//! it; anything else is refused before any request leaves the host.

use std::collections::BTreeMap;

use pleo_host::mock::{Dataset, MockConfig};
use pleo_host::session::{RunOptions, Session};
use serde_json::Value;

use crate::common::{plugin, tempdir, tokio};

const SEED: u64 = 4242;

#[test]
fn allowlisted_company_works_and_others_never_reach_pleo() {
    let data = Dataset::seed(&MockConfig {
        seed: SEED,
        companies: 3,
        ..MockConfig::default()
    });
    let [c0, c1, c2] = [0, 1, 2].map(|i| data.companies[i].company.id.to_string());
    let dir = tempdir();
    let text = format!(
        "company_id = \"{c0}\"\ncompanies = [\"{c1}\"]\nstate_dir = \"state\"\n[mock]\nseed = {SEED}\ncompanies = 3\n[plugins.snoop]\npath = \"{}\"\nscopes = [\"users:read\"]\n",
        plugin("snoop").display()
    );
    let config = crate::common::config_in(&text, dir.path());

    tokio().block_on(async {
        let session = Session::open(config).await.unwrap();
        let run = async |company: &str| {
            let out = dir.path().join(format!("out-{company}"));
            let options = RunOptions {
                cancel: None,
                input: None,
                plan: false,
                out_dir: Some(out.clone()),
                params: BTreeMap::from([("company".to_owned(), company.to_owned())]),
                progress: None,
                ..RunOptions::default()
            };
            let before = session.mock_requests().unwrap();
            session.run("snoop", options).await.unwrap();
            let requests = session.mock_requests().unwrap() - before;
            let report: Value =
                serde_json::from_slice(&std::fs::read(out.join("snoop.json")).unwrap()).unwrap();
            (report, requests)
        };

        // Allowlisted: the switch works and the next request is for that company.
        let (report, requests) = run(&c1).await;
        let attempts = report["attempts"].as_array().unwrap();
        let switched = attempts
            .iter()
            .find(|a| a["attempt"] == format!("use-company {c1}"))
            .unwrap();
        assert_eq!(switched["ok"], true, "{switched}");
        let after = attempts
            .iter()
            .find(|a| a["attempt"] == "pleo list-employees after use-company")
            .unwrap();
        let detail = after["detail"].as_str().unwrap();
        assert!(detail.contains(&c1) && !detail.contains(&c0), "{detail}");
        assert_eq!(requests, 3, "list, get, and list after the switch");

        // Covered by the key but not allowlisted: refused inside the host, no request sent.
        let (report, requests) = run(&c2).await;
        let refused = report["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["attempt"] == format!("use-company {c2}"))
            .unwrap();
        assert_eq!(refused["ok"], false, "{refused}");
        assert!(
            refused["detail"].as_str().unwrap().contains("not allowed"),
            "{refused}"
        );
        assert_eq!(
            requests, 2,
            "only the two calls made before the refused switch"
        );
    });

    let audit = std::fs::read_to_string(dir.path().join("state/audit.jsonl")).unwrap();
    assert_eq!(
        audit.matches("\"outcome\":\"company-not-allowed\"").count(),
        1,
        "{audit}"
    );
}

/// The objects the `trespass` probes name, of one company, and what must never leak of them.
struct Targets {
    params: BTreeMap<String, String>,
    /// Ids and names of the company's objects the probes touch.
    secrets: Vec<String>,
    employee: String,
    receipts: Vec<String>,
}

/// Ids of company `index`'s employee, an entry with receipts, a tag with a dimension value,
/// that dimension and its group, and a vendor.
fn targets(data: &Dataset, index: usize) -> Targets {
    let company = &data.companies[index];
    let employee = &company.employees[0];
    let entry = company.receipts[0].accounting_entry_id;
    let receipts: Vec<String> = company
        .receipts
        .iter()
        .filter(|r| r.accounting_entry_id == entry)
        .map(|r| r.id.to_string())
        .collect();
    let dimension = &company.master.tag_dimensions[0];
    let valued = company
        .master
        .tag_dimension_values
        .iter()
        .find(|v| v.dimension_id == dimension.id)
        .expect("a tag with a value for the dimension");
    let tag = company
        .master
        .tags
        .iter()
        .find(|t| t.id == valued.tag_id)
        .unwrap();
    let vendor = &company.master.vendors[0];
    let params = BTreeMap::from(
        [
            ("employee", employee.id.to_string()),
            ("entry", entry.to_string()),
            ("tag", tag.id.to_string()),
            ("vendor", vendor.id.to_string()),
            ("dimension-group", dimension.group_id.to_string()),
            ("dimension", dimension.id.to_string()),
        ]
        .map(|(k, v)| (k.to_owned(), v)),
    );
    let mut secrets = vec![
        company.company.id.to_string(),
        employee.id.to_string(),
        employee.email.clone(),
        entry.to_string(),
        tag.id.to_string(),
        tag.group_id.to_string(),
        vendor.id.to_string(),
        vendor.name.clone(),
        dimension.id.to_string(),
        dimension.group_id.to_string(),
    ];
    secrets.extend(receipts.iter().cloned());
    Targets {
        params,
        secrets,
        employee: employee.id.to_string(),
        receipts,
    }
}

const TRESPASS_SCOPES: &str = "[\"users:read\", \"accounting-entries:read\", \"companies:read\", \"tag-groups:read\", \"tag-groups:write\", \"vendors:write\"]";

/// An organisation key over two companies, of which the run may use only the first.
fn trespass_config(dir: &std::path::Path, company: &str) -> String {
    let text = format!(
        "company_id = \"{company}\"\ncompanies = [\"{company}\"]\nstate_dir = \"state\"\ncache_dir = \"cache\"\noutput_dir = \"out\"\n[mock]\nseed = {SEED}\ncompanies = 2\nrecord = true\n[plugins.trespass]\npath = \"{}\"\nscopes = {TRESPASS_SCOPES}\n",
        plugin("trespass").display()
    );
    std::fs::write(dir.join("pleo.toml"), &text).unwrap();
    text
}

/// The probes of a `trespass` report, by name: (outcome, detail).
fn probes(out: &std::path::Path) -> BTreeMap<String, (String, String)> {
    let report: Value =
        serde_json::from_slice(&std::fs::read(out.join("trespass.json")).unwrap()).unwrap();
    report["probes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let field = |name: &str| p[name].as_str().unwrap().to_owned();
            (field("probe"), (field("outcome"), field("detail")))
        })
        .collect()
}

fn company_ids() -> (String, String) {
    let data = Dataset::seed(&MockConfig {
        seed: SEED,
        companies: 2,
        ..MockConfig::default()
    });
    let id = |i: usize| data.companies[i].company.id.to_string();
    (id(0), id(1))
}

const PROBES: [&str; 11] = [
    "get-employee",
    "get-entry",
    "list-receipts",
    "list-companies",
    "get-tag",
    "update-tag",
    "archive-vendor",
    "list-tag-dimension-values",
    "list-tag-group-dimensions",
    "delete-tag-group-dimension",
    "update-tag-dimension-value",
];

#[test]
fn another_company_s_objects_are_refused_by_id_and_never_written() {
    let (a, _) = company_ids();
    let dir = tempdir();
    let text = trespass_config(dir.path(), &a);
    let config = crate::common::config_in(&text, dir.path());
    let out = dir.path().join("out/trespass");

    let secrets = tokio().block_on(async {
        let session = Session::open(config).await.unwrap();
        let data = session.mock().unwrap().dataset();
        let other = targets(&data, 1);
        let mut params = other.params.clone();
        params.insert("companies".into(), "all".into());
        let options = RunOptions {
            cancel: None,
            input: None,
            plan: false,
            out_dir: Some(out.clone()),
            params,
            progress: None,
            ..RunOptions::default()
        };
        session.run("trespass", options).await.unwrap();

        // The owner lookups are GETs; the refused writes never reached the mock.
        let exchanges = session.mock_exchanges().unwrap();
        assert!(!exchanges.is_empty(), "the mock records");
        let writes: Vec<String> = exchanges
            .iter()
            .filter(|x| x.method != "GET")
            .map(|x| format!("{} {}", x.method, x.path))
            .collect();
        assert!(writes.is_empty(), "writes reached Pleo: {writes:?}");
        other.secrets
    });

    let seen = probes(&out);
    for probe in PROBES {
        let (outcome, detail) = &seen[probe];
        assert_eq!(outcome, "not-allowed", "{probe}: {detail}");
    }
    let audit = std::fs::read_to_string(dir.path().join("state/audit.jsonl")).unwrap();
    assert_eq!(
        audit.matches("\"outcome\":\"company-not-allowed\"").count(),
        PROBES.len(),
        "{audit}"
    );
    let written: Vec<(std::path::PathBuf, String)> = crate::common::read_tree(&out)
        .into_iter()
        .map(|(path, bytes)| (path, String::from_utf8_lossy(&bytes).into_owned()))
        .collect();
    // The run-start record lists the run's params, where the operator (this test) named the
    // other company's objects; every other record must not.
    let audit: String = audit
        .lines()
        .filter(|l| !l.contains("\"record\":\"run-start\""))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(audit.contains("\"record\":\"call\""), "{audit}");
    for secret in &secrets {
        assert!(!audit.contains(secret.as_str()), "audit shows {secret}");
        for (path, text) in &written {
            assert!(
                !text.contains(secret.as_str()),
                "{} shows {secret}",
                path.display()
            );
        }
    }

    // The same probes through the command line: nothing on its stdout or stderr either (the
    // plugin prints its report to both, and the host logs them).
    let cli_dir = tempdir();
    trespass_config(cli_dir.path(), &a);
    let mut args = vec!["run", "trespass", "--config", "pleo.toml"];
    let params: Vec<String> = {
        let data = Dataset::seed(&MockConfig {
            seed: SEED,
            companies: 2,
            ..MockConfig::default()
        });
        targets(&data, 1)
            .params
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .chain(["companies=all".to_owned()])
            .collect()
    };
    for param in &params {
        args.extend(["--param", param]);
    }
    let run = crate::common::run_in(cli_dir.path(), &args, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("not-allowed"),
        "the plugin's report is logged: {}",
        run.stderr
    );
    for secret in &secrets {
        assert!(
            !run.stdout.contains(secret.as_str()),
            "stdout shows {secret}"
        );
        assert!(
            !run.stderr.contains(secret.as_str()),
            "stderr shows {secret}"
        );
    }
}

#[test]
fn the_allowed_company_s_objects_still_come_through() {
    let (a, _) = company_ids();
    let dir = tempdir();
    let text = trespass_config(dir.path(), &a);
    let config = crate::common::config_in(&text, dir.path());
    let out = dir.path().join("out/trespass");

    let own = tokio().block_on(async {
        let session = Session::open(config).await.unwrap();
        let data = session.mock().unwrap().dataset();
        let own = targets(&data, 0);
        let options = RunOptions {
            cancel: None,
            input: None,
            plan: false,
            out_dir: Some(out.clone()),
            params: own.params.clone(),
            progress: None,
            ..RunOptions::default()
        };
        session.run("trespass", options).await.unwrap();
        // The writes were checked, then sent.
        let exchanges = session.mock_exchanges().unwrap();
        let writes = exchanges.iter().filter(|x| x.method != "GET").count();
        assert_eq!(
            writes, 4,
            "update-tag, archive-vendor, update-tag-dimension-value, delete-tag-group-dimension"
        );
        own
    });

    let seen = probes(&out);
    for probe in PROBES.iter().filter(|p| **p != "list-companies") {
        let (outcome, detail) = &seen[*probe];
        assert_eq!(outcome, "ok", "{probe}: {detail}");
    }
    assert!(seen["get-employee"].1.contains(&own.employee));
    for receipt in &own.receipts {
        assert!(seen["list-receipts"].1.contains(receipt.as_str()));
    }
    let audit = std::fs::read_to_string(dir.path().join("state/audit.jsonl")).unwrap();
    assert!(!audit.contains("company-not-allowed"), "{audit}");
    // An organisation key: the owners of the written objects were looked up first.
    assert!(audit.contains("\"outcome\":\"owner-check\""), "{audit}");
}
