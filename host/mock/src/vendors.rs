//! Vendors (`/v1/vendors`, External Vendors API 34.17.0): search (`company_id` required),
//! get, create (409 when a vendor with the same `externalId` or name exists), update,
//! archive, activate (a `DRAFT` vendor created in the ERP gets its `externalId` and becomes
//! `ACTIVE`). Scopes `vendors:read` and `vendors:write`.

use std::collections::HashSet;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use chrono::{DateTime, TimeDelta, Utc};
use rand::Rng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::clock::shifted;
use super::data::{CompanyData, ser_uuid};
use super::error::{ApiError, json_response};
use super::extract::{Ids, Json, OptionalJson, Pairs, RawBody, Text, parse};
use super::paging::{Order, PageRequest, Rules, SortValue, paginate};
use super::rest::{self, Result, Shared, ok, parse_uuid, query_uuid};
use super::rest::{
    body_company, created, empty, is_country, is_currency, non_blank, one_company, required,
    string_set, uuid_set,
};
use super::seed::new_id;
use super::server::AppState;
use super::store::Books;

/// The document gives `limit` no bounds; the mock holds it to 1..=100 like the other lists.
const PAGING: Rules = Rules {
    default_limit: 20,
    min_limit: 1,
    max_limit: 100,
    allow_offset: true,
    keys: &["id", "name", "externalId", "createdAt"],
    default_sort: &[("name", Order::Asc)],
};

/// Documented `maxItems` of the search filters (`states` has 4).
const MAX_FILTER: usize = 100;

/// `VendorState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum VendorState {
    /// Known to Pleo, still to be created in the ERP.
    Draft,
    /// In sync with the ERP.
    Active,
    Archived,
}

/// `VendorResponse`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VendorRecord {
    #[serde(serialize_with = "ser_uuid")]
    pub id: Uuid,
    #[serde(serialize_with = "ser_uuid")]
    pub company_id: Uuid,
    pub name: String,
    pub default_currency: String,
    pub state: VendorState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tax_registration_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accounting_system: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/vendors", post(create_vendor))
        .route("/v1/vendors:search", post(search_vendors))
        // `:archive` and `:activate` end the id's path segment, which the router cannot
        // match as a suffix: `vendor_action` splits them off.
        .route(
            "/v1/vendors/{vendor_id}",
            get(get_vendor).put(update_vendor).post(vendor_action),
        )
}

/// The accounting system the seeded vendors are synced with.
const ERP: &str = "economic";

/// The dataset's vendors (active, synced with the ERP), two drafts and an archived one.
pub(super) fn seed(
    rng: &mut StdRng,
    data: &CompanyData,
    epoch: DateTime<Utc>,
) -> Vec<VendorRecord> {
    let company_id = data.company.id;
    let set_up = shifted(epoch, -TimeDelta::days(390));
    let mut out = Vec::new();
    for v in &data.vendors {
        let created = shifted(
            set_up,
            TimeDelta::minutes(rng.random_range(0..30 * 24 * 60)),
        );
        let (registration, tax) = if v.country == "DK" {
            let cvr = rng.random_range(10_000_000..100_000_000u32);
            (Some(cvr.to_string()), Some(format!("DK{cvr}")))
        } else {
            (None, None)
        };
        out.push(VendorRecord {
            id: v.id,
            company_id,
            name: v.name.clone(),
            default_currency: v.currency.clone(),
            state: VendorState::Active,
            code: Some(v.external_id.trim_start_matches("V-").to_string()),
            external_id: Some(v.external_id.clone()),
            country: Some(v.country.clone()),
            registration_number: registration,
            tax_registration_number: tax,
            accounting_system: Some(ERP.to_string()),
            created_at: created,
            updated_at: created,
        });
    }
    let extra = [
        ("Café Norden", VendorState::Draft, None, 3),
        ("Flying Tiger Copenhagen", VendorState::Draft, None, 1),
        ("Telia Danmark", VendorState::Archived, Some("V-0990"), 300),
    ];
    for (name, state, external_id, days_ago) in extra {
        let ago = TimeDelta::days(days_ago) + TimeDelta::hours(rng.random_range(1..20));
        let created = shifted(epoch, -ago);
        out.push(VendorRecord {
            id: new_id(rng),
            company_id,
            name: name.to_string(),
            default_currency: "DKK".to_string(),
            state,
            code: external_id.map(|e| e.trim_start_matches("V-").to_string()),
            external_id: external_id.map(String::from),
            country: Some("DK".to_string()),
            registration_number: None,
            tax_registration_number: None,
            accounting_system: external_id.map(|_| ERP.to_string()),
            created_at: created,
            updated_at: created,
        });
    }
    out
}

