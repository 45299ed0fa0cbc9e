# Shared helpers for infra/setup/*.sh (sourced, not run).
# Every step is cached by a stamp file whose name carries a hash of the step's
# inputs, so a second run with unchanged inputs does nothing.

ROOT="${VIGIL_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
VIGIL_HOME="${VIGIL_HOME:-$ROOT/.vigil}"
mkdir -p "$VIGIL_HOME"
VIGIL_HOME="$(cd "$VIGIL_HOME" && pwd)"
export VIGIL_ROOT="$ROOT" VIGIL_HOME
SETUP_DIR="$ROOT/infra/setup"
STAMPS="$VIGIL_HOME/stamps"
mkdir -p "$STAMPS"
VIGIL_QUIET="${VIGIL_QUIET:-0}"

log()  { [ "$VIGIL_QUIET" = 1 ] || echo "[setup] $*" >&2; }
warn() { echo "[setup] warning: $*" >&2; }
die()  { echo "[setup] error: $*" >&2; exit 1; }

# hash_inputs ARG...: one sha256 over strings and the contents of files and
# directories (recursively; build output and caches are skipped).
hash_inputs() {
  local a
  {
    for a in "$@"; do
      if [ -d "$a" ]; then
        (cd "$a" && find . -type f \
            -not -path '*/__pycache__/*' -not -path '*/build/*' -not -path '*/.pytest_cache/*' \
            -not -name '*.pyc' -not -path '*.egg-info/*' -print0 \
          | LC_ALL=C sort -z | xargs -0r sha256sum)
      elif [ -f "$a" ]; then
        sha256sum < "$a"
      else
        printf '%s\n' "$a"
      fi
    done
  } | sha256sum | cut -c1-16
}

# stamp_ok NAME KEY: true when step NAME already ran with inputs KEY.
stamp_ok()  { [ -f "$STAMPS/$1.$2" ]; }
stamp_set() { rm -f "$STAMPS/$1".*; date -u +%FT%TZ > "$STAMPS/$1.$2"; }

# with_lock NAME CMD...: serialize a step between concurrent setup runs that
# share one VIGIL_HOME (several shells and helpers use the same state dir).
with_lock() {
  local name="$1"; shift
  (
    exec 9>"$STAMPS/.$name.lock"
    if ! flock -n 9; then
      log "$name: another setup run holds the lock, waiting"
      flock 9
    fi
    "$@"
  )
}

# run_logged NAME CMD...: run CMD with its output in $VIGIL_HOME/logs/setup-NAME.log;
# on failure print the end of that log and fail.
run_logged() {
  local name="$1"; shift
  mkdir -p "$VIGIL_HOME/logs"
  local logf="$VIGIL_HOME/logs/setup-$name.log"
  if ! "$@" >"$logf" 2>&1; then
    echo "[setup] error: $name failed: $*" >&2
    echo "[setup] last lines of $logf:" >&2
    tail -n 30 "$logf" >&2
    return 1
  fi
}

# version_ge A B: true when dotted version A >= B.
version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }

python_bin() {
  local py="${VIGIL_PYTHON:-$(command -v python3 || true)}"
  [ -n "$py" ] || die "python3 is not on PATH (install Debian's python3 and python3-venv)"
  echo "$py"
}

# The pyspark pin in requirements/venv.lock is the one Spark version of the project.
spark_version() {
  local v
  v="$(sed -n 's/^pyspark==\([0-9.]*\).*/\1/p' "$ROOT/requirements/venv.lock")"
  [ -n "$v" ] || die "requirements/venv.lock: no 'pyspark==X.Y.Z' line"
  echo "$v"
}
