//! `vendors-read` and `vendors-write`: vendors (suppliers) are stored per company. The search
//! takes the company as query `company_id` (required there), create and update as body
//! `companyId`; the calls on one vendor name it by id.
//!
//! The vendor CSV import (`/v1/vendors/csv-import/jobs…`) lives here too: a job per file, the
//! file uploaded by the host itself (`upload-import-csv`: the presigned URL Pleo answers with
//! is an upload credential, so it never reaches the plugin; see `pleo::upload`), the run, and
//! the job's status, metadata and row errors.

use std::time::Instant;

use serde_json::{Map, Value, json};

use super::call::Args;
use super::paging;
use super::table::{
    ACTIVATE_VENDOR, ARCHIVE_VENDOR, CREATE_IMPORT_JOB, CREATE_VENDOR, GET_IMPORT_JOB, GET_VENDOR,
    LIST_IMPORT_JOB_ERRORS, RUN_IMPORT_JOB, SEARCH_IMPORT_JOBS, SEARCH_VENDORS,
    UPDATE_IMPORT_JOB_METADATA, UPDATE_IMPORT_JOB_STATUS, UPDATE_VENDOR, UPLOAD_IMPORT_CSV,
};
use super::{Caps, HostError, PageRequest, WitPage, checks, host_outcome, invalid};
use crate::audit::Call;
use crate::bindings::pleo::plugin::types::{ImportJobStatus, VendorState};
use crate::bindings::pleo::plugin::vendors_read::{ImportJobFilter, VendorFilter};
use crate::bindings::pleo::plugin::vendors_write::{
    CsvFormat, NewImportJob, NewVendor, VendorUpdate,
};
use crate::bindings::pleo::plugin::{vendors_read, vendors_write};
use crate::limits::MAX_UPLOAD_BYTES;
use crate::pleo::{ApiError, upload};

/// Largest metadata object (as JSON text) the host sends with an import job.
const MAX_METADATA_BYTES: usize = 16 << 10;

/// `VendorSearchRequestV1`: each filter list takes at most 100 values.
const MAX_FILTER: usize = 100;

impl vendors_read::Host for Caps {
    async fn search_vendors(
        &mut self,
        filter: VendorFilter,
        page: PageRequest,
    ) -> Result<WitPage, HostError> {
        let args = Args::new()
            .body(search_body(filter))
            .query("company_id", self.company_id.clone())
            .page(&page, &paging::CURSOR_OR_OFFSET);
        self.page(&SEARCH_VENDORS, args).await
    }

    async fn get_vendor(&mut self, vendor_id: String) -> Result<String, HostError> {
        self.text(&GET_VENDOR, Args::new().id(vendor_id)).await
    }

    async fn search_import_jobs(
        &mut self,
        filter: ImportJobFilter,
        page: PageRequest,
    ) -> Result<WitPage, HostError> {
        let args = Args::new()
            .body(import_search_body(filter))
            .query("company_id", self.company_id.clone())
            .page(&page, &paging::CURSOR_OR_OFFSET);
        self.page(&SEARCH_IMPORT_JOBS, args).await
    }

    async fn get_import_job(&mut self, job_id: String) -> Result<String, HostError> {
        self.text(&GET_IMPORT_JOB, Args::new().id(job_id)).await
    }

    async fn list_import_job_errors(
        &mut self,
        job_id: String,
        page: PageRequest,
    ) -> Result<WitPage, HostError> {
        let args = Args::new()
            .id(job_id)
            .page(&page, &paging::CURSOR_OR_OFFSET);
        self.page(&LIST_IMPORT_JOB_ERRORS, args).await
    }
}

impl vendors_write::Host for Caps {
    async fn create_vendor(&mut self, vendor: NewVendor) -> Result<String, HostError> {
        let args = Args::new().body(new_vendor_body(&self.company_id, vendor));
        self.text(&CREATE_VENDOR, args).await
    }

    async fn update_vendor(
        &mut self,
        vendor_id: String,
        vendor: VendorUpdate,
    ) -> Result<String, HostError> {
        let args = Args::new()
            .id(vendor_id)
            .body(vendor_update_body(&self.company_id, vendor));
        self.text(&UPDATE_VENDOR, args).await
    }

