//! The key itself: `GET /v1/introspect` (who the key is, its scopes) and
//! `GET /v1/installations/me` (the installation it belongs to), and the key's record
//! ([`ApiClient`]) with its seeding.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use serde::Serialize;
use uuid::Uuid;

use super::error::json_response;
use super::extract::Pairs;
use super::rest::{Result, Shared, companies, ok};
use super::seed::{DAY, HOUR, Window, day_start, new_id, ts};
use super::server::AppState;

/// Who the API key belongs to, as `/v1/introspect` and `/v1/installations/me` report.
#[derive(Clone, Debug)]
pub struct ApiClient {
    pub client_id: Uuid,
    pub application_id: Uuid,
    pub installation_id: Uuid,
    pub application_name: String,
    pub installed_at: DateTime<Utc>,
}

pub(super) fn generate_api_client(rng: &mut StdRng, window: &Window) -> ApiClient {
    // The key was made about a month before the end of the data.
    let installed = (window.end - 30 * DAY).max(window.start);
    ApiClient {
        client_id: new_id(rng),
        application_id: new_id(rng),
        installation_id: new_id(rng),
        application_name: "pleo-host".to_string(),
        installed_at: ts(day_start(installed) + 10 * HOUR + 17 * 60),
    }
}

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
