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
                out_dir: Some(out.clone()),
                params: BTreeMap::from([("company".to_owned(), company.to_owned())]),
                progress: None,
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
