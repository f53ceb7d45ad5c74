//! Tag groups and tags (`/v0/tag-groups`, `/v0/tags`; Gjoll Tag Groups and Tags APIs 82.3.2).
//! Tag groups come as one unpaginated `{data: [...]}` list that needs `company_id` or
//! `organization_id` (snake_case; anything else is a 400); the tags of a group are paginated.
//! Scopes `tag-groups:read` and `tag-groups:write` (spelling unverified, see scopes.rs).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{delete, get, post};
use chrono::{DateTime, TimeDelta, Utc};
use rand::Rng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::clock::shifted;
use super::data::{CompanyData, ser_uuid};
use super::error::{ApiError, json_response};
use super::extract::{Ids, Json, Pairs};
use super::master::MasterData;
use super::paging::{Order, PageRequest, Rules, SortValue, paginate, single};
use super::rest::uuid_set;
use super::rest::{Result, Shared, check_organization, ok, parse_bool, query_uuid};
use super::rest::{body_company, created, empty, non_blank, one_company, query_company, required};
use super::seed::new_id;
use super::server::AppState;
use super::store::Books;

/// `BulkTagDeleteModel` and `BulkTagArchiveModel`: `tagIds` holds 1 to 100 ids.
const MAX_BULK_TAGS: usize = 100;

/// The document gives `limit` no bounds; the mock holds it to 1..=100 like the other lists.
pub(super) const TAG_PAGING: Rules = Rules {
    default_limit: 20,
    min_limit: 1,
    max_limit: 100,
    allow_offset: true,
    keys: &["id", "code", "name", "createdAt"],
    default_sort: &[("code", Order::Asc)],
};

/// `TagGroupModel` (`totalTagsCount` is added on request, see [`GroupView`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TagGroupRecord {
    #[serde(serialize_with = "ser_uuid")]
    pub id: Uuid,
    #[serde(serialize_with = "ser_uuid")]
    pub company_id: Uuid,
    pub code: String,
    pub name: String,
    pub archived: bool,
    pub metadata: BTreeMap<String, String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `TagModel`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TagRecord {
    #[serde(serialize_with = "ser_uuid")]
    pub id: Uuid,
    #[serde(serialize_with = "ser_uuid")]
    pub group_id: Uuid,
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub archived: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A tag group with `totalTagsCount` when asked for (`include_tags_count`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GroupView<'a> {
    #[serde(flatten)]
    group: &'a TagGroupRecord,
    #[serde(skip_serializing_if = "Option::is_none")]
    total_tags_count: Option<u64>,
}

pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v0/tag-groups", get(list_groups).post(create_group))
        .route(
            "/v0/tag-groups/{group_id}",
            get(get_group).put(update_group).delete(delete_group),
        )
        .route(
            "/v0/tag-groups/{group_id}/tags",
            get(list_tags).post(create_tag),
        )
        .route("/v0/tag-groups/{group_id}/usage", get(group_usage))
        .route("/v0/tags", delete(delete_tags))
        .route("/v0/tags:search", post(search_tags))
        // A literal segment wins over `{tag_id}` in the router.
        .route("/v0/tags/archive", post(archive_tags))
        .route(
            "/v0/tags/{tag_id}",
            get(get_tag).put(update_tag).delete(delete_tag),
        )
}

/// The dataset's tag groups and tags, plus an archived project tag.
pub(super) fn seed(
    rng: &mut StdRng,
    data: &CompanyData,
    epoch: DateTime<Utc>,
) -> (Vec<TagGroupRecord>, Vec<TagRecord>) {
    let set_up = shifted(epoch, -TimeDelta::days(400));
    let mut at = || shifted(set_up, TimeDelta::minutes(rng.random_range(0..6000)));
    let mut groups = Vec::new();
    let mut tags = Vec::new();
    for g in &data.tag_groups {
        let created = at();
        groups.push(TagGroupRecord {
            id: g.id,
            company_id: data.company.id,
            code: g.code.clone(),
            name: g.name.clone(),
            archived: false,
            metadata: BTreeMap::new(),
            created_at: created,
            updated_at: created,
        });
        for t in &g.tags {
            let created = at();
            tags.push(TagRecord {
                id: t.id,
                group_id: g.id,
                code: t.code.clone(),
                name: Some(t.name.clone()),
                archived: false,
                created_at: created,
                updated_at: created,
            });
        }
    }
    if let Some(project) = data.tag_groups.iter().find(|g| g.code == "PRJ") {
        let created = at();
        tags.push(TagRecord {
            id: new_id(rng),
            group_id: project.id,
            code: "P-MOVE".to_string(),
            name: Some("Office move (done)".to_string()),
            archived: true,
            created_at: created,
            updated_at: shifted(created, TimeDelta::days(90)),
        });
    }
    (groups, tags)
}

