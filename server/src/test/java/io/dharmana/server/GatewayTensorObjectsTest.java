package io.dharmana.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.checkpoint.TensorObjects;
import io.dharmana.descriptor.PipelineDescriptor;
import io.dharmana.descriptor.StorageDescriptor;
import io.dharmana.repo.ObjectInfo;
import io.dharmana.repo.Repository;
import io.dharmana.tensor.DType;
import io.dharmana.tensor.SafetensorsWriter;
import io.dharmana.tensor.Tensor;
import io.dharmana.testkit.TestCorpus;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;

/**
 * A bucket bound to a float-coding pipeline stores {@code .safetensors} objects tensor by tensor,
 * delta-coded against the previous step's object, and reads them back byte for byte, through the
 * real AWS SDK v2 client: whole, in ranges, after the parent is deleted and collected, from a cold
 * cache and from a cache smaller than one file.
 */
class GatewayTensorObjectsTest {
  private static final String ID = "AKIDTENSORS0000001";
  private static final String SECRET = "tensor-objects-test-secret-000000000000";
  private static final int LAYERS = 6;
  private static final int VALUES = 256 * 1024; // 1 MiB a layer: a checkpoint takes two multipart parts

  @TempDir Path dir;
  Repository repository;
  Gateway gateway;
  S3Client s3;

  @BeforeEach
  void start() {
    repository = Repository.init(dir.resolve("repo"), Repository.defaultPipeline());
    repository.addPipeline(PipelineDescriptor.of("checkpoints", StorageDescriptor.builder().stage("float-split", Map.of()).build()));
    startGateway(TensorObjects.DEFAULT_CACHE_BYTES);
    s3.createBucket(b -> b.bucket("checkpoints"));
    s3.createBucket(b -> b.bucket("plain"));
  }

