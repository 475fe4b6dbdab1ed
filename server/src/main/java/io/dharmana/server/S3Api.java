package io.dharmana.server;

import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import io.dharmana.AlreadyExistsException;
import io.dharmana.CommitFailedException;
import io.dharmana.NotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.io.UncheckedIOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.stream.Stream;
import org.w3c.dom.Element;

/**
 * Serves the S3 REST API subset clients use (path-style addressing), over an {@link ObjectBackend}.
 * Every S3 request must be signed (SigV4); unsigned GETs of {@code /metrics} and
 * {@code /dashboard} serve the metrics and the dashboard.
 */
final class S3Api implements HttpHandler {
  private static final Logger LOG = Logger.getLogger(S3Api.class.getName());
  private static final DateTimeFormatter HTTP_DATE = DateTimeFormatter.RFC_1123_DATE_TIME.withZone(ZoneOffset.UTC);
  private static final int MAX_XML_BYTES = 2 << 20;
  private static final int MAX_DELETE_KEYS = 1000;
  private static final long MAX_ERROR_DRAIN_BYTES = 64L << 20;
  private static final long COMPLETE_KEEPALIVE_SECONDS = 5;
  /** Subresources this gateway does not serve: refused rather than mistaken for a plain GET or PUT. */
  private static final java.util.Set<String> UNSUPPORTED_SUBRESOURCES = java.util.Set.of(
      "acl", "tagging", "policy", "policyStatus", "cors", "lifecycle", "encryption", "website", "notification",
      "replication", "logging", "accelerate", "requestPayment", "object-lock", "retention", "legal-hold", "torrent",
      "restore", "select", "attributes", "analytics", "inventory", "metrics", "intelligent-tiering", "ownershipControls",
      "publicAccessBlock", "versions");
  private final ExecutorService completer = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "dharmana-gateway-complete");
    t.setDaemon(true);
    return t;
  });
  private static final String ETAG_ATTRIBUTE = "etag";
  private static final List<String> STORED_HEADERS =
      List.of("content-type", "cache-control", "content-disposition", "content-encoding", "content-language", "expires");

  private final ObjectBackend backend;
  private final BucketRegistry buckets;
  private final MultipartUploads uploads;
  private final EtagIndex etags;
  private final SigV4 signatures;
  private final GatewayMetrics metrics;
  private final Dashboard dashboard;
  private final Clock clock;
  private final String region;
  private final long maxObjectBytes;
  private final long minPartBytes;
  private final RequestSlices slices;

  S3Api(ObjectBackend backend, BucketRegistry buckets, MultipartUploads uploads, EtagIndex etags, AccessKeys keys,
      GatewayMetrics metrics, Dashboard dashboard, Clock clock, String region, long maxObjectBytes, long minPartBytes,
      RequestSlices slices) {
    this.backend = backend;
    this.buckets = buckets;
    this.uploads = uploads;
    this.etags = etags;
    this.signatures = new SigV4(keys::secret);
    this.metrics = metrics;
    this.dashboard = dashboard;
    this.clock = clock;
    this.region = region;
    this.maxObjectBytes = maxObjectBytes;
    this.minPartBytes = minPartBytes;
    this.slices = slices;
  }

  /** Stops the threads that complete multipart uploads. */
  void close() {
    completer.shutdownNow();
  }

  /** The state of one exchange, for the response and for metrics. */
  private static final class Call {
    final HttpExchange exchange;
    final String requestId = Long.toHexString(ThreadLocalRandom.current().nextLong() | Long.MIN_VALUE).toUpperCase(Locale.ROOT);
    String operation = "Unknown";
    String bucket;
    String pipeline;
    String resource = "/";
    int status;
    boolean headersSent;
    long bytesIn;
    long bytesOut;

    Call(HttpExchange exchange) {
      this.exchange = exchange;
    }

    boolean isHead() {
      return exchange.getRequestMethod().equals("HEAD");
    }
  }

  @Override
  public void handle(HttpExchange exchange) {
    long start = System.nanoTime();
    metrics.started();
    Call call = new Call(exchange);
    try {
      URI uri = exchange.getRequestURI();
      RequestHead head = RequestHead.of(exchange.getRequestMethod(), uri.getRawPath(), uri.getRawQuery(), exchange.getRequestHeaders());
      call.resource = head.rawPath();
      if (declaredBodyBytes(head) > RequestSlices.BULK_BYTES) {
        slices.bulk();
      }
      if (head.method().equals("GET") && head.header("authorization") == null && head.param("X-Amz-Signature") == null
          && dashboard.serves(head.rawPath())) {
        call.operation = "Dashboard";
        Dashboard.Response r = dashboard.respond(head.rawPath());
        send(call, 200, r.body(), r.contentType());
        return;
      }
      SigV4.Verified auth = signatures.verify(head, clock.instant());
      route(call, head, auth);
    } catch (S3Failure f) {
      sendError(call, f);
    } catch (NotFoundException e) {
      sendError(call, new S3Failure(404, "NoSuchKey", e.getMessage()));
    } catch (AlreadyExistsException | CommitFailedException e) {
      sendError(call, S3Failure.preconditionFailed("At least one of the pre-conditions you specified did not hold: " + e.getMessage()));
    } catch (IllegalArgumentException e) {
      sendError(call, S3Failure.invalidArgument(e.getMessage()));
    } catch (Exception | Error e) {
      if (e.getCause() instanceof S3Failure f) {
        sendError(call, f);
      } else {
        LOG.log(Level.WARNING, "Cannot serve " + call.operation + " " + call.resource, e);
        sendError(call, new S3Failure(500, "InternalError", "We encountered an internal error: " + e));
      }
    } finally {
      exchange.close();
      metrics.request(call.operation, call.bucket, call.pipeline, call.status, System.nanoTime() - start, call.bytesIn, call.bytesOut);
      slices.shortSlice(); // back to waiting for the next request
    }
  }

  /** The body length a request declares (its decoded length when aws-chunked), or -1. */
  private static long declaredBodyBytes(RequestHead head) {
    String length = head.header("x-amz-decoded-content-length");
    if (length == null) {
      length = head.header("content-length");
    }
    try {
      return length == null ? -1 : Long.parseLong(length.trim());
    } catch (NumberFormatException e) {
      return -1; // refused where the body is read
    }
  }

  private void route(Call call, RequestHead head, SigV4.Verified auth) throws IOException {
    String path = head.rawPath();
    if (!path.startsWith("/")) {
      throw S3Failure.invalidRequest("Invalid request path '" + path + "'");
    }
    int slash = path.indexOf('/', 1);
    String bucket = RequestHead.decodePath(slash < 0 ? path.substring(1) : path.substring(1, slash));
    String key = slash < 0 ? "" : RequestHead.decodePath(path.substring(slash + 1));
    String method = head.method();
    if (bucket.isEmpty()) {
      if (method.equals("GET")) {
        listBuckets(call);
        return;
      }
      throw new S3Failure(405, "MethodNotAllowed", "The method " + method + " is not allowed on the service");
    }
    call.bucket = bucket;
    for (Map.Entry<String, String> param : head.query()) {
      if (UNSUPPORTED_SUBRESOURCES.contains(param.getKey())) {
        call.operation = "Unsupported";
        throw S3Failure.notImplemented(method + " ?" + param.getKey());
      }
    }
    if (key.isEmpty()) {
      switch (method) {
        case "PUT" -> createBucket(call, head, auth, bucket);
        case "DELETE" -> deleteBucket(call, bucket);
        case "HEAD" -> headBucket(call, bucket);
        case "GET" -> {
          if (head.hasParam("location")) {
            getBucketLocation(call, bucket);
          } else if (head.hasParam("uploads")) {
            listUploads(call, head, bucket);
          } else if (head.hasParam("versioning")) {
            call.operation = "GetBucketVersioning";
            bucket(call, bucket);
            send(call, 200, Xml.document("VersioningConfiguration").toBytes(), "application/xml");
          } else {
            listObjects(call, head, bucket);
          }
        }
        case "POST" -> {
          if (head.hasParam("delete")) {
            deleteObjects(call, head, auth, bucket);
          } else {
            throw S3Failure.notImplemented("POST on a bucket without ?delete");
          }
        }
        default -> throw new S3Failure(405, "MethodNotAllowed", "The method " + method + " is not allowed on a bucket");
      }
      return;
    }
    ObjectNames.checkKey(bucket, key);
    switch (method) {
      case "PUT" -> {
        if (head.hasParam("uploadId")) {
          uploadPart(call, head, auth, bucket, key);
        } else if (head.header("x-amz-copy-source") != null) {
          copyObject(call, head, bucket, key);
        } else {
          putObject(call, head, auth, bucket, key);
        }
      }
      case "GET" -> {
        if (head.hasParam("uploadId")) {
          listParts(call, head, bucket, key);
        } else {
          getObject(call, head, bucket, key);
        }
      }
      case "HEAD" -> getObject(call, head, bucket, key);
      case "DELETE" -> {
        if (head.hasParam("uploadId")) {
          abortUpload(call, head, bucket, key);
        } else {
          deleteObject(call, bucket, key);
        }
      }
      case "POST" -> {
        if (head.hasParam("uploads")) {
          createUpload(call, head, bucket, key);
        } else if (head.hasParam("uploadId")) {
          completeUpload(call, head, auth, bucket, key);
        } else {
          throw S3Failure.notImplemented("POST on an object without ?uploads or ?uploadId");
        }
      }
      default -> throw new S3Failure(405, "MethodNotAllowed", "The method " + method + " is not allowed on an object");
    }
  }

  // ---- buckets

  private BucketRegistry.Bucket bucket(Call call, String name) {
    BucketRegistry.Bucket b = buckets.get(name).orElseThrow(() -> S3Failure.noSuchBucket(name));
    call.pipeline = b.pipeline();
    return b;
  }

  private void listBuckets(Call call) throws IOException {
    call.operation = "ListBuckets";
    Xml xml = Xml.document("ListAllMyBucketsResult").start("Owner").element("ID", "dharmana").element("DisplayName", "dharmana").end()
        .start("Buckets");
    for (BucketRegistry.Bucket b : buckets.all()) {
      xml.start("Bucket").element("Name", b.name()).element("CreationDate", b.created()).end();
    }
    send(call, 200, xml.end().toBytes(), "application/xml");
  }

  private void createBucket(Call call, RequestHead head, SigV4.Verified auth, String name) throws IOException {
    call.operation = "CreateBucket";
    ObjectNames.checkBucket(name);
    readSmallBody(call, head, auth);
    String pipeline = head.header("x-dharmana-pipeline");
    if (pipeline != null && !backend.hasPipeline(pipeline)) {
      throw S3Failure.invalidArgument("Invalid x-dharmana-pipeline '" + pipeline + "': no such pipeline in the repository");
    }
    if (pipeline == null) {
      pipeline = backend.hasPipeline(name) ? name : backend.defaultPipeline();
    }
    if (!buckets.add(new BucketRegistry.Bucket(name, pipeline, clock.instant()))) {
      throw new S3Failure(409, "BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded and you already own it: " + name);
    }
    call.pipeline = pipeline;
    call.exchange.getResponseHeaders().set("Location", "/" + name);
    call.exchange.getResponseHeaders().set("x-dharmana-pipeline", pipeline);
    sendEmpty(call, 200);
  }

  private void deleteBucket(Call call, String name) throws IOException {
    call.operation = "DeleteBucket";
    bucket(call, name);
    try (Stream<StoredObject> objects = backend.list(name + "/")) {
      if (objects.anyMatch(o -> ObjectNames.key(name, o.name()) != null)) { // the checkpoint runs' names stay
        throw new S3Failure(409, "BucketNotEmpty", "The bucket you tried to delete is not empty: " + name);
      }
    }
    buckets.remove(name);
    sendEmpty(call, 204);
  }

  private void headBucket(Call call, String name) throws IOException {
    call.operation = "HeadBucket";
    BucketRegistry.Bucket b = bucket(call, name);
    call.exchange.getResponseHeaders().set("x-amz-bucket-region", region);
    call.exchange.getResponseHeaders().set("x-dharmana-pipeline", b.pipeline());
    sendEmpty(call, 200);
  }

  private void getBucketLocation(Call call, String name) throws IOException {
    call.operation = "GetBucketLocation";
    bucket(call, name);
    // us-east-1 is S3's empty LocationConstraint
    String body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LocationConstraint xmlns=\"" + Xml.NS + "\">"
        + (region.equals("us-east-1") ? "" : region) + "</LocationConstraint>";
    send(call, 200, body.getBytes(StandardCharsets.UTF_8), "application/xml");
  }

  // ---- listing

  private void listObjects(Call call, RequestHead head, String bucketName) throws IOException {
    boolean v2 = "2".equals(head.param("list-type"));
    call.operation = v2 ? "ListObjectsV2" : "ListObjects";
    bucket(call, bucketName);
    String prefix = Optional.ofNullable(head.param("prefix")).orElse("");
    String delimiter = head.param("delimiter");
    if (delimiter != null && delimiter.isEmpty()) {
      delimiter = null;
    }
    boolean url = "url".equals(head.param("encoding-type"));
    if (head.param("encoding-type") != null && !url) {
      throw S3Failure.invalidArgument("Invalid encoding-type '" + head.param("encoding-type") + "': only 'url' is allowed");
    }
    int maxKeys = 1000;
    if (head.param("max-keys") != null) {
      try {
        maxKeys = Math.min(1000, Integer.parseInt(head.param("max-keys")));
      } catch (NumberFormatException e) {
        throw S3Failure.invalidArgument("Invalid max-keys '" + head.param("max-keys") + "': must be an integer");
      }
      if (maxKeys < 0) {
        throw S3Failure.invalidArgument("Invalid max-keys " + maxKeys + ": must be >= 0");
      }
    }
    String after;
    String token = v2 ? head.param("continuation-token") : null;
    String startAfter = v2 ? head.param("start-after") : head.param("marker");
    if (token != null) {
      after = Listing.fromToken(token);
    } else {
      after = startAfter == null || startAfter.isEmpty() ? null : startAfter;
    }
    Listing.Page page;
    try (Stream<StoredObject> objects = backend.list(ObjectNames.listPrefix(bucketName, prefix))) {
      Iterator<StoredObject> it = objects.iterator();
      page = Listing.page(bucketName, it, prefix, delimiter, maxKeys, after);
    }
    Xml xml = Xml.document("ListBucketResult").element("Name", bucketName).element("Prefix", enc(prefix, url));
    if (v2) {
      xml.element("KeyCount", page.contents().size() + page.commonPrefixes().size());
      if (token != null) {
        xml.element("ContinuationToken", token);
      }
      if (startAfter != null) {
        xml.element("StartAfter", enc(startAfter, url));
      }
      if (page.truncated()) {
        xml.element("NextContinuationToken", Listing.token(page.last()));
      }
    } else {
      xml.element("Marker", enc(startAfter == null ? "" : startAfter, url));
      if (page.truncated()) {
        xml.element("NextMarker", enc(page.last().key(), url));
      }
    }
    xml.element("MaxKeys", maxKeys);
    if (delimiter != null) {
      xml.element("Delimiter", enc(delimiter, url));
    }
    if (url) {
      xml.element("EncodingType", "url");
    }
    xml.element("IsTruncated", page.truncated());
    for (Listing.Entry e : page.contents()) {
      xml.start("Contents").element("Key", enc(e.key(), url)).element("LastModified", e.object().created())
          .element("ETag", quote(etag(e.object()))).element("Size", e.object().size())
          .element("StorageClass", "STANDARD").end();
    }
    for (String p : page.commonPrefixes()) {
      xml.start("CommonPrefixes").element("Prefix", enc(p, url)).end();
    }
    send(call, 200, xml.toBytes(), "application/xml");
  }

  private static String enc(String s, boolean url) {
    return url ? SigV4.uriEncode(s, false) : s;
  }

  // ---- objects

  private void putObject(Call call, RequestHead head, SigV4.Verified auth, String bucketName, String key) throws IOException {
    call.operation = "PutObject";
    BucketRegistry.Bucket b = bucket(call, bucketName);
    String name = ObjectNames.name(bucketName, key);
    PutRequest request = precondition(head, name, b.pipeline(), storedAttributes(head));
    CheckedBody body = body(call, head, auth, maxObjectBytes);
    StoredObject stored = backend.put(name, body, request);
    call.bytesIn = body.count();
    String etag = body.md5Hex();
    etags.record(contentKey(stored), etag);
    metrics.stored(bucketName, b.pipeline(), stored.size(), stored.storedBytes());
    call.exchange.getResponseHeaders().set("ETag", quote(etag));
    sendEmpty(call, 200);
  }

  private PutRequest precondition(RequestHead head, String name, String pipeline, Map<String, String> attributes) {
    String ifNoneMatch = head.header("if-none-match");
    String ifMatch = head.header("if-match");
    if (ifNoneMatch != null) {
      if (!ifNoneMatch.trim().equals("*")) {
        throw S3Failure.notImplemented("If-None-Match other than '*' on a write");
      }
      return new PutRequest(pipeline, attributes, true, -1);
    }
    if (ifMatch != null) {
      StoredObject current = backend.stat(name).orElseThrow(() -> new S3Failure(404, "NoSuchKey", "The specified key does not exist: " + name));
      if (!Conditions.matches(ifMatch, etag(current))) {
        throw S3Failure.preconditionFailed("At least one of the pre-conditions you specified did not hold: If-Match " + ifMatch);
      }
      return new PutRequest(pipeline, attributes, false, current.version());
    }
    return PutRequest.unconditional(pipeline, attributes);
  }

  private void getObject(Call call, RequestHead head, String bucketName, String key) throws IOException {
    call.operation = call.isHead() ? "HeadObject" : "GetObject";
    bucket(call, bucketName);
    String name = ObjectNames.name(bucketName, key);
    StoredObject o = backend.stat(name).orElseThrow(() -> S3Failure.noSuchKey(key));
    String etag = etag(o);
    Headers h = call.exchange.getResponseHeaders();
    h.set("ETag", quote(etag));
    h.set("Last-Modified", HTTP_DATE.format(o.created()));
    switch (Conditions.evaluate(head, etag, o.created())) {
      case NOT_MODIFIED -> {
        sendEmpty(call, 304);
        return;
      }
      case PRECONDITION_FAILED -> throw S3Failure.preconditionFailed("At least one of the pre-conditions you specified did not hold");
      default -> { }
    }
    h.set("Accept-Ranges", "bytes");
    h.set("Content-Type", o.attributes().getOrDefault("content-type", "binary/octet-stream"));
    for (Map.Entry<String, String> a : o.attributes().entrySet()) {
      if (a.getKey().startsWith("x-amz-meta-") || (STORED_HEADERS.contains(a.getKey()) && !a.getKey().equals("content-type"))) {
        h.set(a.getKey(), a.getValue());
      }
    }
    overrides(head, h);
    ByteRange range = ByteRange.parse(head.header("range"), o.size());
    long length = range == null ? o.size() : range.length();
    int status = range == null ? 200 : 206;
    if (range != null) {
      h.set("Content-Range", "bytes " + range.first() + "-" + range.last() + "/" + o.size());
    }
    if (length > RequestSlices.BULK_BYTES && !call.isHead()) {
      slices.bulk();
    }
    if (call.isHead()) {
      h.set("Content-Length", Long.toString(length));
      call.status = status;
      call.headersSent = true;
      call.exchange.sendResponseHeaders(status, -1);
      return;
    }
    if (length == 0) {
      sendEmpty(call, status);
      return;
    }
    try (InputStream in = range == null ? backend.open(o, 0, o.size()) : backend.open(o, range.first(), range.length())) {
      call.status = status;
      call.headersSent = true;
      call.exchange.sendResponseHeaders(status, length);
      OutputStream out = call.exchange.getResponseBody();
      // transferTo hands the repository's decoded chunks to the socket as they are, without a
      // copy through a buffer here; the backend bounds the stream to the range it was opened for
      long sent = in.transferTo(new java.io.FilterOutputStream(out) {
        @Override
        public void write(byte[] b, int off, int len) throws IOException {
          if (call.bytesOut + len > length) {
            throw new IOException("Cannot serve " + key + ": the backend gave more than " + length + " bytes");
          }
          out.write(b, off, len);
          call.bytesOut += len;
        }
      });
      if (sent != length) {
        throw new IOException("Cannot serve " + key + ": the backend gave " + sent + " of " + length + " bytes");
      }
      out.flush();
    }
  }

  /** Presigned GETs may override response headers (response-content-type and friends). */
  private static void overrides(RequestHead head, Headers h) {
    for (String name : List.of("content-type", "content-language", "expires", "cache-control", "content-disposition", "content-encoding")) {
      String v = head.param("response-" + name);
      if (v != null) {
        h.set(name, v);
      }
    }
  }

  private void deleteObject(Call call, String bucketName, String key) throws IOException {
    call.operation = "DeleteObject";
    bucket(call, bucketName);
    backend.remove(ObjectNames.name(bucketName, key));
    sendEmpty(call, 204);
  }

  private void deleteObjects(Call call, RequestHead head, SigV4.Verified auth, String bucketName) throws IOException {
    call.operation = "DeleteObjects";
    bucket(call, bucketName);
    Element root = Xml.parse(readSmallBody(call, head, auth));
    boolean quiet = "true".equalsIgnoreCase(Xml.childText(root, "Quiet"));
    List<Element> objects = Xml.children(root, "Object");
    if (objects.size() > MAX_DELETE_KEYS) {
      throw S3Failure.malformedXml("Invalid DeleteObjects request: " + objects.size() + " keys, at most " + MAX_DELETE_KEYS + " allowed");
    }
    Xml xml = Xml.document("DeleteResult");
    for (Element o : objects) {
      String key = Xml.childText(o, "Key");
      try {
        if (key == null) {
          throw S3Failure.malformedXml("Invalid DeleteObjects request: an Object without Key");
        }
        ObjectNames.checkKey(bucketName, key);
        backend.remove(ObjectNames.name(bucketName, key));
        if (!quiet) {
          xml.start("Deleted").element("Key", key).end();
        }
      } catch (S3Failure f) {
        xml.start("Error").element("Key", key).element("Code", f.code).element("Message", f.getMessage()).end();
      }
    }
    send(call, 200, xml.toBytes(), "application/xml");
  }

  private void copyObject(Call call, RequestHead head, String bucketName, String key) throws IOException {
    call.operation = "CopyObject";
    BucketRegistry.Bucket b = bucket(call, bucketName);
    String[] source = copySource(head);
    StoredObject src = sourceObject(head, source[0], source[1]);
    Map<String, String> attributes;
    if ("REPLACE".equalsIgnoreCase(head.header("x-amz-metadata-directive"))) {
      attributes = storedAttributes(head);
    } else {
      attributes = new LinkedHashMap<>(src.attributes());
      attributes.remove(ETAG_ATTRIBUTE);
    }
    String name = ObjectNames.name(bucketName, key);
    PutRequest request = precondition(head, name, b.pipeline(), attributes);
    StoredObject stored;
    CheckedBody body;
    try (InputStream in = backend.open(src, 0, src.size())) {
      body = new CheckedBody(in, null, null, src.size(), maxObjectBytes);
      stored = backend.put(name, body, request);
    }
    String etag = body.md5Hex();
    etags.record(contentKey(stored), etag);
    metrics.stored(bucketName, b.pipeline(), stored.size(), stored.storedBytes());
    Xml xml = Xml.document("CopyObjectResult").element("LastModified", stored.created()).element("ETag", quote(etag));
    send(call, 200, xml.toBytes(), "application/xml");
  }

  /** Source bucket and key of x-amz-copy-source ({@code [/]bucket/key[?versionId=...]}, URL-encoded). */
  private String[] copySource(RequestHead head) {
    String raw = head.header("x-amz-copy-source");
    int q = raw.indexOf('?');
    if (q >= 0) {
      raw = raw.substring(0, q);
    }
    String decoded = RequestHead.decodePath(raw);
    if (decoded.startsWith("/")) {
      decoded = decoded.substring(1);
    }
    int slash = decoded.indexOf('/');
    if (slash <= 0 || slash == decoded.length() - 1) {
      throw S3Failure.invalidArgument("Invalid copy source '" + raw + "': must be bucket/key");
    }
    String srcBucket = decoded.substring(0, slash);
    String srcKey = ObjectNames.checkKey(srcBucket, decoded.substring(slash + 1));
    if (buckets.get(srcBucket).isEmpty()) {
      throw S3Failure.noSuchBucket(srcBucket);
    }
    return new String[] {srcBucket, srcKey};
  }

  private StoredObject sourceObject(RequestHead head, String srcBucket, String srcKey) {
    StoredObject src = backend.stat(ObjectNames.name(srcBucket, srcKey)).orElseThrow(() -> S3Failure.noSuchKey(srcKey));
    String ifMatch = head.header("x-amz-copy-source-if-match");
    String ifNoneMatch = head.header("x-amz-copy-source-if-none-match");
    String etag = etag(src);
    if ((ifMatch != null && !Conditions.matches(ifMatch, etag)) || (ifNoneMatch != null && Conditions.matches(ifNoneMatch, etag))) {
      throw S3Failure.preconditionFailed("At least one of the pre-conditions you specified did not hold on the copy source");
    }
    return src;
  }

  // ---- multipart

  private void createUpload(Call call, RequestHead head, String bucketName, String key) throws IOException {
    call.operation = "CreateMultipartUpload";
    BucketRegistry.Bucket b = bucket(call, bucketName);
    MultipartUploads.Upload upload = uploads.create(bucketName, key, b.pipeline(), storedAttributes(head));
    Xml xml = Xml.document("InitiateMultipartUploadResult").element("Bucket", bucketName).element("Key", key)
        .element("UploadId", upload.id());
    send(call, 200, xml.toBytes(), "application/xml");
  }

  private void uploadPart(Call call, RequestHead head, SigV4.Verified auth, String bucketName, String key) throws IOException {
    bucket(call, bucketName);
    MultipartUploads.Upload upload = uploads.get(head.param("uploadId"), bucketName, key);
    int number = partNumber(head.param("partNumber"));
    if (head.header("x-amz-copy-source") != null) {
      call.operation = "UploadPartCopy";
      String[] source = copySource(head);
      StoredObject src = sourceObject(head, source[0], source[1]);
      String rangeHeader = head.header("x-amz-copy-source-range");
      ByteRange range = rangeHeader == null ? null : ByteRange.parse(rangeHeader, src.size());
      if (rangeHeader != null && range == null) {
        throw S3Failure.invalidArgument("Invalid x-amz-copy-source-range '" + rangeHeader + "': must be bytes=first-last");
      }
      MultipartUploads.Part part;
      try (InputStream in = range == null ? backend.open(src, 0, src.size()) : backend.open(src, range.first(), range.length())) {
        part = uploads.putPart(upload, number, new CheckedBody(in, null, null, range == null ? src.size() : range.length(), maxObjectBytes));
      }
      Xml xml = Xml.document("CopyPartResult").element("LastModified", part.lastModified()).element("ETag", quote(part.etag()));
      send(call, 200, xml.toBytes(), "application/xml");
      return;
    }
    call.operation = "UploadPart";
    CheckedBody body = body(call, head, auth, maxObjectBytes);
    MultipartUploads.Part part = uploads.putPart(upload, number, body);
    call.bytesIn = part.size();
    call.exchange.getResponseHeaders().set("ETag", quote(part.etag()));
    sendEmpty(call, 200);
  }

  private static int partNumber(String value) {
    try {
      return Integer.parseInt(value);
    } catch (NumberFormatException | NullPointerException e) {
      throw S3Failure.invalidArgument("Invalid partNumber '" + value + "': must be 1 to " + MultipartUploads.MAX_PARTS);
    }
  }

  private void completeUpload(Call call, RequestHead head, SigV4.Verified auth, String bucketName, String key) throws IOException {
    call.operation = "CompleteMultipartUpload";
    bucket(call, bucketName);
    MultipartUploads.Upload upload = uploads.get(head.param("uploadId"), bucketName, key);
    Element root = Xml.parse(readSmallBody(call, head, auth));
    List<Map.Entry<Integer, String>> chosen = new ArrayList<>();
    for (Element part : Xml.children(root, "Part")) {
      String etag = Xml.childText(part, "ETag");
      if (etag == null) {
        throw S3Failure.malformedXml("Invalid CompleteMultipartUpload: a Part without ETag");
      }
      chosen.add(Map.entry(partNumber(Xml.childText(part, "PartNumber")), etag));
    }
    MultipartUploads.Completion completion = uploads.complete(upload, chosen, minPartBytes);
    Map<String, String> attributes = new LinkedHashMap<>(upload.attributes());
    attributes.put(ETAG_ATTRIBUTE, completion.etag());
    String name = ObjectNames.name(bucketName, key);
    PutRequest request = precondition(head, name, upload.pipeline(), attributes);
    // Streaming a large object through its pipeline can outlast clients' read timeouts (60 s for
    // the AWS CLI), so, as S3 does, answer 200 at once and keep the connection alive with
    // whitespace; the outcome, success or error, is the XML that follows.
    common(call);
    call.exchange.getResponseHeaders().set("Content-Type", "application/xml");
    call.status = 200;
    call.headersSent = true;
    call.exchange.sendResponseHeaders(200, 0);
    OutputStream out = call.exchange.getResponseBody();
    out.write("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n".getBytes(StandardCharsets.UTF_8));
    out.flush();
    CompletableFuture<StoredObject> put = CompletableFuture.supplyAsync(() -> {
      try (InputStream in = completion.open()) {
        return backend.put(name, in, request);
      } catch (IOException e) {
        throw new UncheckedIOException("Cannot read the spooled parts of upload " + upload.id(), e);
      }
    }, completer);
    StoredObject stored = null;
    Throwable failure = null;
    while (stored == null && failure == null) {
      try {
        stored = put.get(COMPLETE_KEEPALIVE_SECONDS, TimeUnit.SECONDS);
      } catch (TimeoutException e) {
        out.write(' ');
        out.flush();
      } catch (ExecutionException e) {
        failure = e.getCause();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        failure = e;
      }
    }
    Xml result;
    if (failure != null) {
      S3Failure f = failure instanceof S3Failure sf ? sf
          : failure instanceof AlreadyExistsException || failure instanceof CommitFailedException
              ? S3Failure.preconditionFailed("At least one of the pre-conditions you specified did not hold: " + failure.getMessage())
              : new S3Failure(500, "InternalError", "We encountered an internal error: " + failure);
      LOG.log(Level.WARNING, "Cannot complete upload " + upload.id() + " of " + bucketName + "/" + key, failure);
      result = Xml.bare("Error").element("Code", f.code).element("Message", f.getMessage())
          .element("Resource", call.resource).element("RequestId", call.requestId);
    } else {
      uploads.remove(upload.id());
      metrics.stored(bucketName, upload.pipeline(), stored.size(), stored.storedBytes());
      result = Xml.document("CompleteMultipartUploadResult").element("Location", "/" + bucketName + "/" + key)
          .element("Bucket", bucketName).element("Key", key).element("ETag", quote(completion.etag()));
    }
    byte[] body = result.toBytesWithoutDeclaration();
    out.write(body);
    call.bytesOut += body.length;
  }

  private void abortUpload(Call call, RequestHead head, String bucketName, String key) throws IOException {
    call.operation = "AbortMultipartUpload";
    bucket(call, bucketName);
    MultipartUploads.Upload upload = uploads.get(head.param("uploadId"), bucketName, key);
    uploads.remove(upload.id());
    sendEmpty(call, 204);
  }

  private void listParts(Call call, RequestHead head, String bucketName, String key) throws IOException {
    call.operation = "ListParts";
    bucket(call, bucketName);
    MultipartUploads.Upload upload = uploads.get(head.param("uploadId"), bucketName, key);
    int marker = head.param("part-number-marker") == null ? 0 : partNumber(head.param("part-number-marker"));
    int maxParts = head.param("max-parts") == null ? 1000 : Math.max(0, Math.min(1000, partNumber(head.param("max-parts"))));
    List<MultipartUploads.Part> parts = new ArrayList<>(uploads.parts(upload).tailMap(marker, false).values());
    boolean truncated = parts.size() > maxParts;
    if (truncated) {
      parts = parts.subList(0, maxParts);
    }
    Xml xml = Xml.document("ListPartsResult").element("Bucket", bucketName).element("Key", key).element("UploadId", upload.id())
        .element("PartNumberMarker", marker)
        .element("NextPartNumberMarker", parts.isEmpty() ? marker : parts.get(parts.size() - 1).number())
        .element("MaxParts", maxParts).element("IsTruncated", truncated).element("StorageClass", "STANDARD");
    for (MultipartUploads.Part p : parts) {
      xml.start("Part").element("PartNumber", p.number()).element("LastModified", p.lastModified())
          .element("ETag", quote(p.etag())).element("Size", p.size()).end();
    }
    send(call, 200, xml.toBytes(), "application/xml");
  }

  private void listUploads(Call call, RequestHead head, String bucketName) throws IOException {
    call.operation = "ListMultipartUploads";
    bucket(call, bucketName);
    String prefix = Optional.ofNullable(head.param("prefix")).orElse("");
    Xml xml = Xml.document("ListMultipartUploadsResult").element("Bucket", bucketName).element("KeyMarker", "")
        .element("UploadIdMarker", "").element("Prefix", prefix).element("MaxUploads", 1000).element("IsTruncated", false);
    for (MultipartUploads.Upload u : uploads.list(bucketName, prefix)) {
      xml.start("Upload").element("Key", u.key()).element("UploadId", u.id()).element("Initiated", u.initiated())
          .element("StorageClass", "STANDARD").end();
    }
    send(call, 200, xml.toBytes(), "application/xml");
  }

  // ---- bodies, attributes, ETags

  private CheckedBody body(Call call, RequestHead head, SigV4.Verified auth, long limit) {
    InputStream raw = call.exchange.getRequestBody();
    String mode = auth.payloadHash();
    long contentLength = longHeader(head, "content-length");
    if (mode.startsWith("STREAMING-")) {
      if (!mode.equals(SigV4.STREAMING_SIGNED) && !mode.equals(SigV4.STREAMING_SIGNED_TRAILER)
          && !mode.equals(SigV4.STREAMING_UNSIGNED_TRAILER)) {
        throw S3Failure.invalidArgument("Invalid x-amz-content-sha256 '" + mode + "'");
      }
      long decoded = longHeader(head, "x-amz-decoded-content-length");
      return new CheckedBody(new AwsChunkedInputStream(raw, auth, head.header("x-amz-trailer"), decoded),
          null, head.header("content-md5"), decoded, limit);
    }
    String expectedSha = mode.equals(SigV4.UNSIGNED_PAYLOAD) ? null : mode;
    if (expectedSha != null && !expectedSha.matches("[0-9a-fA-F]{64}")) {
      throw S3Failure.invalidArgument("Invalid x-amz-content-sha256 '" + mode + "': must be a hex SHA-256, UNSIGNED-PAYLOAD or a STREAMING- mode");
    }
    return new CheckedBody(raw, expectedSha, head.header("content-md5"), contentLength, limit);
  }

  private byte[] readSmallBody(Call call, RequestHead head, SigV4.Verified auth) throws IOException {
    CheckedBody body = body(call, head, auth, MAX_XML_BYTES);
    byte[] bytes = body.readAllBytes();
    call.bytesIn = bytes.length;
    return bytes;
  }

  private static long longHeader(RequestHead head, String name) {
    String v = head.header(name);
    if (v == null) {
      return -1;
    }
    try {
      return Long.parseLong(v.trim());
    } catch (NumberFormatException e) {
      throw S3Failure.invalidArgument("Invalid " + name + " '" + v + "': must be a number");
    }
  }

  /** Content headers and user metadata to keep with the object. */
  private static Map<String, String> storedAttributes(RequestHead head) {
    Map<String, String> attributes = new LinkedHashMap<>();
    for (Map.Entry<String, List<String>> h : head.headers().entrySet()) {
      String name = h.getKey();
      if (name.startsWith("x-amz-meta-") || STORED_HEADERS.contains(name)) {
        String value = String.join(",", h.getValue());
        if (name.equals("content-encoding")) {
          value = stripAwsChunked(value);
          if (value.isEmpty()) {
            continue;
          }
        }
        attributes.put(name, value);
      }
    }
    return attributes;
  }

  private static String stripAwsChunked(String contentEncoding) {
    List<String> kept = new ArrayList<>();
    for (String e : contentEncoding.split(",")) {
      if (!e.trim().equalsIgnoreCase("aws-chunked") && !e.trim().isEmpty()) {
        kept.add(e.trim());
      }
    }
    return String.join(",", kept);
  }

  /** S3's ETag: MD5 for a single PUT, md5-of-part-md5s-N for multipart (kept as an attribute). */
  private String etag(StoredObject o) {
    String etag = o.attributes().get(ETAG_ATTRIBUTE);
    if (etag != null) {
      return etag;
    }
    String key = contentKey(o);
    etag = etags.md5(key);
    if (etag != null) {
      return etag;
    }
    // written by other means than the gateway: a stable, content-derived tag
    return key == null ? Long.toHexString(o.version()) : key.substring(0, 32);
  }

  /**
   * What the ETag index keys an object's MD5 by: its SHA-256 if recorded, else its content id
   * (a manifest id, also 64 hex digits), which names this version's immutable content.
   */
  private static String contentKey(StoredObject o) {
    if (o.sha256() != null && o.sha256().length() == 64) {
      return o.sha256();
    }
    return o.contentId() != null && o.contentId().length() == 64 ? o.contentId() : null;
  }

  private static String quote(String etag) {
    return "\"" + etag + "\"";
  }

  // ---- responses

  private void send(Call call, int status, byte[] body, String contentType) throws IOException {
    Headers h = call.exchange.getResponseHeaders();
    common(call);
    h.set("Content-Type", contentType);
    call.status = status;
    call.headersSent = true;
    if (call.isHead()) {
      h.set("Content-Length", Long.toString(body.length));
      call.exchange.sendResponseHeaders(status, -1);
      return;
    }
    call.exchange.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
    if (body.length > 0) {
      call.exchange.getResponseBody().write(body);
      call.bytesOut += body.length;
    }
  }

  private void sendEmpty(Call call, int status) throws IOException {
    common(call);
    call.status = status;
    call.headersSent = true;
    if (status != 204 && status != 304) {
      call.exchange.getResponseHeaders().set("Content-Length", "0");
    }
    call.exchange.sendResponseHeaders(status, -1);
  }

  private void common(Call call) {
    Headers h = call.exchange.getResponseHeaders();
    h.set("x-amz-request-id", call.requestId);
    h.set("x-amz-id-2", call.requestId);
    h.set("Server", "Dharmana");
  }

  /**
   * Reads what is left of a refused upload's body (up to a bound) before answering: a client still
   * sending when the server closes sees a reset instead of the error XML that explains the refusal.
   */
  private static void drainForError(Call call) {
    String method = call.exchange.getRequestMethod();
    if (!method.equals("PUT") && !method.equals("POST")) {
      return;
    }
    try {
      InputStream in = call.exchange.getRequestBody();
      byte[] buf = new byte[65536];
      long left = MAX_ERROR_DRAIN_BYTES;
      int n;
      while (left > 0 && (n = in.read(buf, 0, (int) Math.min(buf.length, left))) >= 0) {
        left -= n;
      }
    } catch (IOException | RuntimeException e) {
      // the connection is unusable anyway; the error response is still attempted
    }
  }

  private void sendError(Call call, S3Failure failure) {
    if (call.headersSent) {
      // the status line is gone: the only honest signal left is a broken connection
      LOG.log(Level.WARNING, "Cannot finish " + call.operation + " " + call.resource + ": " + failure.getMessage());
      call.status = 500;
      return;
    }
    try {
      drainForError(call);
      call.exchange.getResponseHeaders().clear();
      if (failure.status == 405) {
        call.exchange.getResponseHeaders().set("Allow", "GET, PUT, POST, DELETE, HEAD");
      }
      byte[] xml = Xml.bare("Error").element("Code", failure.code).element("Message", failure.getMessage())
          .element("Resource", call.resource).element("RequestId", call.requestId).toBytes();
      send(call, failure.status, xml, "application/xml");
    } catch (IOException e) {
      LOG.log(Level.FINE, "Cannot send error response", e);
    }
  }
}
