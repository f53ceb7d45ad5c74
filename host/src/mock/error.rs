//! Errors as Pleo returns them: `ExceptionInfo {type, message}` with an HTTP status.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Content type of every mock response, as in Pleo's OpenAPI documents.
pub(super) const JSON_CONTENT_TYPE: &str = "application/json;charset=UTF-8";

#[derive(Debug, thiserror::Error)]
pub(super) enum ApiError {
    /// Missing or wrong credentials. The message never repeats what was sent.
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
    #[error("{0}")]
    MethodNotAllowed(String),
}

impl ApiError {
    pub(super) fn not_found(kind: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::NotFound {
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
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
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
            ApiError::MethodNotAllowed(_) => "METHOD_NOT_ALLOWED",
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
