//! Chart of accounts (`/v1/chart-of-accounts`, Chart of Accounts API 24.9.0): search, get,
//! create (201; 200 with the existing account when an identical one exists; 409 when the
//! `externalId` is taken), batch create (1 to 1000), update, delete (204; 409 while entries
//! use the account). Scopes `accounts:read` and `accounts:write`.

use std::collections::HashSet;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::data::{CompanyData, ser_uuid};
use super::error::{ApiError, json_response};
use super::extract::{Ids, Json, Pairs};
use super::paging::{Order, PageRequest, Rules, SortValue, paginate};
use super::rest::{Data, Result, Shared, ok};
use super::rest::{body_company, created, empty, required, string_set, uuid_set};
use super::seed::new_id;
use super::server::AppState;
use super::store::Books;
use super::tax_codes::TaxCodeRecord;

/// The document gives `limit` no bounds; the mock holds it to 1..=100 like the other lists.
const PAGING: Rules = Rules {
    default_limit: 20,
    min_limit: 1,
    max_limit: 100,
    allow_offset: true,
    keys: &["id", "code", "name", "externalId"],
    default_sort: &[("code", Order::Asc)],
};

/// Documented lengths of `externalId`, `name` and `code`.
const MAX_TEXT: usize = 255;
/// Documented size range of a batch.
const MAX_BATCH: usize = 1000;

/// `BookkeepingAccountRestModelV1`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountRecord {
    #[serde(serialize_with = "ser_uuid")]
    pub id: Uuid,
    #[serde(serialize_with = "ser_uuid")]
    pub company_id: Uuid,
    pub external_id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub archived: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tax_code_external_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
    /// Mapped to a bookkeeping category (what `excludeIfAssignedToCategory` looks at).
    #[serde(skip)]
    pub in_category: bool,
    /// Used as a contra account (what `excludeIfAssignedToContraAccount` looks at).
    #[serde(skip)]
    pub contra_account: bool,
}

pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/chart-of-accounts", post(create_account))
        .route("/v1/chart-of-accounts/batch", post(create_batch))
        .route("/v1/chart-of-accounts:search", post(search_accounts))
        .route(
            "/v1/chart-of-accounts/{account_id}",
            get(get_account).put(update_account).delete(delete_account),
        )
}

// ---------------------------------------------------------------------------
// Seeding
// ---------------------------------------------------------------------------

/// The dataset's expense accounts (external id = code, the tax code their vendors mostly
/// use), the wallet's contra account, a suspense account and an archived account.
pub(super) fn seed(
    rng: &mut StdRng,
    data: &CompanyData,
    tax_codes: &[TaxCodeRecord],
) -> Vec<AccountRecord> {
    let company_id = data.company.id;
    let mut out: Vec<AccountRecord> = data
        .accounts
        .iter()
        .map(|a| AccountRecord {
            id: a.id,
            company_id,
            external_id: a.code.clone(),
            name: a.name.clone(),
            code: Some(a.code.clone()),
            archived: false,
            tax_code_external_id: usual_tax_code(data, a.id, tax_codes),
            metadata: None,
            in_category: true,
            contra_account: false,
        })
        .collect();
    let extra = [
        ("5820", "Pleo wallet (DKK)", false, false, true),
        ("6990", "Suspense account", false, false, false),
        ("2200", "Travel (old chart)", true, false, false),
    ];
    for (code, name, archived, in_category, contra_account) in extra {
        out.push(AccountRecord {
            id: new_id(rng),
            company_id,
            external_id: code.to_string(),
            name: name.to_string(),
            code: Some(code.to_string()),
            archived,
            tax_code_external_id: None,
            metadata: None,
            in_category,
            contra_account,
        });
    }
    out
}

