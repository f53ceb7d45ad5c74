//! Tag dimensions and aggregations (Gjoll Tag Groups and Tags APIs 82.3.2): a tag group has
//! dimensions (`TagGroupDimensionModel`: code, name, display order, visible), and a tag has at
//! most one text value per dimension of its group (`TagDimensionValueModel`). The two
//! aggregations answer groups with their dimensions (`AggregatedTagGroupModel`) and tags with
//! their group and the dimensions they have a value for (`AggregatedTagModel`); a page of the
//! latter counts the tags found in `pagination.total`, which is all Pleo's schemas count.
//! Scopes as the other tag routes (`tag-groups:read` / `tag-groups:write`).

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use chrono::{DateTime, TimeDelta, Utc};
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::clock::shifted;
use super::data::ser_uuid;
use super::error::{ApiError, json_response};
use super::extract::{Ids, Json, Pairs};
use super::master::MasterData;
use super::paging::{PageRequest, paginate};
use super::rest::{Result, Shared, check_organization, created, empty, non_blank, ok};
use super::rest::{one_company, parse_uuid, query_company, required};
use super::seed::new_id;
use super::server::AppState;
use super::store::Books;
use super::tags::{
    SearchBody, TAG_PAGING, TagGroupRecord, TagRecord, find_group, find_tag, matching, tag_key,
};

/// Pleo documents no maximum for names, codes or values; the mock refuses longer ones (400)
/// so that nothing it keeps grows without bound.
pub(super) const MAX_TEXT: usize = 1000;
/// Pleo documents no maximum number of dimensions per group; the mock keeps 50 at most (409).
pub(super) const MAX_DIMENSIONS: usize = 50;
/// At most this many `tag_group_ids` in one aggregation request.
const MAX_GROUP_IDS: usize = 100;

/// `TagGroupDimensionModel`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TagDimensionRecord {
    #[serde(serialize_with = "ser_uuid")]
    pub id: Uuid,
    #[serde(serialize_with = "ser_uuid")]
    pub group_id: Uuid,
    pub code: String,
    pub name: String,
    pub display_order: i32,
    pub visible: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `TagDimensionValueModel`: a tag's value for one dimension of its group.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TagDimensionValueRecord {
    #[serde(serialize_with = "ser_uuid")]
    pub tag_id: Uuid,
    #[serde(serialize_with = "ser_uuid")]
    pub dimension_id: Uuid,
    pub value: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v0/aggregations/tag-groups", get(aggregated_groups))
        .route("/v0/aggregations/tags", post(aggregated_tags))
        .route(
            "/v0/tag-groups/{group_id}/dimensions",
            get(list_dimensions).post(create_dimension),
        )
        .route(
            "/v0/tag-groups/{group_id}/dimensions/{dimension_id}",
            get(get_dimension)
                .put(update_dimension)
                .delete(delete_dimension),
        )
        .route("/v0/tags/{tag_id}/dimensions", get(list_values))
        .route(
            "/v0/tags/{tag_id}/dimensions/{dimension_id}",
            get(get_value)
                .post(create_value)
                .put(update_value)
                .delete(delete_value),
        )
}

/// The project group gets two dimensions (a visible project manager, a hidden ERP project
/// number) and each of its active tags a value for both; the other groups have none.
pub(super) fn seed(
    rng: &mut StdRng,
    groups: &[TagGroupRecord],
    tags: &[TagRecord],
) -> (Vec<TagDimensionRecord>, Vec<TagDimensionValueRecord>) {
    let mut dimensions = Vec::new();
    let mut values = Vec::new();
    let Some(project) = groups.iter().find(|g| g.code == "PRJ") else {
        return (dimensions, values);
    };
    let defined = shifted(project.created_at, TimeDelta::days(1));
    for (order, (code, name, visible)) in [
        ("PM", "Project manager", true),
        ("ERP-NO", "ERP project number", false),
    ]
    .into_iter()
    .enumerate()
    {
        dimensions.push(TagDimensionRecord {
            id: new_id(rng),
            group_id: project.id,
            code: code.to_string(),
            name: name.to_string(),
            display_order: order as i32 + 1,
            visible,
            created_at: defined,
            updated_at: defined,
        });
    }
    let managers = ["Ada Lund", "Bo Friis", "Cai Holm"];
    let project_tags = tags
        .iter()
        .filter(|t| t.group_id == project.id && !t.archived);
    for (n, tag) in project_tags.enumerate() {
        let set = shifted(tag.created_at.max(defined), TimeDelta::hours(1));
        for (dimension, value) in dimensions.iter().zip([
            managers[n % managers.len()].to_string(),
            format!("{}", 4100 + n),
        ]) {
            values.push(TagDimensionValueRecord {
                tag_id: tag.id,
                dimension_id: dimension.id,
                value,
                created_at: set,
                updated_at: set,
            });
        }
    }
    (dimensions, values)
}

