//! Keeps every exchange the mock serves, when [`MockConfig::record`](super::MockConfig::record)
//! is on, so that a test can check what went over the wire (the conformance test validates
//! each one against Pleo's OpenAPI documents). Off, it is not installed at all. The upload to
//! a presigned URL is not recorded: it is S3's part, not Pleo's API.

use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};

use super::MockServer;
use super::error::ApiError;
use super::faults::AnswerDropped;

/// One request the mock answered, and its answer, as they went over the wire.
#[derive(Clone, Debug)]
pub struct Exchange {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The route that matched, in the router's syntax (`/v2/employees/{employee_id}`);
    /// `None` when no route did (unknown path, wrong method).
    pub route: Option<String>,
    /// The request path as sent, e.g. `/v2/employees/0b1c...`.
    pub path: String,
    /// The raw query string, without `?`.
    pub query: Option<String>,
    pub request_content_type: Option<String>,
    pub request_body: Bytes,
    pub status: u16,
    pub response_content_type: Option<String>,
    pub response_body: Bytes,
    /// The mock made this answer (and any write it reports) but closed the connection instead
    /// of sending it: the `drop_answer` fault.
    pub answer_dropped: bool,
}

impl Exchange {
    /// The matched route, else the raw path: what a report should name.
    pub fn route_or_path(&self) -> &str {
        self.route.as_deref().unwrap_or(&self.path)
    }
}

type Log = Arc<Mutex<Vec<Exchange>>>;

/// What the server keeps to answer [`MockServer::exchanges`].
#[derive(Clone, Default)]
pub(super) struct Recorder(Option<Log>);

/// Wraps `app` so that it records every exchange if `on`; otherwise leaves it as it is.
/// Added last, it sees the answers exactly as the client gets them.
pub(super) fn install(app: Router, on: bool) -> (Router, Recorder) {
    if !on {
        return (app, Recorder(None));
    }
    let log = Log::default();
    let app = app.layer(middleware::from_fn_with_state(log.clone(), record));
    (app, Recorder(Some(log)))
}

impl MockServer {
    /// Every exchange so far, oldest first, if the server was started with
    /// [`MockConfig::record`](super::MockConfig::record); empty otherwise.
    pub fn exchanges(&self) -> Vec<Exchange> {
        match &self.recorder.0 {
            Some(log) => log.lock().unwrap_or_else(PoisonError::into_inner).clone(),
            None => Vec::new(),
        }
    }

    /// The exchanges after the first `from`, so that a watcher polling the record copies only
    /// what is new.
    pub fn exchanges_since(&self, from: usize) -> Vec<Exchange> {
        match &self.recorder.0 {
            Some(log) => {
                let log = log.lock().unwrap_or_else(PoisonError::into_inner);
                log.get(from..).map_or_else(Vec::new, <[Exchange]>::to_vec)
            }
            None => Vec::new(),
        }
    }
}

async fn record(State(log): State<Log>, req: Request, next: Next) -> Response {
    // The presigned upload stands in for S3, not Pleo's API: not an exchange with Pleo (the
    // mock keeps what it needs of it on the import job).
    if req
        .extensions()
        .get::<MatchedPath>()
        .is_some_and(|m| m.as_str() == super::vendor_import::UPLOAD_ROUTE)
    {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let mut exchange = Exchange {
        method: parts.method.to_string(),
        route: parts
            .extensions
            .get::<MatchedPath>()
            .map(|p| p.as_str().to_owned()),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        request_content_type: content_type(&parts.headers),
        request_body: Bytes::new(),
        status: 0,
        response_content_type: None,
        response_body: Bytes::new(),
        answer_dropped: false,
    };
    // Buffering changes nothing for the handlers: they read whole bodies anyway, and their
    // own size limit still applies to the rebuilt body.
    let response = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => {
            exchange.request_body = bytes.clone();
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(_) => ApiError::BadBody("the request body could not be read".into()).into_response(),
    };
    let (mut parts, body) = response.into_parts();
    exchange.status = parts.status.as_u16();
    exchange.answer_dropped = parts.extensions.get::<AnswerDropped>().is_some();
    exchange.response_content_type = content_type(&parts.headers);
    let body = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => {
            exchange.response_body = bytes.clone();
            Body::from(bytes)
        }
        // A broken body stays broken for the client; the record shows it empty.
        Err(_) => {
            parts.headers.remove(header::CONTENT_LENGTH);
            Body::empty()
        }
    };
    log.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(exchange);
    Response::from_parts(parts, body)
}

