//! Checks shared by the body builders of the Pleo interfaces: what the host refuses before a
//! request leaves it, because Pleo's documents say it would be refused anyway (list sizes,
//! lengths, code formats) or because it would change what the request means.

use super::{HostError, checked_id, invalid, truncate};

/// Checks a list of ids (at most `max`), so none can smuggle anything into a body or URL.
pub(super) fn ids(name: &str, ids: &[String], max: usize) -> Result<(), HostError> {
    at_most(name, ids.len(), max)?;
    for id in ids {
        checked_id(id)?;
    }
    Ok(())
}

pub(super) fn at_most(name: &str, len: usize, max: usize) -> Result<(), HostError> {
    if len > max {
        return Err(invalid(format!(
            "{name} takes at most {max} values, got {len}"
        )));
    }
    Ok(())
}

/// The values without repeats, in their first order (Pleo declares these lists `uniqueItems`).
pub(super) fn unique(values: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    values
        .into_iter()
        .filter(|v| seen.insert(v.clone()))
        .collect()
}

/// A text field with Pleo's documented length bounds (in characters).
pub(super) fn text(name: &str, value: &str, min: usize, max: usize) -> Result<(), HostError> {
    let len = value.chars().count();
    if len < min || len > max {
        let want = if min == 0 {
            format!("at most {max} characters")
        } else {
            format!("{min} to {max} characters")
        };
        return Err(invalid(format!("{name} must have {want}, got {len}")));
    }
    Ok(())
}

pub(super) fn not_empty(name: &str, value: &str) -> Result<(), HostError> {
    if value.trim().is_empty() {
        return Err(invalid(format!("{name} must not be empty")));
    }
    Ok(())
}

/// An ISO 4217 currency code, upper-cased: `dkk` becomes `DKK`.
pub(super) fn currency(name: &str, code: &str) -> Result<String, HostError> {
    letters(name, code, 3, "an ISO 4217 currency code such as EUR")
}

/// An ISO 3166-1 alpha-2 country code, upper-cased: `dk` becomes `DK`.
pub(super) fn country(name: &str, code: &str) -> Result<String, HostError> {
    letters(
        name,
        code,
        2,
        "an ISO 3166-1 alpha-2 country code such as DK",
    )
}

fn letters(name: &str, code: &str, len: usize, what: &str) -> Result<String, HostError> {
    if code.len() == len && code.chars().all(|c| c.is_ascii_alphabetic()) {
        Ok(code.to_ascii_uppercase())
    } else {
        Err(invalid(format!(
            "{name} `{}` is not {what}",
            truncate(code, 40)
        )))
    }
}

/// One of Pleo's snake_case reason types (`account_unknown`, `invalid_configuration`, ...).
/// Only the form is checked, so values Pleo adds later still pass; Pleo judges the value.
pub(super) fn reason_type(name: &str, value: &str) -> Result<(), HostError> {
    let ok = (1..=64).contains(&value.len())
        && value.starts_with(|c: char| c.is_ascii_lowercase())
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(invalid(format!(
            "{name} `{}` is not a snake_case reason type such as account_unknown",
            truncate(value, 80)
        )))
    }
}

/// An RFC 3339 timestamp, rewritten as Pleo writes them: UTC, whole seconds, `Z`.
pub(super) fn timestamp(name: &str, value: &str) -> Result<String, HostError> {
    match chrono::DateTime::parse_from_rfc3339(value) {
        Ok(t) => Ok(t
            .with_timezone(&chrono::Utc)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        Err(_) => Err(invalid(format!(
            "{name} `{}` is not an RFC 3339 date-time",
            truncate(value, 80)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_normalised_or_refused() {
        assert_eq!(currency("c", "dkk").unwrap(), "DKK");
        assert!(currency("c", "DK").is_err());
        assert!(currency("c", "D1K").is_err());
        assert_eq!(country("c", "se").unwrap(), "SE");
        assert!(country("c", "SWE").is_err());
    }

    #[test]
    fn timestamps_become_utc_seconds() {
        assert_eq!(
            timestamp("t", "2025-03-01T12:30:00.123+02:00").unwrap(),
            "2025-03-01T10:30:00Z"
        );
        assert!(timestamp("t", "2025-03-01").is_err());
    }

    #[test]
    fn reason_types_are_snake_case() {
        assert!(reason_type("r", "account_unknown").is_ok());
        assert!(reason_type("r", "Account unknown").is_err());
        assert!(reason_type("r", "").is_err());
        assert!(reason_type("r", "_x").is_err());
    }

    #[test]
    fn lists_and_texts_are_bounded() {
        let ids_ok = vec!["a-1".to_owned(), "b_2".to_owned()];
        assert!(ids("ids", &ids_ok, 2).is_ok());
        assert!(ids("ids", &ids_ok, 1).is_err());
        assert!(ids("ids", &["../x".to_owned()], 5).is_err());
        assert!(text("name", "", 1, 255).is_err());
        assert!(text("name", &"é".repeat(255), 1, 255).is_ok());
        assert!(text("name", &"x".repeat(256), 0, 255).is_err());
        assert_eq!(
            unique(vec!["b".into(), "a".into(), "b".into()]),
            vec!["b".to_owned(), "a".to_owned()]
        );
    }
}
