package io.dharmana.tensor.lossy;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.tensor.Safetensors;
import io.dharmana.tensor.SafetensorsFile;
import io.dharmana.tensor.Tensor;
import io.dharmana.tensor.TestCorpus;
import java.nio.ByteOrder;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * Measures the gradient codec on real optimizer state: Adam's first moment (a smoothed gradient)
 * and the 10-step weight update w_step2010 - w_step2000 (an accumulated, learning-rate-scaled
 * gradient). Skips without the corpus.
 */
class GradientCorpusTest {
  private static float[] floats(Tensor t) {
    float[] out = new float[(int) t.elementCount()];
    t.data().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
    return out;
  }

  private static void measure(String label, SafetensorsFile a, SafetensorsFile minus, GradientCodec codec, double maxRelRms) {
    long original = 0;
    long encoded = 0;
    ErrorReport error = ErrorReport.EXACT;
    for (Tensor t : a.tensors()) {
      float[] g = floats(t);
      if (minus != null) {
        float[] p = floats(minus.tensor(t.name()));
        for (int i = 0; i < g.length; i++) {
          g[i] -= p[i];
        }
      }
      GradientCodec.Encoded e = codec.encode(g);
      original += 4L * g.length;
      encoded += e.bytes().length;
      error = error.plus(e.error());
    }
    double ratio = (double) original / encoded;
    System.out.printf("gradient codec %s %s: ratio %.2f, %s%n", label, codec, ratio, error);
    assertTrue(error.relativeRms() <= maxRelRms, label + " " + codec + " " + error);
    assertTrue(ratio > 3.5, label + " " + codec + " ratio " + ratio);
  }

  @Test
  void adamFirstMomentAndWeightUpdate() {
    Path m = TestCorpus.checkpoint("adam_m_step2000.safetensors");
    Path w2000 = TestCorpus.checkpoint("w_step2000.safetensors");
    Path w2010 = TestCorpus.checkpoint("w_step2010.safetensors");
    try (SafetensorsFile adam = Safetensors.open(m);
        SafetensorsFile a = Safetensors.open(w2010);
        SafetensorsFile b = Safetensors.open(w2000)) {
      measure("adam_m", adam, null, GradientCodec.topK(1.0), 0.02);
      measure("adam_m", adam, null, GradientCodec.topK(0.1), 0.8);
      measure("adam_m", adam, null, GradientCodec.topK(0.01), 0.95);
      measure("w2010-w2000", a, b, GradientCodec.topK(0.1), 0.8);
      measure("w2010-w2000", a, b, GradientCodec.topK(0.01), 0.98);
    }
  }
}
