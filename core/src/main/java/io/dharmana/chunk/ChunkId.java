package io.dharmana.chunk;

import io.dharmana.CorruptDataException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * The name of a stored chunk: the SHA-256 of its stored bytes. Equal bytes get equal ids, so a
 * chunk is stored once however many objects, versions and pipelines hold it; every read checks
 * the bytes against the id.
 */
public final class ChunkId implements Comparable<ChunkId> {
  private static final HexFormat HEX = HexFormat.of();
  private static final ThreadLocal<MessageDigest> SHA256 = ThreadLocal.withInitial(ChunkId::newDigest);

  private final byte[] hash;

  private ChunkId(byte[] hash) {
    this.hash = hash;
  }

  public static MessageDigest newDigest() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required by every Java platform", e);
    }
  }

  /** The id of {@code length} bytes of {@code data} from {@code offset}. */
  public static ChunkId of(byte[] data, int offset, int length) {
    MessageDigest digest = SHA256.get();
    digest.update(data, offset, length);
    return new ChunkId(digest.digest());
  }

  public static ChunkId of(byte[] data) {
    return of(data, 0, data.length);
  }

  /** The id of the bytes {@code data} has remaining; its position does not move. */
  public static ChunkId of(ByteBuffer data) {
    MessageDigest digest = SHA256.get();
    digest.update(data.duplicate());
    return new ChunkId(digest.digest());
  }

  /**
   * Parses a 64-character lowercase hex id.
   *
   * @throws IllegalArgumentException naming the value if it is not one
   */
  public static ChunkId parse(String hex) {
    if (hex == null || hex.length() != 64) {
      throw invalid(hex);
    }
    // by hand: a manifest of a large object parses tens of thousands of ids, mostly before the
    // JIT has compiled anything, where a stream over the characters costs several times more
    byte[] bytes = new byte[32];
    for (int i = 0; i < 32; i++) {
      int hi = digit(hex.charAt(2 * i));
      int lo = digit(hex.charAt(2 * i + 1));
      if ((hi | lo) < 0) {
        throw invalid(hex);
      }
      bytes[i] = (byte) (hi << 4 | lo);
    }
    return new ChunkId(bytes);
  }

  private static int digit(char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
  }

  private static IllegalArgumentException invalid(String hex) {
    return new IllegalArgumentException("Invalid chunk id '" + hex + "': expected 64 lowercase hex digits");
  }

  /** Checks that {@code stored} hashes to this id. */
  public void verify(byte[] stored, String what) {
    if (!equals(of(stored))) {
      throw new CorruptDataException(
          "Cannot read " + what + ": chunk " + abbrev() + " failed verification (SHA-256 of "
              + stored.length + " stored bytes is " + of(stored).abbrev() + ")");
    }
  }

  /**
   * Checks that the bytes {@code stored} has remaining hash to this id, as {@link #verify(byte[],
   * String)} does for an array.
   */
  public void verify(ByteBuffer stored, String what) {
    ChunkId actual = of(stored);
    if (!equals(actual)) {
      throw new CorruptDataException(
          "Cannot read " + what + ": chunk " + abbrev() + " failed verification (SHA-256 of "
              + stored.remaining() + " stored bytes is " + actual.abbrev() + ")");
    }
  }

  public String hex() {
    return HEX.formatHex(hash);
  }

  /** First 12 hex digits, for messages. */
  public String abbrev() {
    return hex().substring(0, 12) + "…";
  }

  public byte[] bytes() {
    return hash.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ChunkId other && Arrays.equals(hash, other.hash);
  }

  @Override
  public int hashCode() {
    // the hash is uniformly distributed already
    return (hash[0] & 0xff) << 24 | (hash[1] & 0xff) << 16 | (hash[2] & 0xff) << 8 | (hash[3] & 0xff);
  }

  @Override
  public int compareTo(ChunkId o) {
    return Arrays.compareUnsigned(hash, o.hash);
  }

  @Override
  public String toString() {
    return hex();
  }
}
