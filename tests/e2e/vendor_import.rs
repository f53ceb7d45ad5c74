//! The vendor CSV import (README "Vendor CSV import"), end to end through
//! `master-data-import`'s `/in/vendor-import.csv`: plan (nothing sent, the file kept in the
//! plan), apply (job created, file uploaded by the host to the mock's presigned URL without
//! the key, job run, each once), plan again (no write; the plugin waits for the job and
//! reports its row errors), the vendors then found by a vendor search; and a file over the
//! upload limit refused before any request.

use std::path::Path;

use pleo_host::mock::{MOCK_API_KEY, MockConfig, MockServer};
use serde_json::Value;

use crate::common::{self, Outcome};

struct Pleo {
    server: MockServer,
    _rt: tokio::runtime::Runtime,
}

impl Pleo {
    fn start() -> Pleo {
        let rt = common::tokio();
        let config = MockConfig {
            record: true,
            ..MockConfig::default()
        };
        let bind = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        let server = rt.block_on(MockServer::start(bind, config)).unwrap();
        Pleo { server, _rt: rt }
    }

    /// Writes of the import the mock received, as `METHOD path` (reads left out; the upload to
    /// the presigned URL is not Pleo's API and is kept on the job instead).
    fn import_requests(&self) -> Vec<String> {
        self.server
            .exchanges()
            .into_iter()
            .filter(|e| e.path.contains("/csv-import/"))
            .filter(|e| e.method != "GET" && !e.path.ends_with(":search"))
            .map(|e| format!("{} {}", e.method, e.path))
            .collect()
    }
}

/// A folder with `in/vendor-import.csv` and a pleo.toml for master-data-import against `pleo`
/// (the plugin imports every master-data interface, so it is granted all their scopes).
fn setup(pleo: &Pleo, csv: &[u8]) -> tempfile::TempDir {
    let dir = common::tempdir();
    std::fs::create_dir(dir.path().join("in")).unwrap();
    std::fs::write(dir.path().join("in/vendor-import.csv"), csv).unwrap();
    let config = format!(
        "environment = \"mock\"\nbase_url = \"{}\"\n\n[plugins.master-data-import]\n\
         input = \"in\"\nscopes = [\"vendors:read\", \"vendors:write\", \"accounts:read\", \
         \"accounts:write\", \"tag-groups:read\", \"tag-groups:write\", \"tax-codes:read\", \
         \"tax-codes:write\"]\n",
        pleo.server.base_url()
    );
    common::write_config(dir.path(), &config);
    dir
}

fn plan(dir: &Path, file: &str) -> (Outcome, Option<Value>) {
    let out = common::run_in(
        dir,
        &["run", "master-data-import", "--plan", file, "--verbose"],
        &[],
    );
    let plan = std::fs::read_to_string(dir.join(file))
        .ok()
        .map(|t| serde_json::from_str(&t).unwrap());
    (out, plan)
}

