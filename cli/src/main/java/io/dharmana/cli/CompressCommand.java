package io.dharmana.cli;

import io.dharmana.InvalidDescriptorException;
import io.dharmana.tensor.file.CompressOptions;
import io.dharmana.tensor.file.CompressionResult;
import io.dharmana.tensor.file.TensorCodec;
import io.dharmana.tensor.file.TensorFileEntry;
import io.dharmana.tensor.file.TensorFileWriter;
import io.dharmana.tensor.lossy.BlockQuantizer;
import io.dharmana.tensor.lossy.ErrorReport;
import java.io.PrintWriter;
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
  @Spec CommandSpec spec;

  @Parameters(index = "0", paramLabel = "IN.safetensors", description = "The file to compress.")
  Path input;

  @Option(names = {"-o", "--output"}, paramLabel = "OUT", description = "Output file (default: IN with .dhz). A directory (one"
      + " that exists, or OUT ending in '/', made if missing) gets IN's name with .dhz, which must not exist yet.")
  Path output;

  @Option(names = "--base", paramLabel = "PARENT.safetensors",
      description = "Code tensors as deltas against this parent checkpoint (needed again to decompress).")
  Path base;

  @Option(names = "--lossy", paramLabel = "int8|fp8", description = "Quantize F32 tensors (opt-in, reports the error).")
  String lossy;

  @Option(names = "--block", paramLabel = "N", description = "Values per quantization scale, with --lossy (default: ${DEFAULT-VALUE}).")
  int block = BlockQuantizer.DEFAULT_BLOCK;

  @Option(names = "--threads", paramLabel = "N", description = "Threads coding tensors at once (default: all cores); with 1, a second thread writes the output"
      + " while the next tensors are coded, as zstd's asynchronous I/O does.")
  int threads = Runtime.getRuntime().availableProcessors();

  @Option(names = "--codec", paramLabel = "float|zstd", description = "Lossless codec (default: ${DEFAULT-VALUE}).")
  String codec = "float";

  @Option(names = "--json", description = "Print the result as JSON: inputBytes, outputBytes, ratio, seconds (from"
      + " opening the input to the output on disk; the JVM's start is not in it), megabytesPerSecond, threads, lossless,"
      + " error (when lossy) and the tensors.")
  boolean json;

  @Option(names = "--progress", negatable = true,
      description = "Show a progress bar on stderr (default: on a terminal, for inputs of 64 MiB and more).")
  Boolean progress;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    if (block != BlockQuantizer.DEFAULT_BLOCK && lossy == null) {
      throw new InvalidDescriptorException("Invalid --block " + block + ": it applies only with --lossy int8|fp8");
    }
    CompressOptions options = CompressOptions.defaults()
        .withThreads(threads)
        .withBase(base)
        .withLosslessCodec(losslessCodec(codec))
        .withLossy(lossy == null ? null : BlockQuantizer.Format.parse(lossy), block);
    Path target = target(spec, output, defaultOutput(input));
    CompressionResult result = OutputFile.write(target, file -> {
      // a missing input has length 0 here: no bar, and the writer names what is wrong
      try (Progress bar = Progress.start("compress " + input.getFileName(), input.toFile().length(), progress)) {
        return TensorFileWriter.compress(input, file, options, bar);
      }
    });
    if (json) {
      out.println(toJson(result, result.ratio(), result.inputBytes(), threads));
    } else {
      printHuman(out, target, result, threads);
    }
    out.flush();
    return Main.OK;
  }

  private static TensorCodec losslessCodec(String name) {
    return switch (name) {
      case "float" -> TensorCodec.FLOAT;
      case "zstd" -> TensorCodec.ZSTD;
      default -> throw new InvalidDescriptorException("Invalid --codec '" + name + "': allowed are float, zstd");
    };
  }

  /**
   * The file to write: {@code -o} as given, or the derived name ({@code derived}) beside the input
   * or in the directory {@code -o} names.
   */
  static Path target(CommandSpec spec, Path output, Path derived) {
    if (output == null) {
      return refuseExisting(derived);
    }
    return OutputFile.namesDirectory(spec, "-o", output) ? refuseExisting(output.resolve(derived.getFileName())) : output;
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
   *
   * <p>Written by hand as Jackson's generator writes it (compact; strings escaped as JSON requires,
   * other control characters as upper-case hex escapes; doubles as {@link Double#toString},
   * non-finite ones as strings): with thousands of tensors the generator's many small methods ran
   * interpreted for most of the text, ~80 ms of each command's cold JVM (8,162 tensors); one method
   * a tensor here is compiled after its first hundreds.
   */
  static String toJson(CompressionResult r, double ratio, long originalBytes, int threads) {
    StringBuilder json = new StringBuilder(256 + 200 * r.tensors().size());
    json.append("{\"inputBytes\":").append(r.inputBytes());
    json.append(",\"outputBytes\":").append(r.outputBytes());
    number(json.append(",\"ratio\":"), ratio);
    number(json.append(",\"seconds\":"), r.seconds());
    number(json.append(",\"megabytesPerSecond\":"), r.megabytesPerSecond(originalBytes));
    json.append(",\"threads\":").append(threads);
    json.append(",\"lossless\":").append(r.lossless());
    if (!r.lossless()) {
      error(json.append(",\"error\":"), r.error());
    }
    json.append(",\"tensors\":[");
    for (int i = 0; i < r.tensors().size(); i++) {
      tensor(json.append(i == 0 ? "" : ","), r.tensors().get(i));
    }
    return json.append("]}").toString();
  }

  private static void tensor(StringBuilder json, TensorFileEntry e) {
    string(json.append("{\"name\":"), e.name());
    string(json.append(",\"dtype\":"), e.dtype().name());
    json.append(",\"shape\":[");
    long[] shape = e.shape();
    for (int d = 0; d < shape.length; d++) {
      json.append(d == 0 ? "" : ",").append(shape[d]);
    }
    string(json.append("],\"codec\":"), e.codec().label());
    json.append(",\"delta\":").append(e.delta());
    json.append(",\"originalBytes\":").append(e.originalBytes());
    json.append(",\"encodedBytes\":").append(e.length());
    number(json.append(",\"ratio\":"), e.ratio());
    if (e.codec().lossy()) {
      error(json.append(",\"error\":"), e.error());
    }
    json.append('}');
  }

  private static void error(StringBuilder json, ErrorReport e) {
    number(json.append("{\"maxAbsError\":"), e.maxAbsError());
    number(json.append(",\"relativeRms\":"), e.relativeRms());
    if (Double.isInfinite(e.snrDb())) {
      json.append(",\"snrDb\":null");
    } else {
      number(json.append(",\"snrDb\":"), e.snrDb());
    }
    json.append(",\"values\":").append(e.count()).append('}');
  }

  private static void number(StringBuilder json, double value) {
    if (Double.isFinite(value)) {
      json.append(value);
    } else {
      json.append('"').append(value).append('"');
    }
  }

  private static final String HEX = "0123456789ABCDEF";

  private static void string(StringBuilder json, String s) {
    json.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> json.append("\\\"");
        case '\\' -> json.append("\\\\");
        case '\n' -> json.append("\\n");
        case '\r' -> json.append("\\r");
        case '\t' -> json.append("\\t");
        case '\b' -> json.append("\\b");
        case '\f' -> json.append("\\f");
        default -> {
          if (c < 0x20) {
            json.append("\\u00").append(HEX.charAt(c >> 4)).append(HEX.charAt(c & 15));
          } else {
            json.append(c);
          }
        }
      }
    }
    json.append('"');
  }
}
