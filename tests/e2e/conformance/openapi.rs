//! Pleo's OpenAPI documents (the copies in `tests/openapi/`, see SOURCE.md there) as a checker
//! for what went over the wire between the host and the mock.
//!
//! Each recorded [`Exchange`] is mapped to its operation by method and path template, across
//! every document, then checked: the path and query parameters against the operation's
//! `parameters`, the request body against its `requestBody` schema, and the response body
//! against the schema of its status code (or `default`). The schemas are turned into JSON
//! Schema 2020-12 first (see [`convert`]) and checked with the `jsonschema` crate.
//!
//! Stricter than a plain reading of the documents: an object schema with `properties` is closed
//! (`unevaluatedProperties: false`), so a field the mock invents or the client misspells is
//! reported rather than passed over (maps, `additionalProperties`, stay open); and a query
//! parameter the operation does not declare is reported too (`companyId` vs `company_id`).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use pleo_host::mock::Exchange;
use serde_json::{Map, Value, json};

/// Where the copies of Pleo's documents live.
pub fn docs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/openapi")
}

/// Error answers that Pleo's documents give no body schema for, checked against Pleo's general
/// error shape `ExceptionInfo {type, message}` (the export and vendors documents' schema for
/// their errors; the schema is taken from the export document) instead of failing as unchecked. Every entry is a gap in Pleo's documents, not a
/// licence for the mock: keep it short, and each one must still be met by the tour (the test
/// checks that). `(method, path template, status)`.
pub const UNDOCUMENTED_ERRORS: &[(&str, &str, u16)] = &[
    // Declared with a description and no content (Oberon, Gjoll, vendors, chart of accounts).
    ("GET", "/v2/employees/{employeeId}", 404),
    ("GET", "/v1/companies/{companyId}", 404),
    ("GET", "/v1/accounting-entries/{accountingEntryId}", 404),
    ("GET", "/v1/vendors/{id}", 404),
    ("POST", "/v1/vendors", 409),
    ("GET", "/v1/chart-of-accounts/{accountId}", 404),
    ("DELETE", "/v1/chart-of-accounts/{accountId}", 409),
    // Only a `default` answer is documented, and it is the success body (`{data: ...}`).
    (
        "GET",
        "/v1/accounting-entries/{accountingEntryId}/receipts/{receiptId}",
        404,
    ),
    ("GET", "/v0/tags/{tagId}", 404),
    (
        "GET",
        "/v0/tag-groups/{groupId}/dimensions/{dimensionId}",
        404,
    ),
    ("GET", "/v0/tax-codes/{taxCodeId}", 404),
    // A dimension code taken in the group, a tag's value for a dimension it already has.
    ("POST", "/v0/tag-groups/{groupId}/dimensions", 409),
    ("POST", "/v0/tags/{tagId}/dimensions/{dimensionId}", 409),
    // A removed value: the `default` answer is the value removed, which is gone.
    ("DELETE", "/v0/tags/{tagId}/dimensions/{dimensionId}", 404),
    ("POST", "/v0/tax-codes:calculate-tax-amounts", 404),
    // Declared with 204 only: a bulk delete naming an unknown tag.
    ("DELETE", "/v0/tags", 404),
    // Declared with a `default` answer without a schema: a delete of what is gone.
    ("DELETE", "/v0/tags/{tagId}", 404),
    (
        "DELETE",
        "/v0/tag-groups/{groupId}/dimensions/{dimensionId}",
        404,
    ),
    ("DELETE", "/v0/tax-codes/{taxCodeId}", 404),
];

/// Where a schema is used: `readOnly` properties are not required in requests, `writeOnly`
/// ones not in responses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Request,
    Response,
}

/// All the documents, ready to check exchanges.
pub struct Spec {
    docs: Vec<Doc>,
    ops: Vec<Operation>,
    /// `ExceptionInfo` (from the export document), for [`UNDOCUMENTED_ERRORS`].
    error_schema: (usize, Value),
}

struct Doc {
    file: String,
    /// `components/schemas`, converted once per direction, as `$defs`.
    request_defs: Value,
    response_defs: Value,
}

