//! Fault injection: the mock misbehaves the way a busy Pleo and a bad network do, so that the
//! client's retries and rate limiting can be tested and measured.
//!
//! * a share of requests answered `429 Too Many Requests` with `Retry-After`, `503 Service
//!   Unavailable`, or dropped (the connection is closed without an answer);
//! * a share of requests handled first and then dropped: a write is made, but its answer never
//!   reaches the client (what a crash-safe client must reconcile before sending it again);
//! * added latency;
//! * a per-key rate limit that answers 429 with `Retry-After` once a key goes over it.
//!
//! Rates apply globally or per route (first matching rule wins). Every decision comes from one
//! random generator seeded by [`FaultConfig::seed`], so the same seed and the same sequence of
//! requests give the same faults. [`inject`] is a middleware inside the request counter and
//! outside authentication; dropping needs the connection, which [`DroppableListener`] gives it.

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::connect_info::{ConnectInfo, Connected};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::serve::{IncomingStream, Listener};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::error::json_response;
use super::rate_limit::{Gcra, RateLimit, retry_after_seconds};

/// What happens to the requests one rule applies to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaultRates {
    /// Share of requests (0 to 1) answered 429 with `Retry-After: retry_after`.
    pub too_many_requests: f64,
    /// Seconds in the `Retry-After` of those 429s.
    pub retry_after: u32,
    /// Share of requests answered 503.
    pub unavailable: f64,
    /// Share of requests answered 500 (before they are handled).
    pub internal_error: f64,
    /// Share of requests whose connection is closed without an answer.
    pub drop: f64,
    /// Share of requests that are handled (a write is made) and whose connection is then
    /// closed without the answer.
    pub drop_answer: f64,
    /// Added before handling each request (faulty ones included).
    pub latency: Duration,
}

impl Default for FaultRates {
    fn default() -> Self {
        FaultRates {
            too_many_requests: 0.0,
            retry_after: 1,
            unavailable: 0.0,
            internal_error: 0.0,
            drop: 0.0,
            drop_answer: 0.0,
            latency: Duration::ZERO,
        }
    }
}

impl FaultRates {
    fn any(&self) -> bool {
        self.too_many_requests > 0.0
            || self.unavailable > 0.0
            || self.internal_error > 0.0
            || self.drop > 0.0
            || self.drop_answer > 0.0
    }

    /// Each share is within 0..=1 and together they are at most 1.
    pub fn validate(&self) -> Result<(), String> {
        let shares = [
            ("too_many_requests", self.too_many_requests),
            ("unavailable", self.unavailable),
            ("internal_error", self.internal_error),
            ("drop", self.drop),
            ("drop_answer", self.drop_answer),
        ];
        for (name, share) in shares {
            if !(0.0..=1.0).contains(&share) {
                return Err(format!("{name} must be between 0 and 1, not {share}"));
            }
        }
        let total: f64 = shares.iter().map(|(_, s)| s).sum();
        if total > 1.0 + 1e-9 {
            return Err(format!(
                "too_many_requests + unavailable + internal_error + drop + drop_answer must be at most 1, not {total}"
            ));
        }
        Ok(())
    }
}

/// Faults for some routes: `path` is a route template whose `{…}` segments match any one
/// segment (`/v2/employees/{id}`), or a prefix ending in `*` (`/v1/*`).
#[derive(Debug, Clone, PartialEq)]
pub struct RouteFaults {
    pub path: String,
    pub rates: FaultRates,
}

/// Fault injection of the mock. The default injects nothing.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FaultConfig {
    /// Seed of the draws: the same seed and the same requests in the same order give the same
    /// faults.
    pub seed: u64,
    /// Faults of requests that no route rule matches.
    pub global: FaultRates,
    /// The first rule whose path matches a request applies instead of `global`.
    pub routes: Vec<RouteFaults>,
    /// A per-key limit, like Pleo's: a key over it gets 429 with `Retry-After` until it has
    /// tokens again.
    pub rate_limit: Option<RateLimit>,
}

