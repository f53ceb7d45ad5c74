//! The daemon's `/healthz` and `/metrics` (Prometheus text format, `prometheus-client`), served
//! on `[daemon] listen`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::Shared;

type Labels = Vec<(String, String)>;

fn duration_histogram() -> Histogram {
    // 0.05 s .. about 27 minutes.
    Histogram::new(exponential_buckets(0.05, 2.0, 16))
}

/// The daemon's metrics, all under `pleo_host_`.
pub struct Metrics {
    registry: Registry,
    runs: Family<Labels, Counter>,
    duration: Family<Labels, Histogram, fn() -> Histogram>,
    api_calls: Family<Labels, Counter>,
    retries: Family<Labels, Counter>,
    requests: Family<Labels, Counter>,
    rate_limit_wait: Family<Labels, Counter<f64, AtomicU64>>,
    next_fire: Family<Labels, Gauge>,
    reloads: Family<Labels, Counter>,
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("pleo_host");
        let runs = Family::<Labels, Counter>::default();
        registry.register(
            "runs",
            "Runs of each schedule by result (ok, failed, cancelled, skipped)",
            runs.clone(),
        );
        let duration = Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(
            duration_histogram,
        );
        registry.register(
            "run_duration_seconds",
            "Wall-clock time of each schedule's runs",
            duration.clone(),
        );
        let api_calls = Family::<Labels, Counter>::default();
        registry.register(
            "pleo_api_calls",
            "Pleo API calls made by each schedule's runs",
            api_calls.clone(),
        );
        let retries = Family::<Labels, Counter>::default();
        registry.register(
            "pleo_api_retries",
            "Pleo API calls repeated after a 429, 5xx or network error",
            retries.clone(),
        );
        let requests = Family::<Labels, Counter>::default();
        registry.register(
            "pleo_requests",
            "HTTP requests to Pleo by each schedule's runs, by the status of the answer \
             (`transport`: no answer came)",
            requests.clone(),
        );
        let rate_limit_wait = Family::<Labels, Counter<f64, AtomicU64>>::default();
        registry.register(
            "rate_limit_wait_seconds",
            "Time each schedule's calls waited for the key's rate limit",
            rate_limit_wait.clone(),
        );
        let next_fire = Family::<Labels, Gauge>::default();
        registry.register(
            "next_fire_timestamp_seconds",
            "Unix time of each schedule's next fire time",
            next_fire.clone(),
        );
        let reloads = Family::<Labels, Counter>::default();
        registry.register(
            "config_reloads",
            "SIGHUP reloads of pleo.toml and the key, by result",
            reloads.clone(),
        );
        Metrics {
            registry,
            runs,
            duration,
            api_calls,
            retries,
            requests,
            rate_limit_wait,
            next_fire,
            reloads,
        }
    }

    fn schedule(name: &str) -> Labels {
        vec![("schedule".to_owned(), name.to_owned())]
    }

    pub fn run_ended(&self, schedule: &str, result: &str, seconds: f64, calls: u64, retries: u64) {
        let mut labels = Self::schedule(schedule);
        labels.push(("result".to_owned(), result.to_owned()));
        self.runs.get_or_create(&labels).inc();
        if result != "skipped" {
            self.duration
                .get_or_create(&Self::schedule(schedule))
                .observe(seconds);
        }
        self.api_calls
            .get_or_create(&Self::schedule(schedule))
            .inc_by(calls);
        self.retries
            .get_or_create(&Self::schedule(schedule))
            .inc_by(retries);
    }

    /// Counts a run's HTTP requests to Pleo by status, as the client saw the answers.
    pub fn pleo_requests(&self, schedule: &str, statuses: &crate::pleo::StatusCounts) {
        for (status, count) in statuses {
            let mut labels = Self::schedule(schedule);
            let status = status.map_or_else(|| "transport".to_owned(), |s| s.to_string());
            labels.push(("status".to_owned(), status));
            self.requests.get_or_create(&labels).inc_by(*count);
        }
    }

    pub fn rate_limit_wait(&self, schedule: &str, seconds: f64) {
        self.rate_limit_wait
            .get_or_create(&Self::schedule(schedule))
            .inc_by(seconds);
    }

    pub fn next_fire(&self, schedule: &str, unix: i64) {
        self.next_fire
            .get_or_create(&Self::schedule(schedule))
            .set(unix);
    }

    pub fn reload(&self, result: &str) {
        self.reloads
            .get_or_create(&vec![("result".to_owned(), result.to_owned())])
            .inc();
    }

    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// Serves `/healthz` and `/metrics` on `addr` until the returned task is aborted.
pub(crate) async fn serve(
    addr: SocketAddr,
    shared: Arc<Shared>,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(
        "serving /healthz and /metrics on http://{}",
        listener.local_addr()?
    );
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(shared);
    Ok(tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!("the metrics server stopped: {e}");
        }
    }))
}

async fn healthz(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    let body = serde_json::json!({
        "status": "ok",
        "schedules": shared.schedule_names(),
        "running": shared.running.load(Ordering::SeqCst),
    });
    (StatusCode::OK, axum::Json(body))
}

async fn metrics(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    match shared.metrics.encode() {
        Ok(text) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_runs_by_schedule_and_result() {
        let m = Metrics::new();
        m.run_ended("monthly", "ok", 1.5, 38, 2);
        m.run_ended("monthly", "skipped", 0.0, 0, 0);
        m.next_fire("monthly", 1_800_000_000);
        m.pleo_requests(
            "monthly",
            &[(Some(200), 36), (Some(503), 2), (None, 1)]
                .into_iter()
                .collect(),
        );
        let text = m.encode().unwrap();
        assert!(
            text.contains("pleo_host_runs_total{schedule=\"monthly\",result=\"ok\"} 1"),
            "{text}"
        );
        assert!(text.contains("pleo_host_runs_total{schedule=\"monthly\",result=\"skipped\"} 1"));
        assert!(text.contains("pleo_host_pleo_api_calls_total{schedule=\"monthly\"} 38"));
        assert!(
            text.contains("pleo_host_pleo_requests_total{schedule=\"monthly\",status=\"503\"} 2")
        );
        assert!(text.contains(
            "pleo_host_pleo_requests_total{schedule=\"monthly\",status=\"transport\"} 1"
        ));
        assert!(text.contains("pleo_host_run_duration_seconds_count{schedule=\"monthly\"} 1"));
        assert!(
            text.contains("pleo_host_next_fire_timestamp_seconds{schedule=\"monthly\"} 1800000000")
        );
        assert!(text.ends_with("# EOF\n"));
    }
}
