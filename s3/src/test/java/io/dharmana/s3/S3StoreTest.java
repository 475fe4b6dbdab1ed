package io.dharmana.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.AlreadyExistsException;
import io.dharmana.NotFoundException;
import io.dharmana.store.BlobInfo;
import io.dharmana.store.BlobInput;
import io.dharmana.store.BlobOutput;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import software.amazon.awssdk.services.s3.S3Client;

/** What the S3 store does beyond the store contract (see {@link S3StoreContractTest}). */
class S3StoreTest {
  private static final int MIB = 1024 * 1024;

  @TempDir static Path dir;
  private static S3ProxyServer server;
  private static S3Store store;

  @BeforeAll
  static void start() throws Exception {
    server = S3ProxyServer.shared();
    server.createBucket("blobs");
    store = S3Stores.create(
        "s3://blobs/stores/main",
        server.options()
            .spillThreshold(MIB)
            .multipartThreshold(5 * MIB)
            .partSize(5 * MIB)
            .readPartSize(MIB)
            .parallelism(4)
            .tempDirectory(dir)
            .build());
  }

  @AfterAll
  static void stop() throws Exception {
    store.close();
  }

  private static byte[] random(long seed, int size) {
    byte[] bytes = new byte[size];
    new Random(seed).nextBytes(bytes);
    return bytes;
  }

  @Test
  void blobIsInvisibleUntilCloseAndAbortLeavesNothing() throws Exception {
    BlobOutput out = store.create("pending/k");
    out.write(random(2, 3 * MIB)); // spills to a file
    assertFalse(store.exists("pending/k"));
    assertEquals(0, store.list("pending/").count());
    out.close();
    assertTrue(store.exists("pending/k"));

    BlobOutput aborted = store.create("pending/aborted");
    aborted.write(new byte[100]);
    aborted.abort();
    aborted.abort();
    assertFalse(store.exists("pending/aborted"));
    assertThrows(NotFoundException.class, () -> store.open("pending/aborted"));
  }

  @Test
  void listingIsSortedAndStaysInsideTheStorePrefix() {
    List<String> keys = List.of("list/b", "list/a/z", "list/a-", "list/a/b", "list/c");
    keys.forEach(k -> store.write(k, k.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    try (S3Store sibling = S3Stores.create("s3://blobs/stores/main-sibling", server.options().build())) {
      sibling.write("list/0", new byte[1]);
    }
    try (Stream<BlobInfo> listed = store.list("list/")) {
      assertEquals(List.of("list/a-", "list/a/b", "list/a/z", "list/b", "list/c"), listed.map(BlobInfo::key).toList());
    }
    assertEquals(List.of("list/a/b", "list/a/z"), store.list("list/a/").map(BlobInfo::key).toList());
  }

  @ParameterizedTest
  @ValueSource(longs = {11})
  void largeBlobGoesUpInPartsAndReadsBackInParallel(long seed) throws Exception {
    int size = 20 * MIB + 12345;
    byte[] bytes = random(seed, size);
    String key = "multipart/" + seed;
    BlobOutput out = store.create(key);
    Random chunks = new Random(seed);
    for (int off = 0; off < size; ) {
      int n = Math.min(size - off, 1 + chunks.nextInt(3 * MIB));
      out.write(bytes, off, n);
      off += n;
    }
    assertFalse(store.exists(key), "seed " + seed);
    out.close();

    try (S3Client client = server.client()) {
      String etag = client.headObject(r -> r.bucket("blobs").key("stores/main/" + key)).eTag();
      assertTrue(etag.replace("\"", "").endsWith("-5"), "seed " + seed + ": expected a 5-part upload, ETag " + etag);
    }
    assertArrayEquals(sha256(bytes), sha256(store.read(key)), "seed " + seed);
    try (BlobInput in = store.open(key); InputStream stream = in.stream()) {
      assertArrayEquals(sha256(bytes), sha256(stream.readAllBytes()), "seed " + seed);
    }
    assertThrows(AlreadyExistsException.class, () -> store.write(key, bytes), "seed " + seed);
  }

  @ParameterizedTest
  @ValueSource(longs = {21, 22})
  void rangedReadsReturnTheRightBytes(long seed) throws Exception {
    Random random = new Random(seed);
    byte[] bytes = random(seed, 3 * MIB + random.nextInt(MIB));
    String key = "ranged/" + seed;
    store.write(key, bytes);
    try (BlobInput in = store.open(key)) {
      assertEquals(bytes.length, in.length());
      for (int i = 0; i < 40; i++) {
        int position = random.nextInt(bytes.length);
        int length = random.nextInt(i % 5 == 0 ? 3 * MIB : 64 * 1024);
        ByteBuffer dst = i % 2 == 0 ? ByteBuffer.allocate(length) : ByteBuffer.allocateDirect(length);
        int n = in.read(position, dst);
        int expected = Math.min(length, bytes.length - position);
        assertEquals(expected, n, "seed " + seed + " read " + i);
        dst.flip();
        byte[] got = new byte[n];
        dst.get(got);
        assertArrayEquals(java.util.Arrays.copyOfRange(bytes, position, position + n), got, "seed " + seed + " read " + i);
      }
      assertEquals(-1, in.read(bytes.length, ByteBuffer.allocate(1)));
    }
  }

  @Test
  void blobReplacedAfterOpenIsNotReadHalfOldHalfNew() throws Exception {
    store.write("replaced/k", random(31, 1000));
    try (BlobInput in = store.open("replaced/k")) {
      store.delete("replaced/k");
      store.write("replaced/k", random(32, 1000));
      assertThrows(java.io.IOException.class, () -> in.readFully(0, 10));
    }
  }

  static byte[] sha256(byte[] bytes) throws Exception {
    return MessageDigest.getInstance("SHA-256").digest(bytes);
  }
}
