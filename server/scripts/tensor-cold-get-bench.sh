#!/usr/bin/env bash
# A cold GET of a large tensor-coded checkpoint through the gateway: time to first byte and total
# time, two builds side by side in one run.
#
# A .safetensors object put into a bucket bound to a float-split pipeline is stored as a tensor
# file (.dhz) and decoded on read. A build that decodes the whole file before it sends a byte makes
# the first byte wait for the whole decode (and a client with a 60 s read timeout, as the AWS CLI
# and boto3 have by default, gives up on a large enough file); a build that streams sends each byte
# once it is decoded and verified. This generates a SIZE_MB F32 safetensors file (TENSORS tensors,
# weights-like values: one exponent byte of a few values, random mantissas), puts it once through
# `dharmana serve --init` (bucket "checkpoints", bound to the float-split pipeline init makes), then
# reads it ROUNDS times with each build, alternating which goes first: every read starts a fresh
# gateway process on the same repository, so the decode is cold (the repository's packs are in the
# page cache for both after the first read). The client is boto3 (read timeout 900 s): time to
# first byte is from the request until the first 64 KiB of the body are in; every read's SHA-256
# is compared with the file's. Prints each read, the medians and the ratios old / new.
#
# Usage: server/scripts/tensor-cold-get-bench.sh OLD_JAR NEW_JAR [SIZE_MB (default 1024)] [ROUNDS (default 3)]
#        (a jar: mvn -q -B -pl cli -am package -DskipTests, in a worktree of each build)
# Env:   TENSORS  how many F32 tensors the file holds (default 64)
#        CHAIN    delta links to read through (default 0): puts CHAIN more steps of the file, each
#                 with the low mantissa byte of every other tensor changed, so that each is coded as
#                 a delta against the step before, and reads the last (its cold read decodes them all)
#        DHARMANA_JAVA_OPTS  the gateways' JVM flags (default -Xmx4g)
# Needs: python3 with boto3 and numpy, curl. Client and server share this machine's cores.
set -euo pipefail
OLD_JAR=$(realpath "${1:?usage: $0 OLD_JAR NEW_JAR [SIZE_MB] [ROUNDS]}")
NEW_JAR=$(realpath "${2:?usage: $0 OLD_JAR NEW_JAR [SIZE_MB] [ROUNDS]}")
SIZE_MB=${3:-1024}
ROUNDS=${4:-3}
TENSORS=${TENSORS:-64}
CHAIN=${CHAIN:-0}
PY=python3
$PY -c 'import boto3, numpy' 2> /dev/null || { echo "needs python3 with boto3 and numpy" >&2; exit 2; }
W="$(mktemp -d "${TMPDIR:-/tmp}/dharmana-tensor-get.XXXXXX")"
SERVER=
stop() {
  if [[ -n "$SERVER" ]]; then
    kill "$SERVER" 2> /dev/null || true
    wait "$SERVER" 2> /dev/null || true
    SERVER=
  fi
}
trap 'stop; rm -rf "$W"' EXIT

# serve JAR [ARGS...]: starts a gateway of that build on the repository (java itself in the
# background, so that the pid kept is the gateway's) and sets PORT once it answers
serve() {
  local jar=$1
  shift
  PORT=$(( 20000 + RANDOM % 20000 ))
  java ${DHARMANA_JAVA_OPTS:--Xmx4g} -jar "$jar" serve "$W/repo" --port "$PORT" "$@" >> "$W/server.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 120); do curl -s -o /dev/null "http://127.0.0.1:$PORT/metrics" && break; sleep 0.5; done
  curl -s -o /dev/null "http://127.0.0.1:$PORT/metrics" || { cat "$W/server.log" >&2; exit 1; }
}

$PY - "$W/model.safetensors" "$SIZE_MB" "$TENSORS" "$CHAIN" << 'PY'
import json, struct, sys
import numpy as np
path, size_mb, tensors, chain = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
values = (size_mb << 20) // 4 // tensors
rng = np.random.default_rng(7)
header, offset = {}, 0
for t in range(tensors):
    header[f"layers.{t}.weight"] = {"dtype": "F32", "shape": [values], "data_offsets": [offset, offset + values * 4]}
    offset += values * 4
head = json.dumps(header, separators=(",", ":")).encode()
head += b" " * (-len(head) % 8)
with open(path, "wb") as f:
    f.write(struct.pack("<Q", len(head)) + head)
    for t in range(tensors):
        # weights-like: random mantissas, the sign and exponent of values around 0.01
        w = rng.integers(0, 1 << 23, size=values, dtype=np.uint32)
        w |= rng.choice(np.array([0x3c, 0x3c, 0x3c, 0x3b, 0xbc, 0xbc, 0xbc, 0xbb], dtype=np.uint32), size=values) << 24
        f.write(w.astype("<u4").tobytes())
