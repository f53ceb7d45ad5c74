#!/usr/bin/env bash
# Makes sure a toolchain that builds the plugins (wasm32-wasip2 components) exists.
#
#   eval "$(scripts/setup.sh)"
#
# 1. Adds the wasm32-wasip2 target to the active rustup toolchain (if it is not there yet).
# 2. If that is impossible, bootstraps a private toolchain from Debian packages instead:
#    Debian's rustc-web with its std sources, LLVM's wasm-ld and wasi-libc, unpacked with
#    `dpkg -x` (nothing is installed into the system), plus wasm-component-ld from crates.io.
#    It goes to $PLEO_WASM_TOOLCHAIN_DIR (default:
#    ${XDG_CACHE_HOME:-$HOME/.cache}/pleo-host/wasm-toolchain), and the script prints
#    `export PLEO_WASM_TOOLCHAIN=<dir>`, the variable host/build.rs reads to use it.
#
# stdout carries only that export line; progress and errors go to stderr, and nothing at all
# is printed when there is nothing to do. Runs unattended (no stdin needed), as root or not.
# PLEO_WASM_TOOLCHAIN_FORCE=debian skips step 1 (to test the fallback); =rustup skips step 2.
set -euo pipefail

target=wasm32-wasip2
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
force=${PLEO_WASM_TOOLCHAIN_FORCE:-}

say() { echo "setup: $*" >&2; }
fail() {
  say "$*"
  exit 1
}

case $force in
  "" | rustup | debian) ;;
  *) fail "PLEO_WASM_TOOLCHAIN_FORCE must be 'rustup' or 'debian', not '$force'" ;;
esac

# The caller's build settings must not leak into the commands below.
unset CARGO_TARGET_DIR CARGO_BUILD_TARGET RUSTFLAGS CARGO_ENCODED_RUSTFLAGS RUSTC RUSTDOC \
  RUSTC_WRAPPER RUSTC_WORKSPACE_WRAPPER RUSTC_BOOTSTRAP

# Whether the rustc that builds in this repository has the target's std.
rustup_has_target() {
  local sysroot
  sysroot=$(cd "$repo" && rustc --print sysroot 2>/dev/null) &&
    [ -d "$sysroot/lib/rustlib/$target/lib" ]
}

try_rustup() {
  command -v rustc >/dev/null || return 1
  rustup_has_target && return 0
  command -v rustup >/dev/null || return 1
  local out
  if out=$(cd "$repo" && RUST_BACKTRACE=0 timeout 120 rustup target add "$target" 2>&1 </dev/null) &&
    rustup_has_target; then
    say "added $target to the rustup toolchain $(cd "$repo" && rustc -V)"
    return 0
  fi
  say "'rustup target add $target' failed: $({ grep -m 1 '^error' || true; } <<<"$out")"
  return 1
}

if [ "$force" != debian ] && try_rustup; then
  exit 0
fi
if [ "$force" = rustup ]; then
  fail "no $target target for rustup's toolchain (PLEO_WASM_TOOLCHAIN_FORCE=rustup)"
fi

# --- Debian fallback -------------------------------------------------------------------------

home=${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}
dir=${PLEO_WASM_TOOLCHAIN_DIR:-${XDG_CACHE_HOME:-$home/.cache}/pleo-host/wasm-toolchain}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

# One bootstrap at a time per directory.
if command -v flock >/dev/null; then
  exec 9>"$dir/.lock"
  flock 9
fi

