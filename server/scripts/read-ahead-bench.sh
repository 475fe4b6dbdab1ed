#!/usr/bin/env bash
# The gateway's read-ahead for sequential readers, on and off, side by side in one run.
#
# A data loader reads a large object as a sequence of ranged GETs and works on each range before it
# asks for the next (decodes it; here: hashes it). Without read-ahead every GET starts cold on the
# gateway (fetch, verify and decode of its chunks); with it, the gateway reads the next ranges while
# the client works. This starts `dharmana serve --init` on a fresh repository with two buckets: one
# bound to the default pipeline (cdc + zstd 3; storage.cache as `init` writes it: prefetch 8,
# threads one per core, memory 256 MiB) and one bound to a copy of that pipeline whose cache memory
# is 0 (read-ahead off: the only difference). The same SIZE_MB object goes into both (deduplicated:
# the same chunks on disk), then a boto3 client reads it from each bucket in turns, ROUNDS rounds
# alternating the order, as sequential RANGE_MIB ranged GETs, hashing each range PASSES times with
# SHA-256 (and once more for the whole object's check). Prints MB/s of each read, the medians and their ratio, and the gateway's read-ahead hits.
# Every read's SHA-256 is compared with the object's. Client and server share this machine's cores.
#
# Usage: server/scripts/read-ahead-bench.sh [SIZE_MB (default 256)] [ROUNDS (default 5)]
# Env:   RANGE_MIB   length of each ranged GET (default 8)
#        PASSES      SHA-256 passes over each range: the client's work per range (default 1)
#        PIPELINE    default (cdc + zstd 3) or checkpoints (float-split, as serve --init makes it)
#        TIER        local (default: the repository on this disk) or remote (its only tier a bucket of a
#                    second gateway on loopback, as a repository kept in S3; PIPELINE default only)
#        COMPUTE_MS  milliseconds the client also sleeps per range (default 0): work that leaves this
#                    machine's cores free, as an accelerator's step does (MLPerf Storage emulates it so)
#        DHARMANA_JAVA_OPTS  the gateway's JVM flags, as for ./dharmana (default -Xmx4g)
# Needs: python3 with boto3 (apt-get install python3-boto3), curl; the jar
#        (mvn -q -B -pl cli -am package -DskipTests).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SIZE_MB=${1:-256}
ROUNDS=${2:-5}
RANGE_MIB=${RANGE_MIB:-8}
COMPUTE_MS=${COMPUTE_MS:-0}
PIPELINE=${PIPELINE:-default}
TIER=${TIER:-local}
[[ "$TIER" == local || "$TIER" == remote ]] || { echo "Invalid TIER '$TIER': local or remote" >&2; exit 2; }
[[ "$TIER" == local || "$PIPELINE" == default ]] || { echo "Invalid PIPELINE '$PIPELINE' with TIER=remote: default only" >&2; exit 2; }
[[ "$PIPELINE" == default || "$PIPELINE" == checkpoints ]] || { echo "Invalid PIPELINE '$PIPELINE': default or checkpoints" >&2; exit 2; }
PASSES=${PASSES:-1}
JAR="$ROOT/cli/target/dharmana.jar"
[[ -f "$JAR" ]] || { echo "missing $JAR: run mvn -q -B -pl cli -am package -DskipTests" >&2; exit 2; }
PY=python3
$PY -c 'import boto3' 2> /dev/null || PY=/usr/bin/python3
$PY -c 'import boto3' 2> /dev/null || { echo "needs boto3: apt-get install python3-boto3" >&2; exit 2; }
W="$(mktemp -d "${TMPDIR:-/tmp}/dharmana-read-ahead.XXXXXX")"
SERVERS=()
cleanup() {
  for pid in "${SERVERS[@]}"; do
    kill "$pid" 2> /dev/null || true
    wait "$pid" 2> /dev/null || true
  done
  rm -rf "$W"
}
trap cleanup EXIT

# serve REPO LOG [ARGS...]: starts a gateway on a free port (java itself in the background, so that
# the pid kept is the gateway's) and sets PORT once it answers
serve() {
  local repo=$1 log=$2
  shift 2
  PORT=$(( 20000 + RANDOM % 20000 ))
  java ${DHARMANA_JAVA_OPTS:--Xmx4g} -jar "$JAR" serve "$repo" --port "$PORT" "$@" > "$log" 2>&1 &
  SERVERS+=($!)
  for _ in $(seq 120); do curl -s -o /dev/null "http://127.0.0.1:$PORT/metrics" && break; sleep 0.5; done
  curl -s -o /dev/null "http://127.0.0.1:$PORT/metrics" || { cat "$log" >&2; exit 1; }
}
first_key() { grep -v '^#' "$1/gateway/credentials" | head -n 1; }

if [[ "$TIER" == remote ]]; then
  # the repository's only tier is a bucket of a second gateway (its own repository, zstd on local
  # disk): every chunk read is a ranged GET over loopback, as with a repository kept in S3
  serve "$W/store" "$W/store.log" --init
  read -r TIER_KEY TIER_SECRET < <(first_key "$W/store")
  export TIER_KEY TIER_SECRET
  $PY -c 'import boto3, sys; boto3.client("s3", endpoint_url=sys.argv[1], aws_access_key_id=sys.argv[2],
      aws_secret_access_key=sys.argv[3], region_name="us-east-1").create_bucket(Bucket="tier")' \
    "http://127.0.0.1:$PORT" "$TIER_KEY" "$TIER_SECRET"
  cat > "$W/default.yaml" << YAML
