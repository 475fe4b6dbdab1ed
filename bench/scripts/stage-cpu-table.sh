#!/usr/bin/env bash
# Encode and decode speed of every built-in stage, in MB of original data per CPU second, on
# 64 MiB of float-like data (fp32, normal, stddev 0.02) cut into 64 KiB and 1 MiB chunks.
# Usage: bench/scripts/stage-cpu-table.sh   (after: mvn -q -B -o -pl bench -am package -DskipTests)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
jar="$root/bench/target/benchmarks.jar"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 - "$work/floats.bin" <<'PY'
import sys, numpy as np
np.random.default_rng(42).normal(0, 0.02, 16 << 20).astype('<f4').tofile(sys.argv[1])
PY
printf '%-26s %8s %14s %14s %7s\n' stage chunk "encode MB/cpu-s" "decode MB/cpu-s" ratio
while read -r label stage params; do
  for chunk in 65536 1048576; do
    # shellcheck disable=SC2086
    read -r enc dec ratio < <(java -cp "$jar" io.dharmana.bench.StageCpuTime "$work/floats.bin" $chunk $stage $params)
    printf '%-26s %8s %14s %14s %7s\n' "$label" $chunk "$enc" "$dec" "$ratio"
  done
done <<'LIST'
zstd:3 zstd level=3
zstd:1 zstd level=1
lz4 lz4 mode=fast
lz4:high lz4 mode=high
byte-planes:4 byte-planes width=4
checksum:crc32c checksum algorithm=crc32c
checksum:sha256 checksum algorithm=sha256
aes-gcm aes-gcm key-env=DHARMANA_BENCH_KEY
LIST
