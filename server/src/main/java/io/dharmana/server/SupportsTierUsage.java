package io.dharmana.server;

import java.util.Map;

/** A backend that can tell how many stored bytes each tier holds, for the dashboard and /metrics. */
public interface SupportsTierUsage {
  /** Stored bytes by tier name; must be cheap (called on every dashboard refresh and scrape). */
  Map<String, Long> bytesByTier();
}
