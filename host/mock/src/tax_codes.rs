//! Tax codes (`/v0/tax-codes`, Gjoll Tax Codes API 82.3.2): search, get, create, update.
//! Scopes `tax-codes:read` and `tax-codes:write`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
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
use super::extract::{Ids, Json, OptionalJson, Pairs};
use super::paging::{Order, PageRequest, Rules, SortValue, paginate};
use super::rest::{Result, Shared, ok};
use super::rest::{body_company, created, non_blank, query_company, required, uuid_set};
use super::seed::new_id;
use super::server::AppState;
use super::store::Books;

/// The document gives `limit` no bounds; the mock holds it to 1..=100 like the other lists.
const PAGING: Rules = Rules {
    default_limit: 20,
    min_limit: 1,
    max_limit: 100,
    allow_offset: true,
    keys: &["id", "code", "name", "createdAt"],
    default_sort: &[("code", Order::Asc)],
};

/// `TaxCodeTypeModel`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaxType {
    Inclusive,
    Exclusive,
    Reverse,
}

/// `TaxCodeModel`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaxCodeRecord {
    #[serde(serialize_with = "ser_uuid")]
    pub id: Uuid,
    #[serde(serialize_with = "ser_uuid")]
    pub company_id: Uuid,
    pub name: String,
    /// A fraction: 0.25 is 25 %.
    pub rate: f64,
    #[serde(rename = "type")]
    pub kind: TaxType,
    pub archived: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ingoing_tax_account: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outgoing_tax_account: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accounting_integration_system: Option<String>,
}

pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v0/tax-codes", post(create_tax_code))
        .route("/v0/tax-codes:search", post(search_tax_codes))
        .route(
            "/v0/tax-codes:calculate-tax-amounts",
            post(calculate_tax_amounts),
        )
        .route(
            "/v0/tax-codes/{tax_code_id}",
            get(get_tax_code)
                .put(update_tax_code)
                .delete(delete_tax_code),
        )
}

/// The dataset's tax codes (reverse-charge ones with their tax accounts) and an archived one,
/// set up well before the data starts.
pub(super) fn seed(
    rng: &mut StdRng,
    data: &CompanyData,
    epoch: DateTime<Utc>,
) -> Vec<TaxCodeRecord> {
    let set_up = shifted(epoch, -TimeDelta::days(420));
    let mut at = || shifted(set_up, TimeDelta::minutes(rng.random_range(0..600)));
    let mut out: Vec<TaxCodeRecord> = data
        .tax_codes
        .iter()
        .map(|t| {
            let reverse = t.code.ends_with("-RC");
            let created = at();
            TaxCodeRecord {
                id: t.id,
                company_id: data.company.id,
                name: t.name.clone(),
                rate: t.rate,
                kind: if reverse {
                    TaxType::Reverse
                } else {
                    TaxType::Inclusive
                },
                archived: false,
                code: Some(t.code.clone()),
                created_at: created,
                updated_at: created,
                ingoing_tax_account: reverse.then(|| "14262".to_string()),
                outgoing_tax_account: reverse.then(|| "14263".to_string()),
                accounting_integration_system: None,
            }
        })
        .collect();
    let created = at();
    out.push(TaxCodeRecord {
        id: new_id(rng),
        company_id: data.company.id,
        name: "Moms 25% (old ledger)".to_string(),
        rate: 0.25,
        kind: TaxType::Inclusive,
        archived: true,
        code: Some("DK25-OLD".to_string()),
        created_at: created,
        updated_at: shifted(created, TimeDelta::days(200)),
        ingoing_tax_account: None,
        outgoing_tax_account: None,
        accounting_integration_system: None,
    });
    out
}

/// `TaxCodeSearchRequest`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SearchBody {
    archived: Option<bool>,
    code: Option<String>,
    tax_code_ids: Option<Vec<String>>,
    #[serde(rename = "type")]
    kind: Option<TaxType>,
}

fn sort_key(t: &TaxCodeRecord, key: &str) -> SortValue {
    match key {
        "code" => t.code.clone().map_or(SortValue::Null, SortValue::Text),
        "name" => SortValue::Text(t.name.clone()),
        "createdAt" => SortValue::Int(t.created_at.timestamp()),
        _ => SortValue::Id(t.id),
    }
}

async fn search_tax_codes(
    State(state): Shared,
    Pairs(query): Pairs,
    OptionalJson(body): OptionalJson<SearchBody>,
) -> Result<Response> {
    let page = PageRequest::parse(&query, &PAGING)?;
    let company = query_company(&state, &query)?;
    let ids = uuid_set(body.tax_code_ids, "taxCodeIds", usize::MAX)?;
    let books = state.store.lock();
    let codes: Vec<&TaxCodeRecord> = books.companies[company]
        .master
        .tax_codes
        .iter()
        .filter(|t| body.archived.is_none_or(|a| t.archived == a))
        .filter(|t| {
            body.code
                .as_ref()
                .is_none_or(|c| t.code.as_ref() == Some(c))
        })
        .filter(|t| body.kind.is_none_or(|k| t.kind == k))
        .filter(|t| ids.as_ref().is_none_or(|s| s.contains(&t.id)))
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &paginate(codes, &page, sort_key),
    ))
}

