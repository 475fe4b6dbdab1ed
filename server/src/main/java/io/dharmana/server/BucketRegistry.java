package io.dharmana.server;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The buckets and the pipeline each is bound to, persisted as lines {@code bucket pipeline
 * created-epoch-millis} in one file that is replaced atomically on every change.
 */
final class BucketRegistry {
  record Bucket(String name, String pipeline, Instant created) {}

  private final Path file;
  private final TreeMap<String, Bucket> buckets = new TreeMap<>();

  BucketRegistry(Path file) {
    this.file = file;
    if (Files.exists(file)) {
      try {
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
          String[] p = line.trim().split(" ");
          if (p.length == 3) {
            buckets.put(p[0], new Bucket(p[0], p[1], Instant.ofEpochMilli(Long.parseLong(p[2]))));
          }
        }
      } catch (IOException e) {
        throw new UncheckedIOException("Cannot read bucket registry " + file, e);
      }
    }
  }

  synchronized Optional<Bucket> get(String name) {
    return Optional.ofNullable(buckets.get(name));
  }

  synchronized List<Bucket> all() {
    return new ArrayList<>(buckets.values());
  }

  /** Adds the bucket; returns false when it already exists. */
  synchronized boolean add(Bucket bucket) {
    if (buckets.containsKey(bucket.name())) {
      return false;
    }
    buckets.put(bucket.name(), bucket);
    save();
    return true;
  }

  synchronized boolean remove(String name) {
    if (buckets.remove(name) == null) {
      return false;
    }
    save();
    return true;
  }

  private void save() {
    StringBuilder sb = new StringBuilder();
    for (Bucket b : buckets.values()) {
      sb.append(b.name()).append(' ').append(b.pipeline()).append(' ').append(b.created().toEpochMilli()).append('\n');
    }
    try {
      Files.createDirectories(file.toAbsolutePath().getParent());
      Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
      Files.writeString(tmp, sb.toString(), StandardCharsets.UTF_8);
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot save bucket registry " + file, e);
    }
  }
}
