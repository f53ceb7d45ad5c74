//! The scope Pleo requires on each route, written from Pleo's scope pages (see `pleo-api.md`
//! §2 in the project's shared notes) and nowhere else: the mock takes nothing from the host's
//! own table, so a host test can compare the two and catch a wrong spelling on either side.
//!
//! The check is made once, in the auth middleware, from the route axum matched: a route missing
//! from [`ROUTES`] is refused for every key (a test checks that every route is listed).

/// One route: method, path as the mock's router spells it, and the scope a key needs
/// (`None`: any valid key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub scope: Option<&'static str>,
}

const fn r(method: &'static str, path: &'static str, scope: &'static str) -> Route {
    Route {
        method,
        path,
        scope: Some(scope),
    }
}

const fn open(method: &'static str, path: &'static str) -> Route {
    Route {
        method,
        path,
        scope: None,
    }
}

const USERS_READ: &str = "users:read";
const COMPANIES_READ: &str = "companies:read";
const ENTRIES_READ: &str = "accounting-entries:read";
const JOBS_READ: &str = "export-jobs:read";
const JOBS_WRITE: &str = "export-jobs:write";
const ITEMS_READ: &str = "export-items:read";
const VENDORS_READ: &str = "vendors:read";
const VENDORS_WRITE: &str = "vendors:write";
const ACCOUNTS_READ: &str = "accounts:read";
const ACCOUNTS_WRITE: &str = "accounts:write";
// Pleo's staging list spells these `tag-groups:*`, a third-party production list
// `tag-group:*` (unverified, pleo-api.md §2); the routes use staging's, [`Spelling`] the other.
const TAGS_READ: &str = "tag-groups:read";
const TAGS_WRITE: &str = "tag-groups:write";

/// How the mock spells its scopes: as Pleo's staging or its production environment (they
/// differ for tags, see above). Set by `[mock] scope_spelling` or `mock-api --scope-spelling`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Spelling {
    #[default]
    Staging,
    Production,
}

/// Production's spelling of the scopes whose spelling differs from staging's.
const PRODUCTION: &[(&str, &str)] = &[
    (TAGS_READ, "tag-group:read"),
    (TAGS_WRITE, "tag-group:write"),
];

impl Spelling {
    /// `scope` (as [`ROUTES`] spells it) in this environment's spelling.
    pub fn spell(self, scope: &'static str) -> &'static str {
        match self {
            Spelling::Staging => scope,
            Spelling::Production => PRODUCTION
                .iter()
                .find(|(staging, _)| *staging == scope)
                .map_or(scope, |(_, production)| production),
        }
    }

    /// Every scope some route needs, in this spelling.
    pub fn all(self) -> Vec<&'static str> {
        all().into_iter().map(|s| self.spell(s)).collect()
    }
}

impl std::str::FromStr for Spelling {
    type Err = String;
    fn from_str(s: &str) -> Result<Spelling, String> {
        match s {
            "staging" => Ok(Spelling::Staging),
            "production" => Ok(Spelling::Production),
            other => Err(format!(
                "`{other}` is not a scope spelling (staging or production)"
            )),
        }
    }
}
const TAX_CODES_READ: &str = "tax-codes:read";
const TAX_CODES_WRITE: &str = "tax-codes:write";

