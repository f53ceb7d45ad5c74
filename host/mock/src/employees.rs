//! Employees (`/v2/employees`, scope `users:read`): the dataset's employees of the companies
//! a request covers.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use std::sync::Arc;

use super::data::Employee;
use super::error::{ApiError, json_response};
use super::extract::{Ids, Pairs};
use super::paging::{Order, PageRequest, Rules, SortValue, paginate, single};
use super::rest::{Result, Shared, companies, ok};
use super::server::AppState;

const EMPLOYEE_PAGING: Rules = Rules {
    default_limit: 20,
    min_limit: 1,
    max_limit: 100,
    allow_offset: true,
    keys: &["id", "email", "firstName", "lastName", "code"],
    default_sort: &[("lastName", Order::Asc), ("firstName", Order::Asc)],
};

pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v2/employees", get(list_employees))
        .route("/v2/employees/{employee_id}", get(get_employee))
}

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

pub(super) async fn list_employees(State(state): Shared, Pairs(query): Pairs) -> Result<Response> {
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

pub(super) async fn get_employee(State(state): Shared, Ids([id]): Ids<1>) -> Result<Response> {
    match state.data.employee(id) {
        Some(e) => ok(e),
        None => Err(ApiError::not_found(
            "EMPLOYEE_NOT_FOUND",
            format!("Employee {id} not found"),
        )),
    }
}