fn not_found(id: Uuid) -> ApiError {
    ApiError::not_found(
        "TAG_GROUP_DIMENSION_NOT_FOUND",
        format!("Tag group dimension {id} not found"),
    )
}

/// The position of dimension `id` of group `group` in its company's list; 404 if the group
/// has no such dimension (a dimension of another group is not found either).
fn find_dimension(master: &MasterData, group: Uuid, id: Uuid) -> Result<usize> {
    master
        .tag_dimensions
        .iter()
        .position(|d| d.id == id && d.group_id == group)
        .ok_or_else(|| not_found(id))
}

/// A required text of 1 to [`MAX_TEXT`] characters, not blank.
fn bounded(value: Option<String>, name: &str) -> Result<String> {
    let value = non_blank(value, name)?;
    if value.chars().count() > MAX_TEXT {
        return Err(ApiError::BadBody(format!(
            "{name} must be at most {MAX_TEXT} characters"
        )));
    }
    Ok(value)
}

/// 409 if another dimension of the group has this code.
fn check_code(master: &MasterData, group: Uuid, code: &str, except: Option<Uuid>) -> Result<()> {
    if master
        .tag_dimensions
        .iter()
        .any(|d| d.group_id == group && Some(d.id) != except && d.code == code)
    {
        return Err(ApiError::conflict(
            "TAG_GROUP_DIMENSION_ALREADY_EXISTS",
            format!("A dimension with code {code} already exists in this tag group"),
        ));
    }
    Ok(())
}

/// The group's dimensions in display order.
fn dimensions_of(master: &MasterData, group: Uuid) -> Vec<&TagDimensionRecord> {
    let mut these: Vec<&TagDimensionRecord> = master
        .tag_dimensions
        .iter()
        .filter(|d| d.group_id == group)
        .collect();
    these.sort_by_key(|d| (d.display_order, d.created_at, d.id));
    these
}

// ---------------------------------------------------------------------------
// Tag group dimensions
// ---------------------------------------------------------------------------

async fn list_dimensions(State(state): Shared, Ids([group]): Ids<1>) -> Result<Response> {
    let books = state.store.lock();
    let (c, _) = find_group(&books, group)?;
    ok(dimensions_of(&books.companies[c].master, group))
}

async fn get_dimension(State(state): Shared, Ids([group, id]): Ids<2>) -> Result<Response> {
    let books = state.store.lock();
    let (c, _) = find_group(&books, group)?;
    let master = &books.companies[c].master;
    ok(&master.tag_dimensions[find_dimension(master, group, id)?])
}

/// `TagGroupDimensionCreateModel` and `TagGroupDimensionUpdateModel`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DimensionBody {
    code: Option<String>,
    name: Option<String>,
    visible: Option<bool>,
    /// Required by the update; deprecated and ignored by the create ("managed by the highest
    /// column order value").
    display_order: Option<i32>,
}

async fn create_dimension(
    State(state): Shared,
    Ids([group]): Ids<1>,
    Json(body): Json<DimensionBody>,
) -> Result<Response> {
    let code = bounded(body.code, "code")?;
    let name = bounded(body.name, "name")?;
    let visible = required(body.visible, "visible")?;
    let now = state.store.now();
    let mut books = state.store.lock();
    let (c, _) = find_group(&books, group)?;
    let master = &mut books.companies[c].master;
    check_code(master, group, &code, None)?;
    let existing = dimensions_of(master, group);
    if existing.len() >= MAX_DIMENSIONS {
        return Err(ApiError::conflict(
            "TAG_GROUP_DIMENSION_LIMIT",
            format!("A tag group has at most {MAX_DIMENSIONS} dimensions"),
        ));
    }
    let display_order = existing.iter().map(|d| d.display_order).max().unwrap_or(0) + 1;
    let dimension = TagDimensionRecord {
        id: Uuid::new_v4(),
        group_id: group,
        code,
        name,
        display_order,
        visible,
        created_at: now,
        updated_at: now,
    };
    master.tag_dimensions.push(dimension.clone());
    created(dimension)
}