/// Every route the mock serves.
pub const ROUTES: &[Route] = &[
    open("GET", "/v1/introspect"),
    open("GET", "/v1/installations/me"),
    r("GET", "/v1/companies", COMPANIES_READ),
    r("GET", "/v1/companies/{company_id}", COMPANIES_READ),
    r("GET", "/v2/employees", USERS_READ),
    r("GET", "/v2/employees/{employee_id}", USERS_READ),
    r("POST", "/v1/accounting-entries:search", ENTRIES_READ),
    r("GET", "/v1/accounting-entries/{entry_id}", ENTRIES_READ),
    r(
        "GET",
        "/v1/accounting-entries/{entry_id}/core",
        ENTRIES_READ,
    ),
    r(
        "POST",
        "/v1/accounting-entries/receipts:search",
        ENTRIES_READ,
    ),
    r(
        "GET",
        "/v1/accounting-entries/{entry_id}/receipts",
        ENTRIES_READ,
    ),
    r(
        "GET",
        "/v1/accounting-entries/{entry_id}/receipts/{receipt_id}",
        ENTRIES_READ,
    ),
    r("GET", "/v3/export-jobs", JOBS_READ),
    r("POST", "/v3/export-jobs", JOBS_WRITE),
    r("GET", "/v3/export-jobs/{job_id}", JOBS_READ),
    r("GET", "/v3/export-jobs/{job_id}/items", JOBS_READ),
    r("PUT", "/v3/export-jobs/{job_id}/items", JOBS_WRITE),
    r("POST", "/v3/export-job-events", JOBS_WRITE),
    r("GET", "/v3/export-job-items", JOBS_READ),
    r("GET", "/v3/export-items", ITEMS_READ),
    r("POST", "/v1/vendors:search", VENDORS_READ),
    r("GET", "/v1/vendors/{vendor_id}", VENDORS_READ),
    r("POST", "/v1/vendors", VENDORS_WRITE),
    r("PUT", "/v1/vendors/{vendor_id}", VENDORS_WRITE),
    // `{id}:archive` and `{id}:activate`: the router matches them as one id segment.
    r("POST", "/v1/vendors/{vendor_id}", VENDORS_WRITE),
    r("POST", "/v1/vendors/csv-import/jobs", VENDORS_WRITE),
    r("POST", "/v1/vendors/csv-import/jobs:search", VENDORS_READ),
    r("GET", "/v1/vendors/csv-import/jobs/{job_id}", VENDORS_READ),
    // `{id}:run` and `{id}:get-presigned-url`, matched as one id segment.
    r(
        "POST",
        "/v1/vendors/csv-import/jobs/{job_id}",
        VENDORS_WRITE,
    ),
    r(
        "GET",
        "/v1/vendors/csv-import/jobs/{job_id}/errors",
        VENDORS_READ,
    ),
    r(
        "PUT",
        "/v1/vendors/csv-import/jobs/{job_id}/metadata",
        VENDORS_WRITE,
    ),
    r(
        "PUT",
        "/v1/vendors/csv-import/jobs/{job_id}/status",
        VENDORS_WRITE,
    ),
    r("POST", "/v1/chart-of-accounts:search", ACCOUNTS_READ),
    r("GET", "/v1/chart-of-accounts/{account_id}", ACCOUNTS_READ),
    r("POST", "/v1/chart-of-accounts", ACCOUNTS_WRITE),
    r("POST", "/v1/chart-of-accounts/batch", ACCOUNTS_WRITE),
    r("PUT", "/v1/chart-of-accounts/{account_id}", ACCOUNTS_WRITE),
    r(
        "DELETE",
        "/v1/chart-of-accounts/{account_id}",
        ACCOUNTS_WRITE,
    ),
    r("GET", "/v0/tag-groups", TAGS_READ),
    r("POST", "/v0/tag-groups", TAGS_WRITE),
    r("GET", "/v0/tag-groups/{group_id}", TAGS_READ),
    r("PUT", "/v0/tag-groups/{group_id}", TAGS_WRITE),
    r("GET", "/v0/tag-groups/{group_id}/tags", TAGS_READ),
    r("POST", "/v0/tag-groups/{group_id}/tags", TAGS_WRITE),
    r("GET", "/v0/tags/{tag_id}", TAGS_READ),
    r("GET", "/v0/tag-groups/{group_id}/usage", TAGS_READ),
    r("POST", "/v0/tags:search", TAGS_READ),
    r("PUT", "/v0/tags/{tag_id}", TAGS_WRITE),
    r("DELETE", "/v0/tag-groups/{group_id}", TAGS_WRITE),
    r("DELETE", "/v0/tags/{tag_id}", TAGS_WRITE),
    r("DELETE", "/v0/tags", TAGS_WRITE),
    r("POST", "/v0/tags/archive", TAGS_WRITE),
    r("GET", "/v0/aggregations/tag-groups", TAGS_READ),
    r("POST", "/v0/aggregations/tags", TAGS_READ),
    r("GET", "/v0/tag-groups/{group_id}/dimensions", TAGS_READ),
    r("POST", "/v0/tag-groups/{group_id}/dimensions", TAGS_WRITE),
    r(
        "GET",
        "/v0/tag-groups/{group_id}/dimensions/{dimension_id}",
        TAGS_READ,
    ),
    r(
        "PUT",
        "/v0/tag-groups/{group_id}/dimensions/{dimension_id}",
        TAGS_WRITE,
    ),
    r(
        "DELETE",
        "/v0/tag-groups/{group_id}/dimensions/{dimension_id}",
        TAGS_WRITE,
    ),
    r("GET", "/v0/tags/{tag_id}/dimensions", TAGS_READ),
    r(
        "GET",
        "/v0/tags/{tag_id}/dimensions/{dimension_id}",
        TAGS_READ,
    ),
    r(
        "POST",
        "/v0/tags/{tag_id}/dimensions/{dimension_id}",
        TAGS_WRITE,
    ),
    r(
        "PUT",
        "/v0/tags/{tag_id}/dimensions/{dimension_id}",
        TAGS_WRITE,
    ),
    r(
        "DELETE",
        "/v0/tags/{tag_id}/dimensions/{dimension_id}",
        TAGS_WRITE,
    ),
    r("POST", "/v0/tax-codes:search", TAX_CODES_READ),
    r(
        "POST",
        "/v0/tax-codes:calculate-tax-amounts",
        TAX_CODES_READ,
    ),
    r("GET", "/v0/tax-codes/{tax_code_id}", TAX_CODES_READ),
    r("POST", "/v0/tax-codes", TAX_CODES_WRITE),
    r("PUT", "/v0/tax-codes/{tax_code_id}", TAX_CODES_WRITE),
    r("DELETE", "/v0/tax-codes/{tax_code_id}", TAX_CODES_WRITE),
];

