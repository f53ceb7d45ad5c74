//! Route handlers. Each checks its scope first, then parameters, then answers
//! from the dataset. Every failure is an [`ApiError`], never a panic.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode, Uri};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::data::{AccountingEntry, Company, CompanyData, Employee};
use super::error::{ApiError, json_response};
use super::paging::{Order, PageRequest, Rules, SortValue, paginate, single};
use super::search::Filter;
use super::server::AppState;

pub(super) type Shared = State<Arc<AppState>>;
pub(super) type RawQuery = std::result::Result<Query<Vec<(String, String)>>, QueryRejection>;
pub(super) type Result<T> = std::result::Result<T, ApiError>;

const COMPANY_PAGING: Rules = Rules {
    default_limit: 20,
    min_limit: 1,
    max_limit: 100,
    allow_offset: true,
    keys: &["id", "name"],
    default_sort: &[("name", Order::Asc)],
};

const EMPLOYEE_PAGING: Rules = Rules {
    default_limit: 20,
    min_limit: 1,
    max_limit: 100,
    allow_offset: true,
    keys: &["id", "email", "firstName", "lastName", "code"],
    default_sort: &[("lastName", Order::Asc), ("firstName", Order::Asc)],
};

/// The accounting-entries API documents `limit` 1..=100 (default 20) and no `offset`.
const ENTRY_PAGING: Rules = Rules {
    default_limit: 20,
    min_limit: 1,
    max_limit: 100,
    allow_offset: false,
    keys: &["settledAt", "performedAt", "id", "bookkeepingDate"],
    default_sort: &[("performedAt", Order::Asc)],
};

/// `{"data": ...}`.
#[derive(Serialize)]
pub(super) struct Data<T> {
    pub data: T,
}

pub(super) fn ok<T: Serialize>(data: T) -> Result<Response> {
    Ok(json_response(StatusCode::OK, &Data { data }))
}

pub(super) fn query_pairs(query: RawQuery) -> Result<Vec<(String, String)>> {
    query
        .map(|Query(pairs)| pairs)
        .map_err(|_| ApiError::BadParameter("malformed query string".into()))
}

/// A hyphenated UUID; 400 otherwise.
pub(super) fn parse_uuid(raw: &str, name: &str) -> Result<Uuid> {
    let raw = raw.trim();
    Uuid::try_parse(raw)
        .ok()
        .filter(|_| raw.len() == 36)
        .ok_or_else(|| ApiError::BadParameter(format!("{name} must be a UUID")))
}

pub(super) fn path_uuid(
    path: std::result::Result<Path<String>, PathRejection>,
    name: &str,
) -> Result<Uuid> {
    let Path(raw) = path.map_err(|_| ApiError::BadParameter(format!("{name} must be a UUID")))?;
    parse_uuid(&raw, name)
}

/// An optional id in the query; an empty value counts as absent.
pub(super) fn query_uuid(query: &[(String, String)], name: &str) -> Result<Option<Uuid>> {
    match single(query, name)?.filter(|v| !v.trim().is_empty()) {
        Some(raw) => parse_uuid(raw, name).map(Some),
        None => Ok(None),
    }
}

/// The companies a company-scoped request covers. A company named by the `name`
/// query parameter must be one the key covers (403 otherwise) and is the only one;
/// leaving it out means every company the key covers (just its own company unless
/// it is an organization-level key).
pub(super) fn companies<'a>(
    state: &'a AppState,
    query: &[(String, String)],
    name: &str,
) -> Result<Vec<&'a CompanyData>> {
    match query_uuid(query, name)? {
        Some(id) => match state.data.company_data(id) {
            Some(c) => Ok(vec![c]),
            None => Err(ApiError::Forbidden(format!(
                "the API key has no access to company {id}"
            ))),
        },
        None => Ok(state.data.companies.iter().collect()),
    }
}

