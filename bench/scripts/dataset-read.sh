#!/usr/bin/env bash
# Side-by-side read benchmark of Dharmana datasets (issue 5).
#
# For two MLPerf Storage-like workloads (resnet50: ~115 KB samples, cosmoflow: ~2.8 MB samples) it
# generates SIZE of incompressible synthetic samples as files, packs them into uncompressed
# Dharmana shards, and in the same run measures:
#   - `cat` of the same shard files to /dev/null: the read limit of this machine;
# Reads are warm (page cache holds the files, which are read once before) so that the software
# path is compared, not a shared disk; COLD=1 drops the page cache before each read instead
# (needs root) and measures the disk.
#   - `dharmana dataset read` (DataLoader, sequential order and shuffled);
#   - a PyTorch DataLoader over the original files with num_workers=2 (if python3-torch imports);
#   - `dharmana dataset bench` with an emulated accelerator whose demand is 80% of the measured
#     Dharmana read bandwidth (goal: utilization >= 0.95, as MLPerf Storage's DLIO measures it: each
#     compute's measured time over wall time; the strict figure, which charges the accelerator thread's
#     late wake-ups as idle too, beside it), its compute launched synchronously (MLPerf
#     Storage's emulation) with the loader's readers as ordinary threads (the default) and in the
#     background, and asynchronously (a device that computes while the next batch is taken), beside the
#     host's limit for the synchronous emulation (batches ready at once, the cores as busy as the
#     readers keep them: bench HostSleepLimit) and the ratio to it.
#
# Usage: bench/scripts/dataset-read.sh [SIZE_GIB (default 2)] [WORKDIR (default /tmp/dharmana-dataset-bench)]
# Env:   LONG_SECONDS=S the longer accelerator runs' emulated compute (default 10); DHARMANA_JAR=path runs that jar with java (default: the ./dharmana launcher); KEEP=1 keeps the generated data; WORKLOADS="resnet50 cosmoflow" selects workloads; COLD=1 see above; ROUNDS=N read rounds (default 5); ACC_ROUNDS=N accelerator rounds (default 3).
set -euo pipefail

SIZE_GIB=${1:-2}
WORK=${2:-/tmp/dharmana-dataset-bench}
WORKLOADS=${WORKLOADS:-"resnet50 cosmoflow"}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# a pre-touched, fixed heap: fresh heap pages otherwise cost a page fault per 4 KiB of every sample read
HEAP="-Xms2g -Xmx2g -XX:+AlwaysPreTouch"
if [[ -n "${DHARMANA_JAR:-}" ]]; then
  dharmana() { java $HEAP -cp "$DHARMANA_JAR" io.dharmana.cli.DatasetCommand "$@"; }
else
  # as a user runs it: the launcher (its class-data archive and compiler settings), built first if stale
  "$ROOT/dharmana" --version > /dev/null
  dharmana() { DHARMANA_JAVA_OPTS="$HEAP" "$ROOT/dharmana" dataset "$@"; }
fi

json_field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

now() { date +%s.%N; }

mkdir -p "$WORK"
echo "Dharmana dataset read benchmark: $SIZE_GIB GiB per workload, $(nproc) cores, $(date -u +%FT%TZ)"
COLD=${COLD:-0}
ROUNDS=${ROUNDS:-5}
ACC_ROUNDS=${ACC_ROUNDS:-3}
if [[ "$COLD" == 1 ]] && (sync; echo 3 > /proc/sys/vm/drop_caches) 2>/dev/null; then
  echo "page cache: DROPPED before each read (cold reads: the disk is measured)"
  prepare() { sync; echo 3 > /proc/sys/vm/drop_caches; }
else
  [[ "$COLD" == 1 ]] && echo "COLD=1 asked but the page cache cannot be dropped here" >&2
  echo "page cache: NOT dropped; files are read once before each measurement (warm reads: the software path is measured)"
  prepare() { cat "$@" > /dev/null; }
fi
# warm runs lock the files they read in memory while their workload runs (see page-cache.sh)
source "$ROOT/bench/scripts/page-cache.sh"
lock_files() { :; }
unlock_files() { :; }
if [[ "$COLD" != 1 ]]; then
  command -v vmtouch > /dev/null && echo "page cache: the files read are locked in memory (vmtouch -l) while their workload runs"
  lock_files() { page_cache_lock "$WORK/.vmtouch.pid" "$@"; }
  unlock_files() { page_cache_unlock "$WORK/.vmtouch.pid"; }
  trap unlock_files EXIT
