package io.dharmana.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Signature checks against the worked examples in AWS's SigV4-for-S3 documentation. */
class SigV4Test {
  static final String ID = "AKIAIOSFODNN7EXAMPLE";
  static final String SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
  static final Instant SIGNED_AT = Instant.parse("2013-05-24T00:00:00Z");
  final SigV4 sigV4 = new SigV4(id -> id.equals(ID) ? SECRET : null);

  static RequestHead request(String method, String path, String query, Map<String, List<String>> headers) {
    return RequestHead.of(method, path, query, headers);
  }

  @Test
  void getObjectExampleFromAwsDocsVerifies() {
    RequestHead r = request("GET", "/test.txt", null, Map.of(
        "Host", List.of("examplebucket.s3.amazonaws.com"),
        "Range", List.of("bytes=0-9"),
        "x-amz-content-sha256", List.of(SigV4.EMPTY_SHA256),
        "x-amz-date", List.of("20130524T000000Z"),
        "Authorization", List.of("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
            + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")));
    assertEquals(ID, sigV4.verify(r, SIGNED_AT.plusSeconds(60)).accessKeyId());

    RequestHead tampered = request("GET", "/test.txt", null, Map.of(
        "Host", List.of("examplebucket.s3.amazonaws.com"),
        "Range", List.of("bytes=0-99"),
        "x-amz-content-sha256", List.of(SigV4.EMPTY_SHA256),
        "x-amz-date", List.of("20130524T000000Z"),
        "Authorization", r.headers().get("authorization")));
    S3Failure f = assertThrows(S3Failure.class, () -> sigV4.verify(tampered, SIGNED_AT));
    assertEquals("SignatureDoesNotMatch", f.code);

    S3Failure skewed = assertThrows(S3Failure.class, () -> sigV4.verify(r, SIGNED_AT.plusSeconds(3600)));
    assertEquals("RequestTimeTooSkewed", skewed.code);
  }

  @Test
  void presignedExampleFromAwsDocsVerifiesUntilItExpires() {
    String query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
        + "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
        + "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";
    RequestHead r = request("GET", "/test.txt", query, Map.of("Host", List.of("examplebucket.s3.amazonaws.com")));
    assertEquals(ID, sigV4.verify(r, SIGNED_AT.plusSeconds(3600)).accessKeyId());
    S3Failure expired = assertThrows(S3Failure.class, () -> sigV4.verify(r, SIGNED_AT.plusSeconds(86401)));
    assertEquals("AccessDenied", expired.code);
  }

  /** AWS's chunked upload example: 64 KiB + 1 KiB of 'a', each chunk signed, chained from the seed. */
  @Test
  void signedChunkedExampleFromAwsDocsDecodes() throws IOException {
    byte[] body = signedExampleBody(false);
    SigV4.Verified auth = exampleAuth();
    byte[] decoded = new AwsChunkedInputStream(new ByteArrayInputStream(body), auth, null, 66560).readAllBytes();
    byte[] expected = new byte[66560];
    Arrays.fill(expected, (byte) 'a');
    assertArrayEquals(expected, decoded);

    byte[] corrupted = signedExampleBody(true);
    S3Failure f = assertThrows(S3Failure.class,
        () -> new AwsChunkedInputStream(new ByteArrayInputStream(corrupted), exampleAuth(), null, 66560).readAllBytes());
    assertEquals("SignatureDoesNotMatch", f.code);
  }

  static SigV4.Verified exampleAuth() {
    byte[] key = SigV4.signingKey(SECRET, "20130524", "us-east-1", "s3");
    return new SigV4.Verified(ID, key, "20130524T000000Z", "20130524/us-east-1/s3/aws4_request",
        "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9", SigV4.STREAMING_SIGNED);
  }

  static byte[] signedExampleBody(boolean flipOneByte) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] first = new byte[65536];
    Arrays.fill(first, (byte) 'a');
    byte[] second = new byte[1024];
    Arrays.fill(second, (byte) 'a');
    if (flipOneByte) {
      second[100] = 'b';
    }
    out.write("10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n".getBytes(StandardCharsets.US_ASCII));
    out.write(first);
    out.write("\r\n400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n".getBytes(StandardCharsets.US_ASCII));
    out.write(second);
    out.write("\r\n0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    return out.toByteArray();
  }

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8})
  void unsignedTrailerBodiesDecodeAndCrcMismatchesAreCaught(long seed) throws IOException {
    Random r = new Random(seed);
    byte[] data = new byte[r.nextInt(300_000)];
    r.nextBytes(data);
    CRC32 crc = new CRC32();
    crc.update(data);
    String good = crc32Base64(crc.getValue());
    String bad = crc32Base64(crc.getValue() ^ 1);
    assertArrayEquals(data, decode(unsignedTrailerBody(data, r, good), data.length), "seed " + seed);
    S3Failure f = assertThrows(S3Failure.class, () -> decode(unsignedTrailerBody(data, new Random(seed), bad), data.length), "seed " + seed);
    assertEquals("BadDigest", f.code, "seed " + seed);
    if (data.length > 0) {
      byte[] truncated = Arrays.copyOf(unsignedTrailerBody(data, new Random(seed), good), data.length / 2);
      assertThrows(S3Failure.class, () -> decode(truncated, data.length), "seed " + seed);
    }
  }

