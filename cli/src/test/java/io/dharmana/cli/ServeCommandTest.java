package io.dharmana.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code dharmana serve} in a process of its own, stopped as a service manager or Ctrl-C stops it. */
class ServeCommandTest {
  @TempDir Path dir;

  /**
   * A gateway stopped by SIGTERM removes the cache of decoded tensor files it made under {@code
   * REPO/cache}; before, it stayed (with whatever was decoded) until the next process found it
   * abandoned.
   */
  @Test
  void aServerStoppedCleanlyRemovesItsCacheOfDecodedFiles() throws Exception {
    Path repo = dir.resolve("repo");
    Process serve = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m",
        "-cp", System.getProperty("java.class.path"), Main.class.getName(), "serve", repo.toString(), "--init", "--port", "0")
        .redirectErrorStream(true).start();
    try {
      StringBuilder output = new StringBuilder();
      BufferedReader lines = new BufferedReader(new InputStreamReader(serve.getInputStream(), StandardCharsets.UTF_8));
      for (String line; !output.toString().contains("Serving ") && (line = lines.readLine()) != null; ) {
        output.append(line).append('\n');
      }
      assertTrue(output.toString().contains("Serving "), "serve did not start:\n" + output);
      assertEquals(1, decodedFileCaches(repo).size(), "the gateway's cache of decoded files, made at start");
      serve.destroy(); // SIGTERM: the shutdown hook stops the gateway
      assertTrue(serve.waitFor(60, TimeUnit.SECONDS), "serve did not stop on SIGTERM");
      assertEquals(List.of(), decodedFileCaches(repo), "a stopped gateway must remove its cache of decoded files");
    } finally {
      serve.destroyForcibly();
    }
  }

  private static List<Path> decodedFileCaches(Path repo) throws IOException {
    try (var all = Files.list(repo.resolve("cache"))) {
      return all.filter(p -> p.getFileName().toString().startsWith("gateway-tensors-")).toList();
    }
  }
}
