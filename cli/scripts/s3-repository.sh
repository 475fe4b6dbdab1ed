# Sourced by scripts that need a repository whose lower tier is S3 on a real endpoint, with no S3
# server installed: starts `dharmana serve` (the gateway, from the jar) on a free loopback port
# with a bucket, and makes a repository with a local tier over an S3 tier in that bucket.
#
#   s3_repository_start JAR WORKDIR   sets S3_REPO (the repository, holding 3 small objects) and
#                                     S3_GATEWAY_PID, and exports DHARMANA_S3_ACCESS_KEY and
#                                     DHARMANA_S3_SECRET_KEY (the tier's keys); fails if the
#                                     gateway does not answer within 60 s
#   s3_repository_stop                stops the gateway (the caller removes WORKDIR)

s3_repository_start() {
  local jar=$1 work=$2 port="" i
  java -Xmx512m -jar "$jar" serve --init "$work/gateway" --port 0 --bucket archive=default > "$work/gateway.log" 2>&1 &
  S3_GATEWAY_PID=$!
  for i in $(seq 1 120); do
    port=$(sed -n 's|^Serving .* at http://127\.0\.0\.1:\([0-9]*\) .*|\1|p' "$work/gateway.log")
    [ -n "$port" ] && break
    kill -0 "$S3_GATEWAY_PID" 2>/dev/null || break
    sleep 0.5
  done
  if [ -z "$port" ]; then
    echo "Cannot start the gateway (dharmana serve) for an S3 tier:" >&2
    cat "$work/gateway.log" >&2
    return 1
  fi
  read -r DHARMANA_S3_ACCESS_KEY DHARMANA_S3_SECRET_KEY < <(grep -v '^#' "$work/gateway/gateway/credentials" | head -n 1)
  export DHARMANA_S3_ACCESS_KEY DHARMANA_S3_SECRET_KEY
  cat > "$work/s3-tiered.yaml" <<YAML
name: s3-tiered
storage:
  tiers:
    - {name: nvme, kind: local, path: tiers/nvme}
    - name: bucket
      kind: s3
      location: s3://archive/repo
      options: {endpoint: "http://127.0.0.1:$port", region: us-east-1, pathStyle: "true",
                accessKeyEnv: DHARMANA_S3_ACCESS_KEY, secretKeyEnv: DHARMANA_S3_SECRET_KEY}
YAML
  S3_REPO="$work/s3-repo"
  java -jar "$jar" init "$S3_REPO" --pipeline "$work/s3-tiered.yaml" > /dev/null
  head -c 100000 "$jar" > "$work/object.bin"
  for i in 1 2 3; do
    java -jar "$jar" put "$S3_REPO" "data/object-$i.bin" "$work/object.bin" --no-progress > /dev/null
  done
}

s3_repository_stop() {
  if [ -n "${S3_GATEWAY_PID:-}" ] && kill -0 "$S3_GATEWAY_PID" 2>/dev/null; then
    kill "$S3_GATEWAY_PID" 2>/dev/null || true
    wait "$S3_GATEWAY_PID" 2>/dev/null || true
  fi
  S3_GATEWAY_PID=""
}
