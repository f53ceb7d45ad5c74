//! One-off migrations (README "Migrations"): input at /in, `run --plan`, `apply` with its
//! refusals and journal, the crash safety of apply, and master-data-import's input checks.
//! Pleo is one in-process mock shared by every command of a test (`base_url`), recording
//! every exchange.

use std::path::Path;

use pleo_host::mock::{FaultConfig, FaultRates, MockConfig, MockServer, RouteFaults};
use serde_json::Value;

use crate::common::{self, Outcome};

struct Pleo {
    server: MockServer,
    _rt: tokio::runtime::Runtime,
}

impl Pleo {
    fn start(faults: FaultConfig) -> Pleo {
        let rt = common::tokio();
        let config = MockConfig {
            record: true,
            faults,
            ..MockConfig::default()
        };
        let bind = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        let server = rt.block_on(MockServer::start(bind, config)).unwrap();
        Pleo { server, _rt: rt }
    }

    /// Writes the mock answered with 2xx: (method, path, request body).
    fn writes(&self) -> Vec<(String, String, Value)> {
        self.server
            .exchanges()
            .into_iter()
            .filter(|e| e.method != "GET" && !e.path.ends_with(":search"))
            .filter(|e| (200..300).contains(&e.status))
            .map(|e| {
                let body = serde_json::from_slice(&e.request_body).unwrap_or(Value::Null);
                (e.method, e.path, body)
            })
            .collect()
    }

    /// Every write request the mock received, answered or not.
    fn write_requests(&self) -> usize {
        self.server
            .exchanges()
            .iter()
            .filter(|e| e.method != "GET" && !e.path.ends_with(":search"))
            .count()
    }
}

fn setup(pleo: &Pleo, extra: &str) -> tempfile::TempDir {
    setup_from(pleo, "master-data-import", extra)
}

/// A folder with the `in/` and `pleo.toml` of `examples/<example>`, pointed at `pleo`.
fn setup_from(pleo: &Pleo, example: &str, extra: &str) -> tempfile::TempDir {
    let dir = common::tempdir();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(example);
    let example = root.join("in");
    std::fs::create_dir(dir.path().join("in")).unwrap();
    for entry in std::fs::read_dir(example).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join("in").join(entry.file_name())).unwrap();
    }
    let example_config = std::fs::read_to_string(root.join("pleo.toml")).unwrap();
    let config = example_config.replace(
        "base_url = \"http://127.0.0.1:8484\"",
        &format!("base_url = \"{}\"\n{extra}", pleo.server.base_url()),
    );
    common::write_config(dir.path(), &config);
    dir
}

fn plan(dir: &Path, file: &str) -> (Outcome, Option<Value>) {
    let out = common::run_in(dir, &["run", "master-data-import", "--plan", file], &[]);
    let plan = std::fs::read_to_string(dir.join(file))
        .ok()
        .map(|t| serde_json::from_str(&t).unwrap());
    (out, plan)
}

fn writes_of(plan: &Value) -> &Vec<Value> {
    plan["writes"].as_array().unwrap()
}

fn apply(dir: &Path, args: &[&str]) -> Outcome {
    let mut all = vec!["apply"];
    all.extend_from_slice(args);
    common::run_in(dir, &all, &[])
}

