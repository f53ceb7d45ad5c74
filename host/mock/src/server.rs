//! The HTTP server: listener, router, request counting and API-key auth.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::serve::ListenerExt;
use base64::Engine;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::data::Dataset;
use super::error::{self, ApiError};
use super::exports::{self, ExportJob};
use super::faults::{self, FaultCounts, Faults};
use super::master::MasterData;
use super::scopes::{self, Needs};
use super::store::Store;
use super::{MockConfig, rest};

/// Queue of not-yet-accepted connections; the OS default of 128 is too small
/// for load tests that open many connections at once.
const LISTEN_BACKLOG: u32 = 4096;

/// How long [`MockServer::shutdown`] waits for in-flight requests.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// What every handler can see.
pub(super) struct AppState {
    pub data: Arc<Dataset>,
    /// What write calls change, and the mock's clock.
    pub store: Arc<Store>,
    pub scopes: Vec<String>,
    /// How the routes' scopes are spelt when checked against `scopes`.
    pub spelling: scopes::Spelling,
    /// Switched by [`MockServer::accept_key`].
    api_key: Arc<RwLock<String>>,
}

impl AppState {
    /// 403 unless the key was granted `scope`.
    fn require(&self, scope: &'static str) -> Result<(), ApiError> {
        let scope = self.spelling.spell(scope);
        if self.scopes.iter().any(|s| s == scope) {
            Ok(())
        } else {
            Err(ApiError::MissingScope(scope))
        }
    }

    /// True if the request carries `Authorization: Basic base64("<key>:")`.
    fn authorized(&self, headers: &HeaderMap) -> bool {
        let Some(value) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        else {
            return false;
        };
        let Some((scheme, token)) = value.trim().split_once(' ') else {
            return false;
        };
        let api_key = self.api_key.read().unwrap_or_else(PoisonError::into_inner);
        if !scheme.eq_ignore_ascii_case("basic") || api_key.is_empty() {
            return false;
        }
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(token.trim()) else {
            return false;
        };
        let expected = format!("{api_key}:");
        constant_time_eq(&decoded, expected.as_bytes())
    }
}

