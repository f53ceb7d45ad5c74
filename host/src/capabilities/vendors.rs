//! `vendors-read` and `vendors-write`: vendors (suppliers) are stored per company. The search
//! takes the company as query `company_id` (required there), create and update as body
//! `companyId`; the calls on one vendor name it by id.

use serde_json::{Map, Value, json};

use super::call::Args;
use super::paging;
use super::table::{
    ACTIVATE_VENDOR, ARCHIVE_VENDOR, CREATE_VENDOR, GET_VENDOR, SEARCH_VENDORS, UPDATE_VENDOR,
};
use super::{Caps, HostError, PageRequest, WitPage, checks};
use crate::bindings::pleo::plugin::types::VendorState;
use crate::bindings::pleo::plugin::vendors_read::VendorFilter;
use crate::bindings::pleo::plugin::vendors_write::{NewVendor, VendorUpdate};
use crate::bindings::pleo::plugin::{vendors_read, vendors_write};

/// `VendorSearchRequestV1`: each filter list takes at most 100 values.
const MAX_FILTER: usize = 100;

impl vendors_read::Host for Caps {
    async fn search_vendors(
        &mut self,
        filter: VendorFilter,
        page: PageRequest,
    ) -> Result<WitPage, HostError> {
        let args = Args::new()
            .body(search_body(filter))
            .query("company_id", self.company_id.clone())
            .page(&page, &paging::CURSOR_OR_OFFSET);
        self.page(&SEARCH_VENDORS, args).await
    }

    async fn get_vendor(&mut self, vendor_id: String) -> Result<String, HostError> {
        self.text(&GET_VENDOR, Args::new().id(vendor_id)).await
    }
}

impl vendors_write::Host for Caps {
    async fn create_vendor(&mut self, vendor: NewVendor) -> Result<String, HostError> {
        let args = Args::new().body(new_vendor_body(&self.company_id, vendor));
        self.text(&CREATE_VENDOR, args).await
    }

    async fn update_vendor(
        &mut self,
        vendor_id: String,
        vendor: VendorUpdate,
    ) -> Result<String, HostError> {
        let args = Args::new()
            .id(vendor_id)
            .body(vendor_update_body(&self.company_id, vendor));
        self.text(&UPDATE_VENDOR, args).await
    }

    async fn archive_vendor(&mut self, vendor_id: String) -> Result<(), HostError> {
        self.nothing(&ARCHIVE_VENDOR, Args::new().id(vendor_id))
            .await
    }

    async fn activate_vendor(
        &mut self,
        vendor_id: String,
        external_id: String,
        code: Option<String>,
    ) -> Result<(), HostError> {
        let args = Args::new()
            .id(vendor_id)
            .body(Ok(activate_body(external_id, code)));
        self.nothing(&ACTIVATE_VENDOR, args).await
    }
}

fn vendor_state_name(state: VendorState) -> &'static str {
    match state {
        VendorState::Draft => "DRAFT",
        VendorState::Active => "ACTIVE",
        VendorState::Archived => "ARCHIVED",
    }
}

/// Builds `VendorSearchRequestV1`: only the filters given, each list at most 100 values.
fn search_body(filter: VendorFilter) -> Result<Value, HostError> {
    let mut body = Map::new();
    checks::ids("ids", &filter.ids, MAX_FILTER)?;
    let mut countries = Vec::with_capacity(filter.countries.len());
    for country in &filter.countries {
        countries.push(checks::country("countries", country)?);
    }
    let states: Vec<String> = filter
        .states
        .into_iter()
        .map(|s| vendor_state_name(s).to_owned())
        .collect();
    for (name, values) in [
        ("ids", filter.ids),
        ("codes", filter.codes),
        ("externalIds", filter.external_ids),
        ("states", states),
        ("countries", countries),
        ("taxRegistrationNumbers", filter.tax_registration_numbers),
        ("accountingSystems", filter.accounting_systems),
    ] {
        if values.is_empty() {
            continue;
        }
        checks::at_most(name, values.len(), MAX_FILTER)?;
        body.insert(name.into(), json!(checks::unique(values)));
    }
    if let Some(name) = filter.name {
        body.insert("name".into(), json!(name));
    }
    Ok(Value::Object(body))
}

/// The fields create and update share: `companyId`, `name` (not empty), `defaultCurrency`
/// (ISO 4217, upper-cased).
fn vendor_base(
    company_id: &str,
    name: String,
    currency: &str,
) -> Result<Map<String, Value>, HostError> {
    checks::not_empty("name", &name)?;
    let currency = checks::currency("defaultCurrency", currency)?;
    let mut body = Map::new();
    body.insert("companyId".into(), json!(company_id));
    body.insert("name".into(), json!(name));
    body.insert("defaultCurrency".into(), json!(currency));
    Ok(body)
}

/// Builds `VendorCreateRequest`: `{companyId, name, defaultCurrency, code?, externalId?,
/// country?, registrationNumber?, taxRegistrationNumber?}`.
fn new_vendor_body(company_id: &str, vendor: NewVendor) -> Result<Value, HostError> {
    let mut body = vendor_base(company_id, vendor.name, &vendor.default_currency)?;
    optional_fields(
        &mut body,
        vendor.code,
        vendor.external_id,
        vendor.country,
        vendor.registration_number,
        vendor.tax_registration_number,
    )?;
    Ok(Value::Object(body))
}