/// The code of the tax code most vendors booked on `account` use (first one on a tie).
fn usual_tax_code(
    data: &CompanyData,
    account: Uuid,
    tax_codes: &[TaxCodeRecord],
) -> Option<String> {
    let mut counts: Vec<(Uuid, usize)> = Vec::new();
    for v in data.vendors.iter().filter(|v| v.account_id == account) {
        match counts.iter_mut().find(|(t, _)| *t == v.tax_code_id) {
            Some((_, n)) => *n += 1,
            None => counts.push((v.tax_code_id, 1)),
        }
    }
    let best = counts
        .iter()
        .fold(None::<(Uuid, usize)>, |best, &(t, n)| match best {
            Some((_, m)) if m >= n => best,
            _ => Some((t, n)),
        })?;
    tax_codes.iter().find(|t| t.id == best.0)?.code.clone()
}

// ---------------------------------------------------------------------------
// Search and get
// ---------------------------------------------------------------------------

/// `BookkeepingAccountSearchRequestV1`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SearchBody {
    company_id: Option<String>,
    exclude_if_assigned_to_category: Option<bool>,
    exclude_if_assigned_to_contra_account: Option<bool>,
    archived: Option<bool>,
    code: Option<String>,
    codes: Option<Vec<String>>,
    external_id: Option<String>,
    ids: Option<Vec<String>>,
    name: Option<String>,
}

fn sort_key(a: &AccountRecord, key: &str) -> SortValue {
    let text = |s: &str| SortValue::Text(s.to_string());
    match key {
        "code" => a.code.as_deref().map_or(SortValue::Null, text),
        "name" => text(&a.name),
        "externalId" => text(&a.external_id),
        _ => SortValue::Id(a.id),
    }
}

async fn search_accounts(
    State(state): Shared,
    Pairs(query): Pairs,
    Json(body): Json<SearchBody>,
) -> Result<Response> {
    let page = PageRequest::parse(&query, &PAGING)?;
    let company = body_company(&state, body.company_id)?;
    let no_category = required(
        body.exclude_if_assigned_to_category,
        "excludeIfAssignedToCategory",
    )?;
    let no_contra = required(
        body.exclude_if_assigned_to_contra_account,
        "excludeIfAssignedToContraAccount",
    )?;
    let ids = uuid_set(body.ids, "ids", usize::MAX)?;
    let codes = string_set(body.codes, "codes", usize::MAX)?;
    let name = body.name.map(|n| n.to_lowercase());
    let books = state.store.lock();
    let accounts: Vec<&AccountRecord> = books.companies[company]
        .master
        .accounts
        .iter()
        .filter(|a| !no_category || !a.in_category)
        .filter(|a| !no_contra || !a.contra_account)
        .filter(|a| body.archived.is_none_or(|x| a.archived == x))
        .filter(|a| ids.as_ref().is_none_or(|s| s.contains(&a.id)))
        .filter(|a| {
            codes
                .as_ref()
                .is_none_or(|s| a.code.as_ref().is_some_and(|c| s.contains(c)))
        })
        .filter(|a| {
            body.code
                .as_ref()
                .is_none_or(|c| a.code.as_ref() == Some(c))
        })
        .filter(|a| {
            body.external_id
                .as_ref()
                .is_none_or(|x| &a.external_id == x)
        })
        .filter(|a| {
            name.as_ref()
                .is_none_or(|n| a.name.to_lowercase().contains(n.as_str()))
        })
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &paginate(accounts, &page, sort_key),
    ))
}

/// The account and its company's index; 404 `ACCOUNT_NOT_FOUND` for any other id.
fn find(books: &Books, id: Uuid) -> Result<(usize, usize)> {
    books
        .locate(id, |m| &m.accounts, |a| a.id)
        .ok_or_else(|| ApiError::not_found("ACCOUNT_NOT_FOUND", format!("Account {id} not found")))
}

async fn get_account(State(state): Shared, Ids([id]): Ids<1>) -> Result<Response> {
    let books = state.store.lock();
    let (c, i) = find(&books, id)?;
    ok(&books.companies[c].master.accounts[i])
}

// ---------------------------------------------------------------------------
// Create, update, delete
// ---------------------------------------------------------------------------

/// `BookkeepingAccountCreateRequestV1`, `...BatchRequestItemV1` and `...UpdateRequestV1`
/// (the update has no `companyId` or `externalId`; sent anyway, they are ignored).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
struct AccountBody {
    #[serde(skip_serializing)]
    company_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    archived: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tax_code_external_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<Map<String, Value>>,
}