pub struct Operation {
    doc: usize,
    pub method: String,
    pub template: String,
    /// `deprecated: true`: Pleo asks integrations not to use it, so it needs no coverage.
    pub deprecated: bool,
    parameters: Vec<Param>,
    request: Option<RequestBody>,
    /// By status (`"200"`, `"default"`); `None`: declared without content.
    responses: BTreeMap<String, Option<Content>>,
}

#[derive(Clone)]
struct Param {
    name: String,
    location: String,
    required: bool,
    schema: Value,
}

struct RequestBody {
    required: bool,
    content: Content,
}

struct Content {
    media_type: String,
    /// The OpenAPI schema object, not converted yet.
    schema: Value,
}

/// Something that does not agree with the documents.
#[derive(Debug)]
pub struct Problem {
    /// `GET /v2/employees/{employeeId} -> 404` (the document's template when one matched).
    pub exchange: String,
    pub what: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.exchange, self.what)
    }
}

impl Spec {
    /// Loads every `*.yml` in [`docs_dir`].
    pub fn load() -> Spec {
        let mut files: Vec<PathBuf> = std::fs::read_dir(docs_dir())
            .expect("tests/openapi is readable")
            .map(|e| e.expect("directory entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "yml"))
            .collect();
        files.sort();
        assert!(!files.is_empty(), "no OpenAPI documents in tests/openapi");
        let mut spec = Spec {
            docs: Vec::new(),
            ops: Vec::new(),
            error_schema: (0, Value::Null),
        };
        for path in files {
            let text = std::fs::read_to_string(&path).expect("document is readable");
            let file = path.file_name().unwrap().to_string_lossy().into_owned();
            let doc: Value = yaml_serde::from_str(&text)
                .unwrap_or_else(|e| panic!("{file} is not valid YAML: {e}"));
            spec.add(file, &doc);
        }
        let exception = spec
            .docs
            .iter()
            .position(|d| d.file == "pleo-export-api-v3-api-openapi.yml")
            .expect("the export document is among the copies");
        spec.error_schema = (
            exception,
            json!({"$ref": "#/components/schemas/ExceptionInfo"}),
        );
        spec
    }

    fn add(&mut self, file: String, doc: &Value) {
        let schemas = doc
            .pointer("/components/schemas")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let defs = |direction| {
            Value::Object(
                schemas
                    .iter()
                    .map(|(name, schema)| (name.clone(), convert(schema, direction)))
                    .collect(),
            )
        };
        let index = self.docs.len();
        self.docs.push(Doc {
            request_defs: defs(Direction::Request),
            response_defs: defs(Direction::Response),
            file: file.clone(),
        });
        let paths = doc.get("paths").and_then(Value::as_object);
        for (template, item) in paths.into_iter().flatten() {
            let shared = params(item.get("parameters"));
            for (method, op) in item.as_object().into_iter().flatten() {
                if !["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                    continue;
                }
                let mut parameters = params(op.get("parameters"));
                for p in &shared {
                    if !parameters
                        .iter()
                        .any(|q| q.name == p.name && q.location == p.location)
                    {
                        parameters.push(p.clone());
                    }
                }
                let request = op.get("requestBody").map(|body| RequestBody {
                    required: body.get("required").and_then(Value::as_bool) == Some(true),
                    content: content(body.get("content")).unwrap_or_else(|| {
                        panic!("{file}: {method} {template}: a requestBody without JSON content")
                    }),
                });
                let responses = op
                    .get("responses")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                    .map(|(status, r)| (status.clone(), content(r.get("content"))))
                    .collect();
                self.ops.push(Operation {
                    doc: index,
                    method: method.to_uppercase(),
                    template: template.clone(),
                    deprecated: op.get("deprecated").and_then(Value::as_bool) == Some(true),
                    parameters,
                    request,
                    responses,
                });
            }
        }
    }

    pub fn operations(&self) -> &[Operation] {
        &self.ops
    }

    /// The document an operation comes from.
    pub fn file(&self, op: &Operation) -> &str {
        &self.docs[op.doc].file
    }

    /// The operations `method path` belongs to: those with the most specific matching template
    /// (the most literal characters, so `/v1/vendors/{id}:archive` wins over
    /// `/v1/vendors/{id}`), in every document that declares it.
    pub fn operations_for(&self, method: &str, path: &str) -> Vec<&Operation> {
        let mut best: Vec<&Operation> = Vec::new();
        let mut best_score = 0;
        for op in self.ops.iter().filter(|op| op.method == method) {
            let Some(score) = match_template(&op.template, path).map(|_| literal_len(&op.template))
            else {
                continue;
            };
            if score > best_score {
                best = vec![op];
                best_score = score;
            } else if score == best_score && best.first().is_some_and(|b| b.template == op.template)
            {
                best.push(op);
            }
        }
        best
    }

    /// A validator for an OpenAPI schema object of document `doc`, `$ref`s resolved in it.
    pub fn validator(
        &self,
        doc: usize,
        schema: &Value,
        direction: Direction,
    ) -> Result<jsonschema::Validator, String> {
        let defs = match direction {
            Direction::Request => &self.docs[doc].request_defs,
            Direction::Response => &self.docs[doc].response_defs,
        };
        let mut root = match convert(schema, direction) {
            Value::Object(map) => map,
            other => {
                let mut map = Map::new();
                map.insert("allOf".into(), json!([other]));
                map
            }
        };
        root.insert(
            "$schema".into(),
            json!("https://json-schema.org/draft/2020-12/schema"),
        );
        root.insert("$defs".into(), defs.clone());
        jsonschema::draft202012::options()
            .should_validate_formats(true)
            // A format this checker does not know (from a newer document) is an error, not
            // silently an annotation.
            .should_ignore_unknown_formats(false)
            .build(&Value::Object(root))
            .map_err(|e| format!("the schema does not compile: {e}"))
    }

    /// Validates `instance` against an OpenAPI schema object of document `doc`: one line per
    /// error, none if it conforms.
    pub fn validate(
        &self,
        doc: usize,
        schema: &Value,
        direction: Direction,
        instance: &Value,
    ) -> Vec<String> {
        let validator = match self.validator(doc, schema, direction) {
            Ok(v) => v,
            Err(e) => return vec![e],
        };
        validator
            .iter_errors(instance)
            .map(|e| {
                format!(
                    "at `{}`: {} (schema path {})",
                    e.instance_path(),
                    shorten(&e.to_string(), 300),
                    e.schema_path()
                )
            })
            .collect()
    }

    /// Index of a document by file name.
    pub fn doc_index(&self, file: &str) -> Option<usize> {
        self.docs.iter().position(|d| d.file == file)
    }

    /// Compiles every request and response schema of every document: a conversion gap shows up
    /// here rather than on the one exchange that would need it.
    pub fn compile_all(&self) -> Vec<String> {
        let mut failures = Vec::new();
        for op in &self.ops {
            let mut schemas: Vec<(&Value, Direction, String)> = Vec::new();
            if let Some(body) = &op.request {
                schemas.push((&body.content.schema, Direction::Request, "request".into()));
            }
            for (status, content) in &op.responses {
                if let Some(content) = content {
                    schemas.push((&content.schema, Direction::Response, status.clone()));
                }
            }
            for p in &op.parameters {
                schemas.push((
                    &p.schema,
                    Direction::Request,
                    format!("parameter {}", p.name),
                ));
            }
            for (schema, direction, what) in schemas {
                if let Err(e) = self.validator(op.doc, schema, direction) {
                    failures.push(format!(
                        "{}: {} {} {what}: {e}",
                        self.file(op),
                        op.method,
                        op.template
                    ));
                }
            }
        }
        failures
    }

    /// Everything in `exchange` that disagrees with the documents.
    pub fn check(&self, exchange: &Exchange) -> Vec<Problem> {
        let ops = self.operations_for(&exchange.method, &exchange.path);
        let name =
            |template: &str| format!("{} {template} -> {}", exchange.method, exchange.status);
        let Some(first) = ops.first() else {
            return vec![Problem {
                exchange: name(&exchange.path),
                what: "no operation in tests/openapi matches this method and path".into(),
            }];
        };
        let exchange_name = name(&first.template);
        let mut problems = Vec::new();
        let mut report = |what: String| {
            problems.push(Problem {
                exchange: exchange_name.clone(),
                what,
            })
        };
        if exchange.route.is_none() {
            report(format!(
                "the mock has no route for {} {} (its fallback answered {})",
                exchange.method, exchange.path, exchange.status
            ));
            return problems;
        }
        for op in ops {
            let file = self.file(op).to_owned();
            for what in self.check_parameters(op, exchange) {
                report(format!("{file}: {what}"));
            }
            for what in self.check_request(op, exchange) {
                report(format!("{file}: request body {what}"));
            }
            for what in self.check_response(op, exchange) {
                report(format!("{file}: response body {what}"));
            }
        }
        problems
    }

    fn check_parameters(&self, op: &Operation, exchange: &Exchange) -> Vec<String> {
        let mut problems = Vec::new();
        let path_values = match_template(&op.template, &exchange.path).unwrap_or_default();
        let mut query: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (name, value) in
            form_urlencoded::parse(exchange.query.as_deref().unwrap_or("").as_bytes())
        {
            query
                .entry(name.into_owned())
                .or_default()
                .push(value.into_owned());
        }
        for (name, value) in &path_values {
            match op
                .parameters
                .iter()
                .find(|p| p.location == "path" && &p.name == name)
            {
                Some(p) => problems.extend(self.check_values(op, p, std::slice::from_ref(value))),
                None => problems.push(format!("path parameter `{name}` is not declared")),
            }
        }
        for (name, values) in &query {
            match op
                .parameters
                .iter()
                .find(|p| p.location == "query" && &p.name == name)
            {
                Some(p) => problems.extend(self.check_values(op, p, values)),
                None => problems.push(format!("query parameter `{name}` is not documented")),
            }
        }
        for p in &op.parameters {
            if p.required && p.location == "query" && !query.contains_key(&p.name) {
                problems.push(format!("required query parameter `{}` is missing", p.name));
            }
        }
        problems
    }

    /// The values a parameter was given, as the JSON its schema describes.
    fn check_values(&self, op: &Operation, p: &Param, values: &[String]) -> Vec<String> {
        let is_array = type_is(&p.schema, "array");
        if !is_array && values.len() > 1 {
            return vec![format!(
                "parameter `{}` is given {} times",
                p.name,
                values.len()
            )];
        }
        let item_schema = if is_array {
            p.schema.get("items").cloned().unwrap_or(json!({}))
        } else {
            p.schema.clone()
        };
        let typed: Result<Vec<Value>, String> = values
            .iter()
            .map(|v| typed_value(&item_schema, v, &self.docs[op.doc].request_defs))
            .collect();
        let instance = match typed {
            Ok(mut typed) if !is_array => typed.remove(0),
            Ok(typed) => Value::Array(typed),
            Err(e) => return vec![format!("parameter `{}`: {e}", p.name)],
        };
        self.validate(op.doc, &p.schema, Direction::Request, &instance)
            .into_iter()
            .map(|e| format!("parameter `{}` = {values:?} {e}", p.name))
            .collect()
    }

    fn check_request(&self, op: &Operation, exchange: &Exchange) -> Vec<String> {
        let Some(body) = &op.request else {
            return if exchange.request_body.is_empty() {
                Vec::new()
            } else {
                vec!["sent, but the operation takes none".into()]
            };
        };
        if exchange.request_body.is_empty() {
            return if body.required {
                vec!["missing, but the operation requires one".into()]
            } else {
                Vec::new()
            };
        }
        let mut problems = media_mismatch(
            &body.content.media_type,
            exchange.request_content_type.as_deref(),
        );
        match serde_json::from_slice::<Value>(&exchange.request_body) {
            Ok(value) => problems.extend(self.validate(
                op.doc,
                &body.content.schema,
                Direction::Request,
                &value,
            )),
            Err(e) => problems.push(format!("is not JSON: {e}")),
        }
        problems
    }

    fn check_response(&self, op: &Operation, exchange: &Exchange) -> Vec<String> {
        let status = exchange.status.to_string();
        let class = format!("{}XX", &status[..1]);
        let declared = op
            .responses
            .get(&status)
            .or_else(|| op.responses.get(&class));
        let allowlisted = exchange.status >= 400
            && UNDOCUMENTED_ERRORS
                .iter()
                .any(|(m, t, s)| *m == op.method && *t == op.template && *s == exchange.status);
        let content = match declared {
            Some(Some(content)) => content,
            _ if allowlisted => {
                let (doc, schema) = &self.error_schema;
                return self.check_json(*doc, schema, &exchange.response_body);
            }
            // 202/204 without content: nothing may come back.
            Some(None) if (200..300).contains(&exchange.status) => {
                return if exchange.response_body.is_empty() {
                    Vec::new()
                } else {
                    vec![format!(
                        "sent, but status {status} is declared without content"
                    )]
                };
            }
            Some(None) => {
                return vec![format!(
                    "unchecked: status {status} is declared without a schema (add it to \
                     UNDOCUMENTED_ERRORS only if Pleo's documents really give none)"
                )];
            }
            None => match op.responses.get("default") {
                Some(Some(content)) => content,
                // A `default` without content (or schema) answers a 2xx with nothing.
                Some(None)
                    if (200..300).contains(&exchange.status)
                        && exchange.response_body.is_empty() =>
                {
                    return Vec::new();
                }
                _ => {
                    return vec![format!(
                        "unchecked: status {status} is not documented for this operation"
                    )];
                }
            },
        };
        let mut problems = media_mismatch(
            &content.media_type,
            exchange.response_content_type.as_deref(),
        );
        problems.extend(self.check_json(op.doc, &content.schema, &exchange.response_body));
        problems
    }

    fn check_json(&self, doc: usize, schema: &Value, body: &[u8]) -> Vec<String> {
        match serde_json::from_slice::<Value>(body) {
            Ok(value) => self.validate(doc, schema, Direction::Response, &value),
            Err(e) => vec![format!("is not JSON: {e}")],
        }
    }
}

fn params(list: Option<&Value>) -> Vec<Param> {
    list.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| Param {
            name: p["name"].as_str().unwrap_or_default().to_owned(),
            location: p["in"].as_str().unwrap_or_default().to_owned(),
            required: p.get("required").and_then(Value::as_bool) == Some(true),
            schema: p.get("schema").cloned().unwrap_or(json!({})),
        })
        .collect()
}

/// The JSON media type of a `content` map and its schema, if it has one.
/// A JSON media type declared without a schema (three deletes: of a tag, a tax code and a tag
/// group dimension) is taken as no content: no schema can check a body, so none may come back.
fn content(content: Option<&Value>) -> Option<Content> {
    content?
        .as_object()?
        .iter()
        .find_map(|(media_type, media)| {
            (essence(media_type) == "application/json").then(|| {
                media.get("schema").cloned().map(|schema| Content {
                    media_type: media_type.clone(),
                    schema,
                })
            })?
        })
}

/// `application/json` of `application/json;charset=UTF-8`.
fn essence(media_type: &str) -> String {
    media_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

fn media_mismatch(documented: &str, sent: Option<&str>) -> Vec<String> {
    match sent {
        Some(sent) if essence(sent) == essence(documented) => Vec::new(),
        other => vec![format!(
            "has content type {other:?}, the document says `{documented}`"
        )],
    }
}

/// The path parameters if `path` fits `template`. A template segment holds literal text and at
/// most one `{name}`, which stands for one or more characters other than `/`.
pub fn match_template(template: &str, path: &str) -> Option<Vec<(String, String)>> {
    let t: Vec<&str> = template.split('/').collect();
    let p: Vec<&str> = path.split('/').collect();
    if t.len() != p.len() {
        return None;
    }
    let mut values = Vec::new();
    for (t, p) in t.iter().zip(&p) {
        match (t.find('{'), t.find('}')) {
            (Some(open), Some(close)) if open < close => {
                let (prefix, suffix) = (&t[..open], &t[close + 1..]);
                assert!(
                    !suffix.contains('{'),
                    "two parameters in one segment of {template}"
                );
                if p.len() <= prefix.len() + suffix.len()
                    || !p.starts_with(prefix)
                    || !p.ends_with(suffix)
                {
                    return None;
                }
                let value = &p[prefix.len()..p.len() - suffix.len()];
                values.push((t[open + 1..close].to_owned(), value.to_owned()));
            }
            _ if t == p => {}
            _ => return None,
        }
    }
    Some(values)
}

/// Characters of `template` outside `{...}`.
fn literal_len(template: &str) -> usize {
    let mut depth = 0;
    template
        .chars()
        .filter(|c| {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => return depth == 0,
            }
            false
        })
        .count()
}

fn type_is(schema: &Value, name: &str) -> bool {
    match schema.get("type") {
        Some(Value::String(t)) => t == name,
        Some(Value::Array(ts)) => ts.iter().any(|t| t == name),
        _ => false,
    }
}

/// A query or path value as the JSON type its schema wants (following one `$ref`).
fn typed_value(schema: &Value, raw: &str, defs: &Value) -> Result<Value, String> {
    let schema = match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => r
            .strip_prefix("#/components/schemas/")
            .and_then(|name| defs.get(name))
            .ok_or_else(|| format!("unresolvable $ref {r}"))?,
        None => schema,
    };
    if type_is(schema, "integer") {
        raw.parse::<i64>()
            .map(Value::from)
            .map_err(|_| format!("`{raw}` is not an integer"))
    } else if type_is(schema, "number") {
        raw.parse::<f64>()
            .map(Value::from)
            .map_err(|_| format!("`{raw}` is not a number"))
    } else if type_is(schema, "boolean") {
        match raw {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(format!("`{raw}` is not true or false")),
        }
    } else {
        Ok(Value::String(raw.to_owned()))
    }
}

