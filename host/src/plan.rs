//! Plans: what `run PLUGIN --plan FILE` records instead of writing to Pleo, and the plan file
//! that `apply` sends later (see `apply`).
//!
//! During a plan run the capabilities hand every write request to a [`Recorder`] at the one
//! place where a request is about to be sent (`Caps::api`). Reads go to Pleo as usual; no write
//! leaves the host. The recorder keeps each write in order (interface, function, company, the
//! exact request) and makes up the answer Pleo would give: a create returns the object with a
//! placeholder id (`planned-<n>-<plan>`) that later calls of the run may use (create a tag
//! group, then its tags); an update returns the object as it would be. For a write on an
//! existing object, the capabilities fetch the object's current state once and the recorder
//! keeps it (`before`), so the plan shows a diff and `apply` can tell that the object changed
//! since. Reads that name a placeholder are answered here (a planned object by id, an empty
//! list of its children): Pleo does not know them.
//!
//! The plan file is JSON: the context (plugin name and SHA-256, params, input SHA-256,
//! environment, company, key's company, time), the `writes` array, and a `checksum` over the
//! rest (SHA-256 of its canonical JSON), so an edited plan is refused.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::pleo::ApiRequest;

/// `format` of the plan files this host writes and reads.
pub const FORMAT: &str = "pleo-host-plan/1";

/// One write of a plan, in the order the plugin made it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PlannedWrite {
    pub seq: u64,
    /// WIT interface and function (`vendors-write`, `create-vendor`).
    pub interface: String,
    pub function: String,
    /// `vendors`, `accounts`, `tags`, `tax-codes`, `export-jobs`.
    pub family: String,
    /// `create`, `update`, `archive`, `delete`, `activate` or `other`.
    pub action: String,
    pub company_id: String,
    pub request: PlannedRequest,
    /// Placeholder ids this write's answer gives objects (a create; a batch gives several).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub placeholders: Vec<String>,
    /// The existing object the write acts on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<PlannedTarget>,
    /// The objects a bulk write acts on (`archive-tags`, `delete-tags`), in request order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<PlannedTarget>,
    /// The target's state when the plan was made (the first write on it only); for a bulk
    /// write, an array with the state of each of `targets` (`null`: not fetched, as the plan
    /// made or changed it before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    /// The field that identifies the object outside Pleo (`externalId`, `code`) and its value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub natural_key: Option<NaturalKey>,
    /// The file `upload-import-csv` sends to the presigned URL Pleo answers `request` with
    /// (apply asks for the URL, then PUTs exactly these bytes; the checksum covers them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload: Option<PlannedUpload>,
}

/// A file to upload, as the plan shows and keeps it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PlannedUpload {
    pub bytes: u64,
    pub rows: u64,
    pub sha256: String,
    /// The file, base64.
    pub content: String,
}

impl PlannedUpload {
    pub fn new(csv: &[u8]) -> PlannedUpload {
        use base64::Engine as _;
        let summary = crate::pleo::upload::FileSummary::of(csv);
        PlannedUpload {
            bytes: summary.bytes,
            rows: summary.rows,
            sha256: summary.sha256,
            content: base64::engine::general_purpose::STANDARD.encode(csv),
        }
    }

    /// The file, if it is the one the plan describes (base64 and SHA-256 agree).
    pub fn file(&self) -> Result<Vec<u8>, String> {
        use base64::Engine as _;
        let csv = base64::engine::general_purpose::STANDARD
            .decode(&self.content)
            .map_err(|_| "the planned file is not base64".to_owned())?;
        if hex::encode(Sha256::digest(&csv)) != self.sha256 || csv.len() as u64 != self.bytes {
            return Err("the planned file does not match its size and SHA-256".into());
        }
        Ok(csv)
    }
}

/// The request exactly as the host would have sent it (the host adds auth and base URL).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PlannedRequest {
    pub method: String,
    pub path: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub query: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    #[serde(default)]
    pub idempotent: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PlannedTarget {
    /// `vendor`, `account`, `tag group`, ...
    pub kind: String,
    pub id: String,
    /// `GET` path of the object, to compare its state before applying.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub get: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NaturalKey {
    pub field: String,
    pub value: String,
}

/// Who and what a plan was made for; `apply` refuses another.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PlanContext {
    pub plugin: String,
    pub plugin_sha256: String,
    pub params: BTreeMap<String, String>,
    pub input_sha256: Option<String>,
    pub environment: String,
    pub company_id: String,
    pub key_company_id: Option<String>,
    pub created_at: String,
}

/// A plan file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PlanFile {
    pub format: String,
    pub id: String,
    #[serde(flatten)]
    pub context: PlanContext,
    pub writes: Vec<PlannedWrite>,
    pub checksum: String,
}

