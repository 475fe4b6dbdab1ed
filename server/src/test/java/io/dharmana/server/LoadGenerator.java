package io.dharmana.server;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import org.gaul.s3proxy.BlobStores;
import org.gaul.s3proxy.S3Proxy;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.apache.ApacheHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The load of issue 7: 16 concurrent clients, mixed 4 KiB to 16 MiB PUTs and GETs for a fixed
 * time, every object verified byte for byte, against S3 endpoints that take turns in alternating
 * slices; prints throughput, latency percentiles, server CPU per MB and the ratio.
 *
 * <p>{@link #main} is what server/scripts/load-test.sh runs: the load in this JVM, each server in
 * its own (the gateway as {@code dharmana serve}, S3Proxy through {@code main s3proxy DIR PORT}),
 * so the clients' garbage and CPU never pause a server, and a server's CPU is its process's.
 * {@link GatewayLoadTest} runs the same load with both servers in its own JVM.
 */
final class LoadGenerator {
  static final String ID = "LOADTESTKEY";
  static final String SECRET = "load-test-secret-key";
  static final int CLIENTS = 16;
  static final int MIN_SIZE = 4 << 10;
  static final int MAX_SIZE = 16 << 20;
  static final int HOT_OBJECTS = 64;
  /** Hot objects have their own bucket, so the gateway's per-bucket latency is their server-side time. */
  static final String HOT_BUCKET = "hot";
  /** The mix: percent of PUTs, of 4 KiB hot GETs, the rest GETs of any object written (35/25/40 unless set). */
  static final int PUT_PERCENT = Integer.getInteger("dharmana.load.puts", 35);
  static final int HOT_PERCENT = Integer.getInteger("dharmana.load.hot", 25);

  private LoadGenerator() {}

  /**
   * {@code s3proxy DIR PORT}: serves S3Proxy (filesystem backend in DIR) on loopback PORT until
   * killed. {@code load}: runs the load against the endpoints named by system properties
   * {@code dharmana.load.gateway} (URL), {@code .gateway.pid}, {@code .gateway.key} (ID SECRET),
   * {@code .s3proxy}, {@code .s3proxy.pid}, and exits non-zero on any error or mismatch.
   */
  public static void main(String[] args) throws Exception {
    if (args.length == 3 && args[0].equals("s3proxy")) {
      S3Proxy proxy = startS3Proxy(Path.of(args[1]), Integer.parseInt(args[2]));
      // S3Proxy's own time of hot GETs, on a side port: its Jetty logs each request when its response is written
      com.sun.net.httpserver.HttpServer stats = com.sun.net.httpserver.HttpServer.create(
          new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0), 16);
      stats.createContext("/", exchange -> {
        byte[] body;
        synchronized (S3PROXY_HOT) {
          body = GatewayMetrics.encode(S3PROXY_HOT).getBytes(StandardCharsets.US_ASCII);
        }
        exchange.sendResponseHeaders(200, body.length);
        exchange.getResponseBody().write(body);
        exchange.close();
      });
      stats.start();
      System.out.println("s3proxy listening on " + proxy.getPort());
      System.out.println("s3proxy server-side at http://127.0.0.1:" + stats.getAddress().getPort() + "/");
      Thread.currentThread().join();
    }
    if (args.length == 3 && args[0].equals("floor")) {
      FloorServer floor = new FloorServer(Integer.parseInt(args[1]), args[2]);
      System.out.println("floor listening on " + floor.port());
      Thread.currentThread().join();
    }
    if (args.length != 1 || !args[0].equals("load")) {
      throw new IllegalArgumentException("Invalid arguments " + List.of(args) + ": use 's3proxy DIR PORT', 'floor PORT CONTENT' or 'load'");
    }
    long seed = Long.getLong("dharmana.load.seed", System.nanoTime());
    Duration duration = Duration.ofSeconds(Long.getLong("dharmana.load.seconds", 60));
    String content = System.getProperty("dharmana.load.content", "random");
    int rounds = Integer.getInteger("dharmana.load.rounds", 2);
    Duration warmup = Duration.ofSeconds(Long.getLong("dharmana.load.warmup", 5));
    String[] key = System.getProperty("dharmana.load.gateway.key", ID + " " + SECRET).trim().split("\\s+");
    String proxyUrl = System.getProperty("dharmana.load.s3proxy");
    String proxyStats = System.getProperty("dharmana.load.s3proxy.stats");
    String floorUrl = System.getProperty("dharmana.load.floor");
    String baselineUrl = System.getProperty("dharmana.load.baseline");
    try (Target gateway = new Target("gateway", URI.create(System.getProperty("dharmana.load.gateway")), key[0], key[1],
            seed, content, processCpu(Long.getLong("dharmana.load.gateway.pid")));
        Target s3proxy = proxyUrl == null ? null : new Target("s3proxy", URI.create(proxyUrl), ID, SECRET, seed, content,
            processCpu(Long.getLong("dharmana.load.s3proxy.pid")));
        Target floor = floorUrl == null ? null : new Target("floor", URI.create(floorUrl), ID, SECRET, seed, content,
            processCpu(Long.getLong("dharmana.load.floor.pid")));
        Target baseline = baselineUrl == null ? null : new Target(System.getProperty("dharmana.load.baseline.name", "baseline"),
            URI.create(baselineUrl), key[0], key[1], seed, content, processCpu(Long.getLong("dharmana.load.baseline.pid")))) {
      if (baseline != null) {
        baseline.serverSide = () -> gatewayHot(baseline.endpoint);
      }
      gateway.serverSide = () -> gatewayHot(gateway.endpoint);
      if (s3proxy != null && proxyStats != null) {
        s3proxy.serverSide = () -> histogramAt(URI.create(proxyStats));
      }
      if (floor != null) {
        floor.serverSide = () -> histogramAt(floor.endpoint.resolve("/_floor/hot"));
      }
      long gatewayPid = Long.getLong("dharmana.load.gateway.pid");
      Map<String, Long> threadsBefore = threadCpuByGroup(gatewayPid);
      List<Target> targets = new ArrayList<>(List.of(gateway));
      if (s3proxy != null) {
        targets.add(s3proxy);
      }
      if (floor != null) {
        targets.add(floor);
      }
      if (baseline != null) {
        targets.add(1, baseline);
      }
      alternate(targets, warmup, duration, rounds);
      System.out.println("load seed " + seed + ", " + CLIENTS + " clients, content " + content + ", "
          + duration.toSeconds() + " s each in " + rounds + " alternating slices, each server in its own JVM");
      System.out.println(gateway.result().describe());
      System.out.println("          gateway CPU by thread group during the load: " + difference(threadCpuByGroup(gatewayPid), threadsBefore));
      System.out.println("          gateway-side (request handling only, last minute): "
          + serverSide(gateway.endpoint, HOT_BUCKET) + "; " + serverSide(gateway.endpoint, "load"));
      report(gateway, s3proxy);
      if (baseline != null) {
        System.out.println(baseline.result().describe());
        System.out.printf(Locale.ROOT, "gateway/%s: throughput %.2f, server CPU per MB %.2f%n", baseline.name,
            gateway.result().mbPerSecond() / baseline.result().mbPerSecond(),
            gateway.result().serverCpuMsPerMb() / baseline.result().serverCpuMsPerMb());
      }
      if (floor != null) {
        System.out.println(floor.result().describe());
      }
      System.out.println("4 KiB hot GET p50 / p99 (ms), as the clients see it | as the server sees it (request handled;"
          + " floor: trivial in-memory server on loopback, one thread per connection, under the same load):");
      for (Target t : targets) {
        Histogram server = t.serverSideDuringLoad();
        System.out.printf(Locale.ROOT, "  %-9s client %6.2f / %6.2f | server %s%n", t.name, Result.ms(t.hotGet, 50),
            Result.ms(t.hotGet, 99), server == null || server.getTotalCount() == 0 ? "-" : String.format(Locale.ROOT,
                "%6.2f / %6.2f (n=%d)", server.getValueAtPercentile(50) / 1e3, server.getValueAtPercentile(99) / 1e3,
                server.getTotalCount()));
      }
      long bad = 0;
      for (Target t : targets) {
        bad += t.errors.get() + t.mismatches.get();
      }
      if (bad != 0 || gateway.ops.get() == 0) {
        System.out.println("FAILED, seed " + seed + ": " + bad + " errors or mismatches");
        System.exit(1);
      }
    }
  }

  /** S3Proxy's time for each hot GET (in microseconds), from its Jetty request log. */
  static final Histogram S3PROXY_HOT = new Histogram(3);

  /** A cumulative histogram served as base64 text ({@link GatewayMetrics#encode}). */
  static Histogram histogramAt(URI uri) {
    try {
      var http = java.net.http.HttpClient.newHttpClient();
      String body = http.send(java.net.http.HttpRequest.newBuilder(uri).build(), java.net.http.HttpResponse.BodyHandlers.ofString()).body();
      return decode(body);
    } catch (IOException | InterruptedException | java.util.zip.DataFormatException e) {
      throw new IllegalStateException("Cannot read the server-side histogram at " + uri, e);
    }
  }

  static Histogram decode(String base64) throws java.util.zip.DataFormatException {
    return Histogram.decodeFromCompressedByteBuffer(java.nio.ByteBuffer.wrap(java.util.Base64.getDecoder().decode(base64.trim())), 0);
  }

  /** The gateway's time for every GET of the hot bucket since it started, from its dashboard data. */
  static Histogram gatewayHot(URI endpoint) {
    try {
      var http = java.net.http.HttpClient.newHttpClient();
      String body = http.send(java.net.http.HttpRequest.newBuilder(endpoint.resolve("/dashboard/data.json")).build(),
          java.net.http.HttpResponse.BodyHandlers.ofString()).body();
      for (var row : new com.fasterxml.jackson.databind.ObjectMapper().readTree(body).get("buckets")) {
        if (row.get("bucket").asText().equals(HOT_BUCKET)) {
          return decode(row.get("readMicrosSinceStart").asText());
        }
      }
      return new Histogram(3);
    } catch (IOException | InterruptedException | java.util.zip.DataFormatException e) {
      throw new IllegalStateException("Cannot read the gateway's dashboard data", e);
    }
  }

  /**
   * Warm-up (not measured: JIT-compiles the client and each server before its first slice
   * counts), then the servers take turns (g s s g ...), so drifting load from other processes on
   * the machine falls on both alike.
   */
  static void alternate(List<Target> targets, Duration warmup, Duration duration, int rounds) throws Exception {
    Duration slice = duration.dividedBy(rounds);
    if (!warmup.isZero()) {
      for (Target t : targets) {
        t.run(warmup);
        t.reset();
      }
    }
    for (Target t : targets) {
      t.markServerSide();
    }
    for (int round = 0; round < rounds; round++) {
      List<Target> order = new ArrayList<>(targets);
      if (round % 2 == 1) {
        java.util.Collections.reverse(order);
      }
      for (Target t : order) {
        t.run(slice);
      }
    }
  }

  static void report(Target gateway, Target s3proxy) {
    if (s3proxy != null) {
      System.out.println(s3proxy.result().describe());
      System.out.printf(Locale.ROOT, "throughput ratio gateway/s3proxy: %.2f (goal >= 1.5); server CPU per MB gateway/s3proxy: %.2f; ",
          gateway.result().mbPerSecond() / s3proxy.result().mbPerSecond(),
          gateway.result().serverCpuMsPerMb() / s3proxy.result().serverCpuMsPerMb());
    }
    System.out.printf(Locale.ROOT, "gateway 4 KiB hot GET p99 %.2f ms (goal < 5)%n", Result.ms(gateway.result().hotGet(), 99));
  }

  record Result(String target, double seconds, long ops, long bytes, long errors, long mismatches,
      Histogram put, Histogram get, Histogram hotGet, long processCpuNanos, long clientCpuNanos, long loadJvmCpuNanos) {
    /** CPU the server spent per MB moved, with GC and JIT (its process's, less the load clients' when they share it). */
    double serverCpuMsPerMb() {
      return (processCpuNanos - clientCpuNanos) / 1e6 / (bytes / 1e6);
    }

    double mbPerSecond() {
      return bytes / seconds / 1e6;
    }

    String describe() {
      return String.format(Locale.ROOT,
          "%-9s %6d ops %8.1f MB/s  errors %d  mismatches %d  server CPU %.2f ms/MB (server %.1f s, clients in it %.1f s;"
              + " load JVM %.1f s)%n"
              + "          PUT  p50 %7.2f ms p99 %8.2f ms (n=%d)%n"
              + "          GET  p50 %7.2f ms p99 %8.2f ms (n=%d)%n"
              + "          GET 4 KiB hot p50 %6.2f ms p90 %6.2f ms p99 %6.2f ms p99.9 %6.2f ms (n=%d)",
          target, ops, mbPerSecond(), errors, mismatches, serverCpuMsPerMb(), processCpuNanos / 1e9, clientCpuNanos / 1e9,
          loadJvmCpuNanos / 1e9,
          ms(put, 50), ms(put, 99), put.getTotalCount(), ms(get, 50), ms(get, 99), get.getTotalCount(),
          ms(hotGet, 50), ms(hotGet, 90), ms(hotGet, 99), ms(hotGet, 99.9), hotGet.getTotalCount());
    }

    static double ms(Histogram h, double p) {
      return h.getTotalCount() == 0 ? Double.NaN : h.getValueAtPercentile(p) / 1e6;
    }
  }

  /** The gateway's own read latency of one bucket, from its dashboard data. */
  static String serverSide(URI endpoint, String bucket) throws Exception {
    var http = java.net.http.HttpClient.newHttpClient();
    String body = http.send(java.net.http.HttpRequest.newBuilder(endpoint.resolve("/dashboard/data.json")).build(),
        java.net.http.HttpResponse.BodyHandlers.ofString()).body();
    var rows = new com.fasterxml.jackson.databind.ObjectMapper().readTree(body).get("buckets");
    for (var row : rows) {
      if (row.get("bucket").asText().equals(bucket)) {
        return String.format(Locale.ROOT, "%s read p50 %.2f ms p99 %.2f ms, write p50 %.2f ms p99 %.2f ms", bucket,
            row.get("readP50Ms").asDouble(), row.get("readP99Ms").asDouble(), row.get("writeP50Ms").asDouble(),
            row.get("writeP99Ms").asDouble());
      }
    }
    return bucket + " not found";
  }

  /** CPU time of another process so far (Linux: from /proc), or null without a pid. */
  static LongSupplier processCpu(Long pid) {
    if (pid == null) {
      return null;
    }
    ProcessHandle process = ProcessHandle.of(pid).orElseThrow(() -> new IllegalArgumentException("Invalid pid " + pid + ": no such process"));
    return () -> process.info().totalCpuDuration().orElseThrow().toNanos();
  }

  static final long CLOCK_TICK_NANOS = 1_000_000_000L / Long.getLong("dharmana.load.clk.tck", 100);

  /**
   * CPU nanoseconds of a process's live threads grouped by name with digits stripped (Linux:
   * /proc/PID/task/TID/stat; the JVM names its native threads, its GC and compiler threads too).
   */
  static Map<String, Long> threadCpuByGroup(long pid) {
    Map<String, Long> groups = new TreeMap<>();
    try (var tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
      for (Path task : (Iterable<Path>) tasks::iterator) {
        String stat;
        try {
          stat = Files.readString(task.resolve("stat"), StandardCharsets.US_ASCII);
        } catch (IOException ended) {
          continue;
        }
        String name = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replaceAll("[0-9]+", "#");
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        // fields 14 and 15 of stat (utime, stime) are the 12th and 13th after the name
        long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]);
        groups.merge(name, ticks * CLOCK_TICK_NANOS, Long::sum);
      }
    } catch (IOException e) {
      return Map.of();
    }
    return groups;
  }

  static String difference(Map<String, Long> after, Map<String, Long> before) {
    StringBuilder b = new StringBuilder();
    after.entrySet().stream().map(e -> Map.entry(e.getKey(), e.getValue() - before.getOrDefault(e.getKey(), 0L)))
        .filter(e -> e.getValue() > 100_000_000L).sorted(Map.Entry.<String, Long>comparingByValue().reversed())
        .forEach(e -> b.append(String.format(Locale.ROOT, "%s %.1f s, ", e.getKey(), e.getValue() / 1e9)));
    return b.length() == 0 ? "-" : b.substring(0, b.length() - 2);
  }


  /**
   * The physical reference for small GETs: a trivial S3 look-alike on loopback, one blocking thread
   * per connection (one wake-up per request), no signature check, no disk. Bodies of up to 256 KiB
   * are kept in memory as sent (decoded from aws-chunked), so a hot 4 KiB GET is a map lookup and
   * one write; larger bodies are read and dropped, and a GET of one writes the content again from
   * its id ({@link #fill}), so every byte the clients verify is right. Its server-side time (request
   * head read to response written) of hot GETs is served unsigned at {@code /_floor/hot}.
   */
  static final class FloorServer {
    private final java.net.ServerSocket socket;
    private final String content;
    private final java.util.concurrent.ConcurrentHashMap<String, byte[]> small = new java.util.concurrent.ConcurrentHashMap<>();
    private final java.util.concurrent.ConcurrentHashMap<String, Integer> sizes = new java.util.concurrent.ConcurrentHashMap<>();
    private final Histogram hot = new Histogram(3);

    FloorServer(int port, String content) throws IOException {
      this.socket = new java.net.ServerSocket(port, 256, java.net.InetAddress.getLoopbackAddress());
      this.content = content;
      Thread acceptor = new Thread(() -> {
        while (true) {
          try {
            java.net.Socket s = socket.accept();
            s.setTcpNoDelay(true);
            Thread t = new Thread(() -> serve(s), "floor-connection");
            t.setDaemon(true);
            t.start();
          } catch (IOException e) {
            return;
          }
        }
      }, "floor-acceptor");
      acceptor.start();
    }

    int port() {
      return socket.getLocalPort();
    }

    private void serve(java.net.Socket s) {
      try (s; var in = new java.io.BufferedInputStream(s.getInputStream(), 65536);
          var out = new java.io.BufferedOutputStream(s.getOutputStream(), 65536)) {
        byte[] buf = null;
        while (true) {
          String requestLine = line(in);
          if (requestLine == null) {
            return;
          }
          Map<String, String> headers = new java.util.HashMap<>();
          for (String h = line(in); h != null && !h.isEmpty(); h = line(in)) {
            int colon = h.indexOf(':');
            headers.put(h.substring(0, colon).trim().toLowerCase(Locale.ROOT), h.substring(colon + 1).trim());
          }
          long t0 = System.nanoTime();
          String[] parts = requestLine.split(" ");
          String method = parts[0];
          String path = parts[1];
          int q = path.indexOf('?');
          if (q >= 0) {
            path = path.substring(0, q);
          }
          if ("100-continue".equalsIgnoreCase(headers.get("expect"))) {
            out.write("HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
          }
          long length = Long.parseLong(headers.getOrDefault("content-length", "0"));
          if (method.equals("GET") && path.equals("/_floor/hot")) {
            byte[] body;
            synchronized (hot) {
              body = GatewayMetrics.encode(hot).getBytes(StandardCharsets.US_ASCII);
            }
            respond(out, 200, body, body.length);
          } else if (method.equals("PUT") && path.indexOf('/', 1) > 0) {
            String decoded = headers.get("x-amz-decoded-content-length");
            int size = (int) (decoded != null ? Long.parseLong(decoded) : length);
            boolean chunked = decoded != null;
            if (size <= 256 << 10) {
              byte[] raw = in.readNBytes((int) length);
              small.put(path, chunked ? dechunk(raw, size) : raw);
            } else {
              in.skipNBytes(length);
            }
            sizes.put(path, size);
            respond(out, 200, new byte[0], 0);
          } else if (method.equals("GET") && path.indexOf('/', 1) > 0) {
            byte[] body = small.get(path);
            int size;
            if (body != null) {
              size = body.length;
            } else {
              Integer known = sizes.get(path);
              if (known == null) {
                respond(out, 404, new byte[0], 0);
                continue;
              }
              size = known;
              buf = buf == null ? new byte[MAX_SIZE] : buf;
              fill(buf, size, Long.parseLong(path.substring(path.lastIndexOf('/') + 1)), content);
              body = buf;
            }
            respond(out, 200, body, size);
            if (path.startsWith("/" + HOT_BUCKET + "/")) {
              long t = System.nanoTime() - t0;
              synchronized (hot) {
                hot.recordValue(t / 1000);
              }
            }
          } else {
            in.skipNBytes(length);
            respond(out, 200, new byte[0], 0);
          }
        }
      } catch (IOException | RuntimeException e) {
        // the client closed the connection
      }
    }

    private static void respond(java.io.OutputStream out, int status, byte[] body, int length) throws IOException {
      out.write(("HTTP/1.1 " + status + (status == 200 ? " OK" : " Not Found") + "\r\nContent-Length: " + length
          + "\r\nETag: \"00000000000000000000000000000000\"\r\nContent-Type: application/octet-stream\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      out.write(body, 0, length);
      out.flush();
    }

    /** An aws-chunked body's data ({@code hex-size[;ext]\r\n data \r\n ... 0[;ext]\r\n trailers}). */
    private static byte[] dechunk(byte[] raw, int size) {
      byte[] data = new byte[size];
      int at = 0;
      int n = 0;
      while (true) {
        int eol = at;
        while (raw[eol] != '\r') {
          eol++;
        }
        String head = new String(raw, at, eol - at, StandardCharsets.US_ASCII);
        int semi = head.indexOf(';');
        int chunk = Integer.parseInt(semi < 0 ? head : head.substring(0, semi), 16);
        if (chunk == 0) {
          return data;
        }
        System.arraycopy(raw, eol + 2, data, n, chunk);
        n += chunk;
        at = eol + 2 + chunk + 2;
      }
    }

    /** One CRLF-terminated line, or null at the end of the stream. */
    private static String line(InputStream in) throws IOException {
      StringBuilder b = new StringBuilder();
      int c;
      while ((c = in.read()) >= 0) {
        if (c == '\n') {
          int len = b.length();
          return len > 0 && b.charAt(len - 1) == '\r' ? b.substring(0, len - 1) : b.toString();
        }
        b.append((char) c);
      }
      return b.length() == 0 ? null : b.toString();
    }
  }

  static S3Proxy startS3Proxy(Path directory, int port) throws Exception {
    Files.createDirectories(directory);
    Properties p = new Properties();
    p.setProperty("jclouds.provider", "filesystem");
    p.setProperty("jclouds.filesystem.basedir", directory.toString());
    p.setProperty("jclouds.identity", ID);
    p.setProperty("jclouds.credential", SECRET);
    p.setProperty("s3proxy.endpoint", "http://127.0.0.1:" + port);
    p.setProperty("s3proxy.authorization", "aws-v2-or-v4");
    p.setProperty("s3proxy.identity", ID);
    p.setProperty("s3proxy.credential", SECRET);
    p.setProperty("s3proxy.ignore-unknown-headers", "true");
    S3Proxy proxy = S3Proxy.Builder.fromProperties(p).blobStore(BlobStores.create("filesystem", p)).build();
    java.lang.reflect.Field jetty = S3Proxy.class.getDeclaredField("server");
    jetty.setAccessible(true);
    ((org.gaul.shaded.org.eclipse.jetty.server.Server) jetty.get(proxy)).setRequestLog((request, response) -> {
      if (request.getMethod().equals("GET") && request.getHttpURI().getPath().startsWith("/" + HOT_BUCKET + "/")) {
        long micros = (System.nanoTime() - request.getHeadersNanoTime()) / 1000;
        synchronized (S3PROXY_HOT) {
          S3PROXY_HOT.recordValue(micros);
        }
      }
    });
    proxy.start();
    for (int i = 0; i < 1000 && !"STARTED".equals(proxy.getState()); i++) {
      Thread.sleep(10);
    }
    return proxy;
  }

  /**
   * Object content is a function of its id, so GETs verify without keeping copies. {@code random}
   * is incompressible (as JPEG shards or encrypted blobs); {@code ml} mixes what ML storage holds:
   * half float32 weights (small values around zero: the sign/exponent bytes compress, the mantissas
   * do not), a quarter int32 token ids below 50,257 (text datasets: two of every four bytes are
   * zero) and a quarter random bytes (already-compressed media).
   */
  static void fill(byte[] buf, int size, long id, String content) {
    SplittableRandom r = new SplittableRandom(id);
    int kind = content.equals("ml") ? Math.floorMod(Long.hashCode(id * 0x9E3779B97F4A7C15L), 4) : 3;
    int i = 0;
    switch (kind) {
      case 0, 1 -> {
        for (; i + 4 <= size; i += 4) {
          INT.set(buf, i, Float.floatToRawIntBits((float) (r.nextDouble(-1, 1) * r.nextDouble() * 0.05)));
        }
      }
      case 2 -> {
        for (; i + 4 <= size; i += 4) {
          INT.set(buf, i, r.nextInt(50_257));
        }
      }
      default -> {
        for (; i + 8 <= size; i += 8) {
          LONG.set(buf, i, r.nextLong());
        }
      }
    }
    long v = r.nextLong();
    for (int k = 0; i < size; i++, k++) {
      buf[i] = (byte) (v >>> (8 * k));
    }
  }

  private static final java.lang.invoke.VarHandle LONG =
      java.lang.invoke.MethodHandles.byteArrayViewVarHandle(long[].class, java.nio.ByteOrder.LITTLE_ENDIAN);
  private static final java.lang.invoke.VarHandle INT =
      java.lang.invoke.MethodHandles.byteArrayViewVarHandle(int[].class, java.nio.ByteOrder.LITTLE_ENDIAN);

  record Written(String key, int size, long id) {}

  static final java.lang.management.ThreadMXBean THREADS = java.lang.management.ManagementFactory.getThreadMXBean();

  static long ownProcessCpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }

  /** One server under load: its client, the objects written so far and the figures so far. */
  static final class Target implements AutoCloseable {
    final String name;
    final URI endpoint;
    final String content;
    final S3Client s3;
    /** The server's CPU so far; null when the server runs in this JVM (then the process's less the clients'). */
    final LongSupplier serverCpu;
    /** The server's own cumulative times of hot GETs in microseconds, or null when it keeps none. */
    java.util.function.Supplier<Histogram> serverSide;
    private Histogram serverSideMark;
    final List<Written> hot = new ArrayList<>();
    final List<Written> written = new CopyOnWriteArrayList<>();
    final Histogram put = new Histogram(3);
    final Histogram get = new Histogram(3);
    final Histogram hotGet = new Histogram(3);
    final AtomicLong ops = new AtomicLong();
    final AtomicLong bytes = new AtomicLong();
    final AtomicLong errors = new AtomicLong();
    final AtomicLong mismatches = new AtomicLong();
    final AtomicLong nextId;
    final long seed;
    long nanos;
    long processCpu;
    /** CPU of the JVM running the clients during the slices (with its GC and JIT). */
    long loadJvmCpu;
    final AtomicLong clientCpu = new AtomicLong();
    int slices;

    Target(String name, URI endpoint, String keyId, String secret, long seed, String content, LongSupplier serverCpu) {
      this.name = name;
      this.endpoint = endpoint;
      this.seed = seed;
      this.content = content;
      this.serverCpu = serverCpu;
      this.s3 = S3Client.builder().endpointOverride(endpoint).region(Region.US_EAST_1).forcePathStyle(true)
          .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(keyId, secret)))
          // a disk shared with other work can stall a 16 MiB PUT's fsync beyond the default 30 s
          .httpClientBuilder(ApacheHttpClient.builder().maxConnections(CLIENTS * 2).socketTimeout(Duration.ofMinutes(3)))
          .build();
      s3.createBucket(b -> b.bucket("load"));
      s3.createBucket(b -> b.bucket(HOT_BUCKET));
      byte[] small = new byte[MIN_SIZE];
      for (int i = 0; i < HOT_OBJECTS; i++) {
        long id = seed * 1_000_003L + i;
        fill(small, MIN_SIZE, id, content);
        String key = "hot/" + i;
        s3.putObject(b -> b.bucket(HOT_BUCKET).key(key), RequestBody.fromBytes(small));
        hot.add(new Written(key, MIN_SIZE, id));
      }
      nextId = new AtomicLong(seed * 1_000_003L + HOT_OBJECTS);
    }

    /**
     * Forgets the speed figures so far (after a warm-up); errors and mismatches are kept, and
     * objects written stay readable.
     */
    void reset() {
      put.reset();
      get.reset();
      hotGet.reset();
      ops.set(0);
      bytes.set(0);
      nanos = 0;
      processCpu = 0;
      loadJvmCpu = 0;
      clientCpu.set(0);
    }

    /** Remembers the server-side figures so far, for {@link #serverSideDuringLoad()}. */
    void markServerSide() {
      serverSideMark = serverSide == null ? null : serverSide.get();
    }

    /** The server's own times of hot GETs since {@link #markServerSide()}, or null. */
    Histogram serverSideDuringLoad() {
      if (serverSide == null || serverSideMark == null) {
        return null;
      }
      Histogram now = serverSide.get();
      now.subtract(serverSideMark);
      return now;
    }

    Result result() {
      return new Result(name, nanos / 1e9, ops.get(), bytes.get(), errors.get(), mismatches.get(), put, get, hotGet,
          processCpu, clientCpu.get(), loadJvmCpu);
    }

    private long cpuNow() {
      return serverCpu == null ? ownProcessCpuNanos() : serverCpu.getAsLong();
    }

    /** Runs the load for {@code duration}, adding to the figures. */
    void run(Duration duration) throws Exception {
      Recorder putRec = new Recorder(3);
      Recorder getRec = new Recorder(3);
      Recorder hotRec = new Recorder(3);
      int slice = slices++;
      long start = System.nanoTime();
      long cpuStart = cpuNow();
      long loadJvmStart = ownProcessCpuNanos();
      long end = start + duration.toNanos();
      boolean inProcess = serverCpu == null;
      ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
      List<Future<?>> clients = new ArrayList<>();
      for (int c = 0; c < CLIENTS; c++) {
        SplittableRandom r = new SplittableRandom(seed + 1_000L * slice + c);
        byte[] buf = CLIENT_BUFFERS.of(2 * c);
        byte[] expected = CLIENT_BUFFERS.of(2 * c + 1);
        clients.add(pool.submit(() -> {
          long threadCpu = inProcess ? THREADS.getCurrentThreadCpuTime() : 0;
          while (System.nanoTime() < end) {
            int dice = r.nextInt(100);
            long t0 = System.nanoTime();
            try {
              if (dice < PUT_PERCENT) {
                int size = (int) Math.round(Math.exp(Math.log(MIN_SIZE) + r.nextDouble() * (Math.log(MAX_SIZE) - Math.log(MIN_SIZE))));
                long id = nextId.getAndIncrement();
                fill(buf, size, id, content);
                String key = "obj/" + id;
                t0 = System.nanoTime();
                s3.putObject(b -> b.bucket("load").key(key), RequestBody.fromContentProvider(
                    () -> new java.io.ByteArrayInputStream(buf, 0, size), size, "application/octet-stream"));
                putRec.recordValue(System.nanoTime() - t0);
                written.add(new Written(key, size, id));
                bytes.addAndGet(size);
              } else {
                boolean isHot = dice < PUT_PERCENT + HOT_PERCENT;
                if (!isHot && written.isEmpty()) {
                  continue;
                }
                Written w = isHot ? hot.get(r.nextInt(hot.size())) : written.get(r.nextInt(written.size()));
                try (InputStream in = s3.getObject(b -> b.bucket(isHot ? HOT_BUCKET : "load").key(w.key()))) {
                  int n = in.readNBytes(buf, 0, w.size());
                  boolean more = in.read() >= 0;
                  (isHot ? hotRec : getRec).recordValue(System.nanoTime() - t0);
                  fill(expected, w.size(), w.id(), content);
                  if (n != w.size() || more || !java.util.Arrays.equals(buf, 0, n, expected, 0, n)) {
                    mismatches.incrementAndGet();
                  }
                }
                bytes.addAndGet(w.size());
              }
              ops.incrementAndGet();
            } catch (IOException | RuntimeException e) {
              if (errors.incrementAndGet() <= 5) {
                System.err.println(name + ": " + e);
              }
            }
          }
          if (inProcess) {
            clientCpu.addAndGet(THREADS.getCurrentThreadCpuTime() - threadCpu);
          }
          return null;
        }));
      }
      for (Future<?> f : clients) {
        f.get();
      }
      pool.shutdown();
      nanos += System.nanoTime() - start;
      processCpu += cpuNow() - cpuStart;
      loadJvmCpu += ownProcessCpuNanos() - loadJvmStart;
      put.add(putRec.getIntervalHistogram());
      get.add(getRec.getIntervalHistogram());
      hotGet.add(hotRec.getIntervalHistogram());
    }

    @Override
    public void close() {
      s3.close();
    }
  }

  /**
   * The clients' 16 MiB buffers, allocated once for the whole run: the targets take turns and
   * never run at once, so they share them. Allocated per slice, they were 512 MiB of humongous
   * allocations at every slice's start, whose collector pauses (40-225 ms) stopped both servers
   * when they ran in the clients' JVM.
   */
  static final ClientBuffers CLIENT_BUFFERS = new ClientBuffers(2 * CLIENTS);

  static final class ClientBuffers {
    private final byte[][] buffers;

    ClientBuffers(int count) {
      buffers = new byte[count][];
    }

    synchronized byte[] of(int index) {
      if (buffers[index] == null) {
        buffers[index] = new byte[MAX_SIZE];
      }
      return buffers[index];
    }
  }
}
