//! Receipts, vendors, chart of accounts, tags and tax codes over HTTP, and the rules every
//! route shares: `limit` bounds per family, paging every list exactly once, 401, 403 with the
//! route's scope, 404 for unknown ids; and the seeded data's determinism.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDateTime, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use super::test_client::{Client, assert_error, basic, cfg};
use super::{Dataset, MockConfig, VendorState};

fn company(ds: &Dataset) -> String {
    ds.company.id.to_string()
}

fn account_search(ds: &Dataset) -> Value {
    json!({
        "companyId": company(ds),
        "excludeIfAssignedToCategory": false,
        "excludeIfAssignedToContraAccount": false,
    })
}

// ---------------------------------------------------------------------------
// Receipts
// ---------------------------------------------------------------------------

/// `X-Amz-Date` of a receipt link.
fn signed_at(url: &str) -> Option<DateTime<Utc>> {
    let raw = url.split("X-Amz-Date=").nth(1)?.split('&').next()?;
    NaiveDateTime::parse_from_str(raw, "%Y%m%dT%H%M%SZ")
        .ok()
        .map(|t| t.and_utc())
}

#[tokio::test]
async fn receipts_of_an_entry_one_receipt_and_search() {
    let c = Client::start(cfg()).await;
    let ds = c.server.dataset();
    let entry = ds
        .entries
        .iter()
        .find(|e| e.deleted_at.is_none() && !e.receipt_ids.is_empty())
        .expect("an entry with a receipt");
    let path = format!("/v1/accounting-entries/{}/receipts", entry.id);
    let before = c.server.now();
    let (status, page) = c.get(&path, &[]).await;
    let after = c.server.now();
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["pagination"]["currentRequestPagination"]["limit"], 10);
    let receipts = page["data"].as_array().expect("data");
    assert_eq!(receipts.len(), entry.receipt_ids.len());
    let r = &receipts[0];
    assert_eq!(r["accountingEntryId"], entry.id.to_string());
    assert_eq!(r["fileType"], "ORIGINAL");
    for key in ["id", "createdAt", "mimeType", "source", "url"] {
        assert!(r[key].is_string(), "{key} in {r}");
    }
    assert!(r["sizeInBytes"].as_u64().is_some_and(|s| s > 0));
    // A pre-signed link on another host, valid 24 hours from now on the mock's clock.
    let url = r["url"].as_str().unwrap_or_default();
    assert!(url.starts_with("https://receipt-files.example/"), "{url}");
    assert!(!url.contains(&c.server.base_url()) && url.contains("X-Amz-Expires=86400"));
    let signed = signed_at(url).expect("X-Amz-Date");
    assert!(before <= signed && signed <= after, "{url}");
    c.server.advance_clock(std::time::Duration::from_secs(7200));
    let (_, later) = c.get(&path, &[]).await;
    let resigned = later["data"][0]["url"].as_str().and_then(signed_at);
    assert!(resigned.is_some_and(|t| t >= signed + chrono::TimeDelta::hours(2)));

    // Another rendition.
    let (_, thumb) = c.get(&path, &[("file_type", "THUMBNAIL")]).await;
    assert_eq!(thumb["data"][0]["fileType"], "THUMBNAIL");
    assert!(
        thumb["data"][0]["url"]
            .as_str()
            .is_some_and(|u| u.contains("/thumbnail."))
    );
    assert_error(
        &c.get(&path, &[("file_type", "HUGE")]).await,
        StatusCode::BAD_REQUEST,
        "PARAMETER_VALIDATION_FAILED",
    );

    // One receipt, only under its own entry.
    let rid = r["id"].as_str().unwrap_or_default();
    let (status, one) = c
        .get(&format!("{path}/{rid}"), &[("file_type", "PREVIEW")])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["data"]["id"], rid);
    assert_eq!(one["data"]["fileType"], "PREVIEW");
    let other = ds
        .entries
        .iter()
        .find(|e| e.deleted_at.is_none() && e.id != entry.id)
        .expect("another entry");
    assert_error(
        &c.get(
            &format!("/v1/accounting-entries/{}/receipts/{rid}", other.id),
            &[],
        )
        .await,
        StatusCode::NOT_FOUND,
        "RECEIPT_NOT_FOUND",
    );
    let deleted = ds
        .entries
        .iter()
        .find(|e| e.deleted_at.is_some())
        .expect("deleted entry");
    assert_error(
        &c.get(
            &format!("/v1/accounting-entries/{}/receipts", deleted.id),
            &[],
        )
        .await,
        StatusCode::NOT_FOUND,
        "ACCOUNTING_ENTRY_NOT_FOUND",
    );

    // Search: every live receipt of the company exactly once.
    let live: HashSet<String> = ds
        .entries
        .iter()
        .filter(|e| e.deleted_at.is_none())
        .flat_map(|e| e.receipt_ids.iter().map(Uuid::to_string))
        .collect();
    let body = json!({"includeDeleted": false});
    let all = c
        .all_pages(
            Method::POST,
            "/v1/accounting-entries/receipts:search",
            &[("company_id", &company(&ds))],
            Some(&body),
            100,
        )
        .await;
    let got: HashSet<String> = all.iter().map(super::test_client::identity).collect();
    assert_eq!(got, live);
    let with_deleted = json!({"includeDeleted": true, "mimeType": ["application/pdf"]});
    let (_, pdfs) = c
        .post(
            "/v1/accounting-entries/receipts:search",
            &[("limit", "100")],
            &with_deleted,
        )
        .await;
    assert!(
        pdfs["data"]
            .as_array()
            .is_some_and(|a| !a.is_empty() && a.iter().all(|r| r["mimeType"] == "application/pdf"))
    );
    let by_entry = json!({"includeDeleted": false, "accountingEntryIds": [entry.id.to_string()]});
    let (_, mine) = c
        .post("/v1/accounting-entries/receipts:search", &[], &by_entry)
        .await;
    assert_eq!(
        mine["data"].as_array().map(Vec::len),
        Some(entry.receipt_ids.len())
    );
    assert_error(
        &c.post("/v1/accounting-entries/receipts:search", &[], &json!({}))
            .await,
        StatusCode::BAD_REQUEST,
        "VALIDATION_FAILED",
    );
    for bad in [
        json!({"includeDeleted": false, "source": ["PIGEON"]}),
        json!({"includeDeleted": false, "mimeType": ["image/bmp"]}),
        json!({"includeDeleted": "no"}),
    ] {
        assert_error(
            &c.post("/v1/accounting-entries/receipts:search", &[], &bad)
                .await,
            StatusCode::BAD_REQUEST,
            "VALIDATION_FAILED",
        );
    }
    let source = r["source"].as_str().unwrap_or_default();
    let (_, same) = c.get(&path, &[("source", source)]).await;
    assert_eq!(same["data"].as_array().map(Vec::len), Some(receipts.len()));
    assert_error(
        &c.get(&path, &[("source", "PIGEON")]).await,
        StatusCode::BAD_REQUEST,
        "PARAMETER_VALIDATION_FAILED",
    );
    assert_error(
        &c.get(&path, &[("offset", "1")]).await,
        StatusCode::BAD_REQUEST,
        "PARAMETER_VALIDATION_FAILED",
    );
}

