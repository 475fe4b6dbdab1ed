package io.dharmana.server;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.CRC32C;
import java.util.zip.Checksum;
import javax.crypto.Mac;

/**
 * Decodes an {@code aws-chunked} request body: {@code hex-size[;chunk-signature=sig]\r\n data \r\n}
 * chunks ending with a zero-size chunk and optional trailers ({@code x-amz-checksum-crc32:...}).
 *
 * <p>With {@code STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]} every chunk signature is checked,
 * chained from the request's seed signature; a trailer signature is checked too. A CRC32, CRC32C,
 * SHA-1 or SHA-256 trailer is compared with the decoded bytes. Any mismatch is thrown before the
 * end of the stream is reported, so a consumer that commits only at end of stream commits nothing.
 */
final class AwsChunkedInputStream extends InputStream {
  private static final int MAX_LINE = 4096;

  private final InputStream in;
  private final SigV4.Verified auth;
  private final boolean signedChunks;
  private final boolean trailerSigned;
  private final String trailerName;
  private final Checksum checksum;
  private final MessageDigest trailerDigest;
  private final long expectedLength;
  private String previousSignature;
  /** The running SHA-256 of the current chunk's data, reset by each signature check; null unless chunks are signed. */
  private final MessageDigest chunkDigest;
  /** HMAC-SHA256 keyed with the request's signing key, made once per body rather than once per chunk; null unless signed. */
  private final Mac chunkMac;
  private String chunkSignature;
  private long remainingInChunk;
  private long decoded;
  private boolean done;

  /**
   * @param trailerName the declared trailer (x-amz-trailer), lower case, or null
   * @param expectedLength x-amz-decoded-content-length, or -1 when not sent
   */
  AwsChunkedInputStream(InputStream in, SigV4.Verified auth, String trailerName, long expectedLength) {
    this.in = in;
    this.auth = auth;
    String mode = auth == null ? SigV4.STREAMING_UNSIGNED_TRAILER : auth.payloadHash();
    this.signedChunks = mode.equals(SigV4.STREAMING_SIGNED) || mode.equals(SigV4.STREAMING_SIGNED_TRAILER);
    this.trailerSigned = mode.equals(SigV4.STREAMING_SIGNED_TRAILER);
    this.trailerName = trailerName == null ? null : trailerName.toLowerCase(Locale.ROOT).trim();
    this.previousSignature = auth == null ? null : auth.seedSignature();
    this.expectedLength = expectedLength;
    Checksum c = null;
    MessageDigest d = null;
    if (this.trailerName != null) {
      switch (this.trailerName) {
        case "x-amz-checksum-crc32" -> c = new CRC32();
        case "x-amz-checksum-crc32c" -> c = new CRC32C();
        case "x-amz-checksum-sha256" -> d = SigV4.sha256();
        case "x-amz-checksum-sha1" -> d = digest("SHA-1");
        default -> { }
      }
    }
    this.checksum = c;
    this.trailerDigest = d;
    this.chunkDigest = signedChunks ? SigV4.sha256() : null;
    this.chunkMac = signedChunks ? SigV4.hmacKeyed(auth.signingKey()) : null;
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
    while (remainingInChunk == 0) {
      if (done) {
        return -1;
      }
      if (!nextChunk()) {
        return -1;
      }
    }
    int n = in.read(b, off, (int) Math.min(len, remainingInChunk));
    if (n < 0) {
      throw truncated();
    }
    remainingInChunk -= n;
    decoded += n;
    if (checksum != null) {
      checksum.update(b, off, n);
    }
    if (trailerDigest != null) {
      trailerDigest.update(b, off, n);
    }
    if (chunkDigest != null) {
      chunkDigest.update(b, off, n);
    }
    if (remainingInChunk == 0) {
      expectCrlf();
      verifyChunkSignature();
    }
    return n;
  }

  /** Reads the next chunk header; returns false (after checking trailers) at the end of the body. */
  private boolean nextChunk() throws IOException {
    String header = readLine();
    int semi = header.indexOf(';');
    String sizeText = (semi < 0 ? header : header.substring(0, semi)).trim();
    long size;
    try {
      size = Long.parseLong(sizeText, 16);
    } catch (NumberFormatException e) {
      throw new S3Failure(400, "IncompleteBody", "Invalid aws-chunked chunk header '" + header + "'");
    }
    if (size < 0) {
      throw new S3Failure(400, "IncompleteBody", "Invalid aws-chunked chunk size " + size);
    }
    chunkSignature = null;
    if (semi >= 0) {
      String ext = header.substring(semi + 1).trim();
      if (ext.startsWith("chunk-signature=")) {
        chunkSignature = ext.substring("chunk-signature=".length());
      }
    }
    if (signedChunks && chunkSignature == null) {
      throw S3Failure.signatureMismatch("Invalid aws-chunked body: chunk without chunk-signature in a signed stream");
    }
    if (size == 0) {
      verifyChunkSignature();
      readTrailers();
      done = true;
      if (expectedLength >= 0 && decoded != expectedLength) {
        throw new S3Failure(400, "IncompleteBody",
            "The request body is " + decoded + " bytes but x-amz-decoded-content-length says " + expectedLength);
      }
      return false;
    }
    remainingInChunk = size;
    return true;
  }

