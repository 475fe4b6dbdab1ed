#!/usr/bin/env bash
# Bounded loopback load test: 16 concurrent clients, mixed 4 KiB-16 MiB PUT/GET for SECONDS
# (default 60) against the gateway on a fresh repository, and the same load against S3Proxy
# (filesystem backend) on the same disk; every object is verified. Prints throughput, latency
# percentiles and the throughput ratio; fails only on errors or mismatched bytes, never on speed.
#
# Each runs in its own JVM: the gateway as a user runs it (`./dharmana serve`, the launcher's JVM
# flags), S3Proxy with the JVM's defaults, and the load clients in a third, so the clients'
# garbage and CPU never pause or slow a server, and a server's CPU is its process's. After an
# unmeasured warm-up the servers take turns in alternating slices (gateway, S3Proxy, S3Proxy,
# gateway), so load from other processes falls on both alike. Also printed: server CPU per MB
# moved, the gateway's CPU by thread group, its own (server-side) latency
# of the hot bucket, and each server's stop-the-world pauses (safepoints, whole run).
#
# Usage: server/scripts/load-test.sh [SECONDS]     (from anywhere; it works from the repository root)
# Env:   LOAD_SEED        seed of the run
#        LOAD_CONTENT     random (default: incompressible) or ml (float32 weights, token ids, media)
#        LOAD_PIPELINE    the gateway's default pipeline: default (cdc + zstd 3), lz4, fixed-lz4
#        LOAD_FSYNC       true (default) or false (S3Proxy's filesystem backend does not fsync)
#        DHARMANA_JAVA_OPTS  the gateway's extra JVM flags, as for ./dharmana (default -Xmx4g)
#        LOAD_MVN_FLAGS   extra Maven flags (e.g. -o)
#        LOAD_KEEP_LOGS   a directory to keep the servers' logs in (safepoints, the gateways' GC log)
#        LOAD_BASELINE_OPTS  JVM flags of a second gateway measured alongside (see below)
#        LOAD_BASELINE_LAUNCHER  the launcher (dharmana script) of another checkout that the second
#                           gateway runs, e.g. main's against a branch's (default: this checkout's)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
root="$PWD"
SECONDS_EACH="${1:-60}"
work="$(mktemp -d "${TMPDIR:-/tmp}/dharmana-load.XXXXXX")"
pids=()
cleanup() {
  for p in "${pids[@]}"; do
    kill "$p" 2>/dev/null || true
  done
  for p in "${pids[@]}"; do
    wait "$p" 2>/dev/null || true
  done
  if [ -n "${LOAD_KEEP_LOGS:-}" ]; then
    mkdir -p "$LOAD_KEEP_LOGS" && cp "$work"/*.log "$LOAD_KEEP_LOGS"/ 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# the runnable jar as ./dharmana builds it, then the test classes and the classpath of the load clients
./dharmana --version >/dev/null
mvn -q -B ${LOAD_MVN_FLAGS:-} -pl server -am test-compile dependency:build-classpath \
  -Dmdep.outputFile="$work/classpath" -Dmdep.includeScope=test
cp="$root/server/target/test-classes:$root/server/target/classes:$(cat "$work/classpath")"

# waits for a line matching $2 in log $1 and prints the port of its URL
port_of() {
  for _ in $(seq 1 600); do
    if line="$(grep -m1 -E "$2" "$1")"; then
      sed -E 's/.*(127\.0\.0\.1:|on )([0-9]+).*/\2/' <<<"$line"
      return 0
    fi
    sleep 0.1
  done
  echo "load-test: no '$2' in $1:" >&2
  cat "$1" >&2
  return 1
}

java -Xlog:safepoint:file="$work/s3proxy-safepoints.log" -cp "$cp" io.dharmana.server.LoadGenerator \
  s3proxy "$work/s3proxy" 0 >"$work/s3proxy.log" 2>&1 &
s3proxy_pid=$!
pids+=("$s3proxy_pid")
# the floor: a trivial server answering from memory, one thread per connection (what this machine gives
# a 4 KiB GET under the same load, with nothing between the socket and the bytes)
java -Xlog:safepoint:file="$work/floor-safepoints.log" -cp "$cp" io.dharmana.server.LoadGenerator \
  floor 0 "${LOAD_CONTENT:-random}" >"$work/floor.log" 2>&1 &
floor_pid=$!
pids+=("$floor_pid")

pipeline=()
pipeline_name="${LOAD_PIPELINE:-default}"
fsync="${LOAD_FSYNC:-true}"
if [ "$pipeline_name" != default ] || [ "$fsync" != true ]; then
  case "$pipeline_name" in
    default)   stages='[{zstd: {level: 3}}]'; chunking='' ;;
    lz4)       stages='[{lz4: {}}]'; chunking='' ;;
    fixed-lz4) stages='[{lz4: {}}]'; chunking='  chunking: {kind: fixed, min: 1MiB, avg: 1MiB, max: 1MiB, align: 1}' ;;
    *) echo "load-test: invalid LOAD_PIPELINE '$pipeline_name': use default, lz4 or fixed-lz4" >&2; exit 2 ;;
  esac
  printf 'name: default\nstorage:\n%s\n  stages: %s\n  consistency: {fsync: %s}\n' "$chunking" "$stages" "$fsync" \
    | grep -v '^$' >"$work/pipeline.yaml"
  pipeline=(--pipeline "$work/pipeline.yaml")
