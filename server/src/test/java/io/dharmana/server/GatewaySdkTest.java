package io.dharmana.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import io.dharmana.descriptor.PipelineDescriptor;
import io.dharmana.repo.Repository;
import io.dharmana.testkit.OpenFiles;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3Configuration;
import software.amazon.awssdk.services.s3.model.CommonPrefix;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.CreateMultipartUploadResponse;
import software.amazon.awssdk.services.s3.model.Delete;
import software.amazon.awssdk.services.s3.model.DeleteObjectsResponse;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.services.s3.model.ListPartsResponse;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.ObjectIdentifier;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;
import software.amazon.awssdk.services.s3.model.UploadPartResponse;
import software.amazon.awssdk.services.s3.presigner.S3Presigner;

/** Drives the gateway with the real AWS SDK v2 client (its signer, chunked encoding and checksums). */
class GatewaySdkTest {
  @TempDir Path dir;
  Gateway gateway;
  S3Client s3;
  AwsBasicCredentials credentials;

  final List<Repository> repositories = new ArrayList<>();

  /** A real repository in the temporary directory, with a second pipeline named "checkpoints". */
  ObjectBackend newBackend(Path directory) {
    Repository repository = Repository.init(directory, Repository.defaultPipeline());
    repositories.add(repository);
    repository.addPipeline(PipelineDescriptor.of("checkpoints", repository.descriptor().storage()));
    return new RepositoryBackend(repository);
  }

