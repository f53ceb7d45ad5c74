//! The key itself: `GET /v1/introspect` (who the key is, its scopes) and
//! `GET /v1/installations/me` (the installation it belongs to).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::error::json_response;
use super::extract::Pairs;
use super::rest::{Result, Shared, companies, ok};
use super::server::AppState;

pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/introspect", get(introspect))
        .route("/v1/installations/me", get(installation))
}

/// `ExternalClientModel`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExternalClient {
    application_name: String,
    auth_method: &'static str,
    client_id: String,
    scope: String,
    #[serde(rename = "subjectURN")]
    subject_urn: String,
}

pub(super) async fn introspect(State(state): Shared) -> Result<Response> {
    let client = &state.data.api_client;
    ok(ExternalClient {
        application_name: client.application_name.clone(),
        auth_method: "API_KEY",
        client_id: client.client_id.to_string(),
        scope: state.scopes.join(" "),
        subject_urn: state.data.subject_urn(),
    })
}

/// `InstallationResponse` (the document does not wrap it in `data`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Installation {
    id: String,
    application_id: String,
    resource: String,
    status: &'static str,
    metadata: serde_json::Map<String, serde_json::Value>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

pub(super) async fn installation(State(state): Shared, Pairs(query): Pairs) -> Result<Response> {
    companies(&state, &query, "company_id")?;
    let client = &state.data.api_client;
    let body = Installation {
        id: client.installation_id.to_string(),
        application_id: client.application_id.to_string(),
        resource: state.data.subject_urn(),
        status: "ACTIVATED",
        metadata: serde_json::Map::new(),
        created_at: client.installed_at,
        updated_at: client.installed_at,
    };
    Ok(json_response(StatusCode::OK, &body))
}
