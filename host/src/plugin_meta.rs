//! A plugin's declared metadata: the custom section `pleo-plugin-metadata` its SDK embeds (name,
//! version, SDK version and, optionally, the parameters it accepts), read with wasmparser
//! without compiling or running the component; and the check of a run's parameters against
//! that declaration.
//!
//! The section is written by whoever built the plugin, so it is hostile input: its size, the
//! number of parameters and enum values and the length of every string are bounded, names
//! are restricted to a small alphabet, and a section that breaks a rule refuses the plugin
//! (exit 5) rather than being half-believed. Everything printed from it goes through
//! [`crate::terminal`]. A component without the section keeps the behaviour of plugins
//! built before declarations existed: any parameter is passed on.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{ExitCode, Failure};

/// Name of the custom section (the Rust SDK's `METADATA_SECTION`).
pub const SECTION: &str = "pleo-plugin-metadata";
/// Largest section accepted, in bytes.
pub const MAX_SECTION_BYTES: usize = 64 * 1024;
/// Most parameters a plugin may declare.
pub const MAX_PARAMS: usize = 64;
/// Most values of one enum parameter.
pub const MAX_ENUM_VALUES: usize = 64;
/// Longest parameter name, in bytes.
pub const MAX_NAME: usize = 64;
/// Longest plugin name, version, SDK version, default or enum value, in bytes.
pub const MAX_VALUE: usize = 200;
/// Longest description, in bytes.
pub const MAX_DESCRIPTION: usize = 300;

/// What the SDK embedded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginMeta {
    pub name: String,
    pub version: String,
    /// Version of the SDK that built it (absent in plugins built before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdk: Option<String>,
    /// The declared parameters; `None`: the plugin declares nothing (any parameter passes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Vec<ParamSpec>>,
}

/// One declared parameter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParamSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ParamKind,
    /// The words an `enum` accepts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamKind {
    String,
    Integer,
    Boolean,
    Date,
    Enum,
}

impl fmt::Display for ParamKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ParamKind::String => "string",
            ParamKind::Integer => "integer",
            ParamKind::Boolean => "boolean",
            ParamKind::Date => "date",
            ParamKind::Enum => "enum",
        })
    }
}

/// Reads the metadata section of a component (at its top level, where `pleo-host build` puts
/// it for Python and JavaScript, or in a core module nested in it, where the Rust SDK's
/// linker puts it). `Ok(None)`: there is none. More than one, or one that breaks the rules
/// above, is an error.
pub fn read(wasm: &[u8]) -> Result<Option<PluginMeta>, String> {
    section(wasm)?.map(parse).transpose()
}

/// The bytes of the metadata section, in the component or any module nested in it; more
/// than one such section refuses the plugin.
pub fn section(wasm: &[u8]) -> Result<Option<&[u8]>, String> {
    let mut found: Option<&[u8]> = None;
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        // A malformed component is the loader's business (it refuses it with its own words).
        let Ok(payload) = payload else { break };
        if let wasmparser::Payload::CustomSection(section) = payload
            && section.name() == SECTION
        {
            if found.is_some() {
                return Err(format!("it has more than one `{SECTION}` section"));
            }
            found = Some(section.data());
        }
    }
    Ok(found)
}

/// Parses and checks the JSON of a metadata section.
pub fn parse(data: &[u8]) -> Result<PluginMeta, String> {
    if data.len() > MAX_SECTION_BYTES {
        return Err(format!(
            "its metadata is {} bytes; at most {MAX_SECTION_BYTES} are accepted",
            data.len()
        ));
    }
    let meta: PluginMeta =
        serde_json::from_slice(data).map_err(|e| format!("its metadata is not valid: {e}"))?;
    validate(&meta)?;
    Ok(meta)
}