fn find(books: &Books, id: Uuid) -> Result<(usize, usize)> {
    books.locate(id, |m| &m.tax_codes, |t| t.id).ok_or_else(|| {
        ApiError::not_found("TAX_CODE_NOT_FOUND", format!("Tax code {id} not found"))
    })
}

async fn get_tax_code(State(state): Shared, Ids([id]): Ids<1>) -> Result<Response> {
    let books = state.store.lock();
    let (c, i) = find(&books, id)?;
    ok(&books.companies[c].master.tax_codes[i])
}

/// `TaxCodeCreateUpdateModel`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TaxCodeBody {
    company_id: Option<String>,
    name: Option<String>,
    rate: Option<f64>,
    #[serde(rename = "type")]
    kind: Option<TaxType>,
    archived: Option<bool>,
    code: Option<String>,
    ingoing_tax_account: Option<String>,
    outgoing_tax_account: Option<String>,
}

struct Fields {
    name: String,
    rate: f64,
    kind: TaxType,
    archived: bool,
    code: Option<String>,
    ingoing_tax_account: Option<String>,
    outgoing_tax_account: Option<String>,
}

impl Fields {
    fn from_body(body: TaxCodeBody) -> Result<Fields> {
        let rate = required(body.rate, "rate")?;
        if !(0.0..=1.0).contains(&rate) {
            return Err(ApiError::BadBody(
                "rate is a fraction from 0 to 1 (0.25 is 25 %)".into(),
            ));
        }
        Ok(Fields {
            name: non_blank(body.name, "name")?,
            rate,
            kind: required(body.kind, "type")?,
            archived: required(body.archived, "archived")?,
            code: body.code,
            ingoing_tax_account: body.ingoing_tax_account,
            outgoing_tax_account: body.outgoing_tax_account,
        })
    }

    fn apply(self, t: &mut TaxCodeRecord) {
        t.name = self.name;
        t.rate = self.rate;
        t.kind = self.kind;
        t.archived = self.archived;
        t.code = self.code;
        t.ingoing_tax_account = self.ingoing_tax_account;
        t.outgoing_tax_account = self.outgoing_tax_account;
    }
}

/// 409 if another tax code of the company has this code.
fn check_code_free(
    codes: &[TaxCodeRecord],
    code: Option<&String>,
    except: Option<Uuid>,
) -> Result<()> {
    let Some(code) = code else {
        return Ok(());
    };
    if codes
        .iter()
        .any(|t| Some(t.id) != except && t.code.as_ref() == Some(code))
    {
        return Err(ApiError::conflict(
            "TAX_CODE_ALREADY_EXISTS",
            format!("A tax code with code {code} already exists"),
        ));
    }
    Ok(())
}

async fn create_tax_code(State(state): Shared, Json(body): Json<TaxCodeBody>) -> Result<Response> {
    let company = body_company(&state, body.company_id.clone())?;
    let fields = Fields::from_body(body)?;
    let now = state.store.now();
    let mut books = state.store.lock();
    let codes = &mut books.companies[company].master.tax_codes;
    check_code_free(codes, fields.code.as_ref(), None)?;
    let mut record = TaxCodeRecord {
        id: Uuid::new_v4(),
        company_id: state.data.companies[company].company.id,
        name: String::new(),
        rate: 0.0,
        kind: TaxType::Inclusive,
        archived: false,
        code: None,
        created_at: now,
        updated_at: now,
        ingoing_tax_account: None,
        outgoing_tax_account: None,
        accounting_integration_system: None,
    };
    fields.apply(&mut record);
    codes.push(record.clone());
    created(record)
}

async fn update_tax_code(
    State(state): Shared,
    Ids([id]): Ids<1>,
    Json(body): Json<TaxCodeBody>,
) -> Result<Response> {
    let company = body_company(&state, body.company_id.clone())?;
    let fields = Fields::from_body(body)?;
    let now = state.store.now();
    let mut books = state.store.lock();
    let (c, i) = find(&books, id)?;
    if c != company {
        return Err(ApiError::BadBody(
            "companyId is not the company of this tax code".into(),
        ));
    }
    let codes = &mut books.companies[c].master.tax_codes;
    check_code_free(codes, fields.code.as_ref(), Some(id))?;
    fields.apply(&mut codes[i]);
    codes[i].updated_at = now;
    ok(&codes[i])
}

