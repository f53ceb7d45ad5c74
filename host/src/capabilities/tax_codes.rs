//! `tax-codes-read` and `tax-codes-write`: tax (VAT) codes. The search takes the company as
//! query `company_id`, create and update as body `companyId`.

use serde_json::{Map, Value, json};

use super::ownership::{IdAt, Returns, TAX_CODE, Target};
use super::{Caps, HostError, Op, PageRequest, WitPage, checked_id, checks, invalid, paged};
use crate::bindings::pleo::plugin::tax_codes_read::TaxCodeFilter;
use crate::bindings::pleo::plugin::tax_codes_write::TaxCodeFields;
use crate::bindings::pleo::plugin::types::TaxKind;
use crate::bindings::pleo::plugin::{tax_codes_read, tax_codes_write};
use crate::pleo::ApiRequest;
use crate::scopes::scope_for;

const READ: &str = "tax-codes-read";
const WRITE: &str = "tax-codes-write";
// Their spelling is unverified: `scopes.rs` decides.
const READ_SCOPE: &str = scope_for(READ);
const WRITE_SCOPE: &str = scope_for(WRITE);
/// Pleo documents no maximum page size for tax codes; the host keeps pages bounded.
const MAX_PAGE: u32 = 100;
/// Pleo documents no maximum for `taxCodeIds`; the host bounds it.
const MAX_IDS: usize = 1000;

const SEARCH_TAX_CODES: Op = Op {
    interface: READ,
    function: "search-tax-codes",
    scope: READ_SCOPE,
    method: "POST",
    template: "/v0/tax-codes:search",
    returns: Returns::Objects(&TAX_CODE),
    target: None,
};
const GET_TAX_CODE: Op = Op {
    interface: READ,
    function: "get-tax-code",
    scope: READ_SCOPE,
    method: "GET",
    template: "/v0/tax-codes/{taxCodeId}",
    returns: Returns::Objects(&TAX_CODE),
    target: None,
};
const CREATE_TAX_CODE: Op = Op {
    interface: WRITE,
    function: "create-tax-code",
    scope: WRITE_SCOPE,
    method: "POST",
    template: "/v0/tax-codes",
    returns: Returns::Objects(&TAX_CODE),
    target: None,
};
const UPDATE_TAX_CODE: Op = Op {
    interface: WRITE,
    function: "update-tax-code",
    scope: WRITE_SCOPE,
    method: "PUT",
    template: "/v0/tax-codes/{taxCodeId}",
    returns: Returns::Objects(&TAX_CODE),
    target: Some(Target {
        kind: &TAX_CODE,
        id: IdAt::Path("taxCodeId"),
    }),
};

impl tax_codes_read::Host for Caps {
    async fn search_tax_codes(
        &mut self,
        filter: TaxCodeFilter,
        page: PageRequest,
    ) -> Result<WitPage, HostError> {
        let op = &SEARCH_TAX_CODES;
        self.require(op)?;
        let body = self.refused(op, search_body(filter))?;
        let req = ApiRequest::post(op.template, body).query("company_id", self.company_id.clone());
        let req = self.refused(op, paged(req, &page, MAX_PAGE))?;
        self.page(op, req).await
    }

    async fn get_tax_code(&mut self, tax_code_id: String) -> Result<String, HostError> {
        let op = &GET_TAX_CODE;
        self.require(op)?;
        let path = checked_id(&tax_code_id).map(|id| format!("/v0/tax-codes/{id}"));
        let req = ApiRequest::get(self.refused(op, path)?);
        self.object(op, req).await
    }
}

impl tax_codes_write::Host for Caps {
    // Not idempotent: a repeat may create a second tax code.
    async fn create_tax_code(&mut self, tax_code: TaxCodeFields) -> Result<String, HostError> {
        let op = &CREATE_TAX_CODE;
        self.require(op)?;
        let body = self.refused(op, tax_code_body(&self.company_id, tax_code))?;
        self.object(op, ApiRequest::post(op.template, body)).await
    }

    async fn update_tax_code(
        &mut self,
        tax_code_id: String,
        tax_code: TaxCodeFields,
    ) -> Result<String, HostError> {
        let op = &UPDATE_TAX_CODE;
        self.require(op)?;
        let path = checked_id(&tax_code_id).map(|id| format!("/v0/tax-codes/{id}"));
        let path = self.refused(op, path)?;
        let body = self.refused(op, tax_code_body(&self.company_id, tax_code))?;
        // Idempotent: a PUT of the same fields leaves the tax code in the same state.
        self.object(op, ApiRequest::put(path, body).idempotent())
            .await
    }
}

