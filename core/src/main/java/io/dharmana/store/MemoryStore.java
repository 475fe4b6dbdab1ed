package io.dharmana.store;

import io.dharmana.AlreadyExistsException;
import io.dharmana.NotFoundException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Clock;
import java.time.Instant;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.ConcurrentNavigableMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.stream.Stream;

/**
 * Blobs held in the heap, for tests and as the fastest tier. Commit is a {@code putIfAbsent} on a
 * concurrent map, so exactly one of several racing writers wins. Nothing survives the process:
 * {@link #durable()} is false.
 */
final class MemoryStore implements BlobStore, SupportsListing, SupportsTouch {

  private record Blob(byte[] bytes, Instant lastModified) {}

  private final ConcurrentSkipListMap<String, Blob> blobs = new ConcurrentSkipListMap<>();
  private final Clock clock;

  MemoryStore(Clock clock) {
    this.clock = clock;
  }

  @Override
  public BlobInput open(String key) {
    Blob blob = blobs.get(Keys.check(key));
    if (blob == null) {
      throw new NotFoundException("Cannot open " + key + ": no such blob in the memory store");
    }
    return InMemoryInput.shared(blob.bytes());
  }

  @Override
  public BlobOutput create(String key) {
    return new MemoryOutput(Keys.check(key));
  }

  @Override
  public boolean delete(String key) {
    return blobs.remove(Keys.check(key)) != null;
  }

  @Override
  public boolean exists(String key) {
    return blobs.containsKey(Keys.check(key));
  }

  @Override
  public boolean durable() {
    return false;
  }

  @Override
  public Stream<BlobInfo> list(String prefix) {
    ConcurrentNavigableMap<String, Blob> view =
        prefix.isEmpty() ? blobs : blobs.tailMap(prefix, true);
    return view.entrySet().stream()
        .takeWhile(e -> e.getKey().startsWith(prefix))
        .map(e -> new BlobInfo(e.getKey(), e.getValue().bytes().length, e.getValue().lastModified()));
  }

  @Override
  public boolean touch(String key) {
    Keys.check(key);
    Instant now = clock.instant();
    return blobs.computeIfPresent(key, (k, blob) -> new Blob(blob.bytes(), now)) != null;
  }

  @Override
  public void close() {
    // Nothing to release: the blobs belong to the garbage collector once the store is dropped.
  }

  @Override
  public String toString() {
    return "memory";
  }

  private final class MemoryOutput extends BlobOutput {
    private final String key;
    private byte[] buffer = new byte[256];
    private int size;
    private boolean done;

    MemoryOutput(String key) {
      this.key = key;
    }

    @Override
    public String key() {
      return key;
    }

    @Override
    public synchronized long written() {
      return size;
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) throws IOException {
      if (done) {
        throw new IOException("Cannot write to " + key + ": the output is already closed or aborted");
      }
      Objects.checkFromIndexSize(off, len, b.length);
      if (size + len > buffer.length) {
        long wanted = Math.max((long) size + len, (long) buffer.length * 2);
        if (wanted > Integer.MAX_VALUE - 16) {
          throw new IOException("Cannot write " + key + ": a memory blob must stay below 2 GiB");
        }
        buffer = Arrays.copyOf(buffer, (int) wanted);
      }
      System.arraycopy(b, off, buffer, size, len);
      size += len;
    }

    @Override
    public synchronized void close() {
      if (done) {
        return;
      }
      done = true;
      byte[] bytes = size == buffer.length ? buffer : Arrays.copyOf(buffer, size);
      buffer = null;
      if (blobs.putIfAbsent(key, new Blob(bytes, clock.instant())) != null) {
        throw new AlreadyExistsException("Cannot commit " + key + ": a blob with this key already exists");
      }
    }

    @Override
    public synchronized void abort() {
      done = true;
      buffer = null;
    }
  }
}
