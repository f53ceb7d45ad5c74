//! Employees (`/v2/employees`, scope `users:read`): the dataset's employees of the companies
//! a request covers. Their records, their seeding (names, e-mails, teams, how much each
//! spends) and their routes.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use serde::Serialize;
use std::collections::HashSet;
use std::sync::Arc;
use uuid::Uuid;

use super::catalog;
use super::companies::Company;
use super::data::ser_uuid;
use super::error::{ApiError, json_response};
use super::extract::{Ids, Pairs};
use super::paging::{Order, PageRequest, Rules, SortValue, paginate, single};
use super::rest::{Result, Shared, companies, ok};
use super::seed::{Refs, new_id, weighted_index};
use super::server::AppState;

/// `ExternalEmployeeResponseModel` (employees API v2).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Employee {
    #[serde(serialize_with = "ser_uuid")]
    pub id: Uuid,
    #[serde(serialize_with = "ser_uuid")]
    pub company_id: Uuid,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    /// External id of the employee (e.g. from an HR system).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Team the employee belongs to (not in Pleo's employee model).
    #[serde(skip)]
    pub team_id: Option<Uuid>,
    /// Cost-center tag their spending is usually tagged with (not in Pleo's model).
    #[serde(skip)]
    pub cost_center_tag_id: Option<Uuid>,
}

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

// ---------------------------------------------------------------------------
// Seeding
// ---------------------------------------------------------------------------

/// An employee plus how much they spend (used only while generating).
pub(super) struct Staff {
    pub(super) employee: Employee,
    pub(super) activity: f64,
}

pub(super) fn generate_employees(
    rng: &mut StdRng,
    count: usize,
    company: &Company,
    domain: &str,
    refs: &Refs,
) -> Vec<Staff> {
    let mut emails = HashSet::with_capacity(count);
    let mut staff = Vec::with_capacity(count);
    for i in 0..count {
        let team_idx = pick_team(rng, i);
        let team = &catalog::TEAMS[team_idx];
        let title = match i {
            0 => "Chief Executive Officer",
            1 => "Finance Manager",
            _ => team.titles.choose(rng).copied().unwrap_or("Specialist"),
        };
        let first = catalog::FIRST_NAMES.choose(rng).copied().unwrap_or("Alex");
        let last = catalog::LAST_NAMES.choose(rng).copied().unwrap_or("Jensen");
        let email = unique_email(&mut emails, first, last, domain);
        let employee = Employee {
            id: new_id(rng),
            company_id: company.id,
            email,
            first_name: first.to_string(),
            last_name: last.to_string(),
            code: rng.random_bool(0.9).then(|| format!("E{}", 1001 + i)),
            job_title: Some(title.to_string()),
            phone: rng.random_bool(0.85).then(|| danish_phone(rng)),
            team_id: refs.teams.get(team_idx).map(|t| t.id),
            cost_center_tag_id: cost_center(rng, refs),
        };
        let activity = team.activity * (0.3 + rng.random::<f64>() * 1.7);
        staff.push(Staff { employee, activity });
    }
    staff
}

/// First employee runs the company, second runs finance; the rest by headcount.
fn pick_team(rng: &mut StdRng, i: usize) -> usize {
    let by_name = |name: &str| catalog::TEAMS.iter().position(|t| t.name == name);
    let fixed = match i {
        0 => by_name("Management"),
        1 => by_name("Finance & Operations"),
        _ => None,
    };
    let weights: Vec<f64> = catalog::TEAMS
        .iter()
        .map(|t| f64::from(t.headcount))
        .collect();
    fixed.or_else(|| weighted_index(rng, &weights)).unwrap_or(0)
}

fn unique_email(taken: &mut HashSet<String>, first: &str, last: &str, domain: &str) -> String {
    let base = format!("{}.{}", ascii_fold(first), ascii_fold(last));
    let mut candidate = format!("{base}@{domain}");
    let mut n = 2;
    while taken.contains(&candidate) {
        candidate = format!("{base}{n}@{domain}");
        n += 1;
    }
    taken.insert(candidate.clone());
    candidate
}

fn danish_phone(rng: &mut StdRng) -> String {
    format!(
        "+45 {} {:02} {:02} {:02}",
        rng.random_range(20..100),
        rng.random_range(0..100),
        rng.random_range(0..100),
        rng.random_range(0..100)
    )
}

/// Most people sit at HQ, some in Aarhus and Stockholm.
fn cost_center(rng: &mut StdRng, refs: &Refs) -> Option<Uuid> {
    let group = refs.tag_groups.iter().find(|g| g.code == "CC")?;
    let i = weighted_index(rng, &[0.7, 0.2, 0.1])?;
    group.tags.get(i).map(|t| t.id)
}

/// Lower-case ASCII for e-mail addresses ("Søren Møller" -> "soren.moller").
fn ascii_fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().flat_map(char::to_lowercase) {
        match c {
            'æ' | 'ä' => out.push_str("ae"),
            'ø' | 'ö' => out.push('o'),
            'å' => out.push_str("aa"),
            'é' | 'è' => out.push('e'),
            'á' | 'à' => out.push('a'),
            'ü' => out.push('u'),
            c if c.is_ascii_alphanumeric() => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_fold_handles_danish_letters() {
        assert_eq!(ascii_fold("Søren"), "soren");
        assert_eq!(ascii_fold("Æbelø Åse"), "aebeloaase");
        assert_eq!(ascii_fold("Tomás"), "tomas");
    }
}
