#!/usr/bin/env bash
# Drives the Dharmana S3 gateway with the real AWS CLI and boto3 (Debian's packages) and compares
# every byte: a 200 MiB multipart `aws s3 cp` both ways, checkpoint steps put one by one and synced
# as a directory (delta-coded either way), `aws s3 sync` of a directory tree both
# ways, a packed dataset streamed from the gateway by `dharmana dataset read s3://...` and by the
# Python reader (python/dharmana_dataset.py, boto3), `aws s3 ls`, a boto3 ranged GET, a presigned URL fetched with curl, and refusals of
# unsigned and wrongly signed requests. Self-contained: starts the gateway on a fresh repository,
# waits for its port, stops it at the end. Exits non-zero on any mismatch.
#
# Usage: server/scripts/awscli-test.sh            (from the repository root, after `mvn package`)
# Env:   DHARMANA_SERVE  command that serves REPO on PORT (both exported), default:
#                        java -jar cli/target/dharmana.jar serve --init "$REPO" --port "$PORT"
#        BIG_MIB         size of the multipart file (default 200)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
BIG_MIB="${BIG_MIB:-200}"

if [[ ! -x /usr/bin/aws ]] || ! /usr/bin/python3 -c 'import boto3, zstandard' 2>/dev/null; then
  echo "installing awscli, python3-boto3 and python3-zstandard from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq awscli python3-boto3 python3-zstandard >/dev/null
fi
AWS_BIN=/usr/bin/aws
PY=/usr/bin/python3

WORK="$(mktemp -d "${TMPDIR:-/tmp}/dharmana-awscli.XXXXXX")"
export REPO="$WORK/repo"
export PORT="${PORT:-$(( 20000 + RANDOM % 20000 ))}"
SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; [[ -f "$WORK/server.log" ]] && tail -n 30 "$WORK/server.log" >&2; exit 1; }
ok() { echo "ok   $*"; }

SERVE="${DHARMANA_SERVE:-java -jar $ROOT/cli/target/dharmana.jar serve --init \"\$REPO\" --port \"\$PORT\"}"
echo "starting: $SERVE (REPO=$REPO PORT=$PORT)"
bash -c "exec $SERVE" > "$WORK/server.log" 2>&1 &
SERVER_PID=$!
for i in $(seq 1 120); do
  if curl -s -o /dev/null "http://127.0.0.1:$PORT/metrics"; then break; fi
  kill -0 "$SERVER_PID" 2>/dev/null || fail "the gateway exited during start"
  sleep 0.5
done
curl -s -o /dev/null "http://127.0.0.1:$PORT/metrics" || fail "the gateway did not open port $PORT"
ok "gateway up on port $PORT"

CRED="$REPO/gateway/credentials"
if [[ -n "${AWS_ACCESS_KEY_ID:-}" && ! -f "$CRED" ]]; then
  ok "using AWS_ACCESS_KEY_ID from the environment"
else
  [[ -f "$CRED" ]] || fail "no credentials file at $CRED"
  perms="$(stat -c %a "$CRED")"
  [[ "$perms" == "600" ]] || fail "credentials file has permissions $perms, expected 600"
  ok "credentials generated with owner-only permissions"
  read -r AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY < <(grep -v '^#' "$CRED" | head -n 1)
  export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
  grep -q "$AWS_ACCESS_KEY_ID" "$WORK/server.log" || fail "the generated access key was not printed"
fi
export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true AWS_PAGER=""
ENDPOINT="http://127.0.0.1:$PORT"
aws() { "$AWS_BIN" --endpoint-url "$ENDPOINT" "$@"; }

aws s3 mb s3://checkpoints >/dev/null || fail "make bucket checkpoints"
aws s3 mb s3://datasets >/dev/null || fail "make bucket datasets"
ok "buckets created"

