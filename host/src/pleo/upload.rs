//! The upload of a file to a presigned URL Pleo hands out (the vendor CSV import,
//! `upload-import-csv`). A plugin has no network, so the host sends the file; the URL is an
//! upload credential of its own, so the request is nothing like the API client's: no
//! `Authorization` header and no key, no redirects followed, its own timeout, only to an
//! `https` URL (or, against the mock, to the loopback origin of the base URL), and a size the
//! caller checked against [`crate::limits::MAX_UPLOAD_BYTES`] before any request. No error
//! names the URL.

use std::time::Duration;

use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{ApiError, is_loopback};

/// What the plan, the audit and the plugin are told of a file: its size, its rows (records
/// after the header, counted outside quotes) and its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSummary {
    pub bytes: u64,
    pub rows: u64,
    pub sha256: String,
}

impl FileSummary {
    pub fn of(csv: &[u8]) -> FileSummary {
        FileSummary {
            bytes: csv.len() as u64,
            rows: count_rows(csv),
            sha256: hex::encode(Sha256::digest(csv)),
        }
    }

    pub fn to_json(&self) -> Value {
        json!({"bytes": self.bytes, "rows": self.rows, "sha256": self.sha256})
    }
}

/// Non-blank records outside `"` quotes, less the header.
fn count_rows(csv: &[u8]) -> u64 {
    let mut records = 0u64;
    let mut quoted = false;
    let mut blank = true;
    for &b in csv {
        match b {
            b'"' => {
                quoted = !quoted;
                blank = false;
            }
            b'\n' if !quoted => {
                records += u64::from(!blank);
                blank = true;
            }
            b'\r' => {}
            _ => blank = false,
        }
    }
    records += u64::from(!blank);
    records.saturating_sub(1)
}

/// The `presignedUrl` of a `PresignedUrlV1` object (the `data` of Pleo's answer).
pub fn presigned_url(data: &str) -> Result<String, ApiError> {
    let value: Value = serde_json::from_str(data).map_err(|e| ApiError::Decode(e.to_string()))?;
    value
        .get("presignedUrl")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| ApiError::Decode("the answer names no presignedUrl".into()))
}

/// Where the file may go: an `https` URL without credentials in it, or, when the client talks
/// to a loopback base URL (the mock), a URL of that same origin.
pub fn check_url(base_url: &str, presigned: &str) -> Result<reqwest::Url, ApiError> {
    let refused = |why: &str| ApiError::Decode(format!("the presigned upload URL {why}"));
    let url = reqwest::Url::parse(presigned).map_err(|_| refused("is not a URL"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refused("carries credentials of its own"));
    }
    match url.scheme() {
        "https" if url.host_str().is_some_and(|h| !h.is_empty()) => Ok(url),
        "http" if is_loopback(base_url) => {
            let base = reqwest::Url::parse(base_url).map_err(|_| refused("cannot be checked"))?;
            if url.origin() == base.origin() {
                Ok(url)
            } else {
                Err(refused("is plain http to another origin than the mock's"))
            }
        }
        _ => Err(refused("is not https")),
    }
}

/// The file's way to Pleo once Pleo answered `:get-presigned-url` with `data`: the URL read
/// from the answer and checked, then the PUT with the client's timeout. Used by a run and by
/// `apply`, so both send a file the same way.
pub async fn send(client: &super::PleoClient, data: &str, csv: Vec<u8>) -> Result<u16, ApiError> {
    let url = check_url(client.base_url(), &presigned_url(data)?)?;
    put(url, csv, client.options().request_timeout).await
}

/// PUTs `csv` to the checked `url`: no key, no redirects, `timeout` for the whole exchange.
/// A non-2xx answer is an `UPLOAD_FAILED` status error that names the status only.
pub async fn put(url: reqwest::Url, csv: Vec<u8>, timeout: Duration) -> Result<u16, ApiError> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .timeout(timeout)
        .user_agent(concat!("pleo-host/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none());
    if is_loopback(url.as_str()) {
        builder = builder.no_proxy();
    }
    let client = builder
        .build()
        .map_err(|e| ApiError::Unreachable(format!("HTTP client setup failed: {e}")))?;
    let response = client
        .put(url)
        .header(CONTENT_TYPE, "text/csv")
        .body(csv)
        .send()
        .await
        // Only the kind of failure: reqwest's text would name the URL, a credential.
        .map_err(|e| {
            ApiError::Unreachable(
                if e.is_timeout() {
                    "the upload to the presigned URL timed out"
                } else {
                    "the upload to the presigned URL failed to connect or was cut"
                }
                .into(),
            )
        })?;
    let status = response.status().as_u16();
    if response.status().is_success() {
        Ok(status)
    } else {
        Err(ApiError::Status {
            status,
            code: "UPLOAD_FAILED".into(),
            message: format!("the presigned upload URL answered {status}"),
            retry_after: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_counted_outside_quotes_without_the_header() {
        assert_eq!(FileSummary::of(b"name\nA\nB\n").rows, 2);
        assert_eq!(FileSummary::of(b"name\r\n\"A\nB\"\r\n\r\nC").rows, 2);
        assert_eq!(FileSummary::of(b"").rows, 0);
        assert_eq!(
            FileSummary::of(b"x").sha256,
            "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"
        );
    }

    #[test]
    fn only_https_or_the_mocks_own_origin_is_an_upload_target() {
        let mock = "http://127.0.0.1:4010";
        assert!(check_url(mock, "http://127.0.0.1:4010/mock-s3/x?token=t").is_ok());
        assert!(check_url(mock, "https://bucket.s3.amazonaws.com/k?X-Amz=1").is_ok());
        for bad in [
            "http://127.0.0.1:4011/x",
            "http://example.com/x",
            "ftp://127.0.0.1:4010/x",
            "https://user:pw@bucket.example/x",
            "file:///etc/passwd",
            "not a url",
        ] {
            assert!(check_url(mock, bad).is_err(), "{bad}");
        }
        let pleo = "https://external.pleo.io";
        assert!(check_url(pleo, "http://127.0.0.1:4010/x").is_err());
        assert!(check_url(pleo, "https://bucket.s3.amazonaws.com/k").is_ok());
        // No error names the URL.
        let e = check_url(pleo, "http://secret-token.example/x").unwrap_err();
        assert!(!e.to_string().contains("secret-token"), "{e}");
    }

    #[test]
    fn the_url_is_read_from_the_answer() {
        assert_eq!(
            presigned_url(r#"{"presignedUrl":"https://b/k"}"#).unwrap(),
            "https://b/k"
        );
        assert!(presigned_url(r#"{"url":"https://b/k"}"#).is_err());
        assert!(presigned_url("[").is_err());
    }
}
