package io.dharmana.s3;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import org.gaul.s3proxy.BlobStores;
import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.blobstore.ForwardingBlobStore;
import java.util.List;
import java.util.regex.Pattern;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.services.s3.model.S3Object;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * A real S3-compatible server for tests: S3Proxy in-process on 127.0.0.1, an ephemeral port,
 * the filesystem backend in a directory, SigV4 authentication with fixed test keys.
 */
final class S3ProxyServer {
  static final String ACCESS_KEY = "dharmana-test";
  static final String SECRET_KEY = "dharmana-test-secret";

  private final S3Proxy proxy;
  private final URI endpoint;

  private S3ProxyServer(S3Proxy proxy) {
    this.proxy = proxy;
    this.endpoint = URI.create("http://127.0.0.1:" + proxy.getPort());
  }

  private static S3ProxyServer shared;

  /**
   * One server for the whole test run (starting S3Proxy takes seconds); each test class uses
   * its own bucket. Stopped and deleted when the JVM exits.
   */
  static synchronized S3ProxyServer shared() throws Exception {
    if (shared == null) {
      Path directory = Files.createTempDirectory("dharmana-s3proxy-");
      shared = start(directory);
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        try {
          shared.proxy.stop();
          try (var files = Files.walk(directory)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
          }
        } catch (Exception ignored) {
          // best effort at exit
        }
      }));
    }
    return shared;
  }

  static S3ProxyServer start(Path directory) throws Exception {
    return start(directory, 0);
  }

  /**
   * A server on {@code port} (0: an ephemeral one) over the objects in {@code directory}: started
   * again on the same port and directory after {@link #stop()}, it serves what it held before,
   * as an endpoint that was down and is back.
   */
  static S3ProxyServer start(Path directory, int port) throws Exception {
    Files.createDirectories(directory);
    Properties p = new Properties();
    p.setProperty("jclouds.provider", "filesystem");
    p.setProperty("jclouds.filesystem.basedir", directory.toString());
    p.setProperty("jclouds.identity", ACCESS_KEY);
    p.setProperty("jclouds.credential", SECRET_KEY);
    p.setProperty("s3proxy.endpoint", "http://127.0.0.1:" + port);
    p.setProperty("s3proxy.authorization", "aws-v2-or-v4");
    p.setProperty("s3proxy.identity", ACCESS_KEY);
    p.setProperty("s3proxy.credential", SECRET_KEY);
    // the SDK sends headers S3Proxy does not know (checksum and SDK bookkeeping headers)
    p.setProperty("s3proxy.ignore-unknown-headers", "true");
    S3Proxy proxy =
        S3Proxy.Builder.fromProperties(p).blobStore(hidingTempFiles(BlobStores.create("filesystem", p))).build();
    proxy.start();
    for (int i = 0; i < 500 && !"STARTED".equals(proxy.getState()); i++) {
      Thread.sleep(10);
    }
    return new S3ProxyServer(proxy);
  }

  private static final Pattern TEMP_FILE =
      Pattern.compile(".*-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");

  /**
   * S3Proxy's filesystem backend writes an object to {@code <key>-<uuid>} beside the key and
   * renames it, and its listing shows that temp file while a PUT is in progress, which S3 never
   * does (and which breaks anything that lists while others write, such as ref logs). Hide them;
   * no test key ends in a UUID.
   */
  private static org.gaul.s3proxy.blobstore.BlobStore hidingTempFiles(org.gaul.s3proxy.blobstore.BlobStore store) {
    return new ForwardingBlobStore(store) {
      @Override
      public ListObjectsV2Response list(ListObjectsV2Request request) {
        ListObjectsV2Response response = super.list(request);
        List<S3Object> contents = response.contents().stream().filter(o -> !TEMP_FILE.matcher(o.key()).matches()).toList();
        return contents.size() == response.contents().size()
            ? response
            : response.toBuilder().contents(contents).keyCount(contents.size() + response.commonPrefixes().size()).build();
      }
    };
  }

  /** Stops serving: connections to its port are refused from now on. */
  void stop() throws Exception {
    proxy.stop();
  }

  URI endpoint() {
    return endpoint;
  }

  int port() {
    return proxy.getPort();
  }

  /** Options for a store on this server; {@code tweak} may set more. */
  S3StoreOptions.Builder options() {
    return options(endpoint);
  }

  static S3StoreOptions.Builder options(URI endpoint) {
    return S3StoreOptions.builder()
        .endpoint(endpoint)
        .region("us-east-1")
        .pathStyleAccess()
        .staticCredentials(ACCESS_KEY, SECRET_KEY);
  }

  /** A plain SDK client, for making buckets and looking at what a store did. */
  S3Client client() {
    return S3Client.builder()
        .endpointOverride(endpoint)
        .region(Region.US_EAST_1)
        .forcePathStyle(true)
        .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(ACCESS_KEY, SECRET_KEY)))
        .httpClient(software.amazon.awssdk.http.apache5.Apache5HttpClient.create())
        .build();
  }

  void createBucket(String bucket) {
    try (S3Client client = client()) {
      client.createBucket(r -> r.bucket(bucket));
    }
  }

}