impl FaultConfig {
    /// Whether anything at all is injected.
    pub fn is_active(&self) -> bool {
        let active = |r: &FaultRates| r.any() || !r.latency.is_zero();
        self.rate_limit.is_some()
            || active(&self.global)
            || self.routes.iter().any(|r| active(&r.rates))
    }

    pub fn validate(&self) -> Result<(), String> {
        self.global.validate()?;
        for route in &self.routes {
            if !route.path.starts_with('/') {
                return Err(format!("route `{}` must start with /", route.path));
            }
            route
                .rates
                .validate()
                .map_err(|e| format!("route {}: {e}", route.path))?;
        }
        if let Some(limit) = self.rate_limit
            && (limit.per_minute == 0 || limit.burst == 0)
        {
            return Err("the rate limit and its burst must be at least 1".into());
        }
        Ok(())
    }

    fn rates_for(&self, path: &str) -> &FaultRates {
        self.routes
            .iter()
            .find(|r| route_matches(&r.path, path))
            .map_or(&self.global, |r| &r.rates)
    }
}

/// `/v2/employees/{id}` matches `/v2/employees/42`; `/v1/*` matches everything under `/v1/`.
fn route_matches(pattern: &str, path: &str) -> bool {
    if let Some(prefix) = pattern.strip_suffix('*') {
        return path.starts_with(prefix);
    }
    let (mut want, mut got) = (pattern.split('/'), path.split('/'));
    loop {
        match (want.next(), got.next()) {
            (None, None) => return true,
            (Some(w), Some(g)) if w == g || (w.starts_with('{') && w.ends_with('}')) => {}
            _ => return false,
        }
    }
}

/// Faults injected so far, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultCounts {
    /// Random 429s.
    pub too_many_requests: u64,
    /// Random 503s.
    pub unavailable: u64,
    /// Random 500s.
    pub internal_errors: u64,
    /// Connections closed without an answer.
    pub dropped: u64,
    /// Requests handled whose connection was then closed without the answer.
    pub answers_dropped: u64,
    /// Requests that waited for the added latency.
    pub delayed: u64,
    /// 429s of the per-key rate limit.
    pub rate_limited: u64,
}

#[derive(Debug, Clone, Copy)]
enum Fault {
    TooManyRequests,
    Unavailable,
    Drop,
    DropAnswer,
    InternalError,
}

/// Marks a response that was made but never sent (in its extensions), for the recorder.
#[derive(Debug, Clone, Copy)]
pub(super) struct AnswerDropped;

/// Keys the per-key limit remembers at once (see [`Faults::over_limit`]).
const MAX_LIMITED_KEYS: usize = 1024;

/// The state behind [`inject`]: the draws, the per-key buckets and the counters.
pub(super) struct Faults {
    config: FaultConfig,
    rng: Mutex<StdRng>,
    /// By `Authorization` header: the mock knows one key, but Pleo limits per key.
    buckets: Mutex<HashMap<HeaderValue, Gcra>>,
    too_many_requests: AtomicU64,
    unavailable: AtomicU64,
    internal_errors: AtomicU64,
    dropped: AtomicU64,
    answers_dropped: AtomicU64,
    delayed: AtomicU64,
    rate_limited: AtomicU64,
}

impl Faults {
    pub(super) fn new(config: FaultConfig) -> Faults {
        Faults {
            rng: Mutex::new(StdRng::seed_from_u64(config.seed)),
            config,
            buckets: Mutex::default(),
            too_many_requests: AtomicU64::new(0),
            unavailable: AtomicU64::new(0),
            internal_errors: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            answers_dropped: AtomicU64::new(0),
            delayed: AtomicU64::new(0),
            rate_limited: AtomicU64::new(0),
        }
    }

    pub(super) fn counts(&self) -> FaultCounts {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        FaultCounts {
            too_many_requests: get(&self.too_many_requests),
            unavailable: get(&self.unavailable),
            internal_errors: get(&self.internal_errors),
            dropped: get(&self.dropped),
            answers_dropped: get(&self.answers_dropped),
            delayed: get(&self.delayed),
            rate_limited: get(&self.rate_limited),
        }
    }

