//! The bindings come from `wit/` through `wit_bindgen::generate!`, which does not tell cargo
//! that it read those files: without this, a changed WIT file leaves the SDK compiled from the
//! old one in a warm target directory (plugins then miss the new functions).

fn main() {
    println!("cargo:rerun-if-changed=../../wit");
    println!("cargo:rerun-if-changed=build.rs");
}
