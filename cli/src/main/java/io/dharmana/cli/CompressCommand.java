package io.dharmana.cli;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.dharmana.CorruptDataException;
import io.dharmana.InvalidDescriptorException;
import io.dharmana.NotFoundException;
import io.dharmana.tensor.file.CompressOptions;
import io.dharmana.tensor.file.CompressionResult;
import io.dharmana.tensor.file.TensorCodec;
import io.dharmana.tensor.file.TensorFileEntry;
import io.dharmana.tensor.file.TensorFileWriter;
import io.dharmana.tensor.lossy.BlockQuantizer;
import io.dharmana.tensor.lossy.ErrorReport;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code dharmana compress}: a safetensors file into a {@code .dhz} file, lossless unless asked. */
@Command(
    name = "compress",
    mixinStandardHelpOptions = true,
    description = "Compress a safetensors file into a .dhz file (lossless unless --lossy is given).")
public final class CompressCommand implements Callable<Integer> {
  static final int EXIT_FAILURE = 1;
  static final int EXIT_BAD_INPUT = 2;
  private static final JsonFactory JSON = new JsonFactory();

  @Spec CommandSpec spec;

  @Parameters(index = "0", paramLabel = "IN.safetensors", description = "The file to compress.")
  Path input;

  @Option(names = {"-o", "--output"}, paramLabel = "OUT", description = "Output file (default: IN with .dhz).")
  Path output;

  @Option(names = "--base", paramLabel = "PARENT.safetensors",
      description = "Code tensors as deltas against this parent checkpoint (needed again to decompress).")
  Path base;

  @Option(names = "--lossy", paramLabel = "int8|fp8", description = "Quantize F32 tensors (opt-in, reports the error).")
  String lossy;

  @Option(names = "--block", paramLabel = "N", description = "Values per quantization scale (default: ${DEFAULT-VALUE}).")
  int block = BlockQuantizer.DEFAULT_BLOCK;

  @Option(names = "--threads", paramLabel = "N", description = "Tensors coded at once (default: all cores).")
  int threads = Runtime.getRuntime().availableProcessors();

  @Option(names = "--codec", paramLabel = "float|zstd", description = "Lossless codec (default: ${DEFAULT-VALUE}).")
  String codec = "float";

