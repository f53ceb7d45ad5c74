//! The HTTP client for Pleo's External API. It owns the `Authorization` header and the base
//! URL; callers describe requests as method + path + query + body and get back Pleo's `data`
//! as JSON text, a page, or an [`ApiError`]. Nothing here knows about plugins.
//!
//! Seams for later: retries, rate limiting and audit all wrap [`PleoClient::send`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::credential::ApiKey;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Largest response body the host accepts from Pleo (a page of 100 entries is ~100 KB).
const MAX_BODY_BYTES: usize = 16 << 20;

/// One request, as the capability modules describe it. The host adds auth and the base URL.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    pub method: Method,
    /// Path with the version prefix, ids already validated: `/v2/employees/{id}`.
    pub path: String,
    pub query: Vec<(&'static str, String)>,
    pub body: Option<serde_json::Value>,
}

impl ApiRequest {
    pub fn get(path: impl Into<String>) -> Self {
        ApiRequest {
            method: Method::GET,
            path: path.into(),
            query: Vec::new(),
            body: None,
        }
    }

    pub fn post(path: impl Into<String>, body: serde_json::Value) -> Self {
        ApiRequest {
            method: Method::POST,
            path: path.into(),
            query: Vec::new(),
            body: Some(body),
        }
    }

    pub fn query(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.query.push((name, value.into()));
        self
    }

    pub fn query_opt(self, name: &'static str, value: Option<impl Into<String>>) -> Self {
        match value {
            Some(v) => self.query(name, v),
            None => self,
        }
    }
}

/// A failed API call, in terms a plugin or an operator can act on. Never holds the key.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// Pleo answered with an error status and (usually) an `{type, message}` body.
    #[error("Pleo answered {status} {code}: {message}")]
    Status {
        status: u16,
        code: String,
        message: String,
        retry_after: Option<u32>,
    },
    /// No answer: connection refused, DNS, TLS or timeout.
    #[error("Pleo API unreachable: {0}")]
    Unreachable(String),
    /// An answer the host cannot read as Pleo's documented shape.
    #[error("unexpected response from Pleo: {0}")]
    Decode(String),
}

/// One page of a list operation; `data` is the JSON array exactly as Pleo sent it.
#[derive(Debug, Clone)]
pub struct Page {
    pub data: String,
    pub next_cursor: Option<String>,
    pub total: Option<u64>,
}

/// What `GET /v1/introspect` tells about the key.
#[derive(Debug, Clone)]
pub struct Introspection {
    pub company_id: Option<String>,
    pub scopes: crate::scopes::ScopeSet,
    pub auth_method: String,
}

#[derive(Clone)]
pub struct PleoClient {
    http: reqwest::Client,
    base_url: Arc<str>,
    auth: HeaderValue,
    requests: Arc<AtomicU64>,
}