/// 403 if `organization_id` names an organization other than the key's; true if
/// it was given (and is the key's).
pub(super) fn check_organization(state: &AppState, query: &[(String, String)]) -> Result<bool> {
    match query_uuid(query, "organization_id")? {
        Some(id) if Some(id) != state.data.organization_id() => Err(ApiError::Forbidden(format!(
            "the API key has no access to organization {id}"
        ))),
        Some(_) => Ok(true),
        None => Ok(false),
    }
}

pub(super) fn parse_bool(raw: Option<&str>, name: &str) -> Result<bool> {
    match raw.map(str::trim) {
        None | Some("") => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(_) => Err(ApiError::BadParameter(format!(
            "{name} must be true or false"
        ))),
    }
}

// ---------------------------------------------------------------------------
// Introspection and installation
// ---------------------------------------------------------------------------

/// `ExternalClientModel`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExternalClient {
    application_name: String,
    auth_method: &'static str,
    client_id: String,
    scope: String,
    #[serde(rename = "subjectURN")]
    subject_urn: String,
}

pub(super) async fn introspect(State(state): Shared) -> Result<Response> {
    let client = &state.data.api_client;
    ok(ExternalClient {
        application_name: client.application_name.clone(),
        auth_method: "API_KEY",
        client_id: client.client_id.to_string(),
        scope: state.scopes.join(" "),
        subject_urn: state.data.subject_urn(),
    })
}

/// `InstallationResponse` (the document does not wrap it in `data`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Installation {
    id: String,
    application_id: String,
    resource: String,
    status: &'static str,
    metadata: serde_json::Map<String, serde_json::Value>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

pub(super) async fn installation(State(state): Shared, query: RawQuery) -> Result<Response> {
    let query = query_pairs(query)?;
    companies(&state, &query, "company_id")?;
    let client = &state.data.api_client;
    let body = Installation {
        id: client.installation_id.to_string(),
        application_id: client.application_id.to_string(),
        resource: state.data.subject_urn(),
        status: "ACTIVATED",
        metadata: serde_json::Map::new(),
        created_at: client.installed_at,
        updated_at: client.installed_at,
    };
    Ok(json_response(StatusCode::OK, &body))
}

// ---------------------------------------------------------------------------
// Companies
// ---------------------------------------------------------------------------

fn company_key(c: &Company, key: &str) -> SortValue {
    match key {
        "name" => SortValue::Text(c.name.clone()),
        _ => SortValue::Id(c.id),
    }
}

pub(super) async fn list_companies(State(state): Shared, query: RawQuery) -> Result<Response> {
    let query = query_pairs(query)?;
    let page = PageRequest::parse(&query, &COMPANY_PAGING)?;
    check_organization(&state, &query)?;
    let companies: Vec<&Company> = state.data.companies.iter().map(|c| &c.company).collect();
    Ok(json_response(
        StatusCode::OK,
        &paginate(companies, &page, company_key),
    ))
}

pub(super) async fn get_company(
    State(state): Shared,
    path: std::result::Result<Path<String>, PathRejection>,
) -> Result<Response> {
    let id = path_uuid(path, "companyId")?;
    match state.data.company_data(id) {
        Some(c) => ok(&c.company),
        None => Err(ApiError::not_found(
            "COMPANY_NOT_FOUND",
            format!("Company {id} not found"),
        )),
    }
}

// ---------------------------------------------------------------------------
// Employees
// ---------------------------------------------------------------------------

fn employee_key(e: &Employee, key: &str) -> SortValue {
    let text = |s: &str| SortValue::Text(s.to_string());
    match key {
        "email" => text(&e.email),
        "firstName" => text(&e.first_name),
        "lastName" => text(&e.last_name),
        "code" => e.code.as_deref().map_or(SortValue::Null, text),
        _ => SortValue::Id(e.id),
    }
}