    /// One draw per request that a rule with faults applies to.
    fn draw(&self, rates: &FaultRates) -> Option<Fault> {
        if !rates.any() {
            return None;
        }
        let x: f64 = self.rng.lock().unwrap_or_else(|e| e.into_inner()).random();
        let mut bound = rates.too_many_requests;
        if x < bound {
            return Some(Fault::TooManyRequests);
        }
        bound += rates.unavailable;
        if x < bound {
            return Some(Fault::Unavailable);
        }
        bound += rates.internal_error;
        if x < bound {
            return Some(Fault::InternalError);
        }
        bound += rates.drop;
        if x < bound {
            return Some(Fault::Drop);
        }
        bound += rates.drop_answer;
        (x < bound).then_some(Fault::DropAnswer)
    }

    /// `Some(wait)` if the request's key is over the per-key limit.
    fn over_limit(&self, headers: &HeaderMap) -> Option<Duration> {
        let limit = self.config.rate_limit?;
        let key = headers.get(header::AUTHORIZATION)?;
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        // The header is the client's: a client inventing a new one per request would grow the
        // map without end. Past this many keys the limit starts over for all of them.
        if buckets.len() >= MAX_LIMITED_KEYS && !buckets.contains_key(key) {
            buckets.clear();
        }
        buckets
            .entry(key.clone())
            .or_insert_with(|| Gcra::new(limit, now))
            .admit(now)
            .err()
    }
}

/// The middleware: latency, then the per-key limit, then a random fault or the real answer.
pub(super) async fn inject(
    State(faults): State<Arc<Faults>>,
    req: Request,
    next: Next,
) -> Response {
    let rates = *faults.config.rates_for(req.uri().path());
    if !rates.latency.is_zero() {
        faults.delayed.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(rates.latency).await;
    }
    if let Some(wait) = faults.over_limit(req.headers()) {
        faults.rate_limited.fetch_add(1, Ordering::Relaxed);
        let per_minute = faults.config.rate_limit.map_or(0, |l| l.per_minute);
        let retry_after = u32::try_from(retry_after_seconds(wait)).unwrap_or(u32::MAX);
        return too_many_requests(
            retry_after,
            format!("Rate limit of {per_minute} requests per minute exceeded for this API key"),
        );
    }
    match faults.draw(&rates) {
        None => next.run(req).await,
        Some(Fault::TooManyRequests) => {
            faults.too_many_requests.fetch_add(1, Ordering::Relaxed);
            too_many_requests(
                rates.retry_after,
                "Too many requests (injected fault)".into(),
            )
        }
        Some(Fault::Unavailable) => {
            faults.unavailable.fetch_add(1, Ordering::Relaxed);
            error_body(
                StatusCode::SERVICE_UNAVAILABLE,
                "SERVICE_UNAVAILABLE",
                "Service temporarily unavailable (injected fault)".into(),
            )
        }
        Some(Fault::InternalError) => {
            faults.internal_errors.fetch_add(1, Ordering::Relaxed);
            error_body(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL_SERVER_ERROR",
                "Internal server error (injected fault)".into(),
            )
        }
        Some(Fault::DropAnswer) => {
            let connection = req.extensions().get::<ConnectInfo<Connection>>().cloned();
            // The handler runs to the end (a write is made); only then is the line cut.
            let mut response = next.run(req).await;
            faults.answers_dropped.fetch_add(1, Ordering::Relaxed);
            match connection {
                Some(ConnectInfo(connection)) => {
                    connection.drop_now();
                    response.extensions_mut().insert(AnswerDropped);
                    response
                }
                None => error_body(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "SERVICE_UNAVAILABLE",
                    "answer dropped after handling (injected fault)".into(),
                ),
            }
        }
        Some(Fault::Drop) => {
            faults.dropped.fetch_add(1, Ordering::Relaxed);
            match req.extensions().get::<ConnectInfo<Connection>>() {
                Some(ConnectInfo(connection)) => {
                    connection.drop_now();
                    // Never reaches the client: the connection fails as hyper writes it.
                    StatusCode::SERVICE_UNAVAILABLE.into_response()
                }
                // Served without the droppable listener (cannot happen in MockServer).
                None => error_body(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "SERVICE_UNAVAILABLE",
                    "connection drop requested (injected fault)".into(),
                ),
            }
        }
    }
}

