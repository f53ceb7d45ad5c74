//! `companies-read`: the companies (entities) the key can see.
//!
//! Listing companies is how a plugin discovers the entities of an organisation key, so neither
//! call names the run's company: `GET /v1/companies` takes only `organization_id`, which the
//! host does not send (Pleo answers with the companies the key can see). Which company the
//! plugin's other requests act for stays governed by the `company` interface.
//!
//! A company is its own owner (`id`): a page listing a company the run may not use is refused
//! like any other company's object (see `ownership`), so with an organisation key and an
//! allowlist narrower than the key, `list-companies` answers `not-allowed`.

use super::ownership::{COMPANY, Returns};
use super::{Caps, HostError, Op, PageRequest, WitPage, checked_id, paged};
use crate::bindings::pleo::plugin::companies_read::Host;
use crate::pleo::ApiRequest;
use crate::scopes::scope_for;

const INTERFACE: &str = "companies-read";
const SCOPE: &str = scope_for(INTERFACE);
/// Pleo documents no maximum for companies; the host keeps pages bounded anyway.
const MAX_PAGE: u32 = 100;

const LIST_COMPANIES: Op = Op {
    interface: INTERFACE,
    function: "list-companies",
    scope: SCOPE,
    method: "GET",
    template: "/v1/companies",
    returns: Returns::Objects(&COMPANY),
    target: None,
};
const GET_COMPANY: Op = Op {
    interface: INTERFACE,
    function: "get-company",
    scope: SCOPE,
    method: "GET",
    template: "/v1/companies/{companyId}",
    returns: Returns::Objects(&COMPANY),
    target: None,
};

impl Host for Caps {
    async fn list_companies(&mut self, page: PageRequest) -> Result<WitPage, HostError> {
        let op = &LIST_COMPANIES;
        self.require(op)?;
        let req = self.refused(op, paged(ApiRequest::get(op.template), &page, MAX_PAGE))?;
        self.page(op, req).await
    }

    async fn get_company(&mut self, company_id: String) -> Result<String, HostError> {
        let op = &GET_COMPANY;
        self.require(op)?;
        let path = checked_id(&company_id).map(|id| format!("/v1/companies/{id}"));
        let req = ApiRequest::get(self.refused(op, path)?);
        self.object(op, req).await
    }
}