name: default
storage:
  stages:
    - zstd: {level: 3}
  tiers:
    - name: remote
      kind: s3
      location: s3://tier/repo
      options: {endpoint: "http://127.0.0.1:$PORT", region: us-east-1, pathStyle: "true", accessKeyEnv: TIER_KEY, secretKeyEnv: TIER_SECRET}
  placement: {writeTier: remote, writeMode: through, promoteOnRead: false}
YAML
  java -jar "$JAR" init "$W/repo" --pipeline "$W/default.yaml" > /dev/null
  serve "$W/repo" "$W/server.log"
else
  serve "$W/repo" "$W/server.log" --init
fi
# a copy of the pipeline with read-ahead off; a bucket created by a client binds to the
# pipeline of its own name (read at its first use: no restart needed)
descriptor="$W/repo/dharmana.yaml"
[[ "$PIPELINE" == default ]] || descriptor="$W/repo/pipelines/$PIPELINE.yaml"
sed -e 's/^name: .*/name: no-read-ahead/' -e 's/^\(    memory:\) .*/\1 0B/' "$descriptor" > "$W/no-read-ahead.yaml"
mkdir -p "$W/repo/pipelines"
mv "$W/no-read-ahead.yaml" "$W/repo/pipelines/no-read-ahead.yaml"
grep -q '^    memory: 0B' "$W/repo/pipelines/no-read-ahead.yaml" || { echo "cannot turn read-ahead off in the copy" >&2; exit 1; }
read -r KEY SECRET < <(first_key "$W/repo")

$PY - "http://127.0.0.1:$PORT" "$KEY" "$SECRET" "$SIZE_MB" "$ROUNDS" "$RANGE_MIB" "$PASSES" "$COMPUTE_MS" "$PIPELINE" << 'PY'
import hashlib, os, random, re, statistics, sys, time, urllib.request
import boto3
from botocore.config import Config

endpoint, key, secret = sys.argv[1:4]
size_mb, rounds, range_mib, passes, compute_ms = (int(a) for a in sys.argv[4:9])
pipeline = sys.argv[9]
s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=key, aws_secret_access_key=secret,
                  region_name="us-east-1", config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))

# weights-like bytes: random low halves, a skewed few values in the high halves (zstd: about 1.3x)
size = size_mb << 20
rng = random.Random(7)
table = bytes(rng.choices(range(0x38, 0x48), weights=[1, 2, 4, 8, 16, 32, 64, 128, 128, 64, 32, 16, 8, 4, 2, 1], k=1 << 16))
data = bytearray(size)
data[0::2] = os.urandom(size // 2)
data[1::2] = (table * (size // 2 // len(table) + 1))[: size // 2]
data = bytes(data)
want = hashlib.sha256(data).hexdigest()
buckets = {"on": pipeline, "off": "no-read-ahead"}  # each bound to the pipeline of its name
for bucket in buckets.values():
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="shard-0", Body=data)
del data

def read(bucket):
    """The object as sequential ranged GETs, each range hashed before the next is asked for."""
    whole = hashlib.sha256()
    step = range_mib << 20
    start = time.perf_counter()
    for offset in range(0, size, step):
        last = min(offset + step, size) - 1
        body = s3.get_object(Bucket=bucket, Key="shard-0", Range=f"bytes={offset}-{last}")["Body"].read()
        if len(body) != last - offset + 1:
            raise SystemExit(f"FAIL: {bucket} at {offset}: {len(body)} bytes")
        for _ in range(passes):  # the client's work on the range (a data loader's decode)
            hashlib.sha256(body).digest()
        if compute_ms:
            time.sleep(compute_ms / 1000)
        whole.update(body)
    seconds = time.perf_counter() - start
    if whole.hexdigest() != want:
        raise SystemExit(f"FAIL: {bucket}: the bytes read differ from the object's")
    return size / 1e6 / seconds

def readahead(name):
    text = urllib.request.urlopen(endpoint + "/metrics").read().decode()
    m = re.search(r'^dharmana_gateway_readahead_%s\{pipeline="%s"\} (\S+)' % (name, pipeline), text, re.M)
    return float(m.group(1)) if m else 0.0

print(f"object: {size_mb} MiB through pipeline {pipeline} ({os.environ.get('TIER', 'local')} tier), read as {range_mib} MiB ranged GETs, {passes} SHA-256 pass(es)"
      f"{f' and {compute_ms} ms of sleep' if compute_ms else ''} each;"
      f" {os.cpu_count()} cores; {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}")
read(buckets["on"]), read(buckets["off"])  # warm-up (JIT, page cache), not counted
hits_before = readahead("hits_total")
results = {"on": [], "off": []}
for r in range(rounds):
    order = ["on", "off"] if r % 2 == 0 else ["off", "on"]
    line = []
    for which in order:
        mbps = read(buckets[which])
        results[which].append(mbps)
        line.append(f"read-ahead {which:3s} {mbps:7.1f} MB/s")
    print(f"round {r + 1}: " + "   ".join(line))
on, off = statistics.median(results["on"]), statistics.median(results["off"])
ranges = rounds * -(-size // (range_mib << 20))
print(f"median: read-ahead on {on:.1f} MB/s, off {off:.1f} MB/s, ratio on/off {on / off:.2f}x")
print(f"read-ahead hits: {readahead('hits_total') - hits_before:.0f} of {ranges} ranged GETs in the measured on-reads;"
      f" wasted {readahead('wasted_bytes_total') / 1e6:.0f} MB; peak held {readahead('peak_bytes') / 2**20:.0f} MiB")
PY