    async fn archive_vendor(&mut self, vendor_id: String) -> Result<(), HostError> {
        self.nothing(&ARCHIVE_VENDOR, Args::new().id(vendor_id))
            .await
    }

    async fn activate_vendor(
        &mut self,
        vendor_id: String,
        external_id: String,
        code: Option<String>,
    ) -> Result<(), HostError> {
        let args = Args::new()
            .id(vendor_id)
            .body(Ok(activate_body(external_id, code)));
        self.nothing(&ACTIVATE_VENDOR, args).await
    }

    async fn create_import_job(&mut self, job: NewImportJob) -> Result<String, HostError> {
        let args = Args::new().body(new_import_job_body(&self.company_id, job));
        self.text(&CREATE_IMPORT_JOB, args).await
    }

    /// Asks for the presigned URL through the call path (scope, job owner, budget, audit; a
    /// plan records it with the file instead), then PUTs the file there (audited without a
    /// method and path: the URL is a credential, and the request is not Pleo's API).
    async fn upload_import_csv(
        &mut self,
        job_id: String,
        csv: Vec<u8>,
    ) -> Result<String, HostError> {
        let mut args = Args::new().id(job_id);
        let size = csv.len() as u64;
        if size > MAX_UPLOAD_BYTES {
            args = args.refuse(invalid(format!(
                "the CSV is {size} bytes, over the upload limit of {} MiB",
                MAX_UPLOAD_BYTES >> 20
            )));
        } else if csv.is_empty() {
            args = args.refuse(invalid("the CSV is empty".into()));
        } else if self.plan.as_ref().is_some_and(|p| !p.has_room(size)) {
            args = args.refuse(invalid(format!(
                "the plan cannot hold this CSV as well (at most {} MiB); plan the import in parts",
                crate::plan::MAX_PLAN_BYTES >> 20
            )));
        }
        let data = self.text(&UPLOAD_IMPORT_CSV, args).await?;
        let summary = upload::FileSummary::of(&csv).to_json().to_string();
        if let Some(plan) = &mut self.plan {
            plan.attach_upload(&csv);
            return Ok(summary);
        }
        let started = Instant::now();
        let sent = upload::send(&self.client, &data, csv).await;
        let op = &UPLOAD_IMPORT_CSV;
        let mut call = Call {
            interface: op.interface_name(),
            function: op.function,
            scope: Some(op.scope()),
            latency: started.elapsed(),
            bytes_out: size,
            outcome: "ok",
            ..Call::default()
        };
        match sent {
            Ok(status) => {
                call.status = Some(status);
                self.record(call);
                Ok(summary)
            }
            Err(e) => {
                if let ApiError::Status { status, .. } = &e {
                    call.status = Some(*status);
                }
                let err = self.api_error(e);
                call.outcome = host_outcome(&err);
                self.record(call);
                Err(err)
            }
        }
    }

    async fn run_import_job(&mut self, job_id: String) -> Result<String, HostError> {
        self.text(&RUN_IMPORT_JOB, Args::new().id(job_id)).await
    }

    async fn update_import_job_metadata(
        &mut self,
        job_id: String,
        metadata_json: String,
        merge: bool,
    ) -> Result<String, HostError> {
        let body = metadata(&metadata_json).map(|metadata| {
            json!({"metadata": metadata, "strategy": if merge { "MERGE" } else { "REPLACE" }})
        });
        let args = Args::new().id(job_id).body(body);
        self.text(&UPDATE_IMPORT_JOB_METADATA, args).await
    }

    async fn update_import_job_status(
        &mut self,
        job_id: String,
        status: ImportJobStatus,
        error_type: Option<String>,
        error_message: Option<String>,
    ) -> Result<String, HostError> {
        let args = Args::new()
            .id(job_id)
            .body(status_body(status, error_type, error_message));
        self.text(&UPDATE_IMPORT_JOB_STATUS, args).await
    }
}