/// The rules every metadata section must keep.
pub fn validate(meta: &PluginMeta) -> Result<(), String> {
    let bounded = |what: &str, text: &str, max: usize| {
        if text.len() > max {
            Err(format!("its metadata's {what} is longer than {max} bytes"))
        } else {
            Ok(())
        }
    };
    bounded("name", &meta.name, MAX_VALUE)?;
    bounded("version", &meta.version, MAX_VALUE)?;
    if let Some(sdk) = &meta.sdk {
        bounded("sdk version", sdk, MAX_VALUE)?;
    }
    let Some(params) = &meta.params else {
        return Ok(());
    };
    if params.len() > MAX_PARAMS {
        return Err(format!(
            "it declares {} parameters; at most {MAX_PARAMS} are accepted",
            params.len()
        ));
    }
    let mut names = BTreeSet::new();
    for p in params {
        if !is_param_name(&p.name) {
            return Err(format!(
                "it declares a parameter named {:?}: names are 1-{MAX_NAME} of a-z, A-Z, 0-9, \
                 `-`, `_`, `.`, starting with a letter",
                p.name
            ));
        }
        if !names.insert(p.name.as_str()) {
            return Err(format!("it declares parameter `{}` twice", p.name));
        }
        let what = format!("parameter `{}`", p.name);
        bounded(
            &format!("{what}'s description"),
            &p.description,
            MAX_DESCRIPTION,
        )?;
        match p.kind {
            ParamKind::Enum if p.values.is_empty() => {
                return Err(format!("{what} is an enum without values"));
            }
            ParamKind::Enum if p.values.len() > MAX_ENUM_VALUES => {
                return Err(format!(
                    "{what} has {} values; at most {MAX_ENUM_VALUES} are accepted",
                    p.values.len()
                ));
            }
            ParamKind::Enum => {}
            _ if !p.values.is_empty() => {
                return Err(format!("{what} lists values but is not an enum"));
            }
            _ => {}
        }
        for value in &p.values {
            bounded(&format!("{what}'s values"), value, MAX_VALUE)?;
        }
        if let Some(default) = &p.default {
            bounded(&format!("{what}'s default"), default, MAX_VALUE)?;
            if p.required {
                return Err(format!("{what} is required and has a default"));
            }
            check_value(p, default).map_err(|why| format!("{what}'s default: {why}"))?;
        }
    }
    Ok(())
}

fn is_param_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= MAX_NAME
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Whether `value` is a value of `param`'s type; the reason if not.
pub fn check_value(param: &ParamSpec, value: &str) -> Result<(), String> {
    let ok = match param.kind {
        ParamKind::String => return Ok(()),
        ParamKind::Integer => value.trim().parse::<i64>().is_ok(),
        ParamKind::Boolean => matches!(value.trim(), "true" | "false"),
        ParamKind::Date => {
            let v = value.trim();
            v.len() == 10 && chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").is_ok()
        }
        ParamKind::Enum => param.values.iter().any(|v| v == value.trim()),
    };
    if ok {
        return Ok(());
    }
    Err(match param.kind {
        ParamKind::Integer => "expected an integer".to_owned(),
        ParamKind::Boolean => "expected true or false".to_owned(),
        ParamKind::Date => "expected a date as YYYY-MM-DD".to_owned(),
        _ => format!("expected one of {}", param.values.join(", ")),
    })
}

/// Where a run's parameter came from: it decides the exit code of a bad one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// `--param name=value` (exit 2).
    CommandLine,
    /// `[plugins.NAME] params` in pleo.toml (exit 3).
    Config,
    /// Set by the host for a scheduled run (`scheduled_for`, `last_success_for`, the
    /// schedule's `params`): a declared one is checked (exit 3, it comes from pleo.toml), an
    /// undeclared one is passed on for a plugin that reads it without declaring it.
    Host,
}

/// Checks a run's parameters against the declaration and returns them with the declared
/// defaults of the unset ones added. Without a declaration they pass unchanged.
pub fn check_params(
    plugin: &str,
    meta: Option<&PluginMeta>,
    params: &BTreeMap<String, (String, Origin)>,
) -> Result<BTreeMap<String, String>, Failure> {
    let Some(declared) = meta.and_then(|m| m.params.as_ref()) else {
        return Ok(params
            .iter()
            .map(|(k, (v, _))| (k.clone(), v.clone()))
            .collect());
    };
    let help = format!("`pleo-host run --help-params {plugin}` lists them");
    let failure = |origin: Origin, message: String| {
        let (code, source) = match origin {
            Origin::CommandLine => (ExitCode::Usage, "--param"),
            Origin::Config | Origin::Host => (ExitCode::Config, "pleo.toml: params."),
        };
        let sep = if origin == Origin::CommandLine {
            " "
        } else {
            ""
        };
        Failure::new(code, format!("{source}{sep}{message}"))
    };
    for (name, (value, origin)) in params {
        let Some(spec) = declared.iter().find(|p| &p.name == name) else {
            if *origin == Origin::Host {
                continue;
            }
            let what = format!("{name}: {plugin} has no parameter `{name}`");
            let hint = match closest(name, declared.iter().map(|p| p.name.as_str())) {
                Some(near) => format!("did you mean `{near}`? {help}"),
                None if declared.is_empty() => format!("{plugin} takes no parameters"),
                None => help.clone(),
            };
            return Err(failure(*origin, what).hint(hint));
        };
        if let Err(why) = check_value(spec, value) {
            return Err(failure(
                *origin,
                format!(
                    "{name}={}: {why} ({} parameter of {plugin})",
                    crate::terminal::line(value),
                    spec.kind
                ),
            )
            .hint(help.clone()));
        }
    }
    let mut out: BTreeMap<String, String> = params
        .iter()
        .map(|(k, (v, _))| (k.clone(), v.clone()))
        .collect();
    for spec in declared {
        if out.contains_key(&spec.name) {
            continue;
        }
        if let Some(default) = &spec.default {
            out.insert(spec.name.clone(), default.clone());
        } else if spec.required {
            return Err(Failure::new(
                ExitCode::Usage,
                format!("{plugin} needs parameter `{}`", spec.name),
            )
            .hint(format!(
                "pass --param {}=<{}>, or set it in pleo.toml; {help}",
                spec.name, spec.kind
            )));
        }
    }
    Ok(out)
}