fi
# the JVM flags given are the server's (init picks its own collector)
DHARMANA_JAVA_OPTS= ./dharmana init "$work/repo" "${pipeline[@]}" >/dev/null
mkdir -p "$work/repo/gateway"
(umask 077 && echo "LOADTESTKEY load-test-secret-key" >"$work/repo/gateway/credentials")
baseline_launcher="${LOAD_BASELINE_LAUNCHER:-}"
if [ -n "$baseline_launcher" ]; then
  baseline_launcher="$(cd "$(dirname "$baseline_launcher")" && pwd)/$(basename "$baseline_launcher")"
  "$baseline_launcher" --version >/dev/null
fi
with_baseline="${LOAD_BASELINE_OPTS:-}${baseline_launcher}"
[ -z "$with_baseline" ] || cp -a "$work/repo" "$work/baseline-repo"
DHARMANA_JAVA_OPTS="${DHARMANA_JAVA_OPTS:--Xmx4g} -Xlog:safepoint:file=$work/gateway-safepoints.log -Xlog:gc:file=$work/gateway-gc.log" \
  ./dharmana serve "$work/repo" --port 0 >"$work/gateway.log" 2>&1 &
gateway_pid=$!
pids+=("$gateway_pid")

# LOAD_BASELINE_OPTS / LOAD_BASELINE_LAUNCHER: a second gateway on its own copy of the repository with
# these JVM flags (e.g. an earlier configuration) or another checkout's build, loaded in the same
# alternating slices, for before/after in one run
if [ -n "$with_baseline" ]; then
  DHARMANA_JAVA_OPTS="${LOAD_BASELINE_OPTS:--Xmx4g} -Xlog:safepoint:file=$work/baseline-safepoints.log -Xlog:gc:file=$work/baseline-gc.log" \
    "${baseline_launcher:-./dharmana}" serve "$work/baseline-repo" --port 0 >"$work/baseline.log" 2>&1 &
  baseline_pid=$!
  pids+=("$baseline_pid")
  baseline_port="$(port_of "$work/baseline.log" '^Serving ')"
  baseline=(-Ddharmana.load.baseline="http://127.0.0.1:$baseline_port" -Ddharmana.load.baseline.pid="$baseline_pid"
    -Ddharmana.load.baseline.name="${LOAD_BASELINE_NAME:-baseline}")
  echo "baseline gateway: pid $baseline_pid, ${baseline_launcher:-./dharmana} serve, JVM flags: ${LOAD_BASELINE_OPTS:--Xmx4g}"
else
  baseline=()
fi
gateway_port="$(port_of "$work/gateway.log" '^Serving ')"
s3proxy_port="$(port_of "$work/s3proxy.log" '^s3proxy listening on ')"
s3proxy_stats="$(port_of "$work/s3proxy.log" '^s3proxy server-side at ')"
floor_port="$(port_of "$work/floor.log" '^floor listening on ')"
echo "gateway: ./dharmana serve (pid $gateway_pid, JVM flags: $(tr '\0' ' ' </proc/$gateway_pid/cmdline | sed -E 's/ -jar .*//; s/^java //'))"
echo "s3proxy: pid $s3proxy_pid; pipeline $pipeline_name, fsync $fsync"

status=0
java -Xmx2g -cp "$cp" -Ddharmana.load.seconds="$SECONDS_EACH" ${LOAD_SEED:+-Ddharmana.load.seed=$LOAD_SEED} \
  -Ddharmana.load.content="${LOAD_CONTENT:-random}" -Ddharmana.load.clk.tck="$(getconf CLK_TCK)" \
  -Ddharmana.load.gateway="http://127.0.0.1:$gateway_port" -Ddharmana.load.gateway.pid="$gateway_pid" \
  -Ddharmana.load.gateway.key="LOADTESTKEY load-test-secret-key" \
  -Ddharmana.load.s3proxy="http://127.0.0.1:$s3proxy_port" -Ddharmana.load.s3proxy.pid="$s3proxy_pid" \
  -Ddharmana.load.s3proxy.stats="http://127.0.0.1:$s3proxy_stats/" \
  -Ddharmana.load.floor="http://127.0.0.1:$floor_port" -Ddharmana.load.floor.pid="$floor_pid" "${baseline[@]}" \
  io.dharmana.server.LoadGenerator load || status=$?
if [ "$status" -ne 0 ]; then
  # an error a client saw (a body cut short, a 500) is explained, if at all, in a server's log,
  # which goes with the scratch directory unless LOAD_KEEP_LOGS keeps it
  for s in gateway ${with_baseline:+baseline}; do
    echo "$s log, warnings and errors:"
    grep -E -A8 'WARNING|SEVERE|Exception' "$work/$s.log" | head -80 || true
  done
fi

# stop-the-world pauses of each server over its whole life (start, warm-up and load)
for s in gateway ${with_baseline:+baseline} s3proxy floor; do
  awk -v name="$s" '/Total: [0-9]+ ns/ {
      match($0, /Total: [0-9]+ ns/); t = substr($0, RSTART + 7, RLENGTH - 10) / 1e6
      match($0, /Reaching safepoint: [0-9]+ ns/); r = substr($0, RSTART + 20, RLENGTH - 23) / 1e6
      n++; sum += t; reach += r; if (t > max) max = t; if (t > 1) over1++; if (t > 5) over5++
    } END { printf "%-9s safepoints %d, %.0f ms in all (%.0f ms of it reaching them), max %.1f ms, over 1 ms %d, over 5 ms %d\n",
      name, n, sum, reach, max, over1, over5 }' \
    "$work/$s-safepoints.log"
done
exit "$status"