# 200 MiB: half random, half repetitive, so the pipeline has something to compress
head -c $(( BIG_MIB * 1024 * 1024 / 2 )) /dev/urandom > "$WORK/big.bin"
head -c $(( BIG_MIB * 1024 * 1024 - BIG_MIB * 1024 * 1024 / 2 )) < <(yes "dharmana gateway test line with some repetition 0123456789") >> "$WORK/big.bin"
start=$(date +%s.%N)
aws s3 cp "$WORK/big.bin" s3://checkpoints/run-1/big.bin --only-show-errors || fail "aws s3 cp upload"
mid=$(date +%s.%N)
aws s3 cp s3://checkpoints/run-1/big.bin "$WORK/big.back" --only-show-errors || fail "aws s3 cp download"
end=$(date +%s.%N)
cmp "$WORK/big.bin" "$WORK/big.back" || fail "200 MiB object differs after the round trip"
etag="$(aws s3api head-object --bucket checkpoints --key run-1/big.bin --query ETag --output text)"
[[ "$etag" == *-* ]] || fail "multipart ETag '$etag' lacks the -N part count"
ok "aws s3 cp ${BIG_MIB} MiB multipart round trip identical (ETag $etag; up $(echo "$mid - $start" | bc) s, down $(echo "$end - $mid" | bc) s)"

# Checkpoints (issue 7's checkpoints bucket): `serve --init` binds the bucket checkpoints to a
# float-coding pipeline, so each .safetensors object is stored float-coded and delta-coded against
# the previous step's. Two steps of a generated 8 MiB model, half its layers frozen: uploaded and
# downloaded with multipart and ranged GETs; the second must be stored in far fewer bytes.
"$PY" - "$WORK" <<'PYEOF' || fail "generate safetensors checkpoints"
import array, json, os, random, struct, sys
def weights(rnd):
    return array.array("f", (rnd.gauss(0, 0.02) for _ in range(256 * 1024)))
layers = [(weights(random.Random(7 + layer)), random.Random(1000 + layer)) for layer in range(8)]
def write(path):
    tensors, data = {}, b""
    for layer, (w, _) in enumerate(layers):
        raw = w.tobytes()
        tensors[f"layers.{layer}.weight"] = {"dtype": "F32", "shape": [512, 512], "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    header = json.dumps(tensors, separators=(",", ":")).encode()
    header += b" " * (-len(header) % 8)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header + data)
for step in range(1, 7):
    for layer, (w, upd) in enumerate(layers):
        if layer % 2 == 0:  # trained layers move a little each step; odd layers are frozen
            for i in range(len(w)):
                w[i] -= 1e-5 * upd.gauss(0, 1)
    # steps 1-2 are put one by one, 3-6 synced as a directory
    write(f"{sys.argv[1]}/step-{step}.safetensors" if step <= 2 else f"{sys.argv[1]}/steps/step-{step}/model.safetensors")
