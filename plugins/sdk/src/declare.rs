//! Declared parameters: what a plugin accepts, embedded in the component so that the host can
//! list them (`pleo-host plugin inspect`, `run --help-params`) and refuse an unknown name or a
//! bad value before the plugin starts.
//!
//! The declaration is a `const` slice of [`Param`], handed to [`export_plugin!`]:
//!
//! ```
//! use pleo_plugin::Param;
//!
//! const PARAMS: &[Param] = &[
//!     Param::date("from", "first day of the period, inclusive"),
//!     Param::integer("top", "how many merchants to list").default("10"),
//!     Param::one_of("format", &["csv", "json"], "output format").default("csv"),
//!     Param::string("team", "only this team's spend").required(),
//! ];
//! ```
//!
//! The metadata section is JSON written at compile time by the const functions below, so it
//! costs the component only its own bytes (no code).

/// The type of a parameter's value, as the host checks it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Any text.
    String,
    /// A signed 64-bit integer in decimal.
    Integer,
    /// `true` or `false`.
    Boolean,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// One of a fixed list of words.
    Enum(&'static [&'static str]),
}

impl Kind {
    /// The name the metadata uses: `string`, `integer`, `boolean`, `date` or `enum`.
    pub const fn name(self) -> &'static str {
        match self {
            Kind::String => "string",
            Kind::Integer => "integer",
            Kind::Boolean => "boolean",
            Kind::Date => "date",
            Kind::Enum(_) => "enum",
        }
    }
}

/// One declared parameter. Build it with the `const` constructors and modifiers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Param {
    pub name: &'static str,
    pub kind: Kind,
    /// What the plugin gets when the operator sets nothing (the host passes it on).
    pub default: Option<&'static str>,
    /// The run is refused when the operator sets nothing.
    pub required: bool,
    /// One line for `pleo-host plugin inspect`.
    pub description: &'static str,
}

impl Param {
    const fn new(name: &'static str, kind: Kind, description: &'static str) -> Param {
        Param {
            name,
            kind,
            default: None,
            required: false,
            description,
        }
    }

    pub const fn string(name: &'static str, description: &'static str) -> Param {
        Param::new(name, Kind::String, description)
    }

    pub const fn integer(name: &'static str, description: &'static str) -> Param {
        Param::new(name, Kind::Integer, description)
    }

    pub const fn boolean(name: &'static str, description: &'static str) -> Param {
        Param::new(name, Kind::Boolean, description)
    }

    pub const fn date(name: &'static str, description: &'static str) -> Param {
        Param::new(name, Kind::Date, description)
    }

    pub const fn one_of(
        name: &'static str,
        values: &'static [&'static str],
        description: &'static str,
    ) -> Param {
        Param::new(name, Kind::Enum(values), description)
    }

    /// The value the plugin gets when none is set.
    pub const fn default(mut self, value: &'static str) -> Param {
        self.default = Some(value);
        self
    }

    /// The operator must set it.
    pub const fn required(mut self) -> Param {
        self.required = true;
        self
    }
}

/// Length of the metadata JSON (for the size of the section's array).
#[doc(hidden)]
pub const fn __metadata_len(name: &str, version: &str, params: Option<&[Param]>) -> usize {
    write_metadata(&mut [], name, version, params)
}

/// The metadata JSON as bytes.
#[doc(hidden)]
pub const fn __metadata<const N: usize>(
    name: &str,
    version: &str,
    params: Option<&[Param]>,
) -> [u8; N] {
    let mut out = [0u8; N];
    write_metadata(&mut out, name, version, params);
    out
}