fi
TORCH_PY=""
for py in python3 /usr/bin/python3; do
  if "$py" -c "import torch" 2>/dev/null; then TORCH_PY=$py; break; fi
done

for workload in $WORKLOADS; do
  case $workload in
    resnet50) SAMPLE=115000; BATCH=256 ;;
    cosmoflow) SAMPLE=2800000; BATCH=8 ;;
    *) echo "unknown workload $workload" >&2; exit 2 ;;
  esac
  dir="$WORK/$workload"
  files="$dir/files"
  ds="$dir/dataset"
  count=$(python3 -c "print(int($SIZE_GIB * 2**30 // $SAMPLE))")
  echo
  echo "== $workload: $count samples of ~$SAMPLE bytes, batch $BATCH"
  if [[ ! -f "$dir/.files-complete" ]]; then
    rm -rf "$files"
    python3 - "$files" "$count" "$SAMPLE" "$dir/.files-complete" <<'PY'
import os, random, sys
out, count, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(20261122)
pool = os.urandom(64 << 20)  # incompressible bytes; samples are slices at random offsets
for i in range(count):
    d = os.path.join(out, f"{i // 1000:04d}")
    if i % 1000 == 0:
        os.makedirs(d, exist_ok=True)
    n = max(1, int(rng.gauss(size, size * 0.1)))
    off = rng.randrange(0, len(pool) - n)
    with open(os.path.join(d, f"{i:08d}.bin"), "wb") as f:
        f.write(pool[off:off + n])