/// `DELETE /v0/tax-codes/{taxCodeId}`: Pleo documents a JSON answer without a schema, so
/// nothing that could be checked; the mock answers 204 without a body.
async fn delete_tax_code(State(state): Shared, Ids([id]): Ids<1>) -> Result<Response> {
    let mut books = state.store.lock();
    let (c, i) = find(&books, id)?;
    books.companies[c].master.tax_codes.remove(i);
    super::rest::empty(StatusCode::NO_CONTENT)
}

/// `CalculateTaxesRequest`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CalculateBody {
    amounts_by_tax_code_id: Option<BTreeMap<String, Vec<TaxedAmount>>>,
}

/// `TaxedAmount`.
#[derive(Debug, Deserialize)]
struct TaxedAmount {
    id: String,
    amount: Money,
}

/// `Money`.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
struct Money {
    currency: Currency,
    minors: i64,
}

/// A three-letter currency code, kept without allocating.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
struct Currency([u8; 3]);

impl TryFrom<String> for Currency {
    type Error = String;
    fn try_from(code: String) -> std::result::Result<Currency, String> {
        match <[u8; 3]>::try_from(code.as_bytes()) {
            Ok(bytes) if super::rest::is_currency(&code) => Ok(Currency(bytes)),
            _ => Err(format!("`{code}` is not an ISO 4217 currency code")),
        }
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> String {
        String::from_utf8_lossy(&c.0).into_owned()
    }
}

/// The breakdown of `minors` under a tax code: `inclusive` amounts hold their tax (net =
/// gross / (1 + rate)), `exclusive` ones do not (tax = net × rate), and a `reverse` charge is
/// owed by the buyer: gross and net are the amount, tax what the buyer accounts for. Rounded
/// half away from zero to the minor unit.
fn breakdown(kind: TaxType, rate: f64, minors: i64) -> (i64, i64, i64) {
    let round = |x: f64| x.round() as i64;
    match kind {
        TaxType::Inclusive => {
            let net = round(minors as f64 / (1.0 + rate));
            (minors, net, minors.saturating_sub(net))
        }
        TaxType::Exclusive => {
            let tax = round(minors as f64 * rate);
            (minors.saturating_add(tax), minors, tax)
        }
        TaxType::Reverse => (minors, minors, round(minors as f64 * rate)),
    }
}

/// `POST /v0/tax-codes:calculate-tax-amounts`: each amount's gross, net and tax under its tax
/// code, keyed as asked; an unknown tax code is a 404.
async fn calculate_tax_amounts(
    State(state): Shared,
    Json(body): Json<CalculateBody>,
) -> Result<Response> {
    let amounts = required(body.amounts_by_tax_code_id, "amountsByTaxCodeId")?;
    let books = state.store.lock();
    let mut taxes = serde_json::Map::new();
    for (code_id, items) in amounts {
        let id = Uuid::parse_str(&code_id)
            .map_err(|_| ApiError::BadBody(format!("`{code_id}` is not a UUID")))?;
        let (c, i) = find(&books, id)?;
        let code = &books.companies[c].master.tax_codes[i];
        let rows: Vec<serde_json::Value> = items
            .iter()
            .map(|item| {
                let (gross, net, tax) = breakdown(code.kind, code.rate, item.amount.minors);
                let money = |minors| Money {
                    currency: item.amount.currency,
                    minors,
                };
                serde_json::json!({
                    "id": item.id,
                    "amountTaxBreakdown": {
                        "gross": money(gross), "net": money(net), "tax": money(tax)
                    }
                })
            })
            .collect();
        taxes.insert(code_id, serde_json::Value::Array(rows));
    }
    ok(serde_json::json!({ "taxes": taxes }))
}

#[cfg(test)]
mod calculate_tests {
    use super::*;

    #[test]
    fn breakdowns_follow_the_tax_type() {
        assert_eq!(
            breakdown(TaxType::Inclusive, 0.25, 12500),
            (12500, 10000, 2500)
        );
        assert_eq!(
            breakdown(TaxType::Exclusive, 0.25, 10000),
            (12500, 10000, 2500)
        );
        assert_eq!(
            breakdown(TaxType::Reverse, 0.25, 10000),
            (10000, 10000, 2500)
        );
        // 100 / 1.25 = 80; 99 / 1.25 = 79.2 rounds to 79.
        assert_eq!(breakdown(TaxType::Inclusive, 0.25, 99), (99, 79, 20));
        assert_eq!(breakdown(TaxType::Exclusive, 0.0, 555), (555, 555, 0));
        // Whatever a caller sends, no overflow.
        assert_eq!(breakdown(TaxType::Exclusive, 1.0, i64::MAX).0, i64::MAX);
        assert_eq!(breakdown(TaxType::Inclusive, 0.5, i64::MIN).0, i64::MIN);
    }
}