impl PlanFile {
    pub fn new(context: PlanContext, writes: Vec<PlannedWrite>, id: String) -> PlanFile {
        let mut plan = PlanFile {
            format: FORMAT.into(),
            id,
            context,
            writes,
            checksum: String::new(),
        };
        plan.checksum = plan.compute_checksum();
        plan
    }

    /// `sha256:` + SHA-256 of the canonical JSON (keys sorted, no spaces) without `checksum`.
    pub fn compute_checksum(&self) -> String {
        let mut value = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Value::Object(map) = &mut value {
            map.remove("checksum");
        }
        let mut text = String::new();
        canonical(&value, &mut text);
        format!("sha256:{}", hex::encode(Sha256::digest(text.as_bytes())))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// Parses a plan file; `Err` is a one-line cause.
    pub fn parse(text: &str) -> Result<PlanFile, String> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| format!("not a plan file (JSON: {e})"))?;
        let format = value.get("format").and_then(Value::as_str).unwrap_or("");
        if format != FORMAT {
            return Err(format!(
                "not a plan file of this pleo-host (format `{}`, expected `{FORMAT}`)",
                format.chars().take(40).collect::<String>()
            ));
        }
        serde_json::from_value(value).map_err(|e| format!("malformed plan file: {e}"))
    }

    /// Whether the content is what the host wrote (the checksum matches).
    pub fn is_intact(&self) -> bool {
        self.checksum == self.compute_checksum()
    }

    /// Counts per family and action: `vendors: 3 create, 1 update`.
    pub fn counts(&self) -> BTreeMap<String, BTreeMap<String, u64>> {
        let mut counts: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        for w in &self.writes {
            *counts
                .entry(w.family.clone())
                .or_default()
                .entry(w.action.clone())
                .or_default() += 1;
        }
        counts
    }

    /// The human summary: one line per family, and with `verbose` one line per write with the
    /// fields an update changes (`name: "Old" -> "New"`).
    pub fn summary(&self, verbose: bool) -> String {
        let mut out = String::new();
        let n = self.writes.len();
        let _ = writeln!(
            out,
            "plan {}: {n} write{} by {} for company {} ({})",
            self.id,
            if n == 1 { "" } else { "s" },
            self.context.plugin,
            self.context.company_id,
            self.context.environment
        );
        if n == 0 {
            let _ = writeln!(out, "  nothing to change");
        }
        for (family, actions) in self.counts() {
            let parts: Vec<String> = actions
                .iter()
                .map(|(action, count)| format!("{count} {action}"))
                .collect();
            let _ = writeln!(out, "  {family}: {}", parts.join(", "));
        }
        if verbose {
            for w in &self.writes {
                let _ = writeln!(out, "  #{} {}", w.seq + 1, describe(w));
                for line in diff(w) {
                    let _ = writeln!(out, "      {line}");
                }
                if let Some(u) = &w.upload {
                    let _ = writeln!(
                        out,
                        "      file: {} bytes, {} rows, sha256 {}",
                        u.bytes, u.rows, u.sha256
                    );
                }
            }
        }
        out
    }
}

/// `create vendor ERP-7 "Acme ApS"`, `update tag group PRJ (id ...)`, and for a bulk write
/// `archive 2 tags: P-1 "Apollo", P-2 (id ...)`.
pub fn describe(w: &PlannedWrite) -> String {
    if let Some(first) = w.targets.first() {
        let befores = w.before.as_ref().and_then(Value::as_array);
        let objects: Vec<String> = w
            .targets
            .iter()
            .enumerate()
            .map(|(i, t)| label(befores.and_then(|b| b.get(i)), &t.id))
            .collect();
        return format!(
            "{} {} {}{}: {}",
            w.action,
            objects.len(),
            first.kind,
            if objects.len() == 1 { "" } else { "s" },
            objects.join(", ")
        );
    }
    let kind = w
        .target
        .as_ref()
        .map(|t| t.kind.clone())
        .unwrap_or_else(|| singular(&w.family));
    let mut text = format!("{} {kind}", w.action);
    if let Some(key) = &w.natural_key {
        let _ = write!(text, " {}={}", key.field, key.value);
    }
    let name = w
        .request
        .body
        .as_ref()
        .and_then(|b| b.get("name"))
        .and_then(Value::as_str)
        .or_else(|| {
            w.before
                .as_ref()
                .and_then(|b| b.get("name"))
                .and_then(Value::as_str)
        });
    if let Some(name) = name {
        let _ = write!(text, " \"{name}\"");
    }
    if let Some(target) = &w.target {
        let _ = write!(text, " (id {})", target.id);
    }
    text
}

/// `P-1 "Apollo"` from an object's state as read from Pleo, else its id.
fn label(before: Option<&Value>, id: &str) -> String {
    let field = |name| before.and_then(|b| b.get(name)).and_then(Value::as_str);
    match (field("code"), field("name")) {
        (Some(code), Some(name)) => format!("{code} \"{name}\""),
        (Some(code), None) => code.to_owned(),
        (None, Some(name)) => format!("\"{name}\""),
        (None, None) => format!("(id {id})"),
    }
}