open(sys.argv[4], "w").close()
PY
  fi
  rm -rf "$ds"
  t0=$(now)
  dharmana pack "$ds" --from "$files" --shard-size 64MiB --no-progress
  t1=$(now)
  shard_bytes=$(du -sb "$ds/shards" | cut -f1)
  echo "pack: $(python3 -c "print(f'{$shard_bytes/1e6/($t1-$t0):.1f} MB/s')")"

  sync # the pack's writeback must not run under the reads measured next
  lock_files "$ds"/shards/*.dhs "$files"
  # A read of 2 GiB from memory lasts a fraction of a second on this shared machine: cat and the
  # two dharmana reads take turns for ROUNDS rounds and each prints its median.
  cat_runs=(); read_runs=(); shuf_runs=()
  for round in $(seq "$ROUNDS"); do
    # the read limit: cat of the same shard files (first pass warms the page cache when it cannot be dropped)
    prepare "$ds"/shards/*.dhs
    t0=$(now); cat "$ds"/shards/*.dhs > /dev/null; t1=$(now)
    cat_runs+=("$(python3 -c "print(round($shard_bytes/1e6/($t1-$t0), 1))")")
    prepare "$ds"/shards/*.dhs
    read_json=$(dharmana read "$ds" --batch $BATCH --readers 2 --prefetch 4 --json)
    read_runs+=("$(echo "$read_json" | json_field readMBps) $(echo "$read_json" | json_field samplesPerSecond)")
    prepare "$ds"/shards/*.dhs
    shuf_json=$(dharmana read "$ds" --batch $BATCH --readers 2 --prefetch 4 --shuffle 7 --json)
    shuf_runs+=("$(echo "$shuf_json" | json_field readMBps) $(echo "$shuf_json" | json_field samplesPerSecond)")
  done
  median_line() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
  cat_mbps=$(median_line "${cat_runs[@]}")
  read "read_mbps" "read_sps" <<< "$(median_line "${read_runs[@]}")"
  read "shuf_mbps" "shuf_sps" <<< "$(median_line "${shuf_runs[@]}")"
  runs() { printf '%s\n' "$@" | cut -d' ' -f1 | paste -sd' '; }
  echo "cat shards > /dev/null:                 $cat_mbps MB/s  (median of $(runs "${cat_runs[@]}"))"
  echo "dharmana dataset read (sequential):     $read_mbps MB/s, $read_sps samples/s  ($(python3 -c "print(f'{$read_mbps/$cat_mbps:.2f}')")x cat; median of $(runs "${read_runs[@]}"))"
  echo "dharmana dataset read (shuffled):       $shuf_mbps MB/s, $shuf_sps samples/s  ($(python3 -c "print(f'{$shuf_mbps/$cat_mbps:.2f}')")x cat; median of $(runs "${shuf_runs[@]}"))"

  if [[ -n "$TORCH_PY" ]]; then
    find "$files" -name '*.bin' -print0 | xargs -0 cat > /dev/null
    [[ "$COLD" == 1 ]] && prepare
    torch_sps=$("$TORCH_PY" - "$files" "$BATCH" <<'PY'
import os, sys, time, torch
from torch.utils.data import Dataset, DataLoader
root, batch = sys.argv[1], int(sys.argv[2])
paths = sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs if f.endswith(".bin"))
class Files(Dataset):
    def __len__(self): return len(paths)
    def __getitem__(self, i):
        with open(paths[i], "rb") as f:
            return torch.frombuffer(bytearray(f.read()), dtype=torch.uint8)
loader = DataLoader(Files(), batch_size=batch, num_workers=2, shuffle=True, collate_fn=lambda b: b)
n = 0; t = time.time()
for b in loader:
    n += len(b)
print(round(n / (time.time() - t), 1))
PY
)
    echo "PyTorch DataLoader (files, 2 workers, shuffled):  $torch_sps samples/s  (dharmana shuffled is $(python3 -c "print(f'{$shuf_sps/$torch_sps:.2f}')")x)"
  else
    echo "PyTorch DataLoader: skipped: python3-torch not installed (Debian: apt-get install python3-torch)"
  fi

  # accelerator emulation: demand = 80% of the measured read bandwidth
  batch_bytes=$(python3 -c "print($shard_bytes / $count * $BATCH)")
  compute_ms=$(python3 -c "print(round($batch_bytes / ($shuf_mbps * 1e6 * 0.8) * 1e3, 2))")
  # The default prefetch (auto: from 4 batches, one more each time the accelerator waits, within
  # --memory). MLPerf Storage runs 5 epochs of a dataset several times the host's memory, so each of
  # its epochs lasts minutes; here an epoch of 2 GiB read from memory at this demand lasts a fraction
  # of a second, shorter than the JVM's warm-up, and a pause of a few milliseconds moves it by a
  # point. So two lengths are printed: 5 epochs back to back, and as many as last LONG_SECONDS
  # (default 10) of emulated compute. Each also as MLPerf Storage reports it (DLIO's statscounter:
  # utilization per epoch, then their mean) and after the first epoch (a training process pays its
  # warm-up once). Each next epoch's loader reads ahead while the one before ends. Each in three
  # modes, taking turns for ACC_ROUNDS rounds (medians):
  #   sync        - the accelerator's thread sleeps the compute, then takes the next batch (MLPerf
  #                 Storage's emulation): a thread that wakes late from its sleep (overrun) computed
  #                 longer as DLIO counts it, and idled the accelerator in the strict figure;
  #   sync-bg     - the same with the loader's readers in the background (--background-readers,
  #                 SCHED_IDLE), so that the accelerator's thread never waits out a reader's slice;
  #   async       - the emulated device computes while the thread takes the next batch (one queued),
  #                 as a training loop with asynchronous kernel launches: only late storage idles it.
  bench_field() { echo "$1" | json_field "$2"; }
  # the mean of the per-epoch utilizations, as MLPerf Storage's DLIO computes its figure
  epoch_mean() { echo "$1" | python3 -c 'import json,sys; e=[u for u in json.load(sys.stdin)["epochUtilization"] if u is not None]; print(round(sum(e)/len(e), 3) if e else None)'; }
  first_epoch() { echo "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["epochUtilization"][0])'; }
  acc_line() { # label, then runs (one "util p99 overrun after-first-epoch epoch-mean strict first-epoch" line per run; median by utilization)
    local label=$1; shift
    local med; med=$(median_line "$@")
    read -r u p o a m s f <<< "$med"
    column() { printf '%s\n' "${@:2}" | cut -d' ' -f"$1"; }
    runs_of() { echo "$(median_line $(column "$1" "${@:2}")) (runs $(column "$1" "${@:2}" | paste -sd' '))"; }
    local after=""
    [[ $a != None ]] && after=", after the first epoch $(runs_of 4 "$@")"
    echo "  $label: utilization $u (runs $(column 1 "$@" | paste -sd' ')), first epoch $(runs_of 7 "$@"), mean per epoch $(runs_of 5 "$@")$after; strict $(runs_of 6 "$@"), wait p99 $p ms, overrun $o ms"
  }
  long_epochs=$(python3 -c "import math; print(max(5, math.ceil(${LONG_SECONDS:-10} / ($count / $BATCH * $compute_ms / 1e3))))")
  echo "emulated accelerator at 80% of read bandwidth ($compute_ms ms/batch, prefetch auto; medians of $ACC_ROUNDS alternating rounds):"
  for epochs in 5 $long_epochs; do
    sync_runs=(); bg_runs=(); async_runs=()
    for round in $(seq "$ACC_ROUNDS"); do
      for mode in sync sync-bg async; do
        case $mode in
          sync) flags="--launch sync" ;;
          sync-bg) flags="--launch sync --background-readers" ;;
          async) flags="--launch async" ;;
        esac
        prepare "$ds"/shards/*.dhs
        j=$(dharmana bench "$ds" --batch $BATCH --compute-ms "$compute_ms" --readers 2 --shuffle 7 --epochs $epochs $flags --json)
        line="$(bench_field "$j" utilization) $(bench_field "$j" waitP99Ms) $(bench_field "$j" overrunMs) $(bench_field "$j" utilizationAfterFirstEpoch) $(epoch_mean "$j") $(bench_field "$j" strictUtilization) $(first_epoch "$j")"
        case $mode in
          sync) sync_runs+=("$line") ;;
          sync-bg) bg_runs+=("$line"); readers=$(bench_field "$j" readerThreads) ;;
          async) async_runs+=("$line") ;;
        esac
        faults=$(bench_field "$j" majorFaults); thread=$(bench_field "$j" acceleratorThread)
      done
    done
    acc_line "$(printf '%3d' "$epochs") epochs, sync (MLPerf)             " "${sync_runs[@]}"
    acc_line "$(printf '%3d' "$epochs") epochs, sync, readers in background" "${bg_runs[@]}"
    acc_line "$(printf '%3d' "$epochs") epochs, async                     " "${async_runs[@]}"
  done
  echo "  (accelerator thread: $thread; readers with --background-readers: $readers; major faults in the last run: $faults)"
  # the host's limit for the synchronous emulation: the same accelerator with every batch ready at
  # once, beside two threads busy 80% of the time as the readers are at this demand
  if [[ -f "$ROOT/bench/target/benchmarks.jar" ]]; then
    limit=$(java -cp "$ROOT/bench/target/benchmarks.jar" io.dharmana.bench.HostSleepLimit "$compute_ms" 0.8 2 5)
    limit_short=$(echo "$limit" | json_field shortSlice)
    sync_strict=$(median_line $(printf '%s\n' "${sync_runs[@]}" | cut -d' ' -f6))
    echo "  host limit (batches ready at once, 2 threads busy 80%): strict sync utilization $limit_short with the short slice, $(echo "$limit" | json_field defaultSlice) without it, $(echo "$limit" | json_field backgroundBusy) with the short slice and the busy threads in the background; dharmana strict sync ($long_epochs epochs) / limit: $(python3 -c "print(f'{$sync_strict / $limit_short:.3f}')")"
  else
    echo "  host limit: skipped (bench/target/benchmarks.jar not built: mvn -q -B package -DskipTests)"
  fi
  # where the knee is: the same run (prefetch auto) at other demands, each as long as LONG_SECONDS of compute
  echo "utilization against demand (each run LONG_SECONDS=${LONG_SECONDS:-10} of compute, prefetch auto), sync / async:"
  for fraction in 0.5 0.7 0.8 0.9; do
    ms=$(python3 -c "print(round($batch_bytes / ($shuf_mbps * 1e6 * $fraction) * 1e3, 2))")
    n=$(python3 -c "import math; print(max(5, math.ceil(${LONG_SECONDS:-10} / ($count / $BATCH * $ms / 1e3))))")
    row=""
    for launch in sync async; do
      prepare "$ds"/shards/*.dhs
      j=$(dharmana bench "$ds" --batch $BATCH --compute-ms "$ms" --readers 2 --shuffle 7 --epochs "$n" --launch $launch --json)
      row="$row $launch $(bench_field "$j" utilization) (first epoch $(first_epoch "$j"), mean per epoch $(epoch_mean "$j"); strict $(bench_field "$j" strictUtilization), wait p99 $(bench_field "$j" waitP99Ms) ms, overrun $(bench_field "$j" overrunMs) ms)"
    done
    echo "  demand $(python3 -c "print(int($fraction * 100))")% ($ms ms/batch, $n epochs):$row"
  done
  echo "prefetch sweep at the same demand (5 epochs each):"
  dharmana bench "$ds" --batch $BATCH --compute-ms "$compute_ms" --readers 2 --shuffle 7 --epochs 5 --sweep-prefetch 0,1,2,4,8,16,auto | sed 's/^/  /'
  unlock_files
  [[ "${KEEP:-0}" == 1 ]] || rm -rf "$ds"
done
[[ "${KEEP:-0}" == 1 ]] || echo "(generated files kept in $WORK for reruns; remove with rm -rf $WORK)"
