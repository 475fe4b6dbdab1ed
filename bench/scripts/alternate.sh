#!/usr/bin/env bash
# Compares dharmana builds on one compress or decompress job in rounds, the order rotating each
# round and a sync before every run, and prints each build's median in-JVM seconds (from --json)
# and the ratio to the first build's. On a shared, noisy machine single runs of
# compress-vs-zstd.sh moved by up to 25% from one slot to the next; this is how a change of a few
# percent is measured.
#
# Usage: bench/scripts/alternate.sh compress|decompress IN ROUNDS THREADS CMD [CMD ...]
#   IN       a .safetensors file to compress, or a .dhz file to decompress (every build must read it)
#   CMD      a command that runs dharmana, e.g. ./dharmana or /tmp/old/dharmana (no spaces; wrap
#            flags in a script)
# Example:  bench/scripts/alternate.sh decompress /tmp/in.dhz 8 1 ./dharmana /tmp/old/dharmana
set -euo pipefail

if [[ $# -lt 5 ]]; then
  sed -n '2,12p' "$0" >&2
  exit 2
fi
job=$1 input=$2 rounds=$3 threads=$4
shift 4
case "$job" in
  compress|decompress) ;;
  *) echo "alternate: the job must be compress or decompress, not '$job'" >&2; exit 2 ;;
esac
[[ -f "$input" ]] || { echo "alternate: no such input file: $input" >&2; exit 2; }
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "alternate: ROUNDS must be a positive integer, not '$rounds'" >&2; exit 2; }
[[ "$threads" =~ ^[1-9][0-9]*$ ]] || { echo "alternate: THREADS must be a positive integer, not '$threads'" >&2; exit 2; }

cmds=("$@")
work=$(mktemp -d /tmp/dharmana-alternate.XXXXXX)
trap 'rm -rf "$work"' EXIT
for c in "${cmds[@]}"; do
  "$c" --version >/dev/null # a launcher's first run may build its jar and class-data archive
done

declare -A secs
n=${#cmds[@]}
for r in $(seq 1 "$rounds"); do
  for k in $(seq 0 $((n - 1))); do
    c=${cmds[$(((k + r) % n))]}
    rm -f "$work/out"
    sync
    s=$("$c" "$job" "$input" -o "$work/out" --threads "$threads" --json \
        | python3 -c "import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])['seconds'])")
    secs[$c]="${secs[$c]:-} $s"
  done
  echo "round $r of $rounds done" >&2
done

median() { printf '%s\n' $1 | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
first=$(median "${secs[${cmds[0]}]}")
echo "$job --threads $threads, $rounds rounds, median in-JVM seconds (ratio: first build's seconds / this one's)"
for c in "${cmds[@]}"; do
  m=$(median "${secs[$c]}")
  printf '%-40s %8.3f s  %5.2fx   (%s )\n' "$c" "$m" "$(echo "$first / $m" | bc -l)" "${secs[$c]}"
done
