//! Conformance with Pleo's OpenAPI documents: the `api-tour` plugin calls every function of
//! every Pleo interface the host implements, through the real host and the real mock over
//! HTTP, and every request the host sent and every answer the mock gave is checked against
//! the copies of Pleo's documents in `tests/openapi/` (see `conformance/openapi.rs`).
//! A mismatch, an undocumented route or an answer with no documented schema fails.

mod openapi;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use pleo_host::mock::Exchange;
use pleo_host::session::{RunOptions, Session};
use serde_json::{Value, json};

use crate::common::{plugin, tempdir, tokio};
use openapi::{Direction, Spec, UNDOCUMENTED_ERRORS};

/// Fixed, so the mock's data (and so the tour) is the same on every run.
const ANCHOR: &str = "2025-06-30";

#[test]
fn every_exchange_of_the_api_tour_conforms_to_pleos_documents() {
    let dir = tempdir();
    let scopes = pleo_host::scopes::known()
        .iter()
        .map(|s| format!("\"{s}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let text = format!(
        "state_dir = \"state\"\n[mock]\nrecord = true\nanchor = \"{ANCHOR}\"\n\
         [plugins.api-tour]\npath = \"{}\"\nscopes = [{scopes}]\n",
        plugin("api-tour").display()
    );
    let config = crate::common::config_in(&text, dir.path());
    let out = dir.path().join("out");

    let exchanges = tokio().block_on(async {
        let session = Session::open(config).await.unwrap();
        let options = RunOptions {
            out_dir: Some(out.clone()),
            ..RunOptions::default()
        };
        let report = session.run("api-tour", options).await;
        let exchanges = session.mock_exchanges().unwrap();
        if let Err(failure) = report {
            panic!("the api-tour run failed: {failure:?}");
        }
        exchanges
    });

    // The tour did what it set out to do: each call succeeded or failed as it should.
    let tour: Value =
        serde_json::from_slice(&std::fs::read(out.join("tour.json")).unwrap()).unwrap();
    let steps = tour["steps"].as_array().unwrap();
    let unmet: Vec<String> = steps
        .iter()
        .filter(|s| s["met"] != true)
        .map(|s| {
            format!(
                "{}::{} ({}): expected {}, got {} {}",
                s["interface"].as_str().unwrap_or_default(),
                s["function"].as_str().unwrap_or_default(),
                s["note"].as_str().unwrap_or_default(),
                s["expect"],
                s["outcome"],
                s["detail"].as_str().unwrap_or_default()
            )
        })
        .collect();
    assert!(
        unmet.is_empty(),
        "tour steps not as expected:\n{}",
        unmet.join("\n")
    );

    // It called every function of every Pleo interface the host implements.
    let called: BTreeSet<(String, String)> = steps
        .iter()
        .map(|s| {
            (
                s["interface"].as_str().unwrap_or_default().to_owned(),
                s["function"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let functions = wit_functions();
    let mut missing = Vec::new();
    for (interface, _) in pleo_host::scopes::INTERFACE_SCOPES {
        let declared = functions
            .get(*interface)
            .unwrap_or_else(|| panic!("interface {interface} is not in wit/"));
        for function in declared {
            if !called.contains(&((*interface).to_owned(), function.clone())) {
                missing.push(format!("{interface}::{function}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "the api tour never calls: {}",
        missing.join(", ")
    );

    // Everything that went over the wire agrees with Pleo's documents.
    let spec = Spec::load();
    // Every step the host did not refuse itself went over the wire.
    let sent = steps
        .iter()
        .filter(|s| {
            !s["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("HOST_REJECTED_REQUEST")
        })
        .count();
    assert!(
        exchanges.len() >= sent,
        "{} exchanges for {sent} steps sent",
        exchanges.len(),
    );
    let problems: Vec<String> = exchanges
        .iter()
        .flat_map(|exchange| spec.check(exchange))
        .map(|p| p.to_string())
        .collect();
    // One line per distinct problem, with how often it occurred.
    let mut counted: BTreeMap<String, usize> = BTreeMap::new();
    for p in problems {
        *counted.entry(p).or_default() += 1;
    }
    let report: Vec<String> = counted
        .iter()
        .map(|(p, n)| {
            if *n > 1 {
                format!("{p} [x{n}]")
            } else {
                p.clone()
            }
        })
        .collect();
    assert!(
        report.is_empty(),
        "{} of {} exchanges disagree with Pleo's OpenAPI documents:\n{}",
        exchanges
            .iter()
            .filter(|e| !spec.check(e).is_empty())
            .count(),
        exchanges.len(),
        report.join("\n")
    );

    // And each schema that passed a body rejects a wrong one, so no check above passed
    // because its schema accepts anything.
    let wrong = bytes::Bytes::from_static(br#"{"unexpected": true}"#);
    for exchange in &exchanges {
        let mut mutants = Vec::new();
        if !exchange.request_body.is_empty() {
            mutants.push((
                "request",
                Exchange {
                    request_body: wrong.clone(),
                    ..exchange.clone()
                },
            ));
        }
        if !exchange.response_body.is_empty() {
            mutants.push((
                "response",
                Exchange {
                    response_body: wrong.clone(),
                    ..exchange.clone()
                },
            ));
        }
        for (what, mutant) in mutants {
            assert!(
                !spec.check(&mutant).is_empty(),
                "the {what} schema of {} {} -> {} accepts {{\"unexpected\": true}}",
                exchange.method,
                exchange.path,
                exchange.status
            );
        }
    }

    // Every allowlisted gap is still needed, so the list cannot outgrow what the tour meets.
    for (method, template, status) in UNDOCUMENTED_ERRORS {
        assert!(
            exchanges.iter().any(|e| e.method == *method
                && e.status == *status
                && openapi::match_template(template, &e.path).is_some()),
            "UNDOCUMENTED_ERRORS entry {method} {template} {status} is not used by the tour"
        );
    }
}

/// `interface -> functions` of every interface in `wit/` except the host services and types.
fn wit_functions() -> BTreeMap<String, Vec<String>> {
    let wit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit");
    let mut functions: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for entry in std::fs::read_dir(wit).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let mut interface = None;
        for line in text.lines().map(str::trim) {
            if let Some(rest) = line.strip_prefix("interface ") {
                interface = rest.split_whitespace().next().map(str::to_owned);
            } else if let (Some(current), Some((name, _))) =
                (&interface, line.split_once(": func("))
                && !pleo_host::scopes::HOST_SERVICES.contains(&current.as_str())
            {
                functions
                    .entry(current.clone())
                    .or_default()
                    .push(name.to_owned());
            }
        }
    }
    functions
}

/// `(method, path, reason)` of every row of `tests/openapi/EXCLUDED.md`.
fn exclusions() -> Vec<(String, String, String)> {
    let path = openapi::docs_dir().join("EXCLUDED.md");
    let text = std::fs::read_to_string(&path).expect("tests/openapi/EXCLUDED.md is readable");
    text.lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line
                .trim()
                .trim_matches('|')
                .split('|')
                .map(str::trim)
                .collect();
            match cells.as_slice() {
                [method, path, reason]
                    if ["GET", "POST", "PUT", "DELETE", "PATCH"].contains(method) =>
                {
                    Some((method.to_string(), path.to_string(), reason.to_string()))
                }
                _ => None,
            }
        })
        .collect()
}

/// Every documented operation that Pleo does not deprecate is either in the host's call table
/// or excluded in `tests/openapi/EXCLUDED.md` with a reason; every exclusion names a
/// documented operation that the call table does not cover. So an operation Pleo adds to a
/// document, or a row that is removed, shows up here.
#[test]
fn every_documented_operation_is_covered_or_excluded() {
    let spec = Spec::load();
    let documented: BTreeSet<(String, String)> = spec
        .operations()
        .iter()
        .filter(|op| !op.deprecated)
        .map(|op| (op.method.clone(), op.template.clone()))
        .collect();
    let covered: BTreeSet<(String, String)> = pleo_host::capabilities::operations()
        .map(|op| (op.method.to_owned(), op.template.to_owned()))
        .collect();
    let mut excluded = BTreeSet::new();
    let mut problems = Vec::new();
    for (method, path, reason) in exclusions() {
        let key = (method, path);
        if reason.len() < 20 {
            problems.push(format!("excluded without a reason: {} {}", key.0, key.1));
        }
        if !documented.contains(&key) {
            problems.push(format!(
                "excluded but no documented, non-deprecated operation: {} {}",
                key.0, key.1
            ));
        }
        if covered.contains(&key) {
            problems.push(format!(
                "excluded and in the call table: {} {}",
                key.0, key.1
            ));
        }
        if !excluded.insert(key.clone()) {
            problems.push(format!("excluded twice: {} {}", key.0, key.1));
        }
    }
    for key in &covered {
        if !spec
            .operations()
            .iter()
            .any(|op| (&op.method, &op.template) == (&key.0, &key.1))
        {
            problems.push(format!(
                "in the call table but not documented: {} {}",
                key.0, key.1
            ));
        }
    }
    for key in documented.difference(&covered) {
        if !excluded.contains(key) {
            problems.push(format!(
                "neither in the call table nor in tests/openapi/EXCLUDED.md: {} {}",
                key.0, key.1
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_documented_schema_compiles() {
    let spec = Spec::load();
    assert!(spec.operations().len() > 50, "{}", spec.operations().len());
    let failures = spec.compile_all();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn paths_map_to_the_most_specific_template() {
    let spec = Spec::load();
    let template = |method: &str, path: &str| {
        let ops = spec.operations_for(method, path);
        ops.first().map(|op| op.template.clone())
    };
    let id = "0b1c2d3e-0000-4000-8000-000000000001";
    assert_eq!(
        template("GET", &format!("/v2/employees/{id}")).as_deref(),
        Some("/v2/employees/{employeeId}")
    );
    assert_eq!(
        template("POST", &format!("/v1/vendors/{id}:archive")).as_deref(),
        Some("/v1/vendors/{id}:archive")
    );
    assert_eq!(
        template("POST", "/v1/accounting-entries:search").as_deref(),
        Some("/v1/accounting-entries:search")
    );
    assert_eq!(
        template("POST", "/v1/accounting-entries/receipts:search").as_deref(),
        Some("/v1/accounting-entries/receipts:search")
    );
    assert_eq!(template("GET", "/v9/nothing"), None);
    assert_eq!(template("DELETE", "/v2/employees"), None);
}

/// A recorded exchange, made up.
fn exchange(method: &str, path: &str, query: Option<&str>, status: u16, body: Value) -> Exchange {
    Exchange {
        method: method.into(),
        route: Some(path.into()),
        path: path.into(),
        query: query.map(str::to_owned),
        request_content_type: None,
        request_body: Default::default(),
        status,
        response_content_type: Some("application/json;charset=UTF-8".into()),
        response_body: serde_json::to_vec(&body).unwrap().into(),
        answer_dropped: false,
    }
}

fn employee() -> Value {
    json!({
        "id": "0b1c2d3e-0000-4000-8000-000000000001",
        "companyId": "0b1c2d3e-0000-4000-8000-000000000002",
        "email": "ada@example.com",
        "firstName": "Ada",
        "lastName": "Lovelace",
        "code": "E-1"
    })
}

/// The checker must not pass everything: each deliberate mistake is reported, and the
/// same exchange without it is not.
#[test]
fn the_checker_reports_what_disagrees() {
    let spec = Spec::load();
    let path = "/v2/employees/0b1c2d3e-0000-4000-8000-000000000001";
    let problems = |e: &Exchange| -> Vec<String> {
        spec.check(e).into_iter().map(|p| p.to_string()).collect()
    };
    let get = |body: Value| exchange("GET", path, None, 200, json!({ "data": body }));

    assert_eq!(problems(&get(employee())), Vec::<String>::new());

    let mut wrong = employee();
    wrong.as_object_mut().unwrap().remove("email");
    let found = problems(&get(wrong));
    assert!(
        found.len() == 1 && found[0].contains("\"email\" is a required property"),
        "{found:?}"
    );

    let mut wrong = employee();
    wrong["emial"] = json!("typo@example.com");
    let found = problems(&get(wrong));
    assert!(
        found.len() == 1 && found[0].contains("emial"),
        "an invented field: {found:?}"
    );

    let mut wrong = employee();
    wrong["id"] = json!("E-1");
    wrong["firstName"] = json!(42);
    let found = problems(&get(wrong));
    assert_eq!(
        found.len(),
        2,
        "a bad uuid and a number for a string: {found:?}"
    );

    let found = problems(&exchange("GET", path, None, 418, json!({"type": "TEAPOT"})));
    assert!(
        found.len() == 1 && found[0].contains("not documented"),
        "{found:?}"
    );

    let found = problems(&exchange("GET", "/v2/teapots", None, 200, json!({})));
    assert!(
        found.len() == 1 && found[0].contains("no operation"),
        "{found:?}"
    );

    let mut unrouted = get(employee());
    unrouted.route = None;
    let found = problems(&unrouted);
    assert!(
        found.len() == 1 && found[0].contains("no route"),
        "{found:?}"
    );

    // The one endpoint that spells it `companyId`; a cursor outside Pleo's alphabet.
    let page = json!({
        "data": [employee()],
        "pagination": {
            "hasNextPage": false,
            "hasPreviousPage": false,
            "currentRequestPagination": {"parameters": {}}
        }
    });
    let list = |query: &str| exchange("GET", "/v2/employees", Some(query), 200, page.clone());
    assert_eq!(
        problems(&list(
            "companyId=0b1c2d3e-0000-4000-8000-000000000002&limit=5"
        )),
        Vec::<String>::new()
    );
    let found = problems(&list(
        "company_id=0b1c2d3e-0000-4000-8000-000000000002&after=abc&limit=x",
    ));
    assert_eq!(found.len(), 3, "{found:?}");

    let mut with_body = get(employee());
    with_body.request_body = b"{}".as_slice().into();
    let found = problems(&with_body);
    assert!(
        found.len() == 1 && found[0].contains("takes none"),
        "{found:?}"
    );

    // An error the allowlist covers is still checked, as ExceptionInfo.
    let found = problems(&exchange(
        "GET",
        path,
        None,
        404,
        json!({"message": "no type"}),
    ));
    assert!(
        found.len() == 1 && found[0].contains("\"type\" is a required property"),
        "{found:?}"
    );
    assert!(
        problems(&exchange(
            "GET",
            path,
            None,
            404,
            json!({"type": "NOT_FOUND"})
        ))
        .is_empty()
    );
}

/// OpenAPI 3.0 (`nullable`, `format: int32`, `readOnly`) as JSON Schema.
#[test]
fn openapi_specifics_are_converted() {
    let spec = Spec::load();
    let coa = spec
        .doc_index("pleo-chart-of-accounts-openapi.yml")
        .unwrap();
    let item = json!({"$ref": "#/components/schemas/BookkeepingAccountBatchRequestItemV1"});
    let check = |value: Value| spec.validate(coa, &item, Direction::Request, &value);
    assert!(
        check(json!({"archived": false, "externalId": "x", "name": "n", "code": null})).is_empty()
    );
    assert_eq!(
        check(json!({"archived": false, "externalId": "x", "name": null})).len(),
        1,
        "name is not nullable"
    );
    assert_eq!(
        check(json!({"archived": false, "externalId": "", "name": "n"})).len(),
        1,
        "minLength"
    );

    let int32 = openapi::convert(
        &json!({"type": "integer", "format": "int32"}),
        Direction::Response,
    );
    assert_eq!(int32["maximum"], json!(i32::MAX));
    let nullable_ref = openapi::convert(
        &json!({"allOf": [{"$ref": "#/components/schemas/Money"}], "nullable": true}),
        Direction::Response,
    );
    assert_eq!(nullable_ref["anyOf"][1], json!({"type": "null"}));
    let nullable_enum = openapi::convert(
        &json!({"type": ["string", "null"], "enum": ["A", "B"]}),
        Direction::Response,
    );
    assert_eq!(nullable_enum["enum"], json!(["A", "B", null]));
    let read_only = json!({
        "type": "object",
        "required": ["id", "name"],
        "properties": {"id": {"type": "string", "readOnly": true}, "name": {"type": "string"}}
    });
    assert_eq!(
        openapi::convert(&read_only, Direction::Request)["required"],
        json!(["name"])
    );
    assert_eq!(
        openapi::convert(&read_only, Direction::Response)["required"],
        json!(["id", "name"])
    );
    let date = openapi::convert(
        &json!({"type": "string", "format": "date-time", "pattern": "YYYY-MM-DDTHH:mi:ssZ"}),
        Direction::Response,
    );
    assert_eq!(date, json!({"type": "string", "format": "date-time"}));
}
