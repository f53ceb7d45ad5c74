#!/usr/bin/env bash
# Installs the toolchain that builds a Python or JavaScript plugin, on first use, into a cache
# folder shared by all projects, and prints that folder (the only line on stdout).
#
#   pleo-sdk/toolchain.sh python   # componentize-py (PyPI) in a virtualenv
#   pleo-sdk/toolchain.sh js       # @bytecodealliance/componentize-js and esbuild (npm)
#
# Folder: $PLEO_TOOLCHAINS, else ${XDG_CACHE_HOME:-$HOME/.cache}/pleo-host/toolchains.
# Versions are pinned: the SDK is tested with exactly these. Needs python3 (with venv) or
# node and npm, and the package registry. Written by `pleo-host new`.
set -euo pipefail

COMPONENTIZE_PY=0.25.1
COMPONENTIZE_JS=0.23.0
ESBUILD=0.28.2

say() { echo "toolchain: $*" >&2; }
# Registries have bad moments: try a download three times before giving up.
retry() {
  local attempt
  for attempt in 1 2 3; do
    "$@" && return 0
    say "attempt $attempt of 3 failed: $1"
    sleep $((attempt * 5))
  done
  return 1
}
fail() {
  say "$*"
  exit 1
}

lang=${1:-}
home=${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}
cache=${PLEO_TOOLCHAINS:-${XDG_CACHE_HOME:-$home/.cache}/pleo-host/toolchains}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

case $lang in
  python) dir=$cache/componentize-py-$COMPONENTIZE_PY ;;
  js) dir=$cache/componentize-js-$COMPONENTIZE_JS ;;
  *) fail "usage: $0 python|js" ;;
esac

# One install at a time per folder (tests and builds may run side by side).
mkdir -p "$dir"
if command -v flock >/dev/null; then
  exec 9>"$dir.lock"
  flock 9
fi

if [ ! -f "$dir/.complete" ]; then
  started=$SECONDS
  rm -rf "${dir:?}"/* "$dir"/.[!.]* 2>/dev/null || true
  case $lang in
    python)
      command -v python3 >/dev/null || fail "python3 is needed to build Python plugins"
      say "installing componentize-py $COMPONENTIZE_PY into $dir (once, about 20 s)"
      python3 -m venv "$dir" >&2 || fail "python3 -m venv failed (on Debian: apt-get install python3-venv)"
      retry "$dir/bin/pip" install --quiet --disable-pip-version-check "componentize-py==$COMPONENTIZE_PY" >&2 ||
        fail "pip install componentize-py failed"
      ;;
    js)
      command -v node >/dev/null && command -v npm >/dev/null || fail "node and npm are needed to build JavaScript plugins"
      say "installing componentize-js $COMPONENTIZE_JS and esbuild $ESBUILD into $dir (once, about 30 s)"
      echo '{"private": true, "type": "module"}' >"$dir/package.json"
      # Installed from inside the folder, not with --prefix: --prefix also moves npm's global
      # config, and with it the machine's registry settings (a proxy's CA file, say).
      (cd "$dir" && retry npm install --no-audit --no-fund --loglevel=error \
        "@bytecodealliance/componentize-js@$COMPONENTIZE_JS" "esbuild@$ESBUILD" >&2) ||
        fail "npm install failed"
      ;;
  esac
  touch "$dir/.complete"
  say "done in $((SECONDS - started)) s"
fi
echo "$dir"
