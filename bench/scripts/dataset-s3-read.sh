#!/usr/bin/env bash
# Streams a packed dataset from the S3 tier and compares it with the AWS CLI downloading the same
# shards, side by side in one run (issue 5: "streams samples from shards held in any tier").
#
# It generates SIZE_MB of resnet50-like samples (~115 KB, incompressible), packs them, starts the
# Dharmana gateway on loopback as the S3-compatible server, uploads the dataset with
# `aws s3 sync`, then takes turns for ROUNDS rounds:
#   - `aws s3 sync` of the dataset down to a fresh directory (the peer: parallel ranged GETs);
#   - `dharmana dataset read s3://...` (its default readers: 8 for an object store) in dataset order,
#     and shuffled (one ranged GET per sample);
#   - shuffled through a shard cache on local disk (`--cache`): a cold epoch fetches each shard once,
#     the next epoch reads the cache.
# Prints MB/s and the ratio to the AWS CLI. Client and server share this machine's cores.
#
# Usage: bench/scripts/dataset-s3-read.sh [SIZE_MB (default 440)] [ROUNDS (default 3)]
# Needs: the AWS CLI (apt-get install awscli), curl; the jar (mvn -q -B package -DskipTests).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SIZE_MB=${1:-440}
ROUNDS=${2:-3}
JAR="$ROOT/cli/target/dharmana.jar"
[[ -f "$JAR" ]] || { echo "missing $JAR: run mvn -q -B package -DskipTests" >&2; exit 2; }
command -v /usr/bin/aws > /dev/null || { echo "needs the AWS CLI: apt-get install awscli" >&2; exit 2; }
dh() { java -jar "$JAR" "$@"; }
W="$(mktemp -d "${TMPDIR:-/tmp}/dharmana-s3-read.XXXXXX")"
SERVER=""
cleanup() { [[ -n "$SERVER" ]] && kill "$SERVER" 2> /dev/null; rm -rf "$W"; }
trap cleanup EXIT
json_field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
mbps() { python3 -c "print(round($1 / 1e6 / ($3 - $2)))"; }

python3 - "$W/files" "$SIZE_MB" << 'PY'
import os, random, sys
out, size_mb = sys.argv[1], int(sys.argv[2])
rng = random.Random(5)
pool = os.urandom(16 << 20)  # incompressible bytes; samples are slices at random offsets
for i in range(size_mb * 10**6 // 115000):
    d = os.path.join(out, f"{i // 1000:03d}")
    os.makedirs(d, exist_ok=True)
    n = max(1, int(rng.gauss(115000, 11500)))
    off = rng.randrange(0, len(pool) - n)
    with open(os.path.join(d, f"{i:07d}.bin"), "wb") as f:
        f.write(pool[off:off + n])
PY
dh dataset pack "$W/ds" --from "$W/files" --shard-size 64MiB --no-progress
bytes=$(du -sb "$W/ds/shards" | cut -f1)

PORT=$(( 20000 + RANDOM % 20000 ))
# java itself in the background (not the dh function, whose subshell's pid would be killed, not the server's)
java -jar "$JAR" serve "$W/repo" --init --port "$PORT" > "$W/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 120); do curl -s -o /dev/null "http://127.0.0.1:$PORT/metrics" && break; sleep 0.5; done
read -r AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY < <(grep -v '^#' "$W/repo/gateway/credentials" | head -n 1)
export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true AWS_PAGER=""
ENDPOINT="http://127.0.0.1:$PORT"
aws() { /usr/bin/aws --endpoint-url "$ENDPOINT" "$@"; }
aws s3 mb s3://datasets > /dev/null
aws s3 sync "$W/ds" s3://datasets/ds --only-show-errors
echo "dataset: $(ls "$W/ds/shards" | wc -l) shards, $bytes bytes, in the gateway on $ENDPOINT; $(nproc) cores; $(date -u +%FT%TZ)"

read_mbps() { dh dataset read s3://datasets/ds --endpoint-url "$ENDPOINT" --batch 256 --json "$@" | json_field readMBps; }
for round in $(seq "$ROUNDS"); do
  rm -rf "$W/down"
  t0=$(date +%s.%N); aws s3 sync s3://datasets/ds "$W/down" --only-show-errors; t1=$(date +%s.%N)
  cli=$(mbps "$bytes" "$t0" "$t1")
  seq_=$(read_mbps)
  shuf=$(read_mbps --shuffle 7)
  rm -rf "$W/cache"
  cold=$(read_mbps --shuffle 7 --cache "$W/cache")
  warm=$(read_mbps --shuffle 7 --epoch 1 --cache "$W/cache")
  ratio() { python3 -c "print(f'{$1 / $cli:.2f}x')"; }
  echo "round $round: aws s3 sync down $cli MB/s | dharmana read: in order ${seq_%.*} MB/s ($(ratio "$seq_")), shuffled ${shuf%.*} ($(ratio "$shuf")), shuffled through a cold cache ${cold%.*} ($(ratio "$cold")), next epoch from the cache ${warm%.*} MB/s"
done