fn find(books: &Books, id: Uuid) -> Result<(usize, usize)> {
    books
        .locate(id, |m| &m.vendors, |v| v.id)
        .ok_or_else(|| ApiError::not_found("VENDOR_NOT_FOUND", format!("Vendor {id} not found")))
}

/// Names compare without case and surrounding blanks.
fn same_name(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

/// 409 if another vendor of the company has this external id or name.
pub(super) fn check_unique(
    vendors: &[VendorRecord],
    name: Option<&str>,
    external_id: Option<&str>,
    except: Option<Uuid>,
) -> Result<()> {
    let clash = vendors.iter().filter(|v| Some(v.id) != except).find(|v| {
        name.is_some_and(|n| same_name(&v.name, n))
            || external_id.is_some_and(|x| v.external_id.as_deref() == Some(x))
    });
    match clash {
        Some(v) => Err(ApiError::conflict(
            "VENDOR_ALREADY_EXISTS",
            format!("Vendor already exists: {} ({})", v.name, v.id),
        )),
        None => Ok(()),
    }
}

// ---------------------------------------------------------------------------
// Search and get
// ---------------------------------------------------------------------------

/// `VendorSearchRequestV1`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SearchBody {
    ids: Option<Vec<String>>,
    codes: Option<Vec<String>>,
    external_ids: Option<Vec<String>>,
    name: Option<String>,
    states: Option<Vec<VendorState>>,
    countries: Option<Vec<String>>,
    tax_registration_numbers: Option<Vec<String>>,
    accounting_systems: Option<Vec<String>>,
}

fn sort_key(v: &VendorRecord, key: &str) -> SortValue {
    match key {
        "name" => SortValue::Text(v.name.clone()),
        "externalId" => v
            .external_id
            .clone()
            .map_or(SortValue::Null, SortValue::Text),
        "createdAt" => SortValue::Int(v.created_at.timestamp()),
        _ => SortValue::Id(v.id),
    }
}

/// Whether `value` is in the filter (no filter lets everything through).
fn within(filter: &Option<HashSet<String>>, value: Option<&String>) -> bool {
    filter
        .as_ref()
        .is_none_or(|set| value.is_some_and(|v| set.contains(v)))
}

async fn search_vendors(
    State(state): Shared,
    Pairs(query): Pairs,
    OptionalJson(body): OptionalJson<SearchBody>,
) -> Result<Response> {
    let page = PageRequest::parse(&query, &PAGING)?;
    let Some(company) = query_uuid(&query, "company_id")? else {
        return Err(ApiError::BadParameter("company_id is required".into()));
    };
    let company = one_company(&state, Some(company), "company_id")?;
    let ids = uuid_set(body.ids, "ids", MAX_FILTER)?;
    let codes = string_set(body.codes, "codes", MAX_FILTER)?;
    let external_ids = string_set(body.external_ids, "externalIds", MAX_FILTER)?;
    let countries = string_set(body.countries, "countries", MAX_FILTER)?;
    let tax_numbers = string_set(
        body.tax_registration_numbers,
        "taxRegistrationNumbers",
        MAX_FILTER,
    )?;
    let systems = string_set(body.accounting_systems, "accountingSystems", MAX_FILTER)?;
    let states = body.states.filter(|s| !s.is_empty());
    if states.as_ref().is_some_and(|s| s.len() > 4) {
        return Err(ApiError::BadBody("states may hold at most 4 values".into()));
    }
    let name = body.name.map(|n| n.trim().to_lowercase());
    let books = state.store.lock();
    let vendors: Vec<&VendorRecord> = books.companies[company]
        .master
        .vendors
        .iter()
        .filter(|v| ids.as_ref().is_none_or(|s| s.contains(&v.id)))
        .filter(|v| within(&codes, v.code.as_ref()))
        .filter(|v| within(&external_ids, v.external_id.as_ref()))
        .filter(|v| within(&countries, v.country.as_ref()))
        .filter(|v| within(&tax_numbers, v.tax_registration_number.as_ref()))
        .filter(|v| within(&systems, v.accounting_system.as_ref()))
        .filter(|v| states.as_ref().is_none_or(|s| s.contains(&v.state)))
        .filter(|v| {
            name.as_ref()
                .is_none_or(|n| v.name.to_lowercase().contains(n.as_str()))
        })
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &paginate(vendors, &page, sort_key),
    ))
}

fn vendor_id(raw: &str) -> Result<Uuid> {
    parse_uuid(raw, "id")
}

async fn get_vendor(State(state): Shared, Ids([id]): Ids<1>) -> Result<Response> {
    let books = state.store.lock();
    let (c, i) = find(&books, id)?;
    ok(&books.companies[c].master.vendors[i])
}

// ---------------------------------------------------------------------------
// Create, update
// ---------------------------------------------------------------------------

