#!/usr/bin/env bash
# infra/test.sh [unit|e2e|airflow|all]: set up what each layer needs, then run it.
#
#   unit     C++ build + ctest -L unit, then pytest python/tests and infra/tests
#   e2e      C++ build (tools), stack up kafka dynamodb minio, pytest tests/e2e
#   airflow  C++ build, stack up (with Airflow), pytest airflow/tests (Airflow's venv)
#
# Each layer does its own set-up (infra/setup/setup.sh, cached). A layer whose
# test folder has no tests yet (pytest exit 5) is reported as such, not failed.
# JUnit XML results: $VIGIL_HOME/test-results/. The last line sums every layer.
# The stack is left running, except with CI=true.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup/lib.sh"
# python/src is not on the path: the vigil package (with its compiled _core) is
# installed into the venv by set-up, and the source tree would shadow it.
export PYTHONPATH="$ROOT/infra${PYTHONPATH:+:$PYTHONPATH}"

layers=()
for a in "$@"; do
  case "$a" in
    unit|e2e|airflow) layers+=("$a") ;;
    all) layers=(unit e2e airflow) ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "test.sh: unknown layer '$a' (unit, e2e, airflow or all)" >&2; exit 2 ;;
  esac
done
[ ${#layers[@]} -gt 0 ] || layers=(unit e2e airflow)

RESULTS="$VIGIL_HOME/test-results"
rm -rf "$RESULTS"; mkdir -p "$RESULTS"
VENV_PY="$VIGIL_HOME/venv/bin/python"
status_lines=()
failed=0

note() { echo; echo "=== $* ==="; }
record() {  # record LAYER PART RC
  local what="$1 $2" rc="$3"
  case "$rc" in
    0) status_lines+=("$what: passed") ;;
    5) status_lines+=("$what: no tests collected (pytest exit 5)") ;;
    skip) status_lines+=("$what: nothing to run") ;;
    *) status_lines+=("$what: FAILED (exit $rc)"); failed=1 ;;
  esac
}

# run_pytest LAYER PYTHON DIR [ARGS...]
run_pytest() {
  local layer="$1" py="$2" dir="$3"; shift 3
  if [ ! -d "$ROOT/$dir" ]; then record "$layer" "$dir" skip; return; fi
  note "$layer: pytest $dir"
  (cd "$ROOT" && "$py" -m pytest "$dir" -p no:cacheprovider -q -ra \
      --junitxml="$RESULTS/$layer-pytest-${dir////-}.xml" -o junit_family=xunit2 "$@" </dev/null)
  local rc=$?
  [ "$rc" = 5 ] && echo "$dir: no tests collected (pytest exit 5): not a failure for this layer"
  record "$layer" "pytest $dir" "$rc"
}

stack() { "$VENV_PY" -m vigil_ops.stack "$@"; }

layer_unit() {
  note "unit: set-up and C++ build"
  bash "$SETUP_DIR/setup.sh" core || { record unit setup 1; return; }
  bash "$SETUP_DIR/build.sh" || { record unit build 1; return; }
  note "unit: ctest -L unit"
  ctest --test-dir "$VIGIL_HOME/build" -L unit --output-on-failure -j2 --no-tests=ignore \
        --output-junit "$RESULTS/unit-ctest.xml" </dev/null
  record unit "ctest -L unit" $?
  run_pytest unit "$VENV_PY" python/tests
  run_pytest unit "$VENV_PY" infra/tests
}

layer_e2e() {
  note "e2e: set-up and stack"
  bash "$SETUP_DIR/setup.sh" core || { record e2e setup 1; return; }
  bash "$SETUP_DIR/build.sh" --quiet || { record e2e build 1; return; }  # vigil-produce & co.
  bash "$SETUP_DIR/setup.sh" stack || { record e2e setup 1; return; }
  stack up kafka dynamodb minio || { record e2e "stack up" 1; return; }
  run_pytest e2e "$VENV_PY" tests/e2e
}

layer_airflow() {
  note "airflow: set-up and stack"
  bash "$SETUP_DIR/setup.sh" core || { record airflow setup 1; return; }
  bash "$SETUP_DIR/build.sh" --quiet || { record airflow build 1; return; }  # the job runs the core
  bash "$SETUP_DIR/setup.sh" stack || { record airflow setup 1; return; }
  bash "$SETUP_DIR/setup.sh" airflow || { record airflow setup 1; return; }
  stack up || { record airflow "stack up" 1; return; }
  # Airflow's tests run in Airflow's venv; they make their own AIRFLOW_HOME.
  PYTHONPATH="$ROOT/airflow:$PYTHONPATH" run_pytest airflow "$VIGIL_HOME/airflow-venv/bin/python" airflow/tests
}

# In CI nothing outlives the run: stop the stack at the end (locally it stays up,
# so the next run starts in seconds).
ci_stop() { echo; echo "=== CI: stopping the stack ==="; stack down || true; }
[ "${CI:-}" = true ] && trap ci_stop EXIT

t0=$SECONDS
for layer in "${layers[@]}"; do "layer_$layer"; done
if [ "${CI:-}" = true ]; then trap - EXIT; ci_stop; fi

echo
echo "=== summary ($((SECONDS - t0))s) ==="
printf '  %s\n' "${status_lines[@]}"
"$VENV_PY" - "$RESULTS" <<'PY' || true
import pathlib, sys, xml.etree.ElementTree as ET
passed = failed = skipped = 0
for f in sorted(pathlib.Path(sys.argv[1]).glob("*.xml")):
    try:
        root = ET.parse(f).getroot()
    except ET.ParseError:
        continue
    for suite in ([root] if root.tag == "testsuite" else root.iter("testsuite")):
        t = int(suite.get("tests", 0)); fl = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        s = int(suite.get("skipped", 0) or suite.get("disabled", 0) or 0)
        passed += t - fl - s; failed += fl; skipped += s
print(f"total: {passed} passed, {failed} failed, {skipped} skipped")
PY
exit "$failed"
