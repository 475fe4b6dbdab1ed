package io.dharmana.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import io.dharmana.report.Contention;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The unsigned pages next to the S3 API: {@code /metrics} (Prometheus text format),
 * {@code /dashboard} (a live page) and {@code /dashboard/data.json} (what the page polls).
 */
final class Dashboard {
  record Response(byte[] body, String contentType) {}

  private static final ObjectMapper JSON = new ObjectMapper();
  private final GatewayMetrics metrics;
  private final ObjectBackend backend;
  private final byte[] page;
  /** Intervals with fewer requests than this do not become a bucket's quiet baseline. */
  private static final long MIN_OPERATIONS = 5;
  private final long intervalNanos;
  private final Map<String, Contention.Load> quietest = new HashMap<>();
  private final Map<String, Contention.Load> latest = new TreeMap<>();
  private Map<String, GatewayMetrics.Totals> previous;
  private long previousNanos;

  Dashboard(GatewayMetrics metrics, ObjectBackend backend, long intervalNanos) {
    this.intervalNanos = intervalNanos;
    this.metrics = metrics;
    this.backend = backend;
    try (InputStream in = Dashboard.class.getResourceAsStream("dashboard.html")) {
      if (in == null) {
        throw new IllegalStateException("Cannot find dashboard.html next to " + Dashboard.class.getName());
      }
      this.page = in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read dashboard.html", e);
    }
  }

  boolean serves(String path) {
    return path.equals("/metrics") || path.equals("/dashboard") || path.equals("/dashboard/") || path.equals("/dashboard/data.json");
  }

  Response respond(String path) {
    return switch (path) {
      case "/metrics" -> new Response(metrics.scrape().getBytes(StandardCharsets.UTF_8), "text/plain; version=0.0.4; charset=utf-8");
      case "/dashboard/data.json" -> new Response(json(), "application/json");
      default -> new Response(page, "text/html; charset=utf-8");
    };
  }

  /**
   * Which bucket's pipeline suffers now: the latest interval of every bucket against that bucket's
   * quietest interval so far (lowest p99), compared by {@link Contention}. Intervals are at least
   * {@link #intervalNanos} long and roll when the data is polled.
   */
  synchronized Map<String, Object> contention() {
    Map<String, GatewayMetrics.Totals> now = metrics.totals();
    long t = System.nanoTime();
    if (previous == null) {
      previous = now;
      previousNanos = t;
    } else if (t - previousNanos >= intervalNanos) {
      for (GatewayMetrics.Totals totals : now.values()) {
        GatewayMetrics.Totals before = previous.getOrDefault(totals.bucket(),
            GatewayMetrics.none(totals.bucket(), totals.pipeline(), previousNanos));
        Optional<Contention.Load> load = totals.since(before);
        if (load.isEmpty()) {
          latest.remove(totals.bucket());
          continue;
        }
        latest.put(totals.bucket(), load.get());
        Contention.Load q = quietest.get(totals.bucket());
        if (load.get().operations() >= MIN_OPERATIONS && (q == null || load.get().p99Millis() < q.p99Millis())) {
          quietest.put(totals.bucket(), load.get());
        }
      }
      previous = now;
      previousNanos = t;
    }
    Map<String, Object> result = new LinkedHashMap<>();
    List<Contention.Load> compared = latest.values().stream().filter(l -> quietest.containsKey(l.bucket())).toList();
    if (compared.isEmpty()) {
      result.put("verdict", null);
      result.put("buckets", List.of());
      return result;
    }
    Contention c = Contention.analyze(List.copyOf(quietest.values()), compared);
    result.put("verdict", c.verdict());
    result.put("suffering", c.suffering().bucket());
    List<Map<String, Object>> rows = new ArrayList<>();
    for (Contention.Impact i : c.pipelines()) {
      Map<String, Object> row = new LinkedHashMap<>();
      row.put("bucket", i.bucket());
      row.put("pipeline", i.pipeline());
      row.put("p99Ms", i.together().p99Millis());
      row.put("quietestP99Ms", i.alone().p99Millis());
      row.put("latencyFactor", i.latencyFactor());
      row.put("bytesPerSecond", i.together().bytesPerSecond());
      row.put("quietestBytesPerSecond", i.alone().bytesPerSecond());
      rows.add(row);
    }
    result.put("buckets", rows);
    return result;
  }

  private byte[] json() {
    try {
      Map<String, Object> data = metrics.snapshot(backend);
      data.put("contention", contention());
      return JSON.writeValueAsBytes(data);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("Cannot render dashboard data", e);
    }
  }
}
