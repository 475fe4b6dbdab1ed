package io.dharmana.stage.builtin;

import io.dharmana.chunk.ChunkId;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * A user's 256-bit key and the two keys derived from it with HKDF-SHA256 (RFC 5869): one for
 * AES-GCM, one for the HMAC that makes nonces. Keeping them apart means the nonce MAC and the
 * cipher never share key material. {@link #toString()} never shows key bytes.
 */
final class AesGcmKey {
  static final int KEY_BYTES = 32;
  private static final byte[] SALT = "dharmana aes-gcm v1".getBytes(StandardCharsets.US_ASCII);
  private static final HexFormat HEX = HexFormat.of();

  private final byte[] encryptionKey;
  private final byte[] nonceKey;
  private final String id;

  private AesGcmKey(byte[] key) {
    byte[] prk = hmac(SALT, key);
    this.encryptionKey = expand(prk, "encryption");
    this.nonceKey = expand(prk, "nonce");
    this.id = HEX.formatHex(ChunkId.newDigest().digest(key), 0, 8);
  }

  /**
   * Parses a key written as 64 hex digits or as base64 of 32 bytes, surrounding whitespace
   * ignored.
   *
   * @return the key, or null if {@code text} is neither (the caller names the source; the text
   *     itself must never appear in a message)
   */
  static AesGcmKey parse(String text) {
    String trimmed = text.strip();
    byte[] key = null;
    if (trimmed.length() == 2 * KEY_BYTES && trimmed.chars().allMatch(AesGcmKey::isHexDigit)) {
      key = HEX.parseHex(trimmed);
    } else {
      try {
        key = Base64.getDecoder().decode(trimmed);
      } catch (IllegalArgumentException e) {
        return null;
      }
    }
    if (key.length != KEY_BYTES) {
      return null;
    }
    AesGcmKey parsed = new AesGcmKey(key);
    Arrays.fill(key, (byte) 0);
    return parsed;
  }

  private static boolean isHexDigit(int c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  }

  byte[] encryptionKey() {
    return encryptionKey;
  }

  byte[] nonceKey() {
    return nonceKey;
  }

  /** The first 16 hex digits of the SHA-256 of the user's key: names it without revealing it. */
  String id() {
    return id;
  }

  static Mac hmac(byte[] key) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      return mac;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is required by every Java platform", e);
    }
  }

  private static byte[] hmac(byte[] key, byte[] data) {
    return hmac(key).doFinal(data);
  }

  /** HKDF-Expand for one 32-byte block: T(1) = HMAC(PRK, info || 0x01). */
  private static byte[] expand(byte[] prk, String info) {
    byte[] infoBytes = info.getBytes(StandardCharsets.US_ASCII);
    byte[] message = Arrays.copyOf(infoBytes, infoBytes.length + 1);
    message[infoBytes.length] = 1;
    return hmac(prk, message);
  }

  @Override
  public String toString() {
    return "key " + id;
  }
}
