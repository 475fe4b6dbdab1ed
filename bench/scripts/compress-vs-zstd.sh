#!/usr/bin/env bash
# Times `dharmana compress/decompress` against `zstd -3` / `zstd -d` on the same >= 500 MB
# safetensors file, in one run, and prints MB/s and ratios side by side.
#
# Usage: bench/scripts/compress-vs-zstd.sh [WORKDIR]
#   WORKDIR      scratch directory (default: a fresh temp dir; removed at the end unless KEEP=1)
#   MIN_MB       size of the generated input in MB (default 500)
#   DHARMANA_CORPUS  directory holding checkpoints/*.safetensors (default: ../shared/corpus)
#   DHARMANA_CMD     command that runs dharmana (default: ./dharmana, else java -jar cli/target/dharmana.jar)
#   DHARMANA_BASELINE_CMD  optional second dharmana (e.g. a copy of ./dharmana beside an older jar) timed
#                    on 1 and on all threads in the same run, each right after the same dharmana run,
#                    so a change is measured before/after under the same load
#
# zstd -3 is also timed with -T<cores>: what all cores give a well-optimized C compressor on this
# machine is the yardstick for dharmana's scaling (zstd -d has no threads: its scaling is 1.0x).
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
baseline=()
if [[ -n "${DHARMANA_BASELINE_CMD:-}" ]]; then
  read -r -a baseline <<<"$DHARMANA_BASELINE_CMD"
