package io.dharmana.dataset.internal;

import io.dharmana.InvalidDescriptorException;
import io.dharmana.dataset.SourceInfo;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * Reads a WebDataset shard: a POSIX tar (ustar, with pax {@code x}/{@code g} and GNU {@code L}/{@code
 * K} extension headers) whose regular-file members are grouped into samples by key, as WebDataset
 * does: {@code dir/0001.jpg} and {@code dir/0001.cls} are fields {@code jpg} and {@code cls} of
 * sample {@code dir/0001}; consecutive members with one key form one sample.
 *
 * <p>To restore the archive byte-identical, each field's restore record keeps the raw bytes that
 * preceded its data in the archive (its header block, extension headers, and any directory or
 * link members before it) and its padding if that was not all zeros; the bytes after the last
 * member (end-of-archive blocks and record padding) become the source's trailer.
 *
 * <p>Restore record of a sample: per field, u32 length + raw prefix bytes, u8 padding kind (0 =
 * zeros, 1 = stored) and, if stored, the padding bytes.
 */
final class TarSource implements SourceReader {
  static final int BLOCK = 512;

  private final Path file;
  private final String name;
  private final InputStream in;
  private final ByteArrayOutputStream pendingRaw = new ByteArrayOutputStream();
  private long offset;
  private long bytes;
  private byte[] trailer;
  private boolean ended;
  // the next member already read (belongs to the next sample)
  private Member lookahead;
  private PackedSample next;

  private record Member(String key, String field, byte[] raw, byte[] data, byte[] padding) {}

  TarSource(Path file) throws IOException {
    this.file = file;
    this.name = file.getFileName().toString();
    this.in = new BufferedInputStream(Files.newInputStream(file), 1 << 20);
  }

  @Override
  public boolean hasNext() {
    if (next == null) {
      try {
        next = readSample();
      } catch (IOException e) {
        throw new UncheckedIOException("Cannot read tar " + file + ": " + e.getMessage(), e);
      }
    }
    return next != null;
  }

  @Override
  public PackedSample next() {
    if (!hasNext()) {
      throw new NoSuchElementException();
    }
    PackedSample s = next;
    next = null;
    return s;
  }

  private PackedSample readSample() throws IOException {
    Member first = lookahead != null ? lookahead : readMember();
    lookahead = null;
    if (first == null) {
      return null;
    }
    List<Member> members = new ArrayList<>();
    members.add(first);
    while (true) {
      Member m = readMember();
      if (m == null) {
        break;
      }
      boolean sameKey = m.key.equals(first.key) && members.stream().noneMatch(x -> x.field.equals(m.field));
      if (!sameKey) {
        lookahead = m;
        break;
      }
      members.add(m);
    }
    List<String> names = new ArrayList<>();
    List<byte[]> data = new ArrayList<>();
    ByteArrayOutputStream restore = new ByteArrayOutputStream();
    DataOutputStream r = new DataOutputStream(restore);
    for (Member m : members) {
      names.add(m.field);
      data.add(m.data);
      r.writeInt(m.raw.length);
      r.write(m.raw);
      if (m.padding == null) {
        r.writeByte(0);
      } else {
        r.writeByte(1);
        r.write(m.padding);
      }
    }
    r.flush();
    return new PackedSample(first.key, names, data, restore.toByteArray());
  }

  /** Reads up to the next regular-file member; null at the end of the archive. */
  private Member readMember() throws IOException {
    if (ended) {
      return null;
    }
    String longName = null;
    String paxPath = null;
    long paxSize = -1;
    while (true) {
      byte[] header = in.readNBytes(BLOCK);
      if (header.length == 0) {
        return end(new byte[0]);
      }
      if (header.length < BLOCK) {
        throw invalid("truncated header at offset " + offset);
      }
      if (allZero(header)) {
        ByteArrayOutputStream rest = new ByteArrayOutputStream();
        rest.write(header);
        in.transferTo(rest);
        return end(rest.toByteArray());
      }
      long headerOffset = offset;
      offset += BLOCK;
      bytes += BLOCK;
      checkChecksum(header, headerOffset);
      char type = (char) header[156];
      long size = paxSize >= 0 && type != 'x' && type != 'g' ? paxSize : parseSize(header, headerOffset);
      int padLength = (int) ((BLOCK - size % BLOCK) % BLOCK);
      if (type == 'x' || type == 'g' || type == 'L' || type == 'K') {
        if (size > 64L << 20) {
          throw invalid("extension header of " + size + " bytes at offset " + headerOffset);
        }
        byte[] ext = readExactly((int) size + padLength, headerOffset);
        pendingRaw.write(header);
        pendingRaw.write(ext);
        if (type == 'L') {
          longName = cString(ext, 0, (int) size);
        } else if (type == 'x') {
          for (String[] kv : paxRecords(ext, (int) size, headerOffset)) {
            if (kv[0].equals("path")) {
              paxPath = kv[1];
            } else if (kv[0].equals("size")) {
              paxSize = Long.parseLong(kv[1].trim());
            }
          }
        }
        continue;
      }
      String path = paxPath != null ? paxPath : longName != null ? longName : ustarName(header);
      boolean regular = type == '0' || type == '\0' || type == '7';
      if (!regular) {
        // directories, links, devices: kept raw in front of the next field
        pendingRaw.write(header);
        if (size > 0) {
          if (size > 64L << 20) {
            throw invalid("non-file member " + path + " carries " + size + " bytes of data");
          }
          pendingRaw.write(readExactly((int) size + padLength, headerOffset));
        }
        longName = null;
        paxPath = null;
        paxSize = -1;
        continue;
      }
      if (size > Integer.MAX_VALUE - 64) {
        throw invalid("member " + path + " of " + size + " bytes exceeds the 2 GiB sample limit");
      }
      pendingRaw.write(header);
      byte[] data = readExactly((int) size, headerOffset);
      byte[] padding = readExactly(padLength, headerOffset);
      byte[] raw = pendingRaw.toByteArray();
      pendingRaw.reset();
      int slash = path.lastIndexOf('/');
      int dot = path.indexOf('.', slash + 1);
      String key = dot < 0 ? path : path.substring(0, dot);
      String field = dot < 0 ? "" : path.substring(dot + 1);
      return new Member(key, field, raw, data, allZero(padding) ? null : padding);
    }
  }

