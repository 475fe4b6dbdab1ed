package io.dharmana.bench;

import io.dharmana.tensor.lossy.BlockQuantizer;
import io.dharmana.tensor.lossy.ErrorReport;
import io.dharmana.tensor.lossy.GradientCodec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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
 * Encode and decode throughput of the lossy coders, one thread, on the fp32 tensors of the corpus
 * ({@code w_step2010.safetensors}, its parent {@code w_step2000}; synthetic normal values without
 * the corpus): blockwise int8 and fp8 E4M3 quantization of the weights, int8 of their change from
 * the parent (Check-N-Run's delta), and the gradient codec (top 1% of the values, or those beyond
 * three times their RMS) on Adam's first moment {@code adam_m_step2000}, a running mean of the
 * gradients, standing in for an accumulated gradient. One operation
 * codes every tensor once; MB/s = ops/s × the fp32 size printed at setup, with each coder's ratio
 * and error. The gradient codec's encode also decodes, to measure its error.
 *
 * <pre>java -jar bench/target/benchmarks.jar LossyCodec -f 1 -wi 2 -i 3 -w 1s -r 1s</pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class LossyCodecBenchmark {
  @Param({"int8", "fp8", "int8-delta", "gradient-top1pct", "gradient-3rms"})
  public String coder;

  private final List<float[]> values = new ArrayList<>();
  private final List<float[]> parents = new ArrayList<>();
  private final List<byte[]> encoded = new ArrayList<>();
  private BlockQuantizer quantizer;
  private GradientCodec gradients;

  @Setup
  public void setup() throws IOException {
    Path dir = FloatCodecBenchmark.corpus();
    boolean gradient = coder.startsWith("gradient");
    if (dir != null) {
      byte[] file = Files.readAllBytes(dir.resolve(gradient ? "adam_m_step2000.safetensors" : "w_step2010.safetensors"));
      byte[] base = Files.readAllBytes(dir.resolve("w_step2000.safetensors"));
      for (int[] t : FloatCodecBenchmark.tensors(file)) {
        values.add(floats(file, t));
        parents.add(floats(base, t));
      }
    } else {
      Random r = new Random(2010);
      for (int t = 0; t < 14; t++) {
        float[] p = new float[64 * 1024];
        float[] v = new float[p.length];
        for (int i = 0; i < p.length; i++) {
          p[i] = (float) (r.nextGaussian() * 0.05);
          v[i] = p[i] + (float) (r.nextGaussian() * 1e-4);
        }
        values.add(v);
        parents.add(p);
      }
    }
    if (gradient) {
      double sumSquares = 0;
      long count = 0;
      for (float[] v : values) {
        for (float x : v) {
          sumSquares += (double) x * x;
        }
        count += v.length;
      }
      float rms = (float) Math.sqrt(sumSquares / count);
      gradients = coder.equals("gradient-top1pct") ? GradientCodec.topK(0.01) : GradientCodec.threshold(3 * rms);
    } else {
      quantizer = coder.equals("fp8") ? BlockQuantizer.fp8(BlockQuantizer.DEFAULT_BLOCK) : BlockQuantizer.int8(BlockQuantizer.DEFAULT_BLOCK);
    }
    long bytes = 0;
    long stored = 0;
    ErrorReport error = ErrorReport.EXACT;
    for (int t = 0; t < values.size(); t++) {
      float[] v = values.get(t);
      byte[] e;
      if (gradient) {
        GradientCodec.Encoded g = gradients.encode(v);
        e = g.bytes();
        error = error.plus(g.error());
      } else {
        e = encode(t);
        float[] back = new float[v.length];
        decode(t, e, back);
        error = error.plus(ErrorReport.compare(v, back));
      }
      encoded.add(e);
      bytes += 4L * v.length;
      stored += e.length;
    }
    System.out.printf("%nLossyCodecBenchmark %s: %d bytes of fp32 (%s), ratio %.3f, relative RMS error %.4f%%, SNR %.1f dB;"
        + " MB/s = ops/s x %.3f%n", coder, bytes, dir != null ? "corpus" : "synthetic", (double) bytes / stored,
        100 * error.relativeRms(), error.snrDb(), bytes / 1e6);
  }

  private static float[] floats(byte[] file, int[] tensor) {
    float[] f = new float[tensor[1] / 4];
    ByteBuffer.wrap(file, tensor[0], tensor[1]).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(f);
    return f;
  }

  private byte[] encode(int t) {
    FloatBuffer v = FloatBuffer.wrap(values.get(t));
    return coder.equals("int8-delta") ? quantizer.encodeDelta(v, FloatBuffer.wrap(parents.get(t))) : quantizer.encode(v);
  }

  private void decode(int t, byte[] e, float[] out) {
    if (coder.equals("int8-delta")) {
      quantizer.decodeDelta(e, FloatBuffer.wrap(parents.get(t)), FloatBuffer.wrap(out));
    } else {
      quantizer.decode(e, FloatBuffer.wrap(out));
    }
  }

  @Benchmark
  public void encode(Blackhole bh) {
    for (int t = 0; t < values.size(); t++) {
      bh.consume(gradients != null ? gradients.encode(values.get(t)) : encode(t));
    }
  }

  @Benchmark
  public void decode(Blackhole bh) {
    for (int t = 0; t < values.size(); t++) {
      if (gradients != null) {
        bh.consume(GradientCodec.decode(encoded.get(t), values.get(t).length));
      } else {
        float[] out = new float[values.get(t).length];
        decode(t, encoded.get(t), out);
        bh.consume(out);
      }
    }
  }
}
