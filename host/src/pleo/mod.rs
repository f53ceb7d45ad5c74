//! The HTTP client for Pleo's External API. It owns the `Authorization` header and the base
//! URL; callers describe requests as method + path + query + body and get back Pleo's `data`
//! as JSON text, a page, or an [`ApiError`]. Nothing here knows about plugins.
//!
//! Every request goes through [`PleoClient::send`]: it waits for a token from the key's rate
//! limiter ([`rate_limit`], shared by every client of the process that uses the key), sends
//! over the one connection pool, and repeats transient failures as the [`retry`] policy says
//! (only for requests that are safe to repeat, see [`ApiRequest::repeat`]). Waits
//! are counted ([`WaitStats`]) and announced to an optional [`WaitHook`].

pub mod rate_limit;
pub mod retry;
pub mod upload;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use crate::credential::{ApiKey, Redactor};
pub use rate_limit::RateLimit;
use rate_limit::RateLimiter;
pub use retry::RetryPolicy;
use retry::{Failure, Repeat, Verdict};

/// How the client talks to Pleo: `[client]` in pleo.toml.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientOptions {
    /// Time to establish a connection (TCP and TLS).
    pub connect_timeout: Duration,
    /// Time for one attempt, from sending to the last byte of the answer.
    pub request_timeout: Duration,
    pub retry: RetryPolicy,
    /// Shared by every client in the process that uses the same key against the same Pleo.
    pub rate_limit: RateLimit,
    /// Fetch the next page of a list a plugin is walking while it works on this one.
    pub read_ahead: bool,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            retry: RetryPolicy::default(),
            rate_limit: RateLimit::default(),
            read_ahead: true,
        }
    }
}

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
    /// A write that may be repeated safely; see [`ApiRequest::idempotent`].
    pub idempotent: bool,
}

impl ApiRequest {
    pub fn get(path: impl Into<String>) -> Self {
        ApiRequest {
            method: Method::GET,
            path: path.into(),
            query: Vec::new(),
            body: None,
            idempotent: false,
        }
    }

    pub fn post(path: impl Into<String>, body: serde_json::Value) -> Self {
        ApiRequest {
            method: Method::POST,
            path: path.into(),
            query: Vec::new(),
            body: Some(body),
            idempotent: false,
        }
    }

    pub fn put(path: impl Into<String>, body: serde_json::Value) -> Self {
        ApiRequest {
            method: Method::PUT,
            body: Some(body),
            ..ApiRequest::get(path)
        }
    }

    pub fn delete(path: impl Into<String>) -> Self {
        ApiRequest {
            method: Method::DELETE,
            ..ApiRequest::get(path)
        }
    }

    /// A `POST` without a body, for Pleo's actions such as `/v1/vendors/{id}:archive`.
    pub fn post_empty(path: impl Into<String>) -> Self {
        ApiRequest {
            method: Method::POST,
            ..ApiRequest::get(path)
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

    /// Marks a write as safe to repeat, so that the client retries it like a read after a lost
    /// answer or a 502/503/504 (Pleo may have applied it already). Only for writes that Pleo
    /// applies twice with the same effect as once; the capability that sets it must say why in
    /// a comment (e.g. export item updates are idempotent by entry, job events by state).
    pub fn idempotent(mut self) -> Self {
        self.idempotent = true;
        self
    }

    /// What sending this request twice may do: reads (`GET`, `HEAD` and the read-only
    /// `POST …:search` endpoints) change nothing, writes marked
    /// [`idempotent`](Self::idempotent) act once, any other write may act twice.
    pub fn repeat(&self) -> Repeat {
        let read = self.method == Method::GET
            || self.method == Method::HEAD
            || (self.method == Method::POST && self.path.ends_with(":search"));
        match (read, self.idempotent) {
            (true, _) => Repeat::Read,
            (false, true) => Repeat::IdempotentWrite,
            (false, false) => Repeat::Write,
        }
    }
}

/// What the client waited for and repeated: for a run report, progress output or the audit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WaitStats {
    /// HTTP requests sent; every attempt counts.
    pub requests: u64,
    /// Attempts that repeated a failed one.
    pub retries: u64,
    /// Time spent before those repeats (backoff and `Retry-After`).
    pub retry_wait: Duration,
    /// Requests that waited for the rate limiter before they were sent.
    pub throttled: u64,
    /// Time spent waiting for the rate limiter.
    pub throttle_wait: Duration,
}

/// Attempts by how they ended: the HTTP status Pleo answered with, or `None` when no answer
/// came (connection, DNS, TLS, timeout). At most 901 keys: a status is 100..=999 by
/// construction of [`StatusCode`].
pub type StatusCounts = BTreeMap<Option<u16>, u64>;

#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    retries: AtomicU64,
    retry_wait_us: AtomicU64,
    throttled: AtomicU64,
    throttle_wait_us: AtomicU64,
    statuses: Mutex<StatusCounts>,
}