/// The fields of an account a client sets, validated.
struct Fields {
    name: String,
    archived: bool,
    code: Option<String>,
    tax_code_external_id: Option<String>,
    metadata: Option<Map<String, Value>>,
}

impl Fields {
    /// Checks lengths and that a given tax code exists in the company (400 otherwise).
    fn from_body(body: &AccountBody, tax_codes: &HashSet<String>) -> Result<Fields> {
        let name = required(body.name.clone(), "name")?;
        let archived = required(body.archived, "archived")?;
        let long = |v: &Option<String>| v.as_ref().is_some_and(|s| s.chars().count() > MAX_TEXT);
        if name.chars().count() > MAX_TEXT || long(&body.code) {
            return Err(ApiError::BadBody(format!(
                "name and code may have at most {MAX_TEXT} characters"
            )));
        }
        if let Some(t) = &body.tax_code_external_id
            && !tax_codes.contains(t)
        {
            return Err(ApiError::BadBody(format!(
                "tax code {t} does not exist in Pleo"
            )));
        }
        Ok(Fields {
            name,
            archived,
            code: body.code.clone(),
            tax_code_external_id: body.tax_code_external_id.clone(),
            metadata: body.metadata.clone().filter(|m| !m.is_empty()),
        })
    }

    fn apply(self, a: &mut AccountRecord) {
        a.name = self.name;
        a.archived = self.archived;
        a.code = self.code;
        a.tax_code_external_id = self.tax_code_external_id;
        a.metadata = self.metadata;
    }

    /// Whether `a` already looks exactly like this.
    fn same_as(&self, a: &AccountRecord) -> bool {
        a.name == self.name
            && a.archived == self.archived
            && a.code == self.code
            && a.tax_code_external_id == self.tax_code_external_id
            && a.metadata == self.metadata
    }
}

fn external_id(body: &AccountBody) -> Result<String> {
    let id = required(body.external_id.clone(), "externalId")?;
    if id.is_empty() || id.chars().count() > MAX_TEXT {
        return Err(ApiError::BadBody(format!(
            "externalId must have 1 to {MAX_TEXT} characters"
        )));
    }
    Ok(id)
}

fn tax_code_ids(books: &Books, company: usize) -> HashSet<String> {
    books.companies[company]
        .master
        .tax_codes
        .iter()
        .filter_map(|t| t.code.clone())
        .collect()
}

fn new_account(company_id: Uuid, external_id: String, fields: Fields) -> AccountRecord {
    let mut a = AccountRecord {
        id: Uuid::new_v4(),
        company_id,
        external_id,
        name: String::new(),
        code: None,
        archived: false,
        tax_code_external_id: None,
        metadata: None,
        in_category: false,
        contra_account: false,
    };
    fields.apply(&mut a);
    a
}

async fn create_account(State(state): Shared, Json(body): Json<AccountBody>) -> Result<Response> {
    let company = body_company(&state, body.company_id.clone())?;
    let external_id = external_id(&body)?;
    let mut books = state.store.lock();
    let fields = Fields::from_body(&body, &tax_code_ids(&books, company))?;
    let chart = &mut books.companies[company].master.accounts;
    if let Some(existing) = chart.iter().find(|a| a.external_id == external_id) {
        if fields.same_as(existing) {
            return Ok(json_response(StatusCode::OK, &Data { data: existing }));
        }
        return Err(ApiError::conflict(
            "EXTERNAL_ID_ALREADY_EXISTS",
            format!("An account with externalId {external_id} already exists"),
        ));
    }
    let account = new_account(
        state.data.companies[company].company.id,
        external_id,
        fields,
    );
    chart.push(account.clone());
    created(account)
}

/// `BookkeepingAccountBatchCreateRequestV1`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchBody {
    company_id: Option<String>,
    items: Option<Vec<AccountBody>>,
}

/// `BookkeepingAccountBatchFailedItemV1`.
#[derive(Serialize)]
struct Failed {
    reasons: Vec<&'static str>,
    request: AccountBody,
}