  private void startGateway(long cacheBytes) {
    gateway = Gateway.builder(new RepositoryBackend(repository, cacheBytes), dir.resolve("repo/gateway")).port(0)
        .accessKeys(AccessKeys.of(new AccessKeys.AccessKey(ID, SECRET))).start();
    s3 = S3Client.builder().endpointOverride(gateway.endpoint()).region(Region.US_EAST_1).forcePathStyle(true)
        .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(ID, SECRET))).build();
  }

  private void restartGateway(long cacheBytes) {
    s3.close();
    gateway.close();
    startGateway(cacheBytes);
  }

  @AfterEach
  void stop() {
    s3.close();
    gateway.close();
    repository.close();
  }

  /** A model's state: F32 layers, a BF16 copy of the first and an I64 step counter, as training writes it. */
  static byte[] checkpoint(long seed, int step) {
    Random random = new Random(seed);
    List<Tensor> tensors = new ArrayList<>();
    float[] first = null;
    for (int layer = 0; layer < LAYERS; layer++) {
      float[] w = new float[VALUES];
      for (int i = 0; i < w.length; i++) {
        w[i] = (float) (random.nextGaussian() * 0.02);
      }
      // each step nudges the even layers a little (the odd ones are frozen): low mantissa bits change
      Random update = new Random(seed * 31 + layer);
      for (int s = 0; s < step && layer % 2 == 0; s++) {
        for (int i = 0; i < w.length; i++) {
          w[i] -= 1e-5f * (float) update.nextGaussian();
        }
      }
      first = first == null ? w : first;
      tensors.add(Tensor.ofFloats("layers." + layer + ".weight", new long[] {256, VALUES / 256}, w));
    }
    ByteBuffer bf16 = ByteBuffer.allocate(first.length * 2).order(ByteOrder.LITTLE_ENDIAN);
    for (float f : first) {
      bf16.putShort((short) (Float.floatToRawIntBits(f) >>> 16));
    }
    tensors.add(Tensor.of("layers.0.weight.bf16", DType.BF16, new long[] {first.length}, bf16.flip()));
    tensors.add(Tensor.of("step", DType.I64, new long[] {1},
        ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, step)));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    SafetensorsWriter.write(Map.of("format", "pt"), tensors, out);
    return out.toByteArray();
  }

  private void put(String bucket, String key, byte[] data) {
    s3.putObject(b -> b.bucket(bucket).key(key), RequestBody.fromBytes(data));
  }

  private byte[] get(String bucket, String key) {
    return s3.getObjectAsBytes(b -> b.bucket(bucket).key(key)).asByteArray();
  }

  private ObjectInfo info(String bucket, String key) {
    return repository.stat(bucket + "/" + key).orElseThrow();
  }

  @Test
  void nextStepIsDeltaCodedAgainstThePreviousAndReadsBackByteForByte() {
    long seed = 11;
    byte[] step1 = checkpoint(seed, 1);
    byte[] step2 = checkpoint(seed, 2);
    put("checkpoints", "run-1/step-1/model.safetensors", step1);
    put("checkpoints", "run-1/step-2/model.safetensors", step2);
    put("checkpoints", "other/model.safetensors", step2); // no earlier object of its pattern: coded whole

    ObjectInfo parent = info("checkpoints", "run-1/step-1/model.safetensors");
    ObjectInfo delta = info("checkpoints", "run-1/step-2/model.safetensors");
    ObjectInfo whole = info("checkpoints", "other/model.safetensors");
    assertEquals(parent.manifestId(), delta.attributes().get(TensorObjects.BASE), "step 2 must be coded against step 1");
    assertEquals("1", delta.attributes().get(TensorObjects.DEPTH));
    assertFalse(whole.attributes().containsKey(TensorObjects.BASE));
    assertEquals(List.of(parent.manifestId()), repository.manifest(delta.manifestId()).includes(),
        "the child must include its parent so gc keeps it");
    // half the layers are frozen (their delta is all zero) and the others moved in their low bits only
    assertTrue(delta.storedBytes() < whole.storedBytes() * 0.6,
        "delta " + delta.storedBytes() + " bytes, whole " + whole.storedBytes());
    assertTrue(whole.storedBytes() < step2.length, "float coding must shrink the file: " + whole.storedBytes());
    System.out.printf("generated checkpoint %d bytes: whole %d (%.3fx), delta %d (%.3fx)%n", step2.length, whole.storedBytes(),
        (double) step2.length / whole.storedBytes(), delta.storedBytes(), (double) step2.length / delta.storedBytes());

    HeadObjectResponse head = s3.headObject(b -> b.bucket("checkpoints").key("run-1/step-2/model.safetensors"));
    assertEquals(step2.length, head.contentLength(), "HEAD must give the size put, not the coded size");
    assertTrue(head.metadata().isEmpty(), "coding attributes must not show as metadata: " + head.metadata());
    assertArrayEquals(step2, get("checkpoints", "run-1/step-2/model.safetensors"));
    assertArrayEquals(step1, get("checkpoints", "run-1/step-1/model.safetensors"));
    assertRanges(step2, "checkpoints", "run-1/step-2/model.safetensors", seed);
    assertEquals(step2.length, s3.listObjectsV2(b -> b.bucket("checkpoints").prefix("run-1/step-2/")).contents().get(0).size());

    // cold: a new process decodes the chain from the repository alone
    restartGateway(TensorObjects.DEFAULT_CACHE_BYTES);
    assertArrayEquals(step2, get("checkpoints", "run-1/step-2/model.safetensors"));
    assertRanges(step2, "checkpoints", "run-1/step-2/model.safetensors", seed + 1);
  }

  @Test
  void childOutlivesItsDeletedAndCollectedParent() {
    byte[] step1 = checkpoint(5, 1);
    byte[] step2 = checkpoint(5, 2);
    put("checkpoints", "ckpt-1.safetensors", step1);
    put("checkpoints", "ckpt-2.safetensors", step2);
    s3.deleteObject(b -> b.bucket("checkpoints").key("ckpt-1.safetensors"));
    repository.gc(java.time.Duration.ZERO);
    restartGateway(TensorObjects.DEFAULT_CACHE_BYTES); // nothing decoded left in memory or on disk
    assertArrayEquals(step2, get("checkpoints", "ckpt-2.safetensors"));
  }

  @Test
  void overwriteIsCodedAgainstTheObjectItReplacesAndChainsAreCut() {
    byte[][] steps = new byte[TensorObjects.FULL_EVERY + 2][];
    for (int s = 0; s < steps.length; s++) {
      steps[s] = checkpoint(9, s);
      put("checkpoints", "latest/model.safetensors", steps[s]);
      ObjectInfo info = info("checkpoints", "latest/model.safetensors");
      assertEquals(Integer.toString(s % TensorObjects.FULL_EVERY), info.attributes().get(TensorObjects.DEPTH), "step " + s);
      assertArrayEquals(steps[s], get("checkpoints", "latest/model.safetensors"), "step " + s);
    }
    // a cache too small for even one file: every read decodes again, and still reads right
    restartGateway(1);
    assertArrayEquals(steps[steps.length - 1], get("checkpoints", "latest/model.safetensors"));
    assertRanges(steps[steps.length - 1], "checkpoints", "latest/model.safetensors", 3);
  }

  @Test
  void notSafetensorsIsStoredAsItCameAndCopiesCarryNoCoding() {
    byte[] junk = GatewaySdkTest.random(3, 300_000);
    put("checkpoints", "broken.safetensors", junk);
    assertFalse(info("checkpoints", "broken.safetensors").attributes().containsKey(TensorObjects.CODING));
    assertArrayEquals(junk, get("checkpoints", "broken.safetensors"));

    byte[] step = checkpoint(4, 3);
    put("checkpoints", "a/model.safetensors", step);
    // into a bucket without float coding: stored plain, from the decoded bytes
    s3.copyObject(b -> b.sourceBucket("checkpoints").sourceKey("a/model.safetensors").destinationBucket("plain").destinationKey("m.safetensors"));
    ObjectInfo copy = info("plain", "m.safetensors");
    assertFalse(copy.attributes().containsKey(TensorObjects.CODING), "the copy must not claim a coding: " + copy.attributes());
    assertEquals(step.length, copy.size());
    assertArrayEquals(step, get("plain", "m.safetensors"));
    // within the bucket: coded again, against the source's pattern only if the key matches it
    s3.copyObject(b -> b.sourceBucket("checkpoints").sourceKey("a/model.safetensors").destinationBucket("checkpoints").destinationKey("b/model.safetensors"));
    assertArrayEquals(step, get("checkpoints", "b/model.safetensors"));
  }

  @Test
  void multipartUploadOfACheckpointIsTensorCoded() {
    byte[] step = checkpoint(21, 2);
    int part = 5 << 20;
    assertTrue(step.length > part, "the file must take two parts");
    String upload = s3.createMultipartUpload(b -> b.bucket("checkpoints").key("mp/model.safetensors")).uploadId();
    List<software.amazon.awssdk.services.s3.model.CompletedPart> parts = new ArrayList<>();
    for (int n = 1, off = 0; off < step.length; n++, off += part) {
      int number = n;
      byte[] bytes = Arrays.copyOfRange(step, off, Math.min(step.length, off + part));
      String etag = s3.uploadPart(b -> b.bucket("checkpoints").key("mp/model.safetensors").uploadId(upload).partNumber(number),
          RequestBody.fromBytes(bytes)).eTag();
      parts.add(software.amazon.awssdk.services.s3.model.CompletedPart.builder().partNumber(number).eTag(etag).build());
    }
    s3.completeMultipartUpload(b -> b.bucket("checkpoints").key("mp/model.safetensors").uploadId(upload)
        .multipartUpload(m -> m.parts(parts)));
    assertEquals("dhz", info("checkpoints", "mp/model.safetensors").attributes().get(TensorObjects.CODING));
    assertArrayEquals(step, get("checkpoints", "mp/model.safetensors"));
  }

  @Test
  void corpusStep2010AgainstStep2000ReachesTheDeltaRatio() throws IOException {
    byte[] w2000 = Files.readAllBytes(TestCorpus.checkpoint("w_step2000.safetensors"));
    byte[] w2010 = Files.readAllBytes(TestCorpus.checkpoint("w_step2010.safetensors"));
    put("checkpoints", "run/step2000/model.safetensors", w2000);
    put("checkpoints", "run/step2010/model.safetensors", w2010);
    put("plain", "run/step2010/model.safetensors", w2010);
    put("checkpoints", "run/step2010/model.bin", w2010); // not .safetensors: float-split chunk by chunk, as before
    ObjectInfo delta = info("checkpoints", "run/step2010/model.safetensors");
    ObjectInfo chunks = info("checkpoints", "run/step2010/model.bin");
    ObjectInfo zstd = info("plain", "run/step2010/model.safetensors");
    double ratio = (double) w2010.length / delta.storedBytes();
    System.out.printf("corpus step 2010 via the gateway: %d bytes stored as %d (%.3fx) with a delta; %d (%.3fx) float-split on chunks;"
        + " %d (%.3fx) through zstd -3%n", w2010.length, delta.storedBytes(), ratio, chunks.storedBytes(),
        (double) w2010.length / chunks.storedBytes(), zstd.storedBytes(), (double) w2010.length / zstd.storedBytes());
    // issue 3's target for this pair is 1.65 with `dharmana compress --base`; the gateway stores the same .dhz
    assertTrue(ratio >= 1.6, "ratio " + ratio);
    assertArrayEquals(w2010, get("checkpoints", "run/step2010/model.safetensors"));
  }

  @Test
  void stepsPutTogetherAreEachDeltaCodedAgainstTheOneBefore() throws Exception {
    // as `aws s3 sync` sends a directory of steps: all at once, so none finds another committed
    int steps = 4;
    List<byte[]> data = new ArrayList<>();
    for (int step = 1; step <= steps; step++) {
      data.add(checkpoint(23, step));
    }
    java.util.concurrent.CyclicBarrier together = new java.util.concurrent.CyclicBarrier(steps);
    java.util.concurrent.ExecutorService clients = java.util.concurrent.Executors.newFixedThreadPool(steps);
    try {
      List<java.util.concurrent.Future<?>> puts = new ArrayList<>();
      for (int i = 0; i < steps; i++) {
        int step = i + 1;
        puts.add(clients.submit(() -> {
          together.await();
          put("checkpoints", "synced/step-" + step + "/model.safetensors", data.get(step - 1));
          return null;
        }));
      }
      for (java.util.concurrent.Future<?> f : puts) {
        f.get();
      }
    } finally {
      clients.shutdownNow();
    }
    List<ObjectInfo> infos = new ArrayList<>();
    for (int step = 1; step <= steps; step++) {
      infos.add(info("checkpoints", "synced/step-" + step + "/model.safetensors"));
    }
    // the first to arrive is coded whole, every other against one of its siblings
    List<ObjectInfo> whole = infos.stream().filter(i -> !i.attributes().containsKey(TensorObjects.BASE)).toList();
    assertEquals(1, whole.size(), "exactly one step coded whole: " + infos.stream().map(ObjectInfo::attributes).toList());
    java.util.Set<String> siblings = new java.util.HashSet<>(infos.stream().map(ObjectInfo::manifestId).toList());
    for (ObjectInfo i : infos) {
      if (i != whole.get(0)) {
        assertTrue(siblings.contains(i.attributes().get(TensorObjects.BASE)), i.name() + " must be coded against a sibling");
        assertTrue(i.storedBytes() < whole.get(0).storedBytes() * 0.6, i.name() + ": delta " + i.storedBytes()
            + " bytes, whole " + whole.get(0).storedBytes());
      }
    }
    restartGateway(TensorObjects.DEFAULT_CACHE_BYTES); // cold: each read decodes its chain
    for (int step = 1; step <= steps; step++) {
      assertArrayEquals(data.get(step - 1), get("checkpoints", "synced/step-" + step + "/model.safetensors"));
    }
  }

  @Test
  void concurrentColdRangedReadsAllReadRight() throws Exception {
    byte[] step1 = checkpoint(13, 1);
    byte[] step2 = checkpoint(13, 2);
    put("checkpoints", "c/step-1.safetensors", step1);
    put("checkpoints", "c/step-2.safetensors", step2);
    restartGateway(TensorObjects.DEFAULT_CACHE_BYTES);
    int parts = 8;
    int part = (step2.length + parts - 1) / parts;
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(parts);
    try {
      List<java.util.concurrent.Future<byte[]>> got = rangesAtOnce(pool, "c/step-2.safetensors", step2.length, part);
      ByteArrayOutputStream joined = new ByteArrayOutputStream();
      for (java.util.concurrent.Future<byte[]> f : got) {
        joined.write(f.get());
      }
      assertArrayEquals(step2, joined.toByteArray());
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void anUploadThatBreaksOffLeavesNothing() throws IOException {
    byte[] step = checkpoint(17, 1);
    put("checkpoints", "d/model.safetensors", step);
    TensorObjects tensors = new TensorObjects(repository, TensorObjects.DEFAULT_CACHE_BYTES);
    java.io.InputStream breaking = new java.io.FilterInputStream(new java.io.ByteArrayInputStream(checkpoint(17, 2))) {
      long read;

      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        if (read > step.length / 2) {
          throw new IOException("connection reset by the test");
        }
        int n = super.read(b, off, len);
        read += Math.max(n, 0);
        return n;
      }
    };
    assertThrows(java.io.UncheckedIOException.class,
        () -> tensors.put("checkpoints/d/model.safetensors", breaking, io.dharmana.repo.PutOptions.defaults().withPipeline("checkpoints")));
    assertArrayEquals(step, get("checkpoints", "d/model.safetensors"), "the object put before must stay");
    assertEquals(1, info("checkpoints", "d/model.safetensors").version());
    try (java.util.stream.Stream<Path> left = Files.walk(dir.resolve("repo/cache"))) {
      assertEquals(List.of(), left.filter(p -> p.getFileName().toString().startsWith("tmp-")).toList(), "temporary files left");
    }
  }

  @Test
  void aDamagedParentMakesTheNextStepWholeAndIsReportedNotServed() throws IOException {
    byte[] step1 = checkpoint(23, 1);
    byte[] step2 = checkpoint(23, 2);
    put("checkpoints", "e/step-1.safetensors", step1);
    s3.close();
    gateway.close();
    repository.close();
    flipABitOfTheLargestPack(dir.resolve("repo"));
    repository = Repository.open(dir.resolve("repo"));
    startGateway(TensorObjects.DEFAULT_CACHE_BYTES);

    put("checkpoints", "e/step-2.safetensors", step2);
    ObjectInfo second = info("checkpoints", "e/step-2.safetensors");
    assertFalse(second.attributes().containsKey(TensorObjects.BASE), "coded whole, not against a damaged parent: " + second.attributes());
    assertArrayEquals(step2, get("checkpoints", "e/step-2.safetensors"));
    // a 500 when the damage lies before the first byte asked for; else the response, already under way, is cut off there
    software.amazon.awssdk.core.exception.SdkException damaged = assertThrows(software.amazon.awssdk.core.exception.SdkException.class,
        () -> get("checkpoints", "e/step-1.safetensors"), "a damaged object is an error, never other bytes");
    if (damaged instanceof software.amazon.awssdk.services.s3.model.S3Exception s3Error) {
      assertEquals(500, s3Error.statusCode());
    }
  }

  /**
   * A cold GET streams: bytes are served as the decode verifies them, not once the whole file is
   * decoded. Shown without a clock or a hook on an object whose last large tensor is damaged (its
   * stored bytes are right, so the store's chunk checks pass; the tensor's CRC-32C fails), so its
   * decode can never finish: a range of the header and first tensor is still served, right, and a
   * whole GET gets its status and headers and is then cut off, never completed. Before, every GET
   * waited for the whole decode and failed with a 500.
   */
  @Test
  void aColdReadIsServedAsItIsDecodedAndCutWhereATensorIsDamaged() throws IOException {
    byte[] step = checkpoint(29, 1);
    Damaged damaged = putWithADamagedTensor("f/model.safetensors", step);
    byte[] head = get("checkpoints", "f/model.safetensors", 0, damaged.firstTensorEnd() - 1);
    assertArrayEquals(Arrays.copyOfRange(step, 0, (int) damaged.firstTensorEnd()), head,
        "the header and first tensor are verified before the damaged tensor is reached");

    restartGateway(TensorObjects.DEFAULT_CACHE_BYTES); // cold again
    try (software.amazon.awssdk.core.ResponseInputStream<software.amazon.awssdk.services.s3.model.GetObjectResponse> in =
        s3.getObject(b -> b.bucket("checkpoints").key("f/model.safetensors"))) {
      assertEquals(step.length, in.response().contentLength(), "the response starts before the decode ends");
      byte[] buffer = new byte[64 << 10];
      long[] read = {0};
      Exception cut = assertThrows(Exception.class, () -> {
        for (int n; (n = in.read(buffer)) >= 0; ) {
          read[0] += n;
        }
      }, "a response of a damaged object must be cut, not completed");
      // a failed decode is reported once all its threads have stopped: every verified byte is served, none past them
      assertEquals(damaged.damagedTensorStart(), read[0], "bytes served before the cut: " + cut);
    }
    // the damage is reported, and nothing of the failed decode is left behind or cached
    assertThrows(software.amazon.awssdk.services.s3.model.S3Exception.class,
        () -> get("checkpoints", "f/model.safetensors", damaged.damagedTensorStart(), damaged.damagedTensorStart()));
  }

  /**
   * A client retries a GET that failed (the SDK three times): a retry of a read past the damage
   * fails at once, without fetching and decoding the stored file again; a range before the damage
   * is still served. Before, every retry decoded the file up to the damage again.
   */
  @Test
  void aDecodeThatFoundDamageIsNotRunAgainForARetry() throws IOException {
    byte[] step = checkpoint(31, 1);
    Damaged damaged = putWithADamagedTensor("g/model.safetensors", step);
    long start = storedBytesRead();
    assertThrows(software.amazon.awssdk.services.s3.model.S3Exception.class,
        () -> get("checkpoints", "g/model.safetensors", damaged.damagedTensorStart(), damaged.damagedTensorStart() + 10));
    long decoded = storedBytesRead() - start;
    assertTrue(decoded > 0, "the first GET decodes the file up to the damage");
    assertThrows(software.amazon.awssdk.services.s3.model.S3Exception.class,
        () -> get("checkpoints", "g/model.safetensors", damaged.damagedTensorStart(), damaged.damagedTensorStart() + 10));
    assertEquals(decoded, storedBytesRead() - start, "a retry must not read and decode the stored file again");
    byte[] head = get("checkpoints", "g/model.safetensors", 0, damaged.firstTensorEnd() - 1);
    assertArrayEquals(Arrays.copyOfRange(step, 0, (int) damaged.firstTensorEnd()), head, "bytes before the damage are still served");
  }

  /** Bytes of stored tensor files read so far (the decodes' fetches). */
  private long storedBytesRead() {
    return repository.metrics(io.dharmana.checkpoint.CheckpointManager.PIPELINE).snapshot("test")
        .counter(io.dharmana.metrics.PipelineMetrics.READ_BYTES);
  }

  /**
   * A delta child's decode follows its parent's as that is decoded, not once all of it is: with the
   * parent's last large tensor damaged (so its decode never finishes), the child's bytes up to the
   * end of its first delta-coded tensor are still served cold; a whole GET of the child
   * never completes with wrong bytes. Before, the parent was decoded whole first, and failed.
   */
  @Test
  void aDeltaChildStreamsWhileItsParentIsDecoded() throws IOException {
    byte[] step1 = checkpoint(37, 1);
    byte[] step2 = checkpoint(37, 2);
    Damaged damaged = putWithADamagedTensor("h/step-1.safetensors", step1);
    Path parentFile = dir.resolve("h-step-1.safetensors");
    Path childFile = dir.resolve("h-step-2.safetensors");
    Path coded = dir.resolve("h-step-2.dhz");
    Files.write(parentFile, step1);
    Files.write(childFile, step2);
    io.dharmana.tensor.file.TensorFileWriter.compress(childFile, coded, io.dharmana.tensor.file.CompressOptions.defaults().withBase(parentFile));
    long firstDeltaEnd;
    try (io.dharmana.tensor.file.TensorFileReader reader = io.dharmana.tensor.file.TensorFileReader.open(coded)) {
      io.dharmana.tensor.file.TensorFileEntry first = reader.entries().stream().filter(io.dharmana.tensor.file.TensorFileEntry::delta)
          .findFirst().orElseThrow();
      firstDeltaEnd = 8 + reader.originalHeader().length + first.end();
    }
    assertTrue(firstDeltaEnd < damaged.damagedTensorStart(), "the first delta-coded tensor must lie before the damaged one");
    storeCoded("h/step-2.safetensors", Files.readAllBytes(coded), step2.length, info("checkpoints", "h/step-1.safetensors"));
    restartGateway(TensorObjects.DEFAULT_CACHE_BYTES);

    byte[] head = get("checkpoints", "h/step-2.safetensors", 0, firstDeltaEnd - 1);
    assertArrayEquals(Arrays.copyOfRange(step2, 0, (int) firstDeltaEnd), head);
    byte[] whole;
    try {
      whole = get("checkpoints", "h/step-2.safetensors");
    } catch (software.amazon.awssdk.core.exception.SdkException cut) {
      whole = null; // the child's tensor coded against the damaged one cannot be decoded
    }
    if (whole != null) {
      assertArrayEquals(step2, whole, "a complete response must be right");
    }
  }

  /** Concurrent cold ranged GETs of an object with a damaged tensor: each is served right or fails, none gets wrong bytes. */
  @Test
  void concurrentColdRangesBeforeADamagedTensorAreServedAndTheOthersFail() throws Exception {
    byte[] step = checkpoint(31, 1);
    Damaged damaged = putWithADamagedTensor("g/model.safetensors", step);
    int parts = 12;
    int part = (step.length + parts - 1) / parts;
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(parts);
    try {
      List<java.util.concurrent.Future<byte[]>> got = rangesAtOnce(pool, "g/model.safetensors", step.length, part);
      int served = 0;
      for (int i = 0; i < parts; i++) {
        int first = i * part;
        int end = Math.min(step.length, first + part);
        if (end <= damaged.damagedTensorStart()) {
          assertArrayEquals(Arrays.copyOfRange(step, first, end), got.get(i).get(), "part " + i);
          served++;
        } else {
          int index = i;
          assertThrows(java.util.concurrent.ExecutionException.class, () -> got.get(index).get(),
              "part " + i + " needs the damaged tensor");
        }
      }
      assertTrue(served >= parts / 2, served + " parts before the damaged tensor");
    } finally {
      pool.shutdownNow();
    }
  }

  /** Where a stored object's damage lies, in bytes of the file put. */
  record Damaged(long firstTensorEnd, long damagedTensorStart) {}

  /**
   * Stores {@code file} under checkpoints/{@code key} as {@link TensorObjects} would, coded whole,
   * with one byte of the encoding of its last tensor of at least 64 KiB flipped before it is
   * stored: damage that the store's own checks cannot see, as a bad write ahead of them would make.
   */
  private Damaged putWithADamagedTensor(String key, byte[] file) throws IOException {
    Path input = dir.resolve("damaged-input.safetensors");
    Path coded = dir.resolve("damaged.dhz");
    Files.write(input, file);
    io.dharmana.tensor.file.TensorFileWriter.compress(input, coded, io.dharmana.tensor.file.CompressOptions.defaults());
    List<io.dharmana.tensor.file.TensorFileEntry> entries;
    long dataStart;
    try (io.dharmana.tensor.file.TensorFileReader reader = io.dharmana.tensor.file.TensorFileReader.open(coded)) {
      entries = reader.entries();
      dataStart = 8 + reader.originalHeader().length;
    }
    io.dharmana.tensor.file.TensorFileEntry last = entries.stream().filter(e -> e.originalBytes() >= 64 << 10)
        .max(java.util.Comparator.comparingLong(io.dharmana.tensor.file.TensorFileEntry::begin)).orElseThrow();
    assertTrue(last.begin() > entries.get(0).end(), "the damaged tensor must not be the first");
    byte[] bytes = Files.readAllBytes(coded);
    bytes[(int) (last.offset() + last.length() / 2)] ^= 0x10;
    storeCoded(key, bytes, file.length, null);
    return new Damaged(dataStart + entries.get(0).end(), dataStart + last.begin());
  }

  /** Stores the tensor file {@code coded} of a file of {@code size} bytes under checkpoints/{@code key} as {@link TensorObjects} does. */
  private ObjectInfo storeCoded(String key, byte[] coded, int size, ObjectInfo parent) {
    Map<String, String> attributes = new java.util.TreeMap<>(Map.of(TensorObjects.CODING, "dhz",
        TensorObjects.DEPTH, parent == null ? "0" : "1", io.dharmana.manifest.ObjectManifest.ENCODED_FROM_SIZE, Integer.toString(size)));
    if (parent != null) {
      attributes.put(TensorObjects.BASE, parent.manifestId());
    }
    return repository.put("checkpoints/" + key, new java.io.ByteArrayInputStream(coded), io.dharmana.repo.PutOptions.defaults()
        .withPipeline(io.dharmana.checkpoint.CheckpointManager.ensurePipeline(repository)).withoutOriginalHash().withAttributes(attributes)
        .withIncludes(parent == null ? List.of() : List.of(parent.manifestId())));
  }

  /** GETs of checkpoints/{@code key} in ranges of {@code part} bytes, from the first to the last byte of {@code size}, all at once. */
  private List<java.util.concurrent.Future<byte[]>> rangesAtOnce(java.util.concurrent.ExecutorService pool, String key, int size,
      int part) {
    List<java.util.concurrent.Future<byte[]>> got = new ArrayList<>();
    for (long first = 0; first < size; first += part) {
      long from = first;
      long last = Math.min(size, first + part) - 1;
      got.add(pool.submit(() -> get("checkpoints", key, from, last)));
    }
    return got;
  }

  private byte[] get(String bucket, String key, long first, long last) {
    return s3.getObjectAsBytes(b -> b.bucket(bucket).key(key).range("bytes=" + first + "-" + last)).asByteArray();
  }

  /** Flips one bit in the middle of the largest pack file of the repository at {@code repo}. */
  static void flipABitOfTheLargestPack(Path repo) throws IOException {
    Path pack;
    try (java.util.stream.Stream<Path> files = Files.walk(repo.resolve("tiers"))) {
      pack = files.filter(Files::isRegularFile).filter(p -> p.toString().endsWith(".pack"))
          .max(java.util.Comparator.comparingLong(p -> p.toFile().length())).orElseThrow();
    }
    byte[] stored = Files.readAllBytes(pack);
    stored[stored.length / 2] ^= 0x10;
    pack.toFile().setWritable(true);
    Files.write(pack, stored);
  }

  /**
   * A gateway that stops cleanly (or cannot start) removes the cache of decoded files its backend
   * made; before, it stayed until the next process found it abandoned.
   */
  @Test
  void aGatewayThatStopsRemovesItsCacheOfDecodedFiles() throws IOException {
    byte[] step2 = checkpoint(9, 2);
    put("checkpoints", "run/step-1.safetensors", checkpoint(9, 1));
    put("checkpoints", "run/step-2.safetensors", step2);
    assertArrayEquals(step2, get("checkpoints", "run/step-2.safetensors"));
    List<Path> caches = decodedFileCaches();
    assertEquals(1, caches.size(), "the gateway's cache: " + caches);
    try (var files = Files.list(caches.get(0))) {
      assertTrue(files.findAny().isPresent(), "the read left decoded files in " + caches.get(0));
    }
    s3.close();
    gateway.close();
    assertEquals(List.of(), decodedFileCaches(), "a stopped gateway must remove its cache of decoded files");

    try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      Gateway.Builder builder = Gateway.builder(new RepositoryBackend(repository), dir.resolve("repo/gateway"))
          .port(taken.getLocalPort()).accessKeys(AccessKeys.of(new AccessKeys.AccessKey(ID, SECRET)));
      assertEquals(1, decodedFileCaches().size(), "the new backend's cache");
      assertThrows(java.io.UncheckedIOException.class, builder::start);
    }
    assertEquals(List.of(), decodedFileCaches(), "a gateway that cannot start must remove its backend's cache");
    startGateway(TensorObjects.DEFAULT_CACHE_BYTES); // for stop()
  }

  private List<Path> decodedFileCaches() throws IOException {
    try (var all = Files.list(dir.resolve("repo/cache"))) {
      return all.filter(p -> p.getFileName().toString().startsWith("gateway-tensors-")).toList();
    }
  }

  @Test
  void cachesOfProcessesThatAreGoneAreRemoved() throws IOException {
    Path caches = dir.resolve("repo/cache");
    Path gone = Files.createDirectories(caches.resolve("gateway-tensors-2147483646-0badf00d"));
    Files.write(gone.resolve("x.safetensors"), new byte[10]);
    Path alive = Files.createDirectories(caches.resolve("gateway-tensors-1-0badf00d")); // pid 1 runs while we do
    try (TensorObjects ignored = new TensorObjects(repository, TensorObjects.DEFAULT_CACHE_BYTES)) {
      assertFalse(Files.exists(gone), "the cache of a process that is gone must be removed");
      assertTrue(Files.exists(alive), "the cache of a running process must stay");
    }
  }

  private void assertRanges(byte[] data, String bucket, String key, long seed) {
    Random random = new Random(seed);
    for (int i = 0; i < 6; i++) {
      int first = random.nextInt(data.length);
      int last = Math.min(data.length - 1, first + random.nextInt(3 << 20));
      byte[] got = s3.getObjectAsBytes(b -> b.bucket(bucket).key(key).range("bytes=" + first + "-" + last)).asByteArray();
      assertArrayEquals(Arrays.copyOfRange(data, first, last + 1), got, "range " + first + "-" + last + " (seed " + seed + ")");
    }
    byte[] tail = s3.getObjectAsBytes(b -> b.bucket(bucket).key(key).range("bytes=-100")).asByteArray();
    assertArrayEquals(Arrays.copyOfRange(data, data.length - 100, data.length), tail, "suffix range");
  }
}