fn import_status_name(status: ImportJobStatus) -> &'static str {
    match status {
        ImportJobStatus::UploadInitiated => "UPLOAD_INITIATED",
        ImportJobStatus::Uploaded => "UPLOADED",
        ImportJobStatus::ReadyForImport => "READY_FOR_IMPORT",
        ImportJobStatus::Queued => "QUEUED",
        ImportJobStatus::Processing => "PROCESSING",
        ImportJobStatus::Completed => "COMPLETED",
        ImportJobStatus::Failed => "FAILED",
    }
}

/// Builds `SearchCsvImportJobsRequestV1`: only the filters given (`ids` at most 100).
fn import_search_body(filter: ImportJobFilter) -> Result<Value, HostError> {
    let mut body = Map::new();
    checks::ids("ids", &filter.ids, MAX_FILTER)?;
    let statuses: Vec<String> = filter
        .statuses
        .into_iter()
        .map(|s| import_status_name(s).to_owned())
        .collect();
    for (name, values) in [
        ("ids", filter.ids),
        ("statuses", statuses),
        ("types", filter.types),
    ] {
        if values.is_empty() {
            continue;
        }
        checks::at_most(name, values.len(), MAX_FILTER)?;
        body.insert(name.into(), json!(checks::unique(values)));
    }
    Ok(Value::Object(body))
}

/// A metadata object from the plugin's JSON text: an object, at most [`MAX_METADATA_BYTES`].
fn metadata(text: &str) -> Result<Value, HostError> {
    if text.len() > MAX_METADATA_BYTES {
        return Err(invalid(format!(
            "metadata is {} bytes, more than {MAX_METADATA_BYTES}",
            text.len()
        )));
    }
    match serde_json::from_str::<Value>(text) {
        Ok(value @ Value::Object(_)) => Ok(value),
        _ => Err(invalid("metadata must be a JSON object".into())),
    }
}

/// One character of `CsvFormatV1` (`delimiter`, `quoteCharacter`, `escapeCharacter`).
fn one_char(name: &str, value: &str) -> Result<(), HostError> {
    if value.chars().count() != 1 {
        return Err(invalid(format!("{name} must be one character")));
    }
    Ok(())
}

/// Builds `CsvFormatV1`.
fn csv_format_body(format: CsvFormat) -> Result<Value, HostError> {
    one_char("csvFormat.delimiter", &format.delimiter)?;
    if !["\n", "\r\n"].contains(&format.record_separator.as_str()) {
        return Err(invalid(
            "csvFormat.recordSeparator must be \\n or \\r\\n".into(),
        ));
    }
    let mut body = Map::new();
    body.insert("delimiter".into(), json!(format.delimiter));
    body.insert("recordSeparator".into(), json!(format.record_separator));
    body.insert("ignoreEmptyLines".into(), json!(format.ignore_empty_lines));
    body.insert("skipHeaderRecord".into(), json!(format.skip_header_record));
    for (name, value) in [
        ("quoteCharacter", format.quote_character),
        ("escapeCharacter", format.escape_character),
    ] {
        if let Some(value) = value {
            one_char(&format!("csvFormat.{name}"), &value)?;
            body.insert(name.into(), json!(value));
        }
    }
    Ok(Value::Object(body))
}

/// Builds `CreateCsvImportJobRequestV1`: `{companyId, originalFilename, type: "vendors",
/// csvFormat?, metadata?}`.
fn new_import_job_body(company_id: &str, job: NewImportJob) -> Result<Value, HostError> {
    checks::not_empty("originalFilename", &job.original_filename)?;
    checks::text("originalFilename", &job.original_filename, 1, 255)?;
    let mut body = Map::new();
    body.insert("companyId".into(), json!(company_id));
    body.insert("originalFilename".into(), json!(job.original_filename));
    body.insert("type".into(), json!("vendors"));
    if let Some(format) = job.csv_format {
        body.insert("csvFormat".into(), csv_format_body(format)?);
    }
    if let Some(text) = job.metadata_json {
        body.insert("metadata".into(), metadata(&text)?);
    }
    Ok(Value::Object(body))
}

