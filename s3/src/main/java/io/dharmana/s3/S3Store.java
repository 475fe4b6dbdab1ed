package io.dharmana.s3;

import io.dharmana.AlreadyExistsException;
import io.dharmana.CommitFailedException;
import io.dharmana.CommitStateUnknownException;
import io.dharmana.NotFoundException;
import io.dharmana.store.BlobInfo;
import io.dharmana.store.BlobInput;
import io.dharmana.store.BlobOutput;
import io.dharmana.store.BlobStore;
import io.dharmana.store.Keys;
import io.dharmana.store.SupportsConditionalReplace;
import io.dharmana.store.SupportsListing;
import io.dharmana.store.SupportsTouch;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.http.SdkHttpClient;
import software.amazon.awssdk.http.apache5.Apache5HttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.retries.api.BackoffStrategy;
import software.amazon.awssdk.retries.api.RetryStrategy;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.services.s3.model.MetadataDirective;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * A {@link BlobStore} on an S3-compatible object store: each blob is one object under the
 * location's prefix. Made by {@link S3Stores#create}.
 *
 * <p>How it keeps the store contract on S3:
 *
 * <ul>
 *   <li><b>Visibility and immutability</b>: a blob is staged (in memory, then a spill file past
 *       {@link S3StoreOptions#spillThreshold()}) and committed at {@code close()} by one
 *       conditional write, {@code PutObject} with {@code If-None-Match: *} or, past {@link
 *       S3StoreOptions#multipartThreshold()}, a multipart upload whose parts go up in parallel and
 *       whose {@code CompleteMultipartUpload} carries {@code If-None-Match: *}. The server decides
 *       which racing writer wins; a loser gets {@link AlreadyExistsException}. An uncompleted
 *       multipart upload is invisible; abort and failures abort it (a crash leaves it for the
 *       bucket's lifecycle rule on incomplete uploads to reap).
 *   <li><b>Retries</b>: every request is retried on 5xx, throttling, I/O errors and attempt
 *       timeouts with exponential backoff and full jitter ({@link S3StoreOptions#maxAttempts()}),
 *       except a failure to connect before the endpoint has ever answered: an endpoint that is
 *       down when the store opens fails its first request at once ({@link
 *       FirstContactRetryStrategy}).
 *       A conditional write that fails with 412 after a retried attempt may have lost to its own
 *       earlier attempt; the store then reads the object's ETag and, if it is the MD5 ETag of its
 *       own bytes, reports success (equal bytes written by another writer are indistinguishable
 *       and give the same result).
 *   <li><b>Reads</b>: {@link #open} reads the length and ETag with one HEAD; every read is a
 *       ranged GET conditioned on that ETag, so a blob deleted and written again under the same
 *       key is never read half old, half new. Large reads split into parallel ranged GETs of
 *       {@link S3StoreOptions#readPartSize()}; {@link BlobInput#stream()} reads ahead in parallel.
 *   <li><b>Listing</b> pages through ListObjectsV2 and sorts the whole listing by {@link
 *       String#compareTo} (S3 orders by UTF-8 bytes, which differs for some characters), so it
 *       holds the listing in memory.
 *   <li>{@link #touch} copies the object onto itself (a server-side copy, no bytes through the
 *       client), which S3 allows only with replaced metadata; it refreshes LastModified. The copy
 *       of a multipart object gets a new ETag, so a reader that opened it before fails rather
 *       than mixing versions (it must reopen).
 *   <li>{@link #delete} issues a HEAD then a DELETE: the returned "existed" is only advisory
 *       under concurrent deletes.
 * </ul>
 *
 * <p>Thread safe. Keys written through {@link #compareAndSwap} (refs) are mutable and should
 * live under their own prefix, apart from immutable blobs.
 */
public final class S3Store implements BlobStore, SupportsListing, SupportsTouch, SupportsConditionalReplace,
    io.dharmana.store.SupportsFileCommit {
  private static final AtomicInteger STORE_IDS = new AtomicInteger();

  private final S3Location location;
  private final S3StoreOptions options;
  private final SdkHttpClient http;
  private final S3Client client;
  private final ExecutorService transfers;
  private final AtomicBoolean closed = new AtomicBoolean();

  S3Store(S3Location location, S3StoreOptions options) {
    this.location = Objects.requireNonNull(location, "location");
    this.options = Objects.requireNonNull(options, "options");
    this.http =
        Apache5HttpClient.builder()
            .maxConnections(Math.max(16, 2 * options.parallelism()))
            .connectionTimeout(Duration.ofSeconds(10))
            .socketTimeout(options.attemptTimeout())
            .build();
    S3ClientBuilder builder =
        S3Client.builder()
            .httpClient(http)
            .region(Region.of(options.region()))
            .forcePathStyle(options.pathStyle())
            .credentialsProvider(credentials(options))
            // S3-compatible servers often lack the newer flexible checksums; MD5/SigV4 suffice
            .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
            .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
            .overrideConfiguration(
                o -> o.retryStrategy(retryStrategy(options)).apiCallAttemptTimeout(options.attemptTimeout()));
    if (options.endpoint() != null) {
      builder.endpointOverride(options.endpoint());
    }
    this.client = builder.build();
    this.transfers = Executors.newFixedThreadPool(options.parallelism(), daemonThreads("dharmana-s3-" + STORE_IDS.incrementAndGet()));
  }

  private static AwsCredentialsProvider credentials(S3StoreOptions options) {
    return options.accessKey() == null
        ? DefaultCredentialsProvider.builder().build()
        : StaticCredentialsProvider.create(AwsBasicCredentials.create(options.accessKey(), options.secretKey()));
  }

  private static RetryStrategy retryStrategy(S3StoreOptions options) {
    BackoffStrategy backoff = BackoffStrategy.exponentialDelay(options.baseDelay(), options.maxDelay());
    return new FirstContactRetryStrategy(AwsRetryStrategy.standardRetryStrategy().toBuilder()
        .maxAttempts(options.maxAttempts())
        .backoffStrategy(backoff)
        .throttlingBackoffStrategy(backoff)
        // the token bucket would stop retrying a store that a burst of errors hit; a storage
        // pipeline would rather wait than fail a checkpoint
        .circuitBreakerEnabled(false)
        .build());
  }

  private static ThreadFactory daemonThreads(String name) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, name + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }

  public S3Location location() {
    return location;
  }

  public S3StoreOptions options() {
    return options;
  }

  @Override
  public BlobInput open(String key) {
    Keys.check(key);
    checkOpen();
    String objectKey = location.objectKey(key);
    try {
      HeadObjectResponse head = client.headObject(r -> r.bucket(location.bucket()).key(objectKey));
      return new S3BlobInput(this, key, objectKey, head.contentLength(), head.eTag());
    } catch (S3Exception e) {
      if (e.statusCode() == 404) {
        throw new NotFoundException("Cannot open " + key + " in " + location + ": no such blob");
      }
      throw unchecked("open", key, e);
    } catch (SdkException e) {
      throw unchecked("open", key, e);
    }
  }

  /** One GET, without the HEAD that {@link #open} needs for the length: half the round trips. */
  @Override
  public byte[] read(String key) {
    Keys.check(key);
    checkOpen();
    try {
      return client.getObjectAsBytes(r -> r.bucket(location.bucket()).key(location.objectKey(key))).asByteArray();
    } catch (S3Exception e) {
      if (e.statusCode() == 404) {
        throw new NotFoundException("Cannot read " + key + " in " + location + ": no such blob");
      }
      throw unchecked("read", key, e);
    } catch (SdkException e) {
      throw unchecked("read", key, e);
    }
  }

  @Override
  public BlobOutput create(String key) {
    Keys.check(key);
    checkOpen();
    return new S3BlobOutput(this, key);
  }

  /**
   * One conditional {@code PutObject} per marker, as {@link #write} makes, side by side on the
   * transfer threads: a gc marks up to thousands of chunks, and one at a time each would wait for
   * its own round trip.
   */
  @Override
  public void writeMarkers(java.util.Collection<String> keys) {
    keys.forEach(Keys::check); // all refused before any is written, as one write refuses its key
    checkOpen();
    List<Future<?>> puts = new ArrayList<>(keys.size());
    for (String key : keys) {
      puts.add(transfers.submit(() -> {
        try {
          commit(key, Payload.of(new byte[0], 0));
        } catch (AlreadyExistsException written) {
          // a marker's content is its key
        }
        return null;
      }));
    }
    try {
      for (Future<?> put : puts) {
        await(put, puts, "write markers in " + location);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e.getMessage(), e);
    }
  }

  @Override
  public boolean delete(String key) {
    Keys.check(key);
    checkOpen();
    boolean existed = exists(key);
    try {
      client.deleteObject(r -> r.bucket(location.bucket()).key(location.objectKey(key)));
    } catch (SdkException e) {
      throw unchecked("delete", key, e);
    }
    return existed;
  }

  @Override
  public boolean exists(String key) {
    Keys.check(key);
    checkOpen();
    return etag(location.objectKey(key)).isPresent();
  }

  @Override
  public boolean touch(String key) {
    Keys.check(key);
    checkOpen();
    String objectKey = location.objectKey(key);
    try {
      client.copyObject(r -> r.sourceBucket(location.bucket()).sourceKey(objectKey)
          .destinationBucket(location.bucket()).destinationKey(objectKey)
          .metadataDirective(MetadataDirective.REPLACE));
      return true;
    } catch (S3Exception e) {
      if (e.statusCode() == 404) {
        return false;
      }
      throw unchecked("touch", key, e);
    } catch (SdkException e) {
      throw unchecked("touch", key, e);
    }
  }

  @Override
  public Stream<BlobInfo> list(String prefix) {
    Objects.requireNonNull(prefix, "prefix");
    checkOpen();
    String objectPrefix = location.prefix().isEmpty() ? prefix : location.prefix() + "/" + prefix;
    List<BlobInfo> blobs = new ArrayList<>();
    try {
      for (ListObjectsV2Response page :
          client.listObjectsV2Paginator(r -> r.bucket(location.bucket()).prefix(objectPrefix))) {
        for (S3Object object : page.contents()) {
          blobs.add(new BlobInfo(location.blobKey(object.key()), object.size(), object.lastModified()));
        }
      }
    } catch (SdkException e) {
      throw unchecked("list prefix", prefix, e);
    }
    blobs.sort(Comparator.comparing(BlobInfo::key));
    return blobs.stream();
  }

  @Override
  public Optional<Versioned> readVersioned(String key) {
    Keys.check(key);
    checkOpen();
    try {
      ResponseBytes<GetObjectResponse> bytes =
          client.getObjectAsBytes(r -> r.bucket(location.bucket()).key(location.objectKey(key)));
      return Optional.of(new Versioned(bytes.asByteArray(), bytes.response().eTag()));
    } catch (S3Exception e) {
      if (e.statusCode() == 404) {
        return Optional.empty();
      }
      throw unchecked("read", key, e);
    } catch (SdkException e) {
      throw unchecked("read", key, e);
    }
  }

  /**
   * One {@code PutObject} with {@code If-Match: <expectedVersion>} (or {@code If-None-Match: *}
   * for a null version); versions are ETags. Atomic on AWS S3. Not on every S3-compatible server:
   * S3Proxy 4.1 checks {@code If-Match} before its write rather than with it (two racing swaps
   * from one version were seen both to win), while its {@code If-None-Match: *} is atomic. Where
   * that matters, move refs by creating versions exclusively instead (as the repository's {@code
   * RefStore} does), which needs only {@code If-None-Match}.
   */
  @Override
  public String compareAndSwap(String key, String expectedVersion, byte[] bytes) {
    Keys.check(key);
    Objects.requireNonNull(bytes, "bytes");
    checkOpen();
    String objectKey = location.objectKey(key);
    Payload payload = Payload.of(bytes, bytes.length);
    String what = expectedVersion == null ? "create " + key : "swap " + key + " from version " + expectedVersion;
    try {
      return client.putObject(
              r -> {
                r.bucket(location.bucket()).key(objectKey).contentLength((long) bytes.length);
                if (expectedVersion == null) {
                  r.ifNoneMatch("*");
                } else {
                  r.ifMatch(expectedVersion);
                }
              },
              payload.body(0, bytes.length))
          .eTag();
    } catch (S3Exception e) {
      if (lostCondition(e) || (expectedVersion != null && e.statusCode() == 404)) {
        if (retried(e)) {
          Optional<String> landed = landed(objectKey, payloadEtag(payload, 0));
          if (landed.isPresent()) {
            return landed.get();
          }
        }
        throw new CommitFailedException(
            "Cannot " + what + " in " + location + ": "
                + (expectedVersion == null ? "it already exists" : "its version changed") + " (HTTP " + e.statusCode() + ")");
      }
      return unknownOutcome(what, objectKey, payload, e);
    } catch (SdkException e) {
      return unknownOutcome(what, objectKey, payload, e);
    }
  }

  /** After a failure that may have come after the write took effect: success if it did. */
  private String unknownOutcome(String what, String objectKey, Payload payload, SdkException e) {
    Optional<String> landed = landed(objectKey, payloadEtag(payload, 0));
    if (landed.isPresent()) {
      return landed.get();
    }
    throw new CommitStateUnknownException(
        "Cannot " + what + " in " + location + ": " + describe(e) + "; the write may or may not have taken effect", e);
  }

  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      transfers.shutdownNow();
      client.close();
      http.close();
    }
  }

  @Override
  public String toString() {
    return "S3Store[" + location + "]";
  }

  // ---------------------------------------------------------------- used by output and input

  /** Commits a staged blob with one conditional write. */
  /** Uploads the file (multipart when large) with {@code If-None-Match: *}. */
  @Override
  public void commitFile(String key, java.nio.file.Path file, long size) throws IOException {
    commit(key, Payload.of(file, size));
  }

  void commit(String key, Payload payload) throws IOException {
    checkOpen();
    if (payload.length() > options.multipartThreshold()) {
      commitMultipart(key, payload);
    } else {
      commitSingle(key, payload);
    }
  }

  private void commitSingle(String key, Payload payload) throws IOException {
    String objectKey = location.objectKey(key);
    try {
      client.putObject(
          r -> r.bucket(location.bucket()).key(objectKey).contentLength(payload.length()).ifNoneMatch("*"),
          payload.body(0, payload.length()));
    } catch (S3Exception e) {
      if (lostCondition(e)) {
        if (retried(e) && landed(objectKey, payloadEtag(payload, 0)).isPresent()) {
          return;
        }
        throw new AlreadyExistsException("Cannot commit " + key + " in " + location + ": it already exists");
      }
      failedCommit(key, objectKey, payload, 0, e);
    } catch (SdkException e) {
      failedCommit(key, objectKey, payload, 0, e);
    }
  }

  private void commitMultipart(String key, Payload payload) throws IOException {
    String objectKey = location.objectKey(key);
    long partSize = options.partSize();
    String uploadId;
    try {
      uploadId = client.createMultipartUpload(r -> r.bucket(location.bucket()).key(objectKey)).uploadId();
    } catch (SdkException e) {
      throw new IOException("Cannot commit " + key + " in " + location + ": starting a multipart upload failed: " + describe(e), e);
    }
    boolean completed = false;
    try {
      int partCount = (int) ((payload.length() + partSize - 1) / partSize);
      List<Future<CompletedPart>> futures = new ArrayList<>(partCount);
      for (int i = 0; i < partCount; i++) {
        int partNumber = i + 1;
        long offset = i * partSize;
        long size = Math.min(partSize, payload.length() - offset);
        futures.add(
            transfers.submit(
                () -> {
                  String etag =
                      client.uploadPart(
                              r -> r.bucket(location.bucket()).key(objectKey).uploadId(uploadId)
                                  .partNumber(partNumber).contentLength(size),
                              payload.body(offset, size))
                          .eTag();
                  return CompletedPart.builder().partNumber(partNumber).eTag(etag).build();
                }));
      }
      List<CompletedPart> parts = new ArrayList<>(partCount);
      for (Future<CompletedPart> future : futures) {
        parts.add(await(future, futures, "commit " + key + " in " + location + ": uploading a part"));
      }
      try {
        client.completeMultipartUpload(
            r -> r.bucket(location.bucket()).key(objectKey).uploadId(uploadId).ifNoneMatch("*")
                .multipartUpload(m -> m.parts(parts)));
        completed = true;
      } catch (S3Exception e) {
        if (lostCondition(e)) {
          if (retried(e) && landed(objectKey, payloadEtag(payload, partSize)).isPresent()) {
            completed = true;
            return;
          }
          throw new AlreadyExistsException("Cannot commit " + key + " in " + location + ": it already exists");
        }
        completed = failedCommit(key, objectKey, payload, partSize, e);
      } catch (SdkException e) {
        completed = failedCommit(key, objectKey, payload, partSize, e);
      }
    } finally {
      if (!completed) {
        abortQuietly(objectKey, uploadId);
      }
    }
  }

  /** A commit failed for a reason other than losing: succeed if the write landed anyway, else throw. */
  private boolean failedCommit(String key, String objectKey, Payload payload, long partSize, SdkException e)
      throws IOException {
    if (landed(objectKey, payloadEtag(payload, partSize)).isPresent()) {
      return true;
    }
    throw new IOException("Cannot commit " + key + " in " + location + ": " + describe(e), e);
  }

  private void abortQuietly(String objectKey, String uploadId) {
    try {
      client.abortMultipartUpload(r -> r.bucket(location.bucket()).key(objectKey).uploadId(uploadId));
    } catch (SdkException ignored) {
      // the bucket's lifecycle rule for incomplete uploads reaps it
    }
  }

  /**
   * Reads {@code length} bytes at {@code position} of an object into {@code dst}, in parallel
   * ranged GETs when the read is large.
   */
  void readRange(String objectKey, String etag, long position, int length, ByteBuffer dst) throws IOException {
    long part = options.readPartSize();
    if (length < 2 * part || options.parallelism() == 1) {
      readSerial(objectKey, etag, position, length, dst);
      return;
    }
    List<Future<Void>> futures = new ArrayList<>();
    for (long offset = 0; offset < length; offset += part) {
      int size = (int) Math.min(part, length - offset);
      ByteBuffer slice = dst.duplicate();
      slice.position(dst.position() + (int) offset).limit(dst.position() + (int) offset + size);
      ByteBuffer target = slice.slice();
      long at = position + offset;
      futures.add(
          transfers.submit(
              () -> {
                readSerial(objectKey, etag, at, size, target);
                return null;
              }));
    }
    for (Future<Void> future : futures) {
      await(future, futures, "read " + objectKey + " in " + location.bucket());
    }
    dst.position(dst.position() + length);
  }

  /** One ranged GET (re-issued for the rest if the body breaks off). */
  void readSerial(String objectKey, String etag, long position, int length, ByteBuffer dst) throws IOException {
    int done = 0;
    int attempt = 0;
    while (done < length) {
      long from = position + done;
      long to = position + length - 1;
      try (ResponseInputStream<GetObjectResponse> in =
          client.getObject(r -> r.bucket(location.bucket()).key(objectKey).range("bytes=" + from + "-" + to).ifMatch(etag))) {
        done += copy(in, dst, length - done);
        if (done < length) {
          throw new EOFException("Cannot read " + objectKey + ": the server sent " + done + " of " + length + " bytes");
        }
      } catch (S3Exception e) {
        if (e.statusCode() == 404) {
          // as open() says it: a packed store then looks where a repack elsewhere moved the blob
          throw new NotFoundException("Cannot read " + location.blobKey(objectKey) + " in " + location + ": it was deleted since it was opened", e);
        }
        if (e.statusCode() == 412) {
          throw new IOException("Cannot read " + location.blobKey(objectKey) + " in " + location + ": it was replaced since it was opened", e);
        }
        throw new IOException("Cannot read " + location.blobKey(objectKey) + " in " + location + ": " + describe(e), e);
      } catch (SdkException e) {
        throw new IOException("Cannot read " + location.blobKey(objectKey) + " in " + location + ": " + describe(e), e);
      } catch (IOException e) {
        // the SDK retries requests, not a body that breaks off half way: resume where it stopped
        if (++attempt >= options.maxAttempts()) {
          throw e;
        }
      }
    }
  }

  private static int copy(InputStream in, ByteBuffer dst, int length) throws IOException {
    int copied = 0;
    if (dst.hasArray()) {
      while (copied < length) {
        int n = in.read(dst.array(), dst.arrayOffset() + dst.position(), length - copied);
        if (n < 0) {
          break;
        }
        dst.position(dst.position() + n);
        copied += n;
      }
      return copied;
    }
    byte[] buffer = new byte[Math.min(length, 64 * 1024)];
    while (copied < length) {
      int n = in.read(buffer, 0, Math.min(buffer.length, length - copied));
      if (n < 0) {
        break;
      }
      dst.put(buffer, 0, n);
      copied += n;
    }
    return copied;
  }

  ExecutorService transfers() {
    return transfers;
  }

  // ---------------------------------------------------------------- helpers

  private <T> T await(Future<T> future, List<? extends Future<?>> all, String what) throws IOException {
    try {
      return future.get();
    } catch (InterruptedException e) {
      all.forEach(f -> f.cancel(true));
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("Cannot " + what + ": interrupted");
    } catch (ExecutionException e) {
      all.forEach(f -> f.cancel(true));
      Throwable cause = e.getCause();
      if (cause instanceof IOException io) {
        throw io;
      }
      throw new IOException("Cannot " + what + ": " + (cause instanceof SdkException s ? describe(s) : cause), cause);
    }
  }

  private Optional<String> etag(String objectKey) {
    try {
      return Optional.of(client.headObject(r -> r.bucket(location.bucket()).key(objectKey)).eTag());
    } catch (S3Exception e) {
      if (e.statusCode() == 404) {
        return Optional.empty();
      }
      throw unchecked("check", location.blobKey(objectKey), e);
    } catch (SdkException e) {
      throw unchecked("check", location.blobKey(objectKey), e);
    }
  }

  /** The object's ETag if it now holds the bytes whose ETag is {@code expected}. */
  private Optional<String> landed(String objectKey, String expected) {
    if (expected == null) {
      return Optional.empty();
    }
    try {
      return etag(objectKey).filter(etag -> stripQuotes(etag).equals(expected));
    } catch (RuntimeException e) {
      return Optional.empty();
    }
  }

  private static String payloadEtag(Payload payload, long partSize) {
    try {
      return partSize == 0 ? payload.singlePutEtag() : payload.multipartEtag(partSize);
    } catch (IOException e) {
      return null;
    }
  }

  private static String stripQuotes(String etag) {
    return etag.length() >= 2 && etag.startsWith("\"") && etag.endsWith("\"") ? etag.substring(1, etag.length() - 1) : etag;
  }

  /** 412: the condition failed; 409: a concurrent conditional write on the key won (AWS). */
  private static boolean lostCondition(S3Exception e) {
    return e.statusCode() == 412 || e.statusCode() == 409;
  }

  private static boolean retried(SdkException e) {
    Integer attempts = e.numAttempts();
    return attempts == null || attempts > 1;
  }

  private static String describe(SdkException e) {
    String attempts = e.numAttempts() == null ? "" : " after " + e.numAttempts() + " attempt(s)";
    if (e instanceof S3Exception s3) {
      String code = s3.awsErrorDetails() == null ? null : s3.awsErrorDetails().errorCode();
      return "HTTP " + s3.statusCode() + (code == null ? "" : " " + code) + attempts;
    }
    if (e.getMessage() != null && e.getMessage().startsWith("Unable to load credentials")) {
      // the SDK's message lists each of six providers it tried, a screenful
      return "no AWS credentials found (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile in ~/.aws/credentials)";
    }
    return e.getClass().getSimpleName() + ": " + e.getMessage() + attempts;
  }

  private UncheckedIOException unchecked(String action, String key, SdkException e) {
    IOException io = new IOException("Cannot " + action + " " + key + " in " + location + ": " + describe(e), e);
    // its message, not "java.io.IOException: " and its message
    return new UncheckedIOException(io.getMessage(), io);
  }

  private void checkOpen() {
    if (closed.get()) {
      throw new IllegalStateException("Cannot use " + this + ": it is closed");
    }
  }
}
