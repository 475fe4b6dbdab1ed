#!/usr/bin/env bash
# float-split with dtype: auto, before and after: `dharmana put` of two files into a repository
# whose pipeline is the gateway's `checkpoints` pipeline (cdc 256K/1M/4M on whole fp32 values +
# float-split, as `serve --init` makes it) and into a zstd-3 pipeline with the same chunking, by an
# older build (OLD) and this one (NEW), taking turns for ROUNDS rounds. Prints the median seconds,
# the stored ratio (input bytes / unique stored bytes) and new/old side by side.
#
#   mixed.bin   200 MiB: 100 MiB of random bytes, then 100 MiB of text (Zipf-distributed words
#               and JSON log lines): what users put beside checkpoints that is not floats
#   floats.bin  >= 200 MB of the corpus' tensor data (fp32 weights, Adam moments, bf16 weights),
#               copied with each copy's noise bits (the low mantissa byte of fp32, the low two
#               mantissa bits of bf16) redrawn, so copies neither deduplicate nor change character
#
# Usage: bench/scripts/float-split-auto.sh OLD_TREE [WORKDIR]
#   OLD_TREE  a checkout of the older code with cli/target/dharmana.jar built in it, e.g.
#             git clone /work/main /tmp/old && (cd /tmp/old && mvn -o -q -B package -DskipTests)
#   WORKDIR   scratch directory (default: a fresh temp dir; removed at the end unless KEEP=1)
#   ROUNDS    rounds (default 3); DHARMANA_CORPUS: the corpus directory (default ../shared/corpus)
# This tree's jar is built (offline) if missing or older than a source file.
set -euo pipefail
new_tree=$(cd "$(dirname "$0")/../.." && pwd)
old_tree=$(cd "${1:?usage: float-split-auto.sh OLD_TREE [WORKDIR]}" && pwd)
work=${2:-$(mktemp -d /tmp/float-split-auto.XXXXXX)}
rounds=${ROUNDS:-3}
corpus=${DHARMANA_CORPUS:-$new_tree/../shared/corpus}
mkdir -p "$work"
cleanup() { [[ "${KEEP:-0}" == 1 ]] || rm -rf "$work"; }
trap cleanup EXIT

[[ -f "$old_tree/cli/target/dharmana.jar" ]] || { echo "no $old_tree/cli/target/dharmana.jar: build it first" >&2; exit 1; }
if [[ ! -f "$new_tree/cli/target/dharmana.jar" ]] || [[ -n "$(find "$new_tree" -path "$new_tree/*/target" -prune -o \
    -path "$new_tree/.git" -prune -o -name '*.java' -newer "$new_tree/cli/target/dharmana.jar" -print -quit)" ]]; then
  (cd "$new_tree" && nice -n 19 mvn -o -q -B -pl cli -am package -DskipTests) >&2
fi
# the launcher dumps its class-data archive on its first run after a build: not in a timed run
"$old_tree/dharmana" --version > /dev/null
"$new_tree/dharmana" --version > /dev/null

# the inputs are the same on every run (seeded): a kept WORKDIR keeps them
[[ -f "$work/mixed.bin" && -f "$work/floats.bin" ]] || { echo "generating inputs in $work ..." >&2
python3 - "$work" "$corpus/checkpoints" <<'PY'
import json, os, struct, sys
import numpy as np
work, corpus = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(20)
half = 100 << 20
with open(os.path.join(work, "mixed.bin.tmp"), "wb") as f:
    f.write(rng.integers(0, 256, half, dtype=np.uint8).tobytes())
    words = ["".join(chr(97 + c) for c in rng.integers(0, 26, rng.integers(2, 10))) for _ in range(4000)]
    out, size = [], 0
    while size < half:
        n = 20000
        idx = (rng.random(n) ** 3 * len(words)).astype(int)
        line = []
        for k, i in enumerate(idx):
            if k % 50 == 0:
                line.append('{"step": %d, "loss": %.6f, "lr": %.3e, "msg": "%s"}\n'
                            % (rng.integers(1_000_000), rng.random() * 3, rng.random() * 1e-3, words[i % 50]))
            line.append(words[i] + ("\n" if k % 13 == 0 else " "))
        s = "".join(line).encode()
        out.append(s)
        size += len(s)
    f.write(b"".join(out)[:half])

def tensors(name):
    b = open(os.path.join(corpus, name), "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    return np.frombuffer(b[8 + n:], dtype=np.uint8)

parts = [(tensors(n), 4) for n in ["w_step2000.safetensors", "w_step2200.safetensors", "adam_m_step2000.safetensors",
                                   "adam_v_step2000.safetensors"]] + [(tensors("w_step2000_bf16.safetensors"), 2)]
written = 0
with open(os.path.join(work, "floats.bin.tmp"), "wb") as f:
    while written < 200_000_000:
        for data, size in parts:
            copy = data.copy()
            if size == 4:
                copy[0::4] = rng.integers(0, 256, len(copy) // 4, dtype=np.uint8)
            else:
                copy[0::2] ^= rng.integers(0, 4, len(copy) // 2, dtype=np.uint8)
            f.write(copy.tobytes())
            written += len(copy)
for name in ("mixed.bin", "floats.bin"):
    os.replace(os.path.join(work, name + ".tmp"), os.path.join(work, name))
PY
}

for pipeline in checkpoints zstd; do
  stage=$([[ $pipeline == zstd ]] && echo "- zstd: {level: 3}" || echo "- float-split: {}")
  cat > "$work/$pipeline.yaml" <<YAML
name: $pipeline
storage:
  chunking: {kind: cdc, min: 256KiB, avg: 1MiB, max: 4MiB, align: 4}
  stages:
    $stage
YAML
done

# seconds a command takes, its output dropped
t() { local s e; s=$(date +%s.%N); "$@" > /dev/null; e=$(date +%s.%N); python3 -c "print(f'{$e-$s:.3f}')"; }
declare -A secs stored
for round in $(seq "$rounds"); do
  for file in mixed floats; do
    for pipeline in checkpoints zstd; do
      for build in old new; do
        tree=$([[ $build == old ]] && echo "$old_tree" || echo "$new_tree")
        repo="$work/repo-$build"
        rm -rf "$repo" && "$tree/dharmana" init "$repo" --pipeline "$work/$pipeline.yaml" > /dev/null
        key="$file $pipeline $build"
        secs[$key]+="$(t "$tree/dharmana" put "$repo" obj "$work/$file.bin" --no-progress) "
        stored[$key]=$("$tree/dharmana" stat "$repo" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['stats']['uniqueStoredBytes'])")
        rm -rf "$repo"
      done
    done
  done
done

median() { printf '%s\n' $1 | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo
echo "dharmana put, $rounds alternating rounds, median seconds; ratio = input bytes / unique stored bytes"
printf "%-8s %-12s %10s %10s %8s %10s %10s\n" file pipeline "old s" "new s" "old/new" "old ratio" "new ratio"
for file in mixed floats; do
  size=$(stat -c %s "$work/$file.bin")
  for pipeline in checkpoints zstd; do
    o=$(median "${secs[$file $pipeline old]}"); n=$(median "${secs[$file $pipeline new]}")
    python3 -c "print(f'%-8s %-12s %10.2f %10.2f %7.2fx %10.3f %10.3f' % ('$file', '$pipeline', $o, $n, $o / $n,
        $size / ${stored[$file $pipeline old]}, $size / ${stored[$file $pipeline new]}))"
    echo "         runs: old ${secs[$file $pipeline old]}| new ${secs[$file $pipeline new]}"
  done
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
