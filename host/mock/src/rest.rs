//! Helpers the route modules share: JSON bodies, required fields, id lists, the one company a
//! request acts on, and answers without a body.

use std::collections::HashSet;
use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use uuid::Uuid;

use axum::extract::State;
use axum::http::{Method, Uri};

use super::data::CompanyData;
use super::error::{ApiError, json_response};
use super::paging::single;
use super::server::AppState;

/// A field the document marks required; absent or `null` is a 400.
pub(super) fn required<T>(value: Option<T>, name: &str) -> Result<T> {
    value.ok_or_else(|| ApiError::BadBody(format!("{name} is required")))
}

/// A required text field that may not be blank.
pub(super) fn non_blank(value: Option<String>, name: &str) -> Result<String> {
    let value = required(value, name)?;
    if value.trim().is_empty() {
        return Err(ApiError::BadBody(format!("{name} must not be blank")));
    }
    Ok(value)
}

/// An optional list of UUIDs in a body, at most `max` long; `None` or empty filters nothing.
pub(super) fn uuid_set(
    values: Option<Vec<String>>,
    name: &str,
    max: usize,
) -> Result<Option<HashSet<Uuid>>> {
    let Some(values) = values.filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if values.len() > max {
        return Err(ApiError::BadBody(format!(
            "{name} may hold at most {max} values"
        )));
    }
    values
        .iter()
        .map(|v| {
            parse_uuid(v, name)
                .map_err(|_| ApiError::BadBody(format!("{name}: {v:?} is not a UUID")))
        })
        .collect::<Result<HashSet<Uuid>>>()
        .map(Some)
}

/// An optional list of strings in a body, at most `max` long; `None` or empty filters nothing.
pub(super) fn string_set(
    values: Option<Vec<String>>,
    name: &str,
    max: usize,
) -> Result<Option<HashSet<String>>> {
    let Some(values) = values.filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if values.len() > max {
        return Err(ApiError::BadBody(format!(
            "{name} may hold at most {max} values"
        )));
    }
    Ok(Some(values.into_iter().collect()))
}

/// Index (in [`Dataset::companies`](super::Dataset::companies)) of the one company a request
/// acts on. A named company must be one the key covers (403 otherwise). Without one, a key
/// made for one company means that company; an organization-level key must say which (400),
/// as every accounting call targets exactly one company.
pub(super) fn one_company(state: &AppState, id: Option<Uuid>, name: &str) -> Result<usize> {
    match id {
        Some(id) => state.data.company_position(id).ok_or_else(|| {
            ApiError::Forbidden(format!("the API key has no access to company {id}"))
        }),
        None if state.data.is_multi_entity() => Err(ApiError::BadParameter(format!(
            "{name} is required with a key for several companies"
        ))),
        None => Ok(0),
    }
}

/// [`one_company`] from the `company_id` query parameter.
pub(super) fn query_company(state: &AppState, query: &[(String, String)]) -> Result<usize> {
    let id = query_uuid(query, "company_id")?;
    one_company(state, id, "company_id")
}

/// [`one_company`] from a required `companyId` body field.
pub(super) fn body_company(state: &AppState, id: Option<String>) -> Result<usize> {
    let raw = required(id, "companyId")?;
    let id = parse_uuid(&raw, "companyId")
        .map_err(|_| ApiError::BadBody("companyId must be a UUID".into()))?;
    one_company(state, Some(id), "companyId")
}

/// `{"data": ...}` with status 201.
pub(super) fn created<T: Serialize>(data: T) -> Result<Response> {
    Ok(json_response(StatusCode::CREATED, &Data { data }))
}

/// An answer without a body (202, 204).
pub(super) fn empty(status: StatusCode) -> Result<Response> {
    Ok(status.into_response())
}

/// ISO 4217: three capital letters.
pub(super) fn is_currency(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}

/// ISO 3166 alpha-2 (two capital letters), or Pleo's `UNDEFINED`.
pub(super) fn is_country(code: &str) -> bool {
    code == "UNDEFINED" || (code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()))
}

pub(super) type Shared = State<Arc<AppState>>;
pub(super) type Result<T> = std::result::Result<T, ApiError>;

/// `{"data": ...}`.
#[derive(Serialize)]
pub(super) struct Data<T> {
    pub data: T,
}

pub(super) fn ok<T: Serialize>(data: T) -> Result<Response> {
    Ok(json_response(StatusCode::OK, &Data { data }))
}

/// A hyphenated UUID; 400 otherwise.
pub(super) fn parse_uuid(raw: &str, name: &str) -> Result<Uuid> {
    let raw = raw.trim();
    Uuid::try_parse(raw)
        .ok()
        .filter(|_| raw.len() == 36)
        .ok_or_else(|| ApiError::BadParameter(format!("{name} must be a UUID")))
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

/// 404 for every method and path the mock does not serve, a known path with another method
/// included: none of Pleo's documents lists a 405, so an unserved operation is simply not
/// there (`POST /v0/tags/archive` must not look like a wrong method on `/v0/tags/{tagId}`).
pub(super) async fn no_route(method: Method, uri: Uri) -> ApiError {
    ApiError::not_found("NOT_FOUND", format!("No endpoint {method} {}", uri.path()))
}
