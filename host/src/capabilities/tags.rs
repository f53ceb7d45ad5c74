//! `tags-read` and `tags-write`: tag groups (dimensions such as projects or cost centres) and
//! their tags. The company goes in query `company_id` where Pleo takes it (listing and creating
//! tag groups); every other call names its group or tag by id.

use serde_json::{Value, json};

use super::call::Args;
use super::paging;
use super::table::{
    ARCHIVE_TAGS, CREATE_TAG, CREATE_TAG_DIMENSION_VALUE, CREATE_TAG_GROUP,
    CREATE_TAG_GROUP_DIMENSION, DELETE_TAG, DELETE_TAG_DIMENSION_VALUE, DELETE_TAG_GROUP,
    DELETE_TAG_GROUP_DIMENSION, DELETE_TAGS, GET_TAG, GET_TAG_DIMENSION_VALUE, GET_TAG_GROUP,
    GET_TAG_GROUP_DIMENSION, GET_TAG_GROUP_USAGE, LIST_AGGREGATED_TAG_GROUPS,
    LIST_TAG_DIMENSION_VALUES, LIST_TAG_GROUP_DIMENSIONS, LIST_TAG_GROUPS, LIST_TAGS,
    SEARCH_AGGREGATED_TAGS, SEARCH_TAGS, UPDATE_TAG, UPDATE_TAG_DIMENSION_VALUE, UPDATE_TAG_GROUP,
    UPDATE_TAG_GROUP_DIMENSION,
};
use super::{Caps, HostError, PageRequest, WitPage, checks, invalid};
use crate::bindings::pleo::plugin::tags_read::TagFilter;
use crate::bindings::pleo::plugin::tags_write::{DimensionFields, TagFields, TagGroupFields};
use crate::bindings::pleo::plugin::{tags_read, tags_write};

/// `BulkTagDeleteModel` and `BulkTagArchiveModel`: `tagIds` holds 1 to 100 ids.
pub(crate) const MAX_BULK_TAGS: usize = 100;
/// Pleo documents no maximum for the search's id lists; the host bounds them.
const MAX_SEARCH_IDS: usize = 100;
/// Pleo documents no maximum for `textSearch`; the host bounds it.
const MAX_TEXT: usize = 255;
/// Pleo documents no maximum for a dimension's code and name or a tag's value for it; the
/// host bounds each, which bounds the bodies too.
const MAX_DIMENSION_TEXT: usize = 255;
/// `displayOrder` is an int32 position "starting from 1"; the host keeps it to a range a
/// group's dimensions can use.
const MAX_DISPLAY_ORDER: u32 = 10_000;
/// At most this many `tag_group_ids` in one aggregation (the query stays short).
const MAX_AGGREGATED_GROUPS: usize = 100;

impl tags_read::Host for Caps {
    async fn list_tag_groups(
        &mut self,
        include_archived: bool,
        include_tags_count: bool,
    ) -> Result<String, HostError> {
        let args = Args::new()
            .query("company_id", self.company_id.clone())
            .query("include_archived", include_archived.to_string())
            .query("include_tags_count", include_tags_count.to_string());
        self.text(&LIST_TAG_GROUPS, args).await
    }

    async fn get_tag_group_usage(&mut self, group_id: String) -> Result<String, HostError> {
        self.text(&GET_TAG_GROUP_USAGE, Args::new().id(group_id))
            .await
    }

    async fn search_tags(
        &mut self,
        filter: TagFilter,
        page: PageRequest,
    ) -> Result<WitPage, HostError> {
        let args = Args::new()
            .body(search_body(filter))
            .query("company_id", self.company_id.clone())
            .page(&page, &paging::CURSOR_OR_OFFSET);
        self.page(&SEARCH_TAGS, args).await
    }

    async fn get_tag_group(&mut self, group_id: String) -> Result<String, HostError> {
        self.text(&GET_TAG_GROUP, Args::new().id(group_id)).await
    }

    async fn list_tags(
        &mut self,
        group_id: String,
        include_archived: bool,
        page: PageRequest,
    ) -> Result<WitPage, HostError> {
        let args = Args::new()
            .id(group_id)
            .query("include_archived", include_archived.to_string())
            .page(&page, &paging::CURSOR_OR_OFFSET);
        self.page(&LIST_TAGS, args).await
    }

    async fn get_tag(&mut self, tag_id: String) -> Result<String, HostError> {
        self.text(&GET_TAG, Args::new().id(tag_id)).await
    }

