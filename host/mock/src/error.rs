//! Errors as Pleo returns them: `ExceptionInfo {type, message}` with an HTTP status.

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Content type of every mock response, as in Pleo's OpenAPI documents.
pub(super) const JSON_CONTENT_TYPE: &str = "application/json;charset=UTF-8";

#[derive(Debug, thiserror::Error)]
pub(super) enum ApiError {
    /// Missing or wrong credentials. The message never repeats what was sent (unless
    /// [`MockConfig::echo_authorization`](super::MockConfig::echo_authorization) is on).
    #[error("Missing or invalid API key. Send it as HTTP Basic: base64(\"<key>:\").")]
    Unauthorized,
    #[error("missing scope {0}")]
    MissingScope(&'static str),
    /// The key may not see this company/organization.
    #[error("{0}")]
    Forbidden(String),
    #[error("{message}")]
    NotFound { kind: &'static str, message: String },
    /// A query or path parameter is malformed or out of range.
    #[error("{0}")]
    BadParameter(String),
    /// The request body is malformed or fails validation.
    #[error("{0}")]
    BadBody(String),
    /// An error an API documents with its own status and type, e.g. 409
    /// `EXPORT_ALREADY_IN_PROGRESS` or 422 `INVALID_EXPORT_JOB_STATUS_CHANGE`.
    #[error("{message}")]
    Documented {
        status: StatusCode,
        kind: &'static str,
        message: String,
    },
}

impl ApiError {
    pub(super) fn not_found(kind: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::NotFound {
            kind,
            message: message.into(),
        }
    }

    /// 409: the request conflicts with the current state.
    pub(super) fn conflict(kind: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::documented(StatusCode::CONFLICT, kind, message)
    }

    /// 413: too many items in one request.
    pub(super) fn too_large(kind: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::documented(StatusCode::PAYLOAD_TOO_LARGE, kind, message)
    }

    /// 422: well-formed, but not possible in the object's current state.
    pub(super) fn unprocessable(kind: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::documented(StatusCode::UNPROCESSABLE_ENTITY, kind, message)
    }

    pub(super) fn documented(
        status: StatusCode,
        kind: &'static str,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError::Documented {
            status,
            kind,
            message: message.into(),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::MissingScope(_) | ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::BadParameter(_) | ApiError::BadBody(_) => StatusCode::BAD_REQUEST,
            ApiError::Documented { status, .. } => *status,
        }
    }

    /// The `type` field. 400 types follow the vendors API's examples.
    fn kind(&self) -> &'static str {
        match self {
            ApiError::Unauthorized => "UNAUTHORIZED",
            ApiError::MissingScope(_) | ApiError::Forbidden(_) => "FORBIDDEN",
            ApiError::NotFound { kind, .. } => kind,
            ApiError::BadParameter(_) => "PARAMETER_VALIDATION_FAILED",
            ApiError::BadBody(_) => "VALIDATION_FAILED",
            ApiError::Documented { kind, .. } => kind,
        }
    }
}

#[derive(Serialize)]
struct ExceptionInfo<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ExceptionInfo {
            kind: self.kind(),
            message: self.to_string(),
        };
        let mut response = json_response(self.status(), &body);
        if matches!(self, ApiError::Unauthorized) {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"pleo\""),
            );
        }
        response
    }
}

/// Serializes `body` with Pleo's content type; never panics.
pub(super) fn json_response<T: Serialize>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(JSON_CONTENT_TYPE),
            )],
            bytes,
        )
            .into_response(),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(JSON_CONTENT_TYPE),
            )],
            r#"{"type":"INTERNAL_ERROR","message":"Internal error"}"#,
        )
            .into_response(),
    }
}

/// Largest error body [`echo_authorization`] rewrites; error bodies are tiny.
const ECHO_BODY_LIMIT: usize = 1 << 20;

/// With `echo` on, wraps `app` so that every error answer (status 400 and up) whose
/// body is a JSON object with a string `message` gets the request's raw
/// `Authorization` header appended to that message, as a careless server might.
/// Tests use it to prove the host redacts the key from whatever reaches plugins,
/// logs and the audit.
pub(super) fn with_authorization_echo(app: Router, echo: bool) -> Router {
    if echo {
        app.layer(middleware::from_fn(echo_authorization))
    } else {
        app
    }
}

async fn echo_authorization(req: Request, next: Next) -> Response {
    let sent = match req.headers().get(header::AUTHORIZATION) {
        Some(v) => format!(
            "request had Authorization: {}",
            String::from_utf8_lossy(v.as_bytes())
        ),
        None => "request had no Authorization header".to_string(),
    };
    let response = next.run(req).await;
    if !(response.status().is_client_error() || response.status().is_server_error()) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, ECHO_BODY_LIMIT).await else {
        parts.headers.remove(header::CONTENT_LENGTH);
        return Response::from_parts(parts, Body::empty());
    };
    let mut json: serde_json::Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(_) => return Response::from_parts(parts, Body::from(bytes)),
    };
    let Some(message) = json.get_mut("message") else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    let Some(text) = message.as_str() else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    *message = serde_json::Value::String(format!("{text} ({sent})"));
    match serde_json::to_vec(&json) {
        Ok(rewritten) => {
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(rewritten))
        }
        Err(_) => Response::from_parts(parts, Body::from(bytes)),
    }
}