  private Member end(byte[] rest) {
    ended = true;
    byte[] all = new byte[pendingRaw.size() + rest.length];
    System.arraycopy(pendingRaw.toByteArray(), 0, all, 0, pendingRaw.size());
    System.arraycopy(rest, 0, all, pendingRaw.size(), rest.length);
    trailer = all;
    bytes += rest.length;
    return null;
  }

  private byte[] readExactly(int n, long headerOffset) throws IOException {
    byte[] b = in.readNBytes(n);
    if (b.length < n) {
      throw invalid("member at offset " + headerOffset + " is truncated (" + b.length + " of " + n + " bytes)");
    }
    offset += n;
    bytes += n;
    return b;
  }

  private InvalidDescriptorException invalid(String what) {
    return new InvalidDescriptorException("Invalid tar " + file + ": " + what);
  }

  private void checkChecksum(byte[] h, long at) {
    long stored;
    try {
      stored = parseOctal(h, 148, 8);
    } catch (NumberFormatException e) {
      throw invalid("header at offset " + at + " has an unreadable checksum (not a tar?)");
    }
    long sum = 0;
    for (int i = 0; i < BLOCK; i++) {
      sum += (i >= 148 && i < 156) ? ' ' : (h[i] & 0xff);
    }
    if (sum != stored) {
      throw invalid("header at offset " + at + " fails its checksum (stored " + stored + ", computed " + sum + ")");
    }
  }

  private long parseSize(byte[] h, long at) {
    if ((h[124] & 0x80) != 0) {
      // GNU base-256 for sizes of 8 GiB and more
      long v = h[124] & 0x7f;
      for (int i = 125; i < 136; i++) {
        v = (v << 8) | (h[i] & 0xff);
      }
      return v;
    }
    try {
      return parseOctal(h, 124, 12);
    } catch (NumberFormatException e) {
      throw invalid("header at offset " + at + " has an unreadable size");
    }
  }

  private static long parseOctal(byte[] h, int off, int len) {
    long v = 0;
    boolean digits = false;
    for (int i = off; i < off + len; i++) {
      byte b = h[i];
      if (b == 0 || b == ' ') {
        if (digits) {
          break;
        }
        continue;
      }
      if (b < '0' || b > '7') {
        throw new NumberFormatException();
      }
      digits = true;
      v = v * 8 + (b - '0');
    }
    return v;
  }

  private static String ustarName(byte[] h) {
    String name = cString(h, 0, 100);
    boolean ustar = h[257] == 'u' && h[258] == 's' && h[259] == 't' && h[260] == 'a' && h[261] == 'r';
    if (ustar) {
      String prefix = cString(h, 345, 155);
      if (!prefix.isEmpty()) {
        return prefix + "/" + name;
      }
    }
    return name;
  }

  private static String cString(byte[] b, int off, int len) {
    int end = off;
    while (end < off + len && b[end] != 0) {
      end++;
    }
    return new String(b, off, end - off, StandardCharsets.UTF_8);
  }

  private List<String[]> paxRecords(byte[] ext, int size, long at) {
    List<String[]> out = new ArrayList<>();
    int pos = 0;
    while (pos < size) {
      int space = pos;
      while (space < size && ext[space] != ' ') {
        space++;
      }
      int len;
      try {
        len = Integer.parseInt(new String(ext, pos, space - pos, StandardCharsets.US_ASCII));
      } catch (NumberFormatException e) {
        throw invalid("pax header at offset " + at + " has a bad record length");
      }
      if (len <= 0 || pos + len > size) {
        throw invalid("pax header at offset " + at + " has a record past its end");
      }
      String record = new String(ext, space + 1, pos + len - space - 2, StandardCharsets.UTF_8);
      int eq = record.indexOf('=');
      if (eq > 0) {
        out.add(new String[] {record.substring(0, eq), record.substring(eq + 1)});
      }
      pos += len;
    }
    return out;
  }

  private static boolean allZero(byte[] b) {
    for (byte x : b) {
      if (x != 0) {
        return false;
      }
    }
    return true;
  }

  @Override
  public SourceInfo info(long firstSample, long samples) {
    byte[] t = trailer == null ? new byte[0] : trailer;
    boolean zeros = allZero(t);
    return new SourceInfo(SourceInfo.TAR, name, firstSample, samples, bytes, zeros ? null : Base64.getEncoder().encodeToString(t),
        zeros ? t.length : 0);
  }

  @Override
  public void close() throws IOException {
    in.close();
  }
}
