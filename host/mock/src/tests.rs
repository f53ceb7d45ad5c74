//! End-to-end tests: a real server on a free port, called over HTTP.

use std::collections::HashSet;
use std::net::SocketAddr;

use base64::Engine;
use chrono::NaiveDate;
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use serde_json::{Value, json};

use super::*;

fn cfg() -> MockConfig {
    MockConfig {
        anchor: NaiveDate::from_ymd_opt(2025, 6, 30).unwrap_or_default(),
        entries: 1200,
        employees: 30,
        ..MockConfig::default()
    }
}

fn any_port() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

fn basic(raw: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

/// Percent-encodes a query value (cursors and ids need none; dates and e-mails might).
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

struct Api {
    server: MockServer,
    http: reqwest::Client,
    auth: String,
}

impl Api {
    async fn start(cfg: MockConfig) -> Api {
        let auth = basic(&format!("{}:", cfg.api_key));
        let server = MockServer::start(any_port(), cfg)
            .await
            .expect("server starts");
        Api {
            server,
            http: reqwest::Client::new(),
            auth,
        }
    }

    fn url(&self, path: &str, query: &[(&str, &str)]) -> String {
        let q: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{k}={}", enc(v)))
            .collect();
        let sep = if q.is_empty() { "" } else { "?" };
        format!("{}{path}{sep}{}", self.server.base_url(), q.join("&"))
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let resp = req.send().await.expect("request sent");
        let status = resp.status();
        let ct = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        let text = resp.text().await.expect("body read");
        let body =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
        assert_eq!(ct.as_deref(), Some("application/json;charset=UTF-8"));
        (status, body)
    }

    async fn get(&self, path: &str, query: &[(&str, &str)]) -> (StatusCode, Value) {
        self.send(
            self.http
                .get(self.url(path, query))
                .header(AUTHORIZATION, &self.auth),
        )
        .await
    }

    async fn search(&self, query: &[(&str, &str)], body: Value) -> (StatusCode, Value) {
        let req = self
            .http
            .post(self.url("/v1/accounting-entries:search", query))
            .header(AUTHORIZATION, &self.auth)
            .json(&body);
        self.send(req).await
    }

    /// Follows `after=endCursor` until the last page; returns ids in order.
    async fn search_all(&self, query: &[(&str, &str)], body: Value) -> Vec<String> {
        let mut ids = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..10_000 {
            let mut q = query.to_vec();
            if let Some(c) = &cursor {
                q.push(("after", c));
            }
            let (status, page) = self.search(&q, body.clone()).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            ids.extend(ids_of(&page));
            let p = &page["pagination"];
            if p["hasNextPage"] == false {
                assert_eq!(p["total"].as_u64(), Some(ids.len() as u64));
                return ids;
            }
            cursor = p["endCursor"].as_str().map(String::from);
        }
        panic!("paging never ended");
    }
}

fn ids_of(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["id"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn assert_error(status: StatusCode, body: &Value, want: StatusCode, kind: &str) {
    assert_eq!(status, want, "{body}");
    assert_eq!(body["type"], kind, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

#[tokio::test]
async fn wrong_credentials_get_401_and_are_counted() {
    let api = Api::start(cfg()).await;
    let url = api.url("/v2/employees", &[]);
    let secret = "pleo-wrong-secret-123";
    let attempts = [
        None,
        Some(format!("Bearer {MOCK_API_KEY}")),
        Some(basic(MOCK_API_KEY)),
        Some(format!("Basic {MOCK_API_KEY}")),
        Some(basic(&format!("{secret}:"))),
        Some(basic(&format!("{MOCK_API_KEY}:{secret}"))),
    ];
    for auth in &attempts {
        let mut req = api.http.get(&url);
        if let Some(a) = auth {
            req = req.header(AUTHORIZATION, a);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        assert!(resp.headers().contains_key(WWW_AUTHENTICATE));
        let text = resp.text().await.unwrap();
        assert!(
            !text.contains(secret) && !text.contains(MOCK_API_KEY),
            "{text}"
        );
        let body: Value = serde_json::from_str(&text).unwrap();
        assert_error(
            StatusCode::UNAUTHORIZED,
            &body,
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
        );
    }
    // Unknown routes need a key too.
    let resp = api.http.get(api.url("/nope", &[])).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(api.server.request_count(), attempts.len() as u64 + 1);
    let (status, _) = api.get("/v2/employees", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(api.server.request_count(), attempts.len() as u64 + 2);
}

#[tokio::test]
async fn custom_key_replaces_the_default() {
    let api = Api::start(MockConfig {
        api_key: "pls_abc_123".into(),
        ..cfg()
    })
    .await;
    let (status, _) = api.get("/v1/introspect", &[]).await;
    assert_eq!(status, StatusCode::OK);
    let resp = api
        .http
        .get(api.url("/v1/introspect", &[]))
        .header(AUTHORIZATION, basic(&format!("{MOCK_API_KEY}:")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn missing_scopes_get_403() {
    let api = Api::start(MockConfig {
        scopes: vec!["companies:read".into()],
        ..cfg()
    })
    .await;
    let (status, body) = api.get("/v2/employees", &[]).await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "FORBIDDEN");
    assert_eq!(body["message"], "missing scope users:read");
    let id = api.server.dataset().employees[0].id.to_string();
    let (status, _) = api.get(&format!("/v2/employees/{id}"), &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = api.search(&[], json!({"includeDeleted": false})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["message"], "missing scope accounting-entries:read");
    // These need only a valid key.
    let (status, body) = api.get("/v1/introspect", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["scope"], "companies:read");
    assert_eq!(api.get("/v1/installations/me", &[]).await.0, StatusCode::OK);
    assert_eq!(api.get("/v1/companies", &[]).await.0, StatusCode::OK);
}

#[tokio::test]
async fn introspect_and_installation_name_the_company() {
    let api = Api::start(cfg()).await;
    let ds = api.server.dataset();
    let urn = format!("urn:pleo:company:{}", ds.company.id);
    let (status, body) = api.get("/v1/introspect", &[]).await;
    assert_eq!(status, StatusCode::OK);
    let d = &body["data"];
    assert_eq!(d["authMethod"], "API_KEY");
    assert_eq!(d["subjectURN"], urn.as_str());
    assert_eq!(d["scope"], all_scopes().join(" "));
    assert!(d["clientId"].is_string() && d["applicationName"].is_string());

    let (status, body) = api.get("/v1/installations/me", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["resource"], urn.as_str());
    assert_eq!(body["status"], "ACTIVATED");
    for key in ["id", "applicationId", "createdAt", "updatedAt", "metadata"] {
        assert!(!body[key].is_null(), "{key}");
    }
    let other = "00000000-0000-4000-8000-000000000001";
    let (status, _) = api
        .get("/v1/installations/me", &[("company_id", other)])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // What a run needs to start never waits for the entries to be made.
    assert!(ds.companies[0].ledger.get().is_none());
}

#[tokio::test]
async fn companies() {
    let api = Api::start(cfg()).await;
    let ds = api.server.dataset();
    let id = ds.company.id.to_string();
    let (status, body) = api.get("/v1/companies", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"][0]["id"], id.as_str());
    assert_eq!(body["pagination"]["total"], 1);
    assert_eq!(body["pagination"]["hasNextPage"], false);
    let org = ds
        .company
        .organization_id
        .map(|o| o.to_string())
        .unwrap_or_default();
    assert_eq!(
        api.get("/v1/companies", &[("organization_id", &org)])
            .await
            .0,
        StatusCode::OK
    );
    let other = "00000000-0000-4000-8000-000000000001";
    assert_eq!(
        api.get("/v1/companies", &[("organization_id", other)])
            .await
            .0,
        StatusCode::FORBIDDEN
    );

    let (status, body) = api.get(&format!("/v1/companies/{id}"), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["name"], ds.company.name.as_str());
    assert!(body["data"]["address"]["country"].is_string());
    let (status, body) = api.get(&format!("/v1/companies/{other}"), &[]).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "COMPANY_NOT_FOUND");
    let (status, body) = api.get("/v1/companies/not-a-uuid", &[]).await;
    assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "PARAMETER_VALIDATION_FAILED",
    );
}

#[tokio::test]
async fn employees_page_and_filter() {
    let api = Api::start(cfg()).await;
    let ds = api.server.dataset();
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut q = vec![("limit", "7")];
        if let Some(a) = &after {
            q.push(("after", a));
        }
        let (status, page) = api.get("/v2/employees", &q).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        seen.extend(ids_of(&page));
        if page["pagination"]["hasNextPage"] == false {
            break;
        }
        after = page["pagination"]["endCursor"].as_str().map(String::from);
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(seen.len(), ds.employees.len());
    assert_eq!(unique.len(), ds.employees.len());

    let e = &ds.employees[3];
    let upper = e.email.to_uppercase();
    let (_, page) = api.get("/v2/employees", &[("email", &upper)]).await;
    assert_eq!(ids_of(&page), vec![e.id.to_string()]);
    assert_eq!(
        page["pagination"]["currentRequestPagination"]["parameters"]["email"][0],
        upper.as_str()
    );
    if let Some(code) = &e.code {
        let (_, page) = api.get("/v2/employees", &[("code", code)]).await;
        assert_eq!(ids_of(&page), vec![e.id.to_string()]);
    }
    let company = ds.company.id.to_string();
    let (_, page) = api
        .get(
            "/v2/employees",
            &[("companyId", &company), ("limit", "100")],
        )
        .await;
    assert_eq!(ids_of(&page).len(), ds.employees.len());
    let other = "00000000-0000-4000-8000-000000000001";
    let (status, body) = api.get("/v2/employees", &[("companyId", other)]).await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "FORBIDDEN");
    let (status, _) = api.get("/v2/employees", &[("companyId", "42")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, body) = api.get(&format!("/v2/employees/{}", e.id), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["email"], e.email.as_str());
    assert_eq!(body["data"]["companyId"], company.as_str());
    let (status, body) = api.get(&format!("/v2/employees/{other}"), &[]).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "EMPLOYEE_NOT_FOUND");
    let (status, _) = api.get("/v2/employees/123", &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// A route that documents `offset` (`/v2/employees`): walking back from the last page by
/// `before` gives the forward walk, each `offset` page is the cursor walk's page (in the order
/// asked for too), and two positions at once are a 400.
#[tokio::test]
async fn employees_page_backwards_and_by_offset() {
    let api = Api::start(cfg()).await;
    let ds = api.server.dataset();
    let sorts: [&[(&str, &str)]; 2] = [&[], &[("sorting_keys", "id"), ("sorting_order", "DESC")]];
    for sort in sorts {
        let mut pages: Vec<Vec<String>> = Vec::new();
        let mut after: Option<String> = None;
        let last = loop {
            let mut q = vec![("limit", "7")];
            q.extend_from_slice(sort);
            if let Some(a) = &after {
                q.push(("after", a));
            }
            let (status, page) = api.get("/v2/employees", &q).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            pages.push(ids_of(&page));
            after = page["pagination"]["endCursor"].as_str().map(String::from);
            if page["pagination"]["hasNextPage"] == false {
                break page;
            }
        };
        let forward: Vec<String> = pages.concat();
        assert_eq!(forward.len(), ds.employees.len());
        if !sort.is_empty() {
            let mut descending = forward.clone();
            descending.sort_by(|a, b| b.cmp(a));
            assert_eq!(forward, descending);
        }

        // Backwards from the last page, each page `before` the start of the one after it.
        let mut backward = vec![ids_of(&last)];
        let mut page = last;
        while page["pagination"]["hasPreviousPage"] == true {
            let before = page["pagination"]["startCursor"]
                .as_str()
                .unwrap()
                .to_owned();
            let mut q = vec![("limit", "7"), ("before", before.as_str())];
            q.extend_from_slice(sort);
            let (status, back) = api.get("/v2/employees", &q).await;
            assert_eq!(status, StatusCode::OK, "{back}");
            assert_eq!(back["pagination"]["hasNextPage"], true);
            backward.push(ids_of(&back));
            page = back;
        }
        backward.reverse();
        assert_eq!(backward, pages, "sort {sort:?}");

        // By offset: page `i` of the walk starts at `7 * i`.
        for (i, want) in pages.iter().enumerate() {
            let offset = (7 * i).to_string();
            let mut q = vec![("limit", "7"), ("offset", offset.as_str())];
            q.extend_from_slice(sort);
            let (status, at) = api.get("/v2/employees", &q).await;
            assert_eq!(status, StatusCode::OK, "{at}");
            assert_eq!(&ids_of(&at), want, "offset {offset}, sort {sort:?}");
            assert_eq!(at["pagination"]["hasPreviousPage"], i > 0);
        }
    }
    let (_, first) = api.get("/v2/employees", &[("limit", "7")]).await;
    let cursor = first["pagination"]["endCursor"]
        .as_str()
        .unwrap()
        .to_owned();
    for two in [
        [("after", cursor.as_str()), ("offset", "7")],
        [("before", cursor.as_str()), ("offset", "7")],
        [("after", cursor.as_str()), ("before", cursor.as_str())],
    ] {
        let (status, body) = api.get("/v2/employees", &two).await;
        assert_error(
            status,
            &body,
            StatusCode::BAD_REQUEST,
            "PARAMETER_VALIDATION_FAILED",
        );
    }
}

#[tokio::test]
async fn paging_returns_every_entry_exactly_once() {
    let api = Api::start(cfg()).await;
    let ds = api.server.dataset();
    let live: Vec<String> = ds
        .entries
        .iter()
        .filter(|e| e.deleted_at.is_none())
        .map(|e| e.id.to_string())
        .collect();
    let everything: HashSet<String> = ds.entries.iter().map(|e| e.id.to_string()).collect();

    // Default sort (performedAt, id) is the dataset's own order.
    let ids = api
        .search_all(&[("limit", "100")], json!({"includeDeleted": false}))
        .await;
    assert_eq!(ids, live);

    // Nullable key, descending, odd page size, deleted included.
    let q = [
        ("limit", "37"),
        ("sorting_keys", "settledAt"),
        ("sorting_order", "DESC"),
    ];
    let ids = api.search_all(&q, json!({"includeDeleted": true})).await;
    let unique: HashSet<String> = ids.iter().cloned().collect();
    assert_eq!(ids.len(), ds.entries.len());
    assert_eq!(unique, everything);

    // Two keys, default limit.
    let q = [
        ("sorting_keys", "bookkeepingDate"),
        ("sorting_keys", "id"),
        ("sorting_order", "ASC_NULLS_FIRST"),
        ("sorting_order", "DESC"),
    ];
    let ids = api.search_all(&q, json!({"includeDeleted": true})).await;
    assert_eq!(ids.iter().cloned().collect::<HashSet<_>>(), everything);
    assert_eq!(ids.len(), ds.entries.len());
}

#[tokio::test]
async fn paging_backwards_with_before() {
    let api = Api::start(cfg()).await;
    let forward = api
        .search_all(&[("limit", "50")], json!({"includeDeleted": true}))
        .await;
    // Jump to the last page, then walk back with before=startCursor.
    let q = [
        ("limit", "50"),
        ("sorting_keys", "performedAt"),
        ("sorting_order", "DESC"),
    ];
    let (_, first_desc) = api.search(&q, json!({"includeDeleted": true})).await;
    let newest = ids_of(&first_desc);
    assert_eq!(newest.first(), forward.last());

    let (_, page) = api
        .search(&[("limit", "50")], json!({"includeDeleted": true}))
        .await;
    let start = page["pagination"]["endCursor"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let (status, page) = api
        .search(
            &[("limit", "50"), ("after", &start)],
            json!({"includeDeleted": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["pagination"]["hasPreviousPage"], true);
    let back_cursor = page["pagination"]["startCursor"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let (_, back) = api
        .search(
            &[("limit", "50"), ("before", &back_cursor)],
            json!({"includeDeleted": true}),
        )
        .await;
    assert_eq!(ids_of(&back), forward[..50].to_vec());
    assert_eq!(back["pagination"]["hasPreviousPage"], false);
    assert_eq!(back["pagination"]["hasNextPage"], true);
}

#[tokio::test]
async fn search_filters_match_a_local_count() {
    let api = Api::start(cfg()).await;
    let ds = api.server.dataset();
    let emp = ds
        .entries
        .iter()
        .find_map(|e| e.employee_id)
        .map(|id| id.to_string())
        .unwrap_or_default();
    let body = json!({
        "includeDeleted": false,
        "employeeIds": [emp],
        "families": ["CARD_PURCHASE", "OUT_OF_POCKET"],
        "status": ["COMPLETED", "PENDING"],
        "transactionValueCurrencies": ["DKK", "EUR"],
        "performedAtStart": "2024-10-01T00:00:00Z",
        "performedAtEnd": "2025-04-01T00:00:00Z",
    });
    let start = chrono::DateTime::parse_from_rfc3339("2024-10-01T00:00:00Z").unwrap();
    let end = chrono::DateTime::parse_from_rfc3339("2025-04-01T00:00:00Z").unwrap();
    let expected: Vec<String> = ds
        .entries
        .iter()
        .filter(|e| e.deleted_at.is_none())
        .filter(|e| e.employee_id.map(|i| i.to_string()).as_deref() == Some(emp.as_str()))
        .filter(|e| matches!(e.family, Family::CardPurchase | Family::OutOfPocket))
        .filter(|e| matches!(e.status, Status::Completed | Status::Pending))
        .filter(|e| ["DKK", "EUR"].contains(&e.transaction_value.currency.as_str()))
        .filter(|e| e.performed_at >= start && e.performed_at < end)
        .map(|e| e.id.to_string())
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(api.search_all(&[("limit", "10")], body).await, expected);

    // Accounts: the sum of totalBillValue over a filter.
    let account = ds.accounts[1].id.to_string();
    let (status, page) = api
        .search(
            &[("limit", "100")],
            json!({"includeDeleted": false, "accountIds": [account]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page["data"].as_array().is_some_and(|d| !d.is_empty()));

    let (status, body) = api
        .search(&[], json!({"includeDeleted": false, "performedAtStart": "2025-01-01T00:00:00Z", "settledAtEnd": "2025-02-01T00:00:00Z"}))
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
    let (status, body) = api
        .search(&[], json!({"families": ["CARD_PURCHASE"]}))
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
    let (status, _) = api
        .search(
            &[],
            json!({"includeDeleted": false, "families": ["TRAVEL"]}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn search_rejects_bad_paging_and_foreign_companies() {
    let api = Api::start(cfg()).await;
    let body = json!({"includeDeleted": false});
    for q in [
        vec![("limit", "0")],
        vec![("limit", "101")],
        vec![("limit", "ten")],
        vec![("after", "GARBAGE1")],
        vec![("after", "abc")],
        vec![("before", "MZXW6YTBOI")],
        vec![("offset", "20")],
        vec![("sorting_keys", "amount")],
        vec![("sorting_keys", "id"), ("sorting_order", "SIDEWAYS")],
        vec![("company_id", "nope")],
    ] {
        let (status, resp) = api.search(&q, body.clone()).await;
        assert_error(
            status,
            &resp,
            StatusCode::BAD_REQUEST,
            "PARAMETER_VALIDATION_FAILED",
        );
    }
    let (_, page) = api.search(&[("limit", "100")], body.clone()).await;
    assert_eq!(page["data"].as_array().map(Vec::len), Some(100));
    assert_eq!(page["pagination"]["currentRequestPagination"]["limit"], 100);
    let (_, page) = api.search(&[], body.clone()).await;
    assert_eq!(page["data"].as_array().map(Vec::len), Some(20));
    let cursor = page["pagination"]["endCursor"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let re = regex_like_base32(&cursor);
    assert!(re, "{cursor}");
    // A cursor is tied to the sort it was made for.
    let (status, _) = api
        .search(
            &[("after", &cursor), ("sorting_keys", "settledAt")],
            body.clone(),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let ds = api.server.dataset();
    let own = ds.company.id.to_string();
    assert_eq!(
        api.search(&[("company_id", &own)], body.clone()).await.0,
        StatusCode::OK
    );
    let other = "00000000-0000-4000-8000-000000000001";
    let (status, resp) = api.search(&[("company_id", other)], body.clone()).await;
    assert_error(status, &resp, StatusCode::FORBIDDEN, "FORBIDDEN");
    assert_eq!(
        api.search(&[("organization_id", other)], body).await.0,
        StatusCode::FORBIDDEN
    );
}

fn regex_like_base32(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b) || b == b'=' || b == b'~')
}

/// `GET /v1/accounting-entries/{id}/core` is the entry of `GET /v1/accounting-entries/{id}`
/// without the fields only V1 has (tags, split items, attendees), with `fees`; a deleted
/// entry only with `include_deleted=true`.
#[tokio::test]
async fn an_entry_core_is_the_entry_without_the_v1_fields() {
    let api = Api::start(cfg()).await;
    let ds = api.server.dataset();
    let find = |deleted: bool| {
        ds.entries
            .iter()
            .find(|e| e.deleted_at.is_some() == deleted)
            .map(|e| e.id.to_string())
            .unwrap_or_default()
    };
    let live = find(false);
    let (_, entry) = api
        .get(&format!("/v1/accounting-entries/{live}"), &[])
        .await;
    let (status, core) = api
        .get(&format!("/v1/accounting-entries/{live}/core"), &[])
        .await;
    assert_eq!(status, StatusCode::OK, "{core}");
    let mut expected = entry["data"].clone();
    for only_v1 in ["attendees", "splitItems", "tags"] {
        assert!(expected.get(only_v1).is_some(), "the entry has {only_v1}");
        expected.as_object_mut().map(|o| o.remove(only_v1));
    }
    expected["fees"] = serde_json::json!({});
    assert_eq!(core["data"], expected);

    let deleted = find(true);
    let path = format!("/v1/accounting-entries/{deleted}/core");
    let (status, body) = api.get(&path, &[]).await;
    assert_error(
        status,
        &body,
        StatusCode::NOT_FOUND,
        "ACCOUNTING_ENTRY_NOT_FOUND",
    );
    let (status, body) = api.get(&path, &[("include_deleted", "true")]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["data"]["deletedAt"].is_string());
}

#[tokio::test]
async fn single_entries_and_deleted_ones() {
    let api = Api::start(cfg()).await;
    let ds = api.server.dataset();
    let live = ds
        .entries
        .iter()
        .find(|e| e.deleted_at.is_none())
        .map(|e| e.id.to_string())
        .unwrap_or_default();
    let (status, body) = api
        .get(&format!("/v1/accounting-entries/{live}"), &[])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["id"], live.as_str());
    assert!(body["data"]["transactionValue"]["minors"].is_i64());

    let deleted = ds
        .entries
        .iter()
        .find(|e| e.deleted_at.is_some())
        .map(|e| e.id.to_string())
        .unwrap_or_default();
    let path = format!("/v1/accounting-entries/{deleted}");
    let (status, body) = api.get(&path, &[]).await;
    assert_error(
        status,
        &body,
        StatusCode::NOT_FOUND,
        "ACCOUNTING_ENTRY_NOT_FOUND",
    );
    assert_eq!(
        api.get(&path, &[("include_deleted", "false")]).await.0,
        StatusCode::NOT_FOUND
    );
    let (status, body) = api.get(&path, &[("include_deleted", "true")]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["data"]["deletedAt"].is_string());
    assert_eq!(
        api.get(&path, &[("include_deleted", "maybe")]).await.0,
        StatusCode::BAD_REQUEST
    );

    let unknown = "00000000-0000-4000-8000-000000000001";
    let (status, _) = api
        .get(&format!("/v1/accounting-entries/{unknown}"), &[])
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = api.get("/v1/accounting-entries/1234", &[]).await;
    assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "PARAMETER_VALIDATION_FAILED",
    );
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_json() {
    let api = Api::start(cfg()).await;
    let (status, body) = api.get("/v9/nothing", &[]).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "NOT_FOUND");
    let (status, body) = api.get("/v1/accounting-entries:search", &[]).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "NOT_FOUND");
    // Not JSON at all.
    let req = api
        .http
        .post(api.url("/v1/accounting-entries:search", &[]))
        .header(AUTHORIZATION, &api.auth)
        .body("{not json");
    let (status, body) = api.send(req).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
}

/// A path a variable route captures, or a served path with a method the mock does not serve,
/// is 404 like any unknown route, never 405: `POST /v0/tags/archive` once was "wrong method on
/// `/v0/tags/{tagId}`". The paths below stay unserved (Pleo documents none of them).
#[tokio::test]
async fn unserved_methods_on_served_paths_are_404_in_every_family() {
    let api = Api::start(cfg()).await;
    let id = "0b0e4c2e-8a8f-4a55-9d7c-2f1f0e0c0a01";
    for (method, path) in [
        // `{tagId}` captures a literal; Pleo documents GET, PUT and DELETE there, no POST.
        (reqwest::Method::POST, format!("/v0/tags/{id}")),
        (reqwest::Method::POST, "/v0/tags/unarchive".to_owned()),
        // `{groupId}` of a served path, a method Pleo does not document.
        (reqwest::Method::PATCH, format!("/v0/tag-groups/{id}")),
        // A fixed path any key may GET.
        (reqwest::Method::PATCH, "/v1/installations/me".to_owned()),
        (reqwest::Method::DELETE, format!("/v2/employees/{id}")),
        (
            reqwest::Method::PUT,
            "/v1/accounting-entries:search".to_owned(),
        ),
        (reqwest::Method::DELETE, "/v3/export-jobs".to_owned()),
    ] {
        let req = (api.http)
            .request(method.clone(), api.url(&path, &[]))
            .header(AUTHORIZATION, &api.auth)
            .header(CONTENT_TYPE, "application/json")
            .body("{}");
        let (status, body) = api.send(req).await;
        assert_error(status, &body, StatusCode::NOT_FOUND, "NOT_FOUND");
        let message = body["message"].as_str().unwrap_or_default();
        assert_eq!(message, format!("No endpoint {method} {path}"));
    }
    // Without the key it is still 401 first: the 404 tells a stranger nothing.
    let req = api.http.post(api.url(&format!("/v0/tags/{id}"), &[]));
    assert_eq!(api.send(req).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn same_seed_same_answers() {
    let a = Api::start(cfg()).await;
    let b = Api::start(cfg()).await;
    let q = [("limit", "100"), ("sorting_keys", "id")];
    let body = json!({"includeDeleted": true});
    assert_eq!(
        a.search(&q, body.clone()).await.1,
        b.search(&q, body.clone()).await.1
    );
    assert_eq!(
        a.get("/v2/employees", &[]).await.1,
        b.get("/v2/employees", &[]).await.1
    );
    let c = Api::start(MockConfig { seed: 99, ..cfg() }).await;
    assert_ne!(
        a.search(&q, body.clone()).await.1,
        c.search(&q, body).await.1
    );
}

#[tokio::test]
async fn many_concurrent_requests() {
    let api = std::sync::Arc::new(Api::start(cfg()).await);
    let mut tasks = Vec::new();
    for i in 0..200 {
        let api = api.clone();
        tasks.push(tokio::spawn(async move {
            if i % 2 == 0 {
                api.get("/v2/employees", &[]).await.0
            } else {
                api.search(&[("limit", "100")], json!({"includeDeleted": false}))
                    .await
                    .0
            }
        }));
    }
    for t in tasks {
        assert_eq!(t.await.ok(), Some(StatusCode::OK));
    }
    assert_eq!(api.server.request_count(), 200);
}

#[tokio::test]
async fn shutdown_and_drop_stop_the_server() {
    let server = MockServer::start(any_port(), cfg()).await.unwrap();
    let url = format!("{}/v1/introspect", server.base_url());
    assert!(url.starts_with("http://127.0.0.1:"));
    let http = reqwest::Client::new();
    assert!(http.get(&url).send().await.is_ok());
    server.shutdown().await;
    assert!(reqwest::Client::new().get(&url).send().await.is_err());

    let server = MockServer::start(any_port(), cfg()).await.unwrap();
    let url = format!("{}/v1/introspect", server.base_url());
    assert!(reqwest::Client::new().get(&url).send().await.is_ok());
    drop(server);
    let mut stopped = false;
    for _ in 0..50 {
        if reqwest::Client::new().get(&url).send().await.is_err() {
            stopped = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(stopped);
}

#[tokio::test]
async fn wildcard_bind_reports_loopback_url() {
    let server = MockServer::start(SocketAddr::from(([0, 0, 0, 0], 0)), cfg())
        .await
        .unwrap();
    assert_eq!(
        server.base_url(),
        format!("http://127.0.0.1:{}", server.addr().port())
    );
    server.shutdown().await;
}

// ---------------------------------------------------------------------------
// Multi-entity keys
// ---------------------------------------------------------------------------

fn multi(companies: usize) -> MockConfig {
    MockConfig {
        companies,
        entries: 400,
        employees: 12,
        ..cfg()
    }
}

fn live_ids(entries: &[AccountingEntry]) -> Vec<String> {
    entries
        .iter()
        .filter(|e| e.deleted_at.is_none())
        .map(|e| e.id.to_string())
        .collect()
}

#[test]
fn more_companies_leave_company_zero_unchanged() {
    let one = Dataset::seed(&multi(1));
    let three = Dataset::seed(&multi(3));
    assert_eq!(one.companies.len(), 1);
    assert!(!one.is_multi_entity());
    assert_eq!(to_json(&one.entries), to_json(&three.entries));
    assert_eq!(to_json(&one.employees), to_json(&three.employees));
    assert_eq!(to_json(&one.company), to_json(&three.company));
    // companies[0] is the same data as the top-level fields.
    assert_eq!(
        to_json(&three.companies[0].entries),
        to_json(&three.entries)
    );
    assert_eq!(
        to_json(&three.companies[0].company),
        to_json(&three.company)
    );
    // 0 is read as 1.
    assert_eq!(Dataset::seed(&multi(0)).companies.len(), 1);

    assert_eq!(three.companies.len(), 3);
    assert!(three.is_multi_entity());
    let ids: HashSet<_> = three.companies.iter().map(|c| c.company.id).collect();
    let names: HashSet<_> = three.companies.iter().map(|c| &c.company.name).collect();
    assert_eq!((ids.len(), names.len()), (3, 3));
    for (i, c) in three.companies.iter().enumerate() {
        assert_eq!(c.company.organization_id, three.company.organization_id);
        assert!(
            !c.employees.is_empty() && !c.entries.is_empty(),
            "company {i}"
        );
        assert!(c.employees.iter().all(|e| e.company_id == c.company.id));
        assert!(c.entries.iter().all(|e| e.company_id == c.company.id));
        let staff: HashSet<_> = c.employees.iter().map(|e| e.id).collect();
        assert!(
            c.entries
                .iter()
                .filter_map(|e| e.employee_id)
                .all(|id| staff.contains(&id))
        );
        let accounts: HashSet<_> = c.accounts.iter().map(|a| a.id).collect();
        assert!(
            c.entries
                .iter()
                .filter_map(|e| e.account_id)
                .all(|id| accounts.contains(&id))
        );
        assert_eq!(
            three.company_data(c.company.id).map(|d| d.company.id),
            Some(c.company.id)
        );
        for e in &c.entries {
            assert_eq!(three.entry(e.id).map(|x| x.company_id), Some(c.company.id));
        }
        for e in &c.employees {
            assert_eq!(
                three.employee(e.id).map(|x| x.company_id),
                Some(c.company.id)
            );
        }
    }
    assert_eq!(three.companies[1].employees.len(), 6);
    assert_eq!(three.companies[2].entries.len(), 100);

    // Deterministic, and each company's data depends on the seed.
    let again = Dataset::seed(&multi(3));
    assert_eq!(
        to_json(&again.companies[2].entries),
        to_json(&three.companies[2].entries)
    );
    assert_eq!(again.companies[1].company.id, three.companies[1].company.id);
    let other = Dataset::seed(&MockConfig {
        seed: 7,
        ..multi(3)
    });
    assert_ne!(other.companies[1].company.id, three.companies[1].company.id);
    // More companies than named subsidiaries still get distinct names.
    let many = Dataset::seed(&MockConfig {
        employees: 2,
        entries: 8,
        ..multi(12)
    });
    let names: HashSet<_> = many.companies.iter().map(|c| &c.company.name).collect();
    assert_eq!(names.len(), 12);
}

/// Serializes a part of the dataset, for comparisons.
fn to_json<T: serde::Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

#[tokio::test]
async fn organization_key_sees_every_company() {
    let api = Api::start(multi(3)).await;
    let ds = api.server.dataset();
    let org = ds
        .organization_id()
        .map(|o| o.to_string())
        .unwrap_or_default();
    let ids: Vec<String> = ds
        .companies
        .iter()
        .map(|c| c.company.id.to_string())
        .collect();
    let other = "00000000-0000-4000-8000-000000000001";
    let mut requests = 0;

    // The key's subject is the organization.
    let (status, body) = api.get("/v1/introspect", &[]).await;
    requests += 1;
    assert_eq!(status, StatusCode::OK);
    let urn = format!("urn:pleo:organisation:{org}");
    assert_eq!(body["data"]["subjectURN"], urn.as_str());
    assert_eq!(ds.subject_urn(), urn);
    assert_eq!(format!("{ORGANIZATION_URN_PREFIX}{org}"), urn);
    let (status, body) = api.get("/v1/installations/me", &[]).await;
    requests += 1;
    assert_eq!(
        (status, body["resource"].as_str()),
        (StatusCode::OK, Some(urn.as_str()))
    );
    let (status, _) = api
        .get("/v1/installations/me", &[("company_id", &ids[2])])
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = api
        .get("/v1/installations/me", &[("company_id", other)])
        .await;
    requests += 2;
    assert_error(status, &body, StatusCode::FORBIDDEN, "FORBIDDEN");

    // Companies: all three, with or without the organization named.
    for q in [vec![], vec![("organization_id", org.as_str())]] {
        let (status, page) = api.get("/v1/companies", &q).await;
        requests += 1;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(page["pagination"]["total"], 3);
        let listed: HashSet<String> = ids_of(&page).into_iter().collect();
        assert_eq!(listed, ids.iter().cloned().collect());
        assert!(
            page["data"]
                .as_array()
                .is_some_and(|cs| cs.iter().all(|c| c["organizationId"] == org.as_str()))
        );
    }
    let (status, _) = api
        .get("/v1/companies", &[("organization_id", other)])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = api.get(&format!("/v1/companies/{}", ids[2]), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["name"], ds.companies[2].company.name.as_str());
    let (status, _) = api.get(&format!("/v1/companies/{other}"), &[]).await;
    requests += 3;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Employees: all accessible ones without companyId, one company's with it.
    let all: usize = ds.companies.iter().map(|c| c.employees.len()).sum();
    let (status, page) = api.get("/v2/employees", &[("limit", "100")]).await;
    requests += 1;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["pagination"]["total"].as_u64(), Some(all as u64));
    for (i, c) in ds.companies.iter().enumerate() {
        let (status, page) = api
            .get("/v2/employees", &[("companyId", &ids[i]), ("limit", "100")])
            .await;
        requests += 1;
        assert_eq!(status, StatusCode::OK);
        let got: HashSet<String> = ids_of(&page).into_iter().collect();
        let want: HashSet<String> = c.employees.iter().map(|e| e.id.to_string()).collect();
        assert_eq!(got, want, "company {i}");
    }
    let (status, body) = api.get("/v2/employees", &[("companyId", other)]).await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "FORBIDDEN");
    let e = &ds.companies[2].employees[0];
    let (status, body) = api.get(&format!("/v2/employees/{}", e.id), &[]).await;
    requests += 2;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["companyId"], ids[2].as_str());

    // Entries: one of company_id/organization_id is required.
    let live = json!({"includeDeleted": false});
    let (status, body) = api.search(&[], live.clone()).await;
    requests += 1;
    assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "PARAMETER_VALIDATION_FAILED",
    );
    for (i, c) in ds.companies.iter().enumerate() {
        let got = api
            .search_all(&[("company_id", &ids[i]), ("limit", "100")], live.clone())
            .await;
        requests += got.len().div_ceil(100).max(1);
        assert_eq!(got, live_ids(&c.entries), "company {i}");
    }
    let (status, page) = api
        .search(&[("organization_id", &org), ("limit", "1")], live.clone())
        .await;
    requests += 1;
    assert_eq!(status, StatusCode::OK);
    let every: usize = ds
        .companies
        .iter()
        .map(|c| live_ids(&c.entries).len())
        .sum();
    assert_eq!(page["pagination"]["total"].as_u64(), Some(every as u64));
    let (_, page) = api
        .search(
            &[
                ("organization_id", &org),
                ("company_id", &ids[1]),
                ("limit", "1"),
            ],
            live.clone(),
        )
        .await;
    requests += 1;
    let one = live_ids(&ds.companies[1].entries).len() as u64;
    assert_eq!(page["pagination"]["total"].as_u64(), Some(one));
    for q in [[("company_id", other)], [("organization_id", other)]] {
        let (status, body) = api.search(&q, live.clone()).await;
        requests += 1;
        assert_error(status, &body, StatusCode::FORBIDDEN, "FORBIDDEN");
    }
    let entry = &ds.companies[1].entries[0];
    let (status, body) = api
        .get(
            &format!("/v1/accounting-entries/{}", entry.id),
            &[("include_deleted", "true")],
        )
        .await;
    requests += 1;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["companyId"], ids[1].as_str());

    assert_eq!(api.server.request_count(), requests as u64);
}

#[tokio::test]
async fn single_company_key_is_unchanged() {
    let api = Api::start(cfg()).await;
    let ds = api.server.dataset();
    assert_eq!(ds.companies.len(), 1);
    assert_eq!(ds.subject_urn(), ds.company_urn());
    // Without company_id the search means the key's company, as before.
    let (status, page) = api
        .search(&[("limit", "1")], json!({"includeDeleted": true}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        page["pagination"]["total"].as_u64(),
        Some(ds.entries.len() as u64)
    );
}

// ---------------------------------------------------------------------------
// Echoing the Authorization header (hostile-server switch)
// ---------------------------------------------------------------------------

#[tokio::test]
async fn echo_puts_the_authorization_header_in_every_error_message() {
    let api = Api::start(MockConfig {
        echo_authorization: true,
        scopes: vec!["users:read".into()],
        ..cfg()
    })
    .await;
    let echoed = |body: &Value, auth: &str| {
        body["message"]
            .as_str()
            .is_some_and(|m| m.ends_with(&format!(" (request had Authorization: {auth})")))
    };
    // Errors after authentication: 403, 404 (an unknown id, an unknown path, a served path with
    // another method), 400.
    let other = "00000000-0000-4000-8000-000000000001";
    for (status, body) in [
        api.search(&[], json!({"includeDeleted": false})).await,
        api.get(&format!("/v2/employees/{other}"), &[]).await,
        api.get("/v2/employees", &[("limit", "0")]).await,
        api.get("/v9/nothing", &[]).await,
        api.get("/v1/accounting-entries:search", &[]).await,
    ] {
        assert!(status.is_client_error(), "{status} {body}");
        assert!(echoed(&body, &api.auth), "{body}");
        assert!(body["type"].is_string(), "{body}");
    }
    let (_, body) = api.search(&[], json!({"includeDeleted": false})).await;
    assert_eq!(
        body["message"],
        format!(
            "missing scope accounting-entries:read (request had Authorization: {})",
            api.auth
        )
    );
    // 401s echo whatever was sent, even a wrong key.
    let wrong = basic("pls_canary_0123456789:");
    let resp = api
        .http
        .get(api.url("/v2/employees", &[]))
        .header(AUTHORIZATION, &wrong)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(resp.headers().contains_key(WWW_AUTHENTICATE));
    let body: Value = resp.json().await.unwrap();
    assert!(echoed(&body, &wrong), "{body}");
    let (status, body) = api.send(api.http.get(api.url("/v1/introspect", &[]))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.ends_with("(request had no Authorization header)")),
        "{body}"
    );
    // Successful answers are untouched.
    let (status, body) = api.get("/v2/employees", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!body.to_string().contains(&api.auth));
}

#[tokio::test]
async fn errors_do_not_echo_by_default() {
    let api = Api::start(MockConfig {
        scopes: vec!["users:read".into()],
        ..cfg()
    })
    .await;
    let token = api.auth.trim_start_matches("Basic ");
    for (status, body) in [
        api.search(&[], json!({"includeDeleted": false})).await,
        api.get("/v9/nothing", &[]).await,
        api.get("/v2/employees", &[("limit", "0")]).await,
    ] {
        assert!(status.is_client_error());
        let text = body.to_string();
        assert!(
            !text.contains(token) && !text.contains("Authorization"),
            "{text}"
        );
    }
}

/// Every bad path id and body gets Pleo's 400 `{type, message}` from the one
/// place that maps axum's rejections (`extract.rs`), naming the parameter at fault.
#[tokio::test]
async fn bad_ids_queries_and_bodies_are_pleo_400s() {
    let api = Api::start(cfg()).await;
    let (status, body) = api.get("/v1/accounting-entries/not-a-uuid", &[]).await;
    assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "PARAMETER_VALIDATION_FAILED",
    );
    assert!(
        body["message"].as_str().unwrap().contains("entry_id"),
        "{body}"
    );

    // Of two ids, the bad one is named.
    let entry = uuid::Uuid::new_v4().to_string();
    let path = format!("/v1/accounting-entries/{entry}/receipts/nope");
    let (status, body) = api.get(&path, &[]).await;
    assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "PARAMETER_VALIDATION_FAILED",
    );
    assert!(
        body["message"].as_str().unwrap().contains("receipt_id"),
        "{body}"
    );

    // A required JSON body that is missing, then one that is not JSON.
    let company = api.get("/v1/introspect", &[]).await.1["data"]["companyId"].clone();
    let company = company.as_str().unwrap_or_default().to_owned();
    for raw in ["", "{not json"] {
        let req = api
            .http
            .post(api.url("/v1/vendors", &[("company_id", &company)]))
            .header(AUTHORIZATION, &api.auth)
            .header(CONTENT_TYPE, "application/json")
            .body(raw);
        let (status, body) = api.send(req).await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
    }
}