pub(super) fn find_group(books: &Books, id: Uuid) -> Result<(usize, usize)> {
    books
        .locate(id, |m| &m.tag_groups, |g| g.id)
        .ok_or_else(|| {
            ApiError::not_found("TAG_GROUP_NOT_FOUND", format!("Tag group {id} not found"))
        })
}

pub(super) fn find_tag(books: &Books, id: Uuid) -> Result<(usize, usize)> {
    books
        .locate(id, |m| &m.tags, |t| t.id)
        .ok_or_else(|| ApiError::not_found("TAG_NOT_FOUND", format!("Tag {id} not found")))
}

// ---------------------------------------------------------------------------
// Tag groups
// ---------------------------------------------------------------------------

async fn list_groups(State(state): Shared, Pairs(query): Pairs) -> Result<Response> {
    // "either the company_id or the organization_id query parameter MUST be provided";
    // company_id wins when both are.
    let companies: Vec<usize> = match query_uuid(&query, "company_id")? {
        Some(id) => vec![one_company(&state, Some(id), "company_id")?],
        None if check_organization(&state, &query)? => (0..state.data.companies.len()).collect(),
        None => {
            return Err(ApiError::BadParameter(
                "Either company_id or organization_id must be provided".into(),
            ));
        }
    };
    let include_archived = parse_bool(single(&query, "include_archived")?, "include_archived")?;
    let with_count = parse_bool(single(&query, "include_tags_count")?, "include_tags_count")?;
    let books = state.store.lock();
    let mut groups: Vec<GroupView> = Vec::new();
    for c in companies {
        let master = &books.companies[c].master;
        let mut these: Vec<&TagGroupRecord> = master
            .tag_groups
            .iter()
            .filter(|g| include_archived || !g.archived)
            .collect();
        these.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        groups.extend(these.into_iter().map(|group| GroupView {
            group,
            total_tags_count: with_count.then(|| {
                master
                    .tags
                    .iter()
                    .filter(|t| t.group_id == group.id)
                    .count() as u64
            }),
        }));
    }
    ok(groups)
}

async fn get_group(State(state): Shared, Ids([id]): Ids<1>) -> Result<Response> {
    let books = state.store.lock();
    let (c, i) = find_group(&books, id)?;
    ok(&books.companies[c].master.tag_groups[i])
}

/// `TagGroupCreateModel` and `TagGroupUpdateModel` (the update requires `metadata` too).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupBody {
    archived: Option<bool>,
    code: Option<String>,
    name: Option<String>,
    metadata: Option<BTreeMap<String, String>>,
}

/// 409 if another group of the company has this code.
fn check_group_code(groups: &[TagGroupRecord], code: &str, except: Option<Uuid>) -> Result<()> {
    if groups
        .iter()
        .any(|g| Some(g.id) != except && g.code == code)
    {
        return Err(ApiError::conflict(
            "TAG_GROUP_ALREADY_EXISTS",
            format!("A tag group with code {code} already exists"),
        ));
    }
    Ok(())
}