/// Builds `UpdateStatusRequestV1`: `{status, errorType?, errorMessage?}`; the error type is one
/// of `CsvImportErrorTypeV1`.
fn status_body(
    status: ImportJobStatus,
    error_type: Option<String>,
    error_message: Option<String>,
) -> Result<Value, HostError> {
    const ERROR_TYPES: &[&str] = &[
        "INVALID_FILE_FORMAT",
        "FILE_TOO_LARGE",
        "FILE_TOO_SMALL",
        "FILE_TYPE_NOT_SUPPORTED",
        "FILE_EXTENSION_NOT_SUPPORTED",
        "IMPORT_JOB_NOT_FOUND",
        "INVALID_STATUS_TRANSITION",
        "PROCESSING_FAILED",
    ];
    let mut body = Map::new();
    body.insert("status".into(), json!(import_status_name(status)));
    if let Some(kind) = error_type {
        if !ERROR_TYPES.contains(&kind.as_str()) {
            return Err(invalid(format!(
                "errorType must be one of {}",
                ERROR_TYPES.join(", ")
            )));
        }
        body.insert("errorType".into(), json!(kind));
    }
    if let Some(message) = error_message {
        checks::text("errorMessage", &message, 0, 1000)?;
        body.insert("errorMessage".into(), json!(message));
    }
    Ok(Value::Object(body))
}

fn vendor_state_name(state: VendorState) -> &'static str {
    match state {
        VendorState::Draft => "DRAFT",
        VendorState::Active => "ACTIVE",
        VendorState::Archived => "ARCHIVED",
    }
}

/// Builds `VendorSearchRequestV1`: only the filters given, each list at most 100 values.
fn search_body(filter: VendorFilter) -> Result<Value, HostError> {
    let mut body = Map::new();
    checks::ids("ids", &filter.ids, MAX_FILTER)?;
    let mut countries = Vec::with_capacity(filter.countries.len());
    for country in &filter.countries {
        countries.push(checks::country("countries", country)?);
    }
    let states: Vec<String> = filter
        .states
        .into_iter()
        .map(|s| vendor_state_name(s).to_owned())
        .collect();
    for (name, values) in [
        ("ids", filter.ids),
        ("codes", filter.codes),
        ("externalIds", filter.external_ids),
        ("states", states),
        ("countries", countries),
        ("taxRegistrationNumbers", filter.tax_registration_numbers),
        ("accountingSystems", filter.accounting_systems),
    ] {
        if values.is_empty() {
            continue;
        }
        checks::at_most(name, values.len(), MAX_FILTER)?;
        body.insert(name.into(), json!(checks::unique(values)));
    }
    if let Some(name) = filter.name {
        body.insert("name".into(), json!(name));
    }
    Ok(Value::Object(body))
}

/// The fields create and update share: `companyId`, `name` (not empty), `defaultCurrency`
/// (ISO 4217, upper-cased).
fn vendor_base(
    company_id: &str,
    name: String,
    currency: &str,
) -> Result<Map<String, Value>, HostError> {
    checks::not_empty("name", &name)?;
    let currency = checks::currency("defaultCurrency", currency)?;
    let mut body = Map::new();
    body.insert("companyId".into(), json!(company_id));
    body.insert("name".into(), json!(name));
    body.insert("defaultCurrency".into(), json!(currency));
    Ok(body)
}

/// Builds `VendorCreateRequest`: `{companyId, name, defaultCurrency, code?, externalId?,
/// country?, registrationNumber?, taxRegistrationNumber?}`.
fn new_vendor_body(company_id: &str, vendor: NewVendor) -> Result<Value, HostError> {
    let mut body = vendor_base(company_id, vendor.name, &vendor.default_currency)?;
    optional_fields(
        &mut body,
        vendor.code,
        vendor.external_id,
        vendor.country,
        vendor.registration_number,
        vendor.tax_registration_number,
    )?;
    Ok(Value::Object(body))
}