impl Counters {
    fn snapshot(&self) -> WaitStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        WaitStats {
            requests: get(&self.requests),
            retries: get(&self.retries),
            retry_wait: Duration::from_micros(get(&self.retry_wait_us)),
            throttled: get(&self.throttled),
            throttle_wait: Duration::from_micros(get(&self.throttle_wait_us)),
        }
    }
}

fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// A wait the client is about to start.
#[derive(Debug, Clone, Copy)]
pub enum WaitEvent<'a> {
    /// The key's rate limiter holds the next request back for `wait`.
    RateLimit { wait: Duration },
    /// Attempt `attempt` of `method path` failed with `cause`; the next of at most
    /// `max_attempts` goes out after `wait`. `cause` is as Pleo sent it: redact it before
    /// showing or recording it.
    Retry {
        method: &'a Method,
        path: &'a str,
        attempt: u32,
        max_attempts: u32,
        wait: Duration,
        cause: &'a ApiError,
    },
}

/// Hears about every wait of a client (see [`PleoClient::for_run`]). Called on the request's
/// task, so it must be quick.
pub type WaitHook = Arc<dyn Fn(&WaitEvent<'_>) + Send + Sync>;

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
    pub prev_cursor: Option<String>,
    pub total: Option<u64>,
}

/// A 2xx answer of Pleo.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
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
    /// Scrubs the key from Pleo's error messages before anything else reads or cuts them.
    redactor: Redactor,
    options: ClientOptions,
    limiter: Arc<RateLimiter>,
    /// What this client and all its clones did.
    totals: Arc<Counters>,
    /// What one run did, for a clone made by [`PleoClient::for_run`].
    run: Option<Arc<Counters>>,
    hook: Option<WaitHook>,
    /// Draws for the backoff jitter.
    jitter: Arc<Mutex<StdRng>>,
}

