#!/usr/bin/env bash
# Compares the zstd stage (level 3, through JMH) with the zstd command line at -3, single-threaded,
# on the same float-like data (fp32 from a normal distribution, stddev 0.02), in one run.
# Usage: bench/scripts/zstd-stage-vs-cli.sh   (after: mvn -q -B -o -pl bench -am package -DskipTests)
# Needs: zstd, python3 with numpy, java. Prints MB/s of each and the ratio stage / cli.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
jar="$root/bench/target/benchmarks.jar"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

python3 - "$work/floats.bin" <<'PY'
import sys, numpy as np
np.random.default_rng(42).normal(0, 0.02, 16 << 20).astype('<f4').tofile(sys.argv[1])
PY
size=$(stat -c %s "$work/floats.bin")

declare -A cli
for chunk in 65536 1048576; do
  # zstd -b: in-memory benchmark on blocks of the chunk size, like a put of independent chunks
  line=$(zstd -T1 -b3 -e3 -i3 -B$chunk "$work/floats.bin" 2>&1 | tr '\r' '\n' | grep -E 'MB/s' | tail -1)
  cli[$chunk]=$(echo "$line" | sed -E 's/.*\),[[:space:]]*([0-9.]+) MB\/s.*/\1/')
  echo "zstd -3 -B$chunk (CLI bench, in memory): ${cli[$chunk]} MB/s  [$line]"
done
start=$(date +%s.%N)
zstd -T1 -3 -q -f "$work/floats.bin" -o "$work/floats.zst"
end=$(date +%s.%N)
echo "zstd -3 file to file: $(python3 -c "print(round($size / ($end - $start) / 1e6, 1))") MB/s"

java -jar "$jar" 'StageBenchmark.encode' -p stage=zstd:3 -p chunkSize=65536,1048576 \
  -f 1 -wi 2 -i 3 -r 1s -w 1s -rf csv -rff "$work/jmh.csv" > "$work/jmh.txt"
while IFS=, read -r name mode threads samples score error unit chunk stage; do
  chunk=${chunk//\"/}
  [[ "$chunk" =~ ^[0-9]+$ ]] || continue
  mbs=$(python3 -c "print(round($score * $chunk / 1e6, 1))")
  ratio=$(python3 -c "print(round($mbs / ${cli[$chunk]}, 2))")
  echo "zstd stage level 3, $chunk-byte chunks: $mbs MB/s = ${ratio}x the CLI"
done < "$work/jmh.csv"
