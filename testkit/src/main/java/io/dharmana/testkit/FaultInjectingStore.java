package io.dharmana.testkit;

import io.dharmana.store.BlobInput;
import io.dharmana.store.BlobOutput;
import io.dharmana.store.BlobStore;
import io.dharmana.store.ForwardingBlobStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;

/**
 * A store decorator that misbehaves on purpose, in the manner of Lucene's {@code
 * MockDirectoryWrapper}: seeded random I/O errors, a simulated crash that loses every blob not
 * yet committed, and bit flips on read. Code under test must survive each of them without losing
 * or corrupting committed data.
 *
 * <p>Faults are drawn from one {@link Random} seeded at construction, so a failing run repeats
 * with the same seed when the calls arrive in the same order (single-threaded use).
 *
 * <p>An injected failure on {@link Operation#CLOSE} aborts the wrapped output first: like a real
 * failed commit it leaves nothing visible.
 */
public class FaultInjectingStore extends ForwardingBlobStore {

  /** The calls that can be made to fail. */
  public enum Operation {
    /** {@link BlobStore#open}: throws {@link UncheckedIOException}. */
    OPEN,
    /** {@link BlobStore#create}: throws {@link UncheckedIOException}. */
    CREATE,
    /** {@link BlobOutput#write}: throws {@link IOException}. */
    WRITE,
    /** {@link BlobOutput#close}: aborts, then throws {@link IOException}. */
    CLOSE,
    /** {@link BlobInput#read}: throws {@link IOException}. */
    READ
  }

  private final long seed;
  private final Random random;
  private final Set<FaultyOutput> uncommitted = ConcurrentHashMap.newKeySet();
  private final AtomicLong injected = new AtomicLong();
  private volatile double failureProbability;
  private volatile Set<Operation> failing = EnumSet.allOf(Operation.class);
  private volatile Predicate<String> flipOnRead = key -> false;

  public FaultInjectingStore(BlobStore delegate, long seed) {
    super(delegate);
    this.seed = seed;
    this.random = new Random(seed);
  }

  /** The seed faults are drawn from. */
  public long seed() {
    return seed;
  }

  /**
   * Makes each call of the {@linkplain #failOn chosen operations} fail with this probability.
   *
   * @throws IllegalArgumentException unless {@code probability} is in [0, 1]
   */
  public FaultInjectingStore failureProbability(double probability) {
    if (!(probability >= 0 && probability <= 1)) {
      throw new IllegalArgumentException("Invalid failure probability " + probability + ": allowed is [0, 1]");
    }
    this.failureProbability = probability;
    return this;
  }

  /** Restricts injected failures to these operations (all by default). */
  public FaultInjectingStore failOn(Operation first, Operation... more) {
    this.failing = EnumSet.of(first, more);
    return this;
  }

  /**
   * Flips one bit of every blob whose key matches, as seen by reads through this store. The bit
   * is chosen from the seed and the key, so every read of a blob sees the same corruption.
   */
  public FaultInjectingStore flipBitOnRead(Predicate<String> keys) {
    this.flipOnRead = Objects.requireNonNull(keys, "keys");
    return this;
  }

  /** Number of failures injected so far (bit flips not counted). */
  public long injectedFailures() {
    return injected.get();
  }

  /**
   * Simulates a crash: every output not yet committed is aborted, and further writes or a close
   * on it fail. Committed blobs are kept, as the store's durability contract promises.
   */
  public void crash() {
    for (FaultyOutput out : uncommitted) {
      out.crash();
    }
  }

  private void maybeFail(Operation operation, String key) throws IOException {
    if (failureProbability == 0 || !failing.contains(operation)) {
      return;
    }
    boolean fail;
    synchronized (random) {
      fail = random.nextDouble() < failureProbability;
    }
    if (fail) {
      injected.incrementAndGet();
      throw new IOException("Injected failure on " + operation + " of " + key + " (seed " + seed + ")");
    }
  }

  @Override
  public BlobInput open(String key) {
    try {
      maybeFail(Operation.OPEN, key);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot open " + key + ": " + e.getMessage(), e);
    }
    BlobInput in = super.open(key);
    return new FaultyInput(key, in, flipOnRead.test(key));
  }

  @Override
  public BlobOutput create(String key) {
    try {
      maybeFail(Operation.CREATE, key);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot create " + key + ": " + e.getMessage(), e);
    }
    FaultyOutput out = new FaultyOutput(super.create(key));
    uncommitted.add(out);
    return out;
  }

  private final class FaultyInput implements BlobInput {
    private final String key;
    private final BlobInput in;
    private final long flipPosition;
    private final int flipMask;

    FaultyInput(String key, BlobInput in, boolean flip) {
      this.key = key;
      this.in = in;
      Random choice = new Random(seed ^ key.hashCode());
      this.flipPosition = flip && in.length() > 0 ? (long) (choice.nextDouble() * in.length()) : -1;
      this.flipMask = 1 << choice.nextInt(8);
    }

    @Override
    public long length() {
      return in.length();
    }

    @Override
    public int read(long position, ByteBuffer dst) throws IOException {
      maybeFail(Operation.READ, key);
      int start = dst.position();
      int n = in.read(position, dst);
      if (n > 0 && flipPosition >= position && flipPosition < position + n) {
        int at = start + (int) (flipPosition - position);
        dst.put(at, (byte) (dst.get(at) ^ flipMask));
      }
      return n;
    }

    @Override
    public void close() throws IOException {
      in.close();
    }
  }

  private final class FaultyOutput extends BlobOutput {
    private final BlobOutput out;
    private volatile boolean crashed;

    FaultyOutput(BlobOutput out) {
      this.out = out;
    }

    void crash() {
      crashed = true;
      out.abort();
      uncommitted.remove(this);
    }

    @Override
    public String key() {
      return out.key();
    }

    @Override
    public long written() {
      return out.written();
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      if (crashed) {
        throw new IOException("Cannot write " + key() + ": the store crashed (simulated)");
      }
      maybeFail(Operation.WRITE, key());
      out.write(b, off, len);
    }

    @Override
    public void close() throws IOException {
      if (!uncommitted.remove(this)) {
        if (crashed) {
          throw new IOException("Cannot commit " + key() + ": the store crashed (simulated)");
        }
        return; // already closed or aborted
      }
      try {
        maybeFail(Operation.CLOSE, key());
      } catch (IOException e) {
        out.abort();
        throw e;
      }
      out.close();
    }

    @Override
    public void abort() {
      uncommitted.remove(this);
      out.abort();
    }
  }
}
