//! `tags-read` and `tags-write`: tag groups (dimensions such as projects or cost centres) and
//! their tags. The company goes in query `company_id` where Pleo takes it (listing and creating
//! tag groups); every other call names its group or tag by id.

use serde_json::{Value, json};

use super::ownership::{IdAt, Returns, TAG, TAG_GROUP, Target};
use super::{Caps, HostError, Op, PageRequest, WitPage, checked_id, paged};
use crate::bindings::pleo::plugin::tags_write::{TagFields, TagGroupFields};
use crate::bindings::pleo::plugin::{tags_read, tags_write};
use crate::pleo::ApiRequest;
use crate::scopes::scope_for;

const READ: &str = "tags-read";
const WRITE: &str = "tags-write";
// Their spelling is unverified (`tag-groups:*` or `tag-group:*`): `scopes.rs` decides.
const READ_SCOPE: &str = scope_for(READ);
const WRITE_SCOPE: &str = scope_for(WRITE);
/// Pleo documents no maximum page size for tags; the host keeps pages bounded.
const MAX_PAGE: u32 = 100;

const LIST_TAG_GROUPS: Op = Op {
    interface: READ,
    function: "list-tag-groups",
    scope: READ_SCOPE,
    method: "GET",
    template: "/v0/tag-groups",
    returns: Returns::Objects(&TAG_GROUP),
    target: None,
};
const GET_TAG_GROUP: Op = Op {
    interface: READ,
    function: "get-tag-group",
    scope: READ_SCOPE,
    method: "GET",
    template: "/v0/tag-groups/{groupId}",
    returns: Returns::Objects(&TAG_GROUP),
    target: None,
};
const LIST_TAGS: Op = Op {
    interface: READ,
    function: "list-tags",
    scope: READ_SCOPE,
    method: "GET",
    template: "/v0/tag-groups/{groupId}/tags",
    returns: Returns::Objects(&TAG),
    target: Some(Target {
        kind: &TAG_GROUP,
        id: IdAt::Path("groupId"),
    }),
};
const GET_TAG: Op = Op {
    interface: READ,
    function: "get-tag",
    scope: READ_SCOPE,
    method: "GET",
    template: "/v0/tags/{tagId}",
    returns: Returns::Objects(&TAG),
    target: None,
};
const CREATE_TAG_GROUP: Op = Op {
    interface: WRITE,
    function: "create-tag-group",
    scope: WRITE_SCOPE,
    method: "POST",
    template: "/v0/tag-groups",
    returns: Returns::Objects(&TAG_GROUP),
    target: None,
};
const UPDATE_TAG_GROUP: Op = Op {
    interface: WRITE,
    function: "update-tag-group",
    scope: WRITE_SCOPE,
    method: "PUT",
    template: "/v0/tag-groups/{groupId}",
    returns: Returns::Objects(&TAG_GROUP),
    target: Some(Target {
        kind: &TAG_GROUP,
        id: IdAt::Path("groupId"),
    }),
};
const CREATE_TAG: Op = Op {
    interface: WRITE,
    function: "create-tag",
    scope: WRITE_SCOPE,
    method: "POST",
    template: "/v0/tag-groups/{groupId}/tags",
    returns: Returns::Objects(&TAG),
    target: Some(Target {
        kind: &TAG_GROUP,
        id: IdAt::Path("groupId"),
    }),
};
const UPDATE_TAG: Op = Op {
    interface: WRITE,
    function: "update-tag",
    scope: WRITE_SCOPE,
    method: "PUT",
    template: "/v0/tags/{tagId}",
    returns: Returns::Objects(&TAG),
    target: Some(Target {
        kind: &TAG,
        id: IdAt::Path("tagId"),
    }),
};

impl tags_read::Host for Caps {
    async fn list_tag_groups(&mut self, include_archived: bool) -> Result<String, HostError> {
        let op = &LIST_TAG_GROUPS;
        self.require(op)?;
        let req = ApiRequest::get(op.template)
            .query("company_id", self.company_id.clone())
            .query("include_archived", include_archived.to_string());
        // Not paginated: Pleo answers `{data: [...]}` with every group.
        self.list(op, req).await
    }

    async fn get_tag_group(&mut self, group_id: String) -> Result<String, HostError> {
        let op = &GET_TAG_GROUP;
        self.require(op)?;
        let path = checked_id(&group_id).map(|id| format!("/v0/tag-groups/{id}"));
        let req = ApiRequest::get(self.refused(op, path)?);
        self.object(op, req).await
    }

    async fn list_tags(
        &mut self,
        group_id: String,
        include_archived: bool,
        page: PageRequest,
    ) -> Result<WitPage, HostError> {
        let op = &LIST_TAGS;
        self.require(op)?;
        let path = checked_id(&group_id).map(|id| format!("/v0/tag-groups/{id}/tags"));
        let req = ApiRequest::get(self.refused(op, path)?)
            .query("include_archived", include_archived.to_string());
        let req = self.refused(op, paged(req, &page, MAX_PAGE))?;
        self.page(op, req).await
    }

    async fn get_tag(&mut self, tag_id: String) -> Result<String, HostError> {
        let op = &GET_TAG;
        self.require(op)?;
        let path = checked_id(&tag_id).map(|id| format!("/v0/tags/{id}"));
        let req = ApiRequest::get(self.refused(op, path)?);
        self.object(op, req).await
    }
}

impl tags_write::Host for Caps {
    // Not idempotent: a repeat may create a second group.
    async fn create_tag_group(&mut self, group: TagGroupFields) -> Result<String, HostError> {
        let op = &CREATE_TAG_GROUP;
        self.require(op)?;
        let req = ApiRequest::post(op.template, tag_group_body(group))
            .query("company_id", self.company_id.clone());
        self.object(op, req).await
    }

    async fn update_tag_group(
        &mut self,
        group_id: String,
        group: TagGroupFields,
    ) -> Result<String, HostError> {
        let op = &UPDATE_TAG_GROUP;
        self.require(op)?;
        let path = checked_id(&group_id).map(|id| format!("/v0/tag-groups/{id}"));
        let path = self.refused(op, path)?;
        // Idempotent: a PUT of the same fields leaves the group in the same state.
        let req = ApiRequest::put(path, tag_group_body(group)).idempotent();
        self.object(op, req).await
    }

    // Not idempotent: a repeat may create a second tag (or meet a 409 for the first).
    async fn create_tag(&mut self, group_id: String, tag: TagFields) -> Result<String, HostError> {
        let op = &CREATE_TAG;
        self.require(op)?;
        let path = checked_id(&group_id).map(|id| format!("/v0/tag-groups/{id}/tags"));
        let req = ApiRequest::post(self.refused(op, path)?, tag_body(tag));
        self.object(op, req).await
    }

    async fn update_tag(&mut self, tag_id: String, tag: TagFields) -> Result<String, HostError> {
        let op = &UPDATE_TAG;
        self.require(op)?;
        let path = checked_id(&tag_id).map(|id| format!("/v0/tags/{id}"));
        // Idempotent: a PUT of the same fields leaves the tag in the same state.
        let req = ApiRequest::put(self.refused(op, path)?, tag_body(tag)).idempotent();
        self.object(op, req).await
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
