#!/usr/bin/env bash
# What recording an S3 tier's opening into the launcher's class-data archive saves: `dharmana ls`
# of a repository whose lower tier is S3 (the gateway on loopback, started here), in fresh
# processes, with the archive recorded by the launcher of BASE and with the working tree's,
# alternating (each round's order flips); `stat` of a local repository beside it, the control: the
# larger archive must not cost a command without S3. Prints every run, the medians of wall and CPU
# time (user + system) and the ratios new/old. Both archives are dumped against the same jar.
#
# Usage: bench/scripts/s3-class-archive.sh [ROUNDS (11)] [BASE (main)]   (after `mvn package`)
# Leaves the working tree's archive in cli/target/dharmana.jsa.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
rounds="${1:-11}"
base="${2:-main}"
jar="$ROOT/cli/target/dharmana.jar"
jsa="$ROOT/cli/target/dharmana.jsa"
[ -f "$jar" ] || { echo "Cannot find $jar: run mvn package first" >&2; exit 1; }
work="$(mktemp -d)"
old_launcher="$ROOT/.dharmana-$$"
source "$ROOT/cli/scripts/s3-repository.sh"
trap 's3_repository_stop; rm -rf "$work" "$old_launcher"' EXIT

# the launcher records the archive when there is none; BASE's copy must lie in the root to find the jar
git -C "$ROOT" show "$base:dharmana" > "$old_launcher"
chmod +x "$old_launcher"
for which in old new; do
  launcher="$ROOT/dharmana"
  [ "$which" = old ] && launcher="$old_launcher"
  rm -f "$jsa"
  start=$(date +%s%N)
  "$launcher" --version > /dev/null
  echo "$which archive: recorded and dumped in $(( ($(date +%s%N) - start) / 1000000 )) ms, $(( $(stat -c %s "$jsa") >> 20 )) MiB"
  cp "$jsa" "$work/$which.jsa"
done

s3_repository_start "$jar" "$work"
"$ROOT/dharmana" init "$work/local" > /dev/null
"$ROOT/dharmana" put "$work/local" object "$work/object.bin" --no-progress > /dev/null

# the archive given last wins (DHARMANA_JAVA_OPTS comes after the launcher's own); check it is used
for which in old new; do
  DHARMANA_JAVA_OPTS="-Xmx4g -XX:SharedArchiveFile=$work/$which.jsa -Xlog:class+load=info" \
    "$ROOT/dharmana" ls "$S3_REPO" > "$work/$which.log" 2>&1
  grep -q '\[class,load\] picocli.CommandLine source: shared objects file' "$work/$which.log" \
    || { echo "Cannot compare: the $which archive is not used" >&2; exit 1; }
  echo "$which archive: ls $S3_REPO takes $(grep -c 'source: shared objects file' "$work/$which.log") of" \
    "$(grep -c '\[class,load\]' "$work/$which.log") classes from it, S3Client" \
    "$(grep -q '\[class,load\] software.amazon.awssdk.services.s3.S3Client source: shared' "$work/$which.log" && echo among them || echo not)"
done

declare -A wall cpu
run() { # NAME ARCHIVE ARGS...
  local name=$1 which=$2 e u s
  shift 2
  DHARMANA_JAVA_OPTS="-Xmx4g -XX:SharedArchiveFile=$work/$which.jsa" /usr/bin/time -o "$work/time" -f '%e %U %S' \
    "$ROOT/dharmana" "$@" > /dev/null 2>&1
  read -r e u s < "$work/time"
  wall[$name.$which]+=" $(awk -v e="$e" 'BEGIN { printf "%d", e * 1000 }')"
  cpu[$name.$which]+=" $(awk -v u="$u" -v s="$s" 'BEGIN { printf "%d", (u + s) * 1000 }')"
}
for r in $(seq 1 "$rounds"); do
  order="old new"
  [ $((r % 2)) = 0 ] && order="new old"
  for which in $order; do
    run ls-s3 "$which" ls "$S3_REPO"
    run stat-local "$which" stat "$work/local"
  done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
for name in ls-s3 stat-local; do
  for which in old new; do
    echo "$name $which: wall ms${wall[$name.$which]}; cpu ms${cpu[$name.$which]}"
  done
  ow=$(median <<< "${wall[$name.old]}"); nw=$(median <<< "${wall[$name.new]}")
  oc=$(median <<< "${cpu[$name.old]}"); nc=$(median <<< "${cpu[$name.new]}")
  awk -v n="$name" -v ow="$ow" -v nw="$nw" -v oc="$oc" -v nc="$nc" -v r="$rounds" 'BEGIN {
    printf "%-10s medians of %d: wall %d -> %d ms (%.2fx), cpu %d -> %d ms (%.2fx)\n", n, r, ow, nw, nw / ow, oc, nc, nc / oc }'
done
