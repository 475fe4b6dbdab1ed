#!/usr/bin/env bash
# Write-back from a local write tier to a packed S3 tier, timed until the copies are done, beside
# the same bytes PUT straight to the same server with the AWS SDK, in one run.
#
# One S3-compatible server for the whole run: S3Proxy with its filesystem backend on loopback (the
# s3 module's test server), in its own JVM. Then, for ROUNDS rounds, each client in a fresh JVM:
#   - dharmana: a fresh repository with tiers [nvme (local), bucket (S3, packed)], nvme written
#     back; OBJECTS objects of SIZE_MIB seeded random MiB put, then closed, which waits for every
#     copy and seals the S3 tier's pack. Blobs/s and MB/s over the time until the copies are done.
#   - commands: as `dharmana put` runs, PUTS times: open, put one 2.25 MiB object (~36 chunks),
#     close; the median close is the wait for that put's copies.
#   - sdk: the same OBJECTS objects' bytes, one PUT each on one thread (the server's rate).
# With BASE (a git ref), the two Dharmana clients also run with the classes built from BASE, in
# turn with this tree's (the measurement program is this tree's), and the ratios are printed.
#
# PACK_SIZE=8MiB in the environment sets the S3 tier's packSize (a BASE before s3 tiers took it fails).
#
# Usage: bench/scripts/s3-write-back.sh [OBJECTS (8)] [SIZE_MIB (4)] [ROUNDS (3)] [BASE] [PUTS (12)]
# Needs: offline Maven with the project's dependencies (it compiles, never installs).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OBJECTS=${1:-8}
SIZE_MIB=${2:-4}
ROUNDS=${3:-3}
BASE=${4:-}
PUTS=${5:-12}
W="$(mktemp -d "${TMPDIR:-/tmp}/dharmana-s3-write-back.XXXXXX")"
SERVER=""
cleanup() {
  [[ -n "$SERVER" ]] && kill "$SERVER" 2> /dev/null
  [[ -d "$W/base" ]] && git -C "$ROOT" worktree remove --force "$W/base" 2> /dev/null
  rm -rf "$W"
}
trap cleanup EXIT

mvn_() { mvn -o -q -B "$@"; }
(cd "$ROOT" && mvn_ -pl s3 -am test-compile && mvn_ -pl s3 dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$W/cp.txt") > "$W/build.log" 2>&1 \
  || { cat "$W/build.log" >&2; exit 2; }
# the project's own jars in ~/.m2 (if any) are older builds: use the classes just compiled
DEPS=$(tr ':' '\n' < "$W/cp.txt" | grep -v '/io/dharmana/' | paste -sd:)
classes() { echo "$ROOT/s3/target/test-classes:$1/s3/target/classes:$1/core/target/classes:$DEPS"; }
declare -A CP=([new]="$(classes "$ROOT")")
BUILDS=(new)
if [[ -n "$BASE" ]]; then
  git -C "$ROOT" worktree add --detach "$W/base" "$BASE" > /dev/null 2>&1
  (cd "$W/base" && mvn_ -pl s3 -am compile) > "$W/build-base.log" 2>&1 || { cat "$W/build-base.log" >&2; exit 2; }
  CP[base]="$(classes "$W/base")"
  BUILDS=(base new)
fi

export DHARMANA_TEST_S3_ACCESS=dharmana-test DHARMANA_TEST_S3_SECRET=dharmana-test-secret
PACK_OPTION=()
[[ -n "${PACK_SIZE:-}" ]] && PACK_OPTION=(-Ddharmana.measure.packSize="$PACK_SIZE")
measure() { java "${PACK_OPTION[@]}" -cp "${CP[$1]}" io.dharmana.s3.WriteBackMeasurement "${@:2}" 2> /dev/null | grep '^RESULT'; }
java -cp "${CP[new]}" io.dharmana.s3.WriteBackMeasurement serve "$W/objects" > "$W/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 120); do grep -q '^ENDPOINT' "$W/server.log" && break; sleep 0.5; done
EP=$(awk '/^ENDPOINT/ {print $2}' "$W/server.log")
[[ -n "$EP" ]] || { cat "$W/server.log" >&2; exit 2; }
echo "server: S3Proxy (filesystem) on $EP; $OBJECTS x $SIZE_MIB MiB objects, $PUTS commands of one 2.25 MiB object; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%FT%TZ)"

for round in $(seq "$ROUNDS"); do
  # alternate which build goes first, so neither always runs on a warmer server
  order=("${BUILDS[@]}")
  (( round % 2 == 0 )) && order=($(printf '%s\n' "${BUILDS[@]}" | tac))
  for build in "${order[@]}"; do
    measure "$build" dharmana "$EP" "$build" "$OBJECTS" "$SIZE_MIB" | sed "s/^/round $round /" | tee -a "$W/results"
    measure "$build" commands "$EP" "$build" "$PUTS" 2304 | sed "s/^/round $round /" | tee -a "$W/results"
  done
  measure new sdk "$EP" peer "$OBJECTS" "$SIZE_MIB" 1 | sed "s/^/round $round /" | tee -a "$W/results"
done

python3 - "$W/results" << 'PY'
import re, statistics, sys
rows = [dict(re.findall(r'(\w+)=([\d.]+)', l), kind=l.split()[3], build=l.split()[4]) for l in open(sys.argv[1])]
def med(kind, build, field):
    v = [float(r[field]) for r in rows if r['kind'] == kind and r['build'] == build]
    return statistics.median(v) if v else None
sdk = med('sdk', 'peer', 'MBps')
print(f"\nmedians over the rounds; the server takes {sdk:.1f} MB/s from the AWS SDK (1 thread)")
for b in ('base', 'new'):
    d = med('dharmana', b, 'done_s')
    if d is None:
        continue
    print(f"  {b:4}: write-back done in {d:.3f} s (put {med('dharmana', b, 'put_s'):.3f} s + copies' tail {med('dharmana', b, 'tail_s'):.3f} s): "
          f"{med('dharmana', b, 'blobs_per_s'):.0f} blobs/s, {med('dharmana', b, 'MBps'):.1f} MB/s = {med('dharmana', b, 'MBps') / sdk:.2f}x the SDK; "
          f"one-object command: put {med('commands', b, 'put_s') * 1000:.0f} ms, close (copies) {med('commands', b, 'close_s') * 1000:.0f} ms")
if med('dharmana', 'base', 'done_s') is not None:
    print(f"  new/base time: write-back done {med('dharmana', 'new', 'done_s') / med('dharmana', 'base', 'done_s'):.2f}x, "
          f"copies' tail {med('dharmana', 'new', 'tail_s') / med('dharmana', 'base', 'tail_s'):.2f}x, "
          f"one-object command's close {med('commands', 'new', 'close_s') / med('commands', 'base', 'close_s'):.2f}x")
PY
