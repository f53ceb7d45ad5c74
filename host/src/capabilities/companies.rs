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

use super::call::Args;
use super::paging;
use super::table::{GET_COMPANY, LIST_COMPANIES};
use super::{Caps, HostError, PageRequest, WitPage};
use crate::bindings::pleo::plugin::companies_read::Host;

impl Host for Caps {
    async fn list_companies(&mut self, page: PageRequest) -> Result<WitPage, HostError> {
        self.page(
            &LIST_COMPANIES,
            Args::new().page(&page, &paging::CURSOR_OR_OFFSET),
        )
        .await
    }

    async fn get_company(&mut self, company_id: String) -> Result<String, HostError> {
        self.text(&GET_COMPANY, Args::new().id(company_id)).await
    }
}
