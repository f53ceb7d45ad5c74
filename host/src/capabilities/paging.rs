//! Which page of a list a plugin asks for (`after`, `before` or `offset`), its size and its
//! order, turned into the query parameters Pleo documents for that operation. Each operation
//! allows what its OpenAPI document lists (a [`Paging`]); a page request it cannot take is
//! refused here, with `invalid-request`, before anything is sent.

use super::{HostError, PageRequest, invalid, truncate};
use crate::bindings::pleo::plugin::types::{SortBy, SortOrder};

/// The longest cursor the host passes on (Pleo's are tens of characters).
const MAX_CURSOR: usize = 1024;
/// Most sort keys of one request: more than any Pleo object has fields worth sorting by.
const MAX_SORT_KEYS: usize = 8;
/// Most characters of a field name (a sort key, a field to keep).
const MAX_FIELD_NAME: usize = 64;
/// Most fields a page request may keep: more than any Pleo object has.
const MAX_FIELDS: usize = 64;

/// What one list operation's document allows.
pub(super) struct Paging {
    /// The largest `limit`; a larger one is clamped to it.
    pub max_limit: u32,
    /// Whether it documents `offset`.
    pub offset: bool,
    pub sorting: SortKeys,
}

/// The `sorting_keys` an operation's document allows.
pub(super) enum SortKeys {
    /// The document lists them (an enum).
    Listed(&'static [&'static str]),
    /// The document takes any string: the host sends a field name, and Pleo answers 400 for
    /// one it cannot sort by.
    FieldName,
}

/// `POST /v1/accounting-entries:search`: cursors only, its documented keys.
pub(super) const ENTRIES: Paging = Paging {
    max_limit: 100,
    offset: false,
    sorting: SortKeys::Listed(&["settledAt", "performedAt", "id", "bookkeepingDate"]),
};

/// The receipts of the accounting-entries API (list and search): cursors only.
pub(super) const RECEIPTS: Paging = Paging {
    max_limit: 100,
    offset: false,
    sorting: SortKeys::Listed(&["createdAt", "id", "size"]),
};

/// Every other list operation (companies, employees, export, vendors, accounts, tags, tax
/// codes): cursors or an offset, any field name as a key.
pub(super) const CURSOR_OR_OFFSET: Paging = Paging {
    max_limit: 100,
    offset: true,
    sorting: SortKeys::FieldName,
};

/// The query parameters of `page` for an operation that allows `paging`: position, limit
/// (clamped), then one `sorting_order` per `sorting_keys`. Refused when the request names two
/// positions, a position the operation does not document, a malformed cursor or a key the
/// operation does not sort by.
pub(super) fn query(
    page: &PageRequest,
    paging: &Paging,
) -> Result<Vec<(&'static str, String)>, HostError> {
    let mut query = Vec::with_capacity(2 + 2 * page.sorting.len());
    let positions = [
        page.after.is_some(),
        page.before.is_some(),
        page.offset.is_some(),
    ];
    if positions.into_iter().filter(|given| *given).count() > 1 {
        return Err(invalid(
            "a page is asked for by one of after, before and offset, not more".into(),
        ));
    }
    if let Some(after) = &page.after {
        query.push(("after", checked_cursor(after)?.to_owned()));
    }
    if let Some(before) = &page.before {
        query.push(("before", checked_cursor(before)?.to_owned()));
    }
    if let Some(offset) = page.offset {
        if !paging.offset {
            return Err(invalid(
                "this list pages by cursor only (after/before): it has no offset".into(),
            ));
        }
        query.push(("offset", offset.to_string()));
    }
    if let Some(limit) = page.limit {
        query.push(("limit", limit.clamp(1, paging.max_limit).to_string()));
    }
    query.extend(sorting(&page.sorting, &paging.sorting)?);
    Ok(query)
}

/// The fields of each object the plugin asked to keep (`fields`; empty: all), checked: at
/// most [`MAX_FIELDS`] field names, each once.
pub(super) fn fields(page: &PageRequest) -> Result<Vec<String>, HostError> {
    if page.fields.len() > MAX_FIELDS {
        return Err(invalid(format!(
            "at most {MAX_FIELDS} fields, not {}",
            page.fields.len()
        )));
    }
    for (i, field) in page.fields.iter().enumerate() {
        if !is_field_name(field) {
            return Err(invalid(format!(
                "{:?} is not a field name",
                truncate(field, MAX_FIELD_NAME)
            )));
        }
        if page.fields[..i].contains(field) {
            return Err(invalid(format!("field {field:?} is given twice")));
        }
    }
    Ok(page.fields.clone())
}

/// A cursor goes into the URL as a query value: it must look like one Pleo gave.
fn checked_cursor(cursor: &str) -> Result<&str, HostError> {
    let ok = !cursor.is_empty()
        && cursor.len() <= MAX_CURSOR
        && cursor.chars().all(|c| c.is_ascii_graphic());
    if ok {
        Ok(cursor)
    } else {
        Err(invalid("the page cursor is malformed".into()))
    }
}