/// Builds `VendorUpdateRequest`: `{companyId, name, defaultCurrency, externalId, state, code?,
/// country?, registrationNumber?, taxRegistrationNumber?}`.
fn vendor_update_body(company_id: &str, vendor: VendorUpdate) -> Result<Value, HostError> {
    let mut body = vendor_base(company_id, vendor.name, &vendor.default_currency)?;
    body.insert("externalId".into(), json!(vendor.external_id));
    body.insert("state".into(), json!(vendor_state_name(vendor.state)));
    optional_fields(
        &mut body,
        vendor.code,
        None,
        vendor.country,
        vendor.registration_number,
        vendor.tax_registration_number,
    )?;
    Ok(Value::Object(body))
}

fn optional_fields(
    body: &mut Map<String, Value>,
    code: Option<String>,
    external_id: Option<String>,
    country: Option<String>,
    registration_number: Option<String>,
    tax_registration_number: Option<String>,
) -> Result<(), HostError> {
    let country = country
        .map(|c| checks::country("country", &c))
        .transpose()?;
    for (name, value) in [
        ("code", code),
        ("externalId", external_id),
        ("country", country),
        ("registrationNumber", registration_number),
        ("taxRegistrationNumber", tax_registration_number),
    ] {
        if let Some(value) = value {
            body.insert(name.into(), json!(value));
        }
    }
    Ok(())
}

/// Builds `ActivateVendorEventRequest`: `{externalId, code?}`.
fn activate_body(external_id: String, code: Option<String>) -> Value {
    let mut body = Map::new();
    body.insert("externalId".into(), json!(external_id));
    if let Some(code) = code {
        body.insert("code".into(), json!(code));
    }
    Value::Object(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty_filter() -> VendorFilter {
        VendorFilter {
            ids: vec![],
            codes: vec![],
            external_ids: vec![],
            name: None,
            states: vec![],
            countries: vec![],
            tax_registration_numbers: vec![],
            accounting_systems: vec![],
        }
    }

    #[test]
    fn search_sends_only_the_filters_given() {
        assert_eq!(search_body(empty_filter()).unwrap(), json!({}));
        let filter = VendorFilter {
            ids: vec!["v1".into()],
            codes: vec!["K1".into(), "K1".into()],
            external_ids: vec!["X".into()],
            name: Some("Acme".into()),
            states: vec![VendorState::Draft, VendorState::Archived],
            countries: vec!["dk".into()],
            tax_registration_numbers: vec!["DK12345678".into()],
            accounting_systems: vec!["economic".into()],
        };
        assert_eq!(
            search_body(filter).unwrap(),
            json!({"ids": ["v1"], "codes": ["K1"], "externalIds": ["X"], "name": "Acme",
                   "states": ["DRAFT", "ARCHIVED"], "countries": ["DK"],
                   "taxRegistrationNumbers": ["DK12345678"], "accountingSystems": ["economic"]})
        );
    }

    #[test]
    fn search_refuses_what_pleo_would() {
        let mut filter = empty_filter();
        filter.codes = (0..101).map(|i| i.to_string()).collect();
        assert!(search_body(filter).is_err());
        let mut filter = empty_filter();
        filter.accounting_systems = (0..101).map(|i| i.to_string()).collect();
        assert!(search_body(filter).is_err());
        let mut filter = empty_filter();
        filter.countries = vec!["Denmark".into()];
        assert!(search_body(filter).is_err());
        let mut filter = empty_filter();
        filter.ids = vec!["a/b".into()];
        assert!(search_body(filter).is_err());
    }

    #[test]
    fn create_and_update_carry_the_company_in_the_body() {
        let new = NewVendor {
            name: "Acme ApS".into(),
            default_currency: "dkk".into(),
            code: None,
            external_id: Some("ERP-7".into()),
            country: Some("DK".into()),
            registration_number: None,
            tax_registration_number: Some("DK12345678".into()),
        };
        assert_eq!(
            new_vendor_body("c1", new).unwrap(),
            json!({"companyId": "c1", "name": "Acme ApS", "defaultCurrency": "DKK",
                   "externalId": "ERP-7", "country": "DK", "taxRegistrationNumber": "DK12345678"})
        );
        let update = VendorUpdate {
            name: "Acme ApS".into(),
            default_currency: "EUR".into(),
            external_id: "ERP-7".into(),
            state: VendorState::Active,
            code: Some("V7".into()),
            country: None,
            registration_number: None,
            tax_registration_number: None,
        };
        assert_eq!(
            vendor_update_body("c1", update).unwrap(),
            json!({"companyId": "c1", "name": "Acme ApS", "defaultCurrency": "EUR",
                   "externalId": "ERP-7", "state": "ACTIVE", "code": "V7"})
        );
        let bad = NewVendor {
            name: "Acme".into(),
            default_currency: "Euro".into(),
            code: None,
            external_id: None,
            country: None,
            registration_number: None,
            tax_registration_number: None,
        };
        assert!(new_vendor_body("c1", bad).is_err());
    }

    #[test]
    fn activation_names_the_external_id() {
        assert_eq!(
            activate_body("ERP-7".into(), None),
            json!({"externalId": "ERP-7"})
        );
        assert_eq!(
            activate_body("ERP-7".into(), Some("V7".into())),
            json!({"externalId": "ERP-7", "code": "V7"})
        );
    }
}
