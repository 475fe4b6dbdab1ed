package io.dharmana.server;

import java.nio.file.Path;

/** Starts a gateway for manual and script tests: DevServer STATE_DIR PORT ACCESS_KEY SECRET. */
public final class DevServer {
  private DevServer() {}

  public static void main(String[] args) throws Exception {
    Gateway g = Gateway.builder(new MemoryBackend(), Path.of(args[0])).port(Integer.parseInt(args[1]))
        .accessKeys(AccessKeys.of(new AccessKeys.AccessKey(args[2], args[3]))).minPartBytes(0).start();
    System.out.println("listening on " + g.endpoint());
    Thread.currentThread().join();
  }
}
