package io.dharmana.tensor.codec;

import java.util.Arrays;

/** A growable little-endian byte buffer the encoder writes its format into. */
final class ByteSink {
  private byte[] buf;
  private int pos;

  ByteSink(int initialCapacity) {
    buf = new byte[Math.max(16, initialCapacity)];
  }

  /** Writes into {@code buffer} from its start, moving to a larger copy only if it fills up. */
  ByteSink(byte[] buffer) {
    buf = buffer;
  }

  int capacity() {
    return buf.length;
  }

  int position() {
    return pos;
  }

  void ensure(int extra) {
    if (pos + extra > buf.length) {
      buf = Arrays.copyOf(buf, Math.max(buf.length * 2, pos + extra));
    }
  }

  void writeByte(int b) {
    ensure(1);
    buf[pos++] = (byte) b;
  }

  void writeInt(int v) {
    ensure(4);
    buf[pos] = (byte) v;
    buf[pos + 1] = (byte) (v >>> 8);
    buf[pos + 2] = (byte) (v >>> 16);
    buf[pos + 3] = (byte) (v >>> 24);
    pos += 4;
  }

  void writeVarint(long v) {
    ensure(10);
    while ((v & ~0x7FL) != 0) {
      buf[pos++] = (byte) ((v & 0x7F) | 0x80);
      v >>>= 7;
    }
    buf[pos++] = (byte) v;
  }

  void write(byte[] src, int off, int len) {
    ensure(len);
    System.arraycopy(src, off, buf, pos, len);
    pos += len;
  }

  /** Direct access for bulk writers: call {@link #ensure} first, then {@link #skip}. */
  byte[] array() {
    return buf;
  }

  void skip(int n) {
    pos += n;
  }

  void truncate(int newPosition) {
    pos = newPosition;
  }

  byte[] toByteArray() {
    return Arrays.copyOf(buf, pos);
  }
}
