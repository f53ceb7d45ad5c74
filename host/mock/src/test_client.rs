//! A small HTTP client for the route tests (`export_tests`, `master_tests`): a real server
//! on a free port, JSON in and out, and a pager that follows `endCursor` to the end.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;

use base64::Engine;
use chrono::NaiveDate;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::{MockConfig, MockServer};

/// The data the route tests run on: a fixed anchor so seeded data is the same every day.
pub(super) fn cfg() -> MockConfig {
    MockConfig {
        anchor: NaiveDate::from_ymd_opt(2025, 6, 30).unwrap_or_default(),
        entries: 1500,
        employees: 30,
        ..MockConfig::default()
    }
}

pub(super) struct Client {
    pub server: Arc<MockServer>,
    http: reqwest::Client,
    auth: Option<String>,
}

pub(super) fn basic(key: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{key}:"))
    )
}

/// Percent-encodes a query value.
fn enc(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl Client {
    pub(super) async fn start(cfg: MockConfig) -> Client {
        let auth = Some(basic(&cfg.api_key));
        let server = MockServer::start(SocketAddr::from(([127, 0, 0, 1], 0)), cfg)
            .await
            .expect("server starts");
        Client {
            server: Arc::new(server),
            http: reqwest::Client::new(),
            auth,
        }
    }

    /// The same server, called with another `Authorization` header (`None`: none at all).
    pub(super) fn with_auth(&self, auth: Option<String>) -> Client {
        Client {
            server: self.server.clone(),
            http: self.http.clone(),
            auth,
        }
    }

    pub(super) fn url(&self, path: &str, query: &[(&str, &str)]) -> String {
        let q: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{k}={}", enc(v)))
            .collect();
        let sep = if q.is_empty() { "" } else { "?" };
        format!("{}{path}{sep}{}", self.server.base_url(), q.join("&"))
    }

    /// Sends a request; the answer's JSON (`Null` for an empty body). Every JSON answer must
    /// carry Pleo's content type.
    pub(super) async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, self.url(path, query));
        if let Some(auth) = &self.auth {
            req = req.header(AUTHORIZATION, auth);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status();
        let ct = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        let text = resp.text().await.expect("body read");
        if text.is_empty() {
            return (status, Value::Null);
        }
        assert_eq!(
            ct.as_deref(),
            Some("application/json;charset=UTF-8"),
            "{text}"
        );
        let body =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
        (status, body)
    }

    pub(super) async fn get(&self, path: &str, query: &[(&str, &str)]) -> (StatusCode, Value) {
        self.call(Method::GET, path, query, None).await
    }

    pub(super) async fn post(
        &self,
        path: &str,
        query: &[(&str, &str)],
        body: &Value,
    ) -> (StatusCode, Value) {
        self.call(Method::POST, path, query, Some(body)).await
    }

    pub(super) async fn put(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.call(Method::PUT, path, &[], Some(body)).await
    }

    /// Pages through a list with `after=endCursor` and `limit`; returns every element and
    /// checks that none comes twice, that the last page says so and that `total` adds up.
    pub(super) async fn all_pages(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
        limit: usize,
    ) -> Vec<Value> {
        let limit = limit.to_string();
        let mut out: Vec<Value> = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..10_000 {
            let mut q: Vec<(&str, &str)> = query.to_vec();
            q.push(("limit", &limit));
            if let Some(c) = &cursor {
                q.push(("after", c));
            }
            let (status, page) = self.call(method.clone(), path, &q, body).await;
            assert_eq!(status, StatusCode::OK, "{path}: {page}");
            let data = page["data"].as_array().expect("data is an array");
            assert!(
                data.len() <= limit.parse().unwrap_or(0),
                "{path}: page too long"
            );
            out.extend(data.iter().cloned());
            let p = &page["pagination"];
            assert!(
                p["currentRequestPagination"]["parameters"].is_object(),
                "{p}"
            );
            if p["hasNextPage"] == false {
                assert_eq!(p["total"].as_u64(), Some(out.len() as u64), "{path}");
                let keys: HashSet<String> = out.iter().map(identity).collect();
                assert_eq!(keys.len(), out.len(), "{path}: an element came twice");
                return out;
            }
            cursor = p["endCursor"].as_str().map(String::from);
            assert!(cursor.is_some(), "{path}: more pages but no endCursor");
        }
        panic!("{path}: paging never ended");
    }
}

/// What tells list elements apart: `id`, else `accountingEntryId`.
pub(super) fn identity(v: &Value) -> String {
    v.get("id")
        .or_else(|| v.get("accountingEntryId"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// Asserts an error answer: status, `type`, and a non-empty `message`.
pub(super) fn assert_error(got: &(StatusCode, Value), status: StatusCode, kind: &str) {
    assert_eq!(got.0, status, "{}", got.1);
    assert_eq!(got.1["type"], kind, "{}", got.1);
    assert!(
        got.1["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{}",
        got.1
    );
}
