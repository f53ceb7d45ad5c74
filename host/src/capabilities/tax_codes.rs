//! `tax-codes-read` and `tax-codes-write`: tax (VAT) codes. The search takes the company as
//! query `company_id`, create and update as body `companyId`.

use serde_json::{Map, Value, json};

use super::call::Args;
use super::paging;
use super::table::{
    CALCULATE_TAX_AMOUNTS, CREATE_TAX_CODE, DELETE_TAX_CODE, GET_TAX_CODE, SEARCH_TAX_CODES,
    UPDATE_TAX_CODE,
};
use super::{Caps, HostError, PageRequest, WitPage, checks, invalid};
use crate::bindings::pleo::plugin::tax_codes_read::{TaxCodeFilter, TaxedAmount};
use crate::bindings::pleo::plugin::tax_codes_write::TaxCodeFields;
use crate::bindings::pleo::plugin::types::TaxKind;
use crate::bindings::pleo::plugin::{tax_codes_read, tax_codes_write};

/// Pleo documents no maximum for `taxCodeIds`; the host bounds it.
const MAX_IDS: usize = 1000;
/// Pleo documents no maximum for a tax calculation; the host bounds its amounts, the tax codes
/// they name (each an owner lookup with an organisation key) and their labels.
const MAX_AMOUNTS: usize = 1000;
const MAX_CODES: usize = 100;
const MAX_LABEL: usize = 100;

impl tax_codes_read::Host for Caps {
    async fn search_tax_codes(
        &mut self,
        filter: TaxCodeFilter,
        page: PageRequest,
    ) -> Result<WitPage, HostError> {
        let args = Args::new()
            .body(search_body(filter))
            .query("company_id", self.company_id.clone())
            .page(&page, &paging::CURSOR_OR_OFFSET);
        self.page(&SEARCH_TAX_CODES, args).await
    }

    async fn get_tax_code(&mut self, tax_code_id: String) -> Result<String, HostError> {
        self.text(&GET_TAX_CODE, Args::new().id(tax_code_id)).await
    }

    async fn calculate_tax_amounts(
        &mut self,
        amounts: Vec<TaxedAmount>,
    ) -> Result<String, HostError> {
        let args = Args::new().body(calculate_body(amounts));
        self.text(&CALCULATE_TAX_AMOUNTS, args).await
    }
}

/// Builds `CalculateTaxesRequest`: `{amountsByTaxCodeId: {<id>: [{id, amount: {currency,
/// minors}}]}}`, the amounts grouped by tax code in their order.
fn calculate_body(amounts: Vec<TaxedAmount>) -> Result<Value, HostError> {
    if amounts.is_empty() {
        return Err(invalid("name at least one amount".into()));
    }
    checks::at_most("amounts", amounts.len(), MAX_AMOUNTS)?;
    let mut by_code = Map::new();
    for a in amounts {
        super::checked_id(&a.tax_code_id)?;
        checks::text("id", &a.id, 1, MAX_LABEL)?;
        let currency = checks::currency("currency", &a.currency)?;
        let item = json!({"id": a.id, "amount": {"currency": currency, "minors": a.minors}});
        match by_code.get_mut(&a.tax_code_id) {
            Some(Value::Array(items)) => items.push(item),
            _ => {
                checks::at_most("tax codes", by_code.len() + 1, MAX_CODES)?;
                by_code.insert(a.tax_code_id, json!([item]));
            }
        }
    }
    Ok(json!({ "amountsByTaxCodeId": by_code }))
}

impl tax_codes_write::Host for Caps {
    async fn create_tax_code(&mut self, tax_code: TaxCodeFields) -> Result<String, HostError> {
        let args = Args::new().body(tax_code_body(&self.company_id, tax_code));
        self.text(&CREATE_TAX_CODE, args).await
    }

    async fn update_tax_code(
        &mut self,
        tax_code_id: String,
        tax_code: TaxCodeFields,
    ) -> Result<String, HostError> {
        let args = Args::new()
            .id(tax_code_id)
            .body(tax_code_body(&self.company_id, tax_code));
        self.text(&UPDATE_TAX_CODE, args).await
    }

    async fn delete_tax_code(&mut self, tax_code_id: String) -> Result<(), HostError> {
        self.nothing(&DELETE_TAX_CODE, Args::new().id(tax_code_id))
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
    fn a_calculation_groups_amounts_by_tax_code_within_bounds() {
        let amount = |code: &str, id: &str| TaxedAmount {
            tax_code_id: code.into(),
            id: id.into(),
            currency: "dkk".into(),
            minors: 12500,
        };
        assert_eq!(
            calculate_body(vec![
                amount("t1", "a"),
                amount("t2", "b"),
                amount("t1", "c")
            ])
            .unwrap(),
            json!({"amountsByTaxCodeId": {
                "t1": [{"id": "a", "amount": {"currency": "DKK", "minors": 12500}},
                       {"id": "c", "amount": {"currency": "DKK", "minors": 12500}}],
                "t2": [{"id": "b", "amount": {"currency": "DKK", "minors": 12500}}]}})
        );
        assert!(calculate_body(vec![]).is_err());
        assert!(calculate_body(vec![amount("t1", ""); 1]).is_err());
        assert!(calculate_body(vec![amount("../t", "a")]).is_err());
        assert!(calculate_body(vec![amount("t1", "a"); 1001]).is_err());
        assert!(calculate_body(vec![amount("t1", "a"); 1000]).is_ok());
        let codes: Vec<TaxedAmount> = (0..101).map(|i| amount(&format!("t{i}"), "a")).collect();
        assert!(calculate_body(codes).is_err());
        let bad = TaxedAmount {
            currency: "euro".into(),
            ..amount("t1", "a")
        };
        assert!(calculate_body(vec![bad]).is_err());
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
