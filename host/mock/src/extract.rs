//! Extractors for handlers: the query as pairs, the path's ids, a JSON body. Each maps axum's
//! rejection to Pleo's 400 `{type, message}` here, once, so a handler only sees good values.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, RawPathParams, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::error::ApiError;
use super::rest::parse_uuid;

/// The query string as name/value pairs, in order, repeats kept (`status=A&status=B`).
pub(super) struct Pairs(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for Pairs {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map(|Query(pairs)| Pairs(pairs))
            .map_err(|_| ApiError::BadParameter("malformed query string".into()))
    }
}

/// The route's `N` path parameters, each a UUID; a bad one is a 400 naming the parameter as
/// the route does (`{tag_id}`).
pub(super) struct Ids<const N: usize>(pub [Uuid; N]);

impl<S: Send + Sync, const N: usize> FromRequestParts<S> for Ids<N> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::BadParameter("path parameters must be UUIDs".into()))?;
        let mut ids = [Uuid::nil(); N];
        let mut count = 0;
        for (name, value) in &params {
            let slot = ids.get_mut(count).ok_or_else(|| {
                ApiError::BadParameter(format!("unexpected path parameter {name}"))
            })?;
            *slot = parse_uuid(value, name)?;
            count += 1;
        }
        if count != N {
            return Err(ApiError::BadParameter(format!(
                "expected {N} path parameter(s), got {count}"
            )));
        }
        Ok(Ids(ids))
    }
}

/// The route's one path parameter as text (`{id}:archive`, split by the handler).
pub(super) struct Text(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Text {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::BadParameter("path parameter is not valid text".into()))?;
        let mut values = params.iter().map(|(_, value)| value);
        match (values.next(), values.next()) {
            (Some(value), None) => Ok(Text(value.to_owned())),
            _ => Err(ApiError::BadParameter("expected one path parameter".into())),
        }
    }
}

/// The request body as JSON, required: missing, blank or malformed is 400 `VALIDATION_FAILED`.
pub(super) struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        parse(&body_bytes(req, state).await?).map(Json)
    }
}

/// The request body as JSON, or the default when there is none (search bodies are optional).
pub(super) struct OptionalJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let body = body_bytes(req, state).await?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(T::default()));
        }
        parse(&body).map(OptionalJson)
    }
}

/// The raw body, for handlers that read it only on some paths.
pub(super) struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        body_bytes(req, state).await.map(RawBody)
    }
}

async fn body_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state)
        .await
        .map_err(|_| ApiError::BadBody("request body could not be read".into()))
}

/// A JSON body that is not blank.
pub(super) fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::BadBody("a JSON request body is required".into()));
    }
    serde_json::from_slice(body).map_err(|e| ApiError::BadBody(format!("invalid request: {e}")))
}
