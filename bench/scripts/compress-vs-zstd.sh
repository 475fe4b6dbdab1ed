#!/usr/bin/env bash
# Times `dharmana compress/decompress` against `zstd -3` / `zstd -d` on the same >= 500 MB
# safetensors file, in one run, and prints MB/s and ratios side by side.
#
# Usage: bench/scripts/compress-vs-zstd.sh [WORKDIR]
#   WORKDIR      scratch directory (default: a fresh temp dir; removed at the end unless KEEP=1)
#   MIN_MB       size of the generated input in MB (default 500)
#   DHARMANA_CORPUS  directory holding checkpoints/*.safetensors (default: ../shared/corpus)
#   DHARMANA_CMD     command that runs dharmana (default: ./dharmana, else java -jar cli/target/dharmana.jar)
#   DHARMANA_BASELINE_CMD  optional second dharmana (e.g. java -jar /tmp/before.jar) timed on one thread
#                    in the same run, so a change is measured before/after under the same load
#
# The input concatenates the corpus checkpoints' tensors (renamed per copy) into one safetensors
# file; without a corpus it generates gaussian fp32 weights. Nothing is built here.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
min_mb=${MIN_MB:-500}
work=${1:-$(mktemp -d /tmp/dharmana-bench.XXXXXX)}
mkdir -p "$work"
cleanup() { [[ "${KEEP:-0}" == 1 ]] || rm -rf "$work"; }
trap cleanup EXIT

if [[ -n "${DHARMANA_CMD:-}" ]]; then
  read -r -a dharmana <<<"$DHARMANA_CMD"
elif [[ -x "$repo/dharmana" ]]; then
  dharmana=("$repo/dharmana")
elif [[ -f "$repo/cli/target/dharmana.jar" ]]; then
  dharmana=(java -jar "$repo/cli/target/dharmana.jar")
else
  echo "compress-vs-zstd: no ./dharmana launcher and no cli/target/dharmana.jar; build with 'mvn -q -B package -DskipTests' or set DHARMANA_CMD" >&2
  exit 2
fi
command -v zstd >/dev/null || { echo "compress-vs-zstd: zstd is not installed" >&2; exit 2; }

corpus=${DHARMANA_CORPUS:-}
if [[ -z "$corpus" ]]; then
  d=$repo
  while [[ "$d" != / ]]; do
    if [[ -d "$d/../shared/corpus" ]]; then corpus=$(cd "$d/../shared/corpus" && pwd); break; fi
    if [[ -d "$d/shared/corpus" ]]; then corpus=$(cd "$d/shared/corpus" && pwd); break; fi
    d=$(dirname "$d")
  done
fi

input="$work/input.safetensors"
python3 - "$input" "$min_mb" "${corpus:-}" <<'PY'
import glob, json, os, struct, sys, random
out, min_mb, corpus = sys.argv[1], int(sys.argv[2]), sys.argv[3]
files = sorted(glob.glob(os.path.join(corpus, "checkpoints", "*.safetensors"))) if corpus else []
parts = []  # (name, dtype, shape, source path, absolute offset, length)
if files:
    total, copy = 0, 0
    while total < min_mb * 1_000_000:
        for f in files:
            with open(f, "rb") as fh:
                n = struct.unpack("<Q", fh.read(8))[0]
                header = json.loads(fh.read(n))
            for name, info in header.items():
                if name == "__metadata__":
                    continue
                b, e = info["data_offsets"]
                parts.append((f"c{copy}.{os.path.basename(f)[:-12]}.{name}", info["dtype"], info["shape"], f, 8 + n + b, e - b))
                total += e - b
        copy += 1
else:
    rng = random.Random(1)
    total, i = 0, 0
    while total < min_mb * 1_000_000:
        parts.append((f"gen.{i}.weight", "F32", [1024, 1024], None, rng.random(), 4 << 20))
        total += 4 << 20; i += 1
hdr, off = {}, 0
for name, dtype, shape, _, _, length in parts:
    hdr[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + length]}
    off += length
