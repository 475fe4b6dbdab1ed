#!/usr/bin/env bash
# Bounded loopback load test: 16 concurrent clients, mixed 4 KiB-16 MiB PUT/GET for SECONDS
# (default 60) against the gateway on a fresh repository, then the same load against S3Proxy
# (filesystem backend) on the same disk; every object is verified. Prints throughput, latency
# percentiles and the throughput ratio; fails only on errors or mismatched bytes, never on speed.
#
# Both servers run side by side after an unmeasured warm-up and take turns in alternating slices
# (gateway, S3Proxy, S3Proxy, gateway), so load from other processes falls on both alike. Also
# printed: server CPU per MB moved (process CPU minus the load clients' threads), the gateway's
# CPU by thread group and its pipeline steps, and its own (server-side) latency of the hot bucket.
#
# Usage: server/scripts/load-test.sh [SECONDS]     (from the repository root)
# Env:   LOAD_SEED      seed of the run
#        LOAD_CONTENT   random (default: incompressible) or ml (float32 weights, token ids, media)
#        LOAD_PIPELINE  the gateway's default pipeline: default (cdc + zstd 3), lz4, fixed-lz4
#        LOAD_FSYNC     true (default) or false (S3Proxy's filesystem backend does not fsync)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
SECONDS_EACH="${1:-60}"
mvn -q -B -pl server -am test -Dtest=GatewayLoadTest -Dsurefire.failIfNoSpecifiedTests=false \
  -Ddharmana.load.seconds="$SECONDS_EACH" ${LOAD_SEED:+-Ddharmana.load.seed=$LOAD_SEED} \
  -Ddharmana.load.content="${LOAD_CONTENT:-random}" -Ddharmana.load.pipeline="${LOAD_PIPELINE:-default}" \
  -Ddharmana.load.fsync="${LOAD_FSYNC:-true}"
