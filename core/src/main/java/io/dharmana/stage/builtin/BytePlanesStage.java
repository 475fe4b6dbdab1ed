package io.dharmana.stage.builtin;

import io.dharmana.stage.Stage;
import io.dharmana.stage.StageSpec;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Map;
import java.util.Objects;

/**
 * Splits fixed-width values into byte planes: byte {@code i} of every value goes to plane {@code
 * i}, planes are written one after another, and a tail shorter than the width is appended as is.
 * For floats this groups the slowly varying sign-and-exponent bytes apart from the noisy low
 * mantissa bytes, which is what lets a following compressor find their redundancy.
 *
 * <p>A pure permutation: output length equals input length, it is not lossy, and since every
 * byte string is a valid encoding it detects nothing and never throws on decode.
 */
final class BytePlanesStage implements Stage {
  static final int DEFAULT_WIDTH = 4;
  static final int MAX_WIDTH = 16;

  private static final VarHandle SHORT_LE = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
  private static final VarHandle INT_LE = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
  private static final VarHandle LONG_LE = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

  private final int width;
  private final StageSpec spec;

  BytePlanesStage(int width, int version) {
    this.width = width;
    this.spec = new StageSpec(BytePlanesStageFactory.NAME, version, Map.of("width", Integer.toString(width)));
  }


  @Override
  public StageSpec spec() {
    return spec;
  }

  @Override
  public byte[] encode(byte[] input, int offset, int length) {
    Objects.checkFromIndexSize(offset, length, input.length);
    byte[] out = new byte[length];
    int count = length / width;
    switch (width) {
      case 1 -> System.arraycopy(input, offset, out, 0, length);
      case 2 -> split2(input, offset, out, count);
      case 4 -> split4(input, offset, out, count);
      case 8 -> split8(input, offset, out, count);
      default -> splitAny(input, offset, out, count);
    }
    int body = count * width;
    System.arraycopy(input, offset + body, out, body, length - body);
    return out;
  }

  @Override
  public byte[] decode(byte[] encoded) {
    int length = encoded.length;
    byte[] out = new byte[length];
    int count = length / width;
    switch (width) {
      case 1 -> System.arraycopy(encoded, 0, out, 0, length);
      case 2 -> join2(encoded, out, count);
      case 4 -> join4(encoded, out, count);
      case 8 -> join8(encoded, out, count);
      default -> joinAny(encoded, out, count);
    }
    int body = count * width;
    System.arraycopy(encoded, body, out, body, length - body);
    return out;
  }

  private static void split2(byte[] in, int offset, byte[] out, int count) {
    for (int i = 0; i < count; i++) {
      short v = (short) SHORT_LE.get(in, offset + 2 * i);
      out[i] = (byte) v;
      out[count + i] = (byte) (v >>> 8);
    }
  }

  private static void join2(byte[] in, byte[] out, int count) {
    for (int i = 0; i < count; i++) {
      int v = (in[i] & 0xff) | (in[count + i] & 0xff) << 8;
      SHORT_LE.set(out, 2 * i, (short) v);
    }
  }

  private static void split4(byte[] in, int offset, byte[] out, int count) {
    int p1 = count;
    int p2 = 2 * count;
    int p3 = 3 * count;
    for (int i = 0; i < count; i++) {
      int v = (int) INT_LE.get(in, offset + 4 * i);
      out[i] = (byte) v;
      out[p1 + i] = (byte) (v >>> 8);
      out[p2 + i] = (byte) (v >>> 16);
      out[p3 + i] = (byte) (v >>> 24);
    }
  }

  private static void join4(byte[] in, byte[] out, int count) {
    int p1 = count;
    int p2 = 2 * count;
    int p3 = 3 * count;
    for (int i = 0; i < count; i++) {
      int v = (in[i] & 0xff) | (in[p1 + i] & 0xff) << 8 | (in[p2 + i] & 0xff) << 16 | (in[p3 + i] & 0xff) << 24;
      INT_LE.set(out, 4 * i, v);
    }
  }

  private static void split8(byte[] in, int offset, byte[] out, int count) {
    for (int i = 0; i < count; i++) {
      long v = (long) LONG_LE.get(in, offset + 8 * i);
      for (int b = 0; b < 8; b++) {
        out[b * count + i] = (byte) (v >>> (8 * b));
      }
    }
  }

  private static void join8(byte[] in, byte[] out, int count) {
    for (int i = 0; i < count; i++) {
      long v = 0;
      for (int b = 0; b < 8; b++) {
        v |= (in[b * count + i] & 0xffL) << (8 * b);
      }
      LONG_LE.set(out, 8 * i, v);
    }
  }

  private void splitAny(byte[] in, int offset, byte[] out, int count) {
    for (int b = 0; b < width; b++) {
      int plane = b * count;
      for (int i = 0, src = offset + b; i < count; i++, src += width) {
        out[plane + i] = in[src];
      }
    }
  }

  private void joinAny(byte[] in, byte[] out, int count) {
    for (int b = 0; b < width; b++) {
      int plane = b * count;
      for (int i = 0, dst = b; i < count; i++, dst += width) {
        out[dst] = in[plane + i];
      }
    }
  }

  @Override
  public String toString() {
    return spec.toString();
  }
}
