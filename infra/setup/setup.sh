#!/usr/bin/env bash
# setup.sh [core|stack|airflow|all] [--quiet]: install what Vigil needs, idempotently.
#
#   core     Debian packages, the project venv ($VIGIL_HOME/venv), the vigil binding
#   stack    Debian packages, the venv, jars (Kafka, Spark-Kafka connector,
#            DynamoDB Local), MinIO, the loopback bind shim (no binding build)
#   airflow  Debian packages + Airflow's venv ($VIGIL_HOME/airflow-venv)
#   all      all of the above + the C++ build (build.sh)
#
# Every step is keyed by a hash of its inputs (lock files, poms, pinned versions,
# sources) and skipped when its stamp under $VIGIL_HOME/stamps matches, so a
# second run takes seconds. Logs of each step: $VIGIL_HOME/logs/setup-*.log.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$SETUP_DIR/versions.env"

layer="all"
for a in "$@"; do
  case "$a" in
    core|stack|airflow|all|apt|venv|binding|jars|minio|loopback|airflow-venv) layer="$a" ;;
    --quiet|-q) VIGIL_QUIET=1 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$a' (expected core, stack, airflow or all)" ;;
  esac
done

# --- Debian packages --------------------------------------------------------
step_apt() {
  local list="$SETUP_DIR/apt-packages.txt" key missing=() p
  key="$(hash_inputs "$list")"
  stamp_ok apt "$key" && return 0
  while read -r p; do
    p="${p%%#*}"; p="${p//[[:space:]]/}"
    [ -n "$p" ] || continue
    if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
      missing+=("$p")
    fi
  done < "$list"
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
      die "missing Debian packages (from infra/setup/apt-packages.txt); as root run:
  apt-get install -y ${missing[*]}"
    fi
    log "apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! run_logged apt apt-get install -y --no-install-recommends "${missing[@]}"; then
      log "retrying after apt-get update"
      run_logged apt-update apt-get update
      run_logged apt apt-get install -y --no-install-recommends "${missing[@]}"
    fi
  fi
  stamp_set apt "$key"
}

check_java() {
  command -v java >/dev/null || die "java is not on PATH: install openjdk-17-jre-headless (listed in infra/setup/apt-packages.txt)"
  local v
  v="$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1)"
  [ -n "$v" ] && [ "$v" -ge 17 ] || die "Java 17 or newer is needed (found: $(java -version 2>&1 | head -n1))"
  command -v mvn >/dev/null || die "mvn is not on PATH: install Debian's maven"
}

# --- the project venv -------------------------------------------------------
venv_key() { hash_inputs "$ROOT/requirements/venv.lock" "$("$(python_bin)" -c 'import sys; print(sys.version)')"; }

step_venv() {
  local py key venv="$VIGIL_HOME/venv"
  py="$(python_bin)"
  "$py" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
    || die "Python 3.10 or newer is needed ($py is $("$py" --version 2>&1))"
  key="$(venv_key)"
  stamp_ok venv "$key" && [ -x "$venv/bin/python" ] && return 0
  if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import pip' 2>/dev/null; then
    rm -rf "$venv"
    log "creating $venv with $py"
    "$py" -m venv "$venv" || die "python3 -m venv failed: install Debian's python3-venv"
  fi
  log "installing requirements/venv.lock into $venv (pyspark is large: first run takes a few minutes)"
  run_logged venv "$venv/bin/pip" install --disable-pip-version-check --no-input \
      --no-deps -r "$ROOT/requirements/venv.lock"
  run_logged venv-check "$venv/bin/pip" check
  stamp_set venv "$key"
}

