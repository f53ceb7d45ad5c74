//! `accounts-read` and `accounts-write`: the chart of accounts. This family takes the company
//! only as body `companyId` (search, create, batch); calls on one account name it by id.

use serde_json::{Map, Value, json};

use super::call::Args;
use super::paging;
use super::table::{
    CREATE_ACCOUNT, CREATE_ACCOUNTS, DELETE_ACCOUNT, GET_ACCOUNT, SEARCH_ACCOUNTS, UPDATE_ACCOUNT,
};
use super::{Caps, HostError, PageRequest, WitPage, checks, invalid};
use crate::bindings::pleo::plugin::accounts_read::AccountFilter;
use crate::bindings::pleo::plugin::accounts_write::{AccountUpdate, NewAccount};
use crate::bindings::pleo::plugin::{accounts_read, accounts_write};

/// Pleo documents no maximum for the search's id and code lists; the host bounds them.
const MAX_FILTER: usize = 1000;
/// `BookkeepingAccountBatchCreateRequestV1`: 1 to 1000 accounts.
const MAX_BATCH: usize = 1000;
/// Documented maximum length of `externalId`, `name` and `code`.
const MAX_TEXT: usize = 255;

impl accounts_read::Host for Caps {
    async fn search_accounts(
        &mut self,
        filter: AccountFilter,
        page: PageRequest,
    ) -> Result<WitPage, HostError> {
        let args = Args::new()
            .body(search_body(&self.company_id, filter))
            .page(&page, &paging::CURSOR_OR_OFFSET);
        self.page(&SEARCH_ACCOUNTS, args).await
    }

    async fn get_account(&mut self, account_id: String) -> Result<String, HostError> {
        self.text(&GET_ACCOUNT, Args::new().id(account_id)).await
    }
}

impl accounts_write::Host for Caps {
    async fn create_account(&mut self, account: NewAccount) -> Result<String, HostError> {
        let args = Args::new().body(new_account_body(Some(&self.company_id), account));
        self.text(&CREATE_ACCOUNT, args).await
    }

    async fn create_accounts(&mut self, accounts: Vec<NewAccount>) -> Result<String, HostError> {
        let args = Args::new().body(batch_body(&self.company_id, accounts));
        self.text(&CREATE_ACCOUNTS, args).await
    }

    async fn update_account(
        &mut self,
        account_id: String,
        account: AccountUpdate,
    ) -> Result<String, HostError> {
        let args = Args::new().id(account_id).body(update_body(account));
        self.text(&UPDATE_ACCOUNT, args).await
    }

    async fn delete_account(&mut self, account_id: String) -> Result<(), HostError> {
        self.nothing(&DELETE_ACCOUNT, Args::new().id(account_id))
            .await
    }
}

/// Builds `BookkeepingAccountSearchRequestV1`: the company and both required flags always,
/// the other filters when given.
fn search_body(company_id: &str, filter: AccountFilter) -> Result<Value, HostError> {
    let mut body = Map::new();
    body.insert("companyId".into(), json!(company_id));
    body.insert(
        "excludeIfAssignedToCategory".into(),
        json!(filter.exclude_if_assigned_to_category),
    );
    body.insert(
        "excludeIfAssignedToContraAccount".into(),
        json!(filter.exclude_if_assigned_to_contra_account),
    );
    checks::ids("ids", &filter.ids, MAX_FILTER)?;
    checks::at_most("codes", filter.codes.len(), MAX_FILTER)?;
    for (name, values) in [("ids", filter.ids), ("codes", filter.codes)] {
        if !values.is_empty() {
            body.insert(name.into(), json!(checks::unique(values)));
        }
    }
    if let Some(archived) = filter.archived {
        body.insert("archived".into(), json!(archived));
    }
    if let Some(external_id) = filter.external_id {
        body.insert("externalId".into(), json!(external_id));
    }
    if let Some(name) = filter.name {
        body.insert("name".into(), json!(name));
    }
    Ok(Value::Object(body))
}

/// Builds `BookkeepingAccountCreateRequestV1` (with the company) or a batch item
/// `BookkeepingAccountBatchRequestItemV1` (without): `{companyId?, externalId, name, archived,
/// code?, taxCodeExternalId?}`.
fn new_account_body(company_id: Option<&str>, account: NewAccount) -> Result<Value, HostError> {
    checks::text("externalId", &account.external_id, 1, MAX_TEXT)?;
    let mut body = Map::new();
    if let Some(company_id) = company_id {
        body.insert("companyId".into(), json!(company_id));
    }
    body.insert("externalId".into(), json!(account.external_id));
    account_fields(
        &mut body,
        account.name,
        account.archived,
        account.code,
        account.tax_code_external_id,
        account.metadata,
    )?;
    Ok(Value::Object(body))
}

/// Builds `BookkeepingAccountBatchCreateRequestV1`: `{companyId, items: [1..1000 items]}`.
fn batch_body(company_id: &str, accounts: Vec<NewAccount>) -> Result<Value, HostError> {
    if accounts.is_empty() {
        return Err(invalid("create-accounts needs at least one account".into()));
    }
    if accounts.len() > MAX_BATCH {
        return Err(invalid(format!(
            "Pleo takes at most {MAX_BATCH} accounts per batch, got {}",
            accounts.len()
        )));
    }
    let items = accounts
        .into_iter()
        .map(|account| new_account_body(None, account))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json!({ "companyId": company_id, "items": items }))
}

