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
 * Remembers the MD5 of content by its SHA-256, so a single-PUT object's ETag (its MD5, which S3
 * clients expect) can be given back although the backend keys content by SHA-256 and the MD5 is
 * known only after the body was stored. An append-only file of {@code sha256 md5} lines; both are
 * functions of the content, so the index never needs updating or deleting.
 */
final class EtagIndex implements AutoCloseable {
  private final ConcurrentHashMap<String, String> md5BySha256 = new ConcurrentHashMap<>();
  private final FileChannel log;

  EtagIndex(Path file) {
    try {
      Files.createDirectories(file.toAbsolutePath().getParent());
      if (Files.exists(file)) {
        for (String line : Files.readAllLines(file, StandardCharsets.US_ASCII)) {
          String[] p = line.split(" ");
          if (p.length == 2 && p[0].length() == 64 && p[1].length() == 32) {
            md5BySha256.put(p[0], p[1]);
          }
        }
      }
      log = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot open ETag index " + file, e);
    }
  }

  void record(String sha256, String md5Hex) {
    if (sha256 == null || md5BySha256.putIfAbsent(sha256, md5Hex) != null) {
      return;
    }
    try {
      ByteBuffer line = ByteBuffer.wrap((sha256 + " " + md5Hex + "\n").getBytes(StandardCharsets.US_ASCII));
      synchronized (log) {
        while (line.hasRemaining()) {
          log.write(line);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot append to ETag index", e);
    }
  }

  String md5(String sha256) {
    return sha256 == null ? null : md5BySha256.get(sha256);
  }

  @Override
  public void close() throws IOException {
    log.close();
  }
}