async fn update_dimension(
    State(state): Shared,
    Ids([group, id]): Ids<2>,
    Json(body): Json<DimensionBody>,
) -> Result<Response> {
    let code = bounded(body.code, "code")?;
    let name = bounded(body.name, "name")?;
    let visible = required(body.visible, "visible")?;
    let display_order = required(body.display_order, "displayOrder")?;
    if display_order < 1 {
        return Err(ApiError::BadBody("displayOrder starts from 1".into()));
    }
    let now = state.store.now();
    let mut books = state.store.lock();
    let (c, _) = find_group(&books, group)?;
    let master = &mut books.companies[c].master;
    let i = find_dimension(master, group, id)?;
    check_code(master, group, &code, Some(id))?;
    let dimension = &mut master.tag_dimensions[i];
    dimension.code = code;
    dimension.name = name;
    dimension.visible = visible;
    dimension.display_order = display_order;
    dimension.updated_at = now;
    ok(&*dimension)
}

/// `DELETE`: Pleo documents a JSON answer without a schema; the mock answers 204 and removes
/// every tag's value for the dimension with it, as a value cannot outlive its dimension.
async fn delete_dimension(State(state): Shared, Ids([group, id]): Ids<2>) -> Result<Response> {
    let mut books = state.store.lock();
    let (c, _) = find_group(&books, group)?;
    let master = &mut books.companies[c].master;
    let i = find_dimension(master, group, id)?;
    master.tag_dimensions.remove(i);
    master.tag_dimension_values.retain(|v| v.dimension_id != id);
    empty(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------------------
// A tag's dimension values
// ---------------------------------------------------------------------------

/// The company of tag `tag` and, when `dimension` is given, a check that it is a dimension
/// of the tag's group (404 otherwise).
fn tag_and_dimension(books: &Books, tag: Uuid, dimension: Option<Uuid>) -> Result<usize> {
    let (c, i) = find_tag(books, tag)?;
    let master = &books.companies[c].master;
    if let Some(dimension) = dimension {
        find_dimension(master, master.tags[i].group_id, dimension)?;
    }
    Ok(c)
}

fn value_position(master: &MasterData, tag: Uuid, dimension: Uuid) -> Result<usize> {
    master
        .tag_dimension_values
        .iter()
        .position(|v| v.tag_id == tag && v.dimension_id == dimension)
        .ok_or_else(|| {
            ApiError::not_found(
                "TAG_DIMENSION_VALUE_NOT_FOUND",
                format!("Tag {tag} has no value for dimension {dimension}"),
            )
        })
}

async fn list_values(State(state): Shared, Ids([tag]): Ids<1>) -> Result<Response> {
    let books = state.store.lock();
    let c = tag_and_dimension(&books, tag, None)?;
    let values: Vec<&TagDimensionValueRecord> = books.companies[c]
        .master
        .tag_dimension_values
        .iter()
        .filter(|v| v.tag_id == tag)
        .collect();
    ok(values)
}

async fn get_value(State(state): Shared, Ids([tag, dimension]): Ids<2>) -> Result<Response> {
    let books = state.store.lock();
    let c = tag_and_dimension(&books, tag, Some(dimension))?;
    let master = &books.companies[c].master;
    ok(&master.tag_dimension_values[value_position(master, tag, dimension)?])
}

/// `TagDimensionValueCreateModel` and `TagDimensionValueUpdateModel`.
#[derive(Debug, Deserialize)]
struct ValueBody {
    value: Option<String>,
}

/// The value of a create or update: required, at most [`MAX_TEXT`] characters (it may be
/// empty: Pleo's schema sets no minimum).
fn value_of(body: ValueBody) -> Result<String> {
    let value = required(body.value, "value")?;
    if value.chars().count() > MAX_TEXT {
        return Err(ApiError::BadBody(format!(
            "value must be at most {MAX_TEXT} characters"
        )));
    }
    Ok(value)
}

/// `POST`: 409 if the tag already has a value for the dimension (update it instead).
async fn create_value(
    State(state): Shared,
    Ids([tag, dimension]): Ids<2>,
    Json(body): Json<ValueBody>,
) -> Result<Response> {
    let value = value_of(body)?;
    let now = state.store.now();
    let mut books = state.store.lock();
    let c = tag_and_dimension(&books, tag, Some(dimension))?;
    let master = &mut books.companies[c].master;
    if value_position(master, tag, dimension).is_ok() {
        return Err(ApiError::conflict(
            "TAG_DIMENSION_VALUE_ALREADY_EXISTS",
            format!("Tag {tag} already has a value for dimension {dimension}"),
        ));
    }
    let record = TagDimensionValueRecord {
        tag_id: tag,
        dimension_id: dimension,
        value,
        created_at: now,
        updated_at: now,
    };
    master.tag_dimension_values.push(record.clone());
    created(record)
}

/// `PUT`: 404 if the tag has no value for the dimension yet (create it instead).
async fn update_value(
    State(state): Shared,
    Ids([tag, dimension]): Ids<2>,
    Json(body): Json<ValueBody>,
) -> Result<Response> {
    let value = value_of(body)?;
    let now = state.store.now();
    let mut books = state.store.lock();
    let c = tag_and_dimension(&books, tag, Some(dimension))?;
    let master = &mut books.companies[c].master;
    let i = value_position(master, tag, dimension)?;
    let record = &mut master.tag_dimension_values[i];
    record.value = value;
    record.updated_at = now;
    ok(&*record)
}

/// `DELETE`: the removed value as `{data}` (Pleo's `DataResponseTagDimensionValueModel`).
async fn delete_value(State(state): Shared, Ids([tag, dimension]): Ids<2>) -> Result<Response> {
    let mut books = state.store.lock();
    let c = tag_and_dimension(&books, tag, Some(dimension))?;
    let master = &mut books.companies[c].master;
    let i = value_position(master, tag, dimension)?;
    ok(master.tag_dimension_values.remove(i))
}

// ---------------------------------------------------------------------------
// Aggregations
// ---------------------------------------------------------------------------

/// `AggregatedTagGroupDimensionModel`: a dimension without its group.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GroupDimensionView<'a> {
    #[serde(serialize_with = "ser_uuid")]
    id: Uuid,
    code: &'a str,
    name: &'a str,
    display_order: i32,
    visible: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl<'a> From<&'a TagDimensionRecord> for GroupDimensionView<'a> {
    fn from(d: &'a TagDimensionRecord) -> Self {
        GroupDimensionView {
            id: d.id,
            code: &d.code,
            name: &d.name,
            display_order: d.display_order,
            visible: d.visible,
            created_at: d.created_at,
            updated_at: d.updated_at,
        }
    }
}

/// `AggregatedTagGroupModel`: a group (without its metadata) and its dimensions.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AggregatedGroup<'a> {
    #[serde(serialize_with = "ser_uuid")]
    id: Uuid,
    #[serde(serialize_with = "ser_uuid")]
    company_id: Uuid,
    code: &'a str,
    name: &'a str,
    archived: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    dimensions: Vec<GroupDimensionView<'a>>,
}

