package io.dharmana.tensor.file;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.CorruptDataException;
import io.dharmana.InvalidDescriptorException;
import io.dharmana.tensor.DType;
import io.dharmana.tensor.Safetensors;
import io.dharmana.tensor.SafetensorsFile;
import io.dharmana.tensor.SafetensorsWriter;
import io.dharmana.tensor.Tensor;
import io.dharmana.tensor.TestCorpus;
import io.dharmana.tensor.lossy.BlockQuantizer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TensorFileTest {
  @TempDir Path tmp;

  /** A file with every dtype, an empty tensor, a scalar and an F32 tensor holding NaN and infinity. */
  static Path generated(Path dir, long seed) {
    Random random = new Random(seed);
    List<Tensor> tensors = new ArrayList<>();
    for (DType dtype : DType.values()) {
      long[] shape = {1 + random.nextInt(40), 1 + random.nextInt(40)};
      int n = (int) (shape[0] * shape[1]);
      ByteBuffer b = ByteBuffer.allocate(n * dtype.size()).order(ByteOrder.LITTLE_ENDIAN);
      if (dtype == DType.F32) {
        for (int i = 0; i < n; i++) {
          b.putFloat((float) (random.nextGaussian() * 0.05));
        }
      } else {
        random.nextBytes(b.array());
      }
      tensors.add(Tensor.of("layer." + dtype.name().toLowerCase() + ".weight", dtype, shape, b.rewind()));
    }
    ByteBuffer weird = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN)
        .putFloat(1f).putFloat(Float.NaN).putFloat(Float.POSITIVE_INFINITY).putFloat(-0f).rewind();
    tensors.add(Tensor.of("weird", DType.F32, new long[] {4}, weird));
    tensors.add(Tensor.of("empty", DType.F32, new long[] {0, 3}, ByteBuffer.allocate(0)));
    tensors.add(Tensor.of("scalar", DType.F32, new long[] {}, ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(0.5f).rewind()));
    Path file = dir.resolve("gen-" + seed + ".safetensors");
    SafetensorsWriter.write(Map.of("format", "pt"), tensors, file);
    return file;
  }

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3})
  void losslessRoundTripIsByteIdentical(long seed) throws Exception {
    Path input = generated(tmp, seed);
    for (TensorCodec codec : new TensorCodec[] {TensorCodec.FLOAT, TensorCodec.ZSTD}) {
      for (int threads : new int[] {1, 3}) {
        Path dhz = tmp.resolve("out.dhz");
        CompressionResult r = TensorFileWriter.compress(input, dhz,
            CompressOptions.defaults().withThreads(threads).withLosslessCodec(codec));
        assertTrue(r.lossless(), "seed " + seed);
        assertEquals(Files.size(input), r.inputBytes());
        Path back = tmp.resolve("back.safetensors");
        try (TensorFileReader reader = TensorFileReader.open(dhz)) {
          assertFalse(reader.lossy());
          reader.decompress(back, null, threads);
          try (SafetensorsFile original = Safetensors.open(input)) {
            for (Tensor t : original.tensors()) {
              assertEquals(t.data(), reader.tensor(t.name(), null).data(), "seed " + seed + " " + codec + " " + t.name());
            }
          }
        }
        assertArrayEquals(Files.readAllBytes(input), Files.readAllBytes(back), "seed " + seed + " " + codec + " threads " + threads);
      }
    }
  }

  @ParameterizedTest
  @ValueSource(longs = {4, 5})
  void lossyQuantizesOnlyFiniteF32AndReportsError(long seed) throws Exception {
    Path input = generated(tmp, seed);
    for (BlockQuantizer.Format format : BlockQuantizer.Format.values()) {
      Path dhz = tmp.resolve("lossy.dhz");
      CompressionResult r = TensorFileWriter.compress(input, dhz, CompressOptions.defaults().withLossy(format, 64));
      assertFalse(r.lossless(), "seed " + seed);
      TensorFileEntry f32 = r.tensors().stream().filter(e -> e.name().equals("layer.f32.weight")).findFirst().orElseThrow();
      assertTrue(f32.codec().lossy() && f32.error().count() > 0, "seed " + seed + " " + f32);
      assertTrue(f32.error().relativeRms() < (format == BlockQuantizer.Format.INT8 ? 0.01 : 0.05), "seed " + seed + " " + f32.error());
      TensorFileEntry weird = r.tensors().stream().filter(e -> e.name().equals("weird")).findFirst().orElseThrow();
      assertFalse(weird.codec().lossy(), "NaN/inf stay lossless, seed " + seed);
      assertTrue(r.tensors().stream().filter(e -> e.dtype() != DType.F32).noneMatch(e -> e.codec().lossy()));
      Path back = tmp.resolve("lossy.safetensors");
      try (TensorFileReader reader = TensorFileReader.open(dhz)) {
        assertTrue(reader.lossy());
        assertEquals(r.error(), reader.error());
        reader.decompress(back, null, 2);
      }
      try (SafetensorsFile original = Safetensors.open(input); SafetensorsFile decoded = Safetensors.open(back)) {
        assertArrayEquals(original.headerBytes(), decoded.headerBytes(), "header kept verbatim, seed " + seed);
        assertEquals(original.tensor("weird").data(), decoded.tensor("weird").data());
        assertEquals(original.tensor("layer.i64.weight").data(), decoded.tensor("layer.i64.weight").data());
      }
    }
  }

  @ParameterizedTest
  @ValueSource(longs = {6, 7})
  void oneLargeTensorIsSplitAcrossThreads(long seed) throws Exception {
    Random random = new Random(seed);
    int n = 600_000;
    ByteBuffer big = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < n; i++) {
      big.putFloat((float) (random.nextGaussian() * 0.02));
    }
    Path input = tmp.resolve("big.safetensors");
    SafetensorsWriter.write(null, List.of(Tensor.of("big", DType.F32, new long[] {n}, big.rewind()),
        Tensor.of("small", DType.I32, new long[] {2}, ByteBuffer.allocate(8))), input);
    Path dhz = tmp.resolve("big.dhz");
    CompressionResult r = TensorFileWriter.compress(input, dhz, CompressOptions.defaults().withThreads(2));
    assertTrue(r.ratio() > 1.05, "seed " + seed + " ratio " + r.ratio());
    Path back = tmp.resolve("big.out");
    try (TensorFileReader reader = TensorFileReader.open(dhz)) {
      reader.decompress(back, null, 2);
    }
    assertArrayEquals(Files.readAllBytes(input), Files.readAllBytes(back), "seed " + seed);
  }

  /**
   * Tensors are read and written in runs of about {@link TensorFileReader#RUN_BYTES}: a file of many
   * runs (small tensors, empty ones between them, one larger than a run) is the same compressed on 1
   * and on 3 threads and comes back byte for byte on both, and a flipped bit in a tensor of a late
   * run fails the decompression naming that tensor, with no output left.
   */
  @Test
  void tensorsGoInRunsAndADamagedOneIsStillNamed() throws Exception {
    Random random = new Random(21);
    List<Tensor> tensors = new ArrayList<>();
    long bytes = 0;
    for (int i = 0; bytes < 5L * TensorFileReader.RUN_BYTES; i++) {
      int n = i == 40 ? TensorFileReader.RUN_BYTES / 2 + 1 : i % 7 == 3 ? 0 : 1 + random.nextInt(40_000);
      ByteBuffer b = ByteBuffer.allocate(n * 4).order(ByteOrder.LITTLE_ENDIAN);
      for (int k = 0; k < n; k++) {
        b.putFloat((float) (random.nextGaussian() * 0.02));
      }
      tensors.add(Tensor.of(String.format("t%03d", i), DType.F32, new long[] {n}, b.rewind()));
      bytes += b.capacity();
    }
    Path input = tmp.resolve("runs.safetensors");
    SafetensorsWriter.write(Map.of(), tensors, input);
    Path one = tmp.resolve("runs1.dhz");
    Path three = tmp.resolve("runs3.dhz");
    TensorFileWriter.compress(input, one, CompressOptions.defaults().withThreads(1));
    TensorFileWriter.compress(input, three, CompressOptions.defaults().withThreads(3));
    assertArrayEquals(Files.readAllBytes(three), Files.readAllBytes(one), "1 and 3 threads write the same file");
    TensorFileEntry late;
    try (TensorFileReader reader = TensorFileReader.open(one)) {
      for (int threads : new int[] {1, 3}) {
        Path back = tmp.resolve("runs-" + threads + ".out");
        reader.decompress(back, null, threads);
        assertArrayEquals(Files.readAllBytes(input), Files.readAllBytes(back), "threads " + threads);
      }
      late = reader.entries().stream().filter(e -> e.begin() > 4L * TensorFileReader.RUN_BYTES && e.length() > 0)
          .findFirst().orElseThrow();
    }
    byte[] bad = Files.readAllBytes(one);
    bad[(int) (late.offset() + late.length() / 2)] ^= 4;
    Path damaged = tmp.resolve("runs-bad.dhz");
    Files.write(damaged, bad);
    Path out = tmp.resolve("runs-bad.out");
    for (int threads : new int[] {1, 3}) {
      try (TensorFileReader reader = TensorFileReader.open(damaged)) {
        CorruptDataException e = assertThrows(CorruptDataException.class, () -> reader.decompress(out, null, threads));
        assertTrue(e.getMessage().startsWith("Cannot decode tensor " + late.name() + " of "), threads + ": " + e.getMessage());
      }
      assertFalse(Files.exists(out), "no partial output, threads " + threads);
    }
  }

  @Test
  void damageIsDetected() throws Exception {
    Path input = generated(tmp, 9);
    Path dhz = tmp.resolve("d.dhz");
    TensorFileWriter.compress(input, dhz, CompressOptions.defaults());
    byte[] good = Files.readAllBytes(dhz);
    TensorFileEntry first;
    try (TensorFileReader reader = TensorFileReader.open(dhz)) {
      first = reader.entries().stream().filter(e -> e.length() > 16).findFirst().orElseThrow();
    }
    Random random = new Random(9);
    for (int trial = 0; trial < 20; trial++) {
      byte[] bad = good.clone();
      int at = (int) (first.offset() + random.nextInt((int) first.length()));
      bad[at] ^= (byte) (1 << random.nextInt(8));
      Path damaged = tmp.resolve("bad.dhz");
      Files.write(damaged, bad);
      try (TensorFileReader reader = TensorFileReader.open(damaged)) {
        assertThrows(CorruptDataException.class, () -> reader.tensor(first.name(), null), "seed 9 trial " + trial);
        // Tensors are independent: the others still decode.
        for (TensorFileEntry other : reader.entries()) {
          if (!other.name().equals(first.name())) {
            assertEquals(other.originalBytes(), reader.tensor(other.name(), null).byteSize());
          }
        }
        assertThrows(CorruptDataException.class, () -> reader.decompress(tmp.resolve("x.safetensors"), null, 1));
      }
      assertFalse(Files.exists(tmp.resolve("x.safetensors")), "no partial output");
    }
    for (int at : new int[] {0, 9, good.length - 30, good.length - 1, good.length - 20}) {
      byte[] bad = good.clone();
      bad[at] ^= 1;
      Path damaged = tmp.resolve("bad2.dhz");
      Files.write(damaged, bad);
      assertThrows(CorruptDataException.class, () -> TensorFileReader.open(damaged).close(), "flip at " + at);
    }
    // a file that bears neither signature is not a .dhz at all: the caller's input is invalid, not corrupt
    byte[] other = good.clone();
    other[0] ^= 1;
    other[other.length - 1] ^= 1;
    Path notDhz = Files.write(tmp.resolve("other.bin"), other);
    assertThrows(io.dharmana.InvalidDescriptorException.class, () -> TensorFileReader.open(notDhz).close());
    assertThrows(io.dharmana.InvalidDescriptorException.class, () -> TensorFileReader.open(Files.write(tmp.resolve("empty.dhz"), new byte[0])).close());
    Path truncated = tmp.resolve("trunc.dhz");
    Files.write(truncated, java.util.Arrays.copyOf(good, good.length - 5));
    assertThrows(CorruptDataException.class, () -> TensorFileReader.open(truncated).close());
  }

  /** The progress calls of one run: each (done, total), in the order they came. */
  private static final class Recorded implements io.dharmana.runtime.ProgressListener {
    final List<long[]> calls = java.util.Collections.synchronizedList(new ArrayList<>());

    @Override
    public void progress(long done, long total) {
      calls.add(new long[] {done, total});
    }

    /** Checks the calls rose to {@code total} without going back, one per tensor at most. */
    void assertRoseTo(long total, int tensors, String why) {
      assertFalse(calls.isEmpty(), why + ": no progress");
      assertTrue(calls.size() <= tensors, why + ": " + calls.size() + " calls for " + tensors + " tensors");
      long previous = -1;
      for (long[] c : calls) {
        assertEquals(total, c[1], why + ": total");
        assertTrue(c[0] >= previous && c[0] <= total, why + ": " + c[0] + " after " + previous);
        previous = c[0];
      }
      assertEquals(total, previous, why + ": last call");
    }
  }

  /** compress counts tensor data, decompress output bytes; both on every path (threads, older versions). */
  @ParameterizedTest
  @ValueSource(ints = {1, 3})
  void progressRisesToTheWholeWork(int threads) throws Exception {
    Path input = generated(tmp, 8);
    Path dhz = tmp.resolve("progress.dhz");
    Recorded compressing = new Recorded();
    CompressionResult r = TensorFileWriter.compress(input, dhz, CompressOptions.defaults().withThreads(threads), compressing);
    long data = r.tensors().stream().mapToLong(TensorFileEntry::originalBytes).sum();
    compressing.assertRoseTo(data, r.tensors().size(), "compress, threads " + threads);
    for (Path file : List.of(dhz, resource("golden-v1.dhz"), resource("golden-v2.dhz"))) {
      Recorded decompressing = new Recorded();
      try (TensorFileReader reader = TensorFileReader.open(file)) {
        reader.decompress(tmp.resolve("progress.safetensors"), null, threads, decompressing);
        decompressing.assertRoseTo(reader.originalSize(), reader.entries().size(), file.getFileName() + ", threads " + threads);
      }
    }
  }

  private static Path resource(String name) throws Exception {
    return Path.of(TensorFileTest.class.getResource(name).toURI());
  }

  /**
   * Files written by older format versions still decode, checked by the SHA-256 of their output:
   * version 1 (JSON header; made by the code of commit 9ef4d22) and version 2 (binary header; made by
   * the code of commit 14f1e53), each from the safetensors files beside them: lossless, delta-coded
   * and int8.
   */
  @ParameterizedTest
  @ValueSource(strings = {"v1", "v2"})
  void olderVersionsStillDecodeCheckedBySha256(String version) throws Exception {
    Path original = resource("golden-v1.safetensors");
    Path child = resource("golden-v1-child.safetensors");
    Path back = tmp.resolve(version + ".safetensors");
    try (TensorFileReader reader = TensorFileReader.open(resource("golden-" + version + ".dhz"))) {
      assertEquals(5, reader.entries().size());
      assertEquals("SHA-256", reader.outputCheck());
      assertEquals(TensorFileWriter.sha256(original), reader.originalSha256().orElseThrow());
      reader.decompress(back, null, 2);
      try (SafetensorsFile expected = Safetensors.open(original)) {
        for (Tensor t : expected.tensors()) {
          assertEquals(t.data(), reader.tensor(t.name(), null).data(), t.name());
        }
      }
    }
    assertArrayEquals(Files.readAllBytes(original), Files.readAllBytes(back));
    try (TensorFileReader reader = TensorFileReader.open(resource("golden-" + version + "-child-delta.dhz"))) {
      assertEquals("golden-v1.safetensors", reader.parentName().orElseThrow());
      reader.decompress(back, original, 1);
    }
    assertArrayEquals(Files.readAllBytes(child), Files.readAllBytes(back));
    try (TensorFileReader reader = TensorFileReader.open(resource("golden-" + version + "-int8.dhz"))) {
      assertTrue(reader.lossy());
      assertEquals(TensorCodec.INT8, reader.entry("layer.0.weight").codec());
      assertTrue(reader.error().relativeRms() < 0.01, reader.error().toString());
      reader.decompress(back, null, 2); // checks the SHA-256 recorded for the approximation
    }
  }

  /**
   * Decompressing into a channel tells how far the output is verified while it is written: for a
   * version 3 file first the header region, then growing to the end of each run of tensors from
   * the start, up to the whole file; for an older file (checked by the SHA-256 of the whole output)
   * once, at the end. The reader asks for every range of the tensor file before it reads it.
   */
  @ParameterizedTest
  @ValueSource(ints = {1, 3})
  void decompressingIntoAChannelReportsTheVerifiedPrefixAsItGrows(int threads) throws Exception {
    Path input = generated(tmp, 7);
    Path dhz = tmp.resolve("stream.dhz");
    TensorFileWriter.compress(input, dhz, CompressOptions.defaults());
    List<long[]> asked = java.util.Collections.synchronizedList(new ArrayList<>());
    List<Long> verified = new ArrayList<>(); // one call at a time
    Path out = tmp.resolve("stream.safetensors");
    try (TensorFileReader reader = TensorFileReader.open(dhz, (position, length) -> asked.add(new long[] {position, length}));
        java.nio.channels.FileChannel channel = java.nio.channels.FileChannel.open(out, java.nio.file.StandardOpenOption.CREATE_NEW,
            java.nio.file.StandardOpenOption.WRITE)) {
      reader.decompress(channel, null, threads, verified::add);
      long headerRegion = 8 + reader.originalHeader().length;
      List<Long> tensorEnds = new ArrayList<>();
      for (TensorFileEntry e : reader.entries()) {
        // one thread reads runs of tensors at once, so a range asked for may cover several
        assertTrue(asked.stream().anyMatch(a -> a[0] <= e.offset() && e.offset() + e.length() <= a[0] + a[1]),
            "the encoding of " + e.name() + " must be asked for");
        tensorEnds.add(headerRegion + e.end());
      }
      assertEquals(headerRegion, verified.get(0), "the header region first: " + verified);
      assertEquals(Files.size(input), verified.get(verified.size() - 1), "the whole file last: " + verified);
      for (int i = 1; i < verified.size(); i++) {
        assertTrue(verified.get(i) > verified.get(i - 1), "growing: " + verified);
        assertTrue(tensorEnds.contains(verified.get(i)), "at the end of a tensor: " + verified);
      }
    }
    assertArrayEquals(Files.readAllBytes(input), Files.readAllBytes(out));

    List<Long> once = new ArrayList<>();
    Path older = tmp.resolve("older.safetensors");
    try (TensorFileReader reader = TensorFileReader.open(resource("golden-v2.dhz"));
        java.nio.channels.FileChannel channel = java.nio.channels.FileChannel.open(older, java.nio.file.StandardOpenOption.CREATE_NEW,
            java.nio.file.StandardOpenOption.WRITE)) {
      reader.decompress(channel, null, threads, once::add);
    }
    assertEquals(List.of(Files.size(resource("golden-v1.safetensors"))), once, "a version 2 file is verified only whole");
    assertArrayEquals(Files.readAllBytes(resource("golden-v1.safetensors")), Files.readAllBytes(older));
  }

  @Test
  void filesAreWrittenInVersion3() throws Exception {
    Path dhz = tmp.resolve("v3.dhz");
    TensorFileWriter.compress(resource("golden-v1.safetensors"), dhz, CompressOptions.defaults());
    byte[] bytes = Files.readAllBytes(dhz);
    assertEquals(3, ByteBuffer.wrap(bytes, 8, 4).order(ByteOrder.LITTLE_ENDIAN).getInt());
    for (int threads = 1; threads <= 3; threads++) {
      Path back = tmp.resolve("v3-" + threads + ".safetensors");
      try (TensorFileReader reader = TensorFileReader.open(dhz)) {
        assertEquals("CRC-32C", reader.outputCheck());
        assertTrue(reader.originalSha256().isEmpty());
        reader.decompress(back, null, threads);
      }
      assertArrayEquals(Files.readAllBytes(resource("golden-v1.safetensors")), Files.readAllBytes(back), "threads " + threads);
    }
  }

  @Test
  void aVersion2IndexRecordingAnotherSha256FailsTheDecompression() throws Exception {
    Path wrongSha = withHeader(resource("golden-v2.dhz"), tmp.resolve("wrong-sha.dhz"), h -> {
      FileHeader parsed = BinaryHeader.read(h, Path.of("golden-v2.dhz"), TensorFileFormat.VERSION_SHA256);
      return BinaryHeader.write(new FileHeader(parsed.originalSize(), parsed.originalSha256(), "00".repeat(32), parsed.originalHeader(),
          parsed.chain(), parsed.lossy(), parsed.block(), parsed.parentName(), parsed.parentSha256(), parsed.error(), parsed.tensors()));
    });
    try (TensorFileReader reader = TensorFileReader.open(wrongSha)) {
      CorruptDataException e = assertThrows(CorruptDataException.class, () -> reader.decompress(tmp.resolve("x.safetensors"), null, 2));
      assertTrue(e.getMessage().contains("output SHA-256"), e.getMessage());
    }
    assertFalse(Files.exists(tmp.resolve("x.safetensors")), "no partial output");
  }

  /**
   * Version 3: a flipped bit anywhere in the file (preamble, any tensor's encoding, the index,
   * the trailer) or a cut fails with a {@link CorruptDataException} naming the file and what failed,
   * on 1 and on 3 threads, and leaves no output.
   */
  @Test
  void aFlippedBitAnywhereOrACutFailsNamingWhatFailed() throws Exception {
    Path input = generated(tmp, 13);
    Path dhz = tmp.resolve("v3.dhz");
    TensorFileWriter.compress(input, dhz, CompressOptions.defaults());
    byte[] good = Files.readAllBytes(dhz);
    Path damaged = tmp.resolve("bad.dhz");
    Path out = tmp.resolve("x.safetensors");
    Random random = new Random(13);
    for (int trial = 0; trial < 400; trial++) {
      byte[] bad = good.clone();
      // 200 bytes spread evenly over the file, then random ones
      int at = trial < 200 ? (int) ((long) trial * good.length / 200) : random.nextInt(good.length);
      int bit = random.nextInt(8);
      bad[at] ^= (byte) (1 << bit);
      Files.write(damaged, bad);
      int threads = 1 + 2 * (trial & 1);
      String why = "seed 13 trial " + trial + ": bit " + bit + " of byte " + at + " of " + good.length;
      CorruptDataException e = assertThrows(CorruptDataException.class, () -> {
        try (TensorFileReader reader = TensorFileReader.open(damaged)) {
          reader.decompress(out, null, threads);
        }
      }, why);
      assertTrue(e.getMessage().matches("Cannot (read tensor file|decode tensor \\S+ of|decompress) " + java.util.regex.Pattern.quote(
          damaged.toString()) + "[: ].*"), why + ": " + e.getMessage());
      assertFalse(Files.exists(out), why + ": no output");
    }
    for (int cut = 1; cut < good.length; cut += 1 + cut / 4) {
      Files.write(damaged, java.util.Arrays.copyOf(good, good.length - cut));
      assertThrows(CorruptDataException.class, () -> TensorFileReader.open(damaged).close(), "cut " + cut);
    }
  }

  /**
   * Version 3: an index whose checksum is right (as a writer with a bug would leave it) but whose
   * CRC-32Cs disagree with what it lays out fails a full decompression before anything is written.
   */
  @Test
  void aConsistentButWrongIndexFailsTheCrcChecks() throws Exception {
    Path input = generated(tmp, 14);
    Path dhz = tmp.resolve("good.dhz");
    TensorFileWriter.compress(input, dhz, CompressOptions.defaults());
    Path bad = tmp.resolve("bad.dhz");
    Map<String, java.util.function.UnaryOperator<FileHeader>> damages = Map.of(
        "the original's header region (", h -> {
          byte[] original = h.originalHeader().clone();
          original[original.length - 1] ^= 1;
          return new FileHeader(h.originalSize(), null, null, original, h.chain(), h.lossy(), h.block(), null, null, h.error(), h.tensors(),
              h.headerCrc32c(), h.decodedCrc32c());
        },
        "recorded CRC-32C of the whole output", h -> new FileHeader(h.originalSize(), null, null, h.originalHeader(), h.chain(), h.lossy(),
            h.block(), null, null, h.error(), h.tensors(), h.headerCrc32c(), h.decodedCrc32c() ^ 1),
        "do not give the recorded CRC-32C", h -> {
          // Two tensors' encodings trade places: each still matches its own CRC-32C, not its place.
          List<TensorFileEntry> tensors = new ArrayList<>(h.tensors());
          TensorFileEntry a = tensors.get(0);
          TensorFileEntry b = tensors.get(1);
          tensors.set(0, new TensorFileEntry(a.name(), a.dtype(), a.shape(), a.begin(), a.end(), b.codec(), b.delta(), b.offset(),
              b.length(), b.crc32c(), b.error()));
          tensors.set(1, new TensorFileEntry(b.name(), b.dtype(), b.shape(), b.begin(), b.end(), a.codec(), a.delta(), a.offset(),
              a.length(), a.crc32c(), a.error()));
          return withTensors(h, tensors);
        });
    for (Map.Entry<String, java.util.function.UnaryOperator<FileHeader>> damage : damages.entrySet()) {
      withHeader(dhz, bad, h -> BinaryHeader.write(damage.getValue().apply(BinaryHeader.read(h, dhz, TensorFileFormat.VERSION))));
      try (TensorFileReader reader = TensorFileReader.open(bad)) {
        CorruptDataException e = assertThrows(CorruptDataException.class, () -> reader.decompress(tmp.resolve("x.safetensors"), null, 2),
            damage.getKey());
        assertTrue(e.getMessage().startsWith("Cannot decompress " + bad + ": "), e.getMessage());
        assertTrue(e.getMessage().contains(damage.getKey()), e.getMessage());
      }
      assertFalse(Files.exists(tmp.resolve("x.safetensors")));
    }
  }

  /** {@code h} with other index entries, in the same format version. */
  private static FileHeader withTensors(FileHeader h, List<TensorFileEntry> tensors) {
    return new FileHeader(h.originalSize(), h.originalSha256(), h.decodedSha256(), h.originalHeader(), h.chain(), h.lossy(), h.block(),
        h.parentName(), h.parentSha256(), h.error(), tensors, h.headerCrc32c(), h.decodedCrc32c());
  }

  /** Rewrites the header of a version 2 or 3 file with a valid checksum, as a writer with a bug would. */
  private static Path withHeader(Path dhz, Path out, java.util.function.UnaryOperator<byte[]> change) throws Exception {
    byte[] file = Files.readAllBytes(dhz);
    ByteBuffer trailer = ByteBuffer.wrap(file, file.length - 24, 24).order(ByteOrder.LITTLE_ENDIAN);
    int headerOffset = (int) trailer.getLong();
    int headerLength = (int) trailer.getLong();
    byte[] header = com.github.luben.zstd.Zstd.decompress(java.util.Arrays.copyOfRange(file, headerOffset, headerOffset + headerLength),
        1 << 20);
    byte[] stored = com.github.luben.zstd.Zstd.compress(change.apply(header), 3);
    java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
    crc.update(stored);
    ByteBuffer rewritten = ByteBuffer.allocate(headerOffset + stored.length + 24).order(ByteOrder.LITTLE_ENDIAN);
    rewritten.put(file, 0, headerOffset).put(stored).putLong(headerOffset).putLong(stored.length).putInt((int) crc.getValue())
        .put(TensorFileFormat.END_MAGIC);
    Files.write(out, rewritten.array());
    return out;
  }

  @Test
  void aDamagedIndexFailsNamingTheFileAndWhatIsWrong() throws Exception {
    Path input = generated(tmp, 11);
    Path dhz = tmp.resolve("good.dhz");
    TensorFileWriter.compress(input, dhz, CompressOptions.defaults());
    Path bad = tmp.resolve("bad.dhz");
    Map<String, java.util.function.UnaryOperator<byte[]>> damages = Map.of(
        "the index ends inside field", h -> java.util.Arrays.copyOf(h, h.length - 3),
        "bytes follow the last tensor entry", h -> java.util.Arrays.copyOf(h, h.length + 2),
        "not the range starting at", h -> {
          FileHeader parsed = BinaryHeader.read(h, bad, TensorFileFormat.VERSION);
          List<TensorFileEntry> tensors = new ArrayList<>(parsed.tensors());
          TensorFileEntry e = tensors.get(1);
          tensors.set(1, new TensorFileEntry(e.name(), e.dtype(), e.shape(), e.begin() + 1, e.end(), e.codec(), e.delta(), e.offset(),
              e.length(), e.crc32c(), e.error()));
          return BinaryHeader.write(withTensors(parsed, tensors));
        });
    for (Map.Entry<String, java.util.function.UnaryOperator<byte[]>> damage : damages.entrySet()) {
      withHeader(dhz, bad, damage.getValue());
      CorruptDataException e = assertThrows(CorruptDataException.class,
          () -> TensorFileReader.open(bad).decompress(tmp.resolve("x.safetensors"), null, 1), damage.getKey());
      assertTrue(e.getMessage().startsWith("Cannot read tensor file " + bad + ": "), e.getMessage());
      assertTrue(e.getMessage().contains(damage.getKey()), e.getMessage());
      assertFalse(Files.exists(tmp.resolve("x.safetensors")));
    }
  }

  /**
   * A version 3 index is not compared with the embedded safetensors header on opening: a full
   * decompression is proved by its CRC-32Cs, and a lookup by name checks the agreement first.
   */
  @Test
  void anIndexThatDisagreesWithTheOriginalHeaderFailsLookups() throws Exception {
    Path input = generated(tmp, 12);
    Path dhz = tmp.resolve("good.dhz");
    TensorFileWriter.compress(input, dhz, CompressOptions.defaults());
    Path renamed = withHeader(dhz, tmp.resolve("renamed.dhz"), h -> {
      FileHeader parsed = BinaryHeader.read(h, dhz, TensorFileFormat.VERSION);
      List<TensorFileEntry> tensors = new ArrayList<>(parsed.tensors());
      TensorFileEntry e = tensors.get(0);
      tensors.set(0, new TensorFileEntry("renamed", e.dtype(), e.shape(), e.begin(), e.end(), e.codec(), e.delta(), e.offset(), e.length(),
          e.crc32c(), e.error()));
      return BinaryHeader.write(withTensors(parsed, tensors));
    });
    try (TensorFileReader reader = TensorFileReader.open(renamed)) {
      CorruptDataException e = assertThrows(CorruptDataException.class, () -> reader.tensor("renamed", null));
      assertTrue(e.getMessage().contains("index entry 0 (renamed) disagrees with the original header"), e.getMessage());
      assertThrows(CorruptDataException.class, reader::entries);
      reader.decompress(tmp.resolve("back.safetensors"), null, 1);
    }
    assertArrayEquals(Files.readAllBytes(input), Files.readAllBytes(tmp.resolve("back.safetensors")));
  }

  @Test
  void failedCompressionLeavesTheOldOutput() throws Exception {
    Path bad = tmp.resolve("bad.safetensors");
    Files.write(bad, new byte[] {100, 0, 0, 0, 0, 0, 0, 0, '{'});
    Path out = tmp.resolve("keep.dhz");
    Files.write(out, new byte[] {1, 2, 3});
    assertThrows(InvalidDescriptorException.class, () -> TensorFileWriter.compress(bad, out, CompressOptions.defaults()));
    assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(out));
    try (Stream<Path> files = Files.list(tmp)) {
      assertTrue(files.noneMatch(p -> p.getFileName().toString().endsWith(".tmp")));
    }
  }

  @Test
  void corpusLosslessAndDeltaRoundTrips() throws Exception {
    Path w2000 = TestCorpus.checkpoint("w_step2000.safetensors");
    Path w2010 = TestCorpus.checkpoint("w_step2010.safetensors");
    Path bf16 = TestCorpus.checkpoint("w_step2000_bf16.safetensors");
    for (Path input : List.of(w2000, bf16)) {
      Path dhz = tmp.resolve("c.dhz");
      CompressionResult r = TensorFileWriter.compress(input, dhz, CompressOptions.defaults().withThreads(2));
      System.out.printf("lossless %s: ratio %.3f%n", input.getFileName(), r.ratio());
      assertTrue(r.ratio() > 1.05, input + " ratio " + r.ratio());
      Path back = tmp.resolve("c.safetensors");
      try (TensorFileReader reader = TensorFileReader.open(dhz)) {
        reader.decompress(back, null, 2);
      }
      assertArrayEquals(Files.readAllBytes(input), Files.readAllBytes(back), input.toString());
    }
    Path dhz = tmp.resolve("delta.dhz");
    CompressionResult delta = TensorFileWriter.compress(w2010, dhz, CompressOptions.defaults().withBase(w2000));
    CompressionResult plain = TensorFileWriter.compress(w2010, tmp.resolve("plain.dhz"), CompressOptions.defaults());
    System.out.printf("lossless delta 2010 vs 2000: ratio %.3f (without parent %.3f)%n", delta.ratio(), plain.ratio());
    assertTrue(delta.ratio() > plain.ratio(), "delta " + delta.ratio() + " plain " + plain.ratio());
    Path back = tmp.resolve("d.safetensors");
    try (TensorFileReader reader = TensorFileReader.open(dhz)) {
      assertEquals("w_step2000.safetensors", reader.parentName().orElseThrow());
      assertThrows(InvalidDescriptorException.class, () -> reader.decompress(back, null, 1));
      assertThrows(InvalidDescriptorException.class, () -> reader.decompress(back, w2010, 1));
      reader.decompress(back, w2000, 2);
      try (SafetensorsFile parent = reader.openParent(w2000); SafetensorsFile original = Safetensors.open(w2010)) {
        String name = original.infos().get(3).name();
        assertEquals(original.tensor(name).data(), reader.tensor(name, parent).data());
      }
    }
    assertArrayEquals(Files.readAllBytes(w2010), Files.readAllBytes(back));
  }

  /** The target: int8 on fp32 weights at least 3.9x with relative RMS error at most 1%. */
  @Test
  void corpusInt8MeetsTheTarget() throws Exception {
    Path w2000 = TestCorpus.checkpoint("w_step2000.safetensors");
    Path w2010 = TestCorpus.checkpoint("w_step2010.safetensors");
    Path dhz = tmp.resolve("q.dhz");
    CompressionResult int8 = TensorFileWriter.compress(w2000, dhz,
        CompressOptions.defaults().withLossy(BlockQuantizer.Format.INT8, BlockQuantizer.DEFAULT_BLOCK));
    System.out.printf("int8 w_step2000: ratio %.3f, %s%n", int8.ratio(), int8.error());
    assertTrue(int8.ratio() >= 3.9, "ratio " + int8.ratio());
    assertTrue(int8.error().relativeRms() <= 0.01, int8.error().toString());
    Path back = tmp.resolve("q.safetensors");
    try (TensorFileReader reader = TensorFileReader.open(dhz)) {
      reader.decompress(back, null, 2);
    }
    try (SafetensorsFile original = Safetensors.open(w2000); SafetensorsFile decoded = Safetensors.open(back)) {
      io.dharmana.tensor.lossy.ErrorReport measured = io.dharmana.tensor.lossy.ErrorReport.EXACT;
      for (Tensor t : original.tensors()) {
        float[] a = new float[(int) t.elementCount()];
        float[] b = new float[a.length];
        t.data().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(a);
        decoded.tensor(t.name()).data().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(b);
        measured = measured.plus(io.dharmana.tensor.lossy.ErrorReport.compare(a, b));
      }
      assertEquals(int8.error().relativeRms(), measured.relativeRms(), 1e-9, "reported error is what decoding yields");
    }
    CompressionResult fp8 = TensorFileWriter.compress(w2000, dhz,
        CompressOptions.defaults().withLossy(BlockQuantizer.Format.FP8_E4M3, BlockQuantizer.DEFAULT_BLOCK));
    System.out.printf("fp8 w_step2000: ratio %.3f, %s%n", fp8.ratio(), fp8.error());
    CompressionResult delta = TensorFileWriter.compress(w2010, dhz,
        CompressOptions.defaults().withLossy(BlockQuantizer.Format.INT8, BlockQuantizer.DEFAULT_BLOCK).withBase(w2000));
    System.out.printf("int8 delta 2010 vs 2000: ratio %.3f, %s%n", delta.ratio(), delta.error());
    assertTrue(delta.error().relativeRms() < int8.error().relativeRms() / 10, delta.error().toString());
  }
}
