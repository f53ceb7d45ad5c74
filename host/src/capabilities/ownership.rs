//! Which company owns what a plugin reads or changes (DESIGN.md, non-negotiable 8).
//!
//! The host injects the run's company into every request that names one, but many calls name
//! one object by id (`get-employee`, `update-vendor`, receipts of an entry, ...) and an
//! organisation key reaches the objects of all its companies. So the owner is checked against
//! the run's allowed companies where it shows, driven by two fields of every row of the call
//! table ([`Op`]):
//!
//! * `returns`: what the answer holds. [`Returns::Objects`] names the [`Kind`] of the object
//!   (or of every item of a page or list), and the kind says where its owner is: its own
//!   `companyId` (`id` for a company), or the id of a parent object whose owner is looked up.
//!   An object whose owner field is missing, or is not a string, is refused: Pleo documents the
//!   field as required on every one of these models, so an answer without it is not what the
//!   host can vouch for. [`Returns::Unowned`] marks the answers that carry no owner; each such
//!   `Op` says in a comment why it is safe (the request names the run's company, or the object
//!   named by the request was checked first).
//! * `target`: the existing object a call acts on, named by id in the path or body. Its owner
//!   is learned (one `GET` by id, counted against the run's API budget and audited as
//!   `owner-check`) and checked BEFORE the call is sent, so a write on another company's object
//!   never reaches Pleo.
//!
//! Lookups (of targets, and of parents of objects without a company field) are only needed
//! when the key reaches more than one company. A key bound to one company (introspection named
//! it) whose company is allowed for the run reaches nothing else: Pleo refuses the rest, so
//! the host skips the extra request. The company fields of answers are still checked, as
//! they cost no request.
//!
//! Owners learned are kept for the run (bounded), so an entry listed by a company-filtered
//! search needs no lookup before its receipts are listed.

use std::borrow::Cow;
use std::collections::HashMap;
use std::time::Instant;

use pleo_scan::Owned;
use serde_json::Value;

use super::call::{Answer, fill};
use super::read_ahead::{self, Fetched};
use super::table::{Method, Op};
use super::{Caps, HostError, PleoError, host_outcome};
use crate::audit::Call;
use crate::pleo::{self, ApiRequest};

/// A kind of Pleo object, and how to learn which company owns one.
pub(crate) struct Kind {
    /// What the refusal calls it: `employee`, `vendor`, ...
    pub name: &'static str,
    /// `GET` path of one object by id (`{id}` stands for it), when Pleo has one.
    pub get: Option<&'static str>,
    pub owner: Owner,
}

