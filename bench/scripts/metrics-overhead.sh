#!/usr/bin/env bash
# What metrics cost: the same put + get workload with metrics on and off, interleaved in one run,
# printing per-round and median throughputs and "metrics cost X% of throughput" (target: <= 3%).
#
# Usage: bench/scripts/metrics-overhead.sh [MB per object (64)] [rounds (6)] [WORKDIR]
# Builds core and bench through the reactor (offline if the dependencies are already local),
# then runs io.dharmana.bench.MetricsOverhead. Metrics are switched off by the system property
# dharmana.metrics=off (the environment variable DHARMANA_METRICS=off does the same for the CLI).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
mvn -q -B -o -pl bench -am compile -DskipTests
deps=$(mktemp /tmp/dharmana-cp.XXXXXX)
trap 'rm -f "$deps"' EXIT
mvn -q -B -o -pl core dependency:build-classpath -Dmdep.outputFile="$deps" -Dmdep.includeScope=runtime
cp="$repo/bench/target/classes:$repo/core/target/classes:$(cat "$deps")"
java -Xmx2g -cp "$cp" io.dharmana.bench.MetricsOverhead "$@"