/// Builds `VendorUpdateRequest`: `{companyId, name, defaultCurrency, externalId, state, code?,
/// country?, registrationNumber?, taxRegistrationNumber?}`.
fn vendor_update_body(company_id: &str, vendor: VendorUpdate) -> Result<Value, HostError> {
    let mut body = vendor_base(company_id, vendor.name, &vendor.default_currency)?;
    body.insert("externalId".into(), json!(vendor.external_id));
    body.insert("state".into(), json!(vendor_state_name(vendor.state)));
    optional_fields(
        &mut body,
        vendor.code,
        None,
        vendor.country,
        vendor.registration_number,
        vendor.tax_registration_number,
    )?;
    Ok(Value::Object(body))
}

fn optional_fields(
    body: &mut Map<String, Value>,
    code: Option<String>,
    external_id: Option<String>,
    country: Option<String>,
    registration_number: Option<String>,
    tax_registration_number: Option<String>,
) -> Result<(), HostError> {
    let country = country
        .map(|c| checks::country("country", &c))
        .transpose()?;
    for (name, value) in [
        ("code", code),
        ("externalId", external_id),
        ("country", country),
        ("registrationNumber", registration_number),
        ("taxRegistrationNumber", tax_registration_number),
    ] {
        if let Some(value) = value {
            body.insert(name.into(), json!(value));
        }
    }
    Ok(())
}