fn singular(family: &str) -> String {
    match family {
        "tax-codes" => "tax code".into(),
        "accounts" => "account".into(),
        "vendors" => "vendor".into(),
        "tags" => "tag".into(),
        other => other.trim_end_matches('s').into(),
    }
}

/// The fields of the request body that differ from the object's state before.
pub fn diff(w: &PlannedWrite) -> Vec<String> {
    let (Some(Value::Object(body)), Some(Value::Object(before))) = (&w.request.body, &w.before)
    else {
        return Vec::new();
    };
    let mut lines = Vec::new();
    for (field, new) in body {
        if field == "companyId" {
            continue;
        }
        let old = before.get(field).unwrap_or(&Value::Null);
        if old != new {
            lines.push(format!("{field}: {old} -> {new}"));
        }
    }
    lines
}

/// Writes `value` as JSON with object keys sorted and no whitespace, whatever order serde_json
/// keeps maps in (a feature of another crate can switch it to insertion order).
fn canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// What the capabilities tell the recorder about a write operation.
pub struct WriteOp<'a> {
    pub interface: &'a str,
    pub function: &'a str,
    /// Kind name and `GET` path template (`{id}`) of the object the write acts on, and its id.
    pub target: Option<(&'a str, Option<&'a str>, String)>,
}

/// What the recorder answers a plan run's call with.
pub enum Planned {
    /// The JSON text the plugin gets: an object, or the whole answer for `{data, errors}`.
    Text(String),
    /// An empty page (the children of a planned object).
    EmptyPage,
    /// Nothing (a 202/204 answer).
    Nothing,
    /// The object named by a placeholder does not exist (in Pleo nor in the plan).
    NotFound,
}

/// The writes of one plan run, as the plugin makes them.
pub struct Recorder {
    /// The plan's id; also the tail of its placeholders, so they never collide across plans.
    pub plan_id: String,
    writes: Vec<PlannedWrite>,
    /// Objects made up by this run, by placeholder.
    planned: HashMap<String, Value>,
    /// Objects whose state before was recorded.
    seen: std::collections::HashSet<String>,
    /// Bytes of request bodies recorded so far (see [`MAX_PLAN_BYTES`]).
    body_bytes: u64,
}

/// Most bytes of request bodies one plan may hold. Every body comes from the plugin and stays
/// in memory until the plan is written: without a cap, a plan run could make the host hold
/// `api_calls` bodies of the largest size a host call can copy.
pub const MAX_PLAN_BYTES: u64 = 64 << 20;

impl Recorder {
    pub fn new(plan_id: String) -> Recorder {
        Recorder {
            plan_id,
            writes: Vec::new(),
            planned: HashMap::new(),
            seen: Default::default(),
            body_bytes: 0,
        }
    }

    /// Counts `req`'s body against [`MAX_PLAN_BYTES`] and returns its size; `Err` (nothing
    /// counted) once over it.
    pub fn charge(&mut self, req: &ApiRequest) -> Result<u64, String> {
        let bytes = req.body.as_ref().map_or(0, |b| b.to_string().len() as u64);
        let total = self.body_bytes.saturating_add(bytes);
        if total > MAX_PLAN_BYTES {
            return Err(format!(
                "the plan would hold more than {} MiB of request bodies; plan the migration in parts",
                MAX_PLAN_BYTES >> 20
            ));
        }
        self.body_bytes = total;
        Ok(bytes)
    }

    pub fn writes(&self) -> &[PlannedWrite] {
        &self.writes
    }

    /// Whether `bytes` more (a file to upload, as base64) still fit [`MAX_PLAN_BYTES`].
    pub fn has_room(&self, bytes: u64) -> bool {
        self.body_bytes.saturating_add(bytes.div_ceil(3) * 4) <= MAX_PLAN_BYTES
    }

    /// Gives the last write (an `upload-import-csv` just recorded) the file it uploads, and
    /// counts it against [`MAX_PLAN_BYTES`].
    pub fn attach_upload(&mut self, csv: &[u8]) {
        let upload = PlannedUpload::new(csv);
        self.body_bytes = self.body_bytes.saturating_add(upload.content.len() as u64);
        if let Some(last) = self.writes.last_mut() {
            last.upload = Some(upload);
        }
    }

    pub fn into_writes(self) -> Vec<PlannedWrite> {
        self.writes
    }

    fn short_id(&self) -> &str {
        &self.plan_id[..self.plan_id.len().min(8)]
    }

    /// Whether an id is one of this run's placeholders.
    pub fn is_placeholder(&self, id: &str) -> bool {
        self.planned.contains_key(id)
    }

