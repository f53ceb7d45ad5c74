//! The one table that maps WIT interfaces to Pleo scopes. A plugin's imports are its permission
//! request: each Pleo interface is gated by exactly one scope. Correct a scope name here and
//! everything (refusal messages, call-time checks, config validation) follows.

use std::collections::BTreeSet;

/// WIT package every plugin interface belongs to, and the version this host implements.
pub const WIT_PACKAGE: &str = "pleo:plugin";
pub const WIT_VERSION: &str = "0.1.0";

/// `(interface, scope)`: the Pleo API interfaces and the scope each one needs.
pub const INTERFACE_SCOPES: &[(&str, &str)] = &[
    ("users-read", "users:read"),
    ("companies-read", "companies:read"),
    ("accounting-entries-read", "accounting-entries:read"),
    ("export-jobs-read", "export-jobs:read"),
    ("export-jobs-write", "export-jobs:write"),
    ("export-items-read", "export-items:read"),
    ("vendors-read", "vendors:read"),
    ("vendors-write", "vendors:write"),
    ("accounts-read", "accounts:read"),
    ("accounts-write", "accounts:write"),
    // Staging's spelling; production's is an alias (see `ALIASES`).
    ("tags-read", "tag-groups:read"),
    ("tags-write", "tag-groups:write"),
    ("tax-codes-read", "tax-codes:read"),
    ("tax-codes-write", "tax-codes:write"),
];

/// `(scope, other spelling)`: spellings of one permission that differ by environment. A public
/// Go client for Pleo's API lists `tag-groups:*` for staging and `tag-group:*` for production
/// (unverified); a key carrying either has the permission.
pub const ALIASES: &[(&str, &str)] = &[
    ("tag-groups:read", "tag-group:read"),
    ("tag-groups:write", "tag-group:write"),
];

/// The project's spelling of `scope` (itself unless it is a known alias).
pub fn canonical(scope: &str) -> &str {
    ALIASES
        .iter()
        .find(|(_, alias)| *alias == scope)
        .map_or(scope, |(name, _)| name)
}

/// How the key spells `scope` (as `/v1/introspect` listed it), if it has it in any known
/// spelling: the one place key scopes are compared with the scopes interfaces need.
pub fn key_spelling<'a>(key: &'a ScopeSet, scope: &str) -> Option<&'a str> {
    key.iter()
        .find(|k| canonical(k) == canonical(scope))
        .map(String::as_str)
}

/// Scopes a key may carry that no interface uses yet; accepted in config so an operator can
/// write a grant once and keep it when later interfaces arrive.
const OTHER_SCOPES: &[&str] = &[];

/// Host services every plugin may import without a grant.
pub const HOST_SERVICES: &[&str] = &["log", "progress", "params", "company", "state"];

/// [`scope_of`] at compile time, for the capability modules' constants: an interface missing
/// from the table fails the build.
pub const fn scope_for(interface: &str) -> &'static str {
    let mut i = 0;
    while i < INTERFACE_SCOPES.len() {
        let (name, scope) = INTERFACE_SCOPES[i];
        if name.len() == interface.len() {
            let (a, b) = (name.as_bytes(), interface.as_bytes());
            let mut j = 0;
            while j < a.len() && a[j] == b[j] {
                j += 1;
            }
            if j == a.len() {
                return scope;
            }
        }
        i += 1;
    }
    panic!("interface missing from INTERFACE_SCOPES")
}

/// The scope gating a Pleo interface, by its bare name (`users-read`).
pub fn scope_of(interface: &str) -> Option<&'static str> {
    INTERFACE_SCOPES
        .iter()
        .find(|(i, _)| *i == interface)
        .map(|(_, s)| *s)
}

pub fn is_known(scope: &str) -> bool {
    let scope = canonical(scope);
    INTERFACE_SCOPES.iter().any(|(_, s)| *s == scope) || OTHER_SCOPES.contains(&scope)
}

pub fn known() -> Vec<&'static str> {
    let mut all: BTreeSet<&str> = OTHER_SCOPES.iter().copied().collect();
    all.extend(INTERFACE_SCOPES.iter().map(|(_, s)| *s));
    all.into_iter().collect()
}

/// A scope set, kept sorted so messages and comparisons are stable.
pub type ScopeSet = BTreeSet<String>;

/// Parses a space-separated scope string as `/v1/introspect` returns it.
pub fn parse_list(s: &str) -> ScopeSet {
    s.split_whitespace().map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_interface_scope_is_known_and_unique() {
        let scopes: BTreeSet<_> = INTERFACE_SCOPES.iter().map(|(_, s)| s).collect();
        assert_eq!(scopes.len(), INTERFACE_SCOPES.len());
        assert!(INTERFACE_SCOPES.iter().all(|(_, s)| is_known(s)));
        assert_eq!(scope_of("users-read"), Some("users:read"));
        assert_eq!(scope_of("log"), None);
        for (interface, scope) in INTERFACE_SCOPES {
            assert_eq!(scope_for(interface), *scope);
        }
    }

    /// Every interface the WIT world imports is a host service or has a scope here, and the
    /// table names no interface the world lacks.
    #[test]
    fn the_table_covers_the_world() {
        let world = include_str!("../../wit/world.wit");
        let imports: BTreeSet<&str> = world
            .lines()
            .filter_map(|line| line.trim().strip_prefix("import "))
            .map(|rest| rest.trim_end_matches(';').trim())
            .filter(|name| !HOST_SERVICES.contains(name))
            .collect();
        let table: BTreeSet<&str> = INTERFACE_SCOPES.iter().map(|(i, _)| *i).collect();
        assert_eq!(imports, table);
    }

    /// `known()` (listed in the config error for an unknown scope) is every scope of the table,
    /// once, sorted; a scope outside it is not known; `/v1/introspect`'s scope string splits on
    /// any whitespace.
    #[test]
    fn known_scopes_and_the_introspect_list() {
        let table: BTreeSet<&str> = INTERFACE_SCOPES.iter().map(|(_, s)| *s).collect();
        assert_eq!(known(), table.into_iter().collect::<Vec<_>>());
        assert!(!is_known("users:admin") && !is_known(""));
        let parsed = parse_list(" users:read\n vendors:write\tusers:read ");
        assert_eq!(
            parsed.into_iter().collect::<Vec<_>>(),
            ["users:read", "vendors:write"]
        );
        assert!(parse_list("").is_empty());
    }

    /// Either spelling of a tag scope on the key grants the interface's scope, and the key's
    /// own spelling is what `key_spelling` reports; an unknown spelling grants nothing.
    #[test]
    fn aliases_are_one_permission() {
        for (key, needed) in [
            ("tag-group:read", "tag-groups:read"),
            ("tag-groups:read", "tag-groups:read"),
            ("tag-group:write", "tag-groups:write"),
        ] {
            assert_eq!(key_spelling(&parse_list(key), needed), Some(key));
        }
        for key in [
            "tag-grp:read",
            "tags:read",
            "tag-group:write",
            "tag-groups:write",
        ] {
            assert_eq!(
                key_spelling(&parse_list(key), "tag-groups:read"),
                None,
                "{key}"
            );
        }
        assert_eq!(canonical("tag-group:write"), "tag-groups:write");
        assert_eq!(canonical("users:read"), "users:read");
        assert!(is_known("tag-group:read") && !is_known("tag-grp:read"));
        for (scope, alias) in ALIASES {
            assert!(INTERFACE_SCOPES.iter().any(|(_, s)| s == scope), "{scope}");
            assert!(!INTERFACE_SCOPES.iter().any(|(_, s)| s == alias), "{alias}");
        }
    }
}