fn shorten(text: &str, max: usize) -> String {
    if text.len() <= max {
        text.to_owned()
    } else {
        format!("{}...", &text[..text.floor_char_boundary(max)])
    }
}

/// An OpenAPI 3.0/3.1 schema object as JSON Schema 2020-12:
/// * `$ref: '#/components/schemas/X'` becomes `#/$defs/X` (the caller puts the document's
///   converted schemas there);
/// * `nullable: true` (3.0) adds `null` to `type` (and to `enum`), or allows `null` beside a
///   schema without `type`; a 3.1-style `type: [..., 'null']` with an `enum` gets `null` in the
///   enum too, as the 3.0 original meant;
/// * `format`: `int32`/`int64` become `minimum`/`maximum`, `float`/`double` are dropped (any
///   JSON number fits), `url` is `uri`; the others (`uuid`, `date-time`, ...) are checked;
/// * `pattern`s that are not regular expressions but date templates (`YYYY-MM-DD`,
///   `yyyy-MM-dd'T'HH:mm:ss'Z'`: Pleo's documents put those beside `format: date-time`) are
///   dropped; real ones (all anchored with `^`) are kept;
/// * the 3.0 boolean `exclusiveMinimum`/`exclusiveMaximum` become the numeric form;
/// * `example`, `discriminator` (an annotation: the `oneOf`/`anyOf` it sits on decides),
///   `xml`, `externalDocs` and `nullable` are dropped;
/// * `readOnly` properties are not required in a request, `writeOnly` ones not in a response;
/// * an object with `properties` and no `additionalProperties` is closed with
///   `unevaluatedProperties: false` (see the module documentation). `allOf` in these
///   documents only ever wraps one `$ref` (to add a description); several members each with
///   `properties` would each be closed against the others', so that case is refused.
pub fn convert(schema: &Value, direction: Direction) -> Value {
    let Value::Object(source) = schema else {
        return schema.clone();
    };
    let mut out = Map::new();
    for (key, value) in source {
        let converted = match key.as_str() {
            "example" | "discriminator" | "xml" | "externalDocs" | "nullable" => continue,
            "$ref" => {
                let target = value.as_str().unwrap_or_default();
                let name = target
                    .strip_prefix("#/components/schemas/")
                    .unwrap_or_else(|| panic!("unsupported $ref {target}"));
                json!(format!("#/$defs/{name}"))
            }
            "properties" => Value::Object(
                value
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(name, s)| (name.clone(), convert(s, direction)))
                    .collect(),
            ),
            "items" | "not" | "additionalProperties" | "unevaluatedProperties" => {
                convert(value, direction)
            }
            "allOf" | "anyOf" | "oneOf" | "prefixItems" => {
                let members = value.as_array().cloned().unwrap_or_default();
                if key == "allOf" && members.len() > 1 {
                    panic!(
                        "allOf with {} members: closing their objects would be wrong",
                        members.len()
                    );
                }
                Value::Array(members.iter().map(|m| convert(m, direction)).collect())
            }
            "format" => match value.as_str().unwrap_or_default() {
                "int32" => {
                    bound(&mut out, source, i64::from(i32::MIN), i64::from(i32::MAX));
                    continue;
                }
                "int64" => {
                    bound(&mut out, source, i64::MIN, i64::MAX);
                    continue;
                }
                "float" | "double" => continue,
                "url" => json!("uri"),
                _ => value.clone(),
            },
            "pattern" if !value.as_str().unwrap_or_default().starts_with('^') => continue,
            "exclusiveMinimum" | "exclusiveMaximum" if value.is_boolean() => {
                let plain = if key == "exclusiveMinimum" {
                    "minimum"
                } else {
                    "maximum"
                };
                match (value.as_bool(), source.get(plain)) {
                    (Some(true), Some(limit)) => limit.clone(),
                    _ => continue,
                }
            }
            _ => value.clone(),
        };
        out.insert(key.clone(), converted);
    }
    // The numeric exclusive bound replaces the inclusive one it came from.
    for (exclusive, plain) in [
        ("exclusiveMinimum", "minimum"),
        ("exclusiveMaximum", "maximum"),
    ] {
        if source.get(exclusive) == Some(&Value::Bool(true)) {
            out.remove(plain);
        }
    }
    if let Some(Value::Array(required)) = out.get("required").cloned() {
        let skip = match direction {
            Direction::Request => "readOnly",
            Direction::Response => "writeOnly",
        };
        let kept: Vec<Value> = required
            .into_iter()
            .filter(|name| {
                let property = name
                    .as_str()
                    .and_then(|n| out.get("properties").and_then(|p| p.get(n)));
                property.and_then(|p| p.get(skip)) != Some(&Value::Bool(true))
            })
            .collect();
        out.insert("required".into(), Value::Array(kept));
    }
    if out.contains_key("properties")
        && !out.contains_key("additionalProperties")
        && !out.contains_key("unevaluatedProperties")
    {
        out.insert("unevaluatedProperties".into(), Value::Bool(false));
    }
    if source.get("nullable") == Some(&Value::Bool(true)) {
        out = nullable(out);
    }
    if type_is(&Value::Object(out.clone()), "null")
        && let Some(Value::Array(values)) = out.get_mut("enum")
        && !values.contains(&Value::Null)
    {
        values.push(Value::Null);
    }
    Value::Object(out)
}

/// `int32`/`int64` as bounds, unless the schema has its own.
fn bound(out: &mut Map<String, Value>, source: &Map<String, Value>, min: i64, max: i64) {
    if !source.contains_key("minimum") && !source.contains_key("exclusiveMinimum") {
        out.insert("minimum".into(), json!(min));
    }
    if !source.contains_key("maximum") && !source.contains_key("exclusiveMaximum") {
        out.insert("maximum".into(), json!(max));
    }
}

fn nullable(mut schema: Map<String, Value>) -> Map<String, Value> {
    match schema.get("type").cloned() {
        Some(Value::String(t)) => {
            schema.insert("type".into(), json!([t, "null"]));
            schema
        }
        Some(Value::Array(mut ts)) => {
            if !ts.contains(&json!("null")) {
                ts.push(json!("null"));
            }
            schema.insert("type".into(), Value::Array(ts));
            schema
        }
        // No `type` (a `$ref` or `allOf` wrapper): null, or whatever the schema allows.
        _ => {
            let mut wrapper = Map::new();
            wrapper.insert(
                "anyOf".into(),
                json!([Value::Object(schema), {"type": "null"}]),
            );
            wrapper
        }
    }
}