/// Where an object says who owns it.
pub(crate) enum Owner {
    /// This field holds the owning company's id.
    Company(&'static str),
    /// This field holds the id of a parent object (of that kind), whose owner owns this one.
    Parent(&'static str, &'static Kind),
}

/// What a successful answer holds, for the owner check.
pub(crate) enum Returns {
    /// One object of this kind, or a page or list of them: every one is checked.
    Objects(&'static Kind),
    /// Nothing with an owner to check (no body, or the `Op` explains why the answer is safe).
    Unowned,
}

/// The existing object a call acts on; checked before the call is sent.
pub(crate) struct Target {
    pub kind: &'static Kind,
    pub id: IdAt,
}

/// Where a request names its target's id.
pub(crate) enum IdAt {
    /// The path segment of this placeholder of the `Op`'s template (`{id}` is `"id"`).
    Path(&'static str),
    /// This string field of the JSON body.
    Body(&'static str),
    /// Every string of this array field of the JSON body: a bulk call (`tagIds`).
    BodyList(&'static str),
    /// Every key of this object field of the JSON body (`amountsByTaxCodeId`).
    BodyKeys(&'static str),
}

pub(crate) const COMPANY: Kind = Kind {
    name: "company",
    get: Some("/v1/companies/{id}"),
    owner: Owner::Company("id"),
};
pub(crate) const EMPLOYEE: Kind = Kind {
    name: "employee",
    get: Some("/v2/employees/{id}"),
    owner: Owner::Company("companyId"),
};
pub(crate) const ENTRY: Kind = Kind {
    name: "accounting entry",
    get: Some("/v1/accounting-entries/{id}"),
    owner: Owner::Company("companyId"),
};
/// `ReceiptModel` has no company, only `accountingEntryId`.
pub(crate) const RECEIPT: Kind = Kind {
    name: "receipt",
    get: None,
    owner: Owner::Parent("accountingEntryId", &ENTRY),
};
pub(crate) const EXPORT_JOB: Kind = Kind {
    name: "export job",
    get: Some("/v3/export-jobs/{id}"),
    owner: Owner::Company("companyId"),
};
/// `ExportJobItemV3` has no company, only `exportJobId`.
pub(crate) const EXPORT_JOB_ITEM: Kind = Kind {
    name: "export job item",
    get: None,
    owner: Owner::Parent("exportJobId", &EXPORT_JOB),
};
pub(crate) const EXPORT_ITEM: Kind = Kind {
    name: "export item",
    get: None,
    owner: Owner::Company("companyId"),
};
pub(crate) const VENDOR: Kind = Kind {
    name: "vendor",
    get: Some("/v1/vendors/{id}"),
    owner: Owner::Company("companyId"),
};
pub(crate) const IMPORT_JOB: Kind = Kind {
    name: "vendor import job",
    get: Some("/v1/vendors/csv-import/jobs/{id}"),
    owner: Owner::Company("companyId"),
};
/// `CsvRowImportErrorV1` has no company, only `csvImportJobId`.
pub(crate) const IMPORT_ROW_ERROR: Kind = Kind {
    name: "vendor import error",
    get: None,
    owner: Owner::Parent("csvImportJobId", &IMPORT_JOB),
};
pub(crate) const ACCOUNT: Kind = Kind {
    name: "account",
    get: Some("/v1/chart-of-accounts/{id}"),
    owner: Owner::Company("companyId"),
};
pub(crate) const TAG_GROUP: Kind = Kind {
    name: "tag group",
    get: Some("/v0/tag-groups/{id}"),
    owner: Owner::Company("companyId"),
};
/// `TagModel` has no company, only `groupId`.
pub(crate) const TAG: Kind = Kind {
    name: "tag",
    get: Some("/v0/tags/{id}"),
    owner: Owner::Parent("groupId", &TAG_GROUP),
};
/// `TagGroupDimensionModel` has no company, only `groupId`; Pleo reads one only by its group
/// and its own id, so it is never looked up (operations on one name the group first).
pub(crate) const TAG_GROUP_DIMENSION: Kind = Kind {
    name: "tag group dimension",
    get: None,
    owner: Owner::Parent("groupId", &TAG_GROUP),
};
/// `TagDimensionValueModel` has no id nor company, only `tagId` and `dimensionId`.
pub(crate) const TAG_DIMENSION_VALUE: Kind = Kind {
    name: "tag dimension value",
    get: None,
    owner: Owner::Parent("tagId", &TAG),
};
/// `AggregatedTagModel` carries its company, unlike `TagModel`. Same name as [`TAG`]: an
/// owner learned from either is the tag's.
pub(crate) const AGGREGATED_TAG: Kind = Kind {
    name: "tag",
    get: None,
    owner: Owner::Company("companyId"),
};
pub(crate) const TAX_CODE: Kind = Kind {
    name: "tax code",
    get: Some("/v0/tax-codes/{id}"),
    owner: Owner::Company("companyId"),
};

/// Most owners remembered per run; past it, objects are looked up again when needed.
const MAX_KNOWN: usize = 20_000;

/// The run's owner bookkeeping.
pub(crate) struct Owners {
    /// Whether ids must be looked up to learn owners (the key reaches several companies).
    pub lookups: bool,
    /// `kind name` + `id` → owning company.
    known: HashMap<(&'static str, String), String>,
}

impl Owners {
    /// `key_company`: the company introspection bound the key to, if any.
    pub fn new(key_company: Option<&str>, allowed: &[String]) -> Owners {
        // A key bound to one allowed company reaches only that company's objects: Pleo itself
        // refuses the rest, so no lookups. Any other key (an organisation key, or a key bound
        // to a company the run is not allowed) may reach objects of a company not allowed.
        let bound_to_allowed = key_company.is_some_and(|k| allowed.iter().any(|a| a == k));
        Owners {
            lookups: !bound_to_allowed,
            known: HashMap::new(),
        }
    }

    pub fn known(&self, kind: &Kind, id: &str) -> Option<&str> {
        self.known
            .get(&(kind.name, id.to_owned()))
            .map(String::as_str)
    }

    pub fn learn(&mut self, kind: &Kind, id: &str, company: &str) {
        if self.known.len() < MAX_KNOWN {
            self.known
                .insert((kind.name, id.to_owned()), company.to_owned());
        }
    }
}

/// What one object says of its owner.
pub(crate) enum Found<'a> {
    /// Its company.
    Company(&'a str),
    /// The id of its parent, of that kind.
    Parent(&'a str, &'static Kind),
    /// Nothing usable: the field is missing or not a string.
    Missing,
}

pub(crate) fn owner_field<'a>(kind: &Kind, object: &'a Value) -> Found<'a> {
    let (field, parent) = match kind.owner {
        Owner::Company(field) => (field, None),
        Owner::Parent(field, parent) => (field, Some(parent)),
    };
    match (object.get(field).and_then(Value::as_str), parent) {
        (Some(company), None) => Found::Company(company),
        (Some(id), Some(parent)) => Found::Parent(id, parent),
        (None, _) => Found::Missing,
    }
}

/// Longest chain of parents followed to find an owner (a tag's group is the deepest: 2).
const MAX_HOPS: usize = 4;

impl Caps {
    /// Before a call that acts on an existing object: the object's owner must be allowed, or
    /// the call is refused and nothing is sent.
    pub(super) async fn check_target(
        &mut self,
        op: &Op,
        req: &ApiRequest,
    ) -> Result<(), HostError> {
        let Some(target) = &op.target else {
            return Ok(());
        };
        if !self.owners.lookups {
            return Ok(());
        }
        let ids = target_ids(op.template, &req.path, req.body.as_ref(), &target.id);
        if ids.is_empty() {
            // The family built the request from this very template: a host bug, refused.
            return self.refuse(op, no_owner(target.kind));
        }
        // A bulk call's ids are bounded by its family (at most 100 tags); each is one lookup.
        for id in ids {
            let company = self.owner_of(op, target.kind, &id).await?;
            if !self.is_allowed(&company) {
                return self.refuse(op, other_company(target.kind));
            }
        }
        Ok(())
    }

    /// After a successful answer: every object in it must belong to an allowed company, or
    /// the whole answer is dropped and the plugin gets `not-allowed`.
    pub(super) async fn check_answer(&mut self, op: &Op, answer: &Answer) -> Result<(), HostError> {
        let Some(field) = op.owner_field() else {
            return Ok(());
        };
        let text = match answer {
            Answer::Page(page) => &page.data,
            Answer::Text(text) => text,
            Answer::Nothing => return Ok(()),
        };
        self.check_owned(op, objects(text, field)?).await
    }

    /// Every object of an answer (read by `pleo_scan` for the row's owner field) must belong
    /// to an allowed company.
    pub(super) async fn check_owned(
        &mut self,
        op: &Op,
        objects: Vec<Owned<'_>>,
    ) -> Result<(), HostError> {
        let Returns::Objects(kind) = op.returns else {
            return Ok(());
        };
        let parent = match kind.owner {
            Owner::Company(_) => None,
            Owner::Parent(_, parent) => Some(parent),
        };
        for object in objects {
            let company: Cow<str> = match (object.owner, parent) {
                (Some(company), None) => company,
                // A key that reaches one allowed company only: the parent is that company's.
                (_, Some(_)) if !self.owners.lookups => continue,
                (Some(id), Some(parent)) => self.owner_of(op, parent, &id).await?.into(),
                (None, _) => return Err(no_owner(kind)),
            };
            if !self.is_allowed(&company) {
                return Err(other_company(kind));
            }
            // Only lookups read what was learned: a key bound to the run's company needs none.
            if self.owners.lookups
                && let Some(id) = object.id
            {
                self.owners.learn(kind, &id, &company);
            }
        }
        Ok(())
    }

    fn is_allowed(&self, company: &str) -> bool {
        self.allowed_companies.iter().any(|c| c == company)
    }

    /// Audits a call refused before it was sent and passes the refusal on.
    fn refuse(&mut self, op: &Op, refusal: HostError) -> Result<(), HostError> {
        self.record(Call {
            interface: op.interface_name(),
            function: op.function,
            scope: Some(op.scope()),
            outcome: host_outcome(&refusal),
            ..Call::default()
        });
        Err(refusal)
    }

    /// The company owning object `id` of `kind`: remembered, or looked up (following parents).
    async fn owner_of(
        &mut self,
        op: &Op,
        kind: &'static Kind,
        id: &str,
    ) -> Result<String, HostError> {
        let mut seen: Vec<(&'static Kind, String)> = Vec::new();
        let (mut kind, mut id) = (kind, id.to_owned());
        for _ in 0..MAX_HOPS {
            if let Some(company) = self.owners.known(kind, &id) {
                let company = company.to_owned();
                for (kind, id) in seen {
                    self.owners.learn(kind, &id, &company);
                }
                return Ok(company);
            }
            let object = self.look_up(op, kind, &id).await?;
            let next = match owner_field(kind, &object) {
                Found::Company(company) => Err(company.to_owned()),
                Found::Parent(parent_id, parent) => Ok((parent, parent_id.to_owned())),
                Found::Missing => return Err(no_owner(kind)),
            };
            seen.push((kind, id));
            match next {
                Ok((parent, parent_id)) => (kind, id) = (parent, parent_id),
                Err(company) => {
                    for (kind, id) in seen {
                        self.owners.learn(kind, &id, &company);
                    }
                    return Ok(company);
                }
            }
        }
        Err(no_owner(kind))
    }

    /// Fetches one object by id to learn its owner: counted against the run's budget, audited
    /// as `owner-check` under the plugin's call. The plugin never sees the object.
    async fn look_up(
        &mut self,
        op: &Op,
        kind: &'static Kind,
        id: &str,
    ) -> Result<Value, HostError> {
        let Some(template) = kind.get else {
            return Err(no_owner(kind));
        };
        // Ids come from the plugin or from Pleo's answers: either way checked before a path.
        let path = fill(template, &[id]).map_err(|_| no_owner(kind))?;
        self.spend_call()?;
        let req = ApiRequest::get(path);
        let started = Instant::now();
        let Fetched { reply, retries } = read_ahead::fetch(&self.client, &req).await;
        let object = reply.and_then(|reply| {
            let text = pleo::decode_object(&reply.body)?;
            Ok((reply.status, text))
        });
        let mut call = Call {
            interface: op.interface_name(),
            function: op.function,
            scope: Some(op.scope()),
            // The path `fill` made the request from.
            http: Some((Method::Get.as_str(), template)),
            latency: started.elapsed(),
            retries,
            outcome: "owner-check",
            ..Call::default()
        };
        self.totals.api_calls += 1;
        let result = match object {
            Ok((status, text)) => {
                call.status = Some(status);
                serde_json::from_str(&text).map_err(|_| no_owner(kind))
            }
            Err(e) => {
                if let pleo::ApiError::Status { status, code, .. } = &e {
                    call.status = Some(*status);
                    call.error_type = Some(code.clone());
                }
                let err = self.api_error(e);
                call.outcome = host_outcome(&err);
                Err(err)
            }
        };
        // Not a host call of its own: the plugin's call is recorded after it.
        self.totals.retries += call.retries;
        if let Some(audit) = &self.audit {
            audit.call(&call);
        }
        result
    }
}

/// The objects of an answer's JSON text (the items of an array, or the one object), each as
/// its `id` and its `owner_field` (see `pleo_scan`).
pub(crate) fn objects<'a>(text: &'a str, owner_field: &str) -> Result<Vec<Owned<'a>>, HostError> {
    pleo_scan::objects(text, owner_field).map_err(|_| {
        not_allowed("the answer is not a JSON object or array, so its owner cannot be checked")
    })
}

/// The id a request names its target by, from the path (matched against the template) or body.
pub(crate) fn target_id(
    template: &str,
    path: &str,
    body: Option<&Value>,
    at: &IdAt,
) -> Option<String> {
    match at {
        IdAt::Body(field) => body?.get(field)?.as_str().map(str::to_owned),
        // Several objects: see `target_ids`.
        IdAt::BodyList(_) | IdAt::BodyKeys(_) => None,
        IdAt::Path(name) => {
            let placeholder = format!("{{{name}}}");
            let (mut t, mut p) = (template.split('/'), path.split('/'));
            loop {
                let (t, p) = (t.next()?, p.next()?);
                if let Some(at) = t.find(&placeholder) {
                    let (before, after) = (&t[..at], &t[at + placeholder.len()..]);
                    let id = p.strip_prefix(before)?.strip_suffix(after)?;
                    return (!id.is_empty()).then(|| id.to_owned());
                }
            }
        }
    }
}

/// Every id a request names its targets by: the one of [`target_id`], or each string of a
/// bulk call's list (none if one is not a string).
pub(crate) fn target_ids(
    template: &str,
    path: &str,
    body: Option<&Value>,
    at: &IdAt,
) -> Vec<String> {
    match at {
        IdAt::BodyList(field) => body
            .and_then(|b| b.get(field))
            .and_then(Value::as_array)
            .and_then(|ids| {
                ids.iter()
                    .map(|id| id.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
            })
            .unwrap_or_default(),
        IdAt::BodyKeys(field) => body
            .and_then(|b| b.get(field))
            .and_then(Value::as_object)
            .map(|map| map.keys().cloned().collect())
            .unwrap_or_default(),
        _ => target_id(template, path, body, at).into_iter().collect(),
    }
}

/// The refusal a plugin sees. Names neither the object nor its company: the plugin has no
/// business learning either.
pub(crate) fn not_allowed(why: &str) -> HostError {
    HostError::Guest(PleoError::NotAllowed(format!(
        "{why}; the operator lists the companies a run may use in pleo.toml `company_id` and \
         `companies`"
    )))
}

pub(crate) fn other_company(kind: &Kind) -> HostError {
    not_allowed(&format!(
        "the {} belongs to a company this run is not allowed to use",
        kind.name
    ))
}

pub(crate) fn no_owner(kind: &Kind) -> HostError {
    not_allowed(&format!(
        "Pleo's answer does not say which company owns the {}",
        kind.name
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn target_ids_come_from_the_path_or_body() {
        let path = |template, path| target_id(template, path, None, &IdAt::Path("id"));
        assert_eq!(
            path("/v1/vendors/{id}:archive", "/v1/vendors/v-1:archive").as_deref(),
            Some("v-1")
        );
        assert_eq!(
            path("/v1/vendors/{id}", "/v1/vendors/v-1").as_deref(),
            Some("v-1")
        );
        assert_eq!(path("/v1/vendors/{id}", "/v1/vendors/"), None);
        assert_eq!(
            target_id(
                "/v3/export-jobs/{jobId}/items",
                "/v3/export-jobs/j1/items",
                None,
                &IdAt::Path("jobId")
            )
            .as_deref(),
            Some("j1")
        );
        let body = json!({"jobId": "j2", "event": "started"});
        assert_eq!(
            target_id(
                "/v3/export-job-events",
                "/",
                Some(&body),
                &IdAt::Body("jobId")
            )
            .as_deref(),
            Some("j2")
        );
        assert_eq!(
            target_id("/x", "/x", Some(&json!({"jobId": 3})), &IdAt::Body("jobId")),
            None
        );
        let list = IdAt::BodyList("tagIds");
        let ids = |body: Value| target_ids("/v0/tags", "/v0/tags", Some(&body), &list);
        assert_eq!(ids(json!({"tagIds": ["t1", "t2"]})), ["t1", "t2"]);
        assert!(ids(json!({"tagIds": ["t1", 2]})).is_empty());
        assert!(ids(json!({"tagIds": "t1"})).is_empty());
        let keys = IdAt::BodyKeys("amountsByTaxCodeId");
        let body = json!({"amountsByTaxCodeId": {"x1": [], "x2": []}});
        assert_eq!(target_ids("/t", "/t", Some(&body), &keys), ["x1", "x2"]);
        assert_eq!(
            target_ids(
                "/v1/vendors/{id}",
                "/v1/vendors/v-1",
                None,
                &IdAt::Path("id")
            ),
            ["v-1"]
        );
    }

    #[test]
    fn owners_are_read_from_the_kind_s_field() {
        let employee = json!({"id": "e1", "companyId": "c1"});
        assert!(matches!(
            owner_field(&EMPLOYEE, &employee),
            Found::Company("c1")
        ));
        let receipt = json!({"id": "r1", "accountingEntryId": "a1"});
        assert!(matches!(
            owner_field(&RECEIPT, &receipt),
            Found::Parent("a1", k) if k.name == ENTRY.name
        ));
        assert!(matches!(
            owner_field(&EMPLOYEE, &json!({"id": "e1", "companyId": null})),
            Found::Missing
        ));
        assert!(matches!(
            owner_field(&COMPANY, &json!({"id": "c9"})),
            Found::Company("c9")
        ));
    }

    #[test]
    fn a_key_bound_to_an_allowed_company_needs_no_lookups() {
        let allowed = vec!["a".to_owned()];
        assert!(!Owners::new(Some("a"), &allowed).lookups);
        assert!(Owners::new(None, &allowed).lookups);
        assert!(Owners::new(Some("b"), &allowed).lookups);
    }

    #[test]
    fn the_owners_remembered_are_bounded() {
        let mut owners = Owners::new(None, &["c1".to_owned()]);
        for i in 0..MAX_KNOWN {
            owners.learn(&VENDOR, &format!("v{i}"), "c1");
        }
        assert_eq!(owners.known(&VENDOR, "v0"), Some("c1"));
        assert_eq!(
            owners.known(&VENDOR, &format!("v{}", MAX_KNOWN - 1)),
            Some("c1")
        );
        owners.learn(&VENDOR, "one-too-many", "c1");
        assert_eq!(owners.known(&VENDOR, "one-too-many"), None);
        // Kinds do not share ids.
        assert_eq!(owners.known(&ACCOUNT, "v0"), None);
    }
}

/// The checks against a Pleo over real HTTP that holds a few objects of two companies.
#[cfg(test)]
mod lookups {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    use axum::response::IntoResponse;
    use serde_json::{Value, json};

    use super::super::table::{GET_ENTRY, GET_TAG, LIST_RECEIPTS, UPDATE_VENDOR};
    use super::super::{Grant, PleoError};
    use super::*;
    use crate::audit::{AuditLog, RunAudit};
    use crate::credential::ApiKey;
    use crate::limits::Limits;
    use crate::pleo::{ClientOptions, PleoClient};

    /// Objects by path; a path listed in `flaky` answers 503 the first time it is asked.
    struct Pleo {
        url: String,
        asked: Arc<Mutex<Vec<String>>>,
    }

    impl Pleo {
        async fn start(objects: &[(&str, Value)], flaky: &[&str]) -> Pleo {
            let objects: Arc<HashMap<String, Value>> = Arc::new(
                objects
                    .iter()
                    .map(|(path, object)| ((*path).to_owned(), object.clone()))
                    .collect(),
            );
            let flaky: Vec<String> = flaky.iter().map(|p| (*p).to_owned()).collect();
            let asked = Arc::new(Mutex::new(Vec::<String>::new()));
            let seen = asked.clone();
            let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
                let (objects, seen, flaky) = (objects.clone(), seen.clone(), flaky.clone());
                async move {
                    let path = uri.path().to_owned();
                    let first = {
                        let mut seen = seen.lock().unwrap();
                        let first = !seen.contains(&path);
                        seen.push(path.clone());
                        first
                    };
                    if first && flaky.contains(&path) {
                        return axum::http::StatusCode::SERVICE_UNAVAILABLE.into_response();
                    }
                    match objects.get(&path) {
                        Some(object) => axum::Json(json!({ "data": object })).into_response(),
                        None => (
                            axum::http::StatusCode::NOT_FOUND,
                            axum::Json(json!({"type": "NOT_FOUND", "message": "no such object"})),
                        )
                            .into_response(),
                    }
                }
            });
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            tokio::spawn(async move { axum::serve(listener, app).await });
            Pleo { url, asked }
        }

        fn asked(&self) -> Vec<String> {
            self.asked.lock().unwrap().clone()
        }
    }

    /// A run allowed company `c1` only, with a key bound to `key_company` (`None`: an
    /// organisation key), auditing into `audit`.
    fn caps(pleo: &Pleo, key_company: Option<&str>, audit: &std::path::Path) -> Caps {
        let key = ApiKey::new("ownership-test-key").unwrap();
        let mut options = ClientOptions::default();
        options.retry.max_attempts = 2;
        options.retry.initial_backoff = std::time::Duration::from_millis(1);
        options.retry.max_backoff = std::time::Duration::from_millis(1);
        options.read_ahead = false;
        let client = PleoClient::with_options(&pleo.url, &key, options).unwrap();
        let log = AuditLog::open(audit, key.redactor()).unwrap();
        let grant = Grant {
            plugin: "unit".into(),
            company_id: "c1".into(),
            scopes: crate::scopes::ScopeSet::new(),
            params: Default::default(),
            limits: Limits::default(),
            other_companies: Vec::new(),
            key_company: key_company.map(str::to_owned),
        };
        Caps::new(
            grant,
            client,
            key.redactor(),
            Arc::new(|_: &super::super::Progress| {}),
            Some(RunAudit::new(log, "unit", "sha", "c1")),
        )
    }

    fn records(audit: &std::path::Path) -> Vec<Value> {
        std::fs::read_to_string(audit)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    fn refusal(result: Result<(), HostError>) -> String {
        match result {
            Err(HostError::Guest(PleoError::NotAllowed(why))) => why,
            Err(HostError::Guest(other)) => panic!("refused otherwise: {other:?}"),
            Err(HostError::Trap(trap)) => panic!("trap: {trap}"),
            Ok(()) => panic!("allowed"),
        }
    }

    fn text(json: Value) -> Answer {
        Answer::Text(json.to_string())
    }

    const ENTRIES: [(&str, &str); 2] = [
        ("/v1/accounting-entries/e1", "c1"),
        ("/v1/accounting-entries/e2", "c2"),
    ];

    fn entries() -> Vec<(&'static str, Value)> {
        ENTRIES
            .iter()
            .map(|(path, company)| {
                let id = path.rsplit('/').next().unwrap();
                (*path, json!({"id": id, "companyId": company}))
            })
            .collect()
    }

    /// With an organisation key, a call on another company's object is refused before it is
    /// sent: one lookup (audited as `owner-check`, counted in the run's totals), then the
    /// refusal (audited). Owners learned are not looked up again.
    #[tokio::test]
    async fn a_target_of_another_company_is_refused_before_the_call() {
        let mut objects = entries();
        objects.push(("/v1/vendors/v9", json!({"id": "v9", "companyId": "c2"})));
        let pleo = Pleo::start(&objects, &["/v1/accounting-entries/e2"]).await;
        let dir = tempfile::tempdir().unwrap();
        let audit = dir.path().join("audit.jsonl");
        let mut caps = caps(&pleo, None, &audit);
        let receipts =
            |entry: &str| ApiRequest::get(format!("/v1/accounting-entries/{entry}/receipts"));
        let why = refusal(caps.check_target(&LIST_RECEIPTS, &receipts("e2")).await);
        assert!(
            why.starts_with("the accounting entry belongs to a company this run is not allowed"),
            "{why}"
        );
        assert!(!why.contains("c2") && !why.contains("e2"), "{why}");
        caps.check_target(&LIST_RECEIPTS, &receipts("e1"))
            .await
            .unwrap();
        // Both again: answered from what was learned.
        refusal(caps.check_target(&LIST_RECEIPTS, &receipts("e2")).await);
        caps.check_target(&LIST_RECEIPTS, &receipts("e1"))
            .await
            .unwrap();
        // A write on another company's vendor is refused the same way, never sent.
        let vendor = ApiRequest::put("/v1/vendors/v9", json!({"name": "x"}));
        let why = refusal(caps.check_target(&UPDATE_VENDOR, &vendor).await);
        assert!(why.starts_with("the vendor belongs to a company"), "{why}");
        assert_eq!(
            pleo.asked(),
            [
                "/v1/accounting-entries/e2",
                "/v1/accounting-entries/e2",
                "/v1/accounting-entries/e1",
                "/v1/vendors/v9"
            ],
            "e2 answered 503 once and was asked again; only GETs went out"
        );
        assert_eq!((caps.api_calls, caps.totals.api_calls), (3, 3));
        assert_eq!(caps.totals.retries, 1);
        drop(caps);
        let records = records(&audit);
        let checks: Vec<&Value> = records
            .iter()
            .filter(|r| r["outcome"] == "owner-check")
            .collect();
        let expected = [
            (&LIST_RECEIPTS, "/v1/accounting-entries/{id}", 1),
            (&LIST_RECEIPTS, "/v1/accounting-entries/{id}", 0),
            (&UPDATE_VENDOR, "/v1/vendors/{id}", 0),
        ];
        assert_eq!(checks.len(), expected.len(), "{records:?}");
        for (check, (op, path, retries)) in checks.iter().zip(expected) {
            assert_eq!(check["interface"], op.interface_name(), "{check}");
            assert_eq!(check["function"], op.function, "{check}");
            assert_eq!(check["scope"], op.scope(), "{check}");
            assert_eq!(check["method"], "GET", "{check}");
            assert_eq!(check["path"], path, "{check}");
            assert_eq!(check["status"], 200, "{check}");
            assert_eq!(check["retries"], retries, "{check}");
            assert!(check["latency_ms"].as_f64().unwrap() > 0.0, "{check}");
        }
        let refused: Vec<&Value> = records
            .iter()
            .filter(|r| r["outcome"] == "company-not-allowed")
            .collect();
        let expected = [&LIST_RECEIPTS, &LIST_RECEIPTS, &UPDATE_VENDOR];
        assert_eq!(refused.len(), expected.len(), "{records:?}");
        for (record, op) in refused.iter().zip(expected) {
            assert_eq!(record["interface"], op.interface_name(), "{record}");
            assert_eq!(record["function"], op.function, "{record}");
            assert_eq!(record["scope"], op.scope(), "{record}");
            assert!(record["method"].is_null(), "nothing was sent: {record}");
        }
    }

    /// Every object of an answer must belong to an allowed company; one that says nothing of
    /// its owner is refused. Objects with their own company field cost no lookup.
    #[tokio::test]
    async fn an_answer_holding_another_company_s_object_is_refused() {
        let pleo = Pleo::start(&[], &[]).await;
        let dir = tempfile::tempdir().unwrap();
        let mut caps = caps(&pleo, None, &dir.path().join("audit.jsonl"));
        let ok = text(json!([{"id": "e5", "companyId": "c1"}, {"id": "e6", "companyId": "c1"}]));
        caps.check_answer(&GET_ENTRY, &ok).await.unwrap();
        let mixed = text(json!([{"id": "e7", "companyId": "c1"}, {"id": "e8", "companyId": "c2"}]));
        let why = refusal(caps.check_answer(&GET_ENTRY, &mixed).await);
        assert!(
            why.starts_with("the accounting entry belongs to a company"),
            "{why}"
        );
        let unowned = text(json!({"id": "e9"}));
        let why = refusal(caps.check_answer(&GET_ENTRY, &unowned).await);
        assert!(
            why.contains("does not say which company owns the accounting entry"),
            "{why}"
        );
        caps.check_answer(&GET_ENTRY, &Answer::Nothing)
            .await
            .unwrap();
        // Entries learned from an answer need no lookup before their receipts are listed.
        let receipts = ApiRequest::get("/v1/accounting-entries/e6/receipts");
        caps.check_target(&LIST_RECEIPTS, &receipts).await.unwrap();
        assert!(pleo.asked().is_empty(), "{:?}", pleo.asked());
    }

    /// A tag names only its group: the group is looked up, and its company decides.
    #[tokio::test]
    async fn objects_owned_through_a_parent_are_checked_through_it() {
        let pleo = Pleo::start(
            &[
                ("/v0/tag-groups/g1", json!({"id": "g1", "companyId": "c1"})),
                ("/v0/tag-groups/g2", json!({"id": "g2", "companyId": "c2"})),
                ("/v0/tag-groups/g3", json!({"id": "g3"})),
            ],
            &[],
        )
        .await;
        let dir = tempfile::tempdir().unwrap();
        let mut caps = caps(&pleo, None, &dir.path().join("audit.jsonl"));
        let tag = |group: &str| text(json!({"id": format!("t-{group}"), "groupId": group}));
        caps.check_answer(&GET_TAG, &tag("g1")).await.unwrap();
        let why = refusal(caps.check_answer(&GET_TAG, &tag("g2")).await);
        assert!(why.starts_with("the tag belongs to a company"), "{why}");
        let why = refusal(caps.check_answer(&GET_TAG, &tag("g3")).await);
        assert!(why.contains("which company owns the tag group"), "{why}");
        // The group's owner was learned: another tag of g1 needs no lookup.
        caps.check_answer(&GET_TAG, &tag("g1")).await.unwrap();
        assert_eq!(
            pleo.asked(),
            [
                "/v0/tag-groups/g1",
                "/v0/tag-groups/g2",
                "/v0/tag-groups/g3"
            ]
        );
    }

    /// A key bound to the run's company reaches nothing else: no lookup is made, for targets
    /// or parents, but company fields in answers are still checked.
    #[tokio::test]
    async fn a_key_bound_to_the_run_s_company_needs_no_lookups() {
        let pleo = Pleo::start(&entries(), &[]).await;
        let dir = tempfile::tempdir().unwrap();
        let mut caps = caps(&pleo, Some("c1"), &dir.path().join("audit.jsonl"));
        let receipts = ApiRequest::get("/v1/accounting-entries/e2/receipts");
        caps.check_target(&LIST_RECEIPTS, &receipts).await.unwrap();
        let tag = text(json!({"id": "t1", "groupId": "g2"}));
        caps.check_answer(&GET_TAG, &tag).await.unwrap();
        let other = text(json!({"id": "e2", "companyId": "c2"}));
        refusal(caps.check_answer(&GET_ENTRY, &other).await);
        assert!(pleo.asked().is_empty(), "{:?}", pleo.asked());
        assert_eq!(caps.api_calls, 0);
    }
}