/// Compares without returning early, so timing does not reveal the key.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A running mock Pleo API. Dropping it stops the server too.
pub struct MockServer {
    addr: SocketAddr,
    data: Arc<Dataset>,
    store: Arc<Store>,
    requests: Arc<AtomicU64>,
    faults: Arc<Faults>,
    api_key: Arc<RwLock<String>>,
    pub(super) recorder: super::recorder::Recorder,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl MockServer {
    /// Seeds the data, binds `bind` (port 0 picks a free port) and starts serving.
    pub async fn start(bind: SocketAddr, cfg: MockConfig) -> io::Result<MockServer> {
        cfg.faults
            .validate()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let faults = Arc::new(Faults::new(cfg.faults.clone()));
        // Quick (a fraction of a millisecond): the bulk of the data is made on first use.
        let data = Arc::new(Dataset::seed(&cfg));
        let listener = bind_listener(bind)?;
        let addr = listener.local_addr()?;
        let requests = Arc::new(AtomicU64::new(0));
        let store = Arc::new(Store::new(data.clone()));
        let api_key = Arc::new(RwLock::new(cfg.api_key));
        let state = Arc::new(AppState {
            data: data.clone(),
            store: store.clone(),
            scopes: cfg.scopes,
            spelling: cfg.scope_spelling,
            api_key: api_key.clone(),
        });
        let app = with_latency(router(state, requests.clone(), faults.clone()), cfg.latency);
        let app = error::with_authorization_echo(app, cfg.echo_authorization);
        let (app, recorder) = super::recorder::install(app, cfg.record);
        let (stop, stopped) = oneshot::channel::<()>();
        let listener = listener.tap_io(|tcp| {
            // Small JSON responses should not wait for Nagle's algorithm.
            let _ = tcp.set_nodelay(true);
        });
        // Fault injection may drop a request's connection: it needs a handle on it.
        let listener = faults::DroppableListener(listener);
        let app = app.into_make_service_with_connect_info::<faults::Connection>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    // Fires on an explicit stop and when the sender is dropped.
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(MockServer {
            addr,
            data,
            store,
            requests,
            faults,
            api_key,
            recorder,
            stop: Some(stop),
            task: Some(task),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`; a wildcard bind address is shown as loopback.
    pub fn base_url(&self) -> String {
        let ip = match self.addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        format!("http://{}", SocketAddr::new(ip, self.addr.port()))
    }

    /// Every HTTP request received so far, rejected ones included.
    pub fn request_count(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// From now on, accepts `key` and refuses every other one (401), as Pleo does after a key
    /// was rotated.
    pub fn accept_key(&self, key: &str) {
        *self.api_key.write().unwrap_or_else(PoisonError::into_inner) = key.to_owned();
    }

    /// Faults injected so far, by kind.
    pub fn fault_counts(&self) -> FaultCounts {
        self.faults.counts()
    }

    /// The data as seeded. What write calls changed is in [`MockServer::master_data`] and
    /// [`MockServer::export_jobs`].
    pub fn dataset(&self) -> Arc<Dataset> {
        self.data.clone()
    }

    /// The mock's clock: real time, plus what [`MockServer::advance_clock`] added.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.store.now()
    }

    /// Moves the mock's clock forward, e.g. past the hour after which an untouched export
    /// job expires.
    pub fn advance_clock(&self, by: Duration) {
        self.store.clock.advance(by);
    }

    /// Every export job of every company as it is now (expired ones marked so), in creation
    /// order per company.
    pub fn export_jobs(&self) -> Vec<ExportJob> {
        let now = self.store.now();
        let mut books = self.store.lock();
        exports::expire(&mut books, now);
        books
            .companies
            .iter()
            .flat_map(|c| c.export_jobs.iter().cloned())
            .collect()
    }

    /// One export job as it is now (with its items).
    pub fn export_job(&self, id: uuid::Uuid) -> Option<ExportJob> {
        self.export_jobs().into_iter().find(|j| j.id == id)
    }

    /// How many times each export job item was updated (`PUT /v3/export-jobs/{id}/items`),
    /// by `(job id, accounting entry id)`: a test can prove every item was reported once.
    pub fn item_updates(&self) -> std::collections::BTreeMap<(uuid::Uuid, uuid::Uuid), u32> {
        self.store.lock().item_updates.clone()
    }

    /// Every vendor CSV import job of every company as it is now (with its file, its row
    /// errors and whether its upload carried an `Authorization` header).
    pub fn import_jobs(&self) -> Vec<super::vendor_import::ImportJob> {
        let books = self.store.lock();
        books
            .companies
            .iter()
            .flat_map(|c| c.import_jobs.iter().cloned())
            .collect()
    }

    /// A company's accounts, tax codes, tags and vendors as they are now.
    pub fn master_data(&self, company_id: uuid::Uuid) -> Option<MasterData> {
        let c = self.data.company_position(company_id)?;
        Some(self.store.lock().companies.get(c)?.master.clone())
    }

    /// Stops accepting connections and waits (a few seconds at most) for
    /// requests in flight to finish.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(SHUTDOWN_GRACE, task).await.is_err() {
                abort.abort();
            }
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        // Dropping the sender alone would do; sending makes the intent plain.
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl std::fmt::Debug for MockServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockServer")
            .field("addr", &self.addr)
            .field("requests", &self.request_count())
            .finish_non_exhaustive()
    }
}

fn bind_listener(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // Lets a restarted mock take its port back while old connections linger.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// All routes. Counting wraps auth, so rejected requests are counted too; auth
/// wraps the fallbacks, so unknown paths need a valid key before they get a 404. The
/// fallbacks apply to every family's routes: an unserved method on a served path is a 404
/// too (see `rest::no_route`).
/// Fault injection sits between counting and auth: injected faults are counted.
fn router(state: Arc<AppState>, requests: Arc<AtomicU64>, faults: Arc<Faults>) -> Router {
    Router::new()
        .merge(super::identity::routes())
        .merge(super::companies::routes())
        .merge(super::employees::routes())
        .merge(super::entries::routes())
        .merge(super::entries::core::routes())
        .merge(super::receipts::routes())
        .merge(super::exports::routes())
        .merge(super::export_items::routes())
        .merge(super::vendors::routes())
        .merge(super::vendor_import::routes())
        .merge(super::accounts::routes())
        .merge(super::tags::routes())
        .merge(super::dimensions::routes())
        .merge(super::tax_codes::routes())
        .fallback(rest::no_route)
        .method_not_allowed_fallback(rest::no_route)
        .layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .layer(middleware::from_fn_with_state(faults, faults::inject))
        .layer(middleware::from_fn_with_state(requests, count))
        .with_state(state)
}

/// Delays every answer by `latency`, if set (outermost layer: rejected requests wait too).
fn with_latency(app: Router, latency: Option<Duration>) -> Router {
    match latency {
        Some(latency) if !latency.is_zero() => {
            app.layer(middleware::from_fn_with_state(latency, delay))
        }
        _ => app,
    }
}

async fn delay(State(latency): State<Duration>, req: Request, next: Next) -> Response {
    tokio::time::sleep(latency).await;
    next.run(req).await
}

async fn count(State(requests): State<Arc<AtomicU64>>, req: Request, next: Next) -> Response {
    requests.fetch_add(1, Ordering::Relaxed);
    next.run(req).await
}

/// 401 without the key, then 403 unless the key has the scope [`scopes::ROUTES`] gives the
/// matched route: the one place the mock checks scopes.
async fn authenticate(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    // The stand-in for S3 takes no API key: the presigned URL's token is its credential.
    if req
        .extensions()
        .get::<MatchedPath>()
        .is_some_and(|m| m.as_str() == super::vendor_import::UPLOAD_ROUTE)
    {
        return next.run(req).await;
    }
    if !state.authorized(req.headers()) {
        return ApiError::Unauthorized.into_response();
    }
    // No matched path: no route, and the fallback answers 404.
    if let Some(matched) = req.extensions().get::<MatchedPath>() {
        let needed = match scopes::needs(req.method().as_str(), matched.as_str()) {
            Needs::Key | Needs::OtherMethod => None,
            Needs::Scope(scope) => Some(scope),
            Needs::Unlisted => Some("unlisted:route"),
        };
        if let Some(scope) = needed
            && let Err(e) = state.require(scope)
        {
            return e.into_response();
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn state(key: &str) -> AppState {
        let cfg = MockConfig {
            entries: 10,
            employees: 2,
            ..MockConfig::default()
        };
        let data = Arc::new(Dataset::seed(&cfg));
        AppState {
            store: Arc::new(Store::new(data.clone())),
            data,
            scopes: vec![],
            spelling: scopes::Spelling::Staging,
            api_key: Arc::new(RwLock::new(key.into())),
        }
    }

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(header::AUTHORIZATION, v);
        }
        h
    }

    fn basic(raw: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }

    #[test]
    fn only_the_exact_basic_credential_passes() {
        let s = state("k1");
        assert!(s.authorized(&headers(&basic("k1:"))));
        assert!(s.authorized(&headers(&basic("k1:").replace("Basic", "basic"))));
        for bad in [
            basic("k1"),
            basic("k1:pw"),
            basic("k2:"),
            basic(":"),
            "Bearer k1".to_string(),
            "Basic k1".to_string(),
            "Basic".to_string(),
            "Basic !!!".to_string(),
            String::new(),
        ] {
            assert!(!s.authorized(&headers(&bad)), "{bad}");
        }
        assert!(!state("").authorized(&headers(&basic(":"))));
    }

    #[test]
    fn scopes_are_checked() {
        let mut s = state("k");
        s.scopes = vec!["users:read".into()];
        assert!(s.require("users:read").is_ok());
        assert!(matches!(
            s.require("companies:read"),
            Err(ApiError::MissingScope("companies:read"))
        ));
        // Production spells the tag scopes `tag-group:*`: staging's spelling is refused there.
        s.scopes = vec!["tag-group:read".into()];
        assert!(s.require("tag-groups:read").is_err());
        s.spelling = scopes::Spelling::Production;
        assert!(s.require("tag-groups:read").is_ok());
        s.scopes = vec!["tag-groups:read".into()];
        assert!(matches!(
            s.require("tag-groups:read"),
            Err(ApiError::MissingScope("tag-group:read"))
        ));
    }
}
