package io.dharmana.bench;

import io.dharmana.stage.Stage;
import io.dharmana.stage.StageChain;
import io.dharmana.stage.StageContext;
import io.dharmana.stage.StageSpec;
import io.dharmana.stage.Stages;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Encode and decode throughput of each built-in stage on one chunk of float-like data (fp32
 * values from a normal distribution with standard deviation 0.02, like trained weights).
 *
 * <p>Scores are operations per second on one chunk; multiply by the chunk size for bytes per
 * second. Run: {@code java -jar bench/target/benchmarks.jar StageBenchmark -f 1 -wi 1 -i 2 -r 1s -w 1s}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 3, time = 1)
public class StageBenchmark {
  private static final String KEY_ENV = "DHARMANA_BENCH_KEY";

  /** The stages measured, by a short label (a stage name, or name:value of its one parameter). */
  private static final Map<String, StageSpec> SPECS = new LinkedHashMap<>();

  static {
    SPECS.put("zstd:3", StageSpec.of("zstd", Map.of("level", "3")));
    SPECS.put("zstd:1", StageSpec.of("zstd", Map.of("level", "1")));
    SPECS.put("lz4", StageSpec.of("lz4"));
    SPECS.put("byte-planes", StageSpec.of("byte-planes", Map.of("width", "4")));
    SPECS.put("checksum", StageSpec.of("checksum"));
    SPECS.put("checksum:sha256", StageSpec.of("checksum", Map.of("algorithm", "sha256")));
    SPECS.put("aes-gcm", StageSpec.of("aes-gcm", Map.of("key-env", KEY_ENV)));
  }

  /** The design's float pipeline, measured as one unit: what a put of a float tensor costs. */
  private static final List<StageSpec> FLOAT_PIPELINE = List.of(
      StageSpec.of("byte-planes", Map.of("width", "4")),
      StageSpec.of("zstd", Map.of("level", "3")),
      StageSpec.of("checksum"),
      StageSpec.of("aes-gcm", Map.of("key-env", KEY_ENV)));

  @Param({"zstd:3", "zstd:1", "lz4", "byte-planes", "checksum", "checksum:sha256", "aes-gcm", "float-pipeline"})
  public String stage;

  @Param({"65536", "1048576"})
  public int chunkSize;

  private Codec instance;
  private byte[] chunk;
  private byte[] encoded;

  @Setup(Level.Trial)
  public void setUp() {
    byte[] key = new byte[32];
    new Random(1).nextBytes(key);
    StageContext context = StageContext.of(Map.of(KEY_ENV, HexFormat.of().formatHex(key)));
    if (stage.equals("float-pipeline")) {
      StageChain chain = Stages.chain(FLOAT_PIPELINE, context);
      instance = new Codec(chain::encode, chain::decode);
    } else {
      Stage single = Stages.create(SPECS.get(stage), context);
      instance = new Codec(single::encode, single::decode);
    }
    chunk = floatLike(new Random(42), chunkSize);
    encoded = instance.encode(chunk);
  }

  /** One stage or a chain, seen the same way by the benchmark methods. */
  private record Codec(UnaryOperator<byte[]> encoder, UnaryOperator<byte[]> decoder) {
    byte[] encode(byte[] input) {
      return encoder.apply(input);
    }

    byte[] decode(byte[] stored) {
      return decoder.apply(stored);
    }
  }

  static byte[] floatLike(Random random, int length) {
    ByteBuffer buffer = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
    while (buffer.remaining() >= 4) {
      buffer.putFloat((float) (random.nextGaussian() * 0.02));
    }
    return buffer.array();
  }

  @Benchmark
  public byte[] encode() {
    return instance.encode(chunk);
  }

  @Benchmark
  public void decode(Blackhole blackhole) {
    blackhole.consume(instance.decode(encoded));
  }
}
