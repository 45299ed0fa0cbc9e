#!/usr/bin/env bash
# build.sh [--quiet]: build the C++ core, tools, tests and benchmarks with the
# dev preset into $VIGIL_HOME/build (Ninja, incremental), then (re)install the
# Python binding into the venv when its sources changed. Executables land in
# $VIGIL_HOME/build/bin/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

for a in "$@"; do
  case "$a" in
    --quiet|-q) VIGIL_QUIET=1 ;;
    -h|--help) sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "build.sh: unknown argument '$a' (only --quiet)" ;;
  esac
done
export VIGIL_QUIET

bash "$SETUP_DIR/setup.sh" apt $([ "$VIGIL_QUIET" = 1 ] && echo --quiet)

build="$VIGIL_HOME/build"
jobs="${VIGIL_BUILD_JOBS:-2}"
do_build() {
  if [ ! -f "$build/build.ninja" ]; then
    log "configuring $build (preset dev)"
    run_logged cmake-configure cmake --preset dev -S "$ROOT" -B "$build" || die "CMake configure failed"
  fi
  log "building in $build (-j$jobs)"
  if [ "$VIGIL_QUIET" = 1 ]; then
    run_logged cmake-build cmake --build "$build" -j"$jobs" || die "the C++ build failed"
  else
    cmake --build "$build" -j"$jobs" || die "the C++ build failed"
  fi
}
with_lock build do_build
if [ -f "$ROOT/python/pyproject.toml" ] && [ -x "$VIGIL_HOME/venv/bin/python" ]; then
  bash "$SETUP_DIR/setup.sh" binding $([ "$VIGIL_QUIET" = 1 ] && echo --quiet)
fi
