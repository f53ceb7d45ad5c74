//! Plugins that ship inside the host binary, built from `plugins/` by the build script.

include!(concat!(env!("OUT_DIR"), "/first_party.rs"));

/// The `.wasm` bytes of a first-party plugin.
pub fn find(name: &str) -> Option<&'static [u8]> {
    FIRST_PARTY
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, bytes)| *bytes)
}

pub fn names() -> Vec<&'static str> {
    FIRST_PARTY.iter().map(|(n, _)| *n).collect()
}
