package io.dharmana.tensor;

import io.dharmana.DharmanaException;
import io.dharmana.NotFoundException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An open, validated safetensors file whose tensor data is memory-mapped on demand.
 *
 * <p>Tensors are grouped, in file order, into mapped windows of at most {@link #MAX_WINDOW_BYTES};
 * a single tensor larger than that gets a window of its own (up to 2 GiB - 1, the limit of a
 * {@link ByteBuffer}; larger tensors cannot be viewed through {@link Tensor#data()}, only in parts
 * through {@link #data(String, long, int)}). So a multi-GB
 * file is never copied into one array. Tensors returned must not be used after {@link #close()}
 * (mapped pages stay valid until garbage collection, but this is not part of the contract).
 * Instances are safe for concurrent use.
 */
public final class SafetensorsFile implements AutoCloseable {
  /** Largest window that tensors are grouped into. */
  public static final long MAX_WINDOW_BYTES = 1L << 30;

  private final Path path;
  private final FileChannel channel;
  private final byte[] headerBytes;
  private final SafetensorsHeader header;
  private final long dataStart;
  private final Map<String, Integer> index = new LinkedHashMap<>();
  private final int[] windowOf;
  private final long[] windowBegin;
  private final long[] windowEnd;
  private final MappedByteBuffer[] windows;
  private volatile boolean closed;

  SafetensorsFile(Path path, FileChannel channel, byte[] headerBytes, SafetensorsHeader header, long maxWindowBytes) {
    this.path = path;
    this.channel = channel;
    this.headerBytes = headerBytes;
    this.header = header;
    this.dataStart = 8L + headerBytes.length;
    List<TensorInfo> infos = header.tensors();
    this.windowOf = new int[infos.size()];
    List<long[]> ranges = new ArrayList<>();
    long begin = -1;
    long end = -1;
    for (int i = 0; i < infos.size(); i++) {
      TensorInfo info = infos.get(i);
      index.put(info.name(), i);
      if (begin < 0 || info.end() - begin > maxWindowBytes) {
        if (begin >= 0) {
          ranges.add(new long[] {begin, end});
        }
        begin = info.begin();
      }
      end = info.end();
      windowOf[i] = ranges.size();
    }
    if (begin >= 0) {
      ranges.add(new long[] {begin, end});
    }
    windowBegin = ranges.stream().mapToLong(r -> r[0]).toArray();
    windowEnd = ranges.stream().mapToLong(r -> r[1]).toArray();
    windows = new MappedByteBuffer[ranges.size()];
  }

  public Path path() {
    return path;
  }

  /** The JSON header exactly as stored (without the 8-byte length, with its padding). */
  public byte[] headerBytes() {
    return headerBytes.clone();
  }

  public SafetensorsHeader header() {
    return header;
  }

  /** The {@code __metadata__} map, empty when the file has none. */
  public Map<String, String> metadata() {
    return header.metadata() == null ? Map.of() : header.metadata();
  }

  /** Offset of the data section in the file: 8 plus the header length. */
  public long dataStart() {
    return dataStart;
  }

  /** Size of the whole file in bytes. */
  public long fileSize() {
    return dataStart + header.dataLength();
  }

  /** The header entries in file (offset) order. */
  public List<TensorInfo> infos() {
    return header.tensors();
  }

  /** All tensors in file order. */
  public List<Tensor> tensors() {
    List<Tensor> out = new ArrayList<>(windowOf.length);
    for (int i = 0; i < windowOf.length; i++) {
      out.add(tensor(i));
    }
    return Collections.unmodifiableList(out);
  }

  /**
   * The tensor named {@code name}.
   *
   * @throws NotFoundException if the file holds no such tensor
   */
  public Tensor tensor(String name) {
    Integer i = index.get(name);
    if (i == null) {
      throw new NotFoundException("Cannot find tensor '" + name + "' in " + path + ": it holds " + index.size() + " tensors");
    }
    return tensor(i);
  }

  public boolean contains(String name) {
    return index.containsKey(name);
  }

  /**
   * The header entry of tensor {@code name}: also of one too large for {@link #tensor}.
   *
   * @throws NotFoundException if the file holds no such tensor
   */
  public TensorInfo info(String name) {
    Integer i = index.get(name);
    if (i == null) {
      throw new NotFoundException("Cannot find tensor '" + name + "' in " + path + ": it holds " + index.size() + " tensors");
    }
    return header.tensors().get(i);
  }

  /**
   * Bytes {@code [from, from + length)} of tensor {@code name}'s data: a view of the mapped file.
   * Reaches into tensors larger than one buffer, which {@link #tensor} cannot view whole.
   *
   * @throws NotFoundException if the file holds no such tensor
   */
  public ByteBuffer data(String name, long from, int length) {
    TensorInfo info = info(name);
    if (from < 0 || length < 0 || from + length > info.byteSize()) {
      throw new IndexOutOfBoundsException("Cannot view bytes [" + from + ", " + (from + length) + ") of tensor '" + name + "' of "
          + path + ": it holds " + info.byteSize());
    }
    if (info.byteSize() <= Integer.MAX_VALUE) {
      ByteBuffer all = tensor(name).data();
      return all.position((int) from).limit((int) from + length).slice().order(ByteOrder.LITTLE_ENDIAN);
    }
    // its own mapping: a window of a tensor this large cannot be mapped
    if (closed) {
      throw new IllegalStateException("Cannot read " + path + ": the file is closed");
    }
    try {
      return channel.map(FileChannel.MapMode.READ_ONLY, dataStart + info.begin() + from, length).order(ByteOrder.LITTLE_ENDIAN);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot map " + path + " at " + (dataStart + info.begin() + from), e);
    }
  }

  /** Number of mapped windows the tensors are grouped into (for tests). */
  int windowCount() {
    return windows.length;
  }

  private Tensor tensor(int i) {
    TensorInfo info = header.tensors().get(i);
    if (info.byteSize() > Integer.MAX_VALUE) {
      throw new DharmanaException(
          "Cannot view tensor '" + info.name() + "' of " + path + ": " + info.byteSize() + " bytes exceed the 2 GiB limit of one buffer");
    }
    int w = windowOf[i];
    ByteBuffer window = window(w);
    int from = (int) (info.begin() - windowBegin[w]);
    ByteBuffer slice = window.duplicate().position(from).limit(from + (int) info.byteSize());
    return new BufferTensor(info.name(), info.dtype(), info.shape(), slice);
  }

  private ByteBuffer window(int w) {
    if (closed) {
      throw new IllegalStateException("Cannot read " + path + ": the file is closed");
    }
    MappedByteBuffer mapped = windows[w];
    if (mapped == null) {
      synchronized (this) {
        mapped = windows[w];
        if (mapped == null) {
          try {
            mapped = channel.map(FileChannel.MapMode.READ_ONLY, dataStart + windowBegin[w], windowEnd[w] - windowBegin[w]);
          } catch (IOException e) {
            throw new UncheckedIOException("Cannot map " + path + " at " + (dataStart + windowBegin[w]), e);
          }
          windows[w] = mapped;
        }
      }
    }
    return mapped;
  }

  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      channel.close();
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot close " + path, e);
    }
  }
}