async fn create_group(
    State(state): Shared,
    Pairs(query): Pairs,
    Json(body): Json<GroupBody>,
) -> Result<Response> {
    let company = query_company(&state, &query)?;
    let archived = required(body.archived, "archived")?;
    let code = non_blank(body.code, "code")?;
    let name = non_blank(body.name, "name")?;
    let now = state.store.now();
    let mut books = state.store.lock();
    let groups = &mut books.companies[company].master.tag_groups;
    check_group_code(groups, &code, None)?;
    let group = TagGroupRecord {
        id: Uuid::new_v4(),
        company_id: state.data.companies[company].company.id,
        code,
        name,
        archived,
        metadata: body.metadata.unwrap_or_default(),
        created_at: now,
        updated_at: now,
    };
    groups.push(group.clone());
    created(group)
}

async fn update_group(
    State(state): Shared,
    Ids([id]): Ids<1>,
    Json(body): Json<GroupBody>,
) -> Result<Response> {
    let archived = required(body.archived, "archived")?;
    let code = non_blank(body.code, "code")?;
    let name = non_blank(body.name, "name")?;
    let metadata = required(body.metadata, "metadata")?;
    let now = state.store.now();
    let mut books = state.store.lock();
    let (c, i) = find_group(&books, id)?;
    let groups = &mut books.companies[c].master.tag_groups;
    check_group_code(groups, &code, Some(id))?;
    let group = &mut groups[i];
    group.archived = archived;
    group.code = code;
    group.name = name;
    group.metadata = metadata;
    group.updated_at = now;
    ok(&*group)
}

/// `DELETE /v0/tag-groups/{groupId}`: 204. The document says no more; the mock removes the
/// group's tags with it, as a tag cannot outlive its group.
async fn delete_group(State(state): Shared, Ids([id]): Ids<1>) -> Result<Response> {
    let mut books = state.store.lock();
    let (c, i) = find_group(&books, id)?;
    let master = &mut books.companies[c].master;
    master.tag_groups.remove(i);
    let gone: Vec<Uuid> = master
        .tags
        .iter()
        .filter(|t| t.group_id == id)
        .map(|t| t.id)
        .collect();
    master.tags.retain(|t| t.group_id != id);
    master.tag_dimensions.retain(|d| d.group_id != id);
    forget_values(master, &gone);
    empty(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------------------
// Tags
// ---------------------------------------------------------------------------

pub(super) fn tag_key(t: &TagRecord, key: &str) -> SortValue {
    match key {
        "code" => SortValue::Text(t.code.clone()),
        "name" => t.name.clone().map_or(SortValue::Null, SortValue::Text),
        "createdAt" => SortValue::Int(t.created_at.timestamp()),
        _ => SortValue::Id(t.id),
    }
}

async fn list_tags(
    State(state): Shared,
    Ids([group]): Ids<1>,
    Pairs(query): Pairs,
) -> Result<Response> {
    let page = PageRequest::parse(&query, &TAG_PAGING)?;
    let include_archived = parse_bool(single(&query, "include_archived")?, "include_archived")?;
    let books = state.store.lock();
    let (c, _) = find_group(&books, group)?;
    let tags: Vec<&TagRecord> = books.companies[c]
        .master
        .tags
        .iter()
        .filter(|t| t.group_id == group && (include_archived || !t.archived))
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &paginate(tags, &page, tag_key),
    ))
}

async fn get_tag(State(state): Shared, Ids([id]): Ids<1>) -> Result<Response> {
    let books = state.store.lock();
    let (c, i) = find_tag(&books, id)?;
    ok(&books.companies[c].master.tags[i])
}

/// `TagCreateModel` and `TagUpdateModel`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TagBody {
    archived: Option<bool>,
    code: Option<String>,
    name: Option<String>,
}

/// 409 if another tag of the group has this code.
fn check_tag_code(tags: &[TagRecord], group: Uuid, code: &str, except: Option<Uuid>) -> Result<()> {
    if tags
        .iter()
        .any(|t| t.group_id == group && Some(t.id) != except && t.code == code)
    {
        return Err(ApiError::conflict(
            "TAG_ALREADY_EXISTS",
            format!("A tag with code {code} already exists in this group"),
        ));
    }
    Ok(())
}

