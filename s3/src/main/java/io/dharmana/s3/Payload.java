package io.dharmana.s3;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import software.amazon.awssdk.core.sync.RequestBody;

/**
 * Bytes of a blob staged for upload, in memory or in a spill file. Any range can be re-read as
 * often as needed: the SDK reads a body once to sign it and again on every retry.
 */
abstract class Payload {

  abstract long length();

  abstract InputStream open(long offset, long length) throws IOException;

  final RequestBody body(long offset, long length) {
    return RequestBody.fromContentProvider(
        () -> {
          try {
            return open(offset, length);
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        },
        length,
        "application/octet-stream");
  }

  /** The ETag S3 gives this payload uploaded with one PUT: the hex MD5 of its bytes. */
  final String singlePutEtag() throws IOException {
    return HexFormat.of().formatHex(md5(0, length()));
  }

  /**
   * The ETag S3 gives this payload uploaded in parts of {@code partSize}: the hex MD5 of the
   * concatenated binary MD5s of the parts, a dash, and the number of parts.
   */
  final String multipartEtag(long partSize) throws IOException {
    MessageDigest ofParts = md5Digest();
    int parts = 0;
    for (long offset = 0; offset < length(); offset += partSize) {
      ofParts.update(md5(offset, Math.min(partSize, length() - offset)));
      parts++;
    }
    return HexFormat.of().formatHex(ofParts.digest()) + "-" + parts;
  }

  private byte[] md5(long offset, long length) throws IOException {
    MessageDigest md5 = md5Digest();
    try (InputStream in = open(offset, length)) {
      byte[] buffer = new byte[64 * 1024];
      for (int n; (n = in.read(buffer)) > 0; ) {
        md5.update(buffer, 0, n);
      }
    }
    return md5.digest();
  }

  private static MessageDigest md5Digest() {
    try {
      return MessageDigest.getInstance("MD5");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("MD5 is required by every Java platform", e);
    }
  }

  static Payload of(byte[] bytes, int length) {
    return new Payload() {
      @Override
      long length() {
        return length;
      }

      @Override
      InputStream open(long offset, long len) {
        return new java.io.ByteArrayInputStream(bytes, (int) offset, (int) len);
      }
    };
  }

  /** A payload read from {@code file} with positional reads, so parts can upload in parallel. */
  static Payload of(Path file, long length) {
    return new Payload() {
      @Override
      long length() {
        return length;
      }

      @Override
      InputStream open(long offset, long len) throws IOException {
        return new FileRangeInputStream(FileChannel.open(file, StandardOpenOption.READ), offset, len);
      }
    };
  }

  private static final class FileRangeInputStream extends InputStream {
    private final FileChannel channel;
    private long position;
    private long remaining;

    FileRangeInputStream(FileChannel channel, long offset, long length) {
      this.channel = channel;
      this.position = offset;
      this.remaining = length;
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (remaining <= 0) {
        return -1;
      }
      int n = channel.read(ByteBuffer.wrap(b, off, (int) Math.min(len, remaining)), position);
      if (n < 0) {
        throw new java.io.EOFException("Cannot read spill file: it ended " + remaining + " bytes early");
      }
      position += n;
      remaining -= n;
      return n;
    }

    @Override
    public void close() throws IOException {
      channel.close();
    }
  }
}