  private void verifyChunkSignature() {
    if (!signedChunks) {
      return;
    }
    String hash = HexFormat.of().formatHex(chunkDigest.digest()); // digest() also resets it for the next chunk
    String stringToSign = "AWS4-HMAC-SHA256-PAYLOAD\n" + auth.amzDate() + "\n" + auth.scope() + "\n"
        + previousSignature + "\n" + SigV4.EMPTY_SHA256 + "\n" + hash;
    String expected = HexFormat.of().formatHex(chunkMac.doFinal(stringToSign.getBytes(StandardCharsets.UTF_8)));
    if (!MessageDigest.isEqual(expected.getBytes(StandardCharsets.US_ASCII), chunkSignature.getBytes(StandardCharsets.US_ASCII))) {
      throw S3Failure.signatureMismatch("The chunk signature we calculated does not match the signature you provided");
    }
    previousSignature = chunkSignature;
  }

  private void readTrailers() throws IOException {
    Map<String, String> trailers = new LinkedHashMap<>();
    StringBuilder canonical = new StringBuilder();
    String trailerSignature = null;
    while (true) {
      String line;
      try {
        line = readLine();
      } catch (S3Failure eof) {
        // some clients end the body right after the last chunk's CRLF
        break;
      }
      if (line.isEmpty()) {
        break;
      }
      int colon = line.indexOf(':');
      if (colon < 0) {
        throw new S3Failure(400, "MalformedTrailerError", "Invalid trailer line '" + line + "'");
      }
      String name = line.substring(0, colon).trim().toLowerCase(Locale.ROOT);
      String value = line.substring(colon + 1).trim();
      if (name.equals("x-amz-trailer-signature")) {
        trailerSignature = value;
      } else {
        trailers.put(name, value);
        canonical.append(name).append(':').append(value).append('\n');
      }
    }
    if (trailerSigned && !trailers.isEmpty()) {
      if (trailerSignature == null) {
        throw S3Failure.signatureMismatch("Invalid aws-chunked body: the trailer signature is missing");
      }
      String stringToSign = "AWS4-HMAC-SHA256-TRAILER\n" + auth.amzDate() + "\n" + auth.scope() + "\n"
          + previousSignature + "\n" + SigV4.sha256Hex(canonical.toString().getBytes(StandardCharsets.UTF_8));
      String expected = SigV4.hmacHex(auth.signingKey(), stringToSign);
      if (!MessageDigest.isEqual(expected.getBytes(StandardCharsets.US_ASCII), trailerSignature.getBytes(StandardCharsets.US_ASCII))) {
        throw S3Failure.signatureMismatch("The trailer signature we calculated does not match the signature you provided");
      }
    }
    if (trailerName != null) {
      String sent = trailers.get(trailerName);
      if (sent == null) {
        throw new S3Failure(400, "MalformedTrailerError", "The declared trailer " + trailerName + " was not sent");
      }
      String actual = null;
      if (checksum != null) {
        long v = checksum.getValue();
        actual = Base64.getEncoder().encodeToString(new byte[] {(byte) (v >>> 24), (byte) (v >>> 16), (byte) (v >>> 8), (byte) v});
      } else if (trailerDigest != null) {
        actual = Base64.getEncoder().encodeToString(trailerDigest.digest());
      }
      if (actual != null && !actual.equals(sent)) {
        throw new S3Failure(400, "BadDigest", "The " + trailerName + " you specified (" + sent + ") did not match the calculated checksum " + actual);
      }
    }
  }

  private void expectCrlf() throws IOException {
    int cr = in.read();
    int lf = in.read();
    if (cr != '\r' || lf != '\n') {
      throw new S3Failure(400, "IncompleteBody", "Invalid aws-chunked body: chunk data not followed by CRLF");
    }
  }

  private String readLine() throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream(80);
    while (true) {
      int c = in.read();
      if (c < 0) {
        throw truncated();
      }
      if (c == '\n') {
        byte[] bytes = line.toByteArray();
        int n = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
        return new String(bytes, 0, n, StandardCharsets.US_ASCII);
      }
      if (line.size() >= MAX_LINE) {
        throw new S3Failure(400, "IncompleteBody", "Invalid aws-chunked body: header line longer than " + MAX_LINE + " bytes");
      }
      line.write(c);
    }
  }

  private static S3Failure truncated() {
    return new S3Failure(400, "IncompleteBody", "The request body ended before the aws-chunked encoding was complete");
  }

  private static MessageDigest digest(String name) {
    try {
      return MessageDigest.getInstance(name);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("Cannot find " + name, e);
    }
  }
}
