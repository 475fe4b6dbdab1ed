package io.dharmana.tensor.codec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The previous-symbol context decodes at about half the speed of order-0 coding: the encoder takes
 * it only where it saves at least {@link PlaneCoder#SELF_CONTEXT_MIN_SAVING} of the order-0 bits.
 */
class PlaneCoderContextChoiceTest {
  private static final int N = 1 << 16;

  /** Symbols from a skewed alphabet of 12; with probability {@code repeat} the previous one again. */
  private static byte[] markov(double repeat, long seed) {
    Random r = new Random(seed);
    byte[] sym = new byte[N];
    for (int i = 0; i < N; i++) {
      sym[i] = i > 0 && r.nextDouble() < repeat ? sym[i - 1] : (byte) Math.min(11, (int) (-Math.log(1 - r.nextDouble()) * 3));
    }
    return sym;
  }

  /** What conditioning on the previous symbol saves, ideally, as a fraction of the order-0 bits. */
  private static double idealSaving(byte[] sym) {
    int[] hist = new int[256];
    int[] pairs = new int[256 * 256];
    int prev = 0;
    for (byte b : sym) {
      hist[b & 0xFF]++;
      pairs[prev << 8 | b & 0xFF]++;
      prev = b & 0xFF;
    }
    double conditional = 0;
    for (int c = 0; c < 256; c++) {
      conditional += PlaneCoder.entropyBits(pairs, c << 8);
    }
    double order0 = PlaneCoder.entropyBits(hist, 0);
    return 1 - conditional / order0;
  }

  /** The context byte the encoder wrote: 0 none, 1 the previous symbol. */
  private static int chosenContext(byte[] sym) {
    ByteSink out = new ByteSink(N);
    PlaneCoder.encode(sym, N, new byte[0][], new int[] {PlaneCoder.CTX_SELF}, PlaneCoder.NOISE_BITS, 0, out,
        new PlaneCoder.Scratch());
    assertEquals(PlaneCoder.MODE_RANS, out.array()[0], "plane mode");
    return out.array()[1];
  }

  @Test
  void aContextThatSavesMuchIsTaken() {
    byte[] sym = markov(0.3, 1);
    assertTrue(idealSaving(sym) > 0.1, "premise: the context saves " + idealSaving(sym));
    assertEquals(1, chosenContext(sym));
  }

  @Test
  void aContextThatSavesTooLittleForItsDecodingTimeIsNot() {
    byte[] sym = markov(0.08, 2);
    double saving = idealSaving(sym);
    assertTrue(saving > 0.005 && saving < 0.015, "premise: the context saves " + saving);
    assertEquals(0, chosenContext(sym));
  }
}
