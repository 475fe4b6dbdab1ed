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
 * <p>Format (version 1): the version byte {@code 0x01}, a 12-byte nonce, then the ciphertext with
 * its 16-byte GCM tag; the version byte is authenticated as associated data.
 *
 * <p>Why deterministic: chunks are named by the hash of their stored bytes, so a random nonce
 * would make every copy of an equal chunk a different chunk and defeat deduplication. The nonce
 * is instead HMAC-SHA256(nonce key, plaintext) truncated to 96 bits, as in SIV constructions:
 * equal plaintexts under one key give equal ciphertexts, and distinct plaintexts get distinct
 * nonces unless HMAC collides on 96 bits (a birthday bound near 2^48 chunks per key, far beyond
 * any store). What an observer of the stored bytes learns is therefore only which chunks are
 * equal, and their lengths, which deduplication reveals anyway. The encryption and nonce keys are
 * derived from the user's key with HKDF-SHA256, so neither is the user's key itself.
 *
 * <p>The key never appears in {@link #spec()}; its id (the first 16 hex digits of its SHA-256)
 * does, so that decoding with another key fails with a message naming both ids.
 */
final class AesGcmStage implements Stage {
  static final byte FORMAT_VERSION = 1;
  static final int NONCE = 12;
  static final int TAG = 16;
  private static final int HEADER = 1 + NONCE;

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
  public String name() {
    return AesGcmStageFactory.NAME;
  }

  @Override
  public int version() {
    return spec.version();
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
    byte[] nonce = Arrays.copyOf(mac.doFinal(), NONCE);
    byte[] out = new byte[HEADER + length + TAG];
    out[0] = FORMAT_VERSION;
    System.arraycopy(nonce, 0, out, 1, NONCE);
    CipherSlot slot = CIPHER.get();
    Cipher cipher = slot.cipher;
    try {
      initEncrypt(slot, nonce);
      cipher.updateAAD(out, 0, 1);
      int written = cipher.doFinal(input, offset, length, out, HEADER);
      if (written != length + TAG) {
        throw new IllegalStateException("AES-GCM wrote " + written + " bytes for " + length + " bytes of input");
      }
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("Cannot encrypt with AES-256-GCM: " + e.getMessage(), e);
    }
    return out;
  }

  /**
   * The JDK refuses to encrypt twice in a row with one key and nonce, a guard against nonce reuse
   * with different plaintexts. Here an equal nonce means an equal plaintext (the nonce is its
   * MAC), so the ciphertext is identical and reveals nothing new; re-initialising with another
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
    Cipher cipher = CIPHER.get().cipher;
    try {
      cipher.init(Cipher.DECRYPT_MODE, encryptionKey, new GCMParameterSpec(TAG * 8, encoded, 1, NONCE));
      cipher.updateAAD(encoded, 0, 1);
      byte[] out = new byte[encoded.length - HEADER - TAG];
      cipher.doFinal(encoded, HEADER, encoded.length - HEADER, out, 0);
      return out;
    } catch (AEADBadTagException e) {
      throw new CorruptDataException(
          "Cannot decrypt aes-gcm chunk of " + encoded.length + " bytes with key " + keyId
              + ": authentication tag does not match (the data is damaged or was encrypted with another key)", e);
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