if [ ! -f "$dir/.complete" ]; then
  if ! command -v apt-get >/dev/null || ! command -v dpkg >/dev/null; then
    fail "the fallback needs apt-get and dpkg (Debian or Ubuntu); install the $target target with rustup instead"
  fi
  command -v cargo >/dev/null || fail "the fallback needs cargo on PATH (to install wasm-component-ld)"
  say "bootstrapping a $target toolchain from Debian packages into $dir (about 2 minutes)"
  started=$SECONDS
  rm -rf "${dir:?}/debs" "${dir:?}/root" "${dir:?}/bin" "${dir:?}/env.sh"
  mkdir -p "$dir/debs" "$dir/root" "$dir/bin"

  # Fresh package lists (root only; others need someone to have run it).
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq </dev/null >/dev/null 2>&1 || say "apt-get update failed; using the package lists as they are"
  fi
  # field PACKAGE NAME: the field of the package's candidate version (empty if unknown).
  field() {
    { apt-cache show --no-all-versions "$1" 2>/dev/null || true; } |
      awk -v f="$2: " 'index($0, f) == 1 { print substr($0, length(f) + 1); exit }'
  }
  version=$(field rustc-web Version)
  [ -n "$version" ] || fail "apt knows no rustc-web package (run 'apt-get update' as root)"
  std_pkg=$(field "libstd-rust-web-dev=$version" Depends | grep -o 'libstd-rust-web-[0-9.]*' || true)
  llvm_pkg=$(field "$std_pkg=$version" Depends | grep -o 'libllvm[0-9]*' || true)
  if [ -z "$std_pkg" ] || [ -z "$llvm_pkg" ]; then
    fail "cannot work out the packages of rustc-web $version"
  fi
  llvm=${llvm_pkg#libllvm}
  # rustc and std (+ LLVM), std's sources for -Z build-std, wasm-ld, and the libc that rustc
  # links into wasm32-wasip2 programs.
  packages=("rustc-web=$version" "libstd-rust-web-dev=$version" "$std_pkg=$version"
    "rust-web-src=$version" "$llvm_pkg" "lld-$llvm" wasi-libc)
  say "downloading ${packages[*]}"
  # As root apt warns that it downloads "unsandboxed"; that is expected here.
  if ! out=$(cd "$dir/debs" && apt-get download -qq "${packages[@]}" 2>&1 </dev/null); then
    fail "apt-get download failed: $(grep -v unsandboxed <<<"$out" | tail -n 3)"
  fi
  for deb in "$dir"/debs/*.deb; do
    dpkg -x "$deb" "$dir/root"
  done
  rm -rf "$dir/debs"

  root=$dir/root
  [ -x "$root/usr/bin/wasm-ld-$llvm" ] || fail "no wasm-ld-$llvm in lld-$llvm"
  # wasm-component-ld runs `wasm-ld`; Debian only ships it with the LLVM version suffix.
  ln -sf "../root/usr/bin/wasm-ld-$llvm" "$dir/bin/wasm-ld"
  # rustc looks for the target's libc next to its std.
  libc_dir=$root/usr/lib/rustlib/$target/lib/self-contained
  mkdir -p "$libc_dir"
  cp "$root"/usr/lib/wasm32-wasi/*.a "$root"/usr/lib/wasm32-wasi/*.o "$libc_dir/"
  # build-std reads only library/ of the sources; the rest is half a gigabyte.
  src=$(find "$root/usr/src" -maxdepth 1 -name 'rustc-*' | head -n 1)
  if [ -z "$src" ] || [ ! -d "$src/library" ]; then
    fail "rust-web-src has no library/ sources"
  fi
  rm -rf "$src/src" "$src/compiler"
  [ -d "$root/usr/lib/rustlib/src/rust/library" ] ||
    ln -sfn "../../../src/$(basename "$src")" "$root/usr/lib/rustlib/src/rust"

  # Values are expanded here; only PATH and LD_LIBRARY_PATH keep the caller's at the end.
  cat >"$dir/env.sh" <<EOF
# Environment for building wasm32-wasip2 components with this toolchain (written by setup.sh).
export PATH="$dir/bin:$root/usr/bin:\$PATH"
export LD_LIBRARY_PATH="$root/usr/lib/x86_64-linux-gnu\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
export RUSTC="$root/usr/bin/rustc"
export RUSTDOC="$root/usr/bin/rustdoc"
# Debian's rustc is a stable release; -Z build-std needs this.
export RUSTC_BOOTSTRAP=1
EOF

  # The linker rustc's wasm32-wasip2 target calls; built by the regular toolchain.
  if ! out=$(cargo install --locked --quiet --root "$dir" --version '^0.5.31' wasm-component-ld 2>&1 </dev/null); then
    fail "cargo install wasm-component-ld failed: $(tail -n 5 <<<"$out")"
  fi
  if ! out=$(
    # shellcheck source=/dev/null
    . "$dir/env.sh" && { rustc -vV && wasm-ld --version && wasm-component-ld --version; } 2>&1
  ); then
    fail "the bootstrapped toolchain does not run: $(tail -n 3 <<<"$out")"
  fi
  touch "$dir/.complete"
  say "done in $((SECONDS - started)) s: $(head -n 1 <<<"$out")"
fi

echo "export PLEO_WASM_TOOLCHAIN=$dir"