/// What a request on a matched route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Any valid key.
    Key,
    Scope(&'static str),
    /// The path is served, but not with this method: let the router answer 404.
    OtherMethod,
    /// The route is not listed: refused for every key.
    Unlisted,
}

/// The rule for `method` on the route the router matched (its template, as in [`ROUTES`]).
pub fn needs(method: &str, matched: &str) -> Needs {
    let mut path_known = false;
    for route in ROUTES.iter().filter(|r| r.path == matched) {
        path_known = true;
        if route.method.eq_ignore_ascii_case(method) {
            return route.scope.map_or(Needs::Key, Needs::Scope);
        }
    }
    if path_known {
        Needs::OtherMethod
    } else {
        Needs::Unlisted
    }
}

/// The scope the mock requires for `method` on a concrete path (`/v1/vendors/<id>:archive`),
/// matching segments as the router does (a `{…}` segment takes any one segment, a literal
/// segment wins over a placeholder). `None` if no route matches; `Some(None)` for routes any
/// valid key may call.
pub fn scope_for_path(method: &str, path: &str) -> Option<Option<&'static str>> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    ROUTES
        .iter()
        .filter(|r| r.method.eq_ignore_ascii_case(method))
        .filter_map(|r| {
            let pattern: Vec<&str> = r.path.trim_start_matches('/').split('/').collect();
            if pattern.len() != segments.len() {
                return None;
            }
            let mut literals = 0;
            for (p, s) in pattern.iter().zip(&segments) {
                if p.starts_with('{') && p.ends_with('}') {
                    if s.is_empty() {
                        return None;
                    }
                } else if p == s {
                    literals += 1;
                } else {
                    return None;
                }
            }
            Some((literals, r.scope))
        })
        .max_by_key(|(literals, _)| *literals)
        .map(|(_, scope)| scope)
}

/// Every scope some route needs, each once, in table order.
pub fn all() -> Vec<&'static str> {
    let mut scopes: Vec<&'static str> = Vec::new();
    for scope in ROUTES.iter().filter_map(|r| r.scope) {
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    scopes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concrete_paths_find_their_route() {
        let id = "0b0e4c2e-8a8f-4a55-9d7c-2f1f0e0c0a01";
        for (method, path, scope) in [
            ("GET", format!("/v2/employees/{id}"), Some("users:read")),
            (
                "POST",
                format!("/v1/vendors/{id}:archive"),
                Some("vendors:write"),
            ),
            (
                "POST",
                "/v1/chart-of-accounts/batch".into(),
                Some("accounts:write"),
            ),
            ("GET", "/v1/introspect".into(), None),
        ] {
            assert_eq!(
                scope_for_path(method, &path),
                Some(scope),
                "{method} {path}"
            );
        }
        assert_eq!(scope_for_path("GET", "/v9/nothing"), None);
        assert_eq!(scope_for_path("DELETE", "/v2/employees/x"), None);
        assert_eq!(scope_for_path("GET", "/v2/employees/"), None);
    }

    #[test]
    fn needs_distinguishes_unknown_methods_from_unlisted_routes() {
        assert_eq!(needs("GET", "/v2/employees"), Needs::Scope("users:read"));
        assert_eq!(needs("get", "/v1/introspect"), Needs::Key);
        assert_eq!(needs("DELETE", "/v2/employees"), Needs::OtherMethod);
        assert_eq!(needs("GET", "/v7/unlisted"), Needs::Unlisted);
    }

    #[test]
    fn production_spells_only_the_tag_scopes_its_own_way() {
        let staging = Spelling::Staging.all();
        let production = Spelling::Production.all();
        assert_eq!(staging, all());
        let differ: Vec<(&str, &str)> = staging
            .iter()
            .zip(&production)
            .filter(|(a, b)| a != b)
            .map(|(a, b)| (*a, *b))
            .collect();
        assert_eq!(
            differ,
            [
                ("tag-groups:read", "tag-group:read"),
                ("tag-groups:write", "tag-group:write")
            ]
        );
        assert_eq!("production".parse(), Ok(Spelling::Production));
        assert!("prod".parse::<Spelling>().unwrap_err().contains("`prod`"));
    }

    #[test]
    fn every_route_is_listed_once() {
        for (i, a) in ROUTES.iter().enumerate() {
            assert!(
                !ROUTES[..i]
                    .iter()
                    .any(|b| b.method == a.method && b.path == a.path),
                "{} {} twice",
                a.method,
                a.path
            );
        }
    }
}