impl std::fmt::Debug for PleoClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PleoClient")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl PleoClient {
    pub fn new(base_url: &str, key: &ApiKey) -> Result<PleoClient, ApiError> {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .pool_idle_timeout(Duration::from_secs(90))
            .user_agent(concat!("pleo-host/", env!("CARGO_PKG_VERSION")))
            // Never follow redirects: a redirect could carry the Authorization header elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ApiError::Unreachable(format!("HTTP client setup failed: {e}")))?;
        Ok(PleoClient {
            http,
            base_url: base_url.trim_end_matches('/').into(),
            auth: key.authorization(),
            requests: Arc::new(AtomicU64::new(0)),
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Requests sent by this client (and its clones) so far.
    pub fn request_count(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Sends a request and returns the body of a 2xx answer.
    pub async fn send(&self, req: &ApiRequest) -> Result<Vec<u8>, ApiError> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let url = format!("{}{}", self.base_url, req.path);
        let mut builder = self
            .http
            .request(req.method.clone(), url)
            .header(AUTHORIZATION, self.auth.clone())
            .header(ACCEPT, "application/json")
            .query(&req.query);
        if let Some(body) = &req.body {
            builder = builder
                .header(CONTENT_TYPE, "application/json;charset=UTF-8")
                .body(serde_json::to_vec(body).map_err(|e| ApiError::Decode(e.to_string()))?);
        }
        let response = builder.send().await.map_err(transport_error)?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        if response
            .content_length()
            .is_some_and(|n| n > MAX_BODY_BYTES as u64)
        {
            return Err(ApiError::Decode(format!(
                "response larger than {MAX_BODY_BYTES} bytes"
            )));
        }
        let body = response.bytes().await.map_err(transport_error)?;
        if body.len() > MAX_BODY_BYTES {
            return Err(ApiError::Decode(format!(
                "response larger than {MAX_BODY_BYTES} bytes"
            )));
        }
        if status.is_success() {
            Ok(body.to_vec())
        } else {
            Err(status_error(status, &body, retry_after))
        }
    }

    /// A single-object endpoint: returns the JSON text of `data`.
    pub async fn get_object(&self, req: &ApiRequest) -> Result<String, ApiError> {
        #[derive(Deserialize)]
        struct Envelope<'a> {
            #[serde(borrow)]
            data: &'a RawValue,
        }
        let body = self.send(req).await?;
        let env: Envelope = serde_json::from_slice(&body).map_err(decode_error)?;
        Ok(env.data.get().to_owned())
    }

    /// A cursor-paginated list endpoint.
    pub async fn get_page(&self, req: &ApiRequest) -> Result<Page, ApiError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct PageInfo {
            has_next_page: bool,
            end_cursor: Option<String>,
            total: Option<u64>,
        }
        #[derive(Deserialize)]
        struct Envelope<'a> {
            #[serde(borrow)]
            data: &'a RawValue,
            pagination: PageInfo,
        }
        let body = self.send(req).await?;
        let env: Envelope = serde_json::from_slice(&body).map_err(decode_error)?;
        if !env.data.get().starts_with('[') {
            return Err(ApiError::Decode(
                "`data` of a list response is not an array".into(),
            ));
        }
        let next_cursor = match (env.pagination.has_next_page, env.pagination.end_cursor) {
            (true, Some(cursor)) => Some(cursor),
            (true, None) => {
                return Err(ApiError::Decode(
                    "hasNextPage is true but endCursor is missing".into(),
                ));
            }
            (false, _) => None,
        };
        Ok(Page {
            data: env.data.get().to_owned(),
            next_cursor,
            total: env.pagination.total,
        })
    }

    /// `GET /v1/introspect`: the key's company and scopes.
    pub async fn introspect(&self) -> Result<Introspection, ApiError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Data {
            auth_method: Option<String>,
            scope: Option<String>,
            #[serde(rename = "subjectURN")]
            subject_urn: Option<String>,
        }
        let data = self.get_object(&ApiRequest::get("/v1/introspect")).await?;
        let data: Data = serde_json::from_str(&data).map_err(decode_error)?;
        Ok(Introspection {
            company_id: data
                .subject_urn
                .as_deref()
                .and_then(|urn| urn.strip_prefix("urn:pleo:company:"))
                .map(str::to_owned),
            scopes: crate::scopes::parse_list(data.scope.as_deref().unwrap_or("")),
            auth_method: data.auth_method.unwrap_or_default(),
        })
    }
}

fn transport_error(e: reqwest::Error) -> ApiError {
    // reqwest's Display includes the URL but never headers; keep only the kind of failure.
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "connection dropped while reading the answer"
    } else {
        "request failed"
    };
    ApiError::Unreachable(kind.to_owned())
}

fn decode_error(e: serde_json::Error) -> ApiError {
    ApiError::Decode(e.to_string())
}

/// Builds the error for a non-2xx answer from Pleo's `{type, message}` body when present.
fn status_error(status: StatusCode, body: &[u8], retry_after: Option<u32>) -> ApiError {
    #[derive(Deserialize)]
    struct ExceptionInfo {
        #[serde(rename = "type")]
        kind: Option<String>,
        message: Option<String>,
    }
    let info: Option<ExceptionInfo> = serde_json::from_slice(body).ok();
    let code = info
        .as_ref()
        .and_then(|i| i.kind.clone())
        .unwrap_or_else(|| {
            status
                .canonical_reason()
                .unwrap_or("ERROR")
                .to_uppercase()
                .replace(' ', "_")
        });
    let mut message = info.and_then(|i| i.message).unwrap_or_default();
    if message.len() > 500 {
        message.truncate(message.floor_char_boundary(500));
    }
    ApiError::Status {
        status: status.as_u16(),
        code,
        message,
        retry_after,
    }
}