/// Vendors of the run's company whose name contains `name`, by `POST /v1/vendors:search`.
fn search_vendors(pleo: &Pleo, company: uuid::Uuid, name: &str) -> Vec<Value> {
    let url = format!(
        "{}/v1/vendors:search?company_id={company}&limit=100",
        pleo.server.base_url()
    );
    common::tokio().block_on(async {
        let answer: Value = reqwest::Client::new()
            .post(url)
            .basic_auth(MOCK_API_KEY, Some(""))
            .json(&serde_json::json!({ "name": name }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["data"].as_array().cloned().unwrap_or_default()
    })
}

/// Two good rows (one name with markup, one quoted with a delimiter inside) and one without a
/// name.
const CSV: &str = "name,defaultCurrency,externalId,country\n\
                   <b>Bulk</b> Paper ApS,dkk,BULK-1,DK\n\
                   \"Bulk Coffee, Roasters\",EUR,BULK-2,SE\n\
                   ,DKK,BULK-3,DK\n";

#[test]
fn a_planned_import_uploads_without_the_key_runs_once_and_reports_its_bad_row() {
    let pleo = Pleo::start();
    let company = pleo.server.dataset().companies[0].company.id;
    let dir = setup(&pleo, CSV.as_bytes());

    // Plan: three writes, the file in the plan, nothing sent.
    let (out, plan1) = plan(dir.path(), "plan.json");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let plan1 = plan1.expect("the plan file is written");
    let writes = plan1["writes"].as_array().unwrap();
    let functions: Vec<&str> = writes
        .iter()
        .map(|w| w["function"].as_str().unwrap())
        .collect();
    assert_eq!(
        functions,
        ["create-import-job", "upload-import-csv", "run-import-job"]
    );
    let upload = &writes[1]["upload"];
    assert_eq!(upload["bytes"], CSV.len());
    assert_eq!(upload["rows"], 3);
    let sha = upload["sha256"].as_str().unwrap().to_owned();
    assert_eq!(sha.len(), 64);
    assert!(
        out.stdout
            .contains(&format!("file: {} bytes, 3 rows, sha256 {sha}", CSV.len())),
        "{}",
        out.stdout
    );
    assert!(pleo.import_requests().is_empty(), "a plan sends no write");
    assert!(pleo.server.import_jobs().is_empty());

    // Apply: the job is created, the file uploaded to the presigned URL, the job run.
    let out = common::run_in(dir.path(), &["apply", "plan.json", "--yes"], &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let jobs = pleo.server.import_jobs();
    assert_eq!(jobs.len(), 1, "one job");
    let job = &jobs[0];
    assert_eq!(job.company_id, company);
    assert_eq!(
        job.csv.as_deref(),
        Some(CSV.as_bytes()),
        "the planned bytes"
    );
    assert_eq!(
        job.upload_had_authorization,
        Some(false),
        "the upload carries no Authorization header"
    );
    let id = job.id;
    assert_eq!(
        pleo.import_requests(),
        [
            "POST /v1/vendors/csv-import/jobs".to_owned(),
            format!("POST /v1/vendors/csv-import/jobs/{id}:get-presigned-url"),
            format!("POST /v1/vendors/csv-import/jobs/{id}:run"),
        ],
        "each write once"
    );
    // The presigned URL (a credential) is in no file the host wrote.
    let presigned = pleo
        .server
        .exchanges()
        .into_iter()
        .find(|e| e.path.ends_with(":get-presigned-url"))
        .map(|e| serde_json::from_slice::<Value>(&e.response_body).unwrap())
        .unwrap()["data"]["presignedUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = presigned.split("token=").nth(1).unwrap().to_owned();
    for (path, bytes) in common::read_tree(dir.path()) {
        assert!(
            !String::from_utf8_lossy(&bytes).contains(&token),
            "{} holds the upload token",
            path.display()
        );
    }

    // Plan again: no write; the plugin finds the job, waits for it, reports the bad row.
    let (out, plan2) = plan(dir.path(), "plan2.json");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(plan2.unwrap()["writes"].as_array().unwrap().len(), 0);
    assert!(
        out.stdout.contains("vendor import: 2 created, 1 failed"),
        "{}",
        out.stdout
    );
    let errors = std::fs::read_to_string(
        dir.path()
            .join("out/master-data-import/vendor-import-errors.csv"),
    )
    .unwrap();
    let rows = common::parse_csv(&errors);
    assert_eq!(rows.len(), 2, "{errors}");
    assert_eq!(
        rows[1][0], "4",
        "the row without a name, the header being row 1"
    );
    assert_eq!(rows[1][1], "MISSING_NAME");
    let job = pleo.server.import_jobs().remove(0);
    assert_eq!(job.status, pleo_host::mock::ImportStatus::Completed);
    assert_eq!((job.rows_succeeded, job.rows_failed), (Some(2), Some(1)));

    // The vendors it made are found by a vendor search, names as written.
    let found = search_vendors(&pleo, company, "bulk");
    let mut names: Vec<&str> = found.iter().map(|v| v["name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["<b>Bulk</b> Paper ApS", "Bulk Coffee, Roasters"]);
    let paper = found.iter().find(|v| v["externalId"] == "BULK-1").unwrap();
    assert_eq!(paper["defaultCurrency"], "DKK");
    assert_eq!(paper["state"], "ACTIVE");
}

#[test]
fn a_file_over_the_upload_limit_is_refused_before_any_request() {
    let pleo = Pleo::start();
    let limit = pleo_host::limits::MAX_UPLOAD_BYTES as usize;
    let mut csv = b"name,defaultCurrency\n".to_vec();
    while csv.len() <= limit {
        csv.extend_from_slice(b"Too Many Vendors Ltd,DKK\n");
    }
    let dir = setup(&pleo, &csv);
    // A real run, not a plan: the create goes out, the upload must not.
    let out = common::run_in(dir.path(), &["run", "master-data-import"], &[]);
    let line = out.assert_clean_failure(1);
    assert!(line.contains("over the upload limit"), "{line}");
    let requests = pleo.import_requests();
    assert_eq!(
        requests,
        ["POST /v1/vendors/csv-import/jobs".to_owned()],
        "the job was made, no presigned URL asked for"
    );
    let job = pleo.server.import_jobs().remove(0);
    assert!(job.csv.is_none(), "nothing uploaded");
    assert!(job.s3_key.is_none());
}

/// A job of a company the run may not use: the owner check refuses the upload and the run
/// before anything is sent (an organisation key over two companies, the run allowed one).
#[test]
fn a_job_of_another_company_is_not_allowed_and_never_touched() {
    let rt = common::tokio();
    let config = MockConfig {
        record: true,
        companies: 2,
        ..MockConfig::default()
    };
    let bind = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let server = rt.block_on(MockServer::start(bind, config)).unwrap();
    let pleo = Pleo { server, _rt: rt };
    let data = pleo.server.dataset();
    let (a, b) = (data.companies[0].company.id, data.companies[1].company.id);
    let url = format!("{}/v1/vendors/csv-import/jobs", pleo.server.base_url());
    let job: Value = common::tokio().block_on(async {
        reqwest::Client::new()
            .post(url)
            .basic_auth(MOCK_API_KEY, Some(""))
            .json(&serde_json::json!({"companyId": b.to_string(), "originalFilename": "b.csv", "type": "vendors"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    let id = job["data"]["id"].as_str().unwrap().to_owned();
    let dir = common::tempdir();
    let config = format!(
        "environment = \"mock\"\nbase_url = \"{}\"\ncompany_id = \"{a}\"\n\
         companies = [\"{a}\"]\noutput_dir = \"out\"\n[plugins.trespass]\npath = \"{}\"\n\
         scopes = [\"users:read\", \"accounting-entries:read\", \"companies:read\", \
         \"tag-groups:read\", \"tag-groups:write\", \"vendors:write\"]\n",
        pleo.server.base_url(),
        common::plugin("trespass").display()
    );
    common::write_config(dir.path(), &config);
    let param = format!("import-job={id}");
    let out = common::run_in(dir.path(), &["run", "trespass", "--param", &param], &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report: Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("out/trespass/trespass.json")).unwrap(),
    )
    .unwrap();
    let outcomes: Vec<(&str, &str)> = report["probes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["probe"].as_str().unwrap(), p["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("upload-import-csv", "not-allowed"),
            ("run-import-job", "not-allowed")
        ]
    );
    assert_eq!(
        pleo.import_requests(),
        ["POST /v1/vendors/csv-import/jobs".to_owned()],
        "only the test's own create reached Pleo"
    );
    let job = pleo.server.import_jobs().remove(0);
    assert!(job.csv.is_none() && job.s3_key.is_none());
}
