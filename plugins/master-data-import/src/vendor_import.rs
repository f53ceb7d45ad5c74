//! `/in/vendor-import.csv`: vendors in bulk through Pleo's vendor CSV import. The plugin
//! creates an import job, hands the file to the host (`upload-import-csv`: the host fetches the
//! presigned URL and uploads it, the plugin never sees the URL) and runs the job; then it waits
//! for the job to finish and writes its row errors to `/out/vendor-import-errors.csv`.
//!
//! The file is sent as it is: its columns are those of Pleo's importer (`name`,
//! `defaultCurrency`, `externalId`, `code`, `country`, `registrationNumber`,
//! `taxRegistrationNumber`, with a header row), and the importer checks the rows. The job
//! carries the file's size and fingerprint in its metadata, so a later run finds the job this
//! file already made instead of importing it again: planning again after an apply plans no
//! write, and reports how the import ended.

use pleo_plugin::types::ImportJobStatus;
use pleo_plugin::{VendorImportError, VendorImportJob, log, vendors_read, vendors_write};

pub const FILE: &str = "vendor-import.csv";
/// Larger than the host's upload limit on purpose: the host, not the plugin, refuses a file
/// over it (before any request).
const MAX_BYTES: u64 = 16 << 20;
/// How often the plugin looks at a running job, a second apart.
const MAX_POLLS: u32 = 120;

/// Imports the file if it is there; `None` if not, else the summary part.
pub fn run() -> Result<Option<String>, String> {
    let path = format!("/in/{FILE}");
    let size = match std::fs::metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{FILE}: cannot read it: {e}")),
        Ok(meta) => meta.len(),
    };
    if size > MAX_BYTES {
        return Err(format!("{FILE}: {size} bytes, more than {MAX_BYTES}"));
    }
    let csv = std::fs::read(&path).map_err(|e| format!("{FILE}: cannot read it: {e}"))?;
    let fingerprint = fingerprint(&csv);
    let job = match find_job(&fingerprint)? {
        Some(job) => {
            log::info(format!("{FILE} was imported before by job {}", job.id));
            job
        }
        None => {
            let metadata = serde_json::json!({
                "masterDataImport": {"file": FILE, "bytes": csv.len(), "fnv1a64": fingerprint}
            });
            let new = vendors_write::NewImportJob {
                original_filename: FILE.into(),
                csv_format: None,
                metadata_json: Some(metadata.to_string()),
            };
            let job: VendorImportJob = decode(&vendors_write::create_import_job(&new)?)?;
            let upload = vendors_write::upload_import_csv(&job.id, &csv)?;
            log::info(format!("{FILE} uploaded: {upload}"));
            decode(&vendors_write::run_import_job(&job.id)?)?
        }
    };
    let job = wait(job)?;
    match job.status.as_deref() {
        Some("COMPLETED") => {
            let errors = errors(&job.id)?;
            Ok(Some(format!(
                "vendor import: {} created, {} failed{}",
                job.rows_succeeded.unwrap_or(0),
                job.rows_failed.unwrap_or(0),
                if errors == 0 {
                    String::new()
                } else {
                    format!(" (see vendor-import-errors.csv, {errors} rows)")
                }
            )))
        }
        Some("FAILED") => Err(format!(
            "the vendor import failed: {} {}",
            job.error_code.as_deref().unwrap_or("?"),
            job.error_message.as_deref().unwrap_or("")
        )),
        // A plan run: the job, its upload and its run are planned, not made.
        None => Ok(Some(
            "vendor import: 1 job planned (create, upload, run)".into(),
        )),
        Some(other) => Ok(Some(format!("vendor import: job {} is {other}", job.id))),
    }
}

/// FNV-1a (64 bits) of the file: enough to recognise the same file again, not a security
/// measure (the host records the upload's SHA-256).
fn fingerprint(bytes: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

fn decode<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
    serde_json::from_str(text).map_err(|e| format!("unexpected answer: {e}"))
}

/// The vendor import job this file made before, if any.
fn find_job(fingerprint: &str) -> Result<Option<VendorImportJob>, String> {
    let filter = vendors_read::ImportJobFilter {
        ids: vec![],
        statuses: vec![],
        types: vec!["vendors".into()],
    };
    let jobs: Vec<VendorImportJob> =
        pleo_plugin::pages(100, |page| vendors_read::search_import_jobs(&filter, page))
            .items()
            .collect::<Result<_, pleo_plugin::Error>>()?;
    Ok(jobs.into_iter().find(|j| {
        j.metadata
            .as_ref()
            .and_then(|m| m.get("masterDataImport"))
            .and_then(|m| m.get("fnv1a64"))
            .and_then(|f| f.as_str())
            == Some(fingerprint)
    }))
}

/// Looks at a started job until it is done (or failed), a second apart, at most [`MAX_POLLS`]
/// times.
fn wait(mut job: VendorImportJob) -> Result<VendorImportJob, String> {
    for poll in 0..MAX_POLLS {
        // Only a started job moves on by itself; any other is reported as it is.
        if !matches!(
            job.status(),
            Some(ImportJobStatus::Queued | ImportJobStatus::Processing)
        ) {
            return Ok(job);
        }
        if poll > 0 {
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
        job = decode(&vendors_read::get_import_job(&job.id)?)?;
    }
    Err(format!(
        "the vendor import job {} did not finish within {MAX_POLLS} looks",
        job.id
    ))
}

/// Writes the job's row errors to `/out/vendor-import-errors.csv`; returns how many.
fn errors(job_id: &str) -> Result<usize, String> {
    let errors: Vec<VendorImportError> = pleo_plugin::pages(100, |page| {
        vendors_read::list_import_job_errors(job_id, page)
    })
    .items()
    .collect::<Result<_, pleo_plugin::Error>>()?;
    if errors.is_empty() {
        return Ok(0);
    }
    let mut report = pleo_plugin::csv::Csv::new(["row", "error_code", "error_message", "raw_data"]);
    for e in &errors {
        let row = e.row_number.to_string();
        report.row([
            pleo_plugin::csv::Cell::decimal(&row),
            pleo_plugin::csv::Cell::text(&e.error_code),
            pleo_plugin::csv::Cell::text(&e.error_message),
            pleo_plugin::csv::Cell::text(&e.raw_data),
        ]);
    }
    std::fs::write("/out/vendor-import-errors.csv", report.finish())
        .map_err(|e| format!("cannot write /out/vendor-import-errors.csv: {e}"))?;
    Ok(errors.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_is_fnv1a_64() {
        assert_eq!(fingerprint(b""), "cbf29ce484222325");
        assert_eq!(fingerprint(b"a"), "af63dc4c8601ec8c");
        assert_ne!(fingerprint(b"name\nA"), fingerprint(b"name\nB"));
    }
}