  @BeforeEach
  void start() {
    List<AccessKeys.AccessKey> announced = new ArrayList<>();
    // short request slices on: every request here also exercises taking and giving them back
    gateway = Gateway.builder(newBackend(dir.resolve("repo")), dir.resolve("repo/gateway")).port(0)
        .requestSlice(Duration.ofNanos(100_000)).onGeneratedKey(announced::add).start();
    assertEquals(1, announced.size(), "a fresh state directory must generate and announce one key");
    try {
      assertEquals(PosixFilePermissions.fromString("rw-------"),
          Files.getPosixFilePermissions(dir.resolve("repo/gateway/credentials")), "credentials must be owner-only");
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    AccessKeys.AccessKey key = announced.get(0);
    credentials = AwsBasicCredentials.create(key.id(), key.secret());
    s3 = client(credentials);
    s3.createBucket(b -> b.bucket("data"));
  }

  S3Client client(AwsBasicCredentials creds) {
    return S3Client.builder().endpointOverride(gateway.endpoint()).region(Region.US_EAST_1)
        .credentialsProvider(StaticCredentialsProvider.create(creds))
        .serviceConfiguration(S3Configuration.builder().pathStyleAccessEnabled(true).build()).build();
  }

  @AfterEach
  void stop() {
    s3.close();
    gateway.close();
    repositories.forEach(Repository::close);
  }

  static byte[] random(long seed, int size) {
    byte[] b = new byte[size];
    new Random(seed).nextBytes(b);
    return b;
  }

  static String md5(byte[] data) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(data));
  }

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3, 4, 5})
  void putThenGetIsByteIdenticalWithMd5Etag(long seed) throws Exception {
    Random r = new Random(seed);
    int[] sizes = {0, 1, 4096, 1 + r.nextInt(3 << 20)};
    for (int size : sizes) {
      byte[] data = random(seed * 31 + size, size);
      String key = "k/" + seed + "/" + size + ".bin";
      var put = s3.putObject(b -> b.bucket("data").key(key).contentType("application/x-test").metadata(Map.of("origin", "seed" + seed)),
          RequestBody.fromBytes(data));
      assertEquals("\"" + md5(data) + "\"", put.eTag(), "seed " + seed + " size " + size);
      ResponseBytes<GetObjectResponse> got = s3.getObjectAsBytes(b -> b.bucket("data").key(key));
      assertArrayEquals(data, got.asByteArray(), "seed " + seed + " size " + size);
      assertEquals(put.eTag(), got.response().eTag());
      assertEquals("application/x-test", got.response().contentType());
      assertEquals("seed" + seed, got.response().metadata().get("origin"));
      HeadObjectResponse head = s3.headObject(b -> b.bucket("data").key(key));
      assertEquals(size, head.contentLength(), "seed " + seed);
      assertEquals(put.eTag(), head.eTag());
    }
  }

  /**
   * Gateway puts leave the whole-object SHA-256 out (the MD5 ETag and the chunk ids cover the
   * content): the ETag still comes back from GET, HEAD and listings, also after a restart (the
   * index keys it by the content id then), and whole and ranged reads still return the bytes.
   */
  @ParameterizedTest
  @ValueSource(longs = {21, 22})
  void putsWithoutTheWholeObjectHashKeepTheirEtagAcrossRestarts(long seed) throws Exception {
    Repository repository = repositories.get(0);
    Random r = new Random(seed);
    int[] sizes = {0, 4096, 1 + r.nextInt(3 << 20)};
    Map<String, byte[]> objects = new java.util.LinkedHashMap<>();
    for (int size : sizes) {
      byte[] data = random(seed * 17 + size, size);
      String key = "nohash/" + seed + "/" + size;
      objects.put(key, data);
      assertEquals("\"" + md5(data) + "\"", s3.putObject(b -> b.bucket("data").key(key), RequestBody.fromBytes(data)).eTag(),
          "seed " + seed + " size " + size);
      assertEquals("", repository.stat(ObjectNames.name("data", key)).orElseThrow().sha256(),
          "seed " + seed + ": a gateway put must not hash the whole object");
    }
    gateway.close();
    gateway = Gateway.builder(new RepositoryBackend(repository), dir.resolve("repo/gateway")).port(0).start();
    s3.close();
    s3 = client(credentials);
    for (var e : objects.entrySet()) {
      byte[] data = e.getValue();
      String etag = "\"" + md5(data) + "\"";
      ResponseBytes<GetObjectResponse> got = s3.getObjectAsBytes(b -> b.bucket("data").key(e.getKey()));
      assertArrayEquals(data, got.asByteArray(), "seed " + seed + " " + e.getKey());
      assertEquals(etag, got.response().eTag(), "seed " + seed + " " + e.getKey());
      assertEquals(etag, s3.headObject(b -> b.bucket("data").key(e.getKey())).eTag(), "seed " + seed);
      if (data.length > 10) {
        int from = r.nextInt(data.length / 2);
        int to = from + r.nextInt(data.length - from);
        byte[] range = s3.getObjectAsBytes(b -> b.bucket("data").key(e.getKey()).range("bytes=" + from + "-" + to)).asByteArray();
        assertArrayEquals(Arrays.copyOfRange(data, from, to + 1), range, "seed " + seed + " range " + from + "-" + to);
      }
    }
    for (S3Object o : s3.listObjectsV2(b -> b.bucket("data").prefix("nohash/" + seed + "/")).contents()) {
      assertEquals("\"" + md5(objects.get(o.key())) + "\"", o.eTag(), "seed " + seed + " " + o.key());
    }
  }

  @ParameterizedTest
  @ValueSource(longs = {11, 12, 13})
  void rangedGetsReturnExactlyTheRange(long seed) {
    Random r = new Random(seed);
    byte[] data = random(seed, 100_000 + r.nextInt(100_000));
    s3.putObject(b -> b.bucket("data").key("ranged"), RequestBody.fromBytes(data));
    for (int i = 0; i < 20; i++) {
      int first = r.nextInt(data.length);
      int last = first + r.nextInt(data.length - first);
      String range = switch (i % 3) {
        case 0 -> "bytes=" + first + "-" + last;
        case 1 -> "bytes=" + first + "-";
        default -> "bytes=-" + (last - first + 1);
      };
      byte[] expected = switch (i % 3) {
        case 0 -> Arrays.copyOfRange(data, first, last + 1);
        case 1 -> Arrays.copyOfRange(data, first, data.length);
        default -> Arrays.copyOfRange(data, data.length - (last - first + 1), data.length);
      };
      ResponseBytes<GetObjectResponse> got = s3.getObjectAsBytes(b -> b.bucket("data").key("ranged").range(range));
      assertArrayEquals(expected, got.asByteArray(), "seed " + seed + " range " + range);
      assertTrue(got.response().contentRange().endsWith("/" + data.length), got.response().contentRange());
    }
    S3Exception e = assertThrows(S3Exception.class,
        () -> s3.getObjectAsBytes(b -> b.bucket("data").key("ranged").range("bytes=" + data.length + "-")));
    assertEquals(416, e.statusCode());
  }

  @Test
  void conditionalReadsAndWrites() {
    String etag = s3.putObject(b -> b.bucket("data").key("c"), RequestBody.fromString("one")).eTag();
    S3Exception notModified = assertThrows(S3Exception.class, () -> s3.getObjectAsBytes(b -> b.bucket("data").key("c").ifNoneMatch(etag)));
    assertEquals(304, notModified.statusCode());
    S3Exception failed = assertThrows(S3Exception.class, () -> s3.getObjectAsBytes(b -> b.bucket("data").key("c").ifMatch("\"0000\"")));
    assertEquals(412, failed.statusCode());
    assertEquals("one", s3.getObjectAsBytes(b -> b.bucket("data").key("c").ifMatch(etag)).asUtf8String());

    S3Exception exists = assertThrows(S3Exception.class,
        () -> s3.putObject(b -> b.bucket("data").key("c").ifNoneMatch("*"), RequestBody.fromString("two")));
    assertEquals(412, exists.statusCode());
    s3.putObject(b -> b.bucket("data").key("fresh").ifNoneMatch("*"), RequestBody.fromString("new"));
    // a removed name is absent again (its head is a deletion marker), once
    s3.deleteObject(b -> b.bucket("data").key("fresh"));
    s3.putObject(b -> b.bucket("data").key("fresh").ifNoneMatch("*"), RequestBody.fromString("again"));
    S3Exception recreated = assertThrows(S3Exception.class,
        () -> s3.putObject(b -> b.bucket("data").key("fresh").ifNoneMatch("*"), RequestBody.fromString("twice")));
    assertEquals(412, recreated.statusCode());
    assertEquals("again", s3.getObjectAsBytes(b -> b.bucket("data").key("fresh")).asUtf8String());
    s3.putObject(b -> b.bucket("data").key("c").ifMatch(etag), RequestBody.fromString("three"));
    S3Exception stale = assertThrows(S3Exception.class,
        () -> s3.putObject(b -> b.bucket("data").key("c").ifMatch(etag), RequestBody.fromString("four")));
    assertEquals(412, stale.statusCode());
    assertEquals("three", s3.getObjectAsBytes(b -> b.bucket("data").key("c")).asUtf8String());
  }

  @ParameterizedTest
  @ValueSource(longs = {21, 22, 23})
  void listObjectsV2PagesSeeEveryKeyAndPrefixOnce(long seed) {
    Random r = new Random(seed);
    TreeSet<String> keys = new TreeSet<>();
    String[] parts = {"a", "b", "dir", "x y", "z+1", "%p"};
    while (keys.size() < 30) {
      int depth = 1 + r.nextInt(3);
      StringBuilder k = new StringBuilder();
      for (int d = 0; d < depth; d++) {
        if (d > 0) {
          k.append('/');
        }
        k.append(parts[r.nextInt(parts.length)]).append(r.nextInt(3));
      }
      if (r.nextInt(8) == 0) {
        k.append('/');
      }
      keys.add(k.toString());
    }
    for (String k : keys) {
      s3.putObject(b -> b.bucket("data").key(k), RequestBody.fromString(k));
    }
    keys.add("a0/");
    keys.add("a0/zz");
    s3.putObject(b -> b.bucket("data").key("a0/"), RequestBody.fromString("folder marker"));
    s3.putObject(b -> b.bucket("data").key("a0/zz"), RequestBody.fromString("under the marker"));
    for (String prefix : new String[] {"", "dir", "a0/", "b1/x"}) {
      for (String delimiter : new String[] {null, "/"}) {
        TreeSet<String> expectedKeys = new TreeSet<>();
        TreeSet<String> expectedPrefixes = new TreeSet<>();
        for (String k : keys) {
          if (!k.startsWith(prefix)) {
            continue;
          }
          int d = delimiter == null ? -1 : k.indexOf(delimiter, prefix.length());
          if (d >= 0) {
            expectedPrefixes.add(k.substring(0, d + 1));
          } else {
            expectedKeys.add(k);
          }
        }
        List<String> seenKeys = new ArrayList<>();
        List<String> seenPrefixes = new ArrayList<>();
        String token = null;
        int pages = 0;
        do {
          // page size 1 makes the folder marker "a0/" a resume point under prefix "a0/"
          ListObjectsV2Request.Builder req = ListObjectsV2Request.builder().bucket("data").prefix(prefix)
              .maxKeys(prefix.equals("a0/") ? 1 : 1 + r.nextInt(6));
          if (delimiter != null) {
            req.delimiter(delimiter);
          }
          if (token != null) {
            req.continuationToken(token);
          }
          ListObjectsV2Response page = s3.listObjectsV2(req.build());
          page.contents().stream().map(S3Object::key).forEach(seenKeys::add);
          page.commonPrefixes().stream().map(CommonPrefix::prefix).forEach(seenPrefixes::add);
          token = page.isTruncated() ? page.nextContinuationToken() : null;
          assertTrue(++pages < 100, "seed " + seed + ": pagination does not end");
        } while (token != null);
        String what = "seed " + seed + " prefix '" + prefix + "' delimiter " + delimiter;
        assertEquals(new ArrayList<>(expectedKeys), seenKeys, what);
        assertEquals(new ArrayList<>(expectedPrefixes), seenPrefixes, what);
      }
    }
  }

  @Test
  void multipartUploadCompletesWithS3Etag() throws Exception {
    int partSize = 5 << 20;
    byte[] data = random(42, partSize + 12345);
    CreateMultipartUploadResponse created = s3.createMultipartUpload(b -> b.bucket("data").key("big/object").contentType("application/x-big"));
    List<CompletedPart> done = new ArrayList<>();
    MessageDigest partMd5s = MessageDigest.getInstance("MD5");
    for (int i = 0; i * partSize < data.length; i++) {
      byte[] part = Arrays.copyOfRange(data, i * partSize, Math.min(data.length, (i + 1) * partSize));
      int number = i + 1;
      UploadPartResponse up = s3.uploadPart(b -> b.bucket("data").key("big/object").uploadId(created.uploadId()).partNumber(number),
          RequestBody.fromBytes(part));
      assertEquals("\"" + md5(part) + "\"", up.eTag());
      partMd5s.update(MessageDigest.getInstance("MD5").digest(part));
      done.add(CompletedPart.builder().partNumber(number).eTag(up.eTag()).build());
    }
    ListPartsResponse parts = s3.listParts(b -> b.bucket("data").key("big/object").uploadId(created.uploadId()));
    assertEquals(2, parts.parts().size());
    var completed = s3.completeMultipartUpload(b -> b.bucket("data").key("big/object").uploadId(created.uploadId())
        .multipartUpload(m -> m.parts(done)));
    String expectedEtag = "\"" + HexFormat.of().formatHex(partMd5s.digest()) + "-2\"";
    assertEquals(expectedEtag, completed.eTag());
    ResponseBytes<GetObjectResponse> got = s3.getObjectAsBytes(b -> b.bucket("data").key("big/object"));
    assertArrayEquals(data, got.asByteArray());
    assertEquals(expectedEtag, got.response().eTag());
    assertEquals("application/x-big", got.response().contentType());

    // a precondition that fails only once the parts stream into the repository arrives in the body of a 200
    CreateMultipartUploadResponse conflicting = s3.createMultipartUpload(b -> b.bucket("data").key("big/object"));
    String partEtag = s3.uploadPart(b -> b.bucket("data").key("big/object").uploadId(conflicting.uploadId()).partNumber(1),
        RequestBody.fromString("late")).eTag();
    S3Exception exists = assertThrows(S3Exception.class, () -> s3.completeMultipartUpload(b -> b.bucket("data").key("big/object")
        .uploadId(conflicting.uploadId()).ifNoneMatch("*")
        .multipartUpload(m -> m.parts(CompletedPart.builder().partNumber(1).eTag(partEtag).build()))));
    assertEquals("PreconditionFailed", exists.awsErrorDetails().errorCode());
    S3Exception wrongPart = assertThrows(S3Exception.class, () -> s3.completeMultipartUpload(b -> b.bucket("data").key("big/object")
        .uploadId(conflicting.uploadId())
        .multipartUpload(m -> m.parts(CompletedPart.builder().partNumber(1).eTag("\"0123\"").build()))));
    assertEquals("InvalidPart", wrongPart.awsErrorDetails().errorCode());
    assertArrayEquals(data, s3.getObjectAsBytes(b -> b.bucket("data").key("big/object")).asByteArray());

    CreateMultipartUploadResponse aborted = s3.createMultipartUpload(b -> b.bucket("data").key("gone"));
    s3.uploadPart(b -> b.bucket("data").key("gone").uploadId(aborted.uploadId()).partNumber(1), RequestBody.fromString("x"));
    s3.abortMultipartUpload(b -> b.bucket("data").key("gone").uploadId(aborted.uploadId()));
    S3Exception e = assertThrows(S3Exception.class, () -> s3.listParts(b -> b.bucket("data").key("gone").uploadId(aborted.uploadId())));
    assertEquals(404, e.statusCode());
    assertThrows(NoSuchKeyException.class, () -> s3.headObject(b -> b.bucket("data").key("gone")));

    // an upload abandoned by its client is removed, parts and all, when the gateway restarts after its age
    CreateMultipartUploadResponse abandoned = s3.createMultipartUpload(b -> b.bucket("data").key("abandoned"));
    s3.uploadPart(b -> b.bucket("data").key("abandoned").uploadId(abandoned.uploadId()).partNumber(1), RequestBody.fromString("x"));
    // the upload whose completion failed its precondition stays, as on S3, so two are in progress
    assertEquals(2, s3.listMultipartUploads(b -> b.bucket("data")).uploads().size());
    s3.close();
    gateway.close();
    gateway = Gateway.builder(new RepositoryBackend(repositories.get(0)), dir.resolve("repo/gateway")).port(0)
        .abandonedUploadAge(Duration.ZERO).start();
    s3 = client(credentials);
    assertEquals(0, s3.listMultipartUploads(b -> b.bucket("data")).uploads().size());
    assertFalse(Files.exists(dir.resolve("repo/gateway/uploads").resolve(abandoned.uploadId())));
    assertArrayEquals(data, s3.getObjectAsBytes(b -> b.bucket("data").key("big/object")).asByteArray(), "objects survive a restart");
  }

  @ParameterizedTest
  @ValueSource(longs = {31, 32, 33, 34, 35, 36})
  void racingConditionalPutsHaveExactlyOneWinner(long seed) throws Exception {
    int writers = 8;
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(writers);
    java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
    List<java.util.concurrent.Future<Integer>> outcomes = new ArrayList<>();
    for (int i = 0; i < writers; i++) {
      byte[] body = random(seed * 100 + i, 50_000);
      outcomes.add(pool.submit(() -> {
        go.await();
        try {
          s3.putObject(b -> b.bucket("data").key("race/" + seed).ifNoneMatch("*"), RequestBody.fromBytes(body));
          return 200;
        } catch (S3Exception e) {
          return e.statusCode();
        }
      }));
    }
    go.countDown();
    List<Integer> codes = new ArrayList<>();
    for (var f : outcomes) {
      codes.add(f.get());
    }
    pool.shutdown();
    assertEquals(1, codes.stream().filter(c -> c == 200).count(), "seed " + seed + ": " + codes);
    assertEquals(writers - 1, codes.stream().filter(c -> c == 412).count(), "seed " + seed + ": " + codes);
    byte[] winner = s3.getObjectAsBytes(b -> b.bucket("data").key("race/" + seed)).asByteArray();
    boolean matchesOne = false;
    for (int i = 0; i < writers; i++) {
      matchesOne |= Arrays.equals(winner, random(seed * 100 + i, 50_000));
    }
    assertTrue(matchesOne, "seed " + seed + ": the stored object is no writer's body");
  }

  @Test
  void unsupportedSubresourcesAreRefusedNotMistakenForPlainRequests() {
    s3.putObject(b -> b.bucket("data").key("tagged"), RequestBody.fromString("x"));
    S3Exception tagging = assertThrows(S3Exception.class, () -> s3.getObjectTagging(b -> b.bucket("data").key("tagged")));
    assertEquals(501, tagging.statusCode());
    S3Exception acl = assertThrows(S3Exception.class, () -> s3.getBucketAcl(b -> b.bucket("data")));
    assertEquals("NotImplemented", acl.awsErrorDetails().errorCode());
  }

  @Test
  void aBodyThatBreaksItsPromiseLeavesNothingBehind() {
    S3Exception badMd5 = assertThrows(S3Exception.class, () -> s3.putObject(
        b -> b.bucket("data").key("promised").contentMD5("AAAAAAAAAAAAAAAAAAAAAA=="), RequestBody.fromString("not that")));
    assertEquals("BadDigest", badMd5.awsErrorDetails().errorCode());
    assertThrows(NoSuchKeyException.class, () -> s3.headObject(b -> b.bucket("data").key("promised")));
  }

  @Test
  void copyDeleteAndBucketLifecycle() {
    s3.putObject(b -> b.bucket("data").key("src key+1").metadata(Map.of("m", "v")), RequestBody.fromString("payload"));
    s3.copyObject(b -> b.sourceBucket("data").sourceKey("src key+1").destinationBucket("data").destinationKey("dst/copy"));
    ResponseBytes<GetObjectResponse> copy = s3.getObjectAsBytes(b -> b.bucket("data").key("dst/copy"));
    assertEquals("payload", copy.asUtf8String());
    assertEquals("v", copy.response().metadata().get("m"));

    DeleteObjectsResponse deleted = s3.deleteObjects(b -> b.bucket("data").delete(Delete.builder()
        .objects(ObjectIdentifier.builder().key("src key+1").build(), ObjectIdentifier.builder().key("dst/copy").build()).build()));
    assertEquals(2, deleted.deleted().size());
    assertThrows(NoSuchKeyException.class, () -> s3.headObject(b -> b.bucket("data").key("dst/copy")));

    s3.createBucket(b -> b.bucket("other"));
    assertTrue(s3.listBuckets().buckets().stream().anyMatch(b -> b.name().equals("other")));
    s3.putObject(b -> b.bucket("other").key("x"), RequestBody.fromString("x"));
    S3Exception notEmpty = assertThrows(S3Exception.class, () -> s3.deleteBucket(b -> b.bucket("other")));
    assertEquals(409, notEmpty.statusCode());
    s3.deleteObject(b -> b.bucket("other").key("x"));
    s3.deleteBucket(b -> b.bucket("other"));
    S3Exception gone = assertThrows(S3Exception.class, () -> s3.headBucket(b -> b.bucket("other")));
    assertEquals(404, gone.statusCode());
  }

  @Test
  void presignedUrlWorksAndTamperedOneIsRefused() throws Exception {
    byte[] data = random(7, 70_000);
    s3.putObject(b -> b.bucket("data").key("shared/file.bin"), RequestBody.fromBytes(data));
    try (S3Presigner presigner = S3Presigner.builder().endpointOverride(gateway.endpoint()).region(Region.US_EAST_1)
        .credentialsProvider(StaticCredentialsProvider.create(credentials))
        .serviceConfiguration(S3Configuration.builder().pathStyleAccessEnabled(true).build()).build()) {
      URL url = presigner.presignGetObject(p -> p.signatureDuration(Duration.ofMinutes(5))
          .getObjectRequest(g -> g.bucket("data").key("shared/file.bin"))).url();
      HttpURLConnection c = (HttpURLConnection) url.openConnection();
      assertEquals(200, c.getResponseCode());
      try (InputStream in = c.getInputStream()) {
        assertArrayEquals(data, in.readAllBytes());
      }
      URL tampered = new URL(url.toString().replace("shared/file.bin", "shared/file.bim"));
      HttpURLConnection t = (HttpURLConnection) tampered.openConnection();
      assertEquals(403, t.getResponseCode());
      String body = new String(t.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(body.contains("<Code>SignatureDoesNotMatch</Code>"), body);
    }
  }

  @Test
  void unsignedAndWronglySignedRequestsGet403() throws Exception {
    HttpURLConnection c = (HttpURLConnection) URI.create(gateway.endpoint() + "/data/anything").toURL().openConnection();
    assertEquals(403, c.getResponseCode());
    String body = new String(c.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(body.contains("<Code>AccessDenied</Code>"), body);

    try (S3Client wrong = client(AwsBasicCredentials.create(credentials.accessKeyId(), credentials.secretAccessKey() + "x"))) {
      S3Exception e = assertThrows(S3Exception.class, () -> wrong.listBuckets());
      assertEquals(403, e.statusCode());
      assertEquals("SignatureDoesNotMatch", e.awsErrorDetails().errorCode());
      S3Exception put = assertThrows(S3Exception.class,
          () -> wrong.putObject(b -> b.bucket("data").key("evil"), RequestBody.fromString("evil")));
      assertEquals(403, put.statusCode());
    }
    try (S3Client unknown = client(AwsBasicCredentials.create("NOSUCHKEY", "whatever123"))) {
      S3Exception e = assertThrows(S3Exception.class, () -> unknown.listBuckets());
      assertEquals("InvalidAccessKeyId", e.awsErrorDetails().errorCode());
    }
    assertThrows(NoSuchKeyException.class, () -> s3.headObject(b -> b.bucket("data").key("evil")));
  }

  @Test
  void badKeysAreRefusedWithS3Errors() {
    S3Exception dots = assertThrows(S3Exception.class, () -> s3.putObject(b -> b.bucket("data").key("a/../b"), RequestBody.fromString("x")));
    assertEquals(400, dots.statusCode());
    assertEquals("InvalidArgument", dots.awsErrorDetails().errorCode());
    String longKey = "k".repeat(1025);
    S3Exception tooLong = assertThrows(S3Exception.class, () -> s3.putObject(b -> b.bucket("data").key(longKey), RequestBody.fromString("x")));
    assertEquals("KeyTooLongError", tooLong.awsErrorDetails().errorCode());
    S3Exception noBucket = assertThrows(S3Exception.class, () -> s3.putObject(b -> b.bucket("nope").key("k"), RequestBody.fromString("x")));
    assertEquals("NoSuchBucket", noBucket.awsErrorDetails().errorCode());
    // keys that the store's rules would refuse are escaped, not lost
    for (String k : List.of("dir/", "a//b", "./x", "p%2Eq", "back\\slash")) {
      s3.putObject(b -> b.bucket("data").key(k), RequestBody.fromString(k));
      assertEquals(k, s3.getObjectAsBytes(b -> b.bucket("data").key(k)).asUtf8String());
    }
    List<String> listed = s3.listObjectsV2(b -> b.bucket("data")).contents().stream().map(S3Object::key).toList();
    assertTrue(listed.containsAll(List.of("dir/", "a//b", "./x", "p%2Eq", "back\\slash")), listed.toString());
  }

  @Test
  void metricsAndDashboardAreServed() throws Exception {
    s3.putObject(b -> b.bucket("data").key("m"), RequestBody.fromString("metric me"));
    s3.getObjectAsBytes(b -> b.bucket("data").key("m"));
    String metrics = fetch("/metrics");
    assertTrue(metrics.contains("dharmana_gateway_requests_seconds_count"), metrics);
    assertTrue(metrics.contains("bucket=\"data\""), metrics);
    assertTrue(fetch("/dashboard").contains("<title>Dharmana gateway</title>"));
    String json = fetch("/dashboard/data.json");
    assertTrue(json.contains("\"bucket\":\"data\""), json);
  }

  @Test
  void bodiesOverTheLimitAreRefused() throws IOException {
    try (Gateway small = Gateway.builder(newBackend(dir.resolve("small")), dir.resolve("small/gateway")).port(0)
            .accessKeys(AccessKeys.of(new AccessKeys.AccessKey(credentials.accessKeyId(), credentials.secretAccessKey())))
            .bind("tiny", "default").maxObjectBytes(1000).start();
        S3Client c = S3Client.builder().endpointOverride(small.endpoint()).region(Region.US_EAST_1)
            .credentialsProvider(StaticCredentialsProvider.create(credentials)).forcePathStyle(true).build()) {
      c.putObject(b -> b.bucket("tiny").key("ok"), RequestBody.fromBytes(new byte[1000]));
      S3Exception e = assertThrows(S3Exception.class, () -> c.putObject(b -> b.bucket("tiny").key("big"), RequestBody.fromBytes(new byte[1001])));
      assertEquals("EntityTooLarge", e.awsErrorDetails().errorCode());
      assertThrows(NoSuchKeyException.class, () -> c.headObject(b -> b.bucket("tiny").key("big")));
    }
    assertFalse(Files.exists(dir.resolve("small/gateway/credentials")), "explicit keys must not generate a credentials file");
    assertNotNull(gateway.accessKeys().first());
  }

  @Test
  void smallPutsAreMergedIntoFewPacksWhileTheGatewayServes() throws Exception {
    gateway.close();
    gateway = Gateway.builder(new RepositoryBackend(repositories.get(0)), dir.resolve("repo/gateway")).port(0)
        .packMergeInterval(Duration.ofMillis(50)).start();
    s3.close();
    s3 = client(credentials);
    Map<String, byte[]> objects = new java.util.LinkedHashMap<>();
    Random r = new Random(64);
    for (int i = 0; i < 64; i++) {
      byte[] data = random(r.nextLong(), 2048 + r.nextInt(4096));
      String key = "small/" + i;
      objects.put(key, data);
      s3.putObject(b -> b.bucket("data").key(key), RequestBody.fromBytes(data));
      // reads meanwhile: some of them from packs a merge has just replaced
      String earlier = "small/" + r.nextInt(i + 1);
      assertArrayEquals(objects.get(earlier), s3.getObjectAsBytes(b -> b.bucket("data").key(earlier)).asByteArray(), earlier);
    }
    // each sequential put sealed a pack of its own; the gateway merges them by size as it serves
    long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
    long packs;
    while ((packs = packFiles(dir.resolve("repo"))) >= 16 && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    assertTrue(packs < 16, packs + " packs left after 64 small puts");
    String metrics = fetch("/metrics");
    java.util.regex.Matcher merged = java.util.regex.Pattern.compile("(?m)^dharmana_gateway_packs_merged_total (\\S+)").matcher(metrics);
    assertTrue(merged.find() && Double.parseDouble(merged.group(1)) >= 48, metrics);
    for (var e : objects.entrySet()) {
      assertArrayEquals(e.getValue(), s3.getObjectAsBytes(b -> b.bucket("data").key(e.getKey())).asByteArray(), e.getKey());
    }
    // and after a restart, from the merged packs alone
    gateway.close();
    repositories.get(0).close();
    try (Repository reopened = Repository.open(dir.resolve("repo"))) {
      for (var e : objects.entrySet()) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        reopened.get(ObjectNames.name("data", e.getKey()), out, io.dharmana.runtime.ProgressListener.NONE);
        assertArrayEquals(e.getValue(), out.toByteArray(), e.getKey());
      }
    }
    gateway = Gateway.builder(newBackend(dir.resolve("other")), dir.resolve("other/gateway")).port(0).start(); // for stop()
  }

  /**
   * A gc run by hand beside the gateway deletes packs the gateway has open and mapped; their disk
   * space comes back only once the gateway lets go of them, which it does with merging off too.
   */
  @Test
  void withMergingOffTheGatewayStillLetsGoOfPacksAGcBesideItDeleted() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(Path.of("/proc/self/fd")), "needs Linux's /proc");
    gateway.close();
    gateway = Gateway.builder(new RepositoryBackend(repositories.get(0)), dir.resolve("repo/gateway")).port(0)
        .packMergeInterval(Duration.ZERO).packReleaseInterval(Duration.ofMillis(50)).start();
    s3.close();
    s3 = client(credentials);
    java.util.Set<String> before = packNames(dir.resolve("repo"));
    byte[] data = random(71, 3 << 20); // random: one pack of 3 MiB, which the gateway maps to read
    s3.putObject(b -> b.bucket("data").key("big"), RequestBody.fromBytes(data));
    java.util.Set<String> added = packNames(dir.resolve("repo"));
    added.removeAll(before);
    assertEquals(1, added.size(), added.toString());
    String pack = added.iterator().next();
    assertArrayEquals(data, s3.getObjectAsBytes(b -> b.bucket("data").key("big")).asByteArray());
    assertFalse(OpenFiles.held(pack).isEmpty(), "the test needs a pack the gateway holds");
    s3.deleteObject(b -> b.bucket("data").key("big"));
    GcProcess.run(dir.resolve("repo")); // as `dharmana gc` beside the gateway
    assertFalse(packNames(dir.resolve("repo")).contains(pack), "the gc deleted the pack");
    assertEquals(List.of(), OpenFiles.heldAfter(pack, Duration.ofSeconds(10)), "the gateway still holds the pack the gc deleted");
  }

  /** Names of the pack files under {@code repo}, listed again if a merge deletes one while they are walked. */
  private static java.util.Set<String> packNames(Path repo) throws IOException {
    for (int attempt = 1; ; attempt++) {
      try (java.util.stream.Stream<Path> files = Files.walk(repo)) {
        return files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".pack"))
            .collect(java.util.stream.Collectors.toCollection(java.util.HashSet::new));
      } catch (java.io.UncheckedIOException e) {
        if (!(e.getCause() instanceof java.nio.file.NoSuchFileException) || attempt == 10) {
          throw e;
        }
      }
    }
  }

  private static long packFiles(Path repo) throws IOException {
    return packNames(repo).size();
  }

  String fetch(String path) throws IOException {
    HttpURLConnection c = (HttpURLConnection) URI.create(gateway.endpoint() + path).toURL().openConnection();
    assertEquals(200, c.getResponseCode(), path);
    try (InputStream in = c.getInputStream()) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }
}