  @Option(names = "--json", description = "Print the result as JSON.")
  boolean json;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    try {
      if (block != BlockQuantizer.DEFAULT_BLOCK && lossy == null) {
        throw new InvalidDescriptorException("Invalid --block " + block + ": it applies only with --lossy int8|fp8");
      }
      CompressOptions options = CompressOptions.defaults()
          .withThreads(threads)
          .withBase(base)
          .withLosslessCodec(losslessCodec(codec))
          .withLossy(lossy == null ? null : BlockQuantizer.Format.parse(lossy), block);
      Path target = output != null ? output : refuseExisting(defaultOutput(input));
      CompressionResult result = TensorFileWriter.compress(input, target, options);
      if (json) {
        out.println(toJson(result, result.ratio(), result.inputBytes(), threads));
      } else {
        printHuman(out, target, result, threads);
      }
      out.flush();
      return 0;
    } catch (InvalidDescriptorException | NotFoundException | CorruptDataException e) {
      err.println("dharmana compress: " + e.getMessage());
      err.flush();
      return EXIT_BAD_INPUT;
    } catch (RuntimeException e) {
      err.println("dharmana compress: " + Main.message(e));
      err.flush();
      return EXIT_FAILURE;
    }
  }

  private static TensorCodec losslessCodec(String name) {
    return switch (name) {
      case "float" -> TensorCodec.FLOAT;
      case "zstd" -> TensorCodec.ZSTD;
      default -> throw new InvalidDescriptorException("Invalid --codec '" + name + "': allowed are float, zstd");
    };
  }

  /** A derived output name must not silently replace a file; an explicit -o may. */
  static Path refuseExisting(Path target) {
    if (java.nio.file.Files.exists(target)) {
      throw new InvalidDescriptorException("Cannot write " + target + ": it exists; name the output with -o to replace it");
    }
    return target;
  }

  static Path defaultOutput(Path in) {
    String name = in.getFileName().toString();
    String stem = name.endsWith(".safetensors") ? name.substring(0, name.length() - ".safetensors".length()) : name;
    return in.resolveSibling(stem + ".dhz");
  }

  private static void printHuman(PrintWriter out, Path target, CompressionResult r, int threads) {
    out.printf(Locale.ROOT, "%s: %,d -> %,d bytes, ratio %.3f, %.2f s, %.1f MB/s (%d thread%s), %s%n",
        target, r.inputBytes(), r.outputBytes(), r.ratio(), r.seconds(), r.megabytesPerSecond(r.inputBytes()), threads,
        threads == 1 ? "" : "s", r.lossless() ? "lossless" : "LOSSY");
    if (!r.lossless()) {
      printErrorTable(out, r);
    }
  }

  static void printErrorTable(PrintWriter out, CompressionResult r) {
    int width = Math.max(6, r.tensors().stream().mapToInt(e -> e.name().length()).max().orElse(6));
    String row = "%-" + width + "s  %-14s %8s  %12s  %10s  %9s%n";
    out.printf(Locale.ROOT, row, "tensor", "codec", "ratio", "max abs err", "rel RMS %", "SNR dB");
    for (TensorFileEntry e : r.tensors()) {
      if (e.codec().lossy()) {
        out.printf(Locale.ROOT, row, e.name(), e.codec().label() + (e.delta() ? "+d" : ""), fmt("%.3f", e.ratio()),
            fmt("%.4g", e.error().maxAbsError()), fmt("%.4f", 100 * e.error().relativeRms()), snr(e.error()));
      }
    }
    ErrorReport all = r.error();
    out.printf(Locale.ROOT, row, "OVERALL", "", fmt("%.3f", r.ratio()), fmt("%.4g", all.maxAbsError()),
        fmt("%.4f", 100 * all.relativeRms()), snr(all));
  }

  private static String fmt(String format, double value) {
    return String.format(Locale.ROOT, format, value);
  }

  private static String snr(ErrorReport e) {
    return Double.isInfinite(e.snrDb()) ? "inf" : fmt("%.2f", e.snrDb());
  }

  /**
   * The result as JSON: inputBytes, outputBytes, ratio (original over compressed), seconds,
   * megabytesPerSecond (of original data), threads, lossless, error (when lossy), tensors.
   */
  static String toJson(CompressionResult r, double ratio, long originalBytes, int threads) {
    // Written as a stream: thousands of tensors as a tree of nodes cost a cold JVM more than the text does.
    StringWriter text = new StringWriter(256 + 200 * r.tensors().size());
    try (JsonGenerator g = JSON.createGenerator(text)) {
      g.writeStartObject();
      g.writeNumberField("inputBytes", r.inputBytes());
      g.writeNumberField("outputBytes", r.outputBytes());
      g.writeNumberField("ratio", ratio);
      g.writeNumberField("seconds", r.seconds());
      g.writeNumberField("megabytesPerSecond", r.megabytesPerSecond(originalBytes));
      g.writeNumberField("threads", threads);
      g.writeBooleanField("lossless", r.lossless());
      if (!r.lossless()) {
        g.writeFieldName("error");
        writeError(g, r.error());
      }
      g.writeArrayFieldStart("tensors");
      for (TensorFileEntry e : r.tensors()) {
        g.writeStartObject();
        g.writeStringField("name", e.name());
        g.writeStringField("dtype", e.dtype().name());
        g.writeArrayFieldStart("shape");
        for (long d : e.shape()) {
          g.writeNumber(d);
        }
        g.writeEndArray();
        g.writeStringField("codec", e.codec().label());
        g.writeBooleanField("delta", e.delta());
        g.writeNumberField("originalBytes", e.originalBytes());
        g.writeNumberField("encodedBytes", e.length());
        g.writeNumberField("ratio", e.ratio());
        if (e.codec().lossy()) {
          g.writeFieldName("error");
          writeError(g, e.error());
        }
        g.writeEndObject();
      }
      g.writeEndArray();
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot write the result as JSON", e);
    }
    return text.toString();
  }

  private static void writeError(JsonGenerator g, ErrorReport e) throws IOException {
    g.writeStartObject();
    g.writeNumberField("maxAbsError", e.maxAbsError());
    g.writeNumberField("relativeRms", e.relativeRms());
    if (Double.isInfinite(e.snrDb())) {
      g.writeNullField("snrDb");
    } else {
      g.writeNumberField("snrDb", e.snrDb());
    }
    g.writeNumberField("values", e.count());
    g.writeEndObject();
  }
}
