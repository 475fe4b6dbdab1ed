package io.dharmana.s3;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP proxy on loopback in front of an S3 server that answers the first requests itself with
 * {@code 503 SlowDown} (or holds them without answering, to cause timeouts), then passes
 * connections through byte for byte (so SigV4 signatures stay valid).
 */
final class FaultInjectingProxy implements AutoCloseable {
  enum Fault {
    SLOW_DOWN_503,
    NO_ANSWER
  }

  private final ServerSocket listener;
  private final InetSocketAddress target;
  private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "fault-proxy");
    t.setDaemon(true);
    return t;
  });
  private final AtomicInteger faultsLeft = new AtomicInteger();
  private final AtomicInteger faultsInjected = new AtomicInteger();
  private final AtomicInteger requestsSeen = new AtomicInteger();
  private volatile Fault fault = Fault.SLOW_DOWN_503;
  private final java.util.Set<Socket> passing = java.util.concurrent.ConcurrentHashMap.newKeySet();

  FaultInjectingProxy(URI target) throws IOException {
    this.target = new InetSocketAddress(target.getHost(), target.getPort());
    this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    threads.submit(this::accept);
  }

  URI endpoint() {
    return URI.create("http://127.0.0.1:" + listener.getLocalPort());
  }

  /**
   * The next {@code n} requests get {@code fault}. Connections already passing through are cut,
   * so that clients must reconnect (faults are decided per new connection).
   */
  void failNext(int n, Fault fault) {
    this.fault = fault;
    faultsLeft.set(n);
    for (Socket socket : n == 0 ? java.util.Set.<Socket>of() : passing) {
      try {
        socket.close();
      } catch (IOException ignored) {
        // already closed
      }
    }
  }

  int faultsInjected() {
    return faultsInjected.get();
  }

  private void accept() {
    while (!listener.isClosed()) {
      try {
        Socket client = listener.accept();
        threads.submit(() -> serve(client));
      } catch (IOException e) {
        return;
      }
    }
  }

  private void serve(Socket client) {
    try (client) {
      InputStream in = client.getInputStream();
      byte[] head = readHead(in);
      if (head == null) {
        return;
      }
      requestsSeen.incrementAndGet();
      if (faultsLeft.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
        faultsInjected.incrementAndGet();
        if (fault == Fault.NO_ANSWER) {
          client.setSoTimeout(30_000);
          in.transferTo(OutputStream.nullOutputStream()); // until the client gives up
          return;
        }
        drainBody(new String(head, StandardCharsets.ISO_8859_1), in);
        byte[] body = "<Error><Code>SlowDown</Code><Message>injected fault</Message></Error>".getBytes(StandardCharsets.UTF_8);
        String response = "HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nContent-Length: " + body.length
            + "\r\nConnection: close\r\n\r\n";
        OutputStream out = client.getOutputStream();
        out.write(response.getBytes(StandardCharsets.ISO_8859_1));
        out.write(body);
        out.flush();
        return;
      }
      try (Socket server = new Socket(target.getAddress(), target.getPort())) {
        passing.add(client);
        server.getOutputStream().write(head);
        Thread upstream = new Thread(() -> pipe(in, server));
        upstream.setDaemon(true);
        upstream.start();
        pipe(server.getInputStream(), client.getOutputStream());
        upstream.join(1000);
      } finally {
        passing.remove(client);
      }
    } catch (IOException | InterruptedException e) {
      // a dropped test connection is fine
    }
  }

  private static void pipe(InputStream from, Socket to) {
    try {
      from.transferTo(to.getOutputStream());
      to.shutdownOutput();
    } catch (IOException e) {
      // the other side closed
    }
  }

  private static void pipe(InputStream from, OutputStream to) throws IOException {
    from.transferTo(to);
  }

  private static byte[] readHead(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int matched = 0;
    byte[] end = {'\r', '\n', '\r', '\n'};
    for (int b; (b = in.read()) >= 0; ) {
      head.write(b);
      matched = b == end[matched] ? matched + 1 : (b == '\r' ? 1 : 0);
      if (matched == 4) {
        return head.toByteArray();
      }
    }
    return null;
  }

  /** Reads the request body, unless the client waits for 100-continue before sending it. */
  private static void drainBody(String head, InputStream in) throws IOException {
    String lower = head.toLowerCase(Locale.ROOT);
    if (lower.contains("expect: 100-continue")) {
      return;
    }
    int at = lower.indexOf("content-length:");
    if (at >= 0) {
      long length = Long.parseLong(lower.substring(at + 15, lower.indexOf("\r\n", at)).trim());
      in.skipNBytes(length);
    }
  }

  @Override
  public void close() throws IOException {
    listener.close();
    threads.shutdownNow();
  }
}