/// `GET /v0/aggregations/tag-groups`: the groups of `company_id` (or of every company of
/// `organization_id`), archived ones too, each with its dimensions; `tag_group_ids` (repeated)
/// keeps only those groups.
async fn aggregated_groups(State(state): Shared, Pairs(query): Pairs) -> Result<Response> {
    let companies: Vec<usize> = match super::rest::query_uuid(&query, "company_id")? {
        Some(id) => vec![one_company(&state, Some(id), "company_id")?],
        None if check_organization(&state, &query)? => (0..state.data.companies.len()).collect(),
        None => {
            return Err(ApiError::BadParameter(
                "Either company_id or organization_id must be provided".into(),
            ));
        }
    };
    let wanted: Vec<Uuid> = query
        .iter()
        .filter(|(k, v)| k == "tag_group_ids" && !v.trim().is_empty())
        .map(|(_, v)| parse_uuid(v, "tag_group_ids"))
        .collect::<Result<_>>()?;
    if wanted.len() > MAX_GROUP_IDS {
        return Err(ApiError::BadParameter(format!(
            "tag_group_ids may name at most {MAX_GROUP_IDS} groups"
        )));
    }
    let books = state.store.lock();
    let mut out = Vec::new();
    for c in companies {
        let master = &books.companies[c].master;
        let mut groups: Vec<&TagGroupRecord> = master
            .tag_groups
            .iter()
            .filter(|g| wanted.is_empty() || wanted.contains(&g.id))
            .collect();
        groups.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        out.extend(groups.into_iter().map(|g| {
            AggregatedGroup {
                id: g.id,
                company_id: g.company_id,
                code: &g.code,
                name: &g.name,
                archived: g.archived,
                created_at: g.created_at,
                updated_at: g.updated_at,
                dimensions: dimensions_of(master, g.id)
                    .into_iter()
                    .map(GroupDimensionView::from)
                    .collect(),
            }
        }));
    }
    ok(out)
}

