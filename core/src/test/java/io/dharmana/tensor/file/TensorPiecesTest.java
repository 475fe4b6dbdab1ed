package io.dharmana.tensor.file;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.CorruptDataException;
import io.dharmana.InvalidDescriptorException;
import io.dharmana.runtime.ProgressListener;
import io.dharmana.tensor.DType;
import io.dharmana.tensor.SafetensorsWriter;
import io.dharmana.tensor.Tensor;
import io.dharmana.tensor.TensorInfo;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tensors larger than one array are stored in pieces of whole rows: here with the split lowered to
 * 1 MiB, so that small files exercise what a 4 GB embedding does ({@code LargeTensorTest} runs one
 * over 2 GiB).
 */
class TensorPiecesTest {
  private static final long SPLIT = 1 << 20;
  @TempDir Path tmp;

  /** F32 [1000, 700] (2.8 MB: pieces of 374, 374 and 252 rows), a small BF16, an empty and a scalar tensor. */
  private Path checkpoint(String name, long seed, float step) {
    Random random = new Random(seed);
    ByteBuffer big = ByteBuffer.allocate(1000 * 700 * 4).order(ByteOrder.LITTLE_ENDIAN);
    Random update = new Random(seed + 1);
    for (int i = 0; i < 1000 * 700; i++) {
      big.putFloat((float) (random.nextGaussian() * 0.02) + step * (float) update.nextGaussian() * 1e-5f);
    }
    ByteBuffer small = ByteBuffer.allocate(64 * 2).order(ByteOrder.LITTLE_ENDIAN);
    random.nextBytes(small.array());
    List<Tensor> tensors = List.of(
        Tensor.of("embed.weight", DType.F32, new long[] {1000, 700}, big.rewind()),
        Tensor.of("norm.weight", DType.BF16, new long[] {64}, small),
        Tensor.of("empty", DType.F32, new long[] {0, 7}, ByteBuffer.allocate(0)),
        Tensor.of("step", DType.I64, new long[] {}, ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, (long) step)));
    Path file = tmp.resolve(name);
    SafetensorsWriter.write(Map.of("format", "pt"), tensors, file);
    return file;
  }

  private static CompressionResult compress(Path in, Path out, CompressOptions options) {
    return TensorFileWriter.compress(in, out, options, ProgressListener.NONE, SPLIT, SPLIT);
  }

  private static int version(Path dhz) throws Exception {
    return ByteBuffer.wrap(Files.readAllBytes(dhz), 8, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
  }

  @Test
  void aTensorAboveTheSplitIsStoredInPiecesOfRowsAndRestoredByteForByte() throws Exception {
    Path input = checkpoint("w.safetensors", 5, 0);
    byte[] first = null;
    for (int threads : new int[] {1, 3}) {
      Path dhz = tmp.resolve("w" + threads + ".dhz");
      CompressionResult r = compress(input, dhz, CompressOptions.defaults().withThreads(threads));
      List<TensorFileEntry> pieces = r.tensors().stream().filter(e -> e.name().equals("embed.weight")).toList();
      assertEquals(List.of(374L, 374L, 252L), pieces.stream().map(e -> e.shape()[0]).toList(), "pieces of whole rows up to 1 MiB");
      assertTrue(pieces.stream().allMatch(e -> e.shape().length == 2 && e.shape()[1] == 700));
      assertEquals(4, version(dhz), "a file with pieces is version 4");
      byte[] bytes = Files.readAllBytes(dhz);
      if (first == null) {
        first = bytes;
      } else {
        assertArrayEquals(first, bytes, "the same file from 1 and 3 coding threads");
      }
      for (int decodeThreads : new int[] {1, 3}) {
        Path back = tmp.resolve("back.safetensors");
        try (TensorFileReader reader = TensorFileReader.open(dhz)) {
          reader.decompress(back, null, decodeThreads);
          assertEquals(Files.readString(input, java.nio.charset.StandardCharsets.ISO_8859_1),
              Files.readString(back, java.nio.charset.StandardCharsets.ISO_8859_1), "byte for byte");
          // read alone, a tensor in pieces is joined again
          assertEquals(DType.BF16, reader.tensor("norm.weight", null).dtype());
          Tensor joined = reader.tensor("embed.weight", null);
          assertArrayEquals(new long[] {1000, 700}, joined.shape());
          try (io.dharmana.tensor.SafetensorsFile original = io.dharmana.tensor.Safetensors.open(input)) {
            assertEquals(original.tensor("embed.weight").data(), joined.data());
          }
          assertEquals(3, reader.entries("embed.weight").size());
        }
        Files.delete(back);
      }
    }
    // the pieces cost nothing measurable: chunks are coded on their own anyway
    Path whole = tmp.resolve("whole.dhz");
    TensorFileWriter.compress(input, whole, CompressOptions.defaults());
    assertEquals(3, version(whole), "a file without pieces stays version 3");
    assertTrue(first.length < Files.size(whole) * 1.001, first.length + " bytes in pieces, " + Files.size(whole) + " whole");
  }

  @Test
  void piecesAreDeltaCodedAgainstTheSameRowsOfTheParent() throws Exception {
    Path parent = checkpoint("step1.safetensors", 7, 1);
    Path child = checkpoint("step2.safetensors", 7, 2);
    Path dhz = tmp.resolve("step2.dhz");
    CompressionResult r = compress(child, dhz, CompressOptions.defaults().withBase(parent));
    assertTrue(r.tensors().stream().filter(e -> e.name().equals("embed.weight")).allMatch(TensorFileEntry::delta));
    CompressionResult alone = compress(child, tmp.resolve("alone.dhz"), CompressOptions.defaults());
    assertTrue(r.outputBytes() < alone.outputBytes() * 0.8, "delta " + r.outputBytes() + ", alone " + alone.outputBytes());
    Path back = tmp.resolve("back.safetensors");
    try (TensorFileReader reader = TensorFileReader.open(dhz)) {
      reader.decompress(back, parent, 2);
    }
    assertEquals(-1, Files.mismatch(child, back));
  }

  @Test
  void aDamagedPieceFailsTheDecompressionNamingItsTensorAndLeavesNoOutput() throws Exception {
    Path input = checkpoint("w.safetensors", 9, 0);
    Path dhz = tmp.resolve("w.dhz");
    CompressionResult r = compress(input, dhz, CompressOptions.defaults());
    TensorFileEntry second = r.tensors().stream().filter(e -> e.name().equals("embed.weight")).skip(1).findFirst().orElseThrow();
    byte[] bytes = Files.readAllBytes(dhz);
    bytes[(int) (second.offset() + second.length() / 2)] ^= 0x04;
    Files.write(dhz, bytes);
    Path back = tmp.resolve("back.safetensors");
    try (TensorFileReader reader = TensorFileReader.open(dhz)) {
      CorruptDataException e = assertThrows(CorruptDataException.class, () -> reader.decompress(back, null, 2));
      assertTrue(e.getMessage().contains("embed.weight"), e.getMessage());
    }
    assertFalse(Files.exists(back), "nothing half-written is left");
  }

  @Test
  void anIndexWhosePiecesDoNotTileTheirTensorIsRefused() {
    TensorInfo t = new TensorInfo("w", DType.F32, new long[] {10, 4}, 0, 160);
    Path p = Path.of("x.dhz");
    List<TensorInfo> tensors = List.of(t);
    // rows 0-5 and 6-9: right
    assertArrayEquals(new long[] {0, 96}, TensorPieces.check(p, tensors,
        List.of(entry("w", new long[] {6, 4}, 0, 96), entry("w", new long[] {4, 4}, 96, 160))));
    // a gap, another row width, another name, or a piece missing
    for (List<TensorFileEntry> wrong : List.of(
        List.of(entry("w", new long[] {6, 4}, 0, 96), entry("w", new long[] {3, 4}, 112, 160)),
        List.of(entry("w", new long[] {6, 4}, 0, 96), entry("w", new long[] {8, 2}, 96, 160)),
        List.of(entry("w", new long[] {6, 4}, 0, 96), entry("v", new long[] {4, 4}, 96, 160)),
        List.of(entry("w", new long[] {6, 4}, 0, 96)))) {
      assertThrows(CorruptDataException.class, () -> TensorPieces.check(p, tensors, wrong), wrong.toString());
    }
  }

  @Test
  void aTensorWhoseSingleRowExceedsAPieceIsRefusedNamingIt() {
    TensorInfo t = new TensorInfo("wide", DType.F32, new long[] {2, 1 << 19}, 0, 4L << 20);
    InvalidDescriptorException e = assertThrows(InvalidDescriptorException.class,
        () -> TensorPieces.of(List.of(t), SPLIT, SPLIT));
    assertTrue(e.getMessage().contains("wide") && e.getMessage().contains(Arrays.toString(t.shape())), e.getMessage());
  }

  private static TensorFileEntry entry(String name, long[] shape, long begin, long end) {
    return new TensorFileEntry(name, DType.F32, shape, begin, end, TensorCodec.RAW, false, 0, end - begin, 0, null);
  }
}