/// Builds `ActivateVendorEventRequest`: `{externalId, code?}`.
fn activate_body(external_id: String, code: Option<String>) -> Value {
    let mut body = Map::new();
    body.insert("externalId".into(), json!(external_id));
    if let Some(code) = code {
        body.insert("code".into(), json!(code));
    }
    Value::Object(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty_filter() -> VendorFilter {
        VendorFilter {
            ids: vec![],
            codes: vec![],
            external_ids: vec![],
            name: None,
            states: vec![],
            countries: vec![],
            tax_registration_numbers: vec![],
            accounting_systems: vec![],
        }
    }

    #[test]
    fn search_sends_only_the_filters_given() {
        assert_eq!(search_body(empty_filter()).unwrap(), json!({}));
        let filter = VendorFilter {
            ids: vec!["v1".into()],
            codes: vec!["K1".into(), "K1".into()],
            external_ids: vec!["X".into()],
            name: Some("Acme".into()),
            states: vec![VendorState::Draft, VendorState::Archived],
            countries: vec!["dk".into()],
            tax_registration_numbers: vec!["DK12345678".into()],
            accounting_systems: vec!["economic".into()],
        };
        assert_eq!(
            search_body(filter).unwrap(),
            json!({"ids": ["v1"], "codes": ["K1"], "externalIds": ["X"], "name": "Acme",
                   "states": ["DRAFT", "ARCHIVED"], "countries": ["DK"],
                   "taxRegistrationNumbers": ["DK12345678"], "accountingSystems": ["economic"]})
        );
    }

    #[test]
    fn search_refuses_what_pleo_would() {
        let mut filter = empty_filter();
        filter.codes = (0..101).map(|i| i.to_string()).collect();
        assert!(search_body(filter).is_err());
        let mut filter = empty_filter();
        filter.accounting_systems = (0..101).map(|i| i.to_string()).collect();
        assert!(search_body(filter).is_err());
        let mut filter = empty_filter();
        filter.countries = vec!["Denmark".into()];
        assert!(search_body(filter).is_err());
        let mut filter = empty_filter();
        filter.ids = vec!["a/b".into()];
        assert!(search_body(filter).is_err());
    }

    #[test]
    fn create_and_update_carry_the_company_in_the_body() {
        let new = NewVendor {
            name: "Acme ApS".into(),
            default_currency: "dkk".into(),
            code: None,
            external_id: Some("ERP-7".into()),
            country: Some("DK".into()),
            registration_number: None,
            tax_registration_number: Some("DK12345678".into()),
        };
        assert_eq!(
            new_vendor_body("c1", new).unwrap(),
            json!({"companyId": "c1", "name": "Acme ApS", "defaultCurrency": "DKK",
                   "externalId": "ERP-7", "country": "DK", "taxRegistrationNumber": "DK12345678"})
        );
        let update = VendorUpdate {
            name: "Acme ApS".into(),
            default_currency: "EUR".into(),
            external_id: "ERP-7".into(),
            state: VendorState::Active,
            code: Some("V7".into()),
            country: None,
            registration_number: None,
            tax_registration_number: None,
        };
        assert_eq!(
            vendor_update_body("c1", update).unwrap(),
            json!({"companyId": "c1", "name": "Acme ApS", "defaultCurrency": "EUR",
                   "externalId": "ERP-7", "state": "ACTIVE", "code": "V7"})
        );
        let bad = NewVendor {
            name: "Acme".into(),
            default_currency: "Euro".into(),
            code: None,
            external_id: None,
            country: None,
            registration_number: None,
            tax_registration_number: None,
        };
        assert!(new_vendor_body("c1", bad).is_err());
    }

    #[test]
    fn activation_names_the_external_id() {
        assert_eq!(
            activate_body("ERP-7".into(), None),
            json!({"externalId": "ERP-7"})
        );
        assert_eq!(
            activate_body("ERP-7".into(), Some("V7".into())),
            json!({"externalId": "ERP-7", "code": "V7"})
        );
    }

    #[test]
    fn import_job_bodies_are_built_and_checked_before_sending() {
        let job = NewImportJob {
            original_filename: "vendors.csv".into(),
            csv_format: Some(CsvFormat {
                delimiter: ";".into(),
                quote_character: Some("\"".into()),
                escape_character: None,
                record_separator: "\n".into(),
                ignore_empty_lines: true,
                skip_header_record: true,
            }),
            metadata_json: Some(r#"{"source": {"file": "a.csv"}}"#.into()),
        };
        assert_eq!(
            new_import_job_body("c1", job).unwrap(),
            json!({"companyId": "c1", "originalFilename": "vendors.csv", "type": "vendors",
                   "csvFormat": {"delimiter": ";", "quoteCharacter": "\"",
                                 "recordSeparator": "\n", "ignoreEmptyLines": true,
                                 "skipHeaderRecord": true},
                   "metadata": {"source": {"file": "a.csv"}}})
        );
        let bad = |filename: &str, delimiter: &str, metadata: Option<String>| {
            new_import_job_body(
                "c1",
                NewImportJob {
                    original_filename: filename.into(),
                    csv_format: Some(CsvFormat {
                        delimiter: delimiter.into(),
                        quote_character: None,
                        escape_character: None,
                        record_separator: "\r\n".into(),
                        ignore_empty_lines: false,
                        skip_header_record: true,
                    }),
                    metadata_json: metadata,
                },
            )
            .is_err()
        };
        assert!(!bad("a.csv", ",", None));
        assert!(bad(" ", ",", None));
        assert!(bad(&"a".repeat(256), ",", None));
        assert!(bad("a.csv", ",;", None));
        assert!(bad("a.csv", ",", Some("[1]".into())));
        assert!(bad("a.csv", ",", Some("{".into())));
        let huge = format!(r#"{{"k": {{"v": "{}"}}}}"#, "x".repeat(MAX_METADATA_BYTES));
        assert!(bad("a.csv", ",", Some(huge)));
    }

    #[test]
    fn status_and_search_bodies_use_pleos_names() {
        assert_eq!(
            status_body(
                ImportJobStatus::Failed,
                Some("PROCESSING_FAILED".into()),
                Some("no".into())
            )
            .unwrap(),
            json!({"status": "FAILED", "errorType": "PROCESSING_FAILED", "errorMessage": "no"})
        );
        assert!(status_body(ImportJobStatus::Failed, Some("OOPS".into()), None).is_err());
        let filter = ImportJobFilter {
            ids: vec![],
            statuses: vec![ImportJobStatus::ReadyForImport, ImportJobStatus::Completed],
            types: vec!["vendors".into()],
        };
        assert_eq!(
            import_search_body(filter).unwrap(),
            json!({"statuses": ["READY_FOR_IMPORT", "COMPLETED"], "types": ["vendors"]})
        );
    }
}