/// `AggregatedTagTagDimensionModel`: a dimension of the tag's group with the tag's value.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TagDimensionView<'a> {
    #[serde(serialize_with = "ser_uuid")]
    id: Uuid,
    code: &'a str,
    name: &'a str,
    display_order: i32,
    visible: bool,
    value: &'a str,
}

/// `AggregatedTagTagGroupModel`.
#[derive(Serialize)]
struct GroupRef<'a> {
    #[serde(serialize_with = "ser_uuid")]
    id: Uuid,
    code: &'a str,
    name: &'a str,
}

/// `AggregatedTagModel`: a tag with its company, its group and its dimension values.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AggregatedTag<'a> {
    #[serde(serialize_with = "ser_uuid")]
    id: Uuid,
    #[serde(serialize_with = "ser_uuid")]
    company_id: Uuid,
    code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    archived: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    group: GroupRef<'a>,
    dimensions: Vec<TagDimensionView<'a>>,
}

fn aggregate<'a>(master: &'a MasterData, tag: &'a TagRecord) -> AggregatedTag<'a> {
    let group = master.tag_groups.iter().find(|g| g.id == tag.group_id);
    let dimensions = dimensions_of(master, tag.group_id)
        .into_iter()
        .filter_map(|d| {
            let value = master
                .tag_dimension_values
                .iter()
                .find(|v| v.tag_id == tag.id && v.dimension_id == d.id)?;
            Some(TagDimensionView {
                id: d.id,
                code: &d.code,
                name: &d.name,
                display_order: d.display_order,
                visible: d.visible,
                value: &value.value,
            })
        })
        .collect();
    AggregatedTag {
        id: tag.id,
        // A tag's group is always of the same company: the list is the company's.
        company_id: group.map_or(Uuid::nil(), |g| g.company_id),
        code: &tag.code,
        name: tag.name.as_deref(),
        archived: tag.archived,
        created_at: tag.created_at,
        updated_at: tag.updated_at,
        group: GroupRef {
            id: tag.group_id,
            code: group.map_or("", |g| &g.code),
            name: group.map_or("", |g| &g.name),
        },
        dimensions,
    }
}

