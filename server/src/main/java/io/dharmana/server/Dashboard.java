package io.dharmana.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

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

  Dashboard(GatewayMetrics metrics, ObjectBackend backend) {
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

  private byte[] json() {
    try {
      return JSON.writeValueAsBytes(metrics.snapshot(backend));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("Cannot render dashboard data", e);
    }
  }
}
