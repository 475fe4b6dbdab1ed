package io.dharmana.tensor;

import io.dharmana.CorruptDataException;
import io.dharmana.InvalidDescriptorException;
import io.dharmana.NotFoundException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Entry point for reading safetensors files.
 *
 * <p>{@link #open} validates the whole header before returning (see {@link SafetensorsHeader#parse})
 * and never reads past the end of the file: the declared header length is checked against the file
 * size and {@link SafetensorsHeader#MAX_HEADER_BYTES} before anything is allocated.
 */
public final class Safetensors {
  private Safetensors() {}

  /**
   * Opens and validates {@code path}. Tensor data is memory-mapped lazily in windows of at most
   * {@link SafetensorsFile#MAX_WINDOW_BYTES}; nothing beyond the header is read here.
   *
   * @throws NotFoundException if the file does not exist
   * @throws InvalidDescriptorException if the file is not a valid safetensors file
   */
  public static SafetensorsFile open(Path path) {
    return open(path, SafetensorsFile.MAX_WINDOW_BYTES);
  }

  /** As {@link #open(Path)} with a smaller window size, so tests can exercise window boundaries. */
  static SafetensorsFile open(Path path, long maxWindowBytes) {
    FileChannel channel;
    try {
      channel = FileChannel.open(path, StandardOpenOption.READ);
    } catch (NoSuchFileException e) {
      throw new NotFoundException("Cannot open safetensors file " + path + ": it does not exist");
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot open safetensors file " + path, e);
    }
    try {
      long fileSize = channel.size();
      byte[] header = readHeader(channel, fileSize, path);
      SafetensorsHeader parsed;
      try {
        parsed = SafetensorsHeader.parse(header, fileSize - 8 - header.length);
      } catch (InvalidDescriptorException e) {
        throw new InvalidDescriptorException("Invalid safetensors file " + path + ": " + e.getMessage(), e);
      }
      return new SafetensorsFile(path, channel, header, parsed, maxWindowBytes);
    } catch (RuntimeException | IOException e) {
      try {
        channel.close();
      } catch (IOException suppressed) {
        e.addSuppressed(suppressed);
      }
      if (e instanceof IOException io) {
        throw new UncheckedIOException("Cannot read safetensors file " + path, io);
      }
      throw (RuntimeException) e;
    }
  }

  private static byte[] readHeader(FileChannel channel, long fileSize, Path path) throws IOException {
    if (fileSize < 8) {
      throw new InvalidDescriptorException(
          "Invalid safetensors file " + path + ": " + fileSize + " bytes is too small for the 8-byte header length");
    }
    ByteBuffer lengthBytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
    readFully(channel, lengthBytes, 0, path);
    long n = lengthBytes.getLong(0);
    if (n < 0 || n > SafetensorsHeader.MAX_HEADER_BYTES) {
      throw new InvalidDescriptorException(
          "Invalid safetensors file " + path + ": header length " + Long.toUnsignedString(n) + " is above the limit of "
              + SafetensorsHeader.MAX_HEADER_BYTES + " bytes (not a safetensors file?)");
    }
    if (n > fileSize - 8) {
      throw new InvalidDescriptorException(
          "Invalid safetensors file " + path + ": header length " + n + " reaches beyond the end of the file ("
              + fileSize + " bytes; truncated?)");
    }
    ByteBuffer header = ByteBuffer.allocate((int) n);
    readFully(channel, header, 8, path);
    return header.array();
  }

  static void readFully(FileChannel channel, ByteBuffer buffer, long position, Path path) throws IOException {
    long pos = position;
    while (buffer.hasRemaining()) {
      int read = channel.read(buffer, pos);
      if (read < 0) {
        throw new CorruptDataException("Cannot read " + path + ": file ended at " + pos + " (was it truncated while open?)");
      }
      pos += read;
    }
    buffer.flip();
  }
}
