//! `users-read`: employees. Note the one camelCase `companyId` query parameter of Pleo's API.

use super::{Caps, HostError, PageRequest, WitPage, checked_id, paged};
use crate::bindings::pleo::plugin::users_read::{EmployeeQuery, Host};
use crate::pleo::ApiRequest;

const SCOPE: &str = "users:read";
/// Pleo documents no maximum for employees; the host keeps pages bounded anyway.
const MAX_PAGE: u32 = 100;

impl Host for Caps {
    async fn list_employees(
        &mut self,
        query: EmployeeQuery,
        page: PageRequest,
    ) -> Result<WitPage, HostError> {
        self.require(SCOPE)?;
        let req = ApiRequest::get("/v2/employees")
            .query("companyId", self.company_id.clone())
            .query_opt("email", query.email)
            .query_opt("code", query.code);
        let req = paged(req, &page, MAX_PAGE)?;
        self.page(req).await
    }

    async fn get_employee(&mut self, id: String) -> Result<String, HostError> {
        self.require(SCOPE)?;
        let req = ApiRequest::get(format!("/v2/employees/{}", checked_id(&id)?));
        self.object(req).await
    }
}
