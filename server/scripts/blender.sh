#!/usr/bin/env bash
# The "IO blender": three pipelines (checkpoint writes, dataset streaming reads, small random
# reads), each a bucket bound to its own descriptor, against one gateway; each runs alone for
# SECONDS, then all three at once for SECONDS. Prints each pipeline's throughput and p99 latency
# alone and together (from the gateway's own metrics), and names the pipeline that suffers.
# Stops by itself; fails only on wrong bytes or missing metrics, never on speed.
#
# Usage: server/scripts/blender.sh [SECONDS]     (from the repository root; default 20 per phase)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
SECONDS_EACH="${1:-20}"
mvn -q -B -pl server -am test -Dtest=GatewayBlenderTest -Dsurefire.failIfNoSpecifiedTests=false \
  -Ddharmana.blender.seconds="$SECONDS_EACH" ${BLENDER_SEED:+-Ddharmana.blender.seed=$BLENDER_SEED}