fi
# One untimed run of each dharmana first: the first ./dharmana after a build rebuilds a stale jar
# and dumps the launcher's class-data archive (~7 s), which would otherwise land inside the first
# timed contender (it once showed compress at 59 MB/s instead of ~250).
"${dharmana[@]}" --version >/dev/null
if [[ ${#baseline[@]} -gt 0 ]]; then
  "${baseline[@]}" --version >/dev/null
fi

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
declare -A secs cpu others
hz=$(getconf CLK_TCK)
busy_jiffies() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
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
  [[ -f "$work/base.dhz" ]] && read+=("$work/base.dhz")
  page_cache_lock "$work/.vmtouch.pid" "${read[@]}"
  local t0 t1 b0 b1
  b0=$(busy_jiffies)
  t0=$(now)
  if [[ -x /usr/bin/time ]]; then
    /usr/bin/time -f "%U %S" -o "$work/$label.cpu" "$@" >"$work/$label.log" 2>&1 || { cat "$work/$label.log" >&2; exit 1; }
  else
    "$@" >"$work/$label.log" 2>&1 || { cat "$work/$label.log" >&2; exit 1; }
    echo "0 0" >"$work/$label.cpu"
  fi
  t1=$(now)
  b1=$(busy_jiffies)
  secs[$label]=$(echo "$t1 - $t0" | bc -l)
  cpu[$label]=$(awk '{print $1 + $2}' "$work/$label.cpu")
  # the machine's busy time that was not this contender's, as a share of all cores over its run
  others[$label]=$(echo "x = 100 * (($b1 - $b0) / $hz - ${cpu[$label]}) / ($cores * ${secs[$label]}); if (x < 0) x = 0; scale = 0; x / 1" | bc -l)
}

# dharmana writes its output atomically and fsyncs it; zstd's output is synced too, so both
# times end with the bytes on disk
time_it zstd_c sh -c 'zstd -q -f -3 -T1 "$1" -o "$2" && sync "$2"' zstd-c "$input" "$work/input.zst"
time_it zstd_cN sh -c 'zstd -q -f -3 -T"$3" "$1" -o "$2" && sync "$2"' zstd-cN "$input" "$work/inputN.zst" "$cores"
cmp "$work/input.zst" "$work/inputN.zst" >/dev/null || echo "note: zstd -T$cores wrote other bytes than -T1 (it may frame differently)" >&2
rm -f "$work/inputN.zst"
time_it zstd_d sh -c 'zstd -q -f -d -T1 "$1" -o "$2" && sync "$2"' zstd-d "$work/input.zst" "$work/zstd.out"
cmp "$input" "$work/zstd.out"
zst_size=$(stat -c %s "$work/input.zst")
rm -f "$work/zstd.out" "$work/input.zst" # scratch stays under 2 GB
# each dharmana run is followed by the baseline's same run, so both see about the same load
time_it dhz_c1 "${dharmana[@]}" compress "$input" -o "$work/input.dhz" --threads 1 --json
if [[ ${#baseline[@]} -gt 0 ]]; then
  time_it base_c1 "${baseline[@]}" compress "$input" -o "$work/base.dhz" --threads 1 --json
  cmp "$work/input.dhz" "$work/base.dhz" >/dev/null || echo "note: dharmana and the baseline wrote different .dhz bytes" >&2
fi
# One untimed decompress first: the first one after the compressions paid ~1 s of system time
# (the kernel still busy with the 800 MB they wrote) that the next did not, whichever build ran
# first (both orders, 2 cores, 510 MB: the first at 0.52-0.60x of the second's MB/s).
"${dharmana[@]}" decompress "$work/input.dhz" -o "$work/warm.out" --threads 1 >/dev/null
rm -f "$work/warm.out"
time_it dhz_d1 "${dharmana[@]}" decompress "$work/input.dhz" -o "$work/dhz1.out" --threads 1 --json
cmp "$input" "$work/dhz1.out"
rm -f "$work/dhz1.out"
if [[ ${#baseline[@]} -gt 0 ]]; then
  time_it base_d1 "${baseline[@]}" decompress "$work/base.dhz" -o "$work/base.out" --threads 1 --json
  cmp "$input" "$work/base.out"
  rm -f "$work/base.out"
fi
time_it dhz_cN "${dharmana[@]}" compress "$input" -o "$work/inputN.dhz" --threads "$cores" --json
cmp "$work/input.dhz" "$work/inputN.dhz" >/dev/null || echo "note: --threads 1 and --threads $cores wrote different .dhz bytes" >&2
dhzN_size=$(stat -c %s "$work/inputN.dhz")
mv -f "$work/inputN.dhz" "$work/input.dhz" # what the decompressions read
if [[ ${#baseline[@]} -gt 0 ]]; then
  time_it base_cN "${baseline[@]}" compress "$input" -o "$work/baseN.dhz" --threads "$cores" --json
  rm -f "$work/baseN.dhz"
fi
time_it dhz_dN "${dharmana[@]}" decompress "$work/input.dhz" -o "$work/dhzN.out" --threads "$cores" --json
cmp "$input" "$work/dhzN.out"
rm -f "$work/dhzN.out"
if [[ ${#baseline[@]} -gt 0 ]]; then
  time_it base_dN "${baseline[@]}" decompress "$work/base.dhz" -o "$work/base.out" --threads "$cores" --json
  cmp "$input" "$work/base.out"
  rm -f "$work/base.out"
fi

dhz_size=$(stat -c %s "$work/input.dhz")
mbs() { echo "scale=1; $size / 1000000 / ${secs[$1]}" | bc -l; }
# CPU time (user + sys, all threads) is what a loaded shared machine distorts least.
cpumbs() { if [[ "${cpu[$1]}" == 0 ]]; then echo "-"; else echo "scale=1; $size / 1000000 / ${cpu[$1]}" | bc -l; fi; }
inner() { python3 -c "import json,sys; print('%.1f' % ($size / 1e6 / json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])['seconds']))" "$work/$1.log"; }
ratio() { echo "scale=3; $size / $1" | bc -l; }
x() { echo "scale=2; $1 / $2" | bc -l; }

echo
echo "input: $((size / 1000000)) MB on $cores cores ($(java -version 2>&1 | head -1))"
printf '%-34s %10s %10s %14s %12s %9s\n' "contender" "ratio" "MB/s" "MB/s in-JVM" "MB/CPU-s" "others %"
printf '%-34s %10s %10s %14s %12s %9s\n' "zstd -3 -T1 compress + sync" "$(ratio "$zst_size")" "$(mbs zstd_c)" "-" "$(cpumbs zstd_c)" "${others[zstd_c]}"
printf '%-34s %10s %10s %14s %12s %9s\n' "zstd -3 -T$cores compress + sync" "" "$(mbs zstd_cN)" "-" "$(cpumbs zstd_cN)" "${others[zstd_cN]}"
printf '%-34s %10s %10s %14s %12s %9s\n' "zstd -d -T1 decompress + sync" "" "$(mbs zstd_d)" "-" "$(cpumbs zstd_d)" "${others[zstd_d]}"
printf '%-34s %10s %10s %14s %12s %9s\n' "dharmana compress --threads 1" "$(ratio "$dhz_size")" "$(mbs dhz_c1)" "$(inner dhz_c1)" "$(cpumbs dhz_c1)" "${others[dhz_c1]}"
printf '%-34s %10s %10s %14s %12s %9s\n' "dharmana decompress --threads 1" "" "$(mbs dhz_d1)" "$(inner dhz_d1)" "$(cpumbs dhz_d1)" "${others[dhz_d1]}"
printf '%-34s %10s %10s %14s %12s %9s\n' "dharmana compress --threads $cores" "$(ratio "$dhzN_size")" "$(mbs dhz_cN)" "$(inner dhz_cN)" "$(cpumbs dhz_cN)" "${others[dhz_cN]}"
printf '%-34s %10s %10s %14s %12s %9s\n' "dharmana decompress --threads $cores" "" "$(mbs dhz_dN)" "$(inner dhz_dN)" "$(cpumbs dhz_dN)" "${others[dhz_dN]}"
if [[ -n "${DHARMANA_BASELINE_CMD:-}" ]]; then
  printf '%-34s %10s %10s %14s %12s %9s\n' "baseline compress --threads 1" "$(ratio "$(stat -c %s "$work/base.dhz")")" "$(mbs base_c1)" "$(inner base_c1)" "$(cpumbs base_c1)" "${others[base_c1]}"
  printf '%-34s %10s %10s %14s %12s %9s\n' "baseline decompress --threads 1" "" "$(mbs base_d1)" "$(inner base_d1)" "$(cpumbs base_d1)" "${others[base_d1]}"
  printf '%-34s %10s %10s %14s %12s %9s\n' "baseline compress --threads $cores" "" "$(mbs base_cN)" "$(inner base_cN)" "$(cpumbs base_cN)" "${others[base_cN]}"
  printf '%-34s %10s %10s %14s %12s %9s\n' "baseline decompress --threads $cores" "" "$(mbs base_dN)" "$(inner base_dN)" "$(cpumbs base_dN)" "${others[base_dN]}"
fi
echo
if [[ -n "${DHARMANA_BASELINE_CMD:-}" ]]; then
  echo "baseline/zstd speed, 1 thread:  compress $(x "${secs[zstd_c]}" "${secs[base_c1]}")x, decompress $(x "${secs[zstd_d]}" "${secs[base_d1]}")x (wall clock); CPU efficiency: compress $(x "${cpu[zstd_c]}" "${cpu[base_c1]}")x, decompress $(x "${cpu[zstd_d]}" "${cpu[base_d1]}")x"
fi
echo "dharmana/zstd speed, 1 thread:  compress $(x "${secs[zstd_c]}" "${secs[dhz_c1]}")x, decompress $(x "${secs[zstd_d]}" "${secs[dhz_d1]}")x (wall clock, JVM start included)"
echo "dharmana/zstd CPU efficiency, 1 thread: compress $(x "${cpu[zstd_c]}" "${cpu[dhz_c1]}")x, decompress $(x "${cpu[zstd_d]}" "${cpu[dhz_d1]}")x (JIT and GC threads included)"
echo "load average during the run: $(cut -d' ' -f1-3 /proc/loadavg) (on $cores cores; above $cores the wall-clock figures are distorted)"
echo "others %: CPU that other processes used during a contender's run, as a share of all $cores cores; wall-clock figures and ratios are trustworthy only where it is near 0"
echo "dharmana scaling 1 -> $cores threads: compress $(x "${secs[dhz_c1]}" "${secs[dhz_cN]}")x, decompress $(x "${secs[dhz_d1]}" "${secs[dhz_dN]}")x (in-JVM: compress $(x "$(inner dhz_cN)" "$(inner dhz_c1)")x, decompress $(x "$(inner dhz_dN)" "$(inner dhz_d1)")x)"
if [[ -n "${DHARMANA_BASELINE_CMD:-}" ]]; then
  echo "baseline scaling 1 -> $cores threads: compress $(x "${secs[base_c1]}" "${secs[base_cN]}")x, decompress $(x "${secs[base_d1]}" "${secs[base_dN]}")x (in-JVM: compress $(x "$(inner base_cN)" "$(inner base_c1)")x, decompress $(x "$(inner base_dN)" "$(inner base_d1)")x)"
  echo "dharmana/baseline speed: compress 1 thread $(x "${secs[base_c1]}" "${secs[dhz_c1]}")x, $cores threads $(x "${secs[base_cN]}" "${secs[dhz_cN]}")x; decompress 1 thread $(x "${secs[base_d1]}" "${secs[dhz_d1]}")x, $cores threads $(x "${secs[base_dN]}" "${secs[dhz_dN]}")x (wall clock)"
fi
echo "zstd scaling 1 -> $cores threads (physical yardstick): compress -3 $(x "${secs[zstd_c]}" "${secs[zstd_cN]}")x; decompress 1.00x (zstd -d is single-threaded)"
echo "ratio dharmana/zstd: $(x "$zst_size" "$dhz_size")x smaller"
