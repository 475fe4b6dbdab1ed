package io.dharmana.metrics;

/** Latency percentiles of one kind of operation, in microseconds. */
public record LatencyStats(String operation, long count, double meanMicros, long p50Micros, long p90Micros,
    long p99Micros, long p999Micros, long maxMicros) {}
