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
    PlaneCoder.encode(sym, N, new byte[0][], new int[] {PlaneCoder.CTX_SELF}, PlaneCoder.NOISE_BITS, 0, 1, out,
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

  /** Exponents of weights in rows of 64 elements, each row of a scale of its own (as Adam moments are). */
  private static byte[] rowExponents(Random r, int n) {
    byte[] sym = new byte[n];
    double scale = 1;
    for (int i = 0; i < n; i++) {
      if (i % 64 == 0) {
        scale = Math.pow(10, -6 + 5 * r.nextDouble());
      }
      sym[i] = (byte) (Float.floatToRawIntBits((float) (r.nextGaussian() * scale)) >>> 23);
    }
    return sym;
  }

  private static byte[] encodeLane(byte[] sym, int n) {
    ByteSink out = new ByteSink(n);
    PlaneCoder.encode(sym, n, new byte[0][], new int[] {PlaneCoder.CTX_LANE}, PlaneCoder.NOISE_BITS, 0, 2, out,
        new PlaneCoder.Scratch());
    return out.toByteArray();
  }

  private static byte[] decode(byte[] coded, int n) {
    PlaneCoder.PlaneViews views = new PlaneCoder.PlaneViews();
    PlaneCoder.decode(new ByteSource(coded, 0, coded.length), new byte[n], n, views, 0, new PlaneCoder.Scratch());
    return java.util.Arrays.copyOfRange(views.array[0], views.offset[0], views.offset[0] + n);
  }

  /** The exponent four back: taken where it pays, and every length decodes (groups of four, the first four, the tail). */
  @Test
  void theLaneContextRoundTripsAtEveryLength() {
    Random r = new Random(0x1A4E);
    for (int n : new int[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 191, 192, 193, 194, 195, 4095, 4096, 4097, 65536, 65539}) {
      byte[] sym = rowExponents(r, n);
      byte[] coded = encodeLane(sym, n);
      if (n >= 65536) {
        assertEquals(PlaneCoder.MODE_RANS, coded[0], "seed 0x1A4E, " + n + ": plane mode");
        assertEquals(255, coded[1] & 0xFF, "seed 0x1A4E, " + n + ": the lane context is taken");
      }
      org.junit.jupiter.api.Assertions.assertArrayEquals(sym, decode(coded, n), "seed 0x1A4E, " + n + " symbols");
    }
  }

  @Test
  void aDamagedLanePlaneFailsCleanly() {
    Random r = new Random(0x1A4F);
    int detected = 0;
    for (int trial = 0; trial < 300; trial++) {
      int n = 100 + r.nextInt(20_000);
      byte[] coded = encodeLane(rowExponents(r, n), n);
      byte[] damaged = trial % 2 == 0 ? coded.clone() : java.util.Arrays.copyOf(coded, 2 + r.nextInt(coded.length - 2));
      if (trial % 2 == 0) {
        damaged[2 + r.nextInt(damaged.length - 2)] ^= (byte) (1 << r.nextInt(8));
      }
      try {
        decode(damaged, n);
      } catch (io.dharmana.CorruptDataException expected) {
        detected++;
      } catch (RuntimeException e) {
        org.junit.jupiter.api.Assertions.fail("seed 0x1A4F trial " + trial + ": " + e, e);
      }
    }
    assertTrue(detected > 150, "seed 0x1A4F: " + detected + " of 300 damaged planes detected");
  }
}