/// The declared name closest to a misspelt one, if it is close enough to be a likely typo.
fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| (strsim::damerau_levenshtein(name, c), c))
        .filter(|(distance, c)| *distance <= (c.len().max(name.len()) / 3).max(1))
        // Equally near: the one of the same length (`tpo` is `top` swapped, not `to` + p).
        .min_by_key(|(distance, c)| (*distance, c.len().abs_diff(name.len())))
        .map(|(_, c)| c)
}

/// The parameters as a table for `run --help-params` and `plugin inspect` (not yet escaped:
/// the caller passes it through [`crate::terminal::text`]).
pub fn render_params(meta: Option<&PluginMeta>) -> String {
    use std::fmt::Write as _;
    let Some(params) = meta.and_then(|m| m.params.as_ref()) else {
        return "  not declared (the plugin was built without declarations: any --param is \
                passed on)\n"
            .to_owned();
    };
    if params.is_empty() {
        return "  none\n".to_owned();
    }
    let mut out = String::new();
    for p in params {
        let kind = match p.kind {
            ParamKind::Enum => crate::terminal::line(&p.values.join("|")).into_owned(),
            kind => kind.to_string(),
        };
        let mut extra = Vec::new();
        if p.required {
            extra.push("required".to_owned());
        }
        if let Some(default) = &p.default {
            extra.push(format!("default {}", crate::terminal::line(default)));
        }
        let extra = if extra.is_empty() {
            String::new()
        } else {
            format!(" ({})", extra.join(", "))
        };
        let _ = writeln!(out, "  {:<16} {kind}{extra}", p.name);
        if !p.description.is_empty() {
            let _ = writeln!(
                out,
                "  {:<16} {}",
                "",
                crate::terminal::line(&p.description)
            );
        }
    }
    out
}

/// Appends the metadata section to a component (for components built by componentize-py or
/// componentize-js, which give the source no way to add one). A custom section may come after
/// every other section of a component.
pub fn append_section(wasm: &mut Vec<u8>, meta: &PluginMeta) -> Result<(), String> {
    validate(meta)?;
    let data = serde_json::to_vec(meta).map_err(|e| e.to_string())?;
    if data.len() > MAX_SECTION_BYTES {
        return Err(format!("the metadata is over {MAX_SECTION_BYTES} bytes"));
    }
    let mut body = Vec::new();
    leb128(&mut body, SECTION.len());
    body.extend_from_slice(SECTION.as_bytes());
    body.extend_from_slice(&data);
    wasm.push(0); // custom section id
    leb128(wasm, body.len());
    wasm.extend_from_slice(&body);
    Ok(())
}

fn leb128(out: &mut Vec<u8>, mut n: usize) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// The metadata section of a plugin; a section that breaks the rules refuses it (exit 5).
pub fn read_meta(plugin: &str, wasm: &[u8]) -> Result<Option<PluginMeta>, Failure> {
    read(wasm).map_err(|why| refused(plugin, &why))
}

/// [`read_meta`] of a section found before (the file index keeps it): checked again.
pub fn parse_meta(plugin: &str, section: Option<&[u8]>) -> Result<Option<PluginMeta>, Failure> {
    section
        .map(parse)
        .transpose()
        .map_err(|why| refused(plugin, &why))
}

