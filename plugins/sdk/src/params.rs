//! Non-secret settings of the run, from `pleo.toml` and `--param k=v` (`params` in
//! `wit/host.wit`).

use crate::Date;
use crate::bindings::pleo::plugin::params as host;

/// The parameter's value, if it is set.
pub fn get(name: &str) -> Option<String> {
    host::get(name)
}

/// The parameter's value, or `default` if it is not set.
pub fn get_or(name: &str, default: &str) -> String {
    get(name).unwrap_or_else(|| default.to_owned())
}

/// Every parameter of the run, as `(name, value)`.
pub fn all() -> Vec<(String, String)> {
    host::all()
}

/// The parameter as a `YYYY-MM-DD` date; `Ok(None)` if it is not set or blank.
pub fn date(name: &str) -> Result<Option<Date>, String> {
    parse_date(name, get(name).as_deref())
}

/// The parameter as a `YYYY-MM-DD` date, or `default` if it is not set or blank.
pub fn date_or(name: &str, default: Date) -> Result<Date, String> {
    Ok(date(name)?.unwrap_or(default))
}

/// The parameter as an integer; `Ok(None)` if it is not set or blank. A plugin that declares
/// it as `integer` gets only values the host has checked.
pub fn integer(name: &str) -> Result<Option<i64>, String> {
    match get(name).as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(value) => value
            .parse()
            .map(Some)
            .map_err(|_| format!("parameter `{name}`: expected an integer, got {value:?}")),
    }
}

/// The parameter as `true`/`false`; `Ok(None)` if it is not set or blank.
pub fn boolean(name: &str) -> Result<Option<bool>, String> {
    match get(name).as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(value) => Err(format!(
            "parameter `{name}`: expected true or false, got {value:?}"
        )),
    }
}

fn parse_date(name: &str, value: Option<&str>) -> Result<Option<Date>, String> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(value) => value
            .parse()
            .map(Some)
            .map_err(|e| format!("parameter `{name}`: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(parse_date("from", None), Ok(None));
        assert_eq!(parse_date("from", Some(" ")), Ok(None));
        assert_eq!(
            parse_date("from", Some(" 2025-01-31 ")),
            Ok(Date::new(2025, 1, 31))
        );
        assert_eq!(
            parse_date("from", Some("31/01/2025")),
            Err("parameter `from`: expected a date as YYYY-MM-DD, got \"31/01/2025\"".into())
        );
    }
}
