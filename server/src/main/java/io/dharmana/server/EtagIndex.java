package io.dharmana.server;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Remembers the MD5 of content by a 64-hex-digit key naming it (its SHA-256, or when the
 * backend recorded none its content id), so a single-PUT object's ETag (its MD5, which S3
 * clients expect) can be given back although the MD5 is known only after the body was stored.
 * An append-only file of {@code key md5} lines; both name immutable content, so the index never
 * needs updating or deleting.
 */
final class EtagIndex implements AutoCloseable {
  private final ConcurrentHashMap<String, String> md5ByKey = new ConcurrentHashMap<>();
  private final FileChannel log;

  EtagIndex(Path file) {
    try {
      Files.createDirectories(file.toAbsolutePath().getParent());
      if (Files.exists(file)) {
        for (String line : Files.readAllLines(file, StandardCharsets.US_ASCII)) {
          String[] p = line.split(" ");
          if (p.length == 2 && p[0].length() == 64 && p[1].length() == 32) {
            md5ByKey.put(p[0], p[1]);
          }
        }
      }
      log = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot open ETag index " + file, e);
    }
  }

  void record(String key, String md5Hex) {
    if (key == null || md5ByKey.putIfAbsent(key, md5Hex) != null) {
      return;
    }
    try {
      ByteBuffer line = ByteBuffer.wrap((key + " " + md5Hex + "\n").getBytes(StandardCharsets.US_ASCII));
      synchronized (log) {
        while (line.hasRemaining()) {
          log.write(line);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot append to ETag index", e);
    }
  }

  String md5(String key) {
    return key == null ? null : md5ByKey.get(key);
  }

  @Override
  public void close() throws IOException {
    log.close();
  }
}
