package io.dharmana.tensor.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.dharmana.CorruptDataException;
import java.util.Arrays;
import java.util.Random;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The Huffman plane coder: every plane decodes to its symbols, whatever its length (the four
 * streams' quarters, the decoder's fast rounds and its checked tail) and distribution (codes
 * limited to 11 bits); damaged streams fail with {@link CorruptDataException}, never an index
 * error; and {@link PlaneCoder} takes it only where it costs little over rANS.
 */
class HuffmanCoderTest {
  private static final int[] LENGTHS = {2, 3, 4, 5, 7, 13, 14, 15, 16, 17, 51, 52, 53, 63, 100, 1000, 4096, 4099, 65536, 262147};

  static LongStream seeds() {
    return LongStream.range(0, 4).map(i -> 0x4AFF00L + i * 7919);
  }

  /** Exponents of gaussian fp32 weights of one scale: a few dozen symbols, ~2.6 bits each. */
  static byte[] exponents(Random r, int n) {
    byte[] sym = new byte[n];
    for (int i = 0; i < n; i++) {
      sym[i] = (byte) (Float.floatToRawIntBits((float) (r.nextGaussian() * 0.02)) >>> 23);
    }
    return sym;
  }

  /** Symbol k with probability ~2^-(k+1): natural code lengths far beyond 11 bits. */
  static byte[] geometric(Random r, int n) {
    byte[] sym = new byte[n];
    for (int i = 0; i < n; i++) {
      sym[i] = (byte) Math.min(255, Long.numberOfTrailingZeros(r.nextLong() | Long.MIN_VALUE));
    }
    return sym;
  }

  static byte[] uniform(Random r, int n) {
    byte[] sym = new byte[n];
    r.nextBytes(sym);
    return sym;
  }

  static byte[] twoSymbols(Random r, int n) {
    byte[] sym = new byte[n];
    for (int i = 0; i < n; i++) {
      sym[i] = (byte) (r.nextInt(10) == 0 ? 200 : 7);
    }
    sym[0] = 7;
    sym[n - 1] = (byte) 200;
    return sym;
  }

  private static byte[] encode(byte[] sym, HuffmanCoder.Scratch sc) {
    int[] hist = new int[256];
    for (byte b : sym) {
      hist[b & 0xFF]++;
    }
    long estimate = HuffmanCoder.fit(hist, sc);
    ByteSink out = new ByteSink(16);
    HuffmanCoder.encode(sym, sym.length, out, sc);
    // The encoder compares this estimate with rANS's: it must be what the coding takes.
    assertTrue(Math.abs(estimate - 8L * out.position()) <= 64, "estimate " + estimate + " bits, coded " + 8L * out.position());
    return out.toByteArray();
  }

