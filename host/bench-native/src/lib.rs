//! The baseline of `scripts/bench`'s export: the same requests the host sends for a plugin
//! paging through the accounting entries, from a plain program that decodes each page once.
//!
//! A crate of its own so that the workspace can build it optimised in the dev profile, as it
//! builds the host's answer reading (`pleo-scan`): the benchmark then compares the host with
//! a client built the way anyone would build one.

use serde::Deserialize;
use serde::de::IgnoredAny;

/// A client of `POST /v1/accounting-entries:search` with the mock's key.
pub struct NativeClient {
    http: reqwest::Client,
    url: String,
    company_id: String,
    auth: String,
}

impl NativeClient {
    /// For the Pleo API at `base_url` (no trailing slash), with `key` as Basic user name.
    pub fn new(base_url: &str, company_id: &str, key: &str) -> Result<NativeClient, String> {
        use base64::Engine as _;
        let http = reqwest::Client::builder()
            .build()
            .map_err(|e| e.to_string())?;
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{key}:"));
        Ok(NativeClient {
            http,
            url: format!("{base_url}/v1/accounting-entries:search"),
            company_id: company_id.into(),
            auth: format!("Basic {token}"),
        })
    }

    /// Pages through the entries (`limit` a page; all, or `max_pages`), decoding each page;
    /// the entry count.
    pub async fn export(&self, limit: u32, max_pages: Option<u64>) -> Result<u64, String> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct PageInfo {
            has_next_page: bool,
            end_cursor: Option<String>,
        }
        #[derive(Deserialize)]
        struct Envelope {
            data: Vec<IgnoredAny>,
            pagination: PageInfo,
        }
        let (mut entries, mut pages) = (0u64, 0u64);
        let mut after: Option<String> = None;
        loop {
            let mut query = vec![
                ("company_id", self.company_id.clone()),
                ("limit", limit.to_string()),
            ];
            if let Some(cursor) = &after {
                query.push(("after", cursor.clone()));
            }
            let response = self
                .http
                .post(&self.url)
                .header("authorization", &self.auth)
                .header("accept", "application/json")
                .header("content-type", "application/json;charset=UTF-8")
                .query(&query)
                .body(r#"{"includeDeleted":false}"#)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if !response.status().is_success() {
                return Err(format!("the mock answered {}", response.status()));
            }
            let body = response.bytes().await.map_err(|e| e.to_string())?;
            let page: Envelope = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
            entries += page.data.len() as u64;
            pages += 1;
            match page.pagination {
                PageInfo {
                    has_next_page: true,
                    end_cursor: Some(cursor),
                } if max_pages.is_none_or(|max| pages < max) => after = Some(cursor),
                _ => return Ok(entries),
            }
        }
    }
}
