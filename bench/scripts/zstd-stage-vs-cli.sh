#!/usr/bin/env bash
# Compares the zstd stage at level 3 with the zstd command line at -3 --single-thread on the
# same float-like data (64 MiB of fp32 from a normal distribution, stddev 0.02), in one run.
# Speeds are MB per CPU second of the compressing thread or process: on a shared machine wall
# time swings with other load, CPU time much less. Goal: the stage at >= 0.8x the CLI.
# Usage: bench/scripts/zstd-stage-vs-cli.sh   (after: mvn -q -B -o -pl bench -am package -DskipTests)
# Needs: zstd, python3 with numpy, java.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
jar="$root/bench/target/benchmarks.jar"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

python3 - "$work/floats.bin" <<'PY'
import sys, numpy as np
np.random.default_rng(42).normal(0, 0.02, 16 << 20).astype('<f4').tofile(sys.argv[1])
PY

# best of 5 runs of the CLI, by user+sys CPU time of the zstd process (the file is in page cache)
cli=$(python3 - "$work/floats.bin" <<'PY'
import os, resource, subprocess, sys
path = sys.argv[1]
size = os.path.getsize(path)
best = 0.0
for _ in range(5):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(["zstd", "--single-thread", "-3", "-q", "-f", path, "-o", "/dev/null"], check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    best = max(best, size / 1e6 / cpu)
print(f"{best:.1f}")
PY
)
echo "zstd CLI -3 --single-thread, file to /dev/null: $cli MB per CPU second"
for chunk in 65536 262144 1048576; do
  read -r mbs decode ratio < <(java -cp "$jar" io.dharmana.bench.StageCpuTime "$work/floats.bin" $chunk zstd level=3)
  echo "zstd stage level 3, $chunk-byte chunks: $mbs MB per CPU second (ratio $ratio) = $(python3 -c "print(round($mbs / $cli, 2))")x the CLI"
done
