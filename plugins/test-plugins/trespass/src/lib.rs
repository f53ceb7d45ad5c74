//! Test-only plugin for the company-ownership tests: with an organisation key, it asks for
//! objects of a company by id (ids given as params), the way a plugin would trespass on a
//! company the operator did not allow. It is a plugin of its own rather than a mode of `snoop`
//! because it imports more interfaces than `snoop`, whose single import the scope tests rely on.
//!
//! Each param present makes one probe:
//! * `employee`: `users-read::get-employee`;
//! * `entry`: `accounting-entries-read::get-entry`, then `list-receipts` of that entry;
//! * `companies` (any value): `companies-read::list-companies`, a list Pleo does not filter by
//!   company;
//! * `tag`: `tags-read::get-tag` (a tag names only its group), then `tags-write::update-tag`
//!   and `tags-read::list-tag-dimension-values`;
//! * `dimension-group` and `dimension`: `tags-read::list-tag-group-dimensions` of the group,
//!   with `tag` `tags-write::update-tag-dimension-value`, then
//!   `tags-write::delete-tag-group-dimension` (objects named by their parent's id);
//! * `vendor`: `vendors-write::archive-vendor`.
//! * `import-job`: `vendors-write::upload-import-csv` and `run-import-job` (a vendor CSV import
//!   job).
//!
//! It writes `{probes: [{probe, ok, outcome, detail}]}` to `/out/trespass.json`, stdout,
//! stderr and the log, where `outcome` is `ok` or the `pleo-error` case and `detail` what the
//! host returned: the object, or the error message. The probe names never carry the ids.

use pleo_plugin::{
    Guest, PageRequest, PleoError, accounting_entries_read, companies_read, log, params, tags_read,
    tags_write, users_read, vendors_write,
};
use serde::Serialize;

#[derive(Serialize)]
struct Probe {
    probe: &'static str,
    ok: bool,
    outcome: &'static str,
    detail: String,
}

#[derive(Serialize, Default)]
struct Report {
    probes: Vec<Probe>,
}

impl Report {
    fn probe<T: ToString>(&mut self, probe: &'static str, result: Result<T, PleoError>) {
        self.probes.push(match result {
            Ok(value) => Probe {
                probe,
                ok: true,
                outcome: "ok",
                detail: value.to_string(),
            },
            Err(e) => Probe {
                probe,
                ok: false,
                outcome: e.case(),
                detail: e.to_string(),
            },
        });
    }
}

struct Trespass;

impl Guest for Trespass {
    fn run() -> Result<String, String> {
        let mut report = Report::default();
        let page = PageRequest::first(20);
        if let Some(id) = params::get("employee") {
            report.probe("get-employee", users_read::get_employee(&id));
        }
        if let Some(id) = params::get("entry") {
            report.probe("get-entry", accounting_entries_read::get_entry(&id, false));
            report.probe(
                "list-receipts",
                accounting_entries_read::list_receipts(&id, None, &[], &page).map(|p| p.data),
            );
        }
        if params::get("companies").is_some() {
            report.probe(
                "list-companies",
                companies_read::list_companies(&page).map(|p| p.data),
            );
        }
        if let Some(id) = params::get("tag") {
            report.probe("get-tag", tags_read::get_tag(&id));
            let fields = tags_write::TagFields {
                code: "TRESPASS".into(),
                name: "Renamed by a trespasser".into(),
                archived: true,
            };
            report.probe("update-tag", tags_write::update_tag(&id, &fields));
            report.probe(
                "list-tag-dimension-values",
                tags_read::list_tag_dimension_values(&id),
            );
        }
        if let (Some(group), Some(dimension)) =
            (params::get("dimension-group"), params::get("dimension"))
        {
            report.probe(
                "list-tag-group-dimensions",
                tags_read::list_tag_group_dimensions(&group),
            );
            if let Some(tag) = params::get("tag") {
                report.probe(
                    "update-tag-dimension-value",
                    tags_write::update_tag_dimension_value(&tag, &dimension, "trespassed"),
                );
            }
            report.probe(
                "delete-tag-group-dimension",
                tags_write::delete_tag_group_dimension(&group, &dimension).map(|()| "deleted"),
            );
        }
        if let Some(id) = params::get("vendor") {
            report.probe(
                "archive-vendor",
                vendors_write::archive_vendor(&id).map(|()| "archived"),
            );
        }
        if let Some(id) = params::get("import-job") {
            report.probe(
                "upload-import-csv",
                vendors_write::upload_import_csv(&id, b"name,defaultCurrency\nTrespass,DKK\n"),
            );
            report.probe("run-import-job", vendors_write::run_import_job(&id));
        }
        let json = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        std::fs::write("/out/trespass.json", &json)
            .map_err(|e| format!("writing /out/trespass.json: {e}"))?;
        println!("{json}");
        eprintln!("{json}");
        log::info(&json);
        Ok(format!("{} probes", report.probes.len()))
    }
}

pleo_plugin::export_plugin!(Trespass);
