//! `users-read`: employees. Note the one camelCase `companyId` query parameter of Pleo's API.

use super::ownership::{EMPLOYEE, Returns};
use super::{Caps, HostError, Op, PageRequest, WitPage, checked_id, paged};
use crate::bindings::pleo::plugin::users_read::{EmployeeQuery, Host};
use crate::pleo::ApiRequest;

const INTERFACE: &str = "users-read";
const SCOPE: &str = "users:read";
/// Pleo documents no maximum for employees; the host keeps pages bounded anyway.
const MAX_PAGE: u32 = 100;

const LIST_EMPLOYEES: Op = Op {
    interface: INTERFACE,
    function: "list-employees",
    scope: SCOPE,
    method: "GET",
    template: "/v2/employees",
    returns: Returns::Objects(&EMPLOYEE),
    target: None,
};
const GET_EMPLOYEE: Op = Op {
    interface: INTERFACE,
    function: "get-employee",
    scope: SCOPE,
    method: "GET",
    template: "/v2/employees/{employeeId}",
    returns: Returns::Objects(&EMPLOYEE),
    target: None,
};

impl Host for Caps {
    async fn list_employees(
        &mut self,
        query: EmployeeQuery,
        page: PageRequest,
    ) -> Result<WitPage, HostError> {
        let op = &LIST_EMPLOYEES;
        self.require(op)?;
        let req = ApiRequest::get(op.template)
            .query("companyId", self.company_id.clone())
            .query_opt("email", query.email)
            .query_opt("code", query.code);
        let req = self.refused(op, paged(req, &page, MAX_PAGE))?;
        self.page(op, req).await
    }

    async fn get_employee(&mut self, id: String) -> Result<String, HostError> {
        let op = &GET_EMPLOYEE;
        self.require(op)?;
        let path = checked_id(&id).map(|id| format!("/v2/employees/{id}"));
        let req = ApiRequest::get(self.refused(op, path)?);
        self.object(op, req).await
    }
}