# step k: step k-1 with the low mantissa byte of every other tensor changed (a training step's nudge)
start = 8 + len(head)
for k in range(1, chain + 1):
    data = np.fromfile(path if k == 1 else f"{path}.{k - 1}", dtype=np.uint8)
    for t in range(0, tensors, 2):
        data[start + t * values * 4:start + (t + 1) * values * 4:4] = rng.integers(0, 256, size=values, dtype=np.uint8)
    data.tofile(f"{path}.{k}")
PY
LAST="$W/model.safetensors"
(( CHAIN == 0 )) || LAST="$W/model.safetensors.$CHAIN"
SIZE=$(stat -c %s "$LAST")
SHA=$(sha256sum "$LAST" | cut -d' ' -f1)

serve "$NEW_JAR" --init
read -r KEY SECRET < <(grep -v '^#' "$W/repo/gateway/credentials" | head -n 1)
$PY - "http://127.0.0.1:$PORT" "$KEY" "$SECRET" "$W/model.safetensors" "$CHAIN" << 'PY'
import sys, time, boto3
from botocore.config import Config
endpoint, key, secret, path, chain = *sys.argv[1:5], int(sys.argv[5])
s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=key, aws_secret_access_key=secret,
                  region_name="us-east-1", config=Config(s3={"addressing_style": "path"}, read_timeout=900))
s3.create_bucket(Bucket="checkpoints")
for k in range(chain + 1):
    start = time.monotonic()
    s3.upload_file(path if k == 0 else f"{path}.{k}", "checkpoints", f"run/step-{k}/model.safetensors")
    coded = s3.head_object(Bucket="checkpoints", Key=f"run/step-{k}/model.safetensors")
    print(f"put step {k}: {coded['ContentLength'] / 1e6:.0f} MB in {time.monotonic() - start:.1f} s", flush=True)
PY
stop
echo "stored: $(du -sm "$W/repo/tiers" | cut -f1) MB of packs for $(( CHAIN + 1 )) step(s) of a ${SIZE} byte file"

# read BUILD JAR: one cold GET through a fresh gateway of that build; appends "build ttfb total" to results
read_once() {
  local build=$1 jar=$2
  serve "$jar"
  $PY - "http://127.0.0.1:$PORT" "$KEY" "$SECRET" "$SHA" "$build" "run/step-$CHAIN/model.safetensors" >> "$W/results" << 'PY'
import hashlib, sys, time, boto3
from botocore.config import Config
endpoint, key, secret, sha, build, name = sys.argv[1:7]
s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=key, aws_secret_access_key=secret,
                  region_name="us-east-1", config=Config(s3={"addressing_style": "path"}, read_timeout=900,
                                                         retries={"max_attempts": 1}))
digest = hashlib.sha256()
start = time.monotonic()
body = s3.get_object(Bucket="checkpoints", Key=name)["Body"]
first = body.read(64 << 10)
ttfb = time.monotonic() - start
digest.update(first)
for chunk in iter(lambda: body.read(1 << 20), b""):
    digest.update(chunk)
total = time.monotonic() - start
if digest.hexdigest() != sha:
    sys.exit(f"{build}: the bytes read differ from the file put")
print(build, f"{ttfb:.3f}", f"{total:.3f}")
PY
  stop
  tail -n 1 "$W/results" | awk '{ printf "%s  first byte %7.2f s  total %7.2f s\n", $1, $2, $3 }'
}

: > "$W/results"
for round in $(seq "$ROUNDS"); do
  if (( round % 2 )); then
    read_once old "$OLD_JAR"; read_once new "$NEW_JAR"
  else
    read_once new "$NEW_JAR"; read_once old "$OLD_JAR"
  fi
done
$PY - "$W/results" "$SIZE" << 'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
size = int(sys.argv[2])
med = {b: [statistics.median(float(r[i]) for r in rows if r[0] == b) for i in (1, 2)] for b in ("old", "new")}
for b in ("old", "new"):
    print(f"{b}: median first byte {med[b][0]:.2f} s, total {med[b][1]:.2f} s ({size / med[b][1] / 1e6:.0f} MB/s)")
print(f"first byte old/new: {med['old'][0] / med['new'][0]:.1f}x   total old/new: {med['old'][1] / med['new'][1]:.2f}x")
PY