#[test]
fn plan_sends_no_write_apply_makes_them_and_a_second_plan_is_empty() {
    let pleo = Pleo::start(FaultConfig::default());
    let dir = setup(&pleo, "");
    let (out, plan1) = plan(dir.path(), "plan.json");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let plan1 = plan1.expect("the plan file is written");
    let writes = writes_of(&plan1);
    assert_eq!(writes.len(), 10, "{plan1:#}");
    assert_eq!(pleo.write_requests(), 0, "a plan sends no write");
    assert!(out.stdout.contains("vendors: 3 create"), "{}", out.stdout);
    assert_eq!(plan1["company_id"], plan1["key_company_id"]);
    assert_eq!(plan1["input_sha256"].as_str().unwrap().len(), 64);
    // The tags are created in the planned group, named by its placeholder.
    let group = writes
        .iter()
        .find(|w| w["function"] == "create-tag-group")
        .unwrap();
    let placeholder = group["placeholders"][0].as_str().unwrap().to_owned();
    let tag_paths: Vec<&str> = writes
        .iter()
        .filter(|w| w["function"] == "create-tag")
        .map(|w| w["request"]["path"].as_str().unwrap())
        .collect();
    assert_eq!(tag_paths.len(), 2);
    assert!(
        tag_paths.iter().all(|p| p.contains(&placeholder)),
        "{tag_paths:?}"
    );

    let refused = apply(dir.path(), &["plan.json"]);
    refused.assert_clean_failure(2);
    assert_eq!(pleo.write_requests(), 0);

    let out = apply(dir.path(), &["plan.json", "--yes"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let sent = pleo.writes();
    assert_eq!(sent.len(), 10, "{sent:?}");
    let group_id = pleo
        .server
        .exchanges()
        .into_iter()
        .find(|e| e.method == "POST" && e.path == "/v0/tag-groups")
        .map(|e| {
            serde_json::from_slice::<Value>(&e.response_body).unwrap()["data"]["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .unwrap();
    let tag_posts: Vec<&String> = sent
        .iter()
        .filter(|(_, p, _)| p.ends_with("/tags"))
        .map(|(_, p, _)| p)
        .collect();
    assert_eq!(tag_posts.len(), 2);
    assert!(
        tag_posts
            .iter()
            .all(|p| **p == format!("/v0/tag-groups/{group_id}/tags"))
    );

    // Applying again sends nothing; the status shows every write done.
    let again = apply(dir.path(), &["plan.json", "--yes"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(pleo.writes().len(), 10);
    let status = apply(dir.path(), &["plan.json", "--status"]);
    assert!(
        status.stdout.contains("10 of 10 writes done"),
        "{}",
        status.stdout
    );

    let (out, plan2) = plan(dir.path(), "plan2.json");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        writes_of(&plan2.unwrap()).len(),
        0,
        "planning after apply plans nothing"
    );

    // The audit names the created objects and the plan.
    let audit =
        std::fs::read_to_string(dir.path().join(".home/.local/state/pleo-host/audit.jsonl"))
            .unwrap();
    let done: Vec<Value> = audit
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["record"] == "apply-write" && r["outcome"] == "done")
        .collect();
    assert_eq!(done.len(), 10);
    assert!(
        done.iter()
            .all(|r| r["plan_id"] == plan1["id"] && r["object_id"].is_string())
    );
    let start = audit
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|r| r["record"] == "run-start")
        .unwrap();
    assert_eq!(start["input_sha256"], plan1["input_sha256"]);
}

#[test]
fn edited_stale_and_other_company_plans_are_refused_before_any_write() {
    let pleo = Pleo::start(FaultConfig::default());
    let dir = setup(&pleo, "");
    let (_, _) = plan(dir.path(), "plan.json");
    assert_eq!(apply(dir.path(), &["plan.json", "--yes"]).code, 0);
    let rename = |to: &str| {
        let csv = dir.path().join("in/vendors.csv");
        let text = std::fs::read_to_string(&csv).unwrap();
        let text = text
            .replace("Nordlys Kaffe ApS", to)
            .replace("Nordlys Kaffe II", to);
        std::fs::write(csv, text).unwrap();
    };
    rename("Nordlys Kaffe II");
    let (out, update) = plan(dir.path(), "update.json");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let update = update.unwrap();
    assert_eq!(writes_of(&update).len(), 1);
    assert_eq!(writes_of(&update)[0]["action"], "update");
    assert_eq!(writes_of(&update)[0]["before"]["name"], "Nordlys Kaffe ApS");
    let before = pleo.write_requests();

    // Edited after it was written.
    let text = std::fs::read_to_string(dir.path().join("update.json")).unwrap();
    std::fs::write(
        dir.path().join("edited.json"),
        text.replace("Nordlys Kaffe II", "Evil Corp"),
    )
    .unwrap();
    let line = apply(dir.path(), &["edited.json", "--yes"])
        .assert_clean_failure(8)
        .to_owned();
    assert!(line.contains("checksum"), "{line}");

    // Another company.
    let other = common::tempdir();
    std::fs::copy(
        dir.path().join("update.json"),
        other.path().join("update.json"),
    )
    .unwrap();
    let config = std::fs::read_to_string(dir.path().join("pleo.toml")).unwrap();
    let config = config.replacen(
        "environment = \"mock\"",
        "environment = \"mock\"\ncompany_id = \"00000000-0000-4000-8000-000000000001\"",
        1,
    );
    common::write_config(other.path(), &config);
    let line = apply(other.path(), &["update.json", "--yes"])
        .assert_clean_failure(8)
        .to_owned();
    assert!(line.contains("company"), "{line}");

    // Stale: the vendor changed since (another plan renamed it).
    rename("Nordlys Kaffe III");
    let (_, _) = plan(dir.path(), "other.json");
    assert_eq!(apply(dir.path(), &["other.json", "--yes"]).code, 0);
    let after_other = pleo.write_requests();
    assert_eq!(after_other, before + 1);
    let out = apply(dir.path(), &["update.json", "--yes"]);
    let line = out.assert_clean_failure(8).to_owned();
    assert!(line.contains("changed in Pleo"), "{line}");
    assert!(out.stderr.contains("Nordlys Kaffe"), "{}", out.stderr);
    assert_eq!(pleo.write_requests(), after_other, "nothing sent");
    let out = apply(dir.path(), &["update.json", "--yes", "--allow-stale"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(pleo.write_requests(), after_other + 1);
}

/// A tiny seeded generator (xorshift), so the kill points repeat from run to run.
struct Seeded(u64);

impl Seeded {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

#[test]
fn apply_killed_at_random_points_under_faults_resumes_with_every_write_once() {
    const VENDORS: usize = 300;
    // 15 % of requests fail; a third of those after the mock has made the write (its answer
    // is dropped), which apply must find by natural key before it sends anything again.
    let rates = FaultRates {
        too_many_requests: 0.03,
        unavailable: 0.04,
        drop: 0.03,
        drop_answer: 0.05,
        ..FaultRates::default()
    };
    let pleo = Pleo::start(FaultConfig {
        seed: 7,
        global: rates,
        ..FaultConfig::default()
    });
    let dir = setup(
        &pleo,
        "[client]\nbackoff_seconds = 0.01\nmax_backoff_seconds = 0.05\nmax_attempts = 8\n",
    );
    // VENDORS vendors to create, nothing else: enough for 20 kills before the apply is done.
    for f in [
        "accounts.csv",
        "tag-groups.csv",
        "tags.csv",
        "tax-codes.csv",
    ] {
        std::fs::remove_file(dir.path().join("in").join(f)).unwrap();
    }
    let mut csv = String::from("external_id,name,default_currency\n");
    for i in 0..VENDORS {
        csv.push_str(&format!("CRASH-{i:04},Crash test vendor {i:04},EUR\n"));
    }
    std::fs::write(dir.path().join("in/vendors.csv"), csv).unwrap();
    let (out, planned) = plan(dir.path(), "plan.json");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(writes_of(&planned.unwrap()).len(), VENDORS);
    assert_eq!(pleo.write_requests(), 0);

    let mut rng = Seeded(0x5eed_1234_abcd);
    let mut kills = 0;
    let mut finished = false;
    for _ in 0..60 {
        if kills >= 20 {
            break;
        }
        let mut child = common::command_in(dir.path(), &["apply", "plan.json", "--yes", "-q"], &[])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let wait = std::time::Duration::from_millis(30 + rng.next(250));
        std::thread::sleep(wait);
        match child.try_wait().unwrap() {
            Some(status) => {
                // Finished (or failed on a fault) before the kill: run it again.
                if status.success() {
                    finished = true;
                    break;
                }
            }
            None => {
                child.kill().unwrap(); // SIGKILL
                child.wait().unwrap();
                kills += 1;
            }
        }
    }
    assert!(
        kills >= 20,
        "only {kills} kills (apply finished: {finished})"
    );
    // Resume until done (a fault may still end one apply).
    let mut resumed = false;
    for _ in 0..10 {
        let out = apply(dir.path(), &["plan.json", "--yes"]);
        if out.code == 0 {
            resumed = true;
            break;
        }
        assert_eq!(out.code, 7, "{}", out.stderr);
    }
    // The mock's record, the dropped answers included (it keeps the answer it made): each
    // vendor made exactly once, and never sent again once made (the mock's own 409 on a
    // repeated externalId must not be what keeps it single).
    let mut created = std::collections::BTreeMap::<String, usize>::new();
    let mut repeated_after_made = Vec::new();
    let mut made_with_answer_dropped = 0;
    for e in pleo.server.exchanges() {
        if e.method != "POST" || e.path != "/v1/vendors" {
            continue;
        }
        let body: Value = serde_json::from_slice(&e.request_body).unwrap();
        let key = body["externalId"].as_str().unwrap().to_owned();
        if created.contains_key(&key) {
            repeated_after_made.push(key.clone());
        }
        if (200..300).contains(&e.status) {
            *created.entry(key).or_default() += 1;
            if e.answer_dropped {
                made_with_answer_dropped += 1;
            }
        }
    }
    let missing: Vec<usize> = (0..VENDORS)
        .filter(|i| !created.contains_key(&format!("CRASH-{i:04}")))
        .collect();
    let duplicated: Vec<(&String, &usize)> = created.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        repeated_after_made.is_empty(),
        "sent again after it was made: {repeated_after_made:?}"
    );
    assert!(duplicated.is_empty(), "duplicated: {duplicated:?}");
    assert!(missing.is_empty(), "lost: {missing:?}");
    assert!(resumed, "the resumed apply never finished");
    assert_eq!(created.len(), VENDORS);
    assert!(
        made_with_answer_dropped > 0,
        "no vendor's answer was dropped after it was made: the test proves nothing"
    );
    let status = apply(dir.path(), &["plan.json", "--status"]);
    assert!(
        status
            .stdout
            .contains(&format!("{VENDORS} of {VENDORS} writes done")),
        "{}",
        status.stdout
    );
    eprintln!(
        "crash test: {kills} kills, {made_with_answer_dropped} creates whose answer was dropped, faults {:?}",
        pleo.server.fault_counts()
    );
}

fn bad_input(name: &str, content: &[u8]) -> (Outcome, String, usize) {
    let pleo = Pleo::start(FaultConfig::default());
    let dir = setup(&pleo, "");
    std::fs::write(dir.path().join("in").join(name), content).unwrap();
    let (out, plan) = plan(dir.path(), "plan.json");
    assert!(plan.is_none(), "no plan file for bad input");
    let report =
        std::fs::read_to_string(dir.path().join("out/master-data-import/invalid-rows.csv"))
            .unwrap_or_default();
    let writes = pleo.write_requests();
    (out, report, writes)
}

#[test]
fn bad_input_files_are_reported_and_nothing_is_planned() {
    let cases: [(&str, &[u8], &str); 5] = [
        (
            "vendors.csv",
            b"external_id,name,default_currency\nV1,\"Acme,EUR\n",
            "never closed",
        ),
        (
            "vendors.csv",
            b"external_id,name,default_currency,colour\nV1,Acme,EUR,red\n",
            "unknown column",
        ),
        (
            "tax-codes.csv",
            b"code,name,rate,type\nX1,A,0.1,inclusive\nX1,B,0.2,inclusive\n",
            "duplicate",
        ),
        ("tags.csv", b"", "empty file"),
        ("accounts.csv", b"\x00\x01\x02\xff\xfe", "binary"),
    ];
    for (name, content, cause) in cases {
        let (out, report, writes) = bad_input(name, content);
        let line = out.assert_clean_failure(1).to_owned();
        assert!(line.contains("invalid row"), "{line}");
        assert!(
            report.contains(name) && report.contains(cause),
            "{name}: {report}"
        );
        assert_eq!(writes, 0);
    }
    // A 100 MB file is refused without being read.
    let pleo = Pleo::start(FaultConfig::default());
    let dir = setup(&pleo, "");
    let file = std::fs::File::create(dir.path().join("in/vendors.csv")).unwrap();
    file.set_len(100 << 20).unwrap();
    let (out, plan) = plan(dir.path(), "plan.json");
    out.assert_clean_failure(1);
    assert!(plan.is_none());
    let report =
        std::fs::read_to_string(dir.path().join("out/master-data-import/invalid-rows.csv"))
            .unwrap();
    assert!(report.contains("more than"), "{report}");
    assert_eq!(pleo.write_requests(), 0);
}

/// `examples/master-data-cleanup`: its remove.csv archives two tags, deletes two more and a
/// tax code. The plan names each object as read from Pleo and sends nothing; apply makes
/// exactly the three planned writes, after which the tags are archived or gone and the tax
/// code is gone; a second plan is empty.
#[test]
fn cleanup_archives_and_deletes_exactly_as_planned() {
    let pleo = Pleo::start(FaultConfig::default());
    let company = pleo.server.dataset().companies[0].company.id;
    let seeded = pleo.server.master_data(company).unwrap();
    let tag = |code: &str| seeded.tags.iter().find(|t| t.code == code).unwrap().clone();
    let (kick, onb, moved, cc300) = (tag("P-KICK"), tag("P-ONB"), tag("P-MOVE"), tag("CC300"));
    let old_vat = seeded
        .tax_codes
        .iter()
        .find(|t| t.code.as_deref() == Some("DK25-OLD"))
        .unwrap()
        .clone();
    let dir = setup_from(&pleo, "master-data-cleanup", "");

    let out = common::run_in(
        dir.path(),
        &["-v", "run", "master-data-import", "--plan", "plan.json"],
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(pleo.write_requests(), 0, "a plan sends no write");
    let plan1: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("plan.json")).unwrap())
            .unwrap();
    let writes = writes_of(&plan1);
    let functions: Vec<&str> = writes
        .iter()
        .map(|w| w["function"].as_str().unwrap())
        .collect();
    assert_eq!(
        functions,
        ["delete-tax-code", "archive-tags", "delete-tags"]
    );
    // Each write shows what it removes by code and name, as read from Pleo.
    let name = |t: &pleo_host::mock::TagRecord| t.name.clone().unwrap();
    for line in [
        format!(
            "delete tax code code=DK25-OLD \"{}\" (id {})",
            old_vat.name, old_vat.id
        ),
        format!(
            "archive 2 tags: P-KICK \"{}\", P-ONB \"{}\"",
            name(&kick),
            name(&onb)
        ),
        format!(
            "delete 2 tags: P-MOVE \"{}\", CC300 \"{}\"",
            name(&moved),
            name(&cc300)
        ),
    ] {
        assert!(out.stdout.contains(&line), "{line} not in\n{}", out.stdout);
    }
    assert!(
        out.stdout.contains("tags: 1 archive, 1 delete"),
        "{}",
        out.stdout
    );

    let applied = apply(dir.path(), &["plan.json", "--yes"]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let id = |v: uuid::Uuid| v.to_string();
    assert_eq!(
        pleo.writes(),
        vec![
            (
                "DELETE".to_owned(),
                format!("/v0/tax-codes/{}", old_vat.id),
                Value::Null
            ),
            (
                "POST".to_owned(),
                "/v0/tags/archive".to_owned(),
                serde_json::json!({"companyId": id(company), "tagIds": [id(kick.id), id(onb.id)],
                                   "archived": true})
            ),
            (
                "DELETE".to_owned(),
                "/v0/tags".to_owned(),
                serde_json::json!({"companyId": id(company), "tagIds": [id(moved.id), id(cc300.id)]})
            ),
        ],
        "exactly the planned writes, once each"
    );
    let now = pleo.server.master_data(company).unwrap();
    let find = |t: &pleo_host::mock::TagRecord| now.tags.iter().find(|n| n.id == t.id).cloned();
    assert!(find(&kick).unwrap().archived && find(&onb).unwrap().archived);
    assert!(find(&moved).is_none() && find(&cc300).is_none());
    assert!(!now.tax_codes.iter().any(|t| t.id == old_vat.id));
    // Only what remove.csv names changed.
    assert_eq!(now.tags.len(), seeded.tags.len() - 2);
    assert_eq!(now.tax_codes.len(), seeded.tax_codes.len() - 1);

    let (again, plan2) = plan(dir.path(), "again.json");
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(writes_of(&plan2.unwrap()).is_empty(), "{}", again.stdout);
}

/// A tag that a planned bulk archive names and that changes in Pleo before apply makes the
/// plan stale: apply refuses it (exit 8), naming the tag, and sends nothing.
#[test]
fn cleanup_refuses_a_plan_whose_bulk_tag_changed_since() {
    let pleo = Pleo::start(FaultConfig::default());
    let company = pleo.server.dataset().companies[0].company.id;
    let seeded = pleo.server.master_data(company).unwrap();
    let kick = seeded
        .tags
        .iter()
        .find(|t| t.code == "P-KICK")
        .unwrap()
        .clone();
    let dir = setup_from(&pleo, "master-data-cleanup", "");
    let (out, _) = plan(dir.path(), "plan.json");
    assert_eq!(out.code, 0, "{}", out.stderr);
    // Someone renames the tag in Pleo.
    let url = format!("{}/v0/tags/{}", pleo.server.base_url(), kick.id);
    let status = common::tokio().block_on(async {
        reqwest::Client::new()
            .put(url)
            .basic_auth(pleo_host::mock::MOCK_API_KEY, Some(""))
            .json(&serde_json::json!({"code": "P-KICK", "name": "Kickoff 2026", "archived": false}))
            .send()
            .await
            .unwrap()
            .status()
    });
    assert!(status.is_success(), "{status}");
    let writes_before = pleo.write_requests();
    let out = apply(dir.path(), &["plan.json", "--yes"]);
    out.assert_clean_failure(8);
    assert!(
        out.stderr.contains(&format!(
            "changed in Pleo since the plan was made (tag {})",
            kick.id
        )),
        "{}",
        out.stderr
    );
    assert_eq!(pleo.write_requests(), writes_before, "nothing sent");
}

/// The answer to the bulk tag delete is lost after the mock made it: apply sends it again
/// itself, and the 404 Pleo gives the repeat (the tags are gone) completes the write
/// (`reconciled`), so apply ends with every write done and the tags deleted once.
#[test]
fn a_bulk_delete_whose_answer_was_lost_is_done_when_its_repeat_finds_nothing() {
    // The mock draws one number per request a fault rule applies to (here only `DELETE
    // /v0/tags`) from `StdRng` with the config's seed: pick a seed whose first draw drops the
    // answer (below 0.5) and whose second does not.
    let seed = (0..)
        .find(|s| {
            use rand::{Rng, SeedableRng};
            let mut rng = rand::rngs::StdRng::seed_from_u64(*s);
            rng.random::<f64>() < 0.5 && rng.random::<f64>() >= 0.5
        })
        .unwrap();
    let pleo = Pleo::start(FaultConfig {
        seed,
        routes: vec![RouteFaults {
            path: "/v0/tags".into(),
            rates: FaultRates {
                drop_answer: 0.5,
                ..FaultRates::default()
            },
        }],
        ..FaultConfig::default()
    });
    let company = pleo.server.dataset().companies[0].company.id;
    let seeded = pleo.server.master_data(company).unwrap();
    let dir = setup_from(&pleo, "master-data-cleanup", "");
    let (out, _) = plan(dir.path(), "plan.json");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = apply(dir.path(), &["plan.json", "--yes", "--json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let statuses: Vec<u16> = pleo
        .server
        .exchanges()
        .iter()
        .filter(|e| e.method == "DELETE" && e.path == "/v0/tags")
        .map(|e| e.status)
        .collect();
    assert_eq!(statuses, [204, 404], "the delete, then its repeat");
    assert_eq!(pleo.server.fault_counts().answers_dropped, 1);
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["reconciled"], 1, "{report:#}");
    let now = pleo.server.master_data(company).unwrap();
    assert_eq!(now.tags.len(), seeded.tags.len() - 2);
    let status = apply(dir.path(), &["plan.json", "--status"]);
    assert!(
        status.stdout.contains("3 of 3 writes done"),
        "{}",
        status.stdout
    );
}

/// Tag dimensions through plan and apply: `tag-dimensions.csv` renames a seeded dimension and
/// `remove.csv` deletes the other. The plan sends no write and shows the rename as a diff of
/// the dimension read from Pleo and the delete by the code and name it removes; apply sends
/// exactly those two writes once, the delete takes the tags' values for the dimension along,
/// and planning again plans nothing. A change of the renamed dimension in Pleo between plan
/// and apply makes the plan stale.
#[test]
fn tag_dimensions_are_updated_and_deleted_exactly_as_planned() {
    let pleo = Pleo::start(FaultConfig::default());
    let company = pleo.server.dataset().companies[0].company.id;
    let seeded = pleo.server.master_data(company).unwrap();
    let dimension = |code: &str| {
        seeded
            .tag_dimensions
            .iter()
            .find(|d| d.code == code)
            .unwrap()
            .clone()
    };
    let (pm, erp) = (dimension("PM"), dimension("ERP-NO"));
    let group = pm.group_id;
    assert!(
        seeded
            .tag_dimension_values
            .iter()
            .any(|v| v.dimension_id == erp.id)
    );
    let dir = setup_from(&pleo, "master-data-cleanup", "");
    let input = dir.path().join("in");
    std::fs::write(
        input.join("tag-dimensions.csv"),
        "group_code,code,name,visible\nPRJ,PM,Project lead,\n",
    )
    .unwrap();
    std::fs::write(
        input.join("remove.csv"),
        "kind,group_code,code,action\ntag-dimension,PRJ,ERP-NO,delete\n",
    )
    .unwrap();

    let out = common::run_in(
        dir.path(),
        &["-v", "run", "master-data-import", "--plan", "plan.json"],
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(pleo.write_requests(), 0, "a plan sends no write");
    let plan1: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("plan.json")).unwrap())
            .unwrap();
    let functions: Vec<&str> = writes_of(&plan1)
        .iter()
        .map(|w| w["function"].as_str().unwrap())
        .collect();
    assert_eq!(
        functions,
        ["update-tag-group-dimension", "delete-tag-group-dimension"]
    );
    for line in [
        format!(
            "update tag group dimension code=PM \"Project lead\" (id {group}/{})",
            pm.id
        ),
        "name: \"Project manager\" -> \"Project lead\"".to_owned(),
        format!(
            "delete tag group dimension code=ERP-NO \"{}\" (id {group}/{})",
            erp.name, erp.id
        ),
    ] {
        assert!(out.stdout.contains(&line), "{line} not in\n{}", out.stdout);
    }

    let applied = apply(dir.path(), &["plan.json", "--yes"]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let path = |d: uuid::Uuid| format!("/v0/tag-groups/{group}/dimensions/{d}");
    assert_eq!(
        pleo.writes(),
        vec![
            (
                "PUT".to_owned(),
                path(pm.id),
                serde_json::json!({"code": "PM", "name": "Project lead", "visible": pm.visible,
                                   "displayOrder": pm.display_order})
            ),
            ("DELETE".to_owned(), path(erp.id), Value::Null),
        ],
        "exactly the planned writes, once each"
    );
    let now = pleo.server.master_data(company).unwrap();
    let renamed = now.tag_dimensions.iter().find(|d| d.id == pm.id).unwrap();
    assert_eq!(renamed.name, "Project lead");
    assert!(!now.tag_dimensions.iter().any(|d| d.id == erp.id));
    assert!(
        !now.tag_dimension_values
            .iter()
            .any(|v| v.dimension_id == erp.id)
    );
    // The other dimension's values are untouched.
    let kept = |m: &pleo_host::mock::MasterData| {
        m.tag_dimension_values
            .iter()
            .filter(|v| v.dimension_id == pm.id)
            .count()
    };
    assert_eq!(kept(&now), kept(&seeded));

    let (again, plan2) = plan(dir.path(), "again.json");
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(writes_of(&plan2.unwrap()).is_empty(), "{}", again.stdout);

    // A rename planned, then the dimension changed in Pleo: apply refuses and sends nothing.
    std::fs::remove_file(input.join("remove.csv")).unwrap();
    std::fs::write(
        input.join("tag-dimensions.csv"),
        "group_code,code,name,visible\nPRJ,PM,Project owner,\n",
    )
    .unwrap();
    let (out, _) = plan(dir.path(), "stale.json");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let url = format!("{}{}", pleo.server.base_url(), path(pm.id));
    let status = common::tokio().block_on(async {
        reqwest::Client::new()
            .put(url)
            .basic_auth(pleo_host::mock::MOCK_API_KEY, Some(""))
            .json(
                &serde_json::json!({"code": "PM", "name": "Project lead", "visible": false,
                                      "displayOrder": 1}),
            )
            .send()
            .await
            .unwrap()
            .status()
    });
    assert!(status.is_success(), "{status}");
    let writes_before = pleo.write_requests();
    let out = apply(dir.path(), &["stale.json", "--yes"]);
    out.assert_clean_failure(8);
    assert!(
        out.stderr
            .contains("changed in Pleo since the plan was made"),
        "{}",
        out.stderr
    );
    assert_eq!(pleo.write_requests(), writes_before, "nothing sent");
}