/// `POST /v0/aggregations/tags?company_id`: the tags `tags:search` finds with the same body,
/// each with its group and dimension values; a page.
async fn aggregated_tags(
    State(state): Shared,
    Pairs(query): Pairs,
    Json(body): Json<SearchBody>,
) -> Result<Response> {
    let company = query_company(&state, &query)?;
    let page = PageRequest::parse(&query, &TAG_PAGING)?;
    let books = state.store.lock();
    let master = &books.companies[company].master;
    let tags = matching(master, body)?;
    Ok(json_response(
        StatusCode::OK,
        &paginate(tags, &page, tag_key).map(|t| aggregate(master, t)),
    ))
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use reqwest::{Method, StatusCode};
    use serde_json::{Value, json};

    use super::super::test_client::{Client, assert_error, cfg};
    use super::*;

    /// The dimensions of a group over HTTP: created last in display order, codes unique, an
    /// update changes what it names, bounds and 404s; a tag's value for one of them: created
    /// once, updated, answered on delete; deleting the dimension removes the values.
    #[tokio::test]
    async fn dimensions_and_values_over_http() {
        let c = Client::start(cfg()).await;
        let ds = c.server.dataset();
        let master = &ds.companies[0].master;
        let project = master.tag_groups.iter().find(|g| g.code == "PRJ").unwrap();
        let tag = master
            .tags
            .iter()
            .find(|t| t.group_id == project.id && !t.archived)
            .unwrap();
        let dims = format!("/v0/tag-groups/{}/dimensions", project.id);
        let (status, listed) = c.get(&dims, &[]).await;
        assert_eq!(status, StatusCode::OK);
        let seeded: Vec<&Value> = listed["data"].as_array().unwrap().iter().collect();
        assert_eq!(seeded.len(), 2);
        assert_eq!(seeded[0]["displayOrder"], 1);

        let body = json!({"code": "CC", "name": "Cost centre", "visible": true, "displayOrder": 1});
        let (status, created) = c.post(&dims, &[], &body).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        // The deprecated displayOrder is ignored: a new dimension comes last.
        assert_eq!(created["data"]["displayOrder"], 3);
        assert_eq!(created["data"]["groupId"], project.id.to_string());
        let id = created["data"]["id"].as_str().unwrap().to_string();
        assert_error(
            &c.post(&dims, &[], &body).await,
            StatusCode::CONFLICT,
            "TAG_GROUP_DIMENSION_ALREADY_EXISTS",
        );
        for bad in [
            json!({"code": "X", "name": "X"}),
            json!({"code": " ", "name": "X", "visible": true}),
            json!({"code": "X", "name": "x".repeat(MAX_TEXT + 1), "visible": true}),
        ] {
            assert_error(
                &c.post(&dims, &[], &bad).await,
                StatusCode::BAD_REQUEST,
                "VALIDATION_FAILED",
            );
        }
        let one = format!("{dims}/{id}");
        let update =
            json!({"code": "CC", "name": "Cost centre (ERP)", "visible": false, "displayOrder": 7});
        let (status, updated) = c.put(&one, &update).await;
        assert_eq!(status, StatusCode::OK, "{updated}");
        let (_, read) = c.get(&one, &[]).await;
        assert_eq!(read["data"], updated["data"]);
        assert_eq!(read["data"]["visible"], false);
        assert_eq!(read["data"]["displayOrder"], 7);
        let without_order = json!({"code": "CC", "name": "x", "visible": true});
        let zero = json!({"code": "CC", "name": "x", "visible": true, "displayOrder": 0});
        // The update requires displayOrder, from 1.
        for bad in [without_order, zero] {
            assert_error(
                &c.put(&one, &bad).await,
                StatusCode::BAD_REQUEST,
                "VALIDATION_FAILED",
            );
        }
        // A dimension is found only under its own group.
        let other = master
            .tag_groups
            .iter()
            .find(|g| g.id != project.id)
            .unwrap();
        assert_error(
            &c.get(&format!("/v0/tag-groups/{}/dimensions/{id}", other.id), &[])
                .await,
            StatusCode::NOT_FOUND,
            "TAG_GROUP_DIMENSION_NOT_FOUND",
        );

        // A tag's value for the new dimension.
        let value = format!("/v0/tags/{}/dimensions/{id}", tag.id);
        assert_error(
            &c.get(&value, &[]).await,
            StatusCode::NOT_FOUND,
            "TAG_DIMENSION_VALUE_NOT_FOUND",
        );
        assert_error(
            &c.put(&value, &json!({"value": "4711"})).await,
            StatusCode::NOT_FOUND,
            "TAG_DIMENSION_VALUE_NOT_FOUND",
        );
        let (status, made) = c.post(&value, &[], &json!({"value": "4711"})).await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        assert_eq!(made["data"]["tagId"], tag.id.to_string());
        assert_error(
            &c.post(&value, &[], &json!({"value": "4711"})).await,
            StatusCode::CONFLICT,
            "TAG_DIMENSION_VALUE_ALREADY_EXISTS",
        );
        assert_error(
            &c.post(&value, &[], &json!({})).await,
            StatusCode::BAD_REQUEST,
            "VALIDATION_FAILED",
        );
        let (status, changed) = c.put(&value, &json!({"value": "4712"})).await;
        assert_eq!(
            (status, &changed["data"]["value"]),
            (StatusCode::OK, &json!("4712"))
        );
        let (_, values) = c.get(&format!("/v0/tags/{}/dimensions", tag.id), &[]).await;
        assert_eq!(values["data"].as_array().map(Vec::len), Some(3));
        // A dimension of another group is not the tag's.
        let foreign = master
            .tags
            .iter()
            .find(|t| t.group_id != project.id)
            .unwrap();
        assert_error(
            &c.post(
                &format!("/v0/tags/{}/dimensions/{id}", foreign.id),
                &[],
                &json!({"value": "x"}),
            )
            .await,
            StatusCode::NOT_FOUND,
            "TAG_GROUP_DIMENSION_NOT_FOUND",
        );
        let (status, removed) = c.call(Method::DELETE, &value, &[], None).await;
        assert_eq!(
            (status, &removed["data"]["value"]),
            (StatusCode::OK, &json!("4712"))
        );
        assert_error(
            &c.get(&value, &[]).await,
            StatusCode::NOT_FOUND,
            "TAG_DIMENSION_VALUE_NOT_FOUND",
        );

        // Deleting a dimension takes every tag's value for it along.
        let seeded_id = seeded[0]["id"].as_str().unwrap();
        let (status, _) = c
            .call(Method::DELETE, &format!("{dims}/{seeded_id}"), &[], None)
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (_, values) = c.get(&format!("/v0/tags/{}/dimensions", tag.id), &[]).await;
        let left: Vec<&Value> = values["data"].as_array().unwrap().iter().collect();
        assert!(
            left.iter().all(|v| v["dimensionId"] != seeded_id),
            "{left:?}"
        );
        assert_eq!(left.len(), 1);
        let unknown = Uuid::new_v4();
        assert_error(
            &c.call(Method::DELETE, &format!("{dims}/{seeded_id}"), &[], None)
                .await,
            StatusCode::NOT_FOUND,
            "TAG_GROUP_DIMENSION_NOT_FOUND",
        );
        for path in [
            format!("/v0/tag-groups/{unknown}/dimensions"),
            format!("/v0/tags/{unknown}/dimensions"),
        ] {
            let answer = c.get(&path, &[]).await;
            assert_eq!(answer.0, StatusCode::NOT_FOUND, "{path}");
        }
    }

    /// The aggregations: groups with their dimensions (filtered by id, company or
    /// organisation required), and a page of tags with their group and values, counted in
    /// `total`, found by the same filters as `tags:search`.
    #[tokio::test]
    async fn aggregations_over_http() {
        let c = Client::start(cfg()).await;
        let ds = c.server.dataset();
        let cid = ds.company.id.to_string();
        let master = &ds.companies[0].master;
        let project = master.tag_groups.iter().find(|g| g.code == "PRJ").unwrap();
        assert_error(
            &c.get("/v0/aggregations/tag-groups", &[]).await,
            StatusCode::BAD_REQUEST,
            "PARAMETER_VALIDATION_FAILED",
        );
        let (status, all) = c
            .get("/v0/aggregations/tag-groups", &[("company_id", &cid)])
            .await;
        assert_eq!(status, StatusCode::OK);
        let groups = all["data"].as_array().unwrap();
        assert_eq!(groups.len(), master.tag_groups.len());
        assert!(groups.iter().all(|g| g.get("metadata").is_none()));
        let pid = project.id.to_string();
        let (_, one) = c
            .get(
                "/v0/aggregations/tag-groups",
                &[("company_id", &cid), ("tag_group_ids", &pid)],
            )
            .await;
        let one = one["data"].as_array().unwrap();
        assert_eq!(one.len(), 1);
        let codes: Vec<&str> = one[0]["dimensions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["code"].as_str().unwrap())
            .collect();
        assert_eq!(codes, ["PM", "ERP-NO"]);
        assert_error(
            &c.get(
                "/v0/aggregations/tag-groups",
                &[("company_id", &cid), ("tag_group_ids", "nope")],
            )
            .await,
            StatusCode::BAD_REQUEST,
            "PARAMETER_VALIDATION_FAILED",
        );

        let q = [("company_id", cid.as_str())];
        let body = json!({"tagGroupIds": [pid]});
        let tags = c
            .all_pages(Method::POST, "/v0/aggregations/tags", &q, Some(&body), 2)
            .await;
        let active = master
            .tags
            .iter()
            .filter(|t| t.group_id == project.id && !t.archived)
            .count();
        assert_eq!(tags.len(), active);
        for t in &tags {
            assert_eq!(t["companyId"], cid);
            assert_eq!(t["group"]["code"], "PRJ");
            let values: Vec<&str> = t["dimensions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["value"].as_str().unwrap())
                .collect();
            assert_eq!(values.len(), 2, "{t}");
        }
        let (_, archived) = c
            .post(
                "/v0/aggregations/tags",
                &q,
                &json!({"tagGroupIds": [pid], "archived": true}),
            )
            .await;
        let archived = archived["data"].as_array().unwrap();
        assert_eq!(archived.len(), 1);
        assert_eq!(archived[0]["dimensions"], json!([]));
        assert_error(
            &c.post("/v0/aggregations/tags", &q, &json!({"tagIds": ["x"]}))
                .await,
            StatusCode::BAD_REQUEST,
            "VALIDATION_FAILED",
        );
    }

    fn group(code: &str) -> TagGroupRecord {
        let at = DateTime::<Utc>::UNIX_EPOCH;
        TagGroupRecord {
            id: Uuid::new_v4(),
            company_id: Uuid::new_v4(),
            code: code.into(),
            name: code.into(),
            archived: false,
            metadata: Default::default(),
            created_at: at,
            updated_at: at,
        }
    }

    fn tag(group: &TagGroupRecord, code: &str, archived: bool) -> TagRecord {
        TagRecord {
            id: Uuid::new_v4(),
            group_id: group.id,
            code: code.into(),
            name: Some(code.into()),
            archived,
            created_at: group.created_at,
            updated_at: group.created_at,
        }
    }

    #[test]
    fn the_seed_gives_project_tags_a_value_for_each_dimension_of_their_group() {
        let (prj, other) = (group("PRJ"), group("DEP"));
        let tags = vec![
            tag(&prj, "P-1", false),
            tag(&prj, "P-OLD", true),
            tag(&prj, "P-2", false),
            tag(&other, "D-1", false),
        ];
        let mut rng = StdRng::seed_from_u64(7);
        let (dimensions, values) = seed(&mut rng, &[prj.clone(), other], &tags);
        assert_eq!(dimensions.len(), 2);
        assert!(dimensions.iter().all(|d| d.group_id == prj.id));
        let orders: Vec<i32> = dimensions.iter().map(|d| d.display_order).collect();
        assert_eq!(orders, [1, 2]);
        // Two active project tags, one value per dimension each; none for the archived tag
        // or the other group's.
        assert_eq!(values.len(), 4);
        for t in [&tags[0], &tags[2]] {
            let mine: Vec<Uuid> = values
                .iter()
                .filter(|v| v.tag_id == t.id)
                .map(|v| v.dimension_id)
                .collect();
            assert_eq!(mine, dimensions.iter().map(|d| d.id).collect::<Vec<_>>());
        }
        // Same rng, same records.
        let mut again = StdRng::seed_from_u64(7);
        let groups = [prj, group("DEP")];
        assert_eq!(seed(&mut again, &groups, &tags).0, dimensions);
    }

    #[test]
    fn an_aggregated_tag_holds_only_the_dimensions_it_has_a_value_for_in_display_order() {
        let prj = group("PRJ");
        let t = tag(&prj, "P-1", false);
        let at = prj.created_at;
        let dim = |code: &str, order| TagDimensionRecord {
            id: Uuid::new_v4(),
            group_id: prj.id,
            code: code.into(),
            name: code.into(),
            display_order: order,
            visible: true,
            created_at: at,
            updated_at: at,
        };
        let (second, first, unset) = (dim("B", 2), dim("A", 1), dim("C", 3));
        let value = |d: &TagDimensionRecord, v: &str| TagDimensionValueRecord {
            tag_id: t.id,
            dimension_id: d.id,
            value: v.into(),
            created_at: at,
            updated_at: at,
        };
        let master = MasterData {
            tag_groups: vec![prj.clone()],
            tags: vec![t.clone()],
            tag_dimension_values: vec![value(&second, "two"), value(&first, "one")],
            tag_dimensions: vec![second, first, unset],
            ..MasterData::default()
        };
        let json = serde_json::to_value(aggregate(&master, &t)).unwrap();
        assert_eq!(json["companyId"], prj.company_id.to_string());
        assert_eq!(json["group"]["code"], "PRJ");
        let dims = json["dimensions"].as_array().unwrap();
        let codes: Vec<(&str, &str)> = dims
            .iter()
            .map(|d| (d["code"].as_str().unwrap(), d["value"].as_str().unwrap()))
            .collect();
        assert_eq!(codes, [("A", "one"), ("B", "two")]);
    }
}