# --- the vigil binding (python/, scikit-build-core + nanobind) ---------------
step_binding() {
  [ -f "$ROOT/python/pyproject.toml" ] || { log "binding: no python/pyproject.toml yet, skipped"; return 0; }
  local key
  # What goes into the wheel (the core library and the binding, not tests or
  # jobs) and only the pins its build uses, so a new test dependency does not
  # rebuild C++. The build dir is kept, so a rebuild is incremental.
  key="$(hash_inputs "$ROOT/core/include" "$ROOT/core/src" "$ROOT/core/CMakeLists.txt" \
        "$ROOT/kafka/include" "$ROOT/kafka/src" "$ROOT/kafka/CMakeLists.txt" \
        "$ROOT/python/bindings" "$ROOT/python/src" "$ROOT/python/CMakeLists.txt" "$ROOT/python/pyproject.toml" \
        "$ROOT/cmake" "$ROOT/CMakeLists.txt" \
        "$(grep -iE '^(nanobind|numpy|pyarrow|scikit.build.core)==' "$ROOT/requirements/venv.lock")" \
        "$("$(python_bin)" -c 'import sys; print(sys.version)')")"
  stamp_ok binding "$key" && return 0
  log "building and installing the vigil binding into the venv"
  CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}" run_logged binding \
    "$VIGIL_HOME/venv/bin/pip" install --disable-pip-version-check --no-input \
      --no-build-isolation --no-deps \
      --config-settings=build-dir="$VIGIL_HOME/build-python" "$ROOT/python"
  stamp_set binding "$key"
}

# --- jars from Maven Central ------------------------------------------------
MAVEN_SETTINGS="${VIGIL_MAVEN_SETTINGS:-$SETUP_DIR/maven/settings.xml}"
mvn_copy() {  # mvn_copy GROUP OUTDIR [-Dprop=value...]
  local group="$1" out="$2"; shift 2
  run_logged "jars-$group" mvn -B -q -s "$MAVEN_SETTINGS" -f "$SETUP_DIR/maven/$group/pom.xml" "$@" \
    org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
    -DoutputDirectory="$out" -DincludeScope=runtime \
    || die "could not fetch the $group jars from Maven Central (see above)"
}

step_jars_kafka() {
  local key out="$VIGIL_HOME/jars/kafka"
  key="$(hash_inputs "$SETUP_DIR/maven/kafka/pom.xml")"
  stamp_ok jars-kafka "$key" && return 0
  log "fetching Kafka jars"
  rm -rf "$out"; mvn_copy kafka "$out"
  stamp_set jars-kafka "$key"
}