impl std::fmt::Debug for PleoClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PleoClient")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl PleoClient {
    /// A client with the default [`ClientOptions`].
    pub fn new(base_url: &str, key: &ApiKey) -> Result<PleoClient, ApiError> {
        PleoClient::with_options(base_url, key, ClientOptions::default())
    }

    pub fn with_options(
        base_url: &str,
        key: &ApiKey,
        options: ClientOptions,
    ) -> Result<PleoClient, ApiError> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            .timeout(options.request_timeout)
            .pool_idle_timeout(Duration::from_secs(90))
            .user_agent(concat!("pleo-host/", env!("CARGO_PKG_VERSION")))
            // Never follow redirects: a redirect could carry the Authorization header elsewhere.
            .redirect(reqwest::redirect::Policy::none());
        // Plain HTTP (the embedded mock) needs no CA roots; loading the system's takes ~4 ms of
        // every start. Without redirects this client only ever talks to `base_url`.
        if base_url.starts_with("http://") {
            builder = builder.tls_certs_only([]);
        }
        // A proxy from HTTP_PROXY/ALL_PROXY must never see the loopback mock's traffic (with the
        // key in its headers), nor turn a local test into a remote one.
        if is_loopback(base_url) {
            builder = builder.no_proxy();
        }
        let http = builder
            .build()
            .map_err(|e| ApiError::Unreachable(format!("HTTP client setup failed: {e}")))?;
        let base_url: Arc<str> = base_url.trim_end_matches('/').into();
        let auth = key.authorization();
        // The limiter is per key and per Pleo; it is found by a fingerprint, never the key.
        let key_id: [u8; 32] = Sha256::new()
            .chain_update(base_url.as_bytes())
            .chain_update([0])
            .chain_update(auth.as_bytes())
            .finalize()
            .into();
        // The jitter needs no cryptographic quality, only different draws per process.
        let seed = uuid::Uuid::new_v4().as_u64_pair().0;
        Ok(PleoClient {
            http,
            base_url,
            auth,
            redactor: key.redactor(),
            options,
            limiter: rate_limit::shared(key_id, options.rate_limit),
            totals: Arc::default(),
            run: None,
            hook: None,
            jitter: Arc::new(Mutex::new(StdRng::seed_from_u64(seed))),
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// Requests sent by this client and its clones so far; every attempt counts.
    pub fn request_count(&self) -> u64 {
        self.totals.requests.load(Ordering::Relaxed)
    }

    /// A clone for one run: it shares the connection pool, the rate limiter and the totals,
    /// counts its own waits ([`PleoClient::run_stats`]) and tells `hook` about each one.
    pub fn for_run(&self, hook: Option<WaitHook>) -> PleoClient {
        PleoClient {
            run: Some(Arc::default()),
            hook,
            ..self.clone()
        }
    }

    /// Waits and retries of this run (a client from [`PleoClient::for_run`]), else of the
    /// client and all its clones.
    pub fn run_stats(&self) -> WaitStats {
        self.run.as_ref().unwrap_or(&self.totals).snapshot()
    }

    /// Waits and retries of this client and all its clones.
    pub fn stats(&self) -> WaitStats {
        self.totals.snapshot()
    }

    /// Attempts of this run (a client from [`PleoClient::for_run`]) by status, else of the
    /// client and all its clones.
    pub fn run_statuses(&self) -> StatusCounts {
        self.run
            .as_ref()
            .unwrap_or(&self.totals)
            .statuses
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn count_status(&self, status: Option<u16>) {
        self.count(|c| {
            *c.statuses
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(status)
                .or_default() += 1;
        });
    }

    fn count(&self, update: impl Fn(&Counters)) {
        update(&self.totals);
        if let Some(run) = &self.run {
            update(run);
        }
    }

    fn announce(&self, event: &WaitEvent<'_>) {
        if let Some(hook) = &self.hook {
            hook(event);
        }
    }

    /// Sends a request and returns the body of a 2xx answer, waiting for the rate limiter
    /// first and repeating transient failures as the retry policy allows.
    pub async fn send(&self, req: &ApiRequest) -> Result<Vec<u8>, ApiError> {
        self.exchange(req).await.map(|reply| reply.body)
    }

    /// Like [`PleoClient::send`], and also says which 2xx status Pleo answered with (200, 201,
    /// 202, 204), for the audit.
    pub async fn exchange(&self, req: &ApiRequest) -> Result<Reply, ApiError> {
        let policy = self.options.retry;
        let repeat = req.repeat();
        let started = Instant::now();
        let mut waited = Duration::ZERO;
        let mut attempt = 1;
        loop {
            self.throttle().await;
            let (error, failure) = match self.attempt(req).await {
                Ok(reply) => return Ok(reply),
                Err(failed) => failed,
            };
            if let Failure::Status {
                status: 429,
                retry_after: Some(pause),
            } = failure
            {
                // The limit is the key's: hold back every request that shares it.
                self.limiter.pause_until(Instant::now() + pause);
            }
            let draw = self
                .jitter
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .random::<f64>();
            match policy.next(failure, repeat, attempt, waited, draw) {
                Verdict::Retry(wait) => {
                    tracing::info!(
                        "{} {}: {error}; retry {attempt} of {} in {:.1}s",
                        req.method,
                        req.path,
                        policy.max_attempts - 1,
                        wait.as_secs_f64()
                    );
                    self.announce(&WaitEvent::Retry {
                        method: &req.method,
                        path: &req.path,
                        attempt,
                        max_attempts: policy.max_attempts,
                        wait,
                        cause: &error,
                    });
                    self.count(|c| {
                        add(&c.retries, 1);
                        add(&c.retry_wait_us, micros(wait));
                    });
                    tokio::time::sleep(wait).await;
                    waited += wait;
                    attempt += 1;
                }
                Verdict::GiveUp => {
                    if failure.is_transient(repeat) {
                        tracing::warn!(
                            "{} {}: giving up after {attempt} attempt(s) in {:.1}s: {error}",
                            req.method,
                            req.path,
                            started.elapsed().as_secs_f64()
                        );
                    }
                    return Err(self.final_error(error, failure, attempt));
                }
            }
        }
    }

    /// The error of a call that gave up: a 429 carries the wait a caller would need, a lost
    /// answer says how often it was tried.
    fn final_error(&self, error: ApiError, failure: Failure, attempts: u32) -> ApiError {
        match (error, failure) {
            (
                ApiError::Status {
                    status: 429,
                    code,
                    message,
                    ..
                },
                Failure::Status { retry_after, .. },
            ) => ApiError::Status {
                status: 429,
                code,
                message,
                retry_after: Some(self.options.retry.suggested_wait(retry_after, attempts)),
            },
            (ApiError::Unreachable(cause), _) if attempts > 1 => {
                ApiError::Unreachable(format!("{cause} ({attempts} attempts)"))
            }
            (error, _) => error,
        }
    }

    /// Waits for the key's rate limiter.
    async fn throttle(&self) {
        let wait = self.limiter.reserve();
        if wait.is_zero() {
            return;
        }
        self.announce(&WaitEvent::RateLimit { wait });
        self.count(|c| {
            add(&c.throttled, 1);
            add(&c.throttle_wait_us, micros(wait));
        });
        tokio::time::sleep(wait).await;
    }

    /// One HTTP exchange; a failure comes with what the retry policy needs to know about it.
    async fn attempt(&self, req: &ApiRequest) -> Result<Reply, (ApiError, Failure)> {
        self.count(|c| add(&c.requests, 1));
        let permanent = |e: ApiError| (e, Failure::Permanent);
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
                .body(
                    serde_json::to_vec(body)
                        .map_err(|e| permanent(ApiError::Decode(e.to_string())))?,
                );
        }
        let response = match builder.send().await {
            Ok(response) => response,
            Err(e) => {
                self.count_status(None);
                return Err(transport_error(e));
            }
        };
        let status = response.status();
        self.count_status(Some(status.as_u16()));
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry::parse_retry_after(v, SystemTime::now()));
        let too_large = || {
            permanent(ApiError::Decode(format!(
                "response larger than {MAX_BODY_BYTES} bytes"
            )))
        };
        if response
            .content_length()
            .is_some_and(|n| n > MAX_BODY_BYTES as u64)
        {
            return Err(too_large());
        }
        let body = response.bytes().await.map_err(transport_error)?;
        if body.len() > MAX_BODY_BYTES {
            return Err(too_large());
        }
        if status.is_success() {
            Ok(Reply {
                status: status.as_u16(),
                body: body.to_vec(),
            })
        } else {
            Err((
                status_error(
                    status,
                    &body,
                    retry_after.map(retry::whole_seconds),
                    &self.redactor,
                ),
                Failure::Status {
                    status: status.as_u16(),
                    retry_after,
                },
            ))
        }
    }

    /// A single-object endpoint: returns the JSON text of `data`.
    pub async fn get_object(&self, req: &ApiRequest) -> Result<String, ApiError> {
        decode_object(&self.send(req).await?)
    }

    /// A cursor-paginated list endpoint.
    pub async fn get_page(&self, req: &ApiRequest) -> Result<Page, ApiError> {
        decode_page(&self.send(req).await?)
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

/// The body of `{"data": ...}`: the JSON text of `data`.
pub fn decode_object(body: &[u8]) -> Result<String, ApiError> {
    #[derive(Deserialize)]
    struct Envelope<'a> {
        #[serde(borrow)]
        data: &'a RawValue,
    }
    let env: Envelope = serde_json::from_slice(body).map_err(decode_error)?;
    Ok(env.data.get().to_owned())
}

/// The body of a list Pleo does not paginate (`{"data": [...]}`): the JSON array.
pub fn decode_list(body: &[u8]) -> Result<String, ApiError> {
    let data = decode_object(body)?;
    if !data.starts_with('[') {
        return Err(ApiError::Decode(
            "`data` of a list response is not an array".into(),
        ));
    }
    Ok(data)
}

/// A whole JSON object, for answers whose meaning is not all in `data` (e.g. `{data, errors}`).
pub fn decode_json_object(body: &[u8]) -> Result<String, ApiError> {
    let value: &RawValue = serde_json::from_slice(body).map_err(decode_error)?;
    if !value.get().starts_with('{') {
        return Err(ApiError::Decode("the answer is not a JSON object".into()));
    }
    Ok(value.get().to_owned())
}

/// The body of a cursor-paginated list (`{"data": [...], "pagination": {...}}`).
pub fn decode_page(body: &[u8]) -> Result<Page, ApiError> {
    let page = scan_page(body, None)?;
    Ok(Page {
        data: page.data.to_owned(),
        next_cursor: page.next_cursor,
        prev_cursor: page.prev_cursor,
        total: page.total,
    })
}

/// A page read in one pass, borrowed from `body`: with `owner_field`, also the `id` and that
/// field of every item (see `pleo_scan`).
pub fn scan_page<'a>(
    body: &'a [u8],
    owner_field: Option<&str>,
) -> Result<pleo_scan::Page<'a>, ApiError> {
    pleo_scan::page(body, owner_field).map_err(|e| ApiError::Decode(e.to_string()))
}