pub(super) async fn list_employees(State(state): Shared, query: RawQuery) -> Result<Response> {
    let query = query_pairs(query)?;
    let page = PageRequest::parse(&query, &EMPLOYEE_PAGING)?;
    // Pleo spells this one in camelCase, unlike most query parameters. Without it
    // the answer holds "all employees to which you have access" (employees API).
    let companies = companies(&state, &query, "companyId")?;
    let email = single(&query, "email")?;
    let code = single(&query, "code")?;
    let employees: Vec<&Employee> = companies
        .iter()
        .flat_map(|c| &c.employees)
        .filter(|e| email.is_none_or(|m| e.email.eq_ignore_ascii_case(m.trim())))
        .filter(|e| code.is_none_or(|c| e.code.as_deref() == Some(c)))
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &paginate(employees, &page, employee_key),
    ))
}

pub(super) async fn get_employee(
    State(state): Shared,
    path: std::result::Result<Path<String>, PathRejection>,
) -> Result<Response> {
    let id = path_uuid(path, "employeeId")?;
    match state.data.employee(id) {
        Some(e) => ok(e),
        None => Err(ApiError::not_found(
            "EMPLOYEE_NOT_FOUND",
            format!("Employee {id} not found"),
        )),
    }
}

// ---------------------------------------------------------------------------
// Accounting entries
// ---------------------------------------------------------------------------

fn entry_key(e: &AccountingEntry, key: &str) -> SortValue {
    let time =
        |t: Option<DateTime<Utc>>| t.map_or(SortValue::Null, |t| SortValue::Int(t.timestamp()));
    match key {
        "performedAt" => time(Some(e.performed_at)),
        "settledAt" => time(e.settled_at),
        "bookkeepingDate" => time(e.bookkeeping_date),
        _ => SortValue::Id(e.id),
    }
}

pub(super) async fn search_entries(
    State(state): Shared,
    query: RawQuery,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<Response> {
    let query = query_pairs(query)?;
    let page = PageRequest::parse(&query, &ENTRY_PAGING)?;
    let named_organization = check_organization(&state, &query)?;
    let companies = companies(&state, &query, "company_id")?;
    // The accounting-entries API requires company_id "if partner_id or
    // organization_id is not provided"; a key for one company implies its company.
    if state.data.is_multi_entity()
        && !named_organization
        && query_uuid(&query, "company_id")?.is_none()
    {
        return Err(ApiError::BadParameter(
            "company_id is required if organization_id is not provided".into(),
        ));
    }
    let body = body.map_err(|_| ApiError::BadBody("request body could not be read".into()))?;
    let filter = Filter::from_json(&body)?;
    let entries: Vec<&AccountingEntry> = companies
        .iter()
        .flat_map(|c| &c.entries)
        .filter(|e| filter.matches(e))
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &paginate(entries, &page, entry_key),
    ))
}

pub(super) async fn get_entry(
    State(state): Shared,
    path: std::result::Result<Path<String>, PathRejection>,
    query: RawQuery,
) -> Result<Response> {
    let id = path_uuid(path, "accountingEntryId")?;
    let query = query_pairs(query)?;
    let include_deleted = parse_bool(single(&query, "include_deleted")?, "include_deleted")?;
    match state.data.entry(id) {
        Some(e) if include_deleted || e.deleted_at.is_none() => ok(e),
        _ => Err(ApiError::not_found(
            "ACCOUNTING_ENTRY_NOT_FOUND",
            format!("Accounting entry {id} not found"),
        )),
    }
}

// ---------------------------------------------------------------------------
// Fallbacks
// ---------------------------------------------------------------------------

pub(super) async fn no_route(method: Method, uri: Uri) -> ApiError {
    ApiError::not_found("NOT_FOUND", format!("No endpoint {method} {}", uri.path()))
}

pub(super) async fn wrong_method(method: Method, uri: Uri) -> ApiError {
    ApiError::MethodNotAllowed(format!("{method} is not allowed on {}", uri.path()))
}