#[derive(Serialize)]
struct ExceptionInfo<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    message: String,
}

fn error_body(status: StatusCode, kind: &str, message: String) -> Response {
    json_response(status, &ExceptionInfo { kind, message })
}

fn too_many_requests(retry_after: u32, message: String) -> Response {
    let mut response = error_body(StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_REQUESTS", message);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    response
}

/// A listener whose connections the fault middleware can drop without an answer.
pub(super) struct DroppableListener<L>(pub L);

impl<L: Listener> Listener for DroppableListener<L> {
    type Io = DroppableIo<L::Io>;
    type Addr = L::Addr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (io, addr) = self.0.accept().await;
        let io = DroppableIo {
            io,
            dropped: Arc::default(),
        };
        (io, addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

/// A connection that stops working, both ways, once dropped: reads see the end, writes fail,
/// so the server closes it without sending anything more.
pub(super) struct DroppableIo<Io> {
    io: Io,
    dropped: Arc<AtomicBool>,
}

impl<Io> DroppableIo<Io> {
    fn is_dropped(&self) -> bool {
        self.dropped.load(Ordering::Relaxed)
    }
}

fn dropped_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "connection dropped by fault injection",
    )
}

impl<Io: AsyncRead + Unpin> AsyncRead for DroppableIo<Io> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.is_dropped() {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.io).poll_read(cx, buf)
    }
}