    /// Whether the request names one of this run's placeholders (path, query or body).
    pub fn mentions_placeholder(&self, req: &ApiRequest) -> bool {
        let tag = format!("-{}", self.short_id());
        let text = |s: &str| s.contains("planned-") && s.contains(&tag);
        text(&req.path)
            || req.query.iter().any(|(_, v)| text(v))
            || req.body.as_ref().is_some_and(|b| text(&b.to_string()))
    }

    /// Whether the object's state before must still be fetched for this write.
    pub fn needs_before(&self, id: &str) -> bool {
        !self.is_placeholder(id) && !self.seen.contains(id)
    }

    /// A read that names a placeholder: a planned object by id, or an empty list of its
    /// children. Pleo would not know the id.
    pub fn read(&self, req: &ApiRequest, page: bool) -> Planned {
        if page {
            return Planned::EmptyPage;
        }
        let last = req.path.rsplit('/').next().unwrap_or("");
        match self.planned.get(last) {
            Some(object) => Planned::Text(object.to_string()),
            None if req.path.ends_with("/tags")
                || req.path.ends_with("/items")
                || req.path.ends_with("/dimensions") =>
            {
                Planned::Text("[]".into())
            }
            None => Planned::NotFound,
        }
    }

    /// Records a write and makes up Pleo's answer. `before` is the target's current state when
    /// it was fetched for this write (the first write on it).
    pub fn record(
        &mut self,
        op: &WriteOp<'_>,
        company_id: &str,
        req: &ApiRequest,
        before: Option<Value>,
        whole_answer: bool,
        no_content: bool,
    ) -> Planned {
        let seq = self.writes.len() as u64;
        let family = op.interface.trim_end_matches("-write").to_owned();
        let action = action_of(op.function, req, before.as_ref());
        let target = op.target.as_ref().map(|(kind, get, id)| PlannedTarget {
            kind: (*kind).to_owned(),
            id: id.clone(),
            get: get.map(|g| g.replace("{id}", id)),
        });
        if let Some(t) = &target {
            self.seen.insert(t.id.clone());
        }
        let body = req.body.clone();
        let natural_key = natural_key(body.as_ref(), before.as_ref());
        let mut placeholders = Vec::new();
        let short = self.short_id().to_owned();
        let mut new_placeholder = |n: usize| {
            let p = format!("planned-{}-{short}", seq * 1000 + n as u64 + 1);
            placeholders.push(p.clone());
            p
        };

        let answer = if action == "create" {
            let items = body
                .as_ref()
                .and_then(|b| b.get("items"))
                .and_then(Value::as_array)
                .cloned();
            match items {
                // A batch (`create-accounts`): every item gets a placeholder.
                Some(items) => {
                    let created: Vec<Value> = items
                        .iter()
                        .enumerate()
                        .map(|(n, item)| made_up(item, &new_placeholder(n), company_id, req))
                        .collect();
                    json!({"data": {"created": created, "failed": []}})
                }
                None => made_up(
                    body.as_ref().unwrap_or(&Value::Null),
                    &new_placeholder(0),
                    company_id,
                    req,
                ),
            }
        } else {
            // The object as it would be: its state before (or as planned), with the body's fields.
            let base = target
                .as_ref()
                .and_then(|t| {
                    before
                        .clone()
                        .or_else(|| self.planned.get(&t.id).cloned())
                        .map(|mut b| {
                            if let (Value::Object(b), Some(id)) = (&mut b, Some(&t.id)) {
                                b.entry("id").or_insert(json!(id));
                            }
                            b
                        })
                })
                .unwrap_or_else(|| json!({}));
            let mut object = base;
            if let (Value::Object(o), Some(Value::Object(b))) = (&mut object, &body) {
                for (k, v) in b {
                    o.insert(k.clone(), v.clone());
                }
            }
            if let Some(t) = &target
                && self.planned.contains_key(&t.id)
            {
                self.planned.insert(t.id.clone(), object.clone());
            }
            if whole_answer {
                json!({"data": body.clone().unwrap_or(Value::Null), "errors": []})
            } else {
                object
            }
        };
        if action == "create" {
            let objects: Vec<Value> = match answer.pointer("/data/created") {
                Some(Value::Array(created)) => created.clone(),
                _ => vec![answer.clone()],
            };
            for (p, object) in placeholders.iter().zip(objects) {
                self.planned.insert(p.clone(), object);
            }
        }
        self.writes.push(PlannedWrite {
            seq,
            interface: op.interface.to_owned(),
            function: op.function.to_owned(),
            family,
            action,
            company_id: company_id.to_owned(),
            request: PlannedRequest {
                method: req.method.as_str().to_owned(),
                path: req.path.clone(),
                query: req
                    .query
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), v.clone()))
                    .collect(),
                body,
                idempotent: req.idempotent,
            },
            placeholders,
            target,
            targets: Vec::new(),
            before,
            natural_key,
            upload: None,
        });
        if no_content {
            Planned::Nothing
        } else {
            Planned::Text(answer.to_string())
        }
    }
}