    async fn list_aggregated_tag_groups(
        &mut self,
        tag_group_ids: Vec<String>,
    ) -> Result<String, HostError> {
        let mut args = Args::new().query("company_id", self.company_id.clone());
        let ids = checks::unique(tag_group_ids);
        if let Err(refusal) = checks::at_most("tag-group-ids", ids.len(), MAX_AGGREGATED_GROUPS) {
            args = args.refuse(refusal);
        }
        for id in ids {
            args = args.query_id("tag_group_ids", id);
        }
        self.text(&LIST_AGGREGATED_TAG_GROUPS, args).await
    }

    async fn search_aggregated_tags(
        &mut self,
        filter: TagFilter,
        page: PageRequest,
    ) -> Result<WitPage, HostError> {
        let args = Args::new()
            .body(search_body(filter))
            .query("company_id", self.company_id.clone())
            .page(&page, &paging::CURSOR_OR_OFFSET);
        self.page(&SEARCH_AGGREGATED_TAGS, args).await
    }

    async fn list_tag_group_dimensions(&mut self, group_id: String) -> Result<String, HostError> {
        self.text(&LIST_TAG_GROUP_DIMENSIONS, Args::new().id(group_id))
            .await
    }

    async fn get_tag_group_dimension(
        &mut self,
        group_id: String,
        dimension_id: String,
    ) -> Result<String, HostError> {
        let args = Args::new().id(group_id).id(dimension_id);
        self.text(&GET_TAG_GROUP_DIMENSION, args).await
    }

    async fn list_tag_dimension_values(&mut self, tag_id: String) -> Result<String, HostError> {
        self.text(&LIST_TAG_DIMENSION_VALUES, Args::new().id(tag_id))
            .await
    }

    async fn get_tag_dimension_value(
        &mut self,
        tag_id: String,
        dimension_id: String,
    ) -> Result<String, HostError> {
        let args = Args::new().id(tag_id).id(dimension_id);
        self.text(&GET_TAG_DIMENSION_VALUE, args).await
    }
}

impl tags_write::Host for Caps {
    async fn create_tag_group(&mut self, group: TagGroupFields) -> Result<String, HostError> {
        let args = Args::new()
            .body(Ok(tag_group_body(group)))
            .query("company_id", self.company_id.clone());
        self.text(&CREATE_TAG_GROUP, args).await
    }

    async fn update_tag_group(
        &mut self,
        group_id: String,
        group: TagGroupFields,
    ) -> Result<String, HostError> {
        let args = Args::new().id(group_id).body(Ok(tag_group_body(group)));
        self.text(&UPDATE_TAG_GROUP, args).await
    }

    async fn create_tag(&mut self, group_id: String, tag: TagFields) -> Result<String, HostError> {
        let args = Args::new().id(group_id).body(Ok(tag_body(tag)));
        self.text(&CREATE_TAG, args).await
    }

    async fn update_tag(&mut self, tag_id: String, tag: TagFields) -> Result<String, HostError> {
        let args = Args::new().id(tag_id).body(Ok(tag_body(tag)));
        self.text(&UPDATE_TAG, args).await
    }

    async fn delete_tag_group(&mut self, group_id: String) -> Result<(), HostError> {
        self.nothing(&DELETE_TAG_GROUP, Args::new().id(group_id))
            .await
    }

    async fn delete_tag(&mut self, tag_id: String) -> Result<(), HostError> {
        self.nothing(&DELETE_TAG, Args::new().id(tag_id)).await
    }

    async fn delete_tags(&mut self, tag_ids: Vec<String>) -> Result<(), HostError> {
        let body = bulk_body(&self.company_id, tag_ids, None);
        self.nothing(&DELETE_TAGS, Args::new().body(body)).await
    }

    async fn archive_tags(
        &mut self,
        tag_ids: Vec<String>,
        archived: bool,
    ) -> Result<String, HostError> {
        let body = bulk_body(&self.company_id, tag_ids, Some(archived));
        self.text(&ARCHIVE_TAGS, Args::new().body(body)).await
    }

    async fn create_tag_group_dimension(
        &mut self,
        group_id: String,
        dimension: DimensionFields,
    ) -> Result<String, HostError> {
        let args = Args::new()
            .id(group_id)
            .body(dimension_body(dimension, None));
        self.text(&CREATE_TAG_GROUP_DIMENSION, args).await
    }

    async fn update_tag_group_dimension(
        &mut self,
        group_id: String,
        dimension_id: String,
        dimension: DimensionFields,
        display_order: u32,
    ) -> Result<String, HostError> {
        let args = Args::new()
            .id(group_id)
            .id(dimension_id)
            .body(dimension_body(dimension, Some(display_order)));
        self.text(&UPDATE_TAG_GROUP_DIMENSION, args).await
    }

    async fn delete_tag_group_dimension(
        &mut self,
        group_id: String,
        dimension_id: String,
    ) -> Result<(), HostError> {
        let args = Args::new().id(group_id).id(dimension_id);
        self.nothing(&DELETE_TAG_GROUP_DIMENSION, args).await
    }