#[derive(Serialize)]
struct BatchResult {
    created: Vec<AccountRecord>,
    failed: Vec<Failed>,
}

/// Why one batch item cannot be created (`BookkeepingAccountBatchFailedItemV1.reasons`).
fn batch_reasons(
    item: &AccountBody,
    taken: &HashSet<String>,
    tax_codes: &HashSet<String>,
) -> Vec<&'static str> {
    let mut reasons = Vec::new();
    match item.external_id.as_deref().map(str::trim) {
        None | Some("") => reasons.push("EXTERNAL_ID_EMPTY"),
        Some(id) if id.chars().count() > MAX_TEXT => reasons.push("EXTERNAL_ID_TOO_LONG"),
        Some(_) => {}
    }
    if let Some(id) = &item.external_id
        && taken.contains(id)
    {
        reasons.push("EXTERNAL_ID_ALREADY_EXISTS");
    }
    match item.name.as_deref().map(str::trim) {
        None | Some("") => reasons.push("NAME_EMPTY"),
        Some(n) if n.chars().count() > MAX_TEXT => reasons.push("NAME_TOO_LONG"),
        Some(_) => {}
    }
    if item
        .code
        .as_ref()
        .is_some_and(|c| c.chars().count() > MAX_TEXT)
    {
        reasons.push("CODE_TOO_LONG");
    }
    let unknown_tax = item
        .tax_code_external_id
        .as_ref()
        .is_some_and(|t| !tax_codes.contains(t));
    if item.archived.is_none() || unknown_tax {
        reasons.push("OTHER");
    }
    reasons
}

async fn create_batch(State(state): Shared, Json(body): Json<BatchBody>) -> Result<Response> {
    let company = body_company(&state, body.company_id)?;
    let items = required(body.items, "items")?;
    if items.is_empty() || items.len() > MAX_BATCH {
        return Err(ApiError::BadBody(format!(
            "items must hold 1 to {MAX_BATCH} accounts"
        )));
    }
    let company_id = state.data.companies[company].company.id;
    let mut books = state.store.lock();
    let tax_codes = tax_code_ids(&books, company);
    let chart = &mut books.companies[company].master.accounts;
    let mut taken: HashSet<String> = chart.iter().map(|a| a.external_id.clone()).collect();
    let mut result = BatchResult {
        created: Vec::new(),
        failed: Vec::new(),
    };
    for item in items {
        let reasons = batch_reasons(&item, &taken, &tax_codes);
        let fields = Fields::from_body(&item, &tax_codes);
        match (reasons.is_empty(), fields, item.external_id.clone()) {
            (true, Ok(fields), Some(external_id)) => {
                taken.insert(external_id.clone());
                let account = new_account(company_id, external_id, fields);
                chart.push(account.clone());
                result.created.push(account);
            }
            _ => result.failed.push(Failed {
                reasons: if reasons.is_empty() {
                    vec!["OTHER"]
                } else {
                    reasons
                },
                request: item,
            }),
        }
    }
    created(result)
}

async fn update_account(
    State(state): Shared,
    Ids([id]): Ids<1>,
    Json(body): Json<AccountBody>,
) -> Result<Response> {
    let mut books = state.store.lock();
    let (c, i) = find(&books, id)?;
    let fields = Fields::from_body(&body, &tax_code_ids(&books, c))?;
    let account = &mut books.companies[c].master.accounts[i];
    fields.apply(account);
    ok(&*account)
}

async fn delete_account(State(state): Shared, Ids([id]): Ids<1>) -> Result<Response> {
    let mut books = state.store.lock();
    let (c, i) = find(&books, id)?;
    let entries = &state.data.companies[c].entries;
    let used = entries.iter().any(|e| {
        e.account_id == Some(id) || e.split_items.iter().any(|s| s.account_id == Some(id))
    });
    if used {
        return Err(ApiError::conflict(
            "ACCOUNT_LINKED_TO_ACCOUNTING_ENTRIES",
            "Account linked to accounting entries and cannot be deleted. Archive it instead.",
        ));
    }
    books.companies[c].master.accounts.remove(i);
    empty(StatusCode::NO_CONTENT)
}