impl Recorder {
    /// Records a bulk write on existing objects (`archive-tags`, `delete-tags`), each with its
    /// state before when it was fetched, and makes up Pleo's answer: nothing for a delete, the
    /// objects as they would be for an archive.
    pub fn record_bulk(
        &mut self,
        op: &WriteOp<'_>,
        company_id: &str,
        req: &ApiRequest,
        targets: Vec<(PlannedTarget, Option<Value>)>,
        no_content: bool,
    ) -> Planned {
        let seq = self.writes.len() as u64;
        let action = action_of(op.function, req, None);
        let body = req.body.clone();
        let archived = body.as_ref().and_then(|b| b.get("archived")).cloned();
        let mut objects = Vec::new();
        let mut befores = Vec::new();
        for (target, before) in &targets {
            self.seen.insert(target.id.clone());
            let mut object = before
                .clone()
                .or_else(|| self.planned.get(&target.id).cloned())
                .unwrap_or_else(|| json!({ "id": target.id }));
            if let (Value::Object(o), Some(archived)) = (&mut object, &archived) {
                o.insert("archived".into(), archived.clone());
            }
            if self.planned.contains_key(&target.id) {
                self.planned.insert(target.id.clone(), object.clone());
            }
            objects.push(object);
            befores.push(before.clone().unwrap_or(Value::Null));
        }
        self.writes.push(PlannedWrite {
            seq,
            interface: op.interface.to_owned(),
            function: op.function.to_owned(),
            family: op.interface.trim_end_matches("-write").to_owned(),
            action,
            company_id: company_id.to_owned(),
            request: PlannedRequest {
                method: req.method.as_str().to_owned(),
                path: req.path.clone(),
                query: req
                    .query
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), v.clone()))
                    .collect(),
                body,
                idempotent: req.idempotent,
            },
            placeholders: Vec::new(),
            target: None,
            targets: targets.into_iter().map(|(t, _)| t).collect(),
            before: befores
                .iter()
                .any(|b| !b.is_null())
                .then_some(Value::Array(befores)),
            natural_key: None,
            upload: None,
        });
        if no_content {
            Planned::Nothing
        } else {
            Planned::Text(Value::Array(objects).to_string())
        }
    }
}

/// A created object as Pleo would answer: the fields sent, an id, the company, and the group
/// of a tag or a tag group dimension (from its path). A tag's value for a dimension is named
/// by its tag and dimension (from its path) and has neither id nor company.
fn made_up(fields: &Value, id: &str, company_id: &str, req: &ApiRequest) -> Value {
    let mut object = match fields {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    };
    if let Some(rest) = req.path.strip_prefix("/v0/tags/")
        && let Some((tag, dimension)) = rest.split_once("/dimensions/")
    {
        object.insert("tagId".into(), json!(tag));
        object.insert("dimensionId".into(), json!(dimension));
        return Value::Object(object);
    }
    object.insert("id".into(), json!(id));
    object
        .entry("companyId")
        .or_insert_with(|| json!(company_id));
    if let Some(rest) = req.path.strip_prefix("/v0/tag-groups/")
        && let Some(group) = rest
            .strip_suffix("/tags")
            .or_else(|| rest.strip_suffix("/dimensions"))
    {
        object.insert("groupId".into(), json!(group));
        if rest.ends_with("/dimensions") {
            object.remove("companyId");
        }
    }
    Value::Object(object)
}

/// What a write does, for the summary.
fn action_of(function: &str, req: &ApiRequest, before: Option<&Value>) -> String {
    let verb = function.split('-').next().unwrap_or("");
    let archives = || {
        let archived = |v: Option<&Value>| {
            v.and_then(|v| v.get("archived")).and_then(Value::as_bool) == Some(true)
                || v.and_then(|v| v.get("state")).and_then(Value::as_str) == Some("ARCHIVED")
        };
        archived(req.body.as_ref()) && !archived(before)
    };
    match verb {
        "create" => "create".into(),
        "delete" => "delete".into(),
        // `archive-tags` with `archived: false` restores them.
        "archive"
            if req.body.as_ref().and_then(|b| b.get("archived")) == Some(&Value::Bool(false)) =>
        {
            "restore".into()
        }
        "archive" => "archive".into(),
        "activate" => "activate".into(),
        // The vendor CSV import: a file sent, a job started.
        "upload" => "upload".into(),
        "run" => "run".into(),
        "update" if function.ends_with("-items") => "other".into(),
        "update" if archives() => "archive".into(),
        "update" => "update".into(),
        _ => "other".into(),
    }
}

