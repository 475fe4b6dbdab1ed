package io.dharmana.testkit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.dharmana.CorruptDataException;
import io.dharmana.stage.Stage;
import io.dharmana.stage.StageContext;
import io.dharmana.stage.StageFactory;
import io.dharmana.stage.Stages;
import io.dharmana.stage.SupportsBufferDecode;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The contract every {@link Stage} must pass. Extend it, return the stage under test from {@link
 * #newStage()} (and, if its spec needs secrets, the context holding them from {@link #context()}).
 *
 * <p>Property tests run once per seed from {@link #seeds()}; every assertion message starts with
 * the seed so that a failure can be repeated. Checked: exact round trips (for stages that are not
 * lossy) on random bytes, fp32 and bf16 tensors, empty input, one byte, every size from 1 to 33,
 * sizes that are not a multiple of 4 or 8, and 1 MiB; deterministic encoding; slices encode like
 * copies; neither encode nor decode modifies its input; a stage recreated from its recorded spec
 * decodes what it wrote; for stages that {@link Stage#detectsCorruption() detect corruption}, a
 * flipped bit, a truncation or garbage always throws {@link CorruptDataException}; for every
 * stage, damaged input never throws anything else (no out-of-bounds, no out-of-memory); and
 * concurrent use from 4 threads gives the single-threaded results. A stage that also {@link
 * SupportsBufferDecode decodes into buffers} must decode every round trip's encoding to the same
 * bytes from a heap slice, a read-only direct buffer and a read-only heap buffer, and detect the
 * same damage that way.
 *
 * <p>A stage must be registered (its factory listed in {@code
 * META-INF/services/io.dharmana.stage.StageFactory}) since the recorded-spec test recreates it
 * through {@link Stages}. Modules outside testkit depend on {@code dharmana-testkit} with test
 * scope and extend this class, one subclass (or {@code @Nested} subclass) per parameter set:
 *
 * <pre>{@code
 * class MyStageTest extends StageContractTest {
 *   protected Stage newStage() {
 *     return Stages.create(StageSpec.of("my-stage", Map.of("width", "2")), context());
 *   }
 * }
 * }</pre>
 */
public abstract class StageContractTest {

  /** A stage to test; each call may return a new instance with the same parameters. */
  protected abstract Stage newStage();

  /** The context stages are recreated with from their recorded spec (secrets live here). */
  protected StageContext context() {
    return StageContext.of(Map.of());
  }

  /**
   * Checks a lossy stage's output against its input; stages that are not lossy are always
   * compared byte for byte and never reach this method.
   */
  protected void assertApproximatelyEqual(byte[] original, byte[] decoded, String message) {
    fail(message + ": a lossy stage's test must override assertApproximatelyEqual");
  }

  /** Seeds of the property tests: fixed, so runs repeat; add one to chase a failure. */
  public static LongStream seeds() {
    return LongStream.of(1, 2, 3, 0x5eed, 20261122);
  }

  private static final String SEEDS = "io.dharmana.testkit.StageContractTest#seeds";

  // ---------------------------------------------------------------------------------------- round trips

  @ParameterizedTest
  @MethodSource(SEEDS)
  public void roundTripsRandomBytes(long seed) {
    Random random = new Random(seed);
    Stage stage = newStage();
    for (int i = 0; i < 6; i++) {
      int length = random.nextInt(i < 3 ? 4096 : 300_000);
      assertRoundTrip(stage, StageInputs.randomBytes(random, length), seed, "random bytes, length " + length);
    }
  }

  @ParameterizedTest
  @MethodSource(SEEDS)
  public void roundTripsFloat32Tensors(long seed) {
    Random random = new Random(seed);
    Stage stage = newStage();
    for (double stddev : new double[] {0.02, 1.0, 1e-6}) {
      int count = 1 + random.nextInt(65_536);
      assertRoundTrip(stage, StageInputs.float32(random, count, stddev), seed, count + " fp32 values, stddev " + stddev);
    }
  }

  @ParameterizedTest
  @MethodSource(SEEDS)
  public void roundTripsBfloat16Tensors(long seed) {
    Random random = new Random(seed);
    Stage stage = newStage();
    for (double stddev : new double[] {0.02, 1.0}) {
      int count = 1 + random.nextInt(65_536);
      assertRoundTrip(stage, StageInputs.bfloat16(random, count, stddev), seed, count + " bf16 values, stddev " + stddev);
    }
  }

  @Test
  public void roundTripsEmptyInput() {
    assertRoundTrip(newStage(), new byte[0], 0, "empty input");
  }

  @Test
  public void roundTripsEveryOneByteInput() {
    Stage stage = newStage();
    for (int b = 0; b < 256; b++) {
      assertRoundTrip(stage, new byte[] {(byte) b}, 0, "the one byte " + b);
    }
  }

  @ParameterizedTest
  @MethodSource(SEEDS)
  public void roundTripsEverySizeFrom1To33(long seed) {
    Random random = new Random(seed);
    Stage stage = newStage();
    for (int length = 1; length <= 33; length++) {
      assertRoundTrip(stage, StageInputs.randomBytes(random, length), seed, "random bytes, length " + length);
      assertRoundTrip(stage, StageInputs.floatLike(random, length), seed, "float-like bytes, length " + length);
      assertRoundTrip(stage, new byte[length], seed, "zeros, length " + length);
    }
  }

  @ParameterizedTest
  @MethodSource(SEEDS)
  public void roundTripsSizesThatAreNotAMultipleOfTheWidth(long seed) {
    Random random = new Random(seed);
    Stage stage = newStage();
    for (int i = 0; i < 8; i++) {
      int length;
      do {
        length = 1 + random.nextInt(200_000);
      } while (length % 4 == 0 || length % 8 == 0);
      assertRoundTrip(stage, StageInputs.floatLike(random, length), seed, "float-like bytes, length " + length);
    }
  }

  @ParameterizedTest
  @MethodSource(SEEDS)
  public void roundTripsOneMebibyte(long seed) {
    Random random = new Random(seed);
    Stage stage = newStage();
    assertRoundTrip(stage, StageInputs.floatLike(random, 1 << 20), seed, "1 MiB of float-like bytes");
    assertRoundTrip(stage, StageInputs.repetitive(random, 1 << 20), seed, "1 MiB of a repeated pattern");
    assertRoundTrip(stage, new byte[1 << 20], seed, "1 MiB of zeros");
  }

  // ---------------------------------------------------------------------------------------- encoding

  @ParameterizedTest
  @MethodSource(SEEDS)
  public void encodeIsDeterministic(long seed) {
    Random random = new Random(seed);
    Stage first = newStage();
    Stage second = newStage();
    for (int i = 0; i < 6; i++) {
      byte[] input = i % 2 == 0 ? StageInputs.floatLike(random, random.nextInt(100_000)) : StageInputs.randomBytes(random, random.nextInt(1000));
      byte[] encoded = first.encode(input);
      assertArrayEquals(encoded, first.encode(input), message(seed, first, "encoding " + input.length + " bytes twice"));
      assertArrayEquals(encoded, second.encode(input), message(seed, first, "encoding " + input.length + " bytes with a second instance"));
    }
  }

  @ParameterizedTest
  @MethodSource(SEEDS)
  public void encodeOfASliceEqualsEncodeOfItsCopy(long seed) {
    Random random = new Random(seed);
    Stage stage = newStage();
    for (int i = 0; i < 8; i++) {
      byte[] input = StageInputs.floatLike(random, 1 + random.nextInt(50_000));
      int offset = random.nextInt(input.length + 1);
      int length = random.nextInt(input.length - offset + 1);
      byte[] copy = Arrays.copyOfRange(input, offset, offset + length);
      assertArrayEquals(stage.encode(copy), stage.encode(input, offset, length),
          message(seed, stage, "slice at " + offset + " of " + length + " bytes of " + input.length));
    }
  }

  @ParameterizedTest
  @MethodSource(SEEDS)
  public void neitherEncodeNorDecodeModifiesItsInput(long seed) {
    Random random = new Random(seed);
    Stage stage = newStage();
    byte[] input = StageInputs.floatLike(random, 10_000 + random.nextInt(10_000));
    byte[] inputCopy = input.clone();
    byte[] encoded = stage.encode(input);
    assertArrayEquals(inputCopy, input, message(seed, stage, "encode changed its input"));
    byte[] encodedCopy = encoded.clone();
    stage.decode(encoded);
    assertArrayEquals(encodedCopy, encoded, message(seed, stage, "decode changed its input"));
  }

  @Test
  public void aStageRecreatedFromItsRecordedSpecDecodesWhatItWrote() {
    Stage stage = newStage();
    assertNotNull(stage.spec(), stage + ": spec");
    assertEquals(stage.name(), stage.spec().name(), stage + ": name and spec name");
    assertEquals(stage.version(), stage.spec().version(), stage + ": version and spec version");
    assertTrue(stage.version() >= 1, stage + ": a recorded spec must carry a concrete format version");
    StageFactory factory = Stages.factory(stage.name());
    assertTrue(factory.parameterNames().containsAll(stage.spec().params().keySet()),
        stage + ": recorded parameters " + stage.spec().params().keySet() + " must be ones the factory accepts " + factory.parameterNames());
    assertEquals(factory.lossy(), stage.lossy(), stage + ": factory and stage must agree on lossy");

    Stage recreated = Stages.create(stage.spec(), context());
    assertEquals(stage.spec(), recreated.spec(), stage + ": recreating from the spec must give the same spec");
    byte[] input = StageInputs.floatLike(new Random(7), 5000);
    byte[] decoded = recreated.decode(stage.encode(input));
    assertDecoded(stage, input, decoded, stage + ": recreated stage decoding");
  }

  // ---------------------------------------------------------------------------------------- damage

  @ParameterizedTest
  @MethodSource(SEEDS)
  public void aFlippedBitIsDetected(long seed) {
    Stage stage = newStage();
    Assumptions.assumeTrue(stage.detectsCorruption(), stage + " does not claim to detect corruption");
    Random random = new Random(seed);
    List<byte[]> inputs = List.of(
        new byte[0],
        StageInputs.randomBytes(random, 1 + random.nextInt(64)),
        StageInputs.floatLike(random, 1 + random.nextInt(300_000)),
        StageInputs.repetitive(random, 1 + random.nextInt(300_000)),
        StageInputs.randomBytes(random, 1 + random.nextInt(100_000)));
    for (byte[] input : inputs) {
      byte[] encoded = stage.encode(input);
      // small encodings: every bit; larger ones: bits at random positions, one at a time
      int flips = encoded.length <= 64 ? encoded.length * 8 : 24;
      for (int f = 0; f < flips; f++) {
        int bit = encoded.length <= 64 ? f : random.nextInt(encoded.length * 8);
        byte[] damaged = encoded.clone();
        damaged[bit >>> 3] ^= (byte) (1 << (bit & 7));
        assertCorruptionDetected(stage, damaged, seed,
            "bit " + bit + " of " + encoded.length + " encoded bytes (from " + input.length + " input bytes) flipped");
      }
    }
  }

  @ParameterizedTest
  @MethodSource(SEEDS)
  public void truncatedOrExtendedInputIsRejectedOrHarmless(long seed) {
    Random random = new Random(seed);
    Stage stage = newStage();
    for (byte[] input : List.of(new byte[0], StageInputs.floatLike(random, 1 + random.nextInt(100)),
        StageInputs.floatLike(random, 1 + random.nextInt(200_000)))) {
      byte[] encoded = stage.encode(input);
      List<Integer> lengths = new ArrayList<>();
      if (encoded.length <= 200) {
        for (int length = 0; length < encoded.length; length++) {
          lengths.add(length);
        }
      } else {
        lengths.addAll(List.of(0, 1, 2, 3, 4, 5, 8, 13, 16, 29, encoded.length - 1, encoded.length / 2));
        for (int i = 0; i < 8; i++) {
          lengths.add(random.nextInt(encoded.length));
        }
      }
      for (int length : lengths) {
        assertDamageHandled(stage, Arrays.copyOf(encoded, length), seed,
            "truncated to " + length + " of " + encoded.length + " encoded bytes");
      }
      for (int extra : new int[] {1, 4, 17}) {
        byte[] extended = Arrays.copyOf(encoded, encoded.length + extra);
        for (int i = encoded.length; i < extended.length; i++) {
          extended[i] = (byte) random.nextInt(256);
        }
        assertDamageHandled(stage, extended, seed, extra + " bytes appended to " + encoded.length + " encoded bytes");
      }
    }
  }

  @ParameterizedTest
  @MethodSource(SEEDS)
  public void garbageInputIsRejectedOrHarmless(long seed) {
    Random random = new Random(seed);
    Stage stage = newStage();
    for (int i = 0; i < 40; i++) {
      int length = i < 20 ? random.nextInt(40) : random.nextInt(100_000);
      assertDamageHandled(stage, StageInputs.randomBytes(random, length), seed, "random garbage of " + length + " bytes");
    }
    for (int length : new int[] {1, 4, 8, 16, 64, 4096}) {
      byte[] ones = new byte[length];
      Arrays.fill(ones, (byte) 0xff);
      assertDamageHandled(stage, ones, seed, length + " bytes of 0xff");
      // erased or zeroed media: zeros may be a valid encoding only for stages that detect nothing
      assertDamageHandled(stage, new byte[length], seed, length + " zero bytes");
    }
    // a valid encoding with its first bytes (where lengths and headers live) set to the maximum
    byte[] encoded = stage.encode(StageInputs.floatLike(random, 1000));
    for (int prefix = 1; prefix <= Math.min(16, encoded.length); prefix++) {
      byte[] damaged = encoded.clone();
      Arrays.fill(damaged, 0, prefix, (byte) 0xff);
      assertDamageHandled(stage, damaged, seed, "first " + prefix + " encoded bytes set to 0xff");
    }
  }

  // ---------------------------------------------------------------------------------------- threads

  @ParameterizedTest
  @MethodSource(SEEDS)
  public void concurrentUseFromFourThreadsGivesTheSingleThreadedResults(long seed) throws Exception {
    Random random = new Random(seed);
    Stage stage = newStage();
    int threads = 4;
    int perThread = 24;
    List<byte[]> inputs = new ArrayList<>();
    List<byte[]> expected = new ArrayList<>();
    for (int i = 0; i < threads * perThread; i++) {
      byte[] input = i % 3 == 0 ? StageInputs.randomBytes(random, random.nextInt(20_000)) : StageInputs.floatLike(random, random.nextInt(70_000));
      inputs.add(input);
      expected.add(stage.encode(input));
    }
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<?>> futures = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int first = t;
        futures.add(pool.submit(() -> {
          // each thread walks all inputs from its own start, so threads overlap on the same data
          for (int k = 0; k < inputs.size(); k++) {
            int i = (first * perThread + k) % inputs.size();
            byte[] encoded = stage.encode(inputs.get(i));
            assertArrayEquals(expected.get(i), encoded, message(seed, stage, "encoding input " + i + " on thread " + first));
            assertDecoded(stage, inputs.get(i), stage.decode(encoded), message(seed, stage, "decoding input " + i + " on thread " + first));
          }
          return null;
        }));
      }
      for (Future<?> future : futures) {
        future.get(5, TimeUnit.MINUTES);
      }
    } finally {
      pool.shutdownNow();
    }
  }

  // ---------------------------------------------------------------------------------------- helpers

  /** Encodes and decodes {@code input} and checks the result, returning the encoding. */
  protected final byte[] assertRoundTrip(Stage stage, byte[] input, long seed, String what) {
    byte[] encoded = stage.encode(input);
    assertNotNull(encoded, message(seed, stage, what + ": encode returned null"));
    byte[] decoded = stage.decode(encoded);
    assertDecoded(stage, input, decoded, message(seed, stage, what));
    if (stage instanceof SupportsBufferDecode buffers) {
      for (Source source : Source.values()) {
        ByteBuffer from = source.of(encoded);
        int position = from.position();
        byte[] viaBuffers = decodeThroughBuffers(buffers, from);
        assertEquals(position, from.position(), message(seed, stage, what + ": decoding from a " + source + " moved its position"));
        assertArrayEquals(decoded, viaBuffers, message(seed, stage, what + ": decoding from a " + source + " into a direct buffer"));
      }
    }
    return encoded;
  }

  /** The kinds of buffer a {@link SupportsBufferDecode} stage must decode from. */
  private enum Source {
    HEAP_SLICE {
      @Override
      ByteBuffer of(byte[] encoded) {
        // not at position 0 of its array, to catch an offset mistaken for a position
        byte[] padded = new byte[encoded.length + 7];
        System.arraycopy(encoded, 0, padded, 3, encoded.length);
        return ByteBuffer.wrap(padded, 3, encoded.length).slice().position(0);
      }
    },
    DIRECT {
      @Override
      ByteBuffer of(byte[] encoded) {
        ByteBuffer direct = ByteBuffer.allocateDirect(encoded.length + 5).position(5);
        direct.put(encoded).flip().position(5);
        return direct.asReadOnlyBuffer();
      }
    },
    READ_ONLY_HEAP {
      @Override
      ByteBuffer of(byte[] encoded) {
        return ByteBuffer.wrap(encoded.clone()).asReadOnlyBuffer();
      }
    };

    abstract ByteBuffer of(byte[] encoded);
  }

  /** Decodes through {@link SupportsBufferDecode} into a direct buffer written from a position past 0. */
  private static byte[] decodeThroughBuffers(SupportsBufferDecode stage, ByteBuffer encoded) {
    int length = stage.decodedLength(encoded);
    ByteBuffer out = ByteBuffer.allocateDirect(length + 11).position(11);
    int written = stage.decode(encoded, out);
    assertEquals(length, written, "bytes written against decodedLength");
    assertEquals(11 + length, out.position(), "position after decoding");
    byte[] result = new byte[length];
    out.get(11, result);
    return result;
  }

  private void assertDecoded(Stage stage, byte[] input, byte[] decoded, String message) {
    if (stage.lossy()) {
      assertEquals(input.length, decoded.length, message + ": decoded length");
      assertApproximatelyEqual(input, decoded, message);
    } else if (!Arrays.equals(input, decoded)) {
      fail(message + ": decoded " + decoded.length + " bytes differ from the " + input.length
          + " input bytes (first difference at " + Arrays.mismatch(input, decoded) + ")");
    }
  }

  private static void assertCorruptionDetected(Stage stage, byte[] damaged, long seed, String what) {
    assertCorruptionDetectedInBuffers(stage, damaged, seed, what);
    byte[] decoded;
    try {
      decoded = stage.decode(damaged);
    } catch (CorruptDataException expected) {
      assertFalse(expected.getMessage() == null || expected.getMessage().isBlank(), message(seed, stage, what + ": empty message"));
      return;
    } catch (Throwable other) {
      throw new AssertionError(message(seed, stage, what + ": decode threw " + other + " instead of CorruptDataException"), other);
    }
    fail(message(seed, stage, what + ": decode returned " + decoded.length + " bytes instead of throwing CorruptDataException"));
  }

  /** The same damage must be caught when decoding through {@link SupportsBufferDecode}, from either kind of buffer. */
  private static void assertCorruptionDetectedInBuffers(Stage stage, byte[] damaged, long seed, String what) {
    if (!(stage instanceof SupportsBufferDecode buffers)) {
      return;
    }
    for (Source source : new Source[] {Source.HEAP_SLICE, Source.DIRECT}) {
      byte[] decoded;
      try {
        decoded = decodeThroughBuffers(buffers, source.of(damaged));
      } catch (CorruptDataException expected) {
        continue;
      } catch (Throwable other) {
        throw new AssertionError(message(seed, stage, what + ": decoding from a " + source + " threw " + other
            + " instead of CorruptDataException"), other);
      }
      fail(message(seed, stage, what + ": decoding from a " + source + " returned " + decoded.length
          + " bytes instead of throwing CorruptDataException"));
    }
  }

  /**
   * A stage that detects corruption must reject damaged input; any other stage may decode it to
   * something but must fail, if at all, only with {@link CorruptDataException}.
   */
  private static void assertDamageHandled(Stage stage, byte[] damaged, long seed, String what) {
    if (stage.detectsCorruption()) {
      assertCorruptionDetected(stage, damaged, seed, what);
    } else {
      assertDecodeFailsOnlyAsCorrupt(stage, damaged, seed, what);
    }
  }

  private static void assertDecodeFailsOnlyAsCorrupt(Stage stage, byte[] damaged, long seed, String what) {
    try {
      stage.decode(damaged);
    } catch (CorruptDataException expected) {
      // detected: fine
    } catch (Throwable other) {
      throw new AssertionError(message(seed, stage, what + ": decode threw " + other + " instead of CorruptDataException"), other);
    }
  }

  private static String message(long seed, Stage stage, String what) {
    return "seed " + seed + ", stage " + stage.spec() + ": " + what;
  }
}