/// Writes `{"name","version","sdk","params"}` into `out` (as far as it reaches) and returns
/// the full length. Without `params` the key is left out: the plugin declares nothing, and
/// the host accepts any parameter as before.
const fn write_metadata(
    out: &mut [u8],
    name: &str,
    version: &str,
    params: Option<&[Param]>,
) -> usize {
    let mut at = put(out, 0, b"{\"name\":");
    at = put_string(out, at, name);
    at = put(out, at, b",\"version\":");
    at = put_string(out, at, version);
    at = put(out, at, b",\"sdk\":");
    at = put_string(out, at, crate::SDK_VERSION);
    if let Some(params) = params {
        at = put(out, at, b",\"params\":[");
        let mut i = 0;
        while i < params.len() {
            if i > 0 {
                at = put(out, at, b",");
            }
            at = put_param(out, at, &params[i]);
            i += 1;
        }
        at = put(out, at, b"]");
    }
    put(out, at, b"}")
}

const fn put_param(out: &mut [u8], at: usize, param: &Param) -> usize {
    let mut at = put(out, at, b"{\"name\":");
    at = put_string(out, at, param.name);
    at = put(out, at, b",\"type\":");
    at = put_string(out, at, param.kind.name());
    if let Kind::Enum(values) = param.kind {
        at = put(out, at, b",\"values\":[");
        let mut i = 0;
        while i < values.len() {
            if i > 0 {
                at = put(out, at, b",");
            }
            at = put_string(out, at, values[i]);
            i += 1;
        }
        at = put(out, at, b"]");
    }
    if let Some(default) = param.default {
        at = put(out, at, b",\"default\":");
        at = put_string(out, at, default);
    }
    at = put(
        out,
        at,
        if param.required {
            b",\"required\":true"
        } else {
            b",\"required\":false"
        },
    );
    at = put(out, at, b",\"description\":");
    at = put_string(out, at, param.description);
    put(out, at, b"}")
}

/// A JSON string: quotes, backslashes and control characters escaped.
const fn put_string(out: &mut [u8], at: usize, text: &str) -> usize {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = text.as_bytes();
    let mut at = put(out, at, b"\"");
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        at = match b {
            b'"' => put(out, at, b"\\\""),
            b'\\' => put(out, at, b"\\\\"),
            0..=0x1f => put(
                out,
                at,
                &[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[(b >> 4) as usize],
                    HEX[(b & 15) as usize],
                ],
            ),
            _ => put(out, at, &[b]),
        };
        i += 1;
    }
    put(out, at, b"\"")
}

/// Copies `bytes` to `out[at..]` as far as `out` reaches; returns the position after them.
const fn put(out: &mut [u8], at: usize, bytes: &[u8]) -> usize {
    let mut i = 0;
    while i < bytes.len() {
        if at + i < out.len() {
            out[at + i] = bytes[i];
        }
        i += 1;
    }
    at + bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARAMS: &[Param] = &[
        Param::date("from", "first \"day\"\n"),
        Param::one_of("format", &["csv", "json"], "output").default("csv"),
        Param::integer("top", "how many").required(),
    ];

    #[test]
    fn metadata_is_json() {
        const LEN: usize = __metadata_len("demo", "1.2.3", Some(PARAMS));
        const BYTES: [u8; LEN] = __metadata::<LEN>("demo", "1.2.3", Some(PARAMS));
        let value: serde_json::Value = serde_json::from_slice(&BYTES).unwrap();
        assert_eq!(value["name"], "demo");
        assert_eq!(value["version"], "1.2.3");
        assert_eq!(value["sdk"], crate::SDK_VERSION);
        let params = value["params"].as_array().unwrap();
        assert_eq!(params.len(), 3);
        assert_eq!(params[0]["description"], "first \"day\"\n");
        assert_eq!(params[0]["type"], "date");
        assert!(params[0].get("default").is_none());
        assert_eq!(params[1]["values"], serde_json::json!(["csv", "json"]));
        assert_eq!(params[1]["default"], "csv");
        assert_eq!(params[2]["required"], true);

        const NONE: usize = __metadata_len("x", "0", None);
        let value: serde_json::Value =
            serde_json::from_slice(&__metadata::<NONE>("x", "0", None)).unwrap();
        assert!(value.get("params").is_none(), "{value}");
    }
}