fn transport_error(e: reqwest::Error) -> (ApiError, Failure) {
    // reqwest's Display includes the URL but never headers; keep only the kind of failure.
    let kind = if e.is_connect() {
        if e.is_timeout() {
            "timed out connecting"
        } else {
            "connection failed"
        }
    } else if e.is_timeout() {
        "timed out"
    } else if e.is_body() || e.is_decode() {
        "connection dropped while reading the answer"
    } else {
        "connection lost before an answer came"
    };
    let failure = if e.is_builder() {
        Failure::Permanent
    } else if e.is_connect() {
        Failure::NotConnected
    } else {
        Failure::NoAnswer
    };
    (ApiError::Unreachable(kind.to_owned()), failure)
}

fn decode_error(e: serde_json::Error) -> ApiError {
    ApiError::Decode(e.to_string())
}

/// Builds the error for a non-2xx answer from Pleo's `{type, message}` body when present.
/// Longest error `message` the host keeps from Pleo, and longest error `type`.
const MAX_ERROR_MESSAGE: usize = 500;
const MAX_ERROR_TYPE: usize = 100;

/// Pleo's `{type, message}` error, built from those two fields only (never the raw body), with
/// the key redacted from the whole text *before* either is cut to its cap.
fn status_error(
    status: StatusCode,
    body: &[u8],
    retry_after: Option<u32>,
    redactor: &Redactor,
) -> ApiError {
    #[derive(Deserialize)]
    struct ExceptionInfo {
        #[serde(rename = "type")]
        kind: Option<String>,
        message: Option<String>,
    }
    let info: Option<ExceptionInfo> = serde_json::from_slice(body).ok();
    let code = info
        .as_ref()
        .and_then(|i| i.kind.as_deref())
        .map(|kind| capped(redactor.redact(kind), MAX_ERROR_TYPE))
        .unwrap_or_else(|| {
            status
                .canonical_reason()
                .unwrap_or("ERROR")
                .to_uppercase()
                .replace(' ', "_")
        });
    let message = info
        .and_then(|i| i.message)
        .map(|m| capped(redactor.redact(&m), MAX_ERROR_MESSAGE))
        .unwrap_or_default();
    ApiError::Status {
        status: status.as_u16(),
        code,
        message,
        retry_after,
    }
}

