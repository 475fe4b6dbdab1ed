package io.dharmana.server;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.SequenceInputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/**
 * Multipart upload bookkeeping: each upload is a directory under the gateway's state holding its
 * description and the parts spooled to disk; completing streams the chosen parts, in order, into
 * one backend put and then deletes the directory.
 *
 * <p>A part is written to a temporary file and moved into place only once its body was read and
 * checked, so a failed or concurrent re-upload of a part number never leaves a torn part. The
 * completed object's ETag is S3's: MD5 of the concatenated binary part MD5s, "-", part count.
 */
final class MultipartUploads {
  static final int MAX_PARTS = 10_000;

  record Upload(String id, String bucket, String key, String pipeline, Map<String, String> attributes, Instant initiated) {}

  record Part(int number, long size, String etag, Instant lastModified) {}

  private final Path root;
  private final SecureRandom random = new SecureRandom();

  MultipartUploads(Path root) {
    this.root = root;
    try {
      Files.createDirectories(root);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot create upload directory " + root, e);
    }
  }

  Upload create(String bucket, String key, String pipeline, Map<String, String> attributes) {
    byte[] idBytes = new byte[18];
    random.nextBytes(idBytes);
    String id = java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(idBytes);
    Upload upload = new Upload(id, bucket, key, pipeline, attributes, Instant.now());
    Properties p = new Properties();
    p.setProperty("bucket", bucket);
    p.setProperty("key", key);
    p.setProperty("pipeline", pipeline);
    p.setProperty("initiated", Long.toString(upload.initiated().toEpochMilli()));
    attributes.forEach((k, v) -> p.setProperty("attr." + k, v));
    Path dir = root.resolve(id);
    try {
      Files.createDirectories(dir);
      Path tmp = dir.resolve("upload.properties.tmp");
      try (OutputStream out = Files.newOutputStream(tmp)) {
        p.store(out, null);
      }
      Files.move(tmp, dir.resolve("upload.properties"), StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot create multipart upload for " + bucket + "/" + key, e);
    }
    return upload;
  }

  /** The upload, which must belong to {@code bucket}/{@code key}. */
  Upload get(String id, String bucket, String key) {
    Upload upload = read(id);
    if (upload == null || !upload.bucket().equals(bucket) || !upload.key().equals(key)) {
      throw S3Failure.noSuchUpload(id);
    }
    return upload;
  }

  private Upload read(String id) {
    if (!id.matches("[A-Za-z0-9_-]{1,64}")) {
      return null;
    }
    Path file = root.resolve(id).resolve("upload.properties");
    Properties p = new Properties();
    try (InputStream in = Files.newInputStream(file)) {
      p.load(in);
    } catch (NoSuchFileException e) {
      return null;
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read multipart upload " + id, e);
    }
    Map<String, String> attributes = new LinkedHashMap<>();
    for (String name : p.stringPropertyNames()) {
      if (name.startsWith("attr.")) {
        attributes.put(name.substring(5), p.getProperty(name));
      }
    }
    return new Upload(id, p.getProperty("bucket"), p.getProperty("key"), p.getProperty("pipeline"), attributes,
        Instant.ofEpochMilli(Long.parseLong(p.getProperty("initiated"))));
  }

  /** Spools one part; {@code body} is read to its end (which checks it) before the part is visible. */
  Part putPart(Upload upload, int number, CheckedBody body) throws IOException {
    if (number < 1 || number > MAX_PARTS) {
      throw S3Failure.invalidArgument("Invalid part number " + number + ": must be 1 to " + MAX_PARTS);
    }
    Path dir = root.resolve(upload.id());
    Path tmp = Files.createTempFile(dir, "part-" + number + "-", ".tmp");
    try {
      try (OutputStream out = Files.newOutputStream(tmp)) {
        body.transferTo(out);
      }
      String etag = body.md5Hex();
      Files.writeString(dir.resolve(partFile(number) + ".md5"), etag, StandardCharsets.US_ASCII);
      Files.move(tmp, dir.resolve(partFile(number)), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      return new Part(number, body.count(), etag, Instant.now());
    } catch (NoSuchFileException e) {
      throw S3Failure.noSuchUpload(upload.id());
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /** The uploaded parts, by number. */
  TreeMap<Integer, Part> parts(Upload upload) {
    TreeMap<Integer, Part> parts = new TreeMap<>();
    Path dir = root.resolve(upload.id());
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "part-?????")) {
      for (Path f : files) {
        int number = Integer.parseInt(f.getFileName().toString().substring(5));
        String etag = Files.readString(dir.resolve(f.getFileName() + ".md5"), StandardCharsets.US_ASCII).trim();
        parts.put(number, new Part(number, Files.size(f), etag, Files.getLastModifiedTime(f).toInstant()));
      }
    } catch (NoSuchFileException e) {
      throw S3Failure.noSuchUpload(upload.id());
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot list parts of upload " + upload.id(), e);
    }
    return parts;
  }

  /**
   * Checks the client's part list against what was uploaded and returns the completed object's
   * ETag (without quotes) and a stream of the chosen parts in order.
   *
   * @param chosen part number to the ETag the client says it got, in the client's order
   */
  Completion complete(Upload upload, List<Map.Entry<Integer, String>> chosen, long minPartBytes) {
    if (chosen.isEmpty()) {
      throw S3Failure.malformedXml("Invalid CompleteMultipartUpload: it must name at least one part");
    }
    TreeMap<Integer, Part> uploaded = parts(upload);
    MessageDigest md5 = CheckedBody.digest("MD5");
    List<Path> files = new ArrayList<>();
    long size = 0;
    int previous = 0;
    for (int i = 0; i < chosen.size(); i++) {
      int number = chosen.get(i).getKey();
      if (number <= previous) {
        throw new S3Failure(400, "InvalidPartOrder", "The list of parts was not in ascending order: part " + number + " after " + previous);
      }
      previous = number;
      Part part = uploaded.get(number);
      if (part == null || !Conditions.unquote(chosen.get(i).getValue().trim()).equals(part.etag())) {
        throw new S3Failure(400, "InvalidPart", "One or more of the specified parts could not be found or its ETag did not match: part " + number);
      }
      if (i < chosen.size() - 1 && part.size() < minPartBytes) {
        throw new S3Failure(400, "EntityTooSmall", "Part " + number + " is " + part.size() + " bytes; all but the last part must be at least " + minPartBytes);
      }
      md5.update(HexFormat.of().parseHex(part.etag()));
      files.add(root.resolve(upload.id()).resolve(partFile(number)));
      size += part.size();
    }
    String etag = HexFormat.of().formatHex(md5.digest()) + "-" + chosen.size();
    return new Completion(etag, size, files);
  }

  /** The concatenated parts of a completed upload. */
  record Completion(String etag, long size, List<Path> files) {
    InputStream open() {
      Iterator<Path> it = files.iterator();
      Enumeration<InputStream> streams = new Enumeration<>() {
        @Override
        public boolean hasMoreElements() {
          return it.hasNext();
        }

        @Override
        public InputStream nextElement() {
          try {
            return Files.newInputStream(it.next());
          } catch (IOException e) {
            throw new UncheckedIOException("Cannot read a spooled part", e);
          }
        }
      };
      return new SequenceInputStream(streams);
    }
  }

  /** Deletes the upload and its parts; returns false if it did not exist. */
  boolean remove(String id) {
    Path dir = root.resolve(id);
    if (!id.matches("[A-Za-z0-9_-]{1,64}") || !Files.isDirectory(dir)) {
      return false;
    }
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
      for (Path f : files) {
        Files.deleteIfExists(f);
      }
      Files.deleteIfExists(dir);
      return true;
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot remove upload " + id, e);
    }
  }

  /**
   * Removes uploads initiated before {@code cutoff} (abandoned by clients that never completed or
   * aborted them, whose spooled parts would otherwise stay forever); returns how many.
   */
  int removeInitiatedBefore(Instant cutoff) {
    int removed = 0;
    try (DirectoryStream<Path> dirs = Files.newDirectoryStream(root)) {
      for (Path d : dirs) {
        String id = d.getFileName().toString();
        Upload u = read(id);
        if (u != null ? u.initiated().isBefore(cutoff) : Files.getLastModifiedTime(d).toInstant().isBefore(cutoff)) {
          removed += remove(id) ? 1 : 0;
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot clean up abandoned uploads in " + root, e);
    }
    return removed;
  }

  /** Uploads in progress in {@code bucket}, by key then initiation time. */
  List<Upload> list(String bucket, String prefix) {
    List<Upload> result = new ArrayList<>();
    try (DirectoryStream<Path> dirs = Files.newDirectoryStream(root)) {
      for (Path d : dirs) {
        Upload u = read(d.getFileName().toString());
        if (u != null && u.bucket().equals(bucket) && u.key().startsWith(prefix)) {
          result.add(u);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot list uploads", e);
    }
    result.sort((a, b) -> {
      int c = a.key().compareTo(b.key());
      return c != 0 ? c : a.initiated().compareTo(b.initiated());
    });
    return Collections.unmodifiableList(result);
  }

  private static String partFile(int number) {
    return String.format("part-%05d", number);
  }
}