    async fn create_tag_dimension_value(
        &mut self,
        tag_id: String,
        dimension_id: String,
        value: String,
    ) -> Result<String, HostError> {
        let args = Args::new()
            .id(tag_id)
            .id(dimension_id)
            .body(value_body(value));
        self.text(&CREATE_TAG_DIMENSION_VALUE, args).await
    }

    async fn update_tag_dimension_value(
        &mut self,
        tag_id: String,
        dimension_id: String,
        value: String,
    ) -> Result<String, HostError> {
        let args = Args::new()
            .id(tag_id)
            .id(dimension_id)
            .body(value_body(value));
        self.text(&UPDATE_TAG_DIMENSION_VALUE, args).await
    }

    async fn delete_tag_dimension_value(
        &mut self,
        tag_id: String,
        dimension_id: String,
    ) -> Result<String, HostError> {
        let args = Args::new().id(tag_id).id(dimension_id);
        self.text(&DELETE_TAG_DIMENSION_VALUE, args).await
    }
}

/// Builds `CompositeTagSearchRequest`: `{tagGroupIds?, tagIds?, textSearch?}` with `archived`
/// when given, else `includeArchived: true` (Pleo's default leaves archived tags out).
fn search_body(filter: TagFilter) -> Result<Value, HostError> {
    let mut body = serde_json::Map::new();
    for (name, ids) in [
        ("tagGroupIds", filter.tag_group_ids),
        ("tagIds", filter.tag_ids),
    ] {
        if !ids.is_empty() {
            let ids = checks::unique(ids);
            checks::ids(name, &ids, MAX_SEARCH_IDS)?;
            body.insert(name.into(), json!(ids));
        }
    }
    if let Some(text) = filter.text {
        checks::text("textSearch", &text, 1, MAX_TEXT)?;
        body.insert("textSearch".into(), json!(text));
    }
    match filter.archived {
        Some(archived) => body.insert("archived".into(), json!(archived)),
        None => body.insert("includeArchived".into(), json!(true)),
    };
    Ok(Value::Object(body))
}

/// Builds `BulkTagDeleteModel` (`{companyId, tagIds}`) or, with `archived`,
/// `BulkTagArchiveModel`: 1 to 100 distinct, well-formed ids of the run's company.
fn bulk_body(
    company_id: &str,
    tag_ids: Vec<String>,
    archived: Option<bool>,
) -> Result<Value, HostError> {
    if tag_ids.is_empty() {
        return Err(invalid("tagIds must name at least one tag".into()));
    }
    let tag_ids = checks::unique(tag_ids);
    checks::ids("tagIds", &tag_ids, MAX_BULK_TAGS)?;
    let mut body = json!({ "companyId": company_id, "tagIds": tag_ids });
    if let Some(archived) = archived {
        body["archived"] = json!(archived);
    }
    Ok(body)
}

/// Builds `TagGroupCreateModel` / `TagGroupUpdateModel`: `{code, name, archived, metadata}`.
/// The update requires `metadata` (and replaces the group's with it), so it is always sent.
fn tag_group_body(group: TagGroupFields) -> Value {
    let metadata: serde_json::Map<String, Value> = group
        .metadata
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    json!({ "code": group.code, "name": group.name, "archived": group.archived, "metadata": metadata })
}

/// Builds `TagCreateModel` / `TagUpdateModel`: `{code, name, archived}`.
fn tag_body(tag: TagFields) -> Value {
    json!({ "code": tag.code, "name": tag.name, "archived": tag.archived })
}

/// Builds `TagGroupDimensionCreateModel` (`{code, name, visible}`: its `displayOrder` is
/// deprecated, Pleo places a new dimension last) or, with `display_order`,
/// `TagGroupDimensionUpdateModel`. Code and name hold 1 to 255 characters.
fn dimension_body(
    dimension: DimensionFields,
    display_order: Option<u32>,
) -> Result<Value, HostError> {
    checks::text("code", &dimension.code, 1, MAX_DIMENSION_TEXT)?;
    checks::not_empty("code", &dimension.code)?;
    checks::text("name", &dimension.name, 1, MAX_DIMENSION_TEXT)?;
    checks::not_empty("name", &dimension.name)?;
    let mut body = json!({
        "code": dimension.code,
        "name": dimension.name,
        "visible": dimension.visible,
    });
    if let Some(order) = display_order {
        if !(1..=MAX_DISPLAY_ORDER).contains(&order) {
            return Err(invalid(format!(
                "displayOrder must be 1 to {MAX_DISPLAY_ORDER}, not {order}"
            )));
        }
        body["displayOrder"] = json!(order);
    }
    Ok(body)
}