/// Builds `BookkeepingAccountUpdateRequestV1`: `{name, archived, code?, taxCodeExternalId?}`.
/// Pleo's update has no `externalId` (an account keeps the one it was created with), so the
/// record's `external-id` is not sent.
fn update_body(account: AccountUpdate) -> Result<Value, HostError> {
    let mut body = Map::new();
    account_fields(
        &mut body,
        account.name,
        account.archived,
        account.code,
        account.tax_code_external_id,
        account.metadata,
    )?;
    Ok(Value::Object(body))
}

fn account_fields(
    body: &mut Map<String, Value>,
    name: String,
    archived: bool,
    code: Option<String>,
    tax_code_external_id: Option<String>,
    metadata: Option<String>,
) -> Result<(), HostError> {
    checks::text("name", &name, 0, MAX_TEXT)?;
    body.insert("name".into(), json!(name));
    body.insert("archived".into(), json!(archived));
    if let Some(code) = code {
        checks::text("code", &code, 0, MAX_TEXT)?;
        body.insert("code".into(), json!(code));
    }
    if let Some(tax) = tax_code_external_id {
        body.insert("taxCodeExternalId".into(), json!(tax));
    }
    if let Some(metadata) = metadata {
        body.insert("metadata".into(), metadata_object(&metadata)?);
    }
    Ok(())
}

/// Longest `metadata` text the host sends: Pleo documents no bound, and every byte a plugin
/// hands over is copied and parsed on the host's side.
const MAX_METADATA_BYTES: usize = 16 * 1024;

/// Pleo's `metadata`: an object whose values are objects (or null). Parsed here, so a
/// malformed one is refused with its cause before anything is sent.
fn metadata_object(text: &str) -> Result<Value, HostError> {
    if text.len() > MAX_METADATA_BYTES {
        return Err(invalid(format!(
            "metadata is {} bytes; at most {MAX_METADATA_BYTES}",
            text.len()
        )));
    }
    let value: Value =
        serde_json::from_str(text).map_err(|e| invalid(format!("metadata is not JSON: {e}")))?;
    let Some(fields) = value.as_object() else {
        return Err(invalid("metadata must be a JSON object".into()));
    };
    if let Some((key, _)) = fields.iter().find(|(_, v)| !(v.is_object() || v.is_null())) {
        return Err(invalid(format!(
            "metadata value of {key:?} must be an object, as Pleo documents"
        )));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(external_id: &str) -> NewAccount {
        NewAccount {
            external_id: external_id.into(),
            name: "Travel".into(),
            archived: false,
            code: Some("6100".into()),
            tax_code_external_id: None,
            metadata: None,
        }
    }

    #[test]
    fn search_always_sends_the_required_fields() {
        let filter = AccountFilter {
            ids: vec![],
            codes: vec!["6100".into(), "6100".into(), "6200".into()],
            external_id: None,
            name: Some("Trav".into()),
            archived: Some(false),
            exclude_if_assigned_to_category: true,
            exclude_if_assigned_to_contra_account: false,
        };
        assert_eq!(
            search_body("c1", filter).unwrap(),
            json!({"companyId": "c1", "excludeIfAssignedToCategory": true,
                   "excludeIfAssignedToContraAccount": false, "codes": ["6100", "6200"],
                   "name": "Trav", "archived": false})
        );
    }

    #[test]
    fn create_batch_and_update_bodies() {
        assert_eq!(
            new_account_body(Some("c1"), account("A-1")).unwrap(),
            json!({"companyId": "c1", "externalId": "A-1", "name": "Travel", "archived": false,
                   "code": "6100"})
        );
        assert_eq!(
            batch_body("c1", vec![account("A-1"), account("A-2")]).unwrap(),
            json!({"companyId": "c1", "items": [
                {"externalId": "A-1", "name": "Travel", "archived": false, "code": "6100"},
                {"externalId": "A-2", "name": "Travel", "archived": false, "code": "6100"},
            ]})
        );
        let archived = AccountUpdate {
            name: "Travel".into(),
            archived: true,
            code: None,
            tax_code_external_id: Some("VAT25".into()),
            metadata: Some(r#"{"erp": {"dimension": 7}}"#.into()),
        };
        assert_eq!(
            update_body(archived).unwrap(),
            json!({"name": "Travel", "archived": true, "taxCodeExternalId": "VAT25",
                   "metadata": {"erp": {"dimension": 7}}})
        );
    }

    #[test]
    fn metadata_is_an_object_of_objects_and_bounded() {
        let with = |metadata: &str| NewAccount {
            metadata: Some(metadata.into()),
            ..account("A-1")
        };
        assert!(new_account_body(None, with(r#"{"a": {}, "b": null}"#)).is_ok());
        for bad in ["", "[]", "7", r#"{"a": 1}"#, r#"{"a": "text"}"#, "{"] {
            assert!(new_account_body(None, with(bad)).is_err(), "{bad:?}");
        }
        let big = format!(r#"{{"a": {{"b": "{}"}}}}"#, "x".repeat(MAX_METADATA_BYTES));
        assert!(new_account_body(None, with(&big)).is_err());
    }

    #[test]
    fn sizes_and_lengths_are_bounded() {
        assert!(new_account_body(None, account("")).is_err());
        assert!(new_account_body(None, account(&"x".repeat(256))).is_err());
        assert!(batch_body("c1", vec![]).is_err());
        let full: Vec<_> = (0..MAX_BATCH).map(|i| account(&format!("A-{i}"))).collect();
        assert!(batch_body("c1", full.clone()).is_ok());
        let mut over = full;
        over.push(account("A-x"));
        assert!(batch_body("c1", over).is_err());
    }
}