async fn create_tag(
    State(state): Shared,
    Ids([group]): Ids<1>,
    Json(body): Json<TagBody>,
) -> Result<Response> {
    let archived = required(body.archived, "archived")?;
    let code = non_blank(body.code, "code")?;
    let now = state.store.now();
    let mut books = state.store.lock();
    let (c, _) = find_group(&books, group)?;
    let tags = &mut books.companies[c].master.tags;
    check_tag_code(tags, group, &code, None)?;
    let tag = TagRecord {
        id: Uuid::new_v4(),
        group_id: group,
        code,
        name: body.name,
        archived,
        created_at: now,
        updated_at: now,
    };
    tags.push(tag.clone());
    created(tag)
}

async fn update_tag(
    State(state): Shared,
    Ids([id]): Ids<1>,
    Json(body): Json<TagBody>,
) -> Result<Response> {
    let archived = required(body.archived, "archived")?;
    let code = non_blank(body.code, "code")?;
    let now = state.store.now();
    let mut books = state.store.lock();
    let (c, i) = find_tag(&books, id)?;
    let tags = &mut books.companies[c].master.tags;
    check_tag_code(tags, tags[i].group_id, &code, Some(id))?;
    let tag = &mut tags[i];
    tag.archived = archived;
    tag.code = code;
    tag.name = body.name;
    tag.updated_at = now;
    ok(&*tag)
}

/// `DELETE /v0/tags/{tagId}`: Pleo documents a JSON answer without a schema, so nothing that
/// could be checked; the mock answers 204 without a body.
async fn delete_tag(State(state): Shared, Ids([id]): Ids<1>) -> Result<Response> {
    let mut books = state.store.lock();
    let (c, i) = find_tag(&books, id)?;
    let master = &mut books.companies[c].master;
    master.tags.remove(i);
    forget_values(master, &[id]);
    empty(StatusCode::NO_CONTENT)
}

/// `BulkTagDeleteModel` and `BulkTagArchiveModel`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BulkBody {
    company_id: Option<String>,
    tag_ids: Option<Vec<String>>,
    archived: Option<bool>,
}

/// The company and the positions of the named tags in its list: 1 to 100 UUIDs, every one a
/// tag of that company, or the whole request is refused (400, or 404 naming the first unknown).
fn bulk_tags(state: &AppState, books: &Books, body: &BulkBody) -> Result<(usize, Vec<usize>)> {
    let company = body_company(state, body.company_id.clone())?;
    let ids = required(body.tag_ids.as_ref(), "tagIds")?;
    if ids.is_empty() || ids.len() > MAX_BULK_TAGS {
        return Err(ApiError::BadBody(format!(
            "tagIds must hold 1 to {MAX_BULK_TAGS} ids, not {}",
            ids.len()
        )));
    }
    let master = &books.companies[company].master;
    let mut found = Vec::new();
    for raw in ids {
        let id = Uuid::parse_str(raw)
            .map_err(|_| ApiError::BadBody(format!("tagIds: `{raw}` is not a UUID")))?;
        let i =
            master.tags.iter().position(|t| t.id == id).ok_or_else(|| {
                ApiError::not_found("TAG_NOT_FOUND", format!("Tag {id} not found"))
            })?;
        if !found.contains(&i) {
            found.push(i);
        }
    }
    Ok((company, found))
}

/// `DELETE /v0/tags`: deletes every named tag of `companyId`, or none (204).
async fn delete_tags(State(state): Shared, Json(body): Json<BulkBody>) -> Result<Response> {
    let mut books = state.store.lock();
    let (c, mut found) = bulk_tags(&state, &books, &body)?;
    found.sort_unstable();
    let master = &mut books.companies[c].master;
    let mut gone = Vec::new();
    for i in found.into_iter().rev() {
        gone.push(master.tags.remove(i).id);
    }
    forget_values(master, &gone);
    empty(StatusCode::NO_CONTENT)
}