PYEOF
stored_bytes() { curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^dharmana_pipeline_stored_bytes_total\{.*bucket="checkpoints"/ {s += $2} END {printf "%d", s}'; }
before="$(stored_bytes)"
stored=()
for step in 1 2; do
  aws s3 cp "$WORK/step-$step.safetensors" "s3://checkpoints/run-1/step-$step/model.safetensors" --only-show-errors || fail "aws s3 cp checkpoint step $step"
  now="$(stored_bytes)"; stored+=( $(( now - before )) ); before="$now"
  aws s3 cp "s3://checkpoints/run-1/step-$step/model.safetensors" "$WORK/step-$step.back" --only-show-errors || fail "aws s3 cp download of step $step"
  cmp "$WORK/step-$step.safetensors" "$WORK/step-$step.back" || fail "checkpoint step $step differs after the round trip"
done
size="$(stat -c %s "$WORK/step-2.safetensors")"
(( stored[1] * 10 < stored[0] * 6 )) || fail "step 2 stored ${stored[1]} bytes, step 1 ${stored[0]}: no delta coding"
ok "checkpoints bucket: two $size-byte safetensors steps round trip identical; stored ${stored[0]} then ${stored[1]} bytes (delta against step 1)"
# `aws s3 sync` sends a directory's steps at once (10 requests at a time): the gateway codes them one
# after the other, each against the one before, so only the first is stored whole
before="$(stored_bytes)"
aws s3 sync "$WORK/steps" s3://checkpoints/synced --only-show-errors || fail "aws s3 sync of checkpoint steps"
synced=$(( $(stored_bytes) - before ))
(( synced * 10 < stored[0] * 30 )) || fail "4 synced steps stored $synced bytes, one step whole ${stored[0]}: not delta-coded against each other"
aws s3 sync s3://checkpoints/synced "$WORK/steps.back" --only-show-errors || fail "aws s3 sync of checkpoint steps down"
diff -r "$WORK/steps" "$WORK/steps.back" || fail "synced checkpoint steps differ"
ok "aws s3 sync of 4 checkpoint steps at once: identical both ways, stored $synced bytes ($(( synced * 100 / (4 * stored[0]) ))% of 4 steps whole)"

mkdir -p "$WORK/tree/a/b" "$WORK/tree/c" "$WORK/tree/empty-ish"
for i in $(seq 1 40); do
  head -c $(( (i * 7919) % 300000 + 1 )) /dev/urandom > "$WORK/tree/a/file-$i.bin"
done
for i in $(seq 1 10); do echo "text $i" > "$WORK/tree/a/b/t $i.txt"; done
head -c 9000000 /dev/urandom > "$WORK/tree/c/nine-mib.bin"
: > "$WORK/tree/empty-ish/zero-bytes"
aws s3 sync "$WORK/tree" s3://datasets/tree --only-show-errors || fail "aws s3 sync up"
aws s3 sync s3://datasets/tree "$WORK/tree.back" --only-show-errors || fail "aws s3 sync down"
diff -r "$WORK/tree" "$WORK/tree.back" || fail "synced tree differs"
again="$(aws s3 sync "$WORK/tree" s3://datasets/tree --dryrun)"
[[ -z "$again" ]] || fail "a second sync wants to upload again: $again"
ok "aws s3 sync of $(find "$WORK/tree" -type f | wc -l) files both ways identical; re-sync is a no-op"

# Datasets in the object tier (issue 5): packed straight into the gateway, or packed on disk and
# uploaded with `aws s3 sync`; either way the data loader streams them from s3:// (ranged GETs, or
# through a shard cache on local disk) and unpacks them byte-identical.
DH=(java -jar "$ROOT/cli/target/dharmana.jar" dataset)
S3=(--endpoint-url "$ENDPOINT")
files="$(find "$WORK/tree" -type f | wc -l)"
json_field() { "$PY" -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
"${DH[@]}" pack s3://datasets/packed "${S3[@]}" --from "$WORK/tree" --shard-size 1MiB --stage zstd:level=3 --no-progress > /dev/null \
  || fail "dataset pack into s3://datasets/packed"
aws s3 ls s3://datasets/packed/index.json > /dev/null || fail "the packed dataset's index is not in the bucket"
read_json="$("${DH[@]}" read s3://datasets/packed "${S3[@]}" --batch 8 --shuffle 3 --json)" || fail "dataset read s3://datasets/packed"
[[ "$(json_field samples <<< "$read_json")" == "$files" ]] || fail "dataset read from s3 handed out $(json_field samples <<< "$read_json") of $files samples"
[[ "$(json_field readers <<< "$read_json")" == 8 ]] || fail "dataset read from s3 ran $(json_field readers <<< "$read_json") readers, not the object store's default 8"
"${DH[@]}" unpack s3://datasets/packed "$WORK/unpacked" "${S3[@]}" > /dev/null || fail "dataset unpack s3://datasets/packed"
diff -r "$WORK/tree" "$WORK/unpacked" || fail "the dataset unpacked from s3 differs from its files"
"${DH[@]}" pack "$WORK/local-ds" --from "$WORK/tree" --shard-size 1MiB --no-progress > /dev/null || fail "dataset pack to disk"
aws s3 sync "$WORK/local-ds" s3://datasets/synced --only-show-errors || fail "aws s3 sync of a packed dataset"
shards="$(find "$WORK/local-ds/shards" -type f | wc -l)"
for epoch in 0 1; do
  read_json="$("${DH[@]}" read s3://datasets/synced "${S3[@]}" --batch 8 --shuffle 5 --epoch $epoch --cache "$WORK/shard-cache" --json)" \
    || fail "dataset read s3://datasets/synced through a cache"
  [[ "$(json_field samples <<< "$read_json")" == "$files" ]] || fail "epoch $epoch from the cache handed out the wrong count"
done
[[ "$(find "$WORK/shard-cache/shards" -type f | wc -l)" == "$shards" ]] || fail "the shard cache does not hold the $shards shards"
[[ "$(json_field cacheMisses <<< "$read_json")" == 0 ]] || fail "the second epoch missed the cache: $read_json"
code=0; "${DH[@]}" read s3://datasets/nothing-here "${S3[@]}" > "$WORK/missing.out" 2>&1 || code=$?
[[ "$code" == 3 ]] && grep -q 'no index.json' "$WORK/missing.out" || fail "reading a missing s3 dataset gave exit $code: $(cat "$WORK/missing.out")"
ok "datasets on s3: packed into the gateway, read shuffled ($files samples), unpacked identical; synced with aws s3 sync and read through a $shards-shard cache"

# Python training code reads the same datasets with python/dharmana_dataset.py through boto3
READER="$ROOT/python/dharmana_dataset.py"
items() { "$PY" -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["items"]))'; }
local_items="$("$PY" "$READER" "$WORK/local-ds" --json | items)" || fail "the Python reader on $WORK/local-ds"
for ds in synced packed; do
  s3_items="$("$PY" "$READER" "s3://datasets/$ds" --endpoint-url "$ENDPOINT" --json | items)" || fail "the Python reader on s3://datasets/$ds"
  [[ "$s3_items" == "$local_items" ]] || fail "the Python reader read s3://datasets/$ds differently from the dataset on disk"
done
ok "python/dharmana_dataset.py reads s3://datasets/synced and s3://datasets/packed (zstd) through boto3: $files samples, each as on disk"

listed="$(aws s3 ls s3://datasets/tree/ --recursive | wc -l)"
[[ "$listed" == "$(find "$WORK/tree" -type f | wc -l)" ]] || fail "aws s3 ls lists $listed objects"
buckets="$(aws s3 ls)"
grep -q checkpoints <<< "$buckets" || fail "aws s3 ls does not list the bucket checkpoints"
top="$(aws s3 ls s3://datasets/tree/)"
grep -q "PRE a/" <<< "$top" || fail "aws s3 ls shows no common prefix a/: $top"
ok "aws s3 ls (buckets, recursive, with prefixes)"

"$PY" - "$ENDPOINT" "$WORK/big.bin" "$WORK/presigned.url" <<'PYEOF' || fail "boto3 checks"
import random, sys, boto3
from botocore.config import Config
endpoint, local, url_file = sys.argv[1], sys.argv[2], sys.argv[3]
s3 = boto3.client("s3", endpoint_url=endpoint, config=Config(s3={"addressing_style": "path"}))
data = open(local, "rb").read()
rnd = random.Random(1234)
for i in range(20):
    a = rnd.randrange(len(data)); b = min(len(data) - 1, a + rnd.randrange(4 << 20))
    got = s3.get_object(Bucket="checkpoints", Key="run-1/big.bin", Range=f"bytes={a}-{b}")["Body"].read()
    assert got == data[a:b + 1], f"seed 1234: range {a}-{b} differs"
s3.put_object(Bucket="datasets", Key="boto/one", Body=b"x" * 1000, Metadata={"k": "v"})
head = s3.head_object(Bucket="datasets", Key="boto/one")
assert head["ContentLength"] == 1000 and head["Metadata"] == {"k": "v"}, head
pages = s3.get_paginator("list_objects_v2").paginate(Bucket="datasets", Prefix="tree/", PaginationConfig={"PageSize": 7})
keys = [o["Key"] for p in pages for o in p.get("Contents", [])]
assert keys == sorted(keys) and len(keys) == len(set(keys)), "paginated listing out of order or repeated"
open(url_file, "w").write(s3.generate_presigned_url("get_object", Params={"Bucket": "checkpoints", "Key": "run-1/big.bin"}, ExpiresIn=600))
print("ok   boto3: 20 ranged GETs identical (seed 1234), metadata, paginated listing of", len(keys), "keys")
PYEOF

curl -sf -o "$WORK/presigned.bin" "$(cat "$WORK/presigned.url")" || fail "curl of a presigned URL"
cmp "$WORK/big.bin" "$WORK/presigned.bin" || fail "presigned download differs"
ok "presigned URL fetched with curl is identical"

code="$(curl -s -o "$WORK/anon.xml" -w '%{http_code}' "$ENDPOINT/checkpoints/run-1/big.bin")"
[[ "$code" == 403 ]] && grep -q '<Code>AccessDenied</Code>' "$WORK/anon.xml" || fail "unsigned GET got $code"
code="$(curl -s -o "$WORK/tampered.xml" -w '%{http_code}' "$(sed 's/big\.bin/big.bim/' "$WORK/presigned.url")")"
[[ "$code" == 403 ]] && grep -q '<Code>SignatureDoesNotMatch</Code>' "$WORK/tampered.xml" || fail "tampered presigned URL got $code"
if AWS_SECRET_ACCESS_KEY="wrong$AWS_SECRET_ACCESS_KEY" aws s3 ls s3://checkpoints >/dev/null 2>&1; then
  fail "a wrongly signed request was served"
fi
ok "unsigned, tampered and wrongly signed requests refused with 403"

# captured first: with pipefail, `curl | grep -q` fails when grep stops reading early
metrics="$(curl -sf "$ENDPOINT/metrics")" || fail "/metrics not served"
grep -q 'dharmana_gateway_requests_seconds_count' <<< "$metrics" || fail "/metrics lacks request metrics"
page="$(curl -sf "$ENDPOINT/dashboard")" || fail "/dashboard not served"
grep -q 'Dharmana gateway' <<< "$page" || fail "/dashboard is not the dashboard"
ok "/metrics and /dashboard served"
if command -v chromium >/dev/null 2>&1; then
  dom="$(timeout 120 chromium --headless --no-sandbox --disable-gpu --virtual-time-budget=5000 --dump-dom "$ENDPOINT/dashboard" 2>/dev/null || true)"
  grep -q '<td>checkpoints</td>' <<< "$dom" || fail "the dashboard rendered in chromium shows no row for bucket checkpoints"
  ok "dashboard renders its bucket rows in headless chromium"
fi
# a clean stop records the gateway's work in the repository's history, where stat and report read runs
kill "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=""
java -jar "$ROOT/cli/target/dharmana.jar" stat "$REPO" --json --runs 20 > "$WORK/stat.json" || fail "stat after the gateway stopped"
$PY - "$WORK/stat.json" "$BIG_MIB" <<'PYEOF' || fail "the stopped gateway's runs are not in the history"
import json, sys
runs = json.load(open(sys.argv[1]))["recentRuns"]
served = {r["pipeline"]: r for r in runs if r["operation"].startswith("serve ")}
assert {"checkpoints", "default"} <= set(served), [(r["operation"], r["pipeline"]) for r in runs]
written = sum(r["counters"].get("bytes.logical", 0) for r in served.values())
assert written > int(sys.argv[2]) << 20, [r["counters"] for r in served.values()]
PYEOF
java -jar "$ROOT/cli/target/dharmana.jar" report "$REPO" > "$WORK/report.txt" || fail "report after the gateway stopped"
grep -q 'serve http://' "$WORK/report.txt" || { cat "$WORK/report.txt" >&2; fail "report does not analyze the gateway's run"; }
ok "a clean stop records the gateway's work per pipeline: stat and report show it"
echo "PASS awscli-test"
