#!/usr/bin/env bash
# Bounded loopback load test: 16 concurrent clients, mixed 4 KiB-16 MiB PUT/GET for SECONDS
# (default 60) against the gateway on a fresh repository, then the same load against S3Proxy
# (filesystem backend) on the same disk; every object is verified. Prints throughput, latency
# percentiles and the throughput ratio; fails only on errors or mismatched bytes, never on speed.
#
# Usage: server/scripts/load-test.sh [SECONDS]     (from the repository root)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
SECONDS_EACH="${1:-60}"
mvn -q -B -pl server -am test -Dtest=GatewayLoadTest -Dsurefire.failIfNoSpecifiedTests=false \
  -Ddharmana.load.seconds="$SECONDS_EACH" ${LOAD_SEED:+-Ddharmana.load.seed=$LOAD_SEED}