impl<Io: AsyncWrite + Unpin> AsyncWrite for DroppableIo<Io> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.is_dropped() {
            return Poll::Ready(Err(dropped_error()));
        }
        Pin::new(&mut this.io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.is_dropped() {
            return Poll::Ready(Err(dropped_error()));
        }
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// The handle of a request's connection, in its extensions as `ConnectInfo<Connection>`.
#[derive(Clone)]
pub(super) struct Connection(Arc<AtomicBool>);

impl Connection {
    fn drop_now(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

impl<L: Listener> Connected<IncomingStream<'_, DroppableListener<L>>> for Connection {
    fn connect_info(stream: IncomingStream<'_, DroppableListener<L>>) -> Self {
        Connection(stream.io().dropped.clone())
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use base64::Engine;

    use super::super::{MockConfig, MockServer};
    use super::*;

    fn rates(too_many_requests: f64, unavailable: f64, drop: f64) -> FaultRates {
        FaultRates {
            too_many_requests,
            unavailable,
            drop,
            ..FaultRates::default()
        }
    }

    #[test]
    fn routes_match_templates_and_prefixes() {
        assert!(route_matches("/v2/employees", "/v2/employees"));
        assert!(route_matches("/v2/employees/{id}", "/v2/employees/42"));
        assert!(!route_matches("/v2/employees/{id}", "/v2/employees"));
        assert!(!route_matches("/v2/employees/{id}", "/v2/employees/42/x"));
        assert!(!route_matches("/v2/employees", "/v2/employees/42"));
        assert!(route_matches(
            "/v1/accounting-entries:search",
            "/v1/accounting-entries:search"
        ));
        assert!(route_matches("/v1/*", "/v1/introspect"));
        assert!(route_matches(
            "/v1/accounting-entries*",
            "/v1/accounting-entries/9"
        ));
        assert!(!route_matches("/v1/*", "/v2/employees"));
    }

    #[test]
    fn the_first_matching_route_wins_over_the_global_rates() {
        let config = FaultConfig {
            global: rates(0.1, 0.0, 0.0),
            routes: vec![
                RouteFaults {
                    path: "/v2/employees/{id}".into(),
                    rates: rates(0.0, 1.0, 0.0),
                },
                RouteFaults {
                    path: "/v2/*".into(),
                    rates: rates(0.0, 0.0, 1.0),
                },
            ],
            ..FaultConfig::default()
        };
        assert_eq!(config.rates_for("/v2/employees/1").unavailable, 1.0);
        assert_eq!(config.rates_for("/v2/employees").drop, 1.0);
        assert_eq!(config.rates_for("/v1/introspect").too_many_requests, 0.1);
    }

    #[test]
    fn shares_are_validated() {
        assert!(rates(0.5, 0.5, 0.0).validate().is_ok());
        assert!(rates(0.1, 0.2, 0.3).validate().is_ok());
        assert!(rates(0.5, 0.5, 0.1).validate().is_err());
        assert!(rates(-0.1, 0.0, 0.0).validate().is_err());
        assert!(rates(f64::NAN, 0.0, 0.0).validate().is_err());
        let bad_route = FaultConfig {
            routes: vec![RouteFaults {
                path: "v2".into(),
                rates: FaultRates::default(),
            }],
            ..FaultConfig::default()
        };
        assert!(bad_route.validate().is_err());
        assert!(!FaultConfig::default().is_active());
    }

    #[test]
    fn draws_follow_the_rates_and_repeat_with_the_seed() {
        let config = FaultConfig {
            seed: 42,
            ..FaultConfig::default()
        };
        let r = FaultRates {
            internal_error: 0.15,
            ..rates(0.1, 0.2, 0.3)
        };
        let sequence = |faults: &Faults| -> Vec<Option<u8>> {
            (0..10_000)
                .map(|_| faults.draw(&r).map(|f| f as u8))
                .collect()
        };
        let first = sequence(&Faults::new(config.clone()));
        assert_eq!(first, sequence(&Faults::new(config.clone())));
        let other = sequence(&Faults::new(FaultConfig { seed: 43, ..config }));
        assert_ne!(first, other);
        let share = |kind: Option<u8>| {
            first.iter().filter(|f| **f == kind).count() as f64 / first.len() as f64
        };
        let kinds = [
            (Some(Fault::TooManyRequests as u8), 0.1),
            (Some(Fault::Unavailable as u8), 0.2),
            (Some(Fault::Drop as u8), 0.3),
            (Some(Fault::InternalError as u8), 0.15),
            (None, 0.25),
        ];
        for (kind, want) in kinds {
            assert!(
                (share(kind) - want).abs() < 0.02,
                "{kind:?}: {}",
                share(kind)
            );
        }
    }

    async fn start(faults: FaultConfig) -> (MockServer, reqwest::Client, String) {
        let cfg = MockConfig {
            entries: 10,
            employees: 2,
            faults,
            ..MockConfig::default()
        };
        let auth = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{}:", cfg.api_key))
        );
        let server = MockServer::start(SocketAddr::from(([127, 0, 0, 1], 0)), cfg)
            .await
            .expect("mock starts");
        (server, reqwest::Client::new(), auth)
    }

    #[tokio::test]
    async fn injected_errors_look_like_pleo_and_drops_get_no_answer() {
        let (server, http, auth) = start(FaultConfig {
            routes: vec![
                RouteFaults {
                    path: "/v1/introspect".into(),
                    rates: FaultRates {
                        retry_after: 7,
                        ..rates(1.0, 0.0, 0.0)
                    },
                },
                RouteFaults {
                    path: "/v2/employees".into(),
                    rates: rates(0.0, 1.0, 0.0),
                },
                RouteFaults {
                    path: "/v2/employees/{id}".into(),
                    rates: rates(0.0, 0.0, 1.0),
                },
            ],
            ..FaultConfig::default()
        })
        .await;
        let get = |path: &str| {
            http.get(format!("{}{path}", server.base_url()))
                .header(header::AUTHORIZATION, &auth)
                .send()
        };

        let limited = get("/v1/introspect").await.unwrap();
        assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(limited.headers()[header::RETRY_AFTER], "7");
        let body: serde_json::Value = limited.json().await.unwrap();
        assert_eq!(body["type"], "TOO_MANY_REQUESTS");

        let unavailable = get("/v2/employees").await.unwrap();
        assert_eq!(unavailable.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body: serde_json::Value = unavailable.json().await.unwrap();
        assert_eq!(body["type"], "SERVICE_UNAVAILABLE");

        let dropped = get("/v2/employees/00000000-0000-4000-8000-000000000000").await;
        assert!(dropped.is_err(), "{dropped:?}");

        // Routes without a rule answer normally.
        let ok = get("/v1/installations/me").await.unwrap();
        assert_eq!(ok.status(), StatusCode::OK);
        assert_eq!(
            server.fault_counts(),
            FaultCounts {
                too_many_requests: 1,
                unavailable: 1,
                dropped: 1,
                ..FaultCounts::default()
            }
        );
        assert_eq!(server.request_count(), 4, "faulty requests are counted too");
    }

    #[tokio::test]
    async fn a_dropped_answer_comes_after_the_write_is_made() {
        let cfg = MockConfig {
            entries: 10,
            employees: 2,
            record: true,
            faults: FaultConfig {
                routes: vec![RouteFaults {
                    path: "/v1/vendors".into(),
                    rates: FaultRates {
                        drop_answer: 1.0,
                        ..FaultRates::default()
                    },
                }],
                ..FaultConfig::default()
            },
            ..MockConfig::default()
        };
        let auth = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{}:", cfg.api_key))
        );
        let server = MockServer::start(SocketAddr::from(([127, 0, 0, 1], 0)), cfg)
            .await
            .expect("mock starts");
        let company = server.dataset().company.id;
        let before = server.master_data(company).unwrap().vendors.len();
        let sent = reqwest::Client::new()
            .post(format!("{}/v1/vendors", server.base_url()))
            .header(header::AUTHORIZATION, &auth)
            .json(&serde_json::json!({
                "companyId": company.to_string(),
                "name": "Answer lost ApS",
                "defaultCurrency": "DKK",
                "externalId": "LOST-1",
            }))
            .send()
            .await;
        assert!(sent.is_err(), "the client gets no answer: {sent:?}");
        let vendors = server.master_data(company).unwrap().vendors;
        assert_eq!(vendors.len(), before + 1, "the write was made");
        assert!(
            vendors
                .iter()
                .any(|v| v.external_id.as_deref() == Some("LOST-1"))
        );
        assert_eq!(server.fault_counts().answers_dropped, 1);
        let exchanges = server.exchanges();
        let [exchange] = &exchanges[..] else {
            panic!("{exchanges:?}")
        };
        assert_eq!(exchange.status, 201, "the record keeps the answer made");
        assert!(exchange.answer_dropped);
    }

    #[tokio::test]
    async fn the_per_key_limit_answers_429_once_the_burst_is_used() {
        let (server, http, auth) = start(FaultConfig {
            // One request a minute after a burst of three: the next token is a minute away.
            rate_limit: Some(RateLimit {
                per_minute: 1,
                burst: 3,
            }),
            ..FaultConfig::default()
        })
        .await;
        let mut statuses = Vec::new();
        for _ in 0..5 {
            let response = http
                .get(format!("{}/v1/introspect", server.base_url()))
                .header(header::AUTHORIZATION, &auth)
                .send()
                .await
                .unwrap();
            if response.status() == StatusCode::TOO_MANY_REQUESTS {
                let retry_after: u32 = response.headers()[header::RETRY_AFTER]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!((1..=60).contains(&retry_after), "{retry_after}");
            }
            statuses.push(response.status().as_u16());
        }
        assert_eq!(statuses, [200, 200, 200, 429, 429]);
        assert_eq!(server.fault_counts().rate_limited, 2);
    }
}
