#!/usr/bin/env bash
# Browser compatibility test: OpenSeadragon in headless Debian Chromium against reread-server.
#
#   tests/browser/run.sh BUILD_DIR
#
# Needs node (>= 20) with npm, and Debian's chromium (apt-get install chromium); without them it
# prints "SKIP: browser test: ..." and exits 0. Installs the npm packages of package-lock.json
# into tests/browser/node_modules when they are missing or stale (npm ci; playwright-core drives
# the system chromium and never downloads a browser). Exit 0 on pass, non-zero on failure; a
# failed run keeps its screenshot, mismatch map and logs under BUILD_DIR/browser-test/.
#
# Environment: CHROMIUM_BIN (default: /usr/bin/chromium, else chromium on PATH),
# REREAD_BROWSER_KEEP=1 keeps the artefacts of a passing run too, REREAD_OSD_DRAWER picks an
# OpenSeadragon drawer (default: OpenSeadragon's own choice, 'webgl' in Chromium).
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BUILD_DIR="$(cd "$1" && pwd)"
SERVER_BIN="$BUILD_DIR/server/reread-server"
TILER_BIN="$BUILD_DIR/tiler/reread-tiler"

skip() {
  echo "SKIP: browser test: $*"
  exit 0
}

# --- prerequisites: a missing browser or Node.js skips; a missing build fails --------------
command -v node >/dev/null 2>&1 || skip "node not found (Node.js >= 20 with npm is needed)"
command -v npm >/dev/null 2>&1 || skip "npm not found (Node.js >= 20 with npm is needed)"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' ||
  skip "node $(node --version) is older than 20"
if [ -z "${CHROMIUM_BIN:-}" ]; then
  if [ -x /usr/bin/chromium ]; then
    CHROMIUM_BIN=/usr/bin/chromium
  else
    CHROMIUM_BIN="$(command -v chromium || true)"
  fi
fi
[ -n "$CHROMIUM_BIN" ] && [ -x "$CHROMIUM_BIN" ] || skip "chromium not found (apt-get install chromium)"
export CHROMIUM_BIN

for bin in "$SERVER_BIN" "$TILER_BIN"; do
  if [ ! -x "$bin" ]; then
    echo "FAIL: browser test: $bin not found; build first (cmake --build $BUILD_DIR)" >&2
    exit 1
  fi
done

# --- npm packages: install when node_modules is missing or does not match the lock file ------
mkdir -p "$BUILD_DIR/browser-test"
stamp_of() {
  cat "$HERE/package.json" "$HERE/package-lock.json" | sha256sum | cut -d' ' -f1
  node --version
}
install_deps() {
  local want stamp="$HERE/node_modules/.reread-deps-stamp"
  want="$(stamp_of)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] &&
     [ -f "$HERE/node_modules/openseadragon/package.json" ] && [ -f "$HERE/node_modules/playwright-core/package.json" ]; then
    return 0
  fi
  echo "browser test: installing npm packages (npm ci) in tests/browser"
  (cd "$HERE" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 timeout 300 npm ci --no-audit --no-fund --loglevel=error) || {
    echo "FAIL: browser test: npm ci failed in $HERE" >&2
    return 1
  }
  printf '%s\n' "$want" > "$stamp"
}
if command -v flock >/dev/null 2>&1; then
  # Two runs at once must not install over each other.
  exec 9>"$BUILD_DIR/browser-test/npm.lock"
  timeout 320 flock 9 || { echo "FAIL: browser test: could not lock $BUILD_DIR/browser-test/npm.lock" >&2; exit 1; }
  install_deps || exit 1
  flock -u 9
else
  install_deps || exit 1
fi

# --- run ---------------------------------------------------------------------------------------
WORK="$(mktemp -d "$BUILD_DIR/browser-test/run.XXXXXX")"
start=$(date +%s)
set +e
timeout -k 10 240 node "$HERE/osd_test.mjs" --server "$SERVER_BIN" --tiler "$TILER_BIN" --workdir "$WORK"
rc=$?
set -e
elapsed=$(( $(date +%s) - start ))
if [ $rc -eq 0 ]; then
  if [ "${REREAD_BROWSER_KEEP:-0}" = "1" ]; then
    echo "browser test: artefacts kept in $WORK"
  else
    rm -rf "$WORK"
  fi
  echo "browser test: passed in ${elapsed}s"
  echo "osd_test: 1 passed, 0 failed"
  exit 0
fi
rm -rf "$WORK/chromium-profile"
[ $rc -eq 124 ] && echo "FAIL: browser test: killed after 240 s" >&2
echo "browser test: FAILED (exit $rc) in ${elapsed}s; artefacts in $WORK" >&2
echo "osd_test: 0 passed, 1 failed"
exit 1
