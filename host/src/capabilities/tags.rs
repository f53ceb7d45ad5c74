//! `tags-read` and `tags-write`: tag groups (dimensions such as projects or cost centres) and
//! their tags. The company goes in query `company_id` where Pleo takes it (listing and creating
//! tag groups); every other call names its group or tag by id.

use serde_json::{Value, json};

use super::call::Args;
use super::table::{
    CREATE_TAG, CREATE_TAG_GROUP, GET_TAG, GET_TAG_GROUP, LIST_TAG_GROUPS, LIST_TAGS, UPDATE_TAG,
    UPDATE_TAG_GROUP,
};
use super::{Caps, HostError, PageRequest, WitPage};
use crate::bindings::pleo::plugin::tags_write::{TagFields, TagGroupFields};
use crate::bindings::pleo::plugin::{tags_read, tags_write};

/// Pleo documents no maximum page size for tags; the host keeps pages bounded.
const MAX_PAGE: u32 = 100;

impl tags_read::Host for Caps {
    async fn list_tag_groups(&mut self, include_archived: bool) -> Result<String, HostError> {
        let args = Args::new()
            .query("company_id", self.company_id.clone())
            .query("include_archived", include_archived.to_string());
        self.text(&LIST_TAG_GROUPS, args).await
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
            .page(&page, MAX_PAGE);
        self.page(&LIST_TAGS, args).await
    }

    async fn get_tag(&mut self, tag_id: String) -> Result<String, HostError> {
        self.text(&GET_TAG, Args::new().id(tag_id)).await
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

#[cfg(test)]
mod tests {
    use super::*;

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