/// A plugin refused for its metadata section (exit 5).
pub fn refused(plugin: &str, why: &str) -> Failure {
    Failure::new(
        ExitCode::Rejected,
        format!("plugin {plugin} refused: {}", crate::terminal::line(why)),
    )
    .hint("rebuild it with the pleo-host SDK (`pleo-host build`)")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(params: &str) -> PluginMeta {
        parse(format!(r#"{{"name":"p","version":"1","params":{params}}}"#).as_bytes()).unwrap()
    }

    fn given(pairs: &[(&str, &str)]) -> BTreeMap<String, (String, Origin)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), (v.to_string(), Origin::CommandLine)))
            .collect()
    }

    const DECLARED: &str = r#"[
        {"name":"from","type":"date","description":"first day"},
        {"name":"to","type":"date"},
        {"name":"top","type":"integer","default":"10"},
        {"name":"format","type":"enum","values":["csv","json"]},
        {"name":"team","type":"string","required":true}
    ]"#;

    #[test]
    fn values_are_checked_and_defaults_added() {
        let m = meta(DECLARED);
        let ok = check_params(
            "p",
            Some(&m),
            &given(&[("from", "2026-02-28"), ("team", "x"), ("format", "json")]),
        )
        .unwrap();
        assert_eq!(ok["top"], "10");
        assert_eq!(ok["format"], "json");

        let swapped = check_params("p", Some(&m), &given(&[("tpo", "1")])).unwrap_err();
        assert!(swapped.hint.unwrap().contains("did you mean `top`?"));
        let typo = check_params("p", Some(&m), &given(&[("form", "2026-01-01")])).unwrap_err();
        assert_eq!(typo.code, ExitCode::Usage);
        assert!(typo.message.contains("has no parameter `form`"), "{typo:?}");
        assert!(
            typo.hint
                .as_deref()
                .unwrap()
                .contains("did you mean `from`?"),
            "{typo:?}"
        );
        for (name, bad) in [
            ("from", "2026-02-30"),
            ("from", "2026-2-3"),
            ("top", "ten"),
            ("format", "xml"),
        ] {
            let e = check_params("p", Some(&m), &given(&[(name, bad), ("team", "x")]));
            assert!(e.is_err(), "{name}={bad} passed");
        }
        let missing = check_params("p", Some(&m), &given(&[])).unwrap_err();
        assert!(
            missing.message.contains("needs parameter `team`"),
            "{missing:?}"
        );
        let mut from_config = given(&[("nope", "1")]);
        from_config.get_mut("nope").unwrap().1 = Origin::Config;
        assert_eq!(
            check_params("p", Some(&m), &from_config).unwrap_err().code,
            ExitCode::Config
        );
        // Undeclared: anything passes, nothing is added.
        let free = check_params("p", None, &given(&[("anything", "x")])).unwrap();
        assert_eq!(free.len(), 1);
    }

    #[test]
    fn hostile_metadata_is_refused() {
        let long = "x".repeat(MAX_NAME + 1);
        let many: Vec<String> = (0..=MAX_PARAMS)
            .map(|i| format!(r#"{{"name":"p{i}","type":"string"}}"#))
            .collect();
        for bad in [
            format!(r#"[{{"name":"{long}","type":"string"}}]"#),
            r#"[{"name":"a\u001b[2J","type":"string"}]"#.to_owned(),
            r#"[{"name":"a","type":"string"},{"name":"a","type":"date"}]"#.to_owned(),
            r#"[{"name":"a","type":"enum"}]"#.to_owned(),
            r#"[{"name":"a","type":"date","default":"soon"}]"#.to_owned(),
            r#"[{"name":"a","type":"float"}]"#.to_owned(),
            format!("[{}]", many.join(",")),
        ] {
            let text = format!(r#"{{"name":"p","version":"1","params":{bad}}}"#);
            assert!(parse(text.as_bytes()).is_err(), "accepted {bad}");
        }
        assert!(parse(&vec![b' '; MAX_SECTION_BYTES + 1]).is_err());
    }

    #[test]
    fn a_section_appended_to_a_component_is_read_back() {
        // The smallest component: magic and the component-model version/layer.
        let mut wasm = b"\0asm\x0d\x00\x01\x00".to_vec();
        assert_eq!(read(&wasm).unwrap(), None);
        let m = meta(DECLARED);
        append_section(&mut wasm, &m).unwrap();
        assert_eq!(read(&wasm).unwrap(), Some(m.clone()));
        append_section(&mut wasm, &m).unwrap();
        assert!(read(&wasm).unwrap_err().contains("more than one"));
    }

    #[test]
    fn descriptions_are_escaped_when_shown() {
        let m = meta(r#"[{"name":"a","type":"string","description":"x\u001b]0;owned\u0007"}]"#);
        let shown = render_params(Some(&m));
        assert!(!shown.contains('\u{1b}'), "{shown}");
    }
}
