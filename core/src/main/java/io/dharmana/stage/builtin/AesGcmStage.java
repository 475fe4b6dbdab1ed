package io.dharmana.stage.builtin;

import io.dharmana.CorruptDataException;
import io.dharmana.InvalidDescriptorException;
import io.dharmana.stage.Stage;
import io.dharmana.stage.StageSpec;
import java.security.GeneralSecurityException;
import java.security.InvalidAlgorithmParameterException;
import java.util.Arrays;
import java.util.Map;
import java.util.Objects;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Encryption at rest with AES-256-GCM and a synthetic, deterministic nonce.
 *
 * <p>Format (version 1): the version byte {@code 0x01}; a 12-byte synthetic IV; then the input in
 * segments of {@value #SEGMENT} bytes (the last one shorter, or empty for empty input), each
 * encrypted as one GCM message and followed by its 16-byte tag. Segment {@code i} uses the nonce
 * {@code IV XOR (0^64 || i as 32 bits big-endian, top bit set on the last segment)}, and every
 * segment authenticates the version byte as associated data. A segment moved, dropped, added or
 * cut short therefore fails its tag, and a damaged IV fails every tag.
 *
 * <p>Why deterministic: chunks are named by the hash of their stored bytes, so a random nonce
 * would make every copy of an equal chunk a different chunk and defeat deduplication. The IV is
 * instead HMAC-SHA256(nonce key, plaintext) truncated to 96 bits, as in SIV constructions: equal
 * plaintexts under one key give equal ciphertexts, and distinct plaintexts get independent,
 * uniformly random IVs. Segment nonces of distinct chunks then collide no more often than random
 * 96-bit nonces do, so NIST's limit for random GCM nonces applies, counted in segments: at most
 * 2^32 segments (64 TiB of distinct data) per key keeps the chance of any collision below
 * 2^-32. What an observer of the stored bytes learns is therefore only which chunks are equal,
 * and their lengths, which deduplication reveals anyway. The encryption and nonce keys are
 * derived from the user's key with HKDF-SHA256, so neither is the user's key itself.
 *
 * <p>Why segments: the JDK's AES-GCM runs at a few MB/s until HotSpot compiles its intrinsics,
 * which it does after some thousands of GCM calls, each handling at most 64 KiB; whole 1 MiB
 * chunks took over 300 MiB of data to get there, 16 KiB segments about 80 MiB. Segments also
 * keep the JDK from buffering a whole chunk's ciphertext while decrypting. The cost is 16 bytes
 * per 16 KiB (0.1%).
 *
 * <p>The key never appears in {@link #spec()}; its id (the first 16 hex digits of its SHA-256)
 * does, so that decoding with another key fails with a message naming both ids.
 */
final class AesGcmStage implements Stage {
  static final byte FORMAT_VERSION = 1;
  static final int NONCE = 12;
  static final int TAG = 16;
  static final int SEGMENT = 16 << 10;
  private static final int HEADER = 1 + NONCE;
  private static final int LAST_SEGMENT = 0x80000000;

  private static final ThreadLocal<CipherSlot> CIPHER = ThreadLocal.withInitial(CipherSlot::new);

  /** A thread's cipher and what it last encrypted with (see {@link #initEncrypt}). */
  private static final class CipherSlot {
    final Cipher cipher = newCipher();
    SecretKeySpec lastKey;
    byte[] lastNonce;
  }

  private final SecretKeySpec encryptionKey;
  private final ThreadLocal<Mac> nonceMac;
  private final String keyId;
  private final String expectedKeyId;
  private final StageSpec spec;

  /**
   * @param keySource the spec parameter naming where the key came from ({@code key-env} or
   *     {@code key-file}) and its value, recorded in {@link #spec()}
   * @param expectedKeyId the key id recorded with the data, or null when encoding fresh data
   */
  AesGcmStage(AesGcmKey key, Map.Entry<String, String> keySource, String expectedKeyId, int version) {
    this.encryptionKey = new SecretKeySpec(key.encryptionKey(), "AES");
    byte[] macKey = key.nonceKey();
    this.nonceMac = ThreadLocal.withInitial(() -> AesGcmKey.hmac(macKey));
    this.keyId = key.id();
    this.expectedKeyId = expectedKeyId;
    this.spec = new StageSpec(
        AesGcmStageFactory.NAME, version, Map.of(keySource.getKey(), keySource.getValue(), "key-id", keyId));
  }


  @Override
  public StageSpec spec() {
    return spec;
  }

  @Override
  public boolean detectsCorruption() {
    return true;
  }

  @Override
  public byte[] encode(byte[] input, int offset, int length) {
    Objects.checkFromIndexSize(offset, length, input.length);
    Mac mac = nonceMac.get();
    mac.update(input, offset, length);
    byte[] iv = Arrays.copyOf(mac.doFinal(), NONCE);
    int segments = Math.max(1, (int) (((long) length + SEGMENT - 1) / SEGMENT));
    byte[] out = new byte[Math.addExact(HEADER + length, TAG * segments)];
    out[0] = FORMAT_VERSION;
    System.arraycopy(iv, 0, out, 1, NONCE);
    CipherSlot slot = CIPHER.get();
    Cipher cipher = slot.cipher;
    int position = HEADER;
    try {
      for (int i = 0; i < segments; i++) {
        int segmentLength = Math.min(SEGMENT, length - i * SEGMENT);
        initEncrypt(slot, segmentNonce(iv, i, i == segments - 1));
        cipher.updateAAD(out, 0, 1);
        position += cipher.doFinal(input, offset + i * SEGMENT, segmentLength, out, position);
      }
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("Cannot encrypt with AES-256-GCM: " + e.getMessage(), e);
    }
    if (position != out.length) {
      throw new IllegalStateException("AES-GCM wrote " + position + " bytes where " + out.length + " were due");
    }
    return out;
  }

  /** The nonce of segment {@code index}: the IV with its last 32 bits masked by index and last flag. */
  private static byte[] segmentNonce(byte[] iv, int index, boolean last) {
    byte[] nonce = iv.clone();
    int mask = index | (last ? LAST_SEGMENT : 0);
    nonce[NONCE - 4] ^= (byte) (mask >>> 24);
    nonce[NONCE - 3] ^= (byte) (mask >>> 16);
    nonce[NONCE - 2] ^= (byte) (mask >>> 8);
    nonce[NONCE - 1] ^= (byte) mask;
    return nonce;
  }

  /**
   * The JDK refuses to encrypt twice in a row with one key and nonce, a guard against nonce reuse
   * with different plaintexts. Here an equal nonce means an equal segment of an equal plaintext
   * (the IV is its MAC), so the ciphertext is identical and reveals nothing new; re-initialising with another
   * nonce first clears the guard. Equal chunks often come in runs (zeros, repeated records), so
   * the common case is recognised without paying for an exception.
   */
  private void initEncrypt(CipherSlot slot, byte[] nonce) throws GeneralSecurityException {
    Cipher cipher = slot.cipher;
    GCMParameterSpec parameters = new GCMParameterSpec(TAG * 8, nonce);
    if (slot.lastKey == encryptionKey && Arrays.equals(slot.lastNonce, nonce)) {
      clearReuseGuard(cipher, nonce);
    }
    try {
      cipher.init(Cipher.ENCRYPT_MODE, encryptionKey, parameters);
    } catch (InvalidAlgorithmParameterException e) {
      // another stage instance with an equal key encrypted equal bytes last on this thread
      clearReuseGuard(cipher, nonce);
      cipher.init(Cipher.ENCRYPT_MODE, encryptionKey, parameters);
    }
    slot.lastKey = encryptionKey;
    slot.lastNonce = nonce;
  }

  private void clearReuseGuard(Cipher cipher, byte[] nonce) throws GeneralSecurityException {
    byte[] other = nonce.clone();
    other[0] ^= 1;
    cipher.init(Cipher.ENCRYPT_MODE, encryptionKey, new GCMParameterSpec(TAG * 8, other));
  }

  /**
   * {@inheritDoc}
   *
   * @throws InvalidDescriptorException when the data was recorded as encrypted with another key
   * @throws CorruptDataException when the format or the authentication tag is wrong
   */
  @Override
  public byte[] decode(byte[] encoded) {
    if (expectedKeyId != null && !expectedKeyId.equals(keyId)) {
      throw new InvalidDescriptorException("Cannot decrypt: encrypted with key " + expectedKeyId + ", given key " + keyId);
    }
    if (encoded.length < HEADER + TAG) {
      throw new CorruptDataException(
          "Cannot decrypt aes-gcm chunk of " + encoded.length + " bytes: shorter than version, nonce and tag ("
              + (HEADER + TAG) + " bytes)");
    }
    if (encoded[0] != FORMAT_VERSION) {
      throw new CorruptDataException(
          "Cannot decrypt aes-gcm chunk of " + encoded.length + " bytes: format version " + (encoded[0] & 0xff)
              + " is not one this build reads (" + FORMAT_VERSION + ")");
    }
    int body = encoded.length - HEADER;
    int fullSegments = body / (SEGMENT + TAG);
    int rest = body % (SEGMENT + TAG);
    if (rest != 0 && rest < TAG) {
      throw new CorruptDataException(
          "Cannot decrypt aes-gcm chunk of " + encoded.length + " bytes: its last segment of " + rest
              + " bytes is shorter than a tag (" + TAG + " bytes)");
    }
    int segments = rest == 0 ? fullSegments : fullSegments + 1;
    byte[] iv = Arrays.copyOfRange(encoded, 1, HEADER);
    byte[] out = new byte[body - TAG * segments];
    Cipher cipher = CIPHER.get().cipher;
    int i = 0;
    try {
      for (; i < segments; i++) {
        int start = HEADER + i * (SEGMENT + TAG);
        int segmentBytes = Math.min(SEGMENT + TAG, encoded.length - start);
        cipher.init(Cipher.DECRYPT_MODE, encryptionKey, new GCMParameterSpec(TAG * 8, segmentNonce(iv, i, i == segments - 1)));
        cipher.updateAAD(encoded, 0, 1);
        cipher.doFinal(encoded, start, segmentBytes, out, i * SEGMENT);
      }
      return out;
    } catch (AEADBadTagException e) {
      throw new CorruptDataException(
          "Cannot decrypt aes-gcm chunk of " + encoded.length + " bytes with key " + keyId + ": authentication tag of segment "
              + i + " of " + segments + " does not match (the data is damaged or was encrypted with another key)", e);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("Cannot decrypt with AES-256-GCM: " + e.getMessage(), e);
    }
  }

  private static Cipher newCipher() {
    try {
      return Cipher.getInstance("AES/GCM/NoPadding");
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES/GCM/NoPadding is required by every Java platform", e);
    }
  }

  @Override
  public String toString() {
    return spec.toString();
  }
}
