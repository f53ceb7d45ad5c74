//! `users-read`: employees. Note the one camelCase `companyId` query parameter of Pleo's API.

use super::call::Args;
use super::paging;
use super::table::{GET_EMPLOYEE, LIST_EMPLOYEES};
use super::{Caps, HostError, PageRequest, WitPage};
use crate::bindings::pleo::plugin::users_read::{EmployeeQuery, Host};

impl Host for Caps {
    async fn list_employees(
        &mut self,
        query: EmployeeQuery,
        page: PageRequest,
    ) -> Result<WitPage, HostError> {
        let args = Args::new()
            .query("companyId", self.company_id.clone())
            .query_opt("email", query.email)
            .query_opt("code", query.code)
            .page(&page, &paging::CURSOR_OR_OFFSET);
        self.page(&LIST_EMPLOYEES, args).await
    }

    async fn get_employee(&mut self, id: String) -> Result<String, HostError> {
        self.text(&GET_EMPLOYEE, Args::new().id(id)).await
    }
}
