//! Companies (`/v1/companies`, scope `companies:read`): the key's company, or each company of
//! the organization an organization key covers. Their records, their seeding and their routes.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use serde::Serialize;
use std::sync::Arc;
use uuid::Uuid;

use super::catalog;
use super::data::{ser_opt_uuid, ser_uuid};
use super::error::{ApiError, json_response};
use super::extract::{Ids, Pairs};
use super::paging::{Order, PageRequest, Rules, SortValue, paginate};
use super::rest::{Result, Shared, check_organization, ok};
use super::seed::new_id;
use super::server::AppState;

/// `ExternalCompanyResponseModel` (companies API).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Company {
    #[serde(serialize_with = "ser_uuid")]
    pub id: Uuid,
    pub name: String,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_uuid"
    )]
    pub organization_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_number: Option<String>,
    pub address: Address,
}

/// `ExternalAddressResponseModel`; `country` is an ISO 3166 alpha-2 code.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_line1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_line2: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

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

// ---------------------------------------------------------------------------
// Seeding
// ---------------------------------------------------------------------------

pub(super) fn generate_company(rng: &mut StdRng) -> Company {
    let spec = catalog::COMPANIES
        .choose(rng)
        .unwrap_or(&catalog::COMPANIES[0]);
    Company {
        id: new_id(rng),
        name: spec.name.to_string(),
        organization_id: Some(new_id(rng)),
        registration_number: Some(rng.random_range(10_000_000..100_000_000u32).to_string()),
        address: Address {
            address_line1: Some(spec.line1.to_string()),
            address_line2: spec.line2.map(String::from),
            locality: Some(spec.locality.to_string()),
            region: Some(spec.region.to_string()),
            postal_code: Some(spec.postal_code.to_string()),
            country: Some("DK".to_string()),
        },
    }
}

/// A subsidiary of the organization, named from [`catalog::SUBSIDIARIES`] (with a
/// number once the list is used up); returns the company and its e-mail domain.
pub(super) fn generate_member_company(
    rng: &mut StdRng,
    index: usize,
    organization_id: Option<Uuid>,
) -> (Company, String) {
    let list = catalog::SUBSIDIARIES;
    let slot = index.saturating_sub(1);
    let spec = &list[slot % list.len()];
    let round = slot / list.len();
    let (name, domain) = if round == 0 {
        (spec.name.to_string(), spec.domain.to_string())
    } else {
        (
            format!("{} {}", spec.name, round + 1),
            format!("entity{}.{}", round + 1, spec.domain),
        )
    };
    let company = Company {
        id: new_id(rng),
        name,
        organization_id,
        registration_number: Some(rng.random_range(10_000_000..100_000_000u32).to_string()),
        address: Address {
            address_line1: Some(spec.line1.to_string()),
            address_line2: spec.line2.map(String::from),
            locality: Some(spec.locality.to_string()),
            region: Some(spec.region.to_string()),
            postal_code: Some(spec.postal_code.to_string()),
            country: Some("DK".to_string()),
        },
    };
    (company, domain)
}

pub(super) fn company_domain(company: &Company) -> &'static str {
    catalog::COMPANIES
        .iter()
        .find(|c| c.name == company.name)
        .map_or("example.com", |c| c.domain)
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use crate::{Dataset, MockConfig};

    #[test]
    fn json_uses_pleo_field_names() {
        let ds = Dataset::seed(&MockConfig {
            anchor: NaiveDate::from_ymd_opt(2025, 6, 30).unwrap_or_default(),
            ..MockConfig::default()
        });
        let c = serde_json::to_value(&ds.company).unwrap();
        assert!(c["address"]["addressLine1"].is_string());
        assert!(c["organizationId"].is_string());
    }
}
