package io.dharmana.tensor.codec;

import io.dharmana.CorruptDataException;

/**
 * Reads the encoded format with every length checked against what is left, so damaged input
 * ends in {@link CorruptDataException} and never in an index error or an unbounded allocation.
 */
final class ByteSource {
  final byte[] buf;
  int pos;
  final int limit;

  ByteSource(byte[] buf, int pos, int limit) {
    this.buf = buf;
    this.pos = pos;
    this.limit = limit;
  }

  int remaining() {
    return limit - pos;
  }

  void require(long n, String what) {
    if (n < 0 || n > limit - pos) {
      throw new CorruptDataException(
          "Cannot decode float coding: " + what + " needs " + n + " bytes but " + (limit - pos) + " remain");
    }
  }

  int readByte() {
    require(1, "a byte");
    return buf[pos++] & 0xFF;
  }

  int readInt() {
    require(4, "an int");
    int v = (buf[pos] & 0xFF) | (buf[pos + 1] & 0xFF) << 8 | (buf[pos + 2] & 0xFF) << 16 | (buf[pos + 3] & 0xFF) << 24;
    pos += 4;
    return v;
  }

  long readVarint() {
    long v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      int b = readByte();
      v |= (long) (b & 0x7F) << shift;
      if ((b & 0x80) == 0) {
        return v;
      }
    }
    throw new CorruptDataException("Cannot decode float coding: varint longer than 10 bytes at " + pos);
  }

  /** A varint that must lie in [0, max]. */
  int readVarint(int max, String what) {
    long v = readVarint();
    if (v < 0 || v > max) {
      throw new CorruptDataException("Cannot decode float coding: " + what + " " + v + " is outside [0, " + max + "]");
    }
    return (int) v;
  }

  void skip(int n, String what) {
    require(n, what);
    pos += n;
  }
}