fn capped(mut text: String, max: usize) -> String {
    if text.len() > max {
        text.truncate(text.floor_char_boundary(max));
    }
    text
}

/// Whether a base URL names this machine (`localhost`, 127.0.0.0/8 or `[::1]`).
fn is_loopback(base_url: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(base_url) else {
        return false;
    };
    let host = url.host_str().unwrap_or_default();
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_decoded_by_their_shape() {
        let object = br#"{"data": {"id": "a"}}"#;
        assert_eq!(decode_object(object).unwrap(), r#"{"id": "a"}"#);
        assert!(decode_list(object).is_err());
        assert_eq!(decode_list(br#"{"data":[1,2]}"#).unwrap(), "[1,2]");
        let whole = br#" {"data":[],"errors":[{"type":"X"}]} "#;
        assert_eq!(
            decode_json_object(whole).unwrap(),
            r#"{"data":[],"errors":[{"type":"X"}]}"#
        );
        assert!(decode_json_object(b"[1]").is_err());
        assert!(decode_json_object(b"").is_err());
        let page = decode_page(
            br#"{"data":[{}],"pagination":{"hasNextPage":true,"hasPreviousPage":false,
                "endCursor":"ABC","total":7,"currentRequestPagination":{"parameters":{}}}}"#,
        )
        .unwrap();
        assert_eq!(
            (page.next_cursor.as_deref(), page.total),
            (Some("ABC"), Some(7))
        );
        assert!(decode_page(br#"{"data":[],"pagination":{"hasNextPage":true}}"#).is_err());
    }

    /// Pleo's error is kept as its `type` and `message` only, the key hidden in both before
    /// each is cut to its cap (so a cut never leaves a piece of the key showing).
    #[test]
    fn an_error_answer_keeps_type_and_message_capped_without_the_key() {
        let key = "pls_live_Zx81qQm4R7tY2vWk";
        let redactor = crate::credential::ApiKey::new(key).unwrap().redactor();
        let long_type = format!("{}{key}", "T".repeat(95));
        let message = format!("{}{key} and more", "m".repeat(495));
        let body = serde_json::json!({"type": long_type, "message": message, "raw": key});
        let error = status_error(
            StatusCode::BAD_REQUEST,
            body.to_string().as_bytes(),
            Some(3),
            &redactor,
        );
        let ApiError::Status {
            status,
            code,
            message,
            retry_after,
        } = error
        else {
            panic!("{error:?}")
        };
        assert_eq!((status, retry_after), (400, Some(3)));
        assert_eq!(code, format!("{}[REDA", "T".repeat(95)));
        assert_eq!(message, format!("{}[REDA", "m".repeat(495)));
        // Short fields are kept whole; a body that is not Pleo's error gives the status.
        let short = status_error(
            StatusCode::NOT_FOUND,
            br#"{"type":"NOT_FOUND","message":"no such vendor"}"#,
            None,
            &redactor,
        );
        assert_eq!(
            short.to_string(),
            "Pleo answered 404 NOT_FOUND: no such vendor"
        );
        let text = format!("<html>{key}</html>");
        let ApiError::Status { code, message, .. } = status_error(
            StatusCode::SERVICE_UNAVAILABLE,
            text.as_bytes(),
            None,
            &redactor,
        ) else {
            panic!()
        };
        assert_eq!(
            (code.as_str(), message.as_str()),
            ("SERVICE_UNAVAILABLE", "")
        );
        // A status without a standard reason still gets a code a plugin can match.
        let unknown = status_error(StatusCode::from_u16(599).unwrap(), b"", None, &redactor);
        assert_eq!(unknown.to_string(), "Pleo answered 599 ERROR: ");
    }

    /// A run's clone counts its own attempts and tells its own hook; the client counts all
    /// of them. A daemon runs plugins side by side on one client, and each audit record and
    /// history row carries that run's retries only.
    #[test]
    fn a_run_counts_its_own_attempts_and_tells_its_own_hook() {
        let key = crate::credential::ApiKey::new("pls_live_Zx81qQm4R7tY2vWk").unwrap();
        let client = PleoClient::new("http://127.0.0.1:9", &key).unwrap();
        let told = Arc::new(AtomicU64::new(0));
        let counter = told.clone();
        let hook: WaitHook = Arc::new(move |_: &WaitEvent<'_>| {
            counter.fetch_add(1, Ordering::Relaxed);
        });
        let (first, second) = (client.for_run(Some(hook)), client.for_run(None));
        first.count(|c| {
            c.retries.fetch_add(1, Ordering::Relaxed);
        });
        first.count_status(Some(503));
        first.announce(&WaitEvent::RateLimit {
            wait: Duration::from_millis(5),
        });
        second.announce(&WaitEvent::RateLimit {
            wait: Duration::from_millis(5),
        });
        assert_eq!(
            (first.run_stats().retries, second.run_stats().retries),
            (1, 0)
        );
        assert_eq!(client.stats().retries, 1);
        assert_eq!(first.run_statuses(), StatusCounts::from([(Some(503), 1)]));
        assert!(second.run_statuses().is_empty());
        assert_eq!(told.load(Ordering::Relaxed), 1);
    }

    /// A cap cuts at a character boundary at or below it, and leaves shorter text alone.
    #[test]
    fn capped_text_ends_on_a_character_boundary() {
        assert_eq!(capped("abcdef".into(), 6), "abcdef");
        assert_eq!(capped("abcdef".into(), 4), "abcd");
        assert_eq!(capped("aé".into(), 2), "a");
        assert_eq!(capped(String::new(), 0), "");
    }

    #[test]
    fn writes_carry_their_method_and_body() {
        let put = ApiRequest::put("/v1/x/1", serde_json::json!({"a": 1}));
        assert_eq!(
            (put.method.clone(), put.body.is_some()),
            (Method::PUT, true)
        );
        assert_eq!(put.repeat(), Repeat::Write);
        assert_eq!(put.idempotent().repeat(), Repeat::IdempotentWrite);
        let delete = ApiRequest::delete("/v1/x/1");
        assert_eq!((delete.method, delete.body), (Method::DELETE, None));
        let action = ApiRequest::post_empty("/v1/vendors/1:archive");
        assert_eq!(action.repeat(), Repeat::Write);
        assert_eq!((action.method, action.body), (Method::POST, None));
        let search = ApiRequest::post("/v1/vendors:search", serde_json::json!({}));
        assert_eq!(search.repeat(), Repeat::Read);
        assert_eq!(ApiRequest::get("/v1/x").repeat(), Repeat::Read);
    }
}
