//! Companies (`/v1/companies`, scope `companies:read`): the key's company, or each company of
//! the organization an organization key covers.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use std::sync::Arc;

use super::data::Company;
use super::error::{ApiError, json_response};
use super::extract::{Ids, Pairs};
use super::paging::{Order, PageRequest, Rules, SortValue, paginate};
use super::rest::{Result, Shared, check_organization, ok};
use super::server::AppState;

const COMPANY_PAGING: Rules = Rules {
    default_limit: 20,
    min_limit: 1,
    max_limit: 100,
    allow_offset: true,
    keys: &["id", "name"],
    default_sort: &[("name", Order::Asc)],
};

pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/companies", get(list_companies))
        .route("/v1/companies/{company_id}", get(get_company))
}

fn company_key(c: &Company, key: &str) -> SortValue {
    match key {
        "name" => SortValue::Text(c.name.clone()),
        _ => SortValue::Id(c.id),
    }
}

pub(super) async fn list_companies(State(state): Shared, Pairs(query): Pairs) -> Result<Response> {
    let page = PageRequest::parse(&query, &COMPANY_PAGING)?;
    check_organization(&state, &query)?;
    let companies: Vec<&Company> = state.data.companies.iter().map(|c| &c.company).collect();
    Ok(json_response(
        StatusCode::OK,
        &paginate(companies, &page, company_key),
    ))
}

pub(super) async fn get_company(State(state): Shared, Ids([id]): Ids<1>) -> Result<Response> {
    match state.data.company_data(id) {
        Some(c) => ok(&c.company),
        None => Err(ApiError::not_found(
            "COMPANY_NOT_FOUND",
            format!("Company {id} not found"),
        )),
    }
}
