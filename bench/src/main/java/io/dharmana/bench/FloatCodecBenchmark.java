package io.dharmana.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.luben.zstd.Zstd;
import io.dharmana.tensor.DType;
import io.dharmana.tensor.codec.FloatCodec;
import io.dharmana.tensor.codec.FloatCodecOptions;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Encode and decode throughput of {@link FloatCodec} on the tensors of the corpus file
 * {@code w_step2000.safetensors} (fp32 weights), or 3.5 MB of synthetic normal fp32 values when the
 * corpus is absent. One operation codes every tensor of the file once; MB/s = ops/s × the data
 * size printed at setup. {@code delta} codes step 2010 against step 2000.
 *
 * <pre>java -jar bench/target/benchmarks.jar FloatCodec -f 1 -wi 2 -i 3 -w 1s -r 1s</pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class FloatCodecBenchmark {
  @Param({"1", "2"})
  public int threads;

  @Param({"plain", "delta"})
  public String mode;

  private FloatCodec codec;
  private final List<ByteBuffer> data = new ArrayList<>();
  private final List<ByteBuffer> parents = new ArrayList<>();
  private final List<byte[]> encoded = new ArrayList<>();
  private final List<byte[]> raw = new ArrayList<>();
  private final List<byte[]> zstd = new ArrayList<>();

  @Setup
  public void setup() throws IOException {
    codec = FloatCodec.create(FloatCodecOptions.DEFAULT.withThreads(threads));
    Path dir = corpus();
    boolean delta = mode.equals("delta");
    if (dir != null) {
      byte[] file = Files.readAllBytes(dir.resolve(delta ? "w_step2010.safetensors" : "w_step2000.safetensors"));
      byte[] base = delta ? Files.readAllBytes(dir.resolve("w_step2000.safetensors")) : null;
      for (int[] t : tensors(file)) {
        data.add(ByteBuffer.wrap(file, t[0], t[1]).slice());
        parents.add(base == null ? null : ByteBuffer.wrap(base, t[0], t[1]).slice());
      }
    } else {
      Random r = new Random(2000);
      for (int t = 0; t < 14; t++) {
        ByteBuffer b = ByteBuffer.allocate(256 * 1024).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer p = ByteBuffer.allocate(256 * 1024).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
          float v = (float) (r.nextGaussian() * 0.05);
          p.putFloat(v);
          b.putFloat(v + (float) (r.nextGaussian() * 1e-4));
        }
        data.add(b.flip());
        parents.add(delta ? p.flip() : null);
      }
    }
    long bytes = 0;
    long stored = 0;
    long zstdStored = 0;
    for (int i = 0; i < data.size(); i++) {
      byte[] e = codec.encode(DType.F32, data.get(i), parents.get(i));
      encoded.add(e);
      bytes += data.get(i).remaining();
      stored += e.length;
      byte[] r = new byte[data.get(i).remaining()];
      data.get(i).duplicate().get(r);
      raw.add(r);
      byte[] z = Zstd.compress(r, 3);
      zstd.add(z);
      zstdStored += z.length;
    }
    System.out.printf("%nFloatCodecBenchmark %s: %d bytes of fp32 tensor data (%s), ratio %.4f (zstd -3: %.4f); MB/s = ops/s x %.3f%n",
        mode, bytes, dir != null ? "corpus" : "synthetic", (double) bytes / stored, (double) bytes / zstdStored, bytes / 1e6);
  }

  @Benchmark
  public void encode(Blackhole bh) {
    for (int i = 0; i < data.size(); i++) {
      bh.consume(codec.encode(DType.F32, data.get(i), parents.get(i)));
    }
  }

  @Benchmark
  public void decode(Blackhole bh) {
    for (int i = 0; i < data.size(); i++) {
      ByteBuffer out = ByteBuffer.allocate(data.get(i).remaining());
      codec.decode(encoded.get(i), DType.F32, parents.get(i), out);
      bh.consume(out);
    }
  }

  /** Baseline in the same sitting: zstd level 3 (zstd-jni) on the same tensors, one thread. */
  @Benchmark
  public void zstdCompress(Blackhole bh) {
    if (threads == 1 && mode.equals("plain")) {
      for (byte[] r : raw) {
        bh.consume(Zstd.compress(r, 3));
      }
    }
  }

  @Benchmark
  public void zstdDecompress(Blackhole bh) {
    if (threads == 1 && mode.equals("plain")) {
      for (int i = 0; i < raw.size(); i++) {
        bh.consume(Zstd.decompress(zstd.get(i), raw.get(i).length));
      }
    }
  }

  static Path corpus() {
    String env = System.getenv("DHARMANA_CORPUS");
    if (env != null && Files.isDirectory(Path.of(env, "checkpoints"))) {
      return Path.of(env, "checkpoints");
    }
    for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
      Path c = d.resolve("shared").resolve("corpus").resolve("checkpoints");
      if (Files.isDirectory(c)) {
        return c;
      }
    }
    return null;
  }

  /** {offset, length} of every F32 tensor of a safetensors file. */
  static List<int[]> tensors(byte[] f) throws IOException {
    int n = (int) ByteBuffer.wrap(f).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
    JsonNode header = new ObjectMapper().readTree(new String(f, 8, n, StandardCharsets.UTF_8));
    List<int[]> out = new ArrayList<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (!e.getKey().equals("__metadata__") && e.getValue().get("dtype").asText().equals("F32")) {
        JsonNode off = e.getValue().get("data_offsets");
        out.add(new int[] {8 + n + off.get(0).asInt(), off.get(1).asInt() - off.get(0).asInt()});
      }
    }
    return out;
  }
}
