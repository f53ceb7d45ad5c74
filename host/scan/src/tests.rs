use serde_json::Value;

use super::*;

/// What a reader that builds the whole answer would say: `data`'s text and the pagination
/// (next cursor, previous cursor, total).
fn parsed(body: &str) -> (String, Option<String>, Option<String>, Option<u64>) {
    #[derive(Deserialize)]
    struct Full<'a> {
        #[serde(borrow)]
        data: &'a RawValue,
        pagination: PageInfo,
    }
    let full: Full = serde_json::from_str(body).unwrap();
    let cursor = full
        .pagination
        .has_next_page
        .then_some(full.pagination.end_cursor)
        .flatten();
    let previous = full
        .pagination
        .has_previous_page
        .then_some(full.pagination.start_cursor)
        .flatten();
    (
        full.data.get().to_owned(),
        cursor,
        previous,
        full.pagination.total,
    )
}

#[test]
fn the_one_pass_finds_the_data_a_full_parse_finds() {
    let data = r#"[{"id":"e1","companyId":"c1","note":"] , \"data\": [","x":{"a":[1,{}]}}, {"id":"e2","companyId":"c2"}]"#;
    let pagination = r#"{"hasNextPage":true,"endCursor":"AB]\"C","total":2,"hasPreviousPage":true,"startCursor":"Z\"["}"#;
    let bodies = [
        format!(r#"{{"data":{data},"pagination":{pagination}}}"#),
        format!(r#"{{"pagination":{pagination},"data":{data}}}"#),
        format!("{{ \"data\" :\n\t{data} ,\n \"pagination\" : {pagination} }}\n"),
        format!("  {{\"pagination\":{pagination} , \"data\"  :  {data}  }}  "),
        format!(r#"{{"x":[1,"]"],"data":{data},"y":{{"data":[]}},"pagination":{pagination}}}"#),
        // Keys written with escapes: found by a second read, the same text.
        format!(r#"{{"d\u0061ta":{data},"pagination":{pagination}}}"#),
        format!(r#"{{"data":{data},"p\u0061gination":{pagination}}}"#),
        format!(r#"{{"data":[],"pagination":{pagination}}}"#),
        format!(r#"{{"data":[ ],"pagination":{pagination}}}"#),
    ];
    for body in &bodies {
        // Found by the one pass unless a key around `data` was written with escapes.
        let escaped = body.contains("\\u0061");
        assert_eq!(found(body) == Found::Lost, escaped, "{body}");
        let page = page(body.as_bytes(), Some("companyId")).unwrap();
        let (want_data, want_cursor, want_previous, want_total) = parsed(body);
        assert_eq!(page.data, want_data, "{body}");
        assert_eq!(page.next_cursor, want_cursor, "{body}");
        assert_eq!(page.prev_cursor, want_previous, "{body}");
        assert_eq!(page.prev_cursor.as_deref(), Some("Z\"["), "{body}");
        assert_eq!(page.total, want_total, "{body}");
        let items: Vec<Value> = serde_json::from_str(&want_data).unwrap();
        assert_eq!(page.objects.len(), items.len(), "{body}");
        for (item, owned) in items.iter().zip(&page.objects) {
            let string = |field: &str| item.get(field).and_then(Value::as_str);
            assert_eq!(owned.id.as_deref(), string("id"), "{body}");
            assert_eq!(owned.owner.as_deref(), string("companyId"), "{body}");
        }
    }
}

/// Where the one pass placed `data`, without the second read.
fn found(body: &str) -> Found {
    let mut de = serde_json::Deserializer::from_str(body);
    let envelope = Envelope {
        text: body,
        owner_field: None,
    };
    envelope.deserialize(&mut de).unwrap().data.unwrap().0
}

#[test]
fn without_an_owner_field_no_objects_are_read() {
    let body = br#"{"data":[{"id":"e1","companyId":"c1"}],"pagination":{"hasNextPage":false}}"#;
    let page = page(body, None).unwrap();
    assert_eq!(page.data, r#"[{"id":"e1","companyId":"c1"}]"#);
    assert!(page.objects.is_empty());
    assert_eq!(
        (page.next_cursor, page.prev_cursor, page.total),
        (None, None, None)
    );
}

#[test]
fn what_is_not_a_page_is_refused() {
    let refused = |body: &str| page(body.as_bytes(), Some("companyId")).unwrap_err().0;
    let ok_pagination = r#""pagination":{"hasNextPage":false}"#;
    assert!(refused(&format!(r#"{{"data":{{}},{ok_pagination}}}"#)).contains(DATA_NOT_AN_ARRAY));
    assert!(refused(&format!(r#"{{"data":"[]",{ok_pagination}}}"#)).contains(DATA_NOT_AN_ARRAY));
    assert!(refused(&format!(r#"{{"data":null,{ok_pagination}}}"#)).contains(DATA_NOT_AN_ARRAY));
    assert!(refused(&format!(r#"{{{ok_pagination}}}"#)).contains("missing field `data`"));
    assert!(refused(r#"{"data":[]}"#).contains("missing field `pagination`"));
    assert!(
        refused(r#"{"data":[],"pagination":{"hasNextPage":true}}"#)
            .contains("endCursor is missing")
    );
    assert!(
        refused(r#"{"data":[],"pagination":{"hasNextPage":false,"hasPreviousPage":true}}"#)
            .contains("startCursor is missing")
    );
    // A second `data` would let the owner check and the plugin read different arrays.
    assert!(
        refused(&format!(
            r#"{{"data":[],{ok_pagination},"data":[{{"companyId":"x"}}]}}"#
        ))
        .contains("duplicate field `data`")
    );
    assert!(
        refused(&format!(r#"{{"data":[],{ok_pagination},{ok_pagination}}}"#)).contains("duplicate")
    );
    assert!(refused(&format!(r#"{{"data":[],{ok_pagination}}} x"#)).contains("trailing"));
    assert!(refused(&format!(r#"{{"data":[{ok_pagination}}}"#)).contains("expected"));
    assert!(refused("[]").contains("expected"));
    assert!(
        page(
            b"{\"data\":[\"\xff\"],\"pagination\":{\"hasNextPage\":false}}",
            None
        )
        .is_err()
    );
}

#[test]
fn answers_split_into_objects() {
    assert_eq!(
        objects(r#"[{"a":1},{"a":2}]"#, "companyId").unwrap().len(),
        2
    );
    assert_eq!(objects(r#"{"a":1}"#, "companyId").unwrap().len(), 1);
    assert!(objects("3", "companyId").is_err());
    assert!(objects(r#"[{"a":1}] x"#, "companyId").is_err());
    assert!(objects(r#"[{"a":1}"#, "companyId").is_err());
}

/// The scan reads what a parsed object would say of its id and owner, for every shape an
/// item can take: the field missing, null, not a string, repeated, escaped, nested.
#[test]
fn the_scan_reads_what_a_parsed_object_says() {
    let text = r#"[
        {"id": "e1", "companyId": "c1", "note": {"companyId": "nested"}, "tags": [1, {}]},
        {"id": "e2"},
        {"id": "e3", "companyId": null},
        {"id": 4, "companyId": 7},
        {"companyId": "first", "companyId": "c\u0032", "id": "e\"5"},
        {"companyId": "c1", "companyId": null},
        "not an object", 3, null, [{"companyId": "c1"}]
    ]"#;
    let parsed: Vec<Value> = serde_json::from_str(text).unwrap();
    let scanned = objects(text, "companyId").unwrap();
    assert_eq!(scanned.len(), parsed.len());
    for (value, owned) in parsed.iter().zip(&scanned) {
        let string = |field: &str| value.get(field).and_then(Value::as_str);
        assert_eq!(owned.id.as_deref(), string("id"), "{value}");
        assert_eq!(owned.owner.as_deref(), string("companyId"), "{value}");
    }
    assert_eq!(scanned[4].owner.as_deref(), Some("c2"));
    // A company is its own owner: `id` is both.
    let companies = objects(r#"{"id": "c9", "name": "x"}"#, "id").unwrap();
    assert_eq!(companies[0].owner.as_deref(), Some("c9"));
    assert_eq!(companies[0].id.as_deref(), Some("c9"));
    // A page's items are read the same way.
    let body = format!(r#"{{"data":{text},"pagination":{{"hasNextPage":false}}}}"#);
    assert_eq!(
        page(body.as_bytes(), Some("companyId")).unwrap().objects,
        scanned
    );
}

/// Every kind of JSON value that is not an array is refused as `data`, with the one message.
#[test]
fn data_of_any_other_kind_is_refused_with_its_message() {
    for data in ["true", "5", "-5", "1.5", "null", r#""[]""#, "{}"] {
        let body = format!(r#"{{"data":{data},"pagination":{{"hasNextPage":false}}}}"#);
        for owner_field in [None, Some("companyId")] {
            let error = page(body.as_bytes(), owner_field).unwrap_err();
            assert!(error.0.contains(DATA_NOT_AN_ARRAY), "{data}: {error}");
        }
    }
}

/// The error's text is what the caller shows: serde's line, with what was expected.
#[test]
fn errors_say_what_was_expected() {
    let error = page(b"[]", None).unwrap_err();
    assert!(
        error
            .0
            .contains("expected a JSON object with `data` and `pagination`"),
        "{error}"
    );
    assert_eq!(error.to_string(), error.0);
    let error = objects("3", "companyId").unwrap_err();
    assert!(
        error.0.contains("expected a JSON object or array"),
        "{error}"
    );
    let error = page(b"{\"data\":[\"\xff\"]}", None).unwrap_err();
    assert!(error.0.starts_with("the answer is not UTF-8"), "{error}");
}

/// What `project` must give: each object parsed in full, then only the fields asked for.
fn projected_by_parsing(data: &str, fields: &[&str]) -> Value {
    let items: Vec<serde_json::Map<String, Value>> = serde_json::from_str(data).unwrap();
    Value::Array(
        items
            .into_iter()
            .map(|item| {
                Value::Object(
                    item.into_iter()
                        .filter(|(k, _)| fields.contains(&k.as_str()))
                        .collect(),
                )
            })
            .collect(),
    )
}

#[test]
fn a_projection_keeps_exactly_the_fields_asked_for() {
    let data = r#" [ {"id":"e1","companyId":"c1","note":"} , \"status\": {","status":"OK",
        "transactionValue":{"currency":"DKK","minors":-12},"tags":[1,{"status":"no"}]},
        {"st\u0061tus":"escaped key","id":"e2"}, {}, {"other":null} ] "#;
    for fields in [
        vec!["status"],
        vec!["id", "transactionValue"],
        vec!["tags", "note", "missing"],
        vec![],
    ] {
        let projected = project(data, &fields).unwrap();
        let parsed: Value = serde_json::from_str(&projected)
            .unwrap_or_else(|e| panic!("{fields:?}: not JSON: {e}: {projected}"));
        assert_eq!(parsed, projected_by_parsing(data, &fields), "{fields:?}");
        // Values are passed on as their text: nothing is re-encoded or reordered.
        if fields == ["id", "transactionValue"] {
            assert!(projected.contains(r#""transactionValue":{"currency":"DKK","minors":-12}"#));
        }
    }
    assert_eq!(project("[]", &["id"]).unwrap(), "[]");
    assert_eq!(
        project(r#"[{"a":1},{"a":2}]"#, &["a"]).unwrap(),
        r#"[{"a":1},{"a":2}]"#
    );
    assert_eq!(
        project(r#"[{"a":1},{"b":2}]"#, &["b"]).unwrap(),
        r#"[{},{"b":2}]"#
    );
}

#[test]
fn a_projection_of_anything_but_an_array_of_objects_is_refused() {
    for data in [
        r#"["x"]"#,
        "[1]",
        "[null]",
        "[[]]",
        r#"{"id":"e1"}"#,
        "[{}",
        "[{}] x",
        "",
    ] {
        assert!(project(data, &["id"]).is_err(), "{data}");
    }
}