fn content_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use base64::Engine;
    use serde_json::{Value, json};

    use super::super::{MOCK_API_KEY, MockConfig, MockServer};

    async fn start(record: bool) -> MockServer {
        let cfg = MockConfig {
            entries: 30,
            employees: 5,
            record,
            ..MockConfig::default()
        };
        MockServer::start(SocketAddr::from(([127, 0, 0, 1], 0)), cfg)
            .await
            .expect("server starts")
    }

    fn auth() -> String {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{MOCK_API_KEY}:"));
        format!("Basic {token}")
    }

    #[tokio::test]
    async fn keeps_each_exchange_as_it_went_over_the_wire() {
        let server = start(true).await;
        let http = reqwest::Client::new();
        let base = server.base_url();
        let list = http
            .get(format!("{base}/v2/employees?limit=2"))
            .header("authorization", auth())
            .send()
            .await
            .unwrap();
        assert_eq!(list.status(), 200);
        let list_body = list.bytes().await.unwrap();
        let search = http
            .post(format!("{base}/v1/accounting-entries:search?limit=1"))
            .header("authorization", auth())
            .json(&json!({"includeDeleted": false}))
            .send()
            .await
            .unwrap();
        assert_eq!(search.status(), 200);
        let unknown = http
            .get(format!("{base}/v9/nothing"))
            .header("authorization", auth())
            .send()
            .await
            .unwrap();
        assert_eq!(unknown.status(), 404);
        let refused = http
            .get(format!("{base}/v2/employees"))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 401);

        let exchanges = server.exchanges();
        assert_eq!(exchanges.len(), 4, "{exchanges:#?}");
        let [list, search, unknown, refused] = &exchanges[..] else {
            unreachable!()
        };
        assert_eq!(list.method, "GET");
        assert_eq!(list.route.as_deref(), Some("/v2/employees"));
        assert_eq!(list.query.as_deref(), Some("limit=2"));
        assert_eq!((list.status, list.request_body.len()), (200, 0));
        // The body is what the client received, byte for byte.
        assert_eq!(list.response_body, list_body);
        assert_eq!(
            list.response_content_type.as_deref(),
            Some("application/json;charset=UTF-8")
        );

        assert_eq!(
            search.route.as_deref(),
            Some("/v1/accounting-entries:search")
        );
        let sent: Value = serde_json::from_slice(&search.request_body).unwrap();
        assert_eq!(sent, json!({"includeDeleted": false}));
        assert_eq!(
            search.request_content_type.as_deref(),
            Some("application/json")
        );
        let answer: Value = serde_json::from_slice(&search.response_body).unwrap();
        assert_eq!(answer["data"].as_array().map(Vec::len), Some(1));

        assert_eq!(unknown.route, None);
        assert_eq!(unknown.route_or_path(), "/v9/nothing");
        assert_eq!(unknown.status, 404);
        assert_eq!(refused.status, 401);
        assert_eq!(refused.route.as_deref(), Some("/v2/employees"));
    }

    #[tokio::test]
    async fn keeps_nothing_unless_asked() {
        let server = start(false).await;
        let response = reqwest::Client::new()
            .get(format!("{}/v1/introspect", server.base_url()))
            .header("authorization", auth())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(server.request_count(), 1);
        assert!(server.exchanges().is_empty());
    }
}
