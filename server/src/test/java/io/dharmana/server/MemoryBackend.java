package io.dharmana.server;

import io.dharmana.AlreadyExistsException;
import io.dharmana.CommitFailedException;
import io.dharmana.NotFoundException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Optional;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.stream.Stream;

/** Temporary stand-in until Repository lands. */
final class MemoryBackend implements ObjectBackend {
  private record Entry(StoredObject info, byte[] data) {}

  private final ConcurrentSkipListMap<String, Entry> objects = new ConcurrentSkipListMap<>();

  @Override
  public StoredObject put(String name, InputStream data, PutRequest request) {
    byte[] bytes;
    try {
      bytes = data.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return commit(name, bytes, request);
  }

  private synchronized StoredObject commit(String name, byte[] bytes, PutRequest request) {
    Entry current = objects.get(name);
    if (request.requireAbsent() && current != null) {
      throw new AlreadyExistsException("Cannot put " + name + ": exists");
    }
    if (request.requireVersion() >= 0 && (current == null || current.info().version() != request.requireVersion())) {
      throw new CommitFailedException("Cannot put " + name + ": version changed");
    }
    String sha;
    try {
      sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
    StoredObject info = new StoredObject(name, bytes.length, bytes.length, sha, Instant.now(),
        request.pipeline() == null ? "default" : request.pipeline(), request.attributes(), current == null ? 1 : current.info().version() + 1);
    objects.put(name, new Entry(info, bytes));
    return info;
  }

  @Override
  public InputStream open(String name) {
    Entry e = objects.get(name);
    if (e == null) {
      throw new NotFoundException("Cannot open " + name);
    }
    return new ByteArrayInputStream(e.data());
  }

  @Override
  public InputStream openRange(String name, long offset, long length) {
    Entry e = objects.get(name);
    if (e == null) {
      throw new NotFoundException("Cannot open " + name);
    }
    return new ByteArrayInputStream(e.data(), (int) offset, (int) length);
  }

  @Override
  public Optional<StoredObject> stat(String name) {
    return Optional.ofNullable(objects.get(name)).map(Entry::info);
  }

  @Override
  public Stream<StoredObject> list(String prefix) {
    return objects.tailMap(prefix).values().stream().map(Entry::info).takeWhile(o -> o.name().startsWith(prefix));
  }

  @Override
  public boolean remove(String name) {
    return objects.remove(name) != null;
  }

  @Override
  public boolean hasPipeline(String pipeline) {
    return pipeline.equals("default") || pipeline.equals("checkpoints");
  }

  @Override
  public String defaultPipeline() {
    return "default";
  }
}
