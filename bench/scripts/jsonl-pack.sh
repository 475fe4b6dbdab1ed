#!/usr/bin/env bash
# Side-by-side time of `dharmana dataset pack` of a JSON Lines file, one runnable jar against
# another (e.g. main's cli/target/dharmana.jar kept aside against a branch's): the cost of reading
# and checking the lines, which a change to the JSON Lines reader moves.
#
# Generates (seeded, once, kept in WORKDIR) 1,000,000 lines of ~190 bytes (JSON objects with text,
# numbers, a list and a nested object; some non-ASCII text), then packs it with each jar in turn,
# alternating, ROUNDS rounds, fresh JVMs, and prints each jar's median wall time and CPU time (user +
# system, the steadier figure on a shared machine) and their ratios to the first jar's.
#
# Usage: bench/scripts/jsonl-pack.sh JAR [JAR ...]
# Env:   ROUNDS=N (default 5); WORKDIR=dir (default /tmp/dharmana-jsonl-bench); LINES=N (default 1000000)
set -euo pipefail

[[ $# -ge 1 ]] || { sed -n '2,12p' "$0"; exit 2; }
ROUNDS=${ROUNDS:-5}
WORK=${WORKDIR:-/tmp/dharmana-jsonl-bench}
LINES=${LINES:-1000000}
mkdir -p "$WORK"
DATA="$WORK/lines-$LINES.jsonl"
if [[ ! -f "$DATA" ]]; then
  python3 - "$DATA" "$LINES" <<'PY'
import json, random, sys
r = random.Random(19)
words = ["storage", "tensor", "shard", "chunk", "cache", "tier", "prefetch", "epoch", "batch", "sample",
         "dedup", "manifest", "caf\u00e9", "na\u00efve"]
with open(sys.argv[1], "w", encoding="utf-8", newline="\n") as f:
    for i in range(int(sys.argv[2])):
        rec = {"id": i, "text": " ".join(r.choice(words) for _ in range(r.randint(6, 12))),
               "label": r.choice(["pos", "neg", "neutral"]), "score": round(r.random(), 6),
               "tags": [r.choice(words) for _ in range(r.randint(1, 3))], "meta": {"src": "web", "ok": r.random() < 0.9}}
        f.write(json.dumps(rec, ensure_ascii=False) + "\n")
PY
fi
echo "input: $DATA ($(wc -l < "$DATA") lines, $(stat -c %s "$DATA") bytes); $ROUNDS rounds, jars alternating"
cat "$DATA" > /dev/null # into the page cache: the reader is timed, not the disk

declare -A walls cpus
TIMEFORMAT='%R %U %S'
for ((round = 1; round <= ROUNDS; round++)); do
  for jar in "$@"; do
    out="$WORK/ds"
    rm -rf "$out"
    read -r wall user sys < <({ time java -Xmx4g -jar "$jar" dataset pack "$out" --from "$DATA" --no-progress > /dev/null; } 2>&1)
    cpu=$(echo "$user + $sys" | bc)
    walls[$jar]="${walls[$jar]:-} $wall"
    cpus[$jar]="${cpus[$jar]:-} $cpu"
    echo "round $round  $jar  wall $wall s  cpu $cpu s"
  done
done
rm -rf "$WORK/ds"

median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
wall0=$(echo "${walls[$1]}" | median)
cpu0=$(echo "${cpus[$1]}" | median)
for jar in "$@"; do
  wall=$(echo "${walls[$jar]}" | median)
  cpu=$(echo "${cpus[$jar]}" | median)
  printf "%-40s median wall %6.2f s (%4.2fx)  cpu %6.2f s (%4.2fx)\n" "$jar" "$wall" "$(echo "$wall / $wall0" | bc -l)" \
    "$cpu" "$(echo "$cpu / $cpu0" | bc -l)"
done