  static byte[] decode(byte[] body, long length) throws IOException {
    SigV4.Verified auth = new SigV4.Verified(ID, null, null, null, null, SigV4.STREAMING_UNSIGNED_TRAILER);
    try (InputStream in = new AwsChunkedInputStream(new ByteArrayInputStream(body), auth, "x-amz-checksum-crc32", length)) {
      return in.readAllBytes();
    }
  }

  static String crc32Base64(long v) {
    return Base64.getEncoder().encodeToString(new byte[] {(byte) (v >>> 24), (byte) (v >>> 16), (byte) (v >>> 8), (byte) v});
  }

  static byte[] unsignedTrailerBody(byte[] data, Random r, String crc) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int off = 0;
    while (off < data.length) {
      int n = Math.min(data.length - off, 1 + r.nextInt(70_000));
      out.write((Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.US_ASCII));
      out.write(data, off, n);
      out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
      off += n;
    }
    out.write(("0\r\nx-amz-checksum-crc32:" + crc + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
    return out.toByteArray();
  }

  @Test
  void uriEncodingFollowsAwsRules() {
    assertEquals("a%20b/c%2Bd~_-.", SigV4.uriEncode("a b/c+d~_-.", false));
    assertEquals("a%2Fb", SigV4.uriEncode("a/b", true));
    assertEquals("%C3%A9", SigV4.uriEncode("é", true));
    assertEquals(HexFormat.of().formatHex(new byte[0]), "");
  }

  @Test
  void amzDatesAreReadByPositionAndMalformedOnesRefused() {
    assertEquals(Instant.parse("2013-05-24T00:00:00Z"), SigV4.parseAmzDate("20130524T000000Z"));
    assertEquals(Instant.parse("2024-02-29T23:59:59Z"), SigV4.parseAmzDate("20240229T235959Z"));
    for (String bad : List.of("", "20130524T000000", "20130524 000000Z", "2013052T0000000Z", "20131324T000000Z",
        "20230229T000000Z", "20130524T250000Z", "2013-524T000000Z", "20130524T00000+Z", "\u0663013\u06630524T000000Z")) {
      S3Failure f = assertThrows(S3Failure.class, () -> SigV4.parseAmzDate(bad), "X-Amz-Date '" + bad + "'");
      assertEquals(403, f.status, bad);
    }
  }

  @Test
  void canonicalHeaderValuesCollapseRunsOfSpacesOnly() {
    StringBuilder sb = new StringBuilder();
    SigV4.appendCollapsed(sb, "a  b   c d\t\tе");
    assertEquals("a b c d\t\tе", sb.toString());
  }
}
