//! Errors: the host's [`PleoError`] and the SDK's own [`Error`].
//!
//! `PleoError` and `ApiError` mirror `pleo-error` and `api-error` in `wit/types.wit` case for
//! case; the bindings use these definitions (`with` in `lib.rs`) instead of generating their
//! own, so that `Display` gives a one-line message rather than a `Debug` dump. A WIT change
//! that is not mirrored here fails to compile.

use std::fmt;

/// A Pleo error response, reduced to what a plugin can act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status Pleo answered with.
    pub status: u16,
    /// Pleo's error `type`, e.g. `EXPORT_ALREADY_IN_PROGRESS`.
    pub code: String,
    pub message: String,
}

/// Why a host call failed. Never carries the key, headers or a raw HTTP dump.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PleoError {
    /// The run's effective scopes lack this Pleo scope (e.g. `users:read`).
    ScopeDenied(String),
    /// The key itself was refused by Pleo (401), or lacks a permission Pleo checks (403).
    Unauthorized(String),
    /// No such object for this company.
    NotFound(String),
    /// The request conflicts with the current state (409).
    Conflict(ApiError),
    /// Pleo or the host rejected the request as invalid (400, 413, 422).
    InvalidRequest(ApiError),
    /// Too many requests: retry after this many seconds.
    RateLimited(u32),
    /// Pleo or the network is unavailable (5xx, timeout, connection error).
    Unavailable(String),
    /// A limit of this run (API calls, response size) is used up.
    BudgetExceeded(String),
    /// The object belongs to a company this run may not use (the operator's `company_id` and
    /// `companies`): a read of it is dropped, a write on it is never sent.
    NotAllowed(String),
}

impl PleoError {
    /// The WIT case name (`not-found`, `not-allowed`, ...), as the host's audit names it.
    pub fn case(&self) -> &'static str {
        match self {
            PleoError::ScopeDenied(_) => "scope-denied",
            PleoError::Unauthorized(_) => "unauthorized",
            PleoError::NotFound(_) => "not-found",
            PleoError::Conflict(_) => "conflict",
            PleoError::InvalidRequest(_) => "invalid-request",
            PleoError::RateLimited(_) => "rate-limited",
            PleoError::Unavailable(_) => "unavailable",
            PleoError::BudgetExceeded(_) => "budget-exceeded",
            PleoError::NotAllowed(_) => "not-allowed",
        }
    }
}

impl fmt::Display for PleoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (what, detail) = match self {
            PleoError::ScopeDenied(scope) => ("scope denied", scope.as_str()),
            PleoError::Unauthorized(m) => ("unauthorized", m.as_str()),
            PleoError::NotFound(m) => ("not found", m.as_str()),
            PleoError::Conflict(e) => return write!(f, "conflict: {e}"),
            PleoError::InvalidRequest(e) => return write!(f, "invalid request: {e}"),
            PleoError::RateLimited(secs) => {
                return write!(f, "rate limited: retry after {secs} s");
            }
            PleoError::Unavailable(m) => ("Pleo unavailable", m.as_str()),
            PleoError::BudgetExceeded(m) => ("run budget exceeded", m.as_str()),
            PleoError::NotAllowed(m) => ("company not allowed", m.as_str()),
        };
        write!(f, "{what}: ")?;
        one_line(f, detail)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {} {}: ", self.status, self.code)?;
        one_line(f, &self.message)
    }
}

impl std::error::Error for PleoError {}

/// Writes `text` with line breaks turned into spaces, so a message stays on one line.
fn one_line(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    let lines = text.split(['\n', '\r']).filter(|line| !line.is_empty());
    for (i, line) in lines.enumerate() {
        if i > 0 {
            f.write_str(" ")?;
        }
        f.write_str(line)?;
    }
    Ok(())
}

/// What the SDK's helpers can fail with: a host call, or Pleo JSON that does not decode.
#[derive(Debug)]
pub enum Error {
    Pleo(PleoError),
    /// The JSON of a page or object did not match the expected type.
    Decode(serde_json::Error),
    /// A page returned the cursor it was requested with as its `next-cursor`.
    CursorRepeated(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Pleo(e) => e.fmt(f),
            Error::Decode(e) => write!(f, "unexpected JSON from Pleo: {e}"),
            Error::CursorRepeated(c) => write!(f, "paging did not advance past cursor {c:?}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<PleoError> for Error {
    fn from(e: PleoError) -> Self {
        Error::Pleo(e)
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Decode(e)
    }
}

/// Lets `?` turn an error into the `err` string that `run` returns.
impl From<Error> for String {
    fn from(e: Error) -> Self {
        e.to_string()
    }
}

/// Lets `?` turn an error into the `err` string that `run` returns.
impl From<PleoError> for String {
    fn from(e: PleoError) -> Self {
        e.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_line() {
        let e = PleoError::InvalidRequest(ApiError {
            status: 400,
            code: "BAD_DATE".into(),
            message: "performedAtStart\nis invalid".into(),
        });
        assert_eq!(
            e.to_string(),
            "invalid request: HTTP 400 BAD_DATE: performedAtStart is invalid"
        );
        assert_eq!(
            PleoError::ScopeDenied("users:read".into()).to_string(),
            "scope denied: users:read"
        );
        assert_eq!(
            PleoError::RateLimited(3).to_string(),
            "rate limited: retry after 3 s"
        );
        assert_eq!(
            String::from(Error::from(PleoError::NotFound("employee 42".into()))),
            "not found: employee 42"
        );
    }
}
