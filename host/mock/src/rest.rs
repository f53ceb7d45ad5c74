//! Helpers the route modules share: JSON bodies, required fields, id lists, the one company a
//! request acts on, and answers without a body.

use std::collections::HashSet;

use axum::body::Bytes;
use axum::extract::Path;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::error::{ApiError, json_response};
use super::handlers::{Data, Result, parse_uuid, query_uuid};
use super::server::AppState;

pub(super) type Body = std::result::Result<Bytes, BytesRejection>;
pub(super) type IdPath = std::result::Result<Path<String>, PathRejection>;

/// The JSON body, required; 400 `VALIDATION_FAILED` if it is missing or malformed.
pub(super) fn json_body<T: DeserializeOwned>(body: Body) -> Result<T> {
    let body = body.map_err(|_| ApiError::BadBody("request body could not be read".into()))?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::BadBody("a JSON request body is required".into()));
    }
    serde_json::from_slice(&body).map_err(|e| ApiError::BadBody(format!("invalid request: {e}")))
}

/// The JSON body if there is one (search bodies are optional), else the default.
pub(super) fn optional_json_body<T: DeserializeOwned + Default>(body: Body) -> Result<T> {
    match body {
        Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Ok(T::default()),
        other => json_body(other),
    }
}

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
