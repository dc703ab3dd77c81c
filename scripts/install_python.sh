#!/usr/bin/env bash
# Makes `import unroll` work from anywhere for this user: writes unroll.pth, naming build/python, into
# the user site-packages of the interpreter the module was built for (Debian: /usr/bin/python3).
# Undo: rm "$(python3 -m site --user-site)/unroll.pth".  Build first: bash scripts/setup.sh.
#   UNROLL_BUILD_DIR   build folder (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=$(cd "${UNROLL_BUILD_DIR:-build}" && pwd)
PYTHON=$(sed -n 's/^UNROLL_PYTHON_EXECUTABLE:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null || true)
PYTHON=${PYTHON:-/usr/bin/python3}
if ! ls "$BUILD_DIR"/python/unroll/_C*.so >/dev/null 2>&1; then
  echo "error: $BUILD_DIR/python/unroll has no compiled module (run bash scripts/setup.sh; CMake says why it skipped it)" >&2
  exit 1
fi
SITE=$("$PYTHON" -m site --user-site)
mkdir -p "$SITE"
echo "$BUILD_DIR/python" > "$SITE/unroll.pth.tmp$$"
mv "$SITE/unroll.pth.tmp$$" "$SITE/unroll.pth"
"$PYTHON" -c "import unroll; print('unroll: importable by $PYTHON (' + str(len(unroll.methods())) + ' methods)')"
echo "wrote $SITE/unroll.pth"