hb = json.dumps(hdr, separators=(",", ":")).encode()
hb += b" " * ((8 - len(hb) % 8) % 8)
with open(out, "wb") as o:
    o.write(struct.pack("<Q", len(hb))); o.write(hb)
    handles = {}
    for name, dtype, shape, src, pos, length in parts:
        if src is None:
            import numpy as np
            o.write(np.random.default_rng(int(pos * 1e9)).normal(0, 0.02, length // 4).astype("<f4").tobytes())
            continue
        fh = handles.setdefault(src, open(src, "rb"))
        fh.seek(pos); o.write(fh.read(length))
print(f"input: {len(parts)} tensors, {8 + len(hb) + off} bytes, from {'corpus ' + corpus if files else 'generated gaussian weights'}")
PY

size=$(stat -c %s "$input")
cores=$(nproc)
now() { date +%s.%N; }
declare -A secs cpu
# warm reads stay warm: the files the contenders read are locked in memory (see page-cache.sh)
source "$repo/bench/scripts/page-cache.sh"
trap 'page_cache_unlock "$work/.vmtouch.pid"; cleanup' EXIT
time_it() { # label, command...
  local label=$1; shift
  sync
  cat "$input" >/dev/null # same page-cache state for every contender
  local read=("$input")
  [[ -f "$work/input.zst" ]] && read+=("$work/input.zst")
  [[ -f "$work/input.dhz" ]] && read+=("$work/input.dhz")
  page_cache_lock "$work/.vmtouch.pid" "${read[@]}"
  local t0 t1
  t0=$(now)
  if [[ -x /usr/bin/time ]]; then
    /usr/bin/time -f "%U %S" -o "$work/$label.cpu" "$@" >"$work/$label.log" 2>&1 || { cat "$work/$label.log" >&2; exit 1; }
  else
    "$@" >"$work/$label.log" 2>&1 || { cat "$work/$label.log" >&2; exit 1; }
    echo "0 0" >"$work/$label.cpu"
  fi
  t1=$(now)
  secs[$label]=$(echo "$t1 - $t0" | bc -l)
  cpu[$label]=$(awk '{print $1 + $2}' "$work/$label.cpu")
}

# dharmana writes its output atomically and fsyncs it; zstd's output is synced too, so both
# times end with the bytes on disk
time_it zstd_c sh -c 'zstd -q -f -3 -T1 "$1" -o "$2" && sync "$2"' zstd-c "$input" "$work/input.zst"
time_it zstd_d sh -c 'zstd -q -f -d -T1 "$1" -o "$2" && sync "$2"' zstd-d "$work/input.zst" "$work/zstd.out"
cmp "$input" "$work/zstd.out"
time_it dhz_c1 "${dharmana[@]}" compress "$input" -o "$work/input.dhz" --threads 1 --json
time_it dhz_d1 "${dharmana[@]}" decompress "$work/input.dhz" -o "$work/dhz1.out" --threads 1 --json
cmp "$input" "$work/dhz1.out"
if [[ -n "${DHARMANA_BASELINE_CMD:-}" ]]; then
  read -r -a baseline <<<"$DHARMANA_BASELINE_CMD"
  time_it base_c1 "${baseline[@]}" compress "$input" -o "$work/base.dhz" --threads 1 --json
  time_it base_d1 "${baseline[@]}" decompress "$work/base.dhz" -o "$work/base.out" --threads 1 --json
  cmp "$input" "$work/base.out"
  rm -f "$work/base.out"
fi
time_it dhz_cN "${dharmana[@]}" compress "$input" -o "$work/inputN.dhz" --threads "$cores" --json
time_it dhz_dN "${dharmana[@]}" decompress "$work/inputN.dhz" -o "$work/dhzN.out" --threads "$cores" --json
cmp "$input" "$work/dhzN.out"

zst_size=$(stat -c %s "$work/input.zst")
dhz_size=$(stat -c %s "$work/input.dhz")
mbs() { echo "scale=1; $size / 1000000 / ${secs[$1]}" | bc -l; }
# CPU time (user + sys, all threads) is what a loaded shared machine distorts least.
cpumbs() { if [[ "${cpu[$1]}" == 0 ]]; then echo "-"; else echo "scale=1; $size / 1000000 / ${cpu[$1]}" | bc -l; fi; }
inner() { python3 -c "import json,sys; print('%.1f' % ($size / 1e6 / json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])['seconds']))" "$work/$1.log"; }
ratio() { echo "scale=3; $size / $1" | bc -l; }
x() { echo "scale=2; $1 / $2" | bc -l; }

echo
echo "input: $((size / 1000000)) MB on $cores cores ($(java -version 2>&1 | head -1))"
printf '%-34s %10s %10s %14s %12s\n' "contender" "ratio" "MB/s" "MB/s in-JVM" "MB/CPU-s"
printf '%-34s %10s %10s %14s %12s\n' "zstd -3 -T1 compress + sync" "$(ratio "$zst_size")" "$(mbs zstd_c)" "-" "$(cpumbs zstd_c)"
printf '%-34s %10s %10s %14s %12s\n' "zstd -d -T1 decompress + sync" "" "$(mbs zstd_d)" "-" "$(cpumbs zstd_d)"
printf '%-34s %10s %10s %14s %12s\n' "dharmana compress --threads 1" "$(ratio "$dhz_size")" "$(mbs dhz_c1)" "$(inner dhz_c1)" "$(cpumbs dhz_c1)"
printf '%-34s %10s %10s %14s %12s\n' "dharmana decompress --threads 1" "" "$(mbs dhz_d1)" "$(inner dhz_d1)" "$(cpumbs dhz_d1)"
printf '%-34s %10s %10s %14s %12s\n' "dharmana compress --threads $cores" "$(ratio "$(stat -c %s "$work/inputN.dhz")")" "$(mbs dhz_cN)" "$(inner dhz_cN)" "$(cpumbs dhz_cN)"
printf '%-34s %10s %10s %14s %12s\n' "dharmana decompress --threads $cores" "" "$(mbs dhz_dN)" "$(inner dhz_dN)" "$(cpumbs dhz_dN)"
if [[ -n "${DHARMANA_BASELINE_CMD:-}" ]]; then
  printf '%-34s %10s %10s %14s %12s\n' "baseline compress --threads 1" "$(ratio "$(stat -c %s "$work/base.dhz")")" "$(mbs base_c1)" "$(inner base_c1)" "$(cpumbs base_c1)"
  printf '%-34s %10s %10s %14s %12s\n' "baseline decompress --threads 1" "" "$(mbs base_d1)" "$(inner base_d1)" "$(cpumbs base_d1)"
fi
echo
if [[ -n "${DHARMANA_BASELINE_CMD:-}" ]]; then
  echo "baseline/zstd speed, 1 thread:  compress $(x "${secs[zstd_c]}" "${secs[base_c1]}")x, decompress $(x "${secs[zstd_d]}" "${secs[base_d1]}")x (wall clock); CPU efficiency: compress $(x "${cpu[zstd_c]}" "${cpu[base_c1]}")x, decompress $(x "${cpu[zstd_d]}" "${cpu[base_d1]}")x"
fi
echo "dharmana/zstd speed, 1 thread:  compress $(x "${secs[zstd_c]}" "${secs[dhz_c1]}")x, decompress $(x "${secs[zstd_d]}" "${secs[dhz_d1]}")x (wall clock, JVM start included)"
echo "dharmana/zstd CPU efficiency, 1 thread: compress $(x "${cpu[zstd_c]}" "${cpu[dhz_c1]}")x, decompress $(x "${cpu[zstd_d]}" "${cpu[dhz_d1]}")x (JIT and GC threads included)"
echo "load average during the run: $(cut -d' ' -f1-3 /proc/loadavg) (on $cores cores; above $cores the wall-clock figures are distorted)"
echo "dharmana scaling 1 -> $cores threads: compress $(x "${secs[dhz_c1]}" "${secs[dhz_cN]}")x, decompress $(x "${secs[dhz_d1]}" "${secs[dhz_dN]}")x"
echo "ratio dharmana/zstd: $(x "$zst_size" "$dhz_size")x smaller"