// ---------------------------------------------------------------------------
// Vendors
// ---------------------------------------------------------------------------

#[tokio::test]
async fn vendors_search_create_update_archive_activate() {
    let c = Client::start(cfg()).await;
    let ds = c.server.dataset();
    let cid = company(&ds);
    let q = [("company_id", cid.as_str())];
    let seeded = &ds.companies[0].master.vendors;

    // company_id is required, even for a key made for one company.
    assert_error(
        &c.post("/v1/vendors:search", &[], &json!({})).await,
        StatusCode::BAD_REQUEST,
        "PARAMETER_VALIDATION_FAILED",
    );
    let all = c
        .all_pages(Method::POST, "/v1/vendors:search", &q, Some(&json!({})), 7)
        .await;
    assert_eq!(all.len(), seeded.len());
    let (_, drafts) = c
        .post("/v1/vendors:search", &q, &json!({"states": ["DRAFT"]}))
        .await;
    assert_eq!(drafts["data"].as_array().map(Vec::len), Some(2));
    assert!(drafts["data"][0].get("externalId").is_none());
    let (_, found) = c
        .post(
            "/v1/vendors:search",
            &q,
            &json!({"externalIds": ["V-1001"], "countries": ["DK"]}),
        )
        .await;
    assert_eq!(found["data"].as_array().map(Vec::len), Some(1));
    assert_error(
        &c.post("/v1/vendors:search", &q, &json!({"states": ["GONE"]}))
            .await,
        StatusCode::BAD_REQUEST,
        "VALIDATION_FAILED",
    );

    // Create: 409 when the name or the external id is taken.
    let existing = &seeded[0];
    for clash in [
        json!({"companyId": cid, "name": existing.name.to_uppercase(), "defaultCurrency": "DKK"}),
        json!({"companyId": cid, "name": "Brand new", "defaultCurrency": "DKK",
               "externalId": existing.external_id}),
    ] {
        assert_error(
            &c.post("/v1/vendors", &[], &clash).await,
            StatusCode::CONFLICT,
            "VENDOR_ALREADY_EXISTS",
        );
    }
    for bad in [
        json!({"companyId": cid, "name": "X"}),
        json!({"companyId": cid, "name": "X", "defaultCurrency": "kroner"}),
        json!({"companyId": cid, "name": "X", "defaultCurrency": "DKK", "country": "Denmark"}),
        json!({"name": "X", "defaultCurrency": "DKK"}),
    ] {
        assert_error(
            &c.post("/v1/vendors", &[], &bad).await,
            StatusCode::BAD_REQUEST,
            "VALIDATION_FAILED",
        );
    }
    let new =
        json!({"companyId": cid, "name": "Kaffebaren", "defaultCurrency": "DKK", "country": "DK"});
    let (status, created) = c.post("/v1/vendors", &[], &new).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["data"]["state"], "DRAFT");
    let id = created["data"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_error(
        &c.post("/v1/vendors", &[], &new).await,
        StatusCode::CONFLICT,
        "VENDOR_ALREADY_EXISTS",
    );

    // Activate: the ERP created it; a taken external id is a conflict.
    let taken = json!({"externalId": existing.external_id});
    assert_error(
        &c.post(&format!("/v1/vendors/{id}:activate"), &[], &taken)
            .await,
        StatusCode::CONFLICT,
        "VENDOR_ALREADY_EXISTS",
    );
    assert_error(
        &c.post(&format!("/v1/vendors/{id}:activate"), &[], &json!({}))
            .await,
        StatusCode::BAD_REQUEST,
        "VALIDATION_FAILED",
    );
    let (status, body) = c
        .post(
            &format!("/v1/vendors/{id}:activate"),
            &[],
            &json!({"externalId": "V-9001", "code": "9001"}),
        )
        .await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
    let (_, got) = c.get(&format!("/v1/vendors/{id}"), &[]).await;
    assert_eq!(got["data"]["state"], "ACTIVE");
    assert_eq!(got["data"]["externalId"], "V-9001");
    assert_eq!(got["data"]["code"], "9001");

    // Update: all required fields, no clash.
    let update = json!({"companyId": cid, "name": "Kaffebaren ApS", "defaultCurrency": "DKK",
                        "externalId": "V-9001", "state": "ACTIVE", "country": "DK"});
    let (status, updated) = c.put(&format!("/v1/vendors/{id}"), &update).await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["data"]["name"], "Kaffebaren ApS");
    let mut no_state = update.clone();
    no_state.as_object_mut().map(|o| o.remove("state"));
    assert_error(
        &c.put(&format!("/v1/vendors/{id}"), &no_state).await,
        StatusCode::BAD_REQUEST,
        "VALIDATION_FAILED",
    );
    let mut clash = update.clone();
    clash["name"] = json!(existing.name);
    assert_error(
        &c.put(&format!("/v1/vendors/{id}"), &clash).await,
        StatusCode::CONFLICT,
        "VENDOR_ALREADY_EXISTS",
    );

    // Archive.
    let (status, _) = c
        .post(&format!("/v1/vendors/{id}:archive"), &[], &json!({}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let live = c.server.master_data(ds.company.id).expect("master data");
    let vendor = live
        .vendors
        .iter()
        .find(|v| v.id.to_string() == id)
        .expect("vendor");
    assert_eq!(vendor.state, VendorState::Archived);
    // The seeded data did not change.
    assert!(
        ds.companies[0]
            .master
            .vendors
            .iter()
            .all(|v| v.id.to_string() != id)
    );

    let unknown = Uuid::new_v4();
    for answer in [
        c.get(&format!("/v1/vendors/{unknown}"), &[]).await,
        c.put(&format!("/v1/vendors/{unknown}"), &update).await,
        c.post(&format!("/v1/vendors/{unknown}:archive"), &[], &json!({}))
            .await,
    ] {
        assert_error(&answer, StatusCode::NOT_FOUND, "VENDOR_NOT_FOUND");
    }
    assert_error(
        &c.post(&format!("/v1/vendors/{id}:delete"), &[], &json!({}))
            .await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    );
}

// ---------------------------------------------------------------------------
// Chart of accounts
// ---------------------------------------------------------------------------

#[tokio::test]
async fn accounts_match_conflict_and_refuse_to_delete_linked_ones() {
    let c = Client::start(cfg()).await;
    let ds = c.server.dataset();
    let cid = company(&ds);
    let chart = &ds.companies[0].master.accounts;

    // The search body needs its three required fields.
    for missing in [
        "companyId",
        "excludeIfAssignedToCategory",
        "excludeIfAssignedToContraAccount",
    ] {
        let mut body = account_search(&ds);
        body.as_object_mut().map(|o| o.remove(missing));
        assert_error(
            &c.post("/v1/chart-of-accounts:search", &[], &body).await,
            StatusCode::BAD_REQUEST,
            "VALIDATION_FAILED",
        );
    }
    let all = c
        .all_pages(
            Method::POST,
            "/v1/chart-of-accounts:search",
            &[],
            Some(&account_search(&ds)),
            4,
        )
        .await;
    assert_eq!(all.len(), chart.len());
    let mut no_contra = account_search(&ds);
    no_contra["excludeIfAssignedToContraAccount"] = json!(true);
    no_contra["archived"] = json!(false);
    let (_, page) = c
        .post(
            "/v1/chart-of-accounts:search",
            &[("limit", "100")],
            &no_contra,
        )
        .await;
    let n = page["data"].as_array().map(Vec::len).unwrap_or(0);
    assert_eq!(
        n,
        chart
            .iter()
            .filter(|a| !a.contra_account && !a.archived)
            .count()
    );
    let (_, by_code) = c
        .post(
            "/v1/chart-of-accounts:search",
            &[],
            &json!({"companyId": cid,
            "excludeIfAssignedToCategory": false, "excludeIfAssignedToContraAccount": false,
            "codes": ["2210", "2220"]}),
        )
        .await;
    assert_eq!(by_code["data"].as_array().map(Vec::len), Some(2));

    // Create; the same again is 200 with the same account; a different one with the same
    // external id is 409.
    let new = json!({"companyId": cid, "externalId": "7010", "name": "Team events",
                     "code": "7010", "archived": false, "taxCodeExternalId": "DK25"});
    let (status, created) = c.post("/v1/chart-of-accounts", &[], &new).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["data"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let (status, again) = c.post("/v1/chart-of-accounts", &[], &new).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["data"], created["data"]);
    let mut renamed = new.clone();
    renamed["name"] = json!("Team events and parties");
    assert_error(
        &c.post("/v1/chart-of-accounts", &[], &renamed).await,
        StatusCode::CONFLICT,
        "EXTERNAL_ID_ALREADY_EXISTS",
    );
    for bad in [
        json!({"companyId": cid, "externalId": "", "name": "X", "archived": false}),
        json!({"companyId": cid, "externalId": "X", "archived": false}),
        json!({"companyId": cid, "externalId": "X", "name": "X"}),
        json!({"companyId": cid, "externalId": "X", "name": "X", "archived": false, "taxCodeExternalId": "NOPE"}),
        json!({"companyId": cid, "externalId": "x".repeat(256), "name": "X", "archived": false}),
    ] {
        assert_error(
            &c.post("/v1/chart-of-accounts", &[], &bad).await,
            StatusCode::BAD_REQUEST,
            "VALIDATION_FAILED",
        );
    }

    // Update.
    let (status, updated) = c
        .put(
            &format!("/v1/chart-of-accounts/{id}"),
            &json!({"name": "Social events", "archived": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(updated["data"]["name"], "Social events");
    assert_eq!(updated["data"]["archived"], true);
    assert_eq!(updated["data"]["externalId"], "7010");
    assert_error(
        &c.put(
            &format!("/v1/chart-of-accounts/{id}"),
            &json!({"name": "X"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "VALIDATION_FAILED",
    );

    // Delete: not while entries use the account; a new one goes, and is gone.
    let used = ds
        .entries
        .iter()
        .find_map(|e| e.account_id)
        .expect("a used account");
    assert_error(
        &c.call(
            Method::DELETE,
            &format!("/v1/chart-of-accounts/{used}"),
            &[],
            None,
        )
        .await,
        StatusCode::CONFLICT,
        "ACCOUNT_LINKED_TO_ACCOUNTING_ENTRIES",
    );
    let (status, body) = c
        .call(
            Method::DELETE,
            &format!("/v1/chart-of-accounts/{id}"),
            &[],
            None,
        )
        .await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
    for answer in [
        c.get(&format!("/v1/chart-of-accounts/{id}"), &[]).await,
        c.call(
            Method::DELETE,
            &format!("/v1/chart-of-accounts/{id}"),
            &[],
            None,
        )
        .await,
    ] {
        assert_error(&answer, StatusCode::NOT_FOUND, "ACCOUNT_NOT_FOUND");
    }

    // Batch: 1 to 1000 items; each invalid one is reported with its reasons.
    for items in [
        json!([]),
        Value::Array(vec![
            json!({"externalId": "a", "name": "a", "archived": false});
            1001
        ]),
    ] {
        assert_error(
            &c.post(
                "/v1/chart-of-accounts/batch",
                &[],
                &json!({"companyId": cid, "items": items}),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "VALIDATION_FAILED",
        );
    }
    let batch = json!({"companyId": cid, "items": [
        {"externalId": "8001", "name": "Donations", "archived": false},
        {"externalId": "8001", "name": "Donations again", "archived": false},
        {"externalId": "2210", "name": "Travel", "archived": false},
        {"externalId": "", "name": "", "archived": false},
    ]});
    let (status, result) = c.post("/v1/chart-of-accounts/batch", &[], &batch).await;
    assert_eq!(status, StatusCode::CREATED, "{result}");
    assert_eq!(result["data"]["created"].as_array().map(Vec::len), Some(1));
    let failed = result["data"]["failed"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(failed.len(), 3);
    assert_eq!(failed[0]["reasons"], json!(["EXTERNAL_ID_ALREADY_EXISTS"]));
    assert_eq!(failed[0]["request"]["name"], "Donations again");
    assert_eq!(failed[1]["reasons"], json!(["EXTERNAL_ID_ALREADY_EXISTS"]));
    assert_eq!(
        failed[2]["reasons"],
        json!(["EXTERNAL_ID_EMPTY", "NAME_EMPTY"])
    );
}

// ---------------------------------------------------------------------------
// Tags
// ---------------------------------------------------------------------------

#[tokio::test]
async fn tag_groups_and_tags() {
    let c = Client::start(cfg()).await;
    let ds = c.server.dataset();
    let cid = company(&ds);
    let master = &ds.companies[0].master;

    // company_id or organization_id, snake_case; camelCase is not understood.
    for q in [vec![], vec![("companyId", cid.as_str())]] {
        let answer = c.get("/v0/tag-groups", &q).await;
        assert_error(
            &answer,
            StatusCode::BAD_REQUEST,
            "PARAMETER_VALIDATION_FAILED",
        );
        assert_eq!(
            answer.1["message"],
            "Either company_id or organization_id must be provided"
        );
    }
    let (status, groups) = c.get("/v0/tag-groups", &[("company_id", &cid)]).await;
    assert_eq!(status, StatusCode::OK);
    // Not paginated.
    assert!(groups.get("pagination").is_none());
    assert_eq!(
        groups["data"].as_array().map(Vec::len),
        Some(master.tag_groups.len())
    );
    assert!(groups["data"][0].get("totalTagsCount").is_none());
    assert!(groups["data"][0]["metadata"].is_object());
    let org = ds
        .organization_id()
        .map(|o| o.to_string())
        .unwrap_or_default();
    let (status, by_org) = c
        .get(
            "/v0/tag-groups",
            &[("organization_id", &org), ("include_tags_count", "true")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let project = master
        .tag_groups
        .iter()
        .find(|g| g.code == "PRJ")
        .expect("projects");
    let counted = by_org["data"]
        .as_array()
        .and_then(|a| a.iter().find(|g| g["id"] == project.id.to_string()))
        .map(|g| g["totalTagsCount"].clone());
    let in_group = master
        .tags
        .iter()
        .filter(|t| t.group_id == project.id)
        .count();
    assert_eq!(counted, Some(json!(in_group)));

    // Tags of a group: paginated, archived ones only on request.
    let path = format!("/v0/tag-groups/{}/tags", project.id);
    let active = c.all_pages(Method::GET, &path, &[], None, 2).await;
    assert_eq!(active.len(), in_group - 1);
    let every = c
        .all_pages(Method::GET, &path, &[("include_archived", "true")], None, 2)
        .await;
    assert_eq!(every.len(), in_group);
    let tag = &every[0];
    let (_, one) = c
        .get(
            &format!("/v0/tags/{}", tag["id"].as_str().unwrap_or_default()),
            &[],
        )
        .await;
    assert_eq!(&one["data"], tag);

    // Write: groups and tags, codes unique.
    let group = json!({"code": "EVT", "name": "Events", "archived": false});
    let (status, created) = c
        .post("/v0/tag-groups", &[("company_id", &cid)], &group)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let gid = created["data"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_error(
        &c.post("/v0/tag-groups", &[("company_id", &cid)], &group)
            .await,
        StatusCode::CONFLICT,
        "TAG_GROUP_ALREADY_EXISTS",
    );
    // The update requires metadata.
    assert_error(
        &c.put(&format!("/v0/tag-groups/{gid}"), &group).await,
        StatusCode::BAD_REQUEST,
        "VALIDATION_FAILED",
    );
    let (status, updated) = c
        .put(&format!("/v0/tag-groups/{gid}"),
             &json!({"code": "EVT", "name": "Company events", "archived": false, "metadata": {"erp": "dim3"}}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(updated["data"]["metadata"]["erp"], "dim3");
    let tag = json!({"code": "SUMMER", "name": "Summer party", "archived": false});
    let (status, created) = c
        .post(&format!("/v0/tag-groups/{gid}/tags"), &[], &tag)
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let tid = created["data"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(created["data"]["groupId"], gid);
    assert_error(
        &c.post(&format!("/v0/tag-groups/{gid}/tags"), &[], &tag)
            .await,
        StatusCode::CONFLICT,
        "TAG_ALREADY_EXISTS",
    );
    let (status, renamed) = c
        .put(
            &format!("/v0/tags/{tid}"),
            &json!({"code": "SUMMER", "name": "Summer party 2025", "archived": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(renamed["data"]["archived"], true);
    assert_error(
        &c.put(&format!("/v0/tags/{tid}"), &json!({"name": "no code"}))
            .await,
        StatusCode::BAD_REQUEST,
        "VALIDATION_FAILED",
    );
    let unknown = Uuid::new_v4();
    assert_error(
        &c.get(&format!("/v0/tags/{unknown}"), &[]).await,
        StatusCode::NOT_FOUND,
        "TAG_NOT_FOUND",
    );
    for answer in [
        c.get(&format!("/v0/tag-groups/{unknown}"), &[]).await,
        c.get(&format!("/v0/tag-groups/{unknown}/tags"), &[]).await,
        c.post(&format!("/v0/tag-groups/{unknown}/tags"), &[], &tag)
            .await,
    ] {
        assert_error(&answer, StatusCode::NOT_FOUND, "TAG_GROUP_NOT_FOUND");
    }
}

// ---------------------------------------------------------------------------
// Tax codes
// ---------------------------------------------------------------------------

#[tokio::test]
async fn tax_codes_search_create_update() {
    let c = Client::start(cfg()).await;
    let ds = c.server.dataset();
    let cid = company(&ds);
    let q = [("company_id", cid.as_str())];
    let codes = &ds.companies[0].master.tax_codes;
    let all = c
        .all_pages(Method::POST, "/v0/tax-codes:search", &q, None, 2)
        .await;
    assert_eq!(all.len(), codes.len());
    let (_, reverse) = c
        .post("/v0/tax-codes:search", &q, &json!({"type": "reverse"}))
        .await;
    let reverse = reverse["data"].as_array().cloned().unwrap_or_default();
    assert!(!reverse.is_empty() && reverse.iter().all(|t| t["ingoingTaxAccount"].is_string()));
    let (_, active) = c
        .post("/v0/tax-codes:search", &q, &json!({"archived": false}))
        .await;
    assert_eq!(
        active["data"].as_array().map(Vec::len),
        Some(codes.iter().filter(|t| !t.archived).count())
    );
    let new = json!({"companyId": cid, "name": "Moms 12%", "rate": 0.12, "type": "inclusive",
                     "archived": false, "code": "DK12"});
    let (status, created) = c.post("/v0/tax-codes", &[], &new).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["data"]["rate"], 0.12);
    let id = created["data"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_error(
        &c.post("/v0/tax-codes", &[], &new).await,
        StatusCode::CONFLICT,
        "TAX_CODE_ALREADY_EXISTS",
    );
    for bad in [
        json!({"companyId": cid, "name": "X", "rate": 25, "type": "inclusive", "archived": false}),
        json!({"companyId": cid, "name": "X", "rate": 0.1, "type": "sometimes", "archived": false}),
        json!({"companyId": cid, "name": "X", "rate": 0.1, "archived": false}),
        json!({"name": "X", "rate": 0.1, "type": "inclusive", "archived": false}),
    ] {
        assert_error(
            &c.post("/v0/tax-codes", &[], &bad).await,
            StatusCode::BAD_REQUEST,
            "VALIDATION_FAILED",
        );
    }
    let mut archived = new.clone();
    archived["archived"] = json!(true);
    let (status, updated) = c.put(&format!("/v0/tax-codes/{id}"), &archived).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(updated["data"]["archived"], true);
    let (_, got) = c.get(&format!("/v0/tax-codes/{id}"), &[]).await;
    assert_eq!(got["data"], updated["data"]);
    assert_error(
        &c.get(&format!("/v0/tax-codes/{}", Uuid::new_v4()), &[])
            .await,
        StatusCode::NOT_FOUND,
        "TAX_CODE_NOT_FOUND",
    );
}

// ---------------------------------------------------------------------------
// Rules every family shares
// ---------------------------------------------------------------------------

/// A paginated list: method, path, query, body, default limit, max limit.
type ListRoute = (
    Method,
    String,
    Vec<(&'static str, String)>,
    Option<Value>,
    u64,
    u64,
);

fn list_routes(ds: &Dataset) -> Vec<ListRoute> {
    let cid = company(ds);
    let entry = ds
        .entries
        .iter()
        .find(|e| e.deleted_at.is_none() && !e.receipt_ids.is_empty())
        .map(|e| e.id)
        .unwrap_or_default();
    let group = ds.companies[0].master.tag_groups[0].id;
    vec![
        (
            Method::POST,
            "/v1/accounting-entries/receipts:search".into(),
            vec![],
            Some(json!({"includeDeleted": false})),
            10,
            100,
        ),
        (
            Method::GET,
            format!("/v1/accounting-entries/{entry}/receipts"),
            vec![],
            None,
            10,
            100,
        ),
        (
            Method::POST,
            "/v1/vendors:search".into(),
            vec![("company_id", cid.clone())],
            None,
            20,
            100,
        ),
        (
            Method::POST,
            "/v1/chart-of-accounts:search".into(),
            vec![],
            Some(account_search(ds)),
            20,
            100,
        ),
        (
            Method::GET,
            format!("/v0/tag-groups/{group}/tags"),
            vec![],
            None,
            20,
            100,
        ),
        (
            Method::POST,
            "/v0/tax-codes:search".into(),
            vec![("company_id", cid)],
            None,
            20,
            100,
        ),
    ]
}

#[tokio::test]
async fn limit_bounds_per_family() {
    let c = Client::start(cfg()).await;
    let ds = c.server.dataset();
    for (method, path, query, body, default, max) in list_routes(&ds) {
        let q: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, page) = c.call(method.clone(), &path, &q, body.as_ref()).await;
        assert_eq!(status, StatusCode::OK, "{path}: {page}");
        assert_eq!(
            page["pagination"]["currentRequestPagination"]["limit"], default,
            "{path}"
        );
        let max_s = max.to_string();
        let over = (max + 1).to_string();
        let mut ok = q.clone();
        ok.push(("limit", &max_s));
        assert_eq!(
            c.call(method.clone(), &path, &ok, body.as_ref()).await.0,
            StatusCode::OK,
            "{path}"
        );
        for bad in ["0", over.as_str(), "-3", "ten"] {
            let mut q = q.clone();
            q.push(("limit", bad));
            assert_error(
                &c.call(method.clone(), &path, &q, body.as_ref()).await,
                StatusCode::BAD_REQUEST,
                "PARAMETER_VALIDATION_FAILED",
            );
        }
        // A cursor from nowhere is refused too.
        let mut q = q.clone();
        q.push(("after", "NOTACURSOR"));
        assert_error(
            &c.call(method.clone(), &path, &q, body.as_ref()).await,
            StatusCode::BAD_REQUEST,
            "PARAMETER_VALIDATION_FAILED",
        );
    }
}

/// Every route of these families, with the scope it needs.
fn scoped_routes(ds: &Dataset) -> Vec<(Method, String, &'static str)> {
    let master = &ds.companies[0].master;
    let entry = ds
        .entries
        .iter()
        .find(|e| e.deleted_at.is_none() && !e.receipt_ids.is_empty())
        .expect("entry with receipt");
    let receipt = entry.receipt_ids[0];
    let job = ds.companies[0].export_jobs[0].id;
    let vendor = master.vendors[0].id;
    let account = master.accounts[0].id;
    let group = master.tag_groups[0].id;
    let tag = master.tags[0].id;
    let tax = master.tax_codes[0].id;
    let (get, post, put, delete) = (Method::GET, Method::POST, Method::PUT, Method::DELETE);
    vec![
        (
            get.clone(),
            format!("/v1/accounting-entries/{}/receipts", entry.id),
            "accounting-entries:read",
        ),
        (
            get.clone(),
            format!("/v1/accounting-entries/{}/receipts/{receipt}", entry.id),
            "accounting-entries:read",
        ),
        (
            post.clone(),
            "/v1/accounting-entries/receipts:search".into(),
            "accounting-entries:read",
        ),
        (get.clone(), "/v3/export-jobs".into(), "export-jobs:read"),
        (
            get.clone(),
            format!("/v3/export-jobs/{job}"),
            "export-jobs:read",
        ),
        (
            get.clone(),
            format!("/v3/export-jobs/{job}/items"),
            "export-jobs:read",
        ),
        (post.clone(), "/v3/export-jobs".into(), "export-jobs:write"),
        (
            put.clone(),
            format!("/v3/export-jobs/{job}/items"),
            "export-jobs:write",
        ),
        (
            post.clone(),
            "/v3/export-job-events".into(),
            "export-jobs:write",
        ),
        (
            get.clone(),
            format!("/v3/export-items?job_id={job}"),
            "export-items:read",
        ),
        (post.clone(), "/v1/vendors:search".into(), "vendors:read"),
        (get.clone(), format!("/v1/vendors/{vendor}"), "vendors:read"),
        (post.clone(), "/v1/vendors".into(), "vendors:write"),
        (
            put.clone(),
            format!("/v1/vendors/{vendor}"),
            "vendors:write",
        ),
        (
            post.clone(),
            format!("/v1/vendors/{vendor}:archive"),
            "vendors:write",
        ),
        (
            post.clone(),
            format!("/v1/vendors/{vendor}:activate"),
            "vendors:write",
        ),
        (
            post.clone(),
            "/v1/chart-of-accounts:search".into(),
            "accounts:read",
        ),
        (
            get.clone(),
            format!("/v1/chart-of-accounts/{account}"),
            "accounts:read",
        ),
        (
            post.clone(),
            "/v1/chart-of-accounts".into(),
            "accounts:write",
        ),
        (
            post.clone(),
            "/v1/chart-of-accounts/batch".into(),
            "accounts:write",
        ),
        (
            put.clone(),
            format!("/v1/chart-of-accounts/{account}"),
            "accounts:write",
        ),
        (
            delete,
            format!("/v1/chart-of-accounts/{account}"),
            "accounts:write",
        ),
        (get.clone(), "/v0/tag-groups".into(), "tag-groups:read"),
        (
            get.clone(),
            format!("/v0/tag-groups/{group}"),
            "tag-groups:read",
        ),
        (
            get.clone(),
            format!("/v0/tag-groups/{group}/tags"),
            "tag-groups:read",
        ),
        (get.clone(), format!("/v0/tags/{tag}"), "tag-groups:read"),
        (post.clone(), "/v0/tag-groups".into(), "tag-groups:write"),
        (
            put.clone(),
            format!("/v0/tag-groups/{group}"),
            "tag-groups:write",
        ),
        (
            post.clone(),
            format!("/v0/tag-groups/{group}/tags"),
            "tag-groups:write",
        ),
        (put.clone(), format!("/v0/tags/{tag}"), "tag-groups:write"),
        (
            post.clone(),
            "/v0/tax-codes:search".into(),
            "tax-codes:read",
        ),
        (get, format!("/v0/tax-codes/{tax}"), "tax-codes:read"),
        (post, "/v0/tax-codes".into(), "tax-codes:write"),
        (put, format!("/v0/tax-codes/{tax}"), "tax-codes:write"),
    ]
}

#[tokio::test]
async fn every_route_needs_the_key_and_its_scope() {
    let c = Client::start(MockConfig {
        scopes: vec!["users:read".into()],
        ..cfg()
    })
    .await;
    let ds = c.server.dataset();
    let anonymous = c.with_auth(None);
    let wrong = c.with_auth(Some(basic("pleo-wrong-key")));
    let body = json!({});
    for (method, path_and_query, scope) in scoped_routes(&ds) {
        let (path, query) = path_and_query
            .split_once('?')
            .map_or((path_and_query.as_str(), None), |(p, q)| (p, Some(q)));
        let query: Vec<(&str, &str)> = query.and_then(|q| q.split_once('=')).into_iter().collect();
        let with_body = (method != Method::GET && method != Method::DELETE).then_some(&body);
        for client in [&anonymous, &wrong] {
            assert_error(
                &client.call(method.clone(), path, &query, with_body).await,
                StatusCode::UNAUTHORIZED,
                "UNAUTHORIZED",
            );
        }
        let denied = c.call(method.clone(), path, &query, with_body).await;
        assert_error(&denied, StatusCode::FORBIDDEN, "FORBIDDEN");
        assert_eq!(
            denied.1["message"],
            format!("missing scope {scope}"),
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn unknown_ids_are_404_and_malformed_ones_400() {
    let c = Client::start(cfg()).await;
    let ds = c.server.dataset();
    let entry = ds
        .entries
        .iter()
        .find(|e| e.deleted_at.is_none())
        .expect("entry");
    let unknown = Uuid::new_v4();
    for (path, kind) in [
        (
            format!("/v1/accounting-entries/{unknown}/receipts"),
            "ACCOUNTING_ENTRY_NOT_FOUND",
        ),
        (
            format!("/v1/accounting-entries/{}/receipts/{unknown}", entry.id),
            "RECEIPT_NOT_FOUND",
        ),
        (format!("/v3/export-jobs/{unknown}"), "EXPORT_NOT_FOUND"),
        (format!("/v1/vendors/{unknown}"), "VENDOR_NOT_FOUND"),
        (
            format!("/v1/chart-of-accounts/{unknown}"),
            "ACCOUNT_NOT_FOUND",
        ),
        (format!("/v0/tag-groups/{unknown}"), "TAG_GROUP_NOT_FOUND"),
        (format!("/v0/tags/{unknown}"), "TAG_NOT_FOUND"),
        (format!("/v0/tax-codes/{unknown}"), "TAX_CODE_NOT_FOUND"),
    ] {
        assert_error(&c.get(&path, &[]).await, StatusCode::NOT_FOUND, kind);
        let malformed = path.replace(&unknown.to_string(), "12345");
        assert_error(
            &c.get(&malformed, &[]).await,
            StatusCode::BAD_REQUEST,
            "PARAMETER_VALIDATION_FAILED",
        );
    }
    // A body that is not JSON.
    let resp = reqwest::Client::new()
        .post(c.url("/v1/vendors", &[]))
        .header(reqwest::header::AUTHORIZATION, basic(super::MOCK_API_KEY))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body("{oops")
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
}

#[test]
fn seeded_extras_are_deterministic_and_leave_company_zero_alone() {
    let small = |companies| MockConfig {
        companies,
        entries: 600,
        employees: 12,
        ..cfg()
    };
    let a = Dataset::seed(&small(1));
    let b = Dataset::seed(&small(1));
    let three = Dataset::seed(&small(3));
    for other in [&b, &three] {
        assert_eq!(a.companies[0].master, other.companies[0].master);
        assert_eq!(a.companies[0].export_jobs, other.companies[0].export_jobs);
        assert_eq!(a.companies[0].receipts, other.companies[0].receipts);
    }
    let seven = Dataset::seed(&MockConfig {
        seed: 7,
        ..small(1)
    });
    assert_ne!(a.companies[0].export_jobs, seven.companies[0].export_jobs);
    // Every receipt id of an entry is a receipt; the master data keeps the dataset's ids.
    for c in &three.companies {
        let receipts: usize = c.entries.iter().map(|e| e.receipt_ids.len()).sum();
        assert_eq!(receipts, c.receipts.len());
        assert!(
            c.entries
                .iter()
                .flat_map(|e| &e.receipt_ids)
                .all(|id| three.receipt(*id).is_some())
        );
        let accounts: HashSet<Uuid> = c.master.accounts.iter().map(|a| a.id).collect();
        assert!(c.accounts.iter().all(|a| accounts.contains(&a.id)));
        let vendors: HashSet<Uuid> = c.master.vendors.iter().map(|v| v.id).collect();
        assert!(
            c.entries
                .iter()
                .filter_map(|e| e.vendor_id)
                .all(|v| vendors.contains(&v))
        );
        assert!(c.oldest_pending_job().is_some());
        assert!(
            c.export_jobs
                .iter()
                .all(|j| j.company_id == c.company.id && j.created_at < three.epoch)
        );
    }
}

/// The mock's clock is real time: what a run creates carries the real moment it was made, not
/// one relative to the anchor (whose seeded data lies in the past here, or ahead of today with
/// the default anchor).
#[tokio::test]
async fn created_objects_carry_the_real_time_they_were_made() {
    let c = Client::start(cfg()).await;
    let cid = company(&c.server.dataset());
    let before = Utc::now();
    let vendor =
        json!({"companyId": cid, "name": "Kaffebaren", "defaultCurrency": "DKK", "country": "DK"});
    let (status, vendor) = c.post("/v1/vendors", &[], &vendor).await;
    assert_eq!(status, StatusCode::CREATED, "{vendor}");
    let group = json!({"code": "EVT", "name": "Events", "archived": false});
    let (status, group) = c
        .post("/v0/tag-groups", &[("company_id", &cid)], &group)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    let after = Utc::now();
    for created in [&vendor["data"]["createdAt"], &group["data"]["createdAt"]] {
        let at: DateTime<Utc> = serde_json::from_value(created.clone()).expect("createdAt");
        // Pleo's timestamps are whole seconds: `before` counts from its second.
        assert!(
            before.timestamp() <= at.timestamp() && at <= after,
            "{at} is not within {before}..{after}"
        );
    }
}