/// Builds `TagDimensionValueCreateModel` / `…UpdateModel`: `{value}`, 1 to 255 characters.
fn value_body(value: String) -> Result<Value, HostError> {
    checks::text("value", &value, 1, MAX_DIMENSION_TEXT)?;
    Ok(json!({ "value": value }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_sends_only_the_filters_given() {
        let filter = |archived| TagFilter {
            tag_group_ids: vec![],
            tag_ids: vec![],
            text: None,
            archived,
        };
        assert_eq!(
            search_body(filter(None)).unwrap(),
            json!({"includeArchived": true})
        );
        let some = TagFilter {
            tag_group_ids: vec!["g1".into(), "g1".into()],
            tag_ids: vec!["t1".into()],
            text: Some("apollo".into()),
            archived: Some(false),
        };
        assert_eq!(
            search_body(some).unwrap(),
            json!({"tagGroupIds": ["g1"], "tagIds": ["t1"], "textSearch": "apollo", "archived": false})
        );
        let many = TagFilter {
            tag_ids: (0..101).map(|i| format!("t{i}")).collect(),
            ..filter(None)
        };
        assert!(search_body(many).is_err());
        let long = TagFilter {
            text: Some("x".repeat(256)),
            ..filter(None)
        };
        assert!(search_body(long).is_err());
    }

    #[test]
    fn bulk_bodies_hold_1_to_100_distinct_ids() {
        let ids = |n: usize| (0..n).map(|i| format!("t{i}")).collect::<Vec<_>>();
        assert_eq!(
            bulk_body(
                "c1",
                vec!["t1".into(), "t1".into(), "t2".into()],
                Some(true)
            )
            .unwrap(),
            json!({"companyId": "c1", "tagIds": ["t1", "t2"], "archived": true})
        );
        assert_eq!(
            bulk_body("c1", ids(100), None).unwrap()["tagIds"]
                .as_array()
                .unwrap()
                .len(),
            100
        );
        assert!(bulk_body("c1", ids(101), None).is_err());
        assert!(bulk_body("c1", vec![], Some(false)).is_err());
        assert!(bulk_body("c1", vec!["../x".into()], None).is_err());
    }

    #[test]
    fn dimension_bodies_are_bounded_and_only_the_update_sends_display_order() {
        let fields = |code: &str, name: &str| DimensionFields {
            code: code.into(),
            name: name.into(),
            visible: true,
        };
        assert_eq!(
            dimension_body(fields("PM", "Project manager"), None).unwrap(),
            json!({"code": "PM", "name": "Project manager", "visible": true})
        );
        assert_eq!(
            dimension_body(fields("PM", "Lead"), Some(3)).unwrap(),
            json!({"code": "PM", "name": "Lead", "visible": true, "displayOrder": 3})
        );
        assert!(dimension_body(fields("PM", "x"), Some(MAX_DISPLAY_ORDER)).is_ok());
        for order in [0, MAX_DISPLAY_ORDER + 1, u32::MAX] {
            assert!(
                dimension_body(fields("PM", "x"), Some(order)).is_err(),
                "{order}"
            );
        }
        let long = "x".repeat(MAX_DIMENSION_TEXT + 1);
        let fine = "é".repeat(MAX_DIMENSION_TEXT);
        assert!(dimension_body(fields(&fine, &fine), None).is_ok());
        for (code, name) in [
            ("", "n"),
            ("  ", "n"),
            ("c", ""),
            ("c", " "),
            (&long, "n"),
            ("c", &long),
        ] {
            assert!(
                dimension_body(fields(code, name), None).is_err(),
                "{code:?} {name:?}"
            );
        }
    }

    #[test]
    fn a_dimension_value_holds_1_to_255_characters() {
        assert_eq!(value_body("Ada".into()).unwrap(), json!({"value": "Ada"}));
        assert!(value_body("v".repeat(MAX_DIMENSION_TEXT)).is_ok());
        assert!(value_body("v".repeat(MAX_DIMENSION_TEXT + 1)).is_err());
        assert!(value_body(String::new()).is_err());
    }

    #[test]
    fn bodies_use_pleo_field_names() {
        let group = TagGroupFields {
            code: "PRJ".into(),
            name: "Projects".into(),
            archived: false,
            metadata: vec![("erp".into(), "dim-7".into())],
        };
        assert_eq!(
            tag_group_body(group),
            json!({"code": "PRJ", "name": "Projects", "archived": false, "metadata": {"erp": "dim-7"}})
        );
        let tag = TagFields {
            code: "P-1".into(),
            name: "Apollo".into(),
            archived: true,
        };
        assert_eq!(
            tag_body(tag),
            json!({"code": "P-1", "name": "Apollo", "archived": true})
        );
    }
}
