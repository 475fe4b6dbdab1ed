package io.dharmana.tensor.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.stage.Stage;
import io.dharmana.tensor.TestCorpus;
import java.io.IOException;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@code float-split} version 3 is version 2 with float coding format 2: floats under form byte 2,
 * about as small as version 2 writes them (Huffman planes cost at most 2% of a plane more than
 * rANS), everything else exactly as version 2; and it reads what versions 1 and 2 wrote.
 */
class FloatSplitVersion3Test {
  private static final Stage V3 = FloatSplitV1Streams.stage(3);
  private static final Stage V2 = FloatSplitV1Streams.stage(2);

  @Test
  void theCurrentVersionIs3() {
    assertEquals(3, FloatSplitV1Streams.stage(0).version());
  }

  @Test
  void floatsAreCodedInFormat2AboutAsSmallAsVersion2() {
    Random r = new Random(0xF3A1L);
    byte[] f32 = FloatSplitAutoTest.weights(r, 1 << 21);
    byte[][] inputs = {f32, FloatSplitAutoTest.bf16(f32), FloatSplitAutoTest.f16(f32)};
    String[] names = {"f32", "bf16", "f16"};
    for (int i = 0; i < inputs.length; i++) {
      byte[] v3 = V3.encode(inputs[i]);
      byte[] v2 = V2.encode(inputs[i]);
      assertEquals(FloatSplitStage.FORM_FLOAT_2, v3[0], "seed 0xF3A1 " + names[i] + ": form byte");
      assertEquals(FloatSplitStage.FORM_FLOAT, v2[0], "seed 0xF3A1 " + names[i] + ": version 2 writes format 1");
      assertTrue(v3.length <= v2.length * 1.005, "seed 0xF3A1 " + names[i] + ": " + v3.length + " against version 2's " + v2.length);
      assertArrayEquals(inputs[i], V3.decode(v3), "seed 0xF3A1 " + names[i]);
      assertArrayEquals(inputs[i], V2.decode(v3), "seed 0xF3A1 " + names[i] + ": version 2 of this build reads it too");
    }
  }

  @Test
  void whatIsNotFloatsIsCodedAsVersion2Does() {
    Random r = new Random(0xF3A2L);
    for (byte[] data : new byte[][] {FloatSplitAutoTest.text(r, 1 << 20), FloatSplitAutoTest.random(r, 1 << 20), new byte[0]}) {
      assertArrayEquals(V2.encode(data), V3.encode(data), "seed 0xF3A2, " + data.length + " bytes");
    }
  }

  /** What version 1 wrote: {@code FloatSplitAutoTest#streamsVersion1WroteStillDecode}. */
  @Test
  void readsWhatVersion2Wrote() {
    byte[] weights = FloatSplitAutoTest.weights(new Random(0xF3A3L), 1 << 20);
    assertArrayEquals(weights, V3.decode(V2.encode(weights)), "seed 0xF3A3");
  }

  /**
   * The corpus' tensor data in 1 MiB blocks: within 0.5% of version 2 per file (on weights 0.12%;
   * Adam's second moments 0.35%: 0.23% the Huffman planes, 0.1% the exponent four back). Skips
   * without the corpus.
   */
  @Test
  void corpusBlocksAreAboutAsSmallAsVersion2() throws IOException {
    for (String name : new String[] {"w_step2000.safetensors", "adam_m_step2000.safetensors", "adam_v_step2000.safetensors",
        "w_step2000_bf16.safetensors"}) {
      byte[] data = FloatSplitAutoTest.tensorData(TestCorpus.checkpoint(name));
      long v3 = 0;
      long v2 = 0;
      for (int off = 0; off < data.length; off += 1 << 20) {
        int len = Math.min(1 << 20, data.length - off);
        byte[] e = V3.encode(data, off, len);
        assertArrayEquals(Arrays.copyOfRange(data, off, off + len), V3.decode(e), name + " at " + off);
        v3 += e.length;
        v2 += V2.encode(data, off, len).length;
      }
      System.out.printf("%-32s %9d bytes: version 3 %9d (%.4fx), version 2 %9d (%.4fx)%n", name, data.length, v3,
          (double) data.length / v3, v2, (double) data.length / v2);
      assertTrue(v3 <= v2 * 1.005, name + ": version 3 " + v3 + " against version 2's " + v2);
    }
  }
}