fn tax_kind_name(kind: TaxKind) -> &'static str {
    match kind {
        TaxKind::Inclusive => "inclusive",
        TaxKind::Exclusive => "exclusive",
        TaxKind::Reverse => "reverse",
    }
}

/// Builds `TaxCodeSearchRequest`: `{archived?, code?, taxCodeIds?, type?}`.
fn search_body(filter: TaxCodeFilter) -> Result<Value, HostError> {
    let mut body = Map::new();
    if let Some(archived) = filter.archived {
        body.insert("archived".into(), json!(archived));
    }
    if let Some(code) = filter.code {
        body.insert("code".into(), json!(code));
    }
    if !filter.tax_code_ids.is_empty() {
        checks::ids("taxCodeIds", &filter.tax_code_ids, MAX_IDS)?;
        body.insert(
            "taxCodeIds".into(),
            json!(checks::unique(filter.tax_code_ids)),
        );
    }
    if let Some(kind) = filter.kind {
        body.insert("type".into(), json!(tax_kind_name(kind)));
    }
    Ok(Value::Object(body))
}

/// Builds `TaxCodeCreateUpdateModel`: `{companyId, name, rate, type, archived, code?,
/// ingoingTaxAccount?, outgoingTaxAccount?}`, with `rate` a fraction (0.25 is 25 %).
fn tax_code_body(company_id: &str, tax: TaxCodeFields) -> Result<Value, HostError> {
    // A rate above 1 is almost surely a percentage given by mistake (25 for 25 %).
    if !(tax.rate.is_finite() && (0.0..=1.0).contains(&tax.rate)) {
        return Err(invalid(format!(
            "rate {} is not a fraction between 0 and 1 (0.25 is 25 %)",
            tax.rate
        )));
    }
    checks::not_empty("name", &tax.name)?;
    let mut body = Map::new();
    body.insert("companyId".into(), json!(company_id));
    body.insert("name".into(), json!(tax.name));
    body.insert("rate".into(), json!(tax.rate));
    body.insert("type".into(), json!(tax_kind_name(tax.kind)));
    body.insert("archived".into(), json!(tax.archived));
    for (name, value) in [
        ("code", tax.code),
        ("ingoingTaxAccount", tax.ingoing_tax_account),
        ("outgoingTaxAccount", tax.outgoing_tax_account),
    ] {
        if let Some(value) = value {
            body.insert(name.into(), json!(value));
        }
    }
    Ok(Value::Object(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vat(rate: f64) -> TaxCodeFields {
        TaxCodeFields {
            name: "VAT 25".into(),
            rate,
            kind: TaxKind::Reverse,
            archived: false,
            code: Some("V25".into()),
            ingoing_tax_account: Some("6600".into()),
            outgoing_tax_account: None,
        }
    }

    #[test]
    fn create_body_carries_the_company_and_pleo_spellings() {
        assert_eq!(
            tax_code_body("c1", vat(0.25)).unwrap(),
            json!({"companyId": "c1", "name": "VAT 25", "rate": 0.25, "type": "reverse",
                   "archived": false, "code": "V25", "ingoingTaxAccount": "6600"})
        );
    }

    #[test]
    fn rates_are_fractions() {
        assert!(tax_code_body("c1", vat(0.0)).is_ok());
        assert!(tax_code_body("c1", vat(1.0)).is_ok());
        for bad in [25.0, -0.1, f64::NAN, f64::INFINITY] {
            assert!(tax_code_body("c1", vat(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn search_sends_only_the_filters_given() {
        let none = TaxCodeFilter {
            archived: None,
            code: None,
            tax_code_ids: vec![],
            kind: None,
        };
        assert_eq!(search_body(none).unwrap(), json!({}));
        let some = TaxCodeFilter {
            archived: Some(true),
            code: Some("V25".into()),
            tax_code_ids: vec!["t1".into(), "t1".into()],
            kind: Some(TaxKind::Inclusive),
        };
        assert_eq!(
            search_body(some).unwrap(),
            json!({"archived": true, "code": "V25", "taxCodeIds": ["t1"], "type": "inclusive"})
        );
    }
}
