//! Small values a plugin keeps between runs: a bookmark, a cursor, the date of the last report
//! (`state` in `wit/host.wit`). The host stores them in its state database, per plugin name and
//! per company the run acts for, so another plugin or another company never sees them.
//!
//! ```no_run
//! use pleo_plugin::state;
//!
//! # fn main() -> Result<(), String> {
//! // A typed bookmark: how far the last run got.
//! let last: Option<String> = state::get_json("last-exported")?;
//! let done = String::from("2026-11-30");
//! state::set_json("last-exported", &done)?;
//! # Ok(()) }
//! ```
//!
//! Limits (the host refuses a `set` past them with an `Err` naming the limit): keys of 1 to
//! [`MAX_KEY`] bytes, values up to [`MAX_VALUE`] bytes, at most [`MAX_KEYS`] keys and
//! [`MAX_BYTES`] bytes (keys and values) per plugin and company. During `pleo-host run --plan`
//! changes last for that run only.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::bindings::pleo::plugin::state as host;

/// Longest key, in bytes.
pub const MAX_KEY: usize = 256;
/// Largest value, in bytes.
pub const MAX_VALUE: usize = 64 << 10;
/// Most keys per plugin and company.
pub const MAX_KEYS: usize = 1000;
/// Most bytes of keys and values together per plugin and company.
pub const MAX_BYTES: usize = 1 << 20;

/// The value stored under `key`, if any.
pub fn get(key: &str) -> Option<String> {
    host::get(key)
}

/// Stores `value` under `key`, replacing what was there; `Err` names the limit it would pass.
pub fn set(key: &str, value: &str) -> Result<(), String> {
    host::set(key, value).map_err(|e| format!("state {}: {e}", shown(key)))
}

/// Removes `key`; whether it was there.
pub fn delete(key: &str) -> bool {
    host::delete(key)
}

/// Keys starting with `prefix`, sorted (at most [`MAX_KEYS`]).
pub fn keys(prefix: &str) -> Vec<String> {
    host::keys(prefix)
}

/// The value under `key` decoded from JSON; `Err` if it is there but is not a `T` (written by
/// another version of the plugin, say).
pub fn get_json<T: DeserializeOwned>(key: &str) -> Result<Option<T>, String> {
    get(key).map(|text| decode(key, &text)).transpose()
}

/// Stores `value` as JSON under `key`.
pub fn set_json<T: Serialize + ?Sized>(key: &str, value: &T) -> Result<(), String> {
    set(key, &encode(key, value)?)
}

fn decode<T: DeserializeOwned>(key: &str, text: &str) -> Result<T, String> {
    serde_json::from_str(text)
        .map_err(|e| format!("state {}: not the value expected: {e}", shown(key)))
}

fn encode<T: Serialize + ?Sized>(key: &str, value: &T) -> Result<String, String> {
    serde_json::to_string(value).map_err(|e| format!("state {}: cannot be stored: {e}", shown(key)))
}

/// A key as an error message shows it: quoted, and cut short if long.
fn shown(key: &str) -> String {
    let cut: String = key.chars().take(40).collect();
    if cut.len() < key.len() {
        format!("{cut:?}…")
    } else {
        format!("{cut:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Deserialize, Serialize)]
    struct Bookmark {
        cursor: String,
        runs: u32,
    }

    #[test]
    fn typed_values_round_trip_and_a_wrong_one_names_its_key() {
        let b = Bookmark {
            cursor: "abc".into(),
            runs: 2,
        };
        let text = encode("bm", &b).unwrap();
        assert_eq!(decode::<Bookmark>("bm", &text).unwrap(), b);
        let e = decode::<Bookmark>("bm", "42").unwrap_err();
        assert!(e.starts_with("state \"bm\": not the value expected"), "{e}");
    }

    #[test]
    fn long_keys_are_cut_in_messages() {
        let key = "k".repeat(1000);
        assert!(shown(&key).len() < 50);
        assert_eq!(shown("a\nb"), "\"a\\nb\"");
    }
}