/// `sorting_keys`, then `sorting_order`, one of each per key (Pleo pairs them by position).
fn sorting(
    sorting: &[SortBy],
    allowed: &SortKeys,
) -> Result<Vec<(&'static str, String)>, HostError> {
    if sorting.len() > MAX_SORT_KEYS {
        return Err(invalid(format!(
            "at most {MAX_SORT_KEYS} sort keys, not {}",
            sorting.len()
        )));
    }
    let mut keys = Vec::with_capacity(sorting.len());
    for (i, by) in sorting.iter().enumerate() {
        let ok = match allowed {
            SortKeys::Listed(keys) => keys.contains(&by.key.as_str()),
            SortKeys::FieldName => is_field_name(&by.key),
        };
        if !ok {
            let shown = truncate(&by.key, MAX_FIELD_NAME);
            return Err(invalid(match allowed {
                SortKeys::Listed(keys) => {
                    format!("this list sorts by {}, not {shown:?}", keys.join(", "))
                }
                SortKeys::FieldName => format!("{shown:?} is not a field name to sort by"),
            }));
        }
        if sorting[..i].iter().any(|earlier| earlier.key == by.key) {
            return Err(invalid(format!("sort key {:?} is given twice", by.key)));
        }
        keys.push(("sorting_keys", by.key.clone()));
    }
    let orders = sorting
        .iter()
        .map(|by| ("sorting_order", order_name(by.order).to_owned()));
    Ok(keys.into_iter().chain(orders).collect())
}