/// `POST /v0/tags/archive`: sets `archived` on every named tag of `companyId`, or none; the
/// changed tags as `{data: [...]}`.
async fn archive_tags(State(state): Shared, Json(body): Json<BulkBody>) -> Result<Response> {
    let archived = required(body.archived, "archived")?;
    let now = state.store.now();
    let mut books = state.store.lock();
    let (c, found) = bulk_tags(&state, &books, &body)?;
    let tags = &mut books.companies[c].master.tags;
    let mut changed = Vec::new();
    for i in found {
        if tags[i].archived != archived {
            tags[i].archived = archived;
            tags[i].updated_at = now;
        }
        changed.push(tags[i].clone());
    }
    ok(changed)
}

/// `GET /v0/tag-groups/{groupId}/usage`: for each tag of the group, the number of the
/// company's expenses (accounting entries, deleted ones left out) tagged with it.
async fn group_usage(State(state): Shared, Ids([group]): Ids<1>) -> Result<Response> {
    let (c, tags) = {
        let books = state.store.lock();
        let (c, _) = find_group(&books, group)?;
        let tags: Vec<Uuid> = books.companies[c]
            .master
            .tags
            .iter()
            .filter(|t| t.group_id == group)
            .map(|t| t.id)
            .collect();
        (c, tags)
    };
    let mut counts: BTreeMap<Uuid, u32> = tags.iter().map(|t| (*t, 0)).collect();
    // Read outside the store's lock: the entries never change, and are made on first use.
    for entry in state.data.companies[c]
        .entries
        .iter()
        .filter(|e| e.deleted_at.is_none())
    {
        for tag in entry.tags.iter().filter_map(|t| t.tag_id) {
            if let Some(n) = counts.get_mut(&tag) {
                *n += 1;
            }
        }
    }
    let usages: Vec<serde_json::Value> = tags
        .iter()
        .map(|t| serde_json::json!({"id": t.to_string(), "count": counts[t]}))
        .collect();
    ok(serde_json::json!({ "usages": usages }))
}

/// `CompositeTagSearchRequest`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SearchBody {
    archived: Option<bool>,
    include_archived: Option<bool>,
    tag_group_ids: Option<Vec<String>>,
    tag_ids: Option<Vec<String>>,
    text_search: Option<String>,
}

/// A deleted tag's dimension values go with it.
fn forget_values(master: &mut MasterData, tags: &[Uuid]) {
    master
        .tag_dimension_values
        .retain(|v| !tags.contains(&v.tag_id));
}

/// `POST /v0/tags:search?company_id`: the company's tags matching every filter given, a page.
async fn search_tags(
    State(state): Shared,
    Pairs(query): Pairs,
    Json(body): Json<SearchBody>,
) -> Result<Response> {
    let company = query_company(&state, &query)?;
    let page = PageRequest::parse(&query, &TAG_PAGING)?;
    let books = state.store.lock();
    let tags = matching(&books.companies[company].master, body)?;
    Ok(json_response(
        StatusCode::OK,
        &paginate(tags, &page, tag_key),
    ))
}

/// The tags of `master` matching every filter of a `CompositeTagSearchRequest` (also the
/// body of the tag aggregation). `archived` wins over `includeArchived`; without either only
/// active tags are found.
pub(super) fn matching(master: &MasterData, body: SearchBody) -> Result<Vec<&TagRecord>> {
    let groups = uuid_set(body.tag_group_ids, "tagGroupIds", 1000)?;
    let ids = uuid_set(body.tag_ids, "tagIds", 1000)?;
    let text = body.text_search.map(|t| t.to_lowercase());
    let tags: Vec<&TagRecord> = master
        .tags
        .iter()
        .filter(|t| match body.archived {
            Some(archived) => t.archived == archived,
            None => body.include_archived == Some(true) || !t.archived,
        })
        .filter(|t| groups.as_ref().is_none_or(|g| g.contains(&t.group_id)))
        .filter(|t| ids.as_ref().is_none_or(|i| i.contains(&t.id)))
        .filter(|t| {
            text.as_ref().is_none_or(|text| {
                t.name
                    .as_ref()
                    .is_some_and(|n| n.to_lowercase().contains(text.as_str()))
            })
        })
        .collect();
    Ok(tags)
}
