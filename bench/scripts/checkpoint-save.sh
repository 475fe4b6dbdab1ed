#!/usr/bin/env bash
# Saves a training state (default 4 GiB of fp32 tensors) through the Java CheckpointManager and
# prints, side by side in one run:
#   blocked    time save() blocked the caller (the staging copy)
#   memcpy     a plain memory copy of the same bytes (the snapshot limit); goal: blocked <= 1.3x
#   committed  time until the save was committed on the local tier
#   dd         dd writing the *stored* bytes sequentially with fsync (the disk limit); goal: committed <= 1.25x
#   torch.save of the same tensors with fsync, when python3 can import torch
#
# Usage: bench/scripts/checkpoint-save.sh [WORKDIR]
#   WORKDIR     scratch directory (default: a fresh temp dir; removed at the end unless KEEP=1)
#   SIZE_MB     state size in MiB (default 4096)
#   TENSOR_MB   tensor size in MiB (default 64)
#   MODES       codecs to time, of raw and float (default "raw float")
#   JAVA_OPTS   JVM options (default: -Xmx scaled to the state)
# Each of the three timed saves follows a plain single-threaded copy of the same state, so both are
# timed on the same (shared, noisy) machine; medians are printed and compared, and best_copy_s is
# the fastest copy of all (including three before the first save). cpu_s is the CPU time the JVM
# used from save to committed (median): what a save costs, however busy the machine is.
# Needs bench/target/benchmarks.jar (mvn -q -B -pl bench -am package -DskipTests); nothing is built here.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
size_mb=${SIZE_MB:-4096}
tensor_mb=${TENSOR_MB:-64}
modes=${MODES:-raw float}
work=${1:-$(mktemp -d /tmp/dharmana-ckpt-bench.XXXXXX)}
mkdir -p "$work"
cleanup() { [[ "${KEEP:-0}" == 1 ]] || rm -rf "$work"; }
trap cleanup EXIT

jar="$repo/bench/target/benchmarks.jar"
[[ -f "$jar" ]] || { echo "checkpoint-save: no $jar; build with 'mvn -q -B -pl bench -am package -DskipTests'" >&2; exit 2; }
# state (direct) + staging (heap) + encoded tensors in flight
heap_mb=$(( size_mb * 2 + 1024 ))
java_opts=${JAVA_OPTS:-"-Xmx${heap_mb}m -XX:MaxDirectMemorySize=$(( size_mb + 512 ))m"}

printf '%-6s %10s %10s %10s %10s %11s %11s %10s %10s %12s %14s\n' mode GiB stored_GiB blocked_s memcpy_s best_copy_s committed_s cpu_s dd_s blocked/copy committed/dd
for mode in $modes; do
  rm -rf "$work/repo-$mode"
  # shellcheck disable=SC2086
  line=$(java $java_opts -cp "$jar" io.dharmana.bench.CheckpointSaveBench "$work/repo-$mode" "$size_mb" "$tensor_mb" "$mode" | tail -1)
  declare -A r=()
  for kv in $line; do r[${kv%%=*}]=${kv#*=}; done
  rm -rf "$work/repo-$mode"
  stored=${r[stored]}
  sync
  dd_start=$(date +%s.%N)
  dd if=/dev/zero of="$work/dd.bin" bs=4M count=$(( (stored + 4194303) / 4194304 )) conv=fsync status=none
  dd_end=$(date +%s.%N)
  rm -f "$work/dd.bin"
  dd_s=$(echo "$dd_end - $dd_start" | bc -l)
  awk -v m="$mode" -v b="${r[bytes]}" -v s="$stored" -v bl="${r[blocked_s]}" -v mc="${r[memcpy_s]}" -v bc="${r[memcpy_best_s]}" \
    -v c="${r[committed_s]}" -v cpu="${r[cpu_s]}" -v d="$dd_s" \
    'BEGIN { printf "%-6s %10.2f %10.2f %10.3f %10.3f %11.3f %11.3f %10.3f %10.3f %12.2f %14.2f\n", m, b/2^30, s/2^30, bl, mc, bc, c, cpu, d, bl/mc, c/d }'
done

# Debian's python3-torch lives under /usr/bin/python3; a pyenv python3 first on PATH may not see it
py=${PYTHON:-}
for candidate in python3 /usr/bin/python3; do
  if [[ -z "$py" ]] && "$candidate" -c 'import torch' 2>/dev/null; then py=$candidate; fi
done
if [[ -n "$py" ]]; then
  "$py" - "$work/torch.pt" "$size_mb" "$tensor_mb" <<'PY'
import os, sys, time, torch
path, size_mb, tensor_mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
n = max(1, size_mb // tensor_mb)
state = {f"layer.{i}.weight": torch.randn(tensor_mb * (1 << 20) // 4) * 0.02 for i in range(n)}
t0 = time.perf_counter()
with open(path, "wb") as f:
    torch.save(state, f)
    f.flush()
    os.fsync(f.fileno())
t = time.perf_counter() - t0
print(f"torch.save (blocks the caller until written, fsync): {t:.3f} s for {n * tensor_mb / 1024:.2f} GiB")
PY
  rm -f "$work/torch.pt"
else
  echo "torch.save: python3 cannot import torch (apt-get install python3-torch), skipped"
fi