step_jars_dynamodb() {
  local key out="$VIGIL_HOME/jars/dynamodb" so
  key="$(hash_inputs "$SETUP_DIR/maven/dynamodb/pom.xml")"
  stamp_ok jars-dynamodb "$key" && return 0
  log "fetching DynamoDB Local jars"
  rm -rf "$out"; mvn_copy dynamodb "$out"
  # sqlite4java loads lib<name>.so from java.library.path, without the version.
  mkdir -p "$out/native"
  so="$(ls "$out"/libsqlite4java-linux-amd64-*.so 2>/dev/null | head -n1)"
  [ -n "$so" ] || die "DynamoDB Local: no libsqlite4java-linux-amd64 native library among its jars"
  cp "$so" "$out/native/libsqlite4java-linux-amd64.so"
  rm -f "$out"/*.dll "$out"/*.dylib "$out"/libsqlite4java-linux-i386-*.so "$out"/libsqlite4java-linux-amd64-*.so
  stamp_set jars-dynamodb "$key"
}

step_jars_spark_kafka() {
  local key out="$VIGIL_HOME/jars/spark-kafka" sv pyjars list kept=() f=()
  sv="$(spark_version)"
  key="$(hash_inputs "$SETUP_DIR/maven/spark-kafka/pom.xml" "$sv" "$(venv_key)")"
  stamp_ok jars-spark-kafka "$key" && [ -s "$VIGIL_HOME/jars/spark-kafka.classpath" ] && return 0
  log "fetching the Spark Kafka connector $sv"
  rm -rf "$out"; mvn_copy spark-kafka "$out" -Dspark.version="$sv"
  list="$VIGIL_HOME/logs/spark-kafka.deps"
  run_logged jars-spark-kafka-list mvn -B -q -s "$MAVEN_SETTINGS" -f "$SETUP_DIR/maven/spark-kafka/pom.xml" -Dspark.version="$sv" \
    org.apache.maven.plugins:maven-dependency-plugin:3.8.1:list \
    -DincludeScope=runtime -DoutputFile="$list" -DoutputAbsoluteArtifactFilename=false \
    || die "mvn dependency:list failed for the Spark Kafka connector"
  pyjars="$("$VIGIL_HOME/venv/bin/python" -c 'import os, pyspark; print(os.path.join(os.path.dirname(pyspark.__file__), "jars"))')"
  [ -d "$pyjars" ] || die "pyspark in $VIGIL_HOME/venv has no jars/ folder ($pyjars)"
  # Lines look like 'group:artifact:jar[:classifier]:version:scope'. Drop what
  # pyspark ships already (any version of the same artifact): two versions of
  # one class on the classpath is worse than the one Spark was built with.
  local coords aid ver cls jar
  while read -r coords; do
    IFS=: read -r -a f <<< "$coords"
    aid="${f[1]}"; ver="${f[${#f[@]}-2]}"; cls=""
    [ "${#f[@]}" -ge 6 ] && cls="-${f[3]}"
    jar="$out/$aid-$ver$cls.jar"
    [ -f "$jar" ] || continue
    if compgen -G "$pyjars/$aid-[0-9]*.jar" >/dev/null; then
      rm -f "$jar"
    else
      kept+=("$jar")
    fi
  done < <(awk '$1 ~ /^[^:]+:[^:]+:jar(:[^:]+)?:[^:]+:[a-z]+$/ {print $1}' "$list")
  [ ${#kept[@]} -gt 0 ] || die "Spark Kafka connector: no jar left after removing pyspark's own"
  compgen -G "$out/spark-sql-kafka-0-10_2.13-$sv.jar" >/dev/null || die "spark-sql-kafka-0-10_2.13-$sv.jar missing in $out"
  (IFS=,; echo "${kept[*]}") > "$VIGIL_HOME/jars/spark-kafka.classpath"
  log "spark-kafka: ${#kept[@]} jars -> $VIGIL_HOME/jars/spark-kafka.classpath"
  stamp_set jars-spark-kafka "$key"
}

step_jars() {
  check_java
  mkdir -p "$VIGIL_HOME/jars"
  step_jars_kafka
  step_jars_dynamodb
  step_jars_spark_kafka
}

# --- MinIO from its Go module ----------------------------------------------
find_go() {
  if command -v go >/dev/null; then command -v go; return; fi
  if [ -x /usr/local/go/bin/go ]; then echo /usr/local/go/bin/go; return; fi
  # Debian's golang is only good enough if it can build the pinned MinIO.
  local cand
  cand="$(apt-cache policy golang-go 2>/dev/null | sed -n 's/ *Candidate: *\(.*\)/\1/p' | sed 's/^[0-9]*://; s/[~+-].*//')"
  if [ -n "$cand" ] && [ "$cand" != "(none)" ] && version_ge "$cand" "$MINIO_GO_MIN" && [ "$(id -u)" = 0 ]; then
    log "installing Debian's golang-go $cand"
    DEBIAN_FRONTEND=noninteractive run_logged apt-go apt-get install -y --no-install-recommends golang-go
    command -v go; return
  fi
  die "Go $MINIO_GO_MIN or newer is needed to build MinIO and none is on PATH (Debian offers golang-go ${cand:-none}).
  Install Go $MINIO_GO_MIN+ (e.g. into /usr/local/go) and put it on PATH."
}