/// `externalId`, else `code`, from the body (a create) or the object before (an update).
fn natural_key(body: Option<&Value>, before: Option<&Value>) -> Option<NaturalKey> {
    for source in [body, before].into_iter().flatten() {
        for field in ["externalId", "code"] {
            if let Some(value) = source.get(field).and_then(Value::as_str)
                && !value.is_empty()
            {
                return Some(NaturalKey {
                    field: field.into(),
                    value: value.into(),
                });
            }
        }
    }
    None
}

/// Replaces the placeholders of earlier writes by the ids they got, in a request to send.
pub fn resolve(request: &PlannedRequest, ids: &HashMap<String, String>) -> PlannedRequest {
    let swap = |s: &str| -> String {
        if !s.contains("planned-") {
            return s.to_owned();
        }
        let mut out = s.to_owned();
        for (placeholder, id) in ids {
            if out.contains(placeholder.as_str()) {
                out = out.replace(placeholder.as_str(), id);
            }
        }
        out
    };
    fn walk(v: &Value, swap: &dyn Fn(&str) -> String) -> Value {
        match v {
            Value::String(s) => Value::String(swap(s)),
            Value::Array(items) => Value::Array(items.iter().map(|i| walk(i, swap)).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), walk(v, swap)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
    PlannedRequest {
        method: request.method.clone(),
        path: swap(&request.path),
        query: request
            .query
            .iter()
            .map(|(k, v)| (k.clone(), swap(v)))
            .collect(),
        body: request.body.as_ref().map(|b| walk(b, &swap)),
        idempotent: request.idempotent,
    }
}

/// Query parameter names a plan may carry: the ones the capabilities send with writes.
fn query_name(name: &str) -> Option<&'static str> {
    ["company_id", "companyId", "include_archived"]
        .into_iter()
        .find(|known| *known == name)
}

/// The client request for a planned one; `Err` names what the host would never have sent.
pub fn to_api_request(request: &PlannedRequest) -> Result<ApiRequest, String> {
    let method = match request.method.as_str() {
        "POST" => reqwest::Method::POST,
        "PUT" => reqwest::Method::PUT,
        "DELETE" => reqwest::Method::DELETE,
        other => return Err(format!("method {other} is not a write")),
    };
    let path_ok = request.path.starts_with("/v")
        && request
            .path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/-_:".contains(c));
    if !path_ok {
        return Err(format!("path `{}` is not a Pleo path", request.path));
    }
    let mut query = Vec::new();
    for (name, value) in &request.query {
        let name = query_name(name).ok_or_else(|| format!("query parameter `{name}`"))?;
        query.push((name, value.clone()));
    }
    Ok(ApiRequest {
        method,
        path: request.path.clone(),
        query,
        body: request.body.clone(),
        idempotent: request.idempotent,
    })
}

/// SHA-256 of an input folder (or file): every regular file under it, by relative path in
/// sorted order, its path and length and content. Links are not followed.
pub fn input_sha256(path: &std::path::Path) -> std::io::Result<String> {
    let mut files = Vec::new();
    let meta = std::fs::symlink_metadata(path)?;
    if meta.is_file() {
        files.push((String::new(), path.to_owned()));
    } else {
        let mut stack = vec![(String::new(), path.to_owned())];
        while let Some((rel, dir)) = stack.pop() {
            for entry in std::fs::read_dir(&dir)? {
                let entry = entry?;
                let name = entry.file_name().to_string_lossy().into_owned();
                let rel = if rel.is_empty() {
                    name
                } else {
                    format!("{rel}/{name}")
                };
                let kind = entry.file_type()?;
                if kind.is_dir() {
                    stack.push((rel, entry.path()));
                } else if kind.is_file() {
                    files.push((rel, entry.path()));
                }
            }
        }
    }
    files.sort();
    let mut hasher = Sha256::new();
    for (rel, file) in files {
        let mut f = std::fs::File::open(&file)?;
        let len = f.metadata()?.len();
        hasher.update(format!("{rel}\0{len}\0").as_bytes());
        std::io::copy(&mut f, &mut hasher)?;
    }
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_plan_holds_at_most_max_plan_bytes_of_bodies() {
        let mut recorder = Recorder::new("p".into());
        let body = serde_json::json!({ "name": "x".repeat(1 << 20) });
        let req = ApiRequest::post("/v1/vendors", body);
        let one = recorder.charge(&req).unwrap();
        let fit = MAX_PLAN_BYTES / one;
        for _ in 1..fit {
            recorder.charge(&req).unwrap();
        }
        let refused = recorder.charge(&req).unwrap_err();
        assert!(refused.contains("64 MiB"), "{refused}");
        assert!(recorder.charge(&ApiRequest::get("/v1/vendors/x")).is_ok());
    }
    use super::*;

    fn op<'a>(
        function: &'a str,
        target: Option<(&'a str, Option<&'a str>, String)>,
    ) -> WriteOp<'a> {
        WriteOp {
            interface: "tags-write",
            function,
            target,
        }
    }

    #[test]
    fn creates_get_placeholders_that_later_writes_use() {
        let mut rec = Recorder::new("abcdef0123456789".into());
        let group = ApiRequest::post("/v0/tag-groups", json!({"code": "PRJ", "name": "Projects"}))
            .query("company_id", "c1");
        let Planned::Text(answer) = rec.record(
            &op("create-tag-group", None),
            "c1",
            &group,
            None,
            false,
            false,
        ) else {
            panic!("a create answers an object");
        };
        let answer: Value = serde_json::from_str(&answer).unwrap();
        let id = answer["id"].as_str().unwrap().to_owned();
        assert!(rec.is_placeholder(&id));
        let tag = ApiRequest::post(
            format!("/v0/tag-groups/{id}/tags"),
            json!({"code": "P1", "name": "Apollo"}),
        );
        assert!(rec.mentions_placeholder(&tag));
        let target = Some(("tag group", Some("/v0/tag-groups/{id}"), id.clone()));
        rec.record(&op("create-tag", target), "c1", &tag, None, false, false);
        let writes = rec.writes();
        assert_eq!(writes.len(), 2);
        assert_eq!(writes[0].natural_key.as_ref().unwrap().value, "PRJ");
        assert_eq!(writes[1].action, "create");
        // Apply swaps the placeholder for the real id.
        let ids = HashMap::from([(id.clone(), "real-id".to_owned())]);
        let sent = resolve(&writes[1].request, &ids);
        assert_eq!(sent.path, "/v0/tag-groups/real-id/tags");

        // A dimension of the planned group: it names its group, has no company, and the
        // group's dimensions (none in Pleo yet) read as an empty list.
        let dimension = ApiRequest::post(
            format!("/v0/tag-groups/{id}/dimensions"),
            json!({"code": "PM", "name": "Manager", "visible": true}),
        );
        let target = Some(("tag group", Some("/v0/tag-groups/{id}"), id.clone()));
        let Planned::Text(made) = rec.record(
            &op("create-tag-group-dimension", target),
            "c1",
            &dimension,
            None,
            false,
            false,
        ) else {
            panic!("a create answers an object");
        };
        let made: Value = serde_json::from_str(&made).unwrap();
        assert_eq!(made["groupId"], json!(id));
        assert!(made.get("companyId").is_none(), "{made}");
        let listed = rec.read(
            &ApiRequest::get(format!("/v0/tag-groups/{id}/dimensions")),
            false,
        );
        assert!(matches!(listed, Planned::Text(t) if t == "[]"));
        // A tag's value names its tag and dimension, and gets no id.
        let value = ApiRequest::post(
            format!("/v0/tags/t1/dimensions/{}", made["id"].as_str().unwrap()),
            json!({"value": "Ada"}),
        );
        let Planned::Text(value) = rec.record(
            &op("create-tag-dimension-value", None),
            "c1",
            &value,
            None,
            false,
            false,
        ) else {
            panic!("a create answers an object");
        };
        let value: Value = serde_json::from_str(&value).unwrap();
        assert_eq!(
            (value["tagId"].as_str(), value["value"].as_str()),
            (Some("t1"), Some("Ada"))
        );
        assert!(
            value.get("id").is_none() && value.get("companyId").is_none(),
            "{value}"
        );
    }

    #[test]
    fn an_update_records_the_state_before_and_shows_the_diff() {
        let mut rec = Recorder::new("0123456789".into());
        let before = json!({"id": "t1", "code": "P1", "name": "Old", "archived": false});
        let req = ApiRequest::put(
            "/v0/tags/t1",
            json!({"code": "P1", "name": "New", "archived": false}),
        );
        assert!(rec.needs_before("t1"));
        rec.record(
            &op(
                "update-tag",
                Some(("tag", Some("/v0/tags/{id}"), "t1".into())),
            ),
            "c1",
            &req,
            Some(before),
            false,
            false,
        );
        assert!(!rec.needs_before("t1"));
        let w = &rec.writes()[0];
        assert_eq!(w.action, "update");
        assert_eq!(diff(w), vec!["name: \"Old\" -> \"New\"".to_owned()]);
        let req = ApiRequest::put(
            "/v0/tags/t1",
            json!({"code": "P1", "name": "New", "archived": true}),
        );
        rec.record(
            &op(
                "update-tag",
                Some(("tag", Some("/v0/tags/{id}"), "t1".into())),
            ),
            "c1",
            &req,
            None,
            false,
            false,
        );
        assert_eq!(rec.writes()[1].action, "archive");
    }

    #[test]
    fn a_bulk_write_names_each_object_from_its_state_before() {
        let mut rec = Recorder::new("abcdef0123456789".into());
        let target = |id: &str| PlannedTarget {
            kind: "tag".into(),
            id: id.into(),
            get: Some(format!("/v0/tags/{id}")),
        };
        let req = ApiRequest::post(
            "/v0/tags/archive",
            json!({"companyId": "c1", "tagIds": ["t1", "t2"], "archived": true}),
        );
        let before = json!({"id": "t1", "code": "P-1", "name": "Apollo", "archived": false});
        let Planned::Text(answer) = rec.record_bulk(
            &op("archive-tags", None),
            "c1",
            &req,
            vec![(target("t1"), Some(before.clone())), (target("t2"), None)],
            false,
        ) else {
            panic!("an archive answers the tags");
        };
        let answer: Value = serde_json::from_str(&answer).unwrap();
        assert_eq!(answer[0]["archived"], true);
        assert_eq!(answer[0]["name"], "Apollo");
        assert_eq!(answer[1], json!({"id": "t2", "archived": true}));
        let w = &rec.writes()[0];
        assert_eq!(w.action, "archive");
        assert_eq!(w.before, Some(json!([before, null])));
        assert_eq!(describe(w), "archive 2 tags: P-1 \"Apollo\", (id t2)");
        assert!(!rec.needs_before("t1"));

        let restore = ApiRequest::post(
            "/v0/tags/archive",
            json!({"companyId": "c1", "tagIds": ["t1"], "archived": false}),
        );
        rec.record_bulk(
            &op("archive-tags", None),
            "c1",
            &restore,
            vec![(target("t1"), None)],
            false,
        );
        assert_eq!(rec.writes()[1].action, "restore");
        assert_eq!(rec.writes()[1].before, None);
    }

    #[test]
    fn an_edited_plan_fails_its_checksum() {
        let context = PlanContext {
            plugin: "p".into(),
            plugin_sha256: "00".into(),
            params: BTreeMap::new(),
            input_sha256: None,
            environment: "mock".into(),
            company_id: "c1".into(),
            key_company_id: Some("c1".into()),
            created_at: "2026-01-01T00:00:00Z".into(),
        };
        let mut rec = Recorder::new("0123456789".into());
        let req = ApiRequest::post("/v1/vendors", json!({"name": "Acme", "externalId": "V1"}));
        rec.record(
            &WriteOp {
                interface: "vendors-write",
                function: "create-vendor",
                target: None,
            },
            "c1",
            &req,
            None,
            false,
            false,
        );
        let plan = PlanFile::new(context, rec.into_writes(), "0123456789".into());
        let text = plan.to_json();
        let parsed = PlanFile::parse(&text).unwrap();
        assert!(parsed.is_intact());
        assert_eq!(parsed, plan);
        let edited = PlanFile::parse(&text.replace("Acme", "Acne")).unwrap();
        assert!(!edited.is_intact());
        assert!(PlanFile::parse("{}").is_err());
        assert!(plan.summary(false).contains("vendors: 1 create"));
    }

    /// An upload keeps its file in the plan, under the checksum: the verbose summary shows its
    /// size, rows and SHA-256, and a file changed in the plan is refused twice over.
    #[test]
    fn an_upload_keeps_its_file_under_the_checksum() {
        let context = PlanContext {
            plugin: "p".into(),
            plugin_sha256: "00".into(),
            params: BTreeMap::new(),
            input_sha256: None,
            environment: "mock".into(),
            company_id: "c1".into(),
            key_company_id: Some("c1".into()),
            created_at: "2026-01-01T00:00:00Z".into(),
        };
        let mut rec = Recorder::new("0123456789".into());
        let csv = b"name,defaultCurrency\nAcme,DKK\n";
        assert!(rec.has_room(csv.len() as u64));
        assert!(!rec.has_room(MAX_PLAN_BYTES));
        let req = ApiRequest::post_empty("/v1/vendors/csv-import/jobs/j1:get-presigned-url");
        rec.record(
            &WriteOp {
                interface: "vendors-write",
                function: "upload-import-csv",
                target: None,
            },
            "c1",
            &req,
            None,
            false,
            false,
        );
        rec.attach_upload(csv);
        let plan = PlanFile::new(context, rec.into_writes(), "0123456789".into());
        let upload = plan.writes[0].upload.clone().unwrap();
        assert_eq!((upload.bytes, upload.rows), (csv.len() as u64, 1));
        assert_eq!(upload.file().unwrap(), csv);
        assert_eq!(plan.writes[0].action, "upload");
        let summary = plan.summary(true);
        assert!(
            summary.contains(&format!(
                "file: {} bytes, 1 rows, sha256 {}",
                csv.len(),
                upload.sha256
            )),
            "{summary}"
        );
        let text = plan.to_json();
        assert!(PlanFile::parse(&text).unwrap().is_intact());
        let other = PlannedUpload::new(b"name,defaultCurrency\nEvil,DKK\n").content;
        let edited = PlanFile::parse(&text.replace(&upload.content, &other)).unwrap();
        assert!(!edited.is_intact());
        assert!(edited.writes[0].upload.as_ref().unwrap().file().is_err());
    }
}