/// `VendorCreateRequest` and `VendorUpdateRequest` (the update also requires `externalId`
/// and `state`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct VendorBody {
    company_id: Option<String>,
    name: Option<String>,
    default_currency: Option<String>,
    external_id: Option<String>,
    state: Option<VendorState>,
    code: Option<String>,
    country: Option<String>,
    registration_number: Option<String>,
    tax_registration_number: Option<String>,
}

/// Checks the fields both requests share; returns the name and currency.
fn common_fields(body: &VendorBody) -> Result<(String, String)> {
    let name = non_blank(body.name.clone(), "name")?;
    let currency = required(body.default_currency.clone(), "defaultCurrency")?;
    if !is_currency(&currency) {
        return Err(ApiError::BadBody(
            "defaultCurrency must be an ISO 4217 code such as DKK".into(),
        ));
    }
    if body.country.as_deref().is_some_and(|c| !is_country(c)) {
        return Err(ApiError::BadBody(
            "country must be an ISO 3166 alpha-2 code such as DK".into(),
        ));
    }
    Ok((name, currency))
}

async fn create_vendor(State(state): Shared, Json(body): Json<VendorBody>) -> Result<Response> {
    let company = body_company(&state, body.company_id.clone())?;
    let (name, currency) = common_fields(&body)?;
    let now = state.store.now();
    let mut books = state.store.lock();
    let vendors = &mut books.companies[company].master.vendors;
    check_unique(vendors, Some(&name), body.external_id.as_deref(), None)?;
    let vendor = VendorRecord {
        id: Uuid::new_v4(),
        company_id: state.data.companies[company].company.id,
        name,
        default_currency: currency,
        // A vendor the ERP already knows arrives with its id; others wait for `:activate`.
        state: if body.external_id.is_some() {
            VendorState::Active
        } else {
            VendorState::Draft
        },
        code: body.code,
        external_id: body.external_id,
        country: body.country,
        registration_number: body.registration_number,
        tax_registration_number: body.tax_registration_number,
        accounting_system: None,
        created_at: now,
        updated_at: now,
    };
    vendors.push(vendor.clone());
    created(vendor)
}

async fn update_vendor(
    State(state): Shared,
    Ids([id]): Ids<1>,
    Json(body): Json<VendorBody>,
) -> Result<Response> {
    let company = body_company(&state, body.company_id.clone())?;
    let (name, currency) = common_fields(&body)?;
    let external_id = non_blank(body.external_id, "externalId")?;
    let vendor_state = required(body.state, "state")?;
    let now = state.store.now();
    let mut books = state.store.lock();
    let (c, i) = find(&books, id)?;
    if c != company {
        return Err(ApiError::BadBody(
            "companyId is not the company of this vendor".into(),
        ));
    }
    let vendors = &mut books.companies[c].master.vendors;
    check_unique(vendors, Some(&name), Some(&external_id), Some(id))?;
    let v = &mut vendors[i];
    v.name = name;
    v.default_currency = currency;
    v.external_id = Some(external_id);
    v.state = vendor_state;
    v.code = body.code;
    v.country = body.country;
    v.registration_number = body.registration_number;
    v.tax_registration_number = body.tax_registration_number;
    v.updated_at = now;
    ok(&*v)
}

// ---------------------------------------------------------------------------
// Archive and activate
// ---------------------------------------------------------------------------

/// `ActivateVendorEventRequest`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ActivateBody {
    external_id: Option<String>,
    code: Option<String>,
}

/// `POST /v1/vendors/{id}:archive` and `POST /v1/vendors/{id}:activate`.
async fn vendor_action(
    State(state): Shared,
    method: Method,
    uri: Uri,
    Text(raw): Text,
    RawBody(body): RawBody,
) -> Result<Response> {
    // `POST /v1/vendors/{id}` with no action, or another one, is not served: 404, not 405.
    let Some((id, action)) = raw
        .split_once(':')
        .filter(|(_, action)| ["archive", "activate"].contains(action))
    else {
        return Err(rest::no_route(method, uri).await);
    };
    let id = vendor_id(id)?;
    let activate = match action {
        "activate" => {
            let body: ActivateBody = parse(&body)?;
            Some((non_blank(body.external_id, "externalId")?, body.code))
        }
        _ => None,
    };
    let now = state.store.now();
    let mut books = state.store.lock();
    let (c, i) = find(&books, id)?;
    let vendors = &mut books.companies[c].master.vendors;
    match activate {
        Some((external_id, code)) => {
            check_unique(vendors, None, Some(&external_id), Some(id))?;
            let v = &mut vendors[i];
            v.state = VendorState::Active;
            v.external_id = Some(external_id);
            if code.is_some() {
                v.code = code;
            }
            v.updated_at = now;
        }
        None => {
            vendors[i].state = VendorState::Archived;
            vendors[i].updated_at = now;
        }
    }
    empty(StatusCode::NO_CONTENT)
}