step_minio() {
  local key go gov bin="$VIGIL_HOME/bin/minio"
  key="$(hash_inputs "$MINIO_MODULE@$MINIO_VERSION")"
  stamp_ok minio "$key" && [ -x "$bin" ] && return 0
  go="$(find_go)"
  gov="$("$go" env GOVERSION | sed 's/^go//')"
  version_ge "$gov" "$MINIO_GO_MIN" || die "MinIO needs Go $MINIO_GO_MIN or newer; $go is $gov"
  log "building MinIO $MINIO_VERSION with Go $gov (first run: several minutes; the Go cache in \$HOME makes later runs fast)"
  mkdir -p "$VIGIL_HOME/bin"
  GOBIN="$VIGIL_HOME/bin" GOFLAGS="-p=2 -buildvcs=false" CGO_ENABLED=0 GOTOOLCHAIN=local \
    run_logged minio "$go" install -trimpath "$MINIO_MODULE@$MINIO_VERSION" \
    || die "building MinIO failed (see above)"
  "$bin" --version >/dev/null 2>&1 || die "$bin does not run"
  stamp_set minio "$key"
}

# --- the loopback bind shim (LD_PRELOAD for servers without a listen address) --
step_loopback() {
  local key src="$SETUP_DIR/loopback/bind_loopback.cc" out="$VIGIL_HOME/lib/libvigil_bind_loopback.so"
  key="$(hash_inputs "$src")"
  stamp_ok loopback "$key" && [ -f "$out" ] && return 0
  mkdir -p "$VIGIL_HOME/lib"
  run_logged loopback c++ -std=c++20 -O2 -Wall -Wextra -Werror -shared -fPIC -o "$out" "$src" -ldl \
    || die "could not build $out"
  stamp_set loopback "$key"
}

# --- Airflow's venv -----------------------------------------------------------
step_airflow_venv() {
  local py key venv="$VIGIL_HOME/airflow-venv"
  py="$(python_bin)"
  key="$(hash_inputs "$ROOT/requirements/airflow.lock" "$("$py" -c 'import sys; print(sys.version)')")"
  stamp_ok airflow-venv "$key" && [ -x "$venv/bin/airflow" ] && return 0
  if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import pip' 2>/dev/null; then
    rm -rf "$venv"
    log "creating $venv"
    "$py" -m venv "$venv" || die "python3 -m venv failed: install Debian's python3-venv"
  fi
  log "installing requirements/airflow.lock into $venv"
  run_logged airflow-venv "$venv/bin/pip" install --disable-pip-version-check --no-input \
      --no-deps -r "$ROOT/requirements/airflow.lock"
  run_logged airflow-venv-check "$venv/bin/pip" check
  local probe_home; probe_home="$(mktemp -d)"
  AIRFLOW_HOME="$probe_home" run_logged airflow-version "$venv/bin/airflow" version \
    || { rm -rf "$probe_home"; die "the Airflow venv is installed but 'airflow version' fails"; }
  rm -rf "$probe_home"
  stamp_set airflow-venv "$key"
}

locked() { with_lock "$1" "$2"; }
t0=$SECONDS
case "$layer" in
  apt)          locked apt step_apt ;;
  venv)         locked venv step_venv ;;
  binding)      locked binding step_binding ;;
  jars)         locked jars step_jars ;;
  minio)        locked minio step_minio ;;
  loopback)     locked loopback step_loopback ;;
  airflow-venv) locked airflow-venv step_airflow_venv ;;
  core)    locked apt step_apt; locked venv step_venv; locked binding step_binding ;;
  stack)   locked apt step_apt; locked venv step_venv
           locked jars step_jars; locked minio step_minio; locked loopback step_loopback ;;
  airflow) locked apt step_apt; locked airflow-venv step_airflow_venv; locked loopback step_loopback ;;
  all)     locked apt step_apt; locked venv step_venv; locked binding step_binding
           locked jars step_jars; locked minio step_minio; locked loopback step_loopback
           locked airflow-venv step_airflow_venv
           bash "$SETUP_DIR/build.sh" $([ "$VIGIL_QUIET" = 1 ] && echo --quiet) ;;
esac
log "$layer: ready in $((SECONDS - t0))s (state in $VIGIL_HOME)"
