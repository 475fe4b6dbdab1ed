package io.dharmana.server;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.HexFormat;

/**
 * A request body that computes its MD5 (the S3 ETag of a single PUT), enforces a size limit, and
 * checks at end of stream whatever the client promised: the signed SHA-256
 * (x-amz-content-sha256), Content-MD5 and Content-Length. A broken promise is thrown instead of
 * reporting end of stream, so nothing is committed from a corrupted or truncated body.
 */
final class CheckedBody extends FilterInputStream {
  private final MessageDigest md5;
  private final MessageDigest sha256;
  private final String expectedSha256;
  private final String expectedMd5Base64;
  private final long expectedLength;
  private final long limit;
  private long count;
  private boolean checked;
  private byte[] md5Result;

  /**
   * @param expectedSha256 hex SHA-256 the body must have, or null
   * @param expectedMd5Base64 Content-MD5, or null
   * @param expectedLength the exact decoded length, or -1
   * @param limit the most bytes accepted
   */
  CheckedBody(InputStream in, String expectedSha256, String expectedMd5Base64, long expectedLength, long limit) {
    super(in);
    this.md5 = digest("MD5");
    this.sha256 = expectedSha256 == null ? null : SigV4.sha256();
    this.expectedSha256 = expectedSha256;
    this.expectedMd5Base64 = expectedMd5Base64;
    this.expectedLength = expectedLength;
    this.limit = limit;
    if (expectedLength > limit) {
      throw S3Failure.entityTooLarge(limit);
    }
  }

  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    int n = read(one, 0, 1);
    return n < 0 ? -1 : one[0] & 0xff;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    if (len == 0) {
      return 0;
    }
    int n = in.read(b, off, len);
    if (n < 0) {
      finish();
      return -1;
    }
    count += n;
    if (count > limit) {
      throw S3Failure.entityTooLarge(limit);
    }
    md5.update(b, off, n);
    if (sha256 != null) {
      sha256.update(b, off, n);
    }
    return n;
  }

  @Override
  public long skip(long n) throws IOException {
    byte[] buf = new byte[(int) Math.min(n, 8192)];
    int r = read(buf, 0, buf.length);
    return Math.max(r, 0);
  }

  @Override
  public boolean markSupported() {
    return false;
  }

  private void finish() {
    if (checked) {
      return;
    }
    checked = true;
    md5Result = md5.digest();
    if (expectedLength >= 0 && count != expectedLength) {
      throw new S3Failure(400, "IncompleteBody", "The request body is " + count + " bytes but the client declared " + expectedLength);
    }
    if (sha256 != null) {
      String actual = HexFormat.of().formatHex(sha256.digest());
      if (!actual.equalsIgnoreCase(expectedSha256)) {
        throw new S3Failure(400, "XAmzContentSHA256Mismatch",
            "The provided 'x-amz-content-sha256' header " + expectedSha256 + " does not match what was computed: " + actual);
      }
    }
    if (expectedMd5Base64 != null && !Base64.getEncoder().encodeToString(md5Result).equals(expectedMd5Base64.trim())) {
      throw new S3Failure(400, "BadDigest", "The Content-MD5 you specified did not match what we received");
    }
  }

  /** Reads to the end (checking) and returns the number of bytes. */
  long drain() throws IOException {
    byte[] buf = new byte[65536];
    while (read(buf, 0, buf.length) >= 0) {
      // consume
    }
    return count;
  }

  long count() {
    return count;
  }

  /** The MD5 of the whole body; only after end of stream was reached. */
  byte[] md5() {
    if (md5Result == null) {
      throw new IllegalStateException("Cannot give the MD5 of a body not read to its end");
    }
    return md5Result.clone();
  }

  String md5Hex() {
    return HexFormat.of().formatHex(md5());
  }

  static MessageDigest digest(String name) {
    try {
      return MessageDigest.getInstance(name);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("Cannot find " + name, e);
    }
  }
}