/// A JSON field name as Pleo spells them (`createdAt`, `external_id`): a letter, then letters,
/// digits and `_`.
fn is_field_name(key: &str) -> bool {
    let mut chars = key.chars();
    key.len() <= MAX_FIELD_NAME
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `PageOrder`.
pub(super) fn order_name(order: SortOrder) -> &'static str {
    match order {
        SortOrder::Asc => "ASC",
        SortOrder::AscNullsFirst => "ASC_NULLS_FIRST",
        SortOrder::AscNullsLast => "ASC_NULLS_LAST",
        SortOrder::Desc => "DESC",
        SortOrder::DescNullsFirst => "DESC_NULLS_FIRST",
        SortOrder::DescNullsLast => "DESC_NULLS_LAST",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::pleo::plugin::types::PleoError;

    fn request() -> PageRequest {
        PageRequest {
            after: None,
            before: None,
            offset: None,
            limit: None,
            sorting: Vec::new(),
            fields: Vec::new(),
        }
    }

    fn by(key: &str, order: SortOrder) -> SortBy {
        SortBy {
            key: key.into(),
            order,
        }
    }

    fn sent(page: &PageRequest, paging: &Paging) -> Vec<(&'static str, String)> {
        match query(page, paging) {
            Ok(query) => query,
            Err(e) => panic!("refused: {e:?}"),
        }
    }

    /// The message of a refusal; it must be the host's own `invalid-request`.
    fn refused(page: &PageRequest, paging: &Paging) -> String {
        match query(page, paging) {
            Err(HostError::Guest(PleoError::InvalidRequest(e))) => {
                assert_eq!((e.status, e.code.as_str()), (400, "HOST_REJECTED_REQUEST"));
                e.message
            }
            Err(e) => panic!("refused otherwise: {e:?}"),
            Ok(query) => panic!("not refused: {query:?}"),
        }
    }

    fn pairs(list: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
        list.iter().map(|(k, v)| (*k, v.to_string())).collect()
    }

    #[test]
    fn each_position_limit_and_order_becomes_its_query_parameter() {
        assert!(sent(&request(), &CURSOR_OR_OFFSET).is_empty());
        let after = PageRequest {
            after: Some("ABC".into()),
            limit: Some(5000),
            ..request()
        };
        assert_eq!(
            sent(&after, &ENTRIES),
            pairs(&[("after", "ABC"), ("limit", "100")])
        );
        let before = PageRequest {
            before: Some("XYZ=".into()),
            limit: Some(0),
            ..request()
        };
        assert_eq!(
            sent(&before, &RECEIPTS),
            pairs(&[("before", "XYZ="), ("limit", "1")])
        );
        let offset = PageRequest {
            offset: Some(u32::MAX),
            limit: Some(7),
            sorting: vec![
                by("name", SortOrder::Desc),
                by("id", SortOrder::AscNullsLast),
            ],
            ..request()
        };
        assert_eq!(
            sent(&offset, &CURSOR_OR_OFFSET),
            pairs(&[
                ("offset", "4294967295"),
                ("limit", "7"),
                ("sorting_keys", "name"),
                ("sorting_keys", "id"),
                ("sorting_order", "DESC"),
                ("sorting_order", "ASC_NULLS_LAST"),
            ])
        );
    }

    /// Pleo documents before, after and offset as exclusive: two of them never go out.
    #[test]
    fn two_positions_are_refused() {
        let two = [
            PageRequest {
                after: Some("A".into()),
                before: Some("B".into()),
                ..request()
            },
            PageRequest {
                after: Some("A".into()),
                offset: Some(0),
                ..request()
            },
            PageRequest {
                before: Some("B".into()),
                offset: Some(3),
                ..request()
            },
        ];
        for page in &two {
            assert!(refused(page, &CURSOR_OR_OFFSET).contains("not more"));
        }
    }

    /// The accounting-entries lists document no offset.
    #[test]
    fn offset_is_refused_where_it_is_not_documented() {
        let page = PageRequest {
            offset: Some(20),
            ..request()
        };
        for paging in [&ENTRIES, &RECEIPTS] {
            assert!(refused(&page, paging).contains("no offset"));
        }
        assert_eq!(sent(&page, &CURSOR_OR_OFFSET), pairs(&[("offset", "20")]));
    }

    #[test]
    fn hostile_cursors_are_refused_in_either_direction() {
        let long = "A".repeat(MAX_CURSOR + 1);
        for cursor in ["", "a b", "a&limit=1000", "é", "\n", &long] {
            let after = PageRequest {
                after: Some(cursor.into()),
                ..request()
            };
            let before = PageRequest {
                before: Some(cursor.into()),
                ..request()
            };
            // `&` is graphic: it goes out percent-encoded as part of the one value.
            if cursor.contains('&') {
                assert_eq!(sent(&after, &ENTRIES)[0].1, cursor);
                continue;
            }
            assert!(refused(&after, &ENTRIES).contains("cursor"), "{cursor:?}");
            assert!(refused(&before, &ENTRIES).contains("cursor"), "{cursor:?}");
        }
    }

    #[test]
    fn sort_keys_are_those_the_operation_documents() {
        let sorted = |keys: &[&str]| PageRequest {
            sorting: keys.iter().map(|k| by(k, SortOrder::Asc)).collect(),
            ..request()
        };
        // Listed keys: exactly those.
        assert_eq!(
            sent(&sorted(&["size", "id"]), &RECEIPTS),
            pairs(&[
                ("sorting_keys", "size"),
                ("sorting_keys", "id"),
                ("sorting_order", "ASC"),
                ("sorting_order", "ASC"),
            ])
        );
        assert!(refused(&sorted(&["name"]), &RECEIPTS).contains("createdAt, id, size"));
        assert!(refused(&sorted(&["settledAt"]), &RECEIPTS).contains("not"));
        assert!(sent(&sorted(&["bookkeepingDate"]), &ENTRIES).len() == 2);
        // Any string in the document: a field name, nothing that could be more than one.
        let long = "a".repeat(MAX_FIELD_NAME + 1);
        for bad in [
            "",
            "1st",
            "name,id",
            "name&x=1",
            "a b",
            "na\u{0}me",
            "é",
            &long,
        ] {
            let message = refused(&sorted(&[bad]), &CURSOR_OR_OFFSET);
            assert!(message.contains("not a field name"), "{bad:?}: {message}");
        }
        assert_eq!(sent(&sorted(&["external_id2"]), &CURSOR_OR_OFFSET).len(), 2);
        assert!(refused(&sorted(&["name", "id", "name"]), &CURSOR_OR_OFFSET).contains("twice"));
        let many: Vec<String> = (0..=MAX_SORT_KEYS).map(|i| format!("k{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert!(refused(&sorted(&many), &CURSOR_OR_OFFSET).contains("at most"));
        assert_eq!(
            sent(&sorted(&many[..MAX_SORT_KEYS]), &CURSOR_OR_OFFSET).len(),
            2 * MAX_SORT_KEYS
        );
    }

    /// What a plugin may ask to keep of each object: field names, bounded, each once.
    #[test]
    fn fields_to_keep_are_field_names_bounded_in_count_and_length() {
        let asking = |fields: Vec<String>| PageRequest {
            fields,
            ..request()
        };
        let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let kept = fields(&asking(names(&["id", "transactionValue", "external_id"]))).unwrap();
        assert_eq!(kept, names(&["id", "transactionValue", "external_id"]));
        assert!(fields(&request()).unwrap().is_empty());
        let most: Vec<String> = (0..MAX_FIELDS).map(|i| format!("f{i}")).collect();
        assert_eq!(fields(&asking(most.clone())).unwrap().len(), MAX_FIELDS);

        let refusal = |list: Vec<String>| match fields(&asking(list)) {
            Err(HostError::Guest(PleoError::InvalidRequest(e))) => e.message,
            other => panic!("not refused as invalid: {other:?}"),
        };
        let mut too_many = most;
        too_many.push("one_more".into());
        assert!(refusal(too_many).contains("at most 64 fields"));
        assert!(refusal(names(&["id", "id"])).contains("twice"));
        let long = "a".repeat(MAX_FIELD_NAME + 1);
        for bad in ["", "1st", "a.b", "a b", "\u{1b}[2J", "é", &long] {
            let message = refusal(vec![bad.to_owned()]);
            assert!(message.contains("not a field name"), "{bad:?}: {message}");
            assert!(message.len() < 200, "{message}");
        }
    }
}