  private static byte[] decode(byte[] coded, int n, HuffmanCoder.Scratch sc) {
    byte[] sym = new byte[n];
    ByteSource in = new ByteSource(coded, 0, coded.length);
    HuffmanCoder.decode(in, sym, n, sc);
    assertEquals(coded.length, in.pos, "the decoder stops at the end of the plane");
    return sym;
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void everyPlaneDecodesToItsSymbols(long seed) {
    Random r = new Random(seed);
    HuffmanCoder.Scratch enc = new HuffmanCoder.Scratch();
    HuffmanCoder.Scratch dec = new HuffmanCoder.Scratch();
    for (int n : LENGTHS) {
      byte[][] planes = {exponents(r, n), geometric(r, n), uniform(r, n), twoSymbols(r, n)};
      String[] names = {"exponents", "geometric", "uniform", "two symbols"};
      for (int k = 0; k < planes.length; k++) {
        byte[] coded = encode(planes[k], enc);
        assertArrayEquals(planes[k], decode(coded, n, dec), "seed " + seed + ", " + n + " " + names[k]);
        for (int s = 0; s < 256; s++) {
          assertTrue(enc.lengths[s] <= HuffmanCoder.MAX_BITS, "seed " + seed + ": code length " + enc.lengths[s]);
        }
      }
    }
  }

  @Test
  void codesAreCloseToTheEntropyAndLimitedTo11Bits() {
    Random r = new Random(0x4AFE);
    HuffmanCoder.Scratch sc = new HuffmanCoder.Scratch();
    int n = 1 << 16;
    for (byte[] sym : new byte[][] {exponents(r, n), geometric(r, n)}) {
      int[] hist = new int[256];
      for (byte b : sym) {
        hist[b & 0xFF]++;
      }
      double entropyBytes = PlaneCoder.entropyBits(hist, 0) / 8;
      int coded = encode(sym, sc).length;
      // Whole bits per code cost a few percent over the entropy at ~2 bits a symbol, no more.
      assertTrue(coded < entropyBytes * 1.05 + 64, "seed 0x4AFE: " + coded + " bytes for an entropy of " + entropyBytes);
      long kraft = 0;
      for (int s = 0; s < 256; s++) {
        kraft += sc.lengths[s] == 0 ? 0 : 1L << (HuffmanCoder.MAX_BITS - sc.lengths[s]);
      }
      assertEquals(1L << HuffmanCoder.MAX_BITS, kraft, "a complete code");
    }
    // The geometric plane's rarest symbols would naturally take 16+ bits: limited, they take 11.
    assertEquals(HuffmanCoder.MAX_BITS, Arrays.stream(sc.lengths).max().orElseThrow());
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void damagedPlanesFailCleanly(long seed) {
    Random r = new Random(seed);
    HuffmanCoder.Scratch sc = new HuffmanCoder.Scratch();
    int detected = 0;
    for (int trial = 0; trial < 400; trial++) {
      int n = LENGTHS[r.nextInt(LENGTHS.length - 1)];
      byte[] sym = r.nextBoolean() ? exponents(r, n) : geometric(r, n);
      byte[] coded = encode(sym, sc);
      byte[] damaged = switch (trial % 3) {
        case 0 -> flipBit(r, coded);
        case 1 -> Arrays.copyOf(coded, r.nextInt(coded.length));
        default -> {
          byte[] d = coded.clone();
          for (int k = r.nextInt(8); k >= 0; k--) {
            d[r.nextInt(d.length)] = (byte) r.nextInt(256);
          }
          yield d;
        }
      };
      try {
        HuffmanCoder.decode(new ByteSource(damaged, 0, damaged.length), new byte[n], n, sc);
      } catch (CorruptDataException expected) {
        detected++;
      } catch (RuntimeException e) {
        fail("seed " + seed + " trial " + trial + " (" + n + " symbols): " + e, e);
      }
    }
    // Most damage shows: a stream that ends early or late, a code that is not complete.
    assertTrue(detected > 200, "seed " + seed + ": only " + detected + " of 400 damaged planes detected");
  }

  private static byte[] flipBit(Random r, byte[] coded) {
    byte[] d = coded.clone();
    d[r.nextInt(d.length)] ^= (byte) (1 << r.nextInt(8));
    return d;
  }

  /** The plane mode {@link PlaneCoder#encode} writes. */
  private static int mode(byte[] sym, int format) {
    ByteSink out = new ByteSink(sym.length);
    PlaneCoder.Scratch sc = new PlaneCoder.Scratch();
    PlaneCoder.encode(sym, sym.length, new byte[0][], new int[] {PlaneCoder.CTX_SELF}, PlaneCoder.NOISE_BITS, 0.005,
        format, out, sc);
    byte[] coded = out.toByteArray();
    PlaneCoder.PlaneViews views = new PlaneCoder.PlaneViews();
    PlaneCoder.decode(new ByteSource(coded, 0, coded.length), new byte[sym.length], sym.length, views, 0, new PlaneCoder.Scratch());
    assertArrayEquals(sym, Arrays.copyOfRange(views.array[0], views.offset[0], views.offset[0] + sym.length));
    return coded[0];
  }

  @Test
  void planeCoderTakesHuffmanWhereItCostsLittleOverRans() {
    Random r = new Random(0x4AFD);
    byte[] exponents = exponents(r, 1 << 16);
    assertEquals(PlaneCoder.MODE_HUFFMAN, mode(exponents, 2), "seed 0x4AFD: weights' exponents");
    assertEquals(PlaneCoder.MODE_RANS, mode(exponents, 1), "seed 0x4AFD: format 1 has no Huffman planes");
    // A plane whose previous symbol predicts the next (as Adam moments' exponents): rANS with that
    // context is far smaller than any order-0 code.
    byte[] runs = exponents(r, 1 << 16);
    for (int i = 1; i < runs.length; i++) {
      if (r.nextInt(4) != 0) {
        runs[i] = runs[i - 1];
      }
    }
    assertEquals(PlaneCoder.MODE_RANS, mode(runs, 2), "seed 0x4AFD: a plane of runs");
    // Near-uniform bytes: Huffman cannot get under 8 bits where rANS saves its 0.5%.
    assertEquals(PlaneCoder.MODE_RAW, mode(uniform(r, 1 << 16), 2), "seed 0x4AFD: noise stays raw");
  }
}
