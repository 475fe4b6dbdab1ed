package io.dharmana.cli;

import io.dharmana.tensor.file.CompressionResult;
import io.dharmana.tensor.file.TensorFileReader;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code dharmana decompress}: a {@code .dhz} file back into safetensors, verified by checksum. */
@Command(
    name = "decompress",
    mixinStandardHelpOptions = true,
    description = "Decompress a .dhz file into a safetensors file; lossless files come back byte for byte (checked by the "
        + "CRC-32C of every tensor and of the header, or by the SHA-256 of the output for files written before format version 3).")
public final class DecompressCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(index = "0", paramLabel = "IN.dhz", description = "The file to decompress.")
  Path input;

  @Option(names = {"-o", "--output"}, paramLabel = "OUT", description = "Output file (default: IN with .safetensors). A"
      + " directory (one that exists, or OUT ending in '/', made if missing) gets IN's name with .safetensors, which must"
      + " not exist yet.")
  Path output;

  @Option(names = "--base", paramLabel = "PARENT.safetensors",
      description = "The parent checkpoint the file was delta-coded against (its SHA-256 is checked).")
  Path base;

  @Option(names = "--threads", paramLabel = "N", description = "Threads decoding tensors at once (default: all cores); with 1, a second thread checks and writes"
      + " the output while the next tensors are decoded, as zstd's asynchronous I/O does.")
  int threads = Runtime.getRuntime().availableProcessors();

  @Option(names = "--json", description = "Print the result as JSON: inputBytes, outputBytes, ratio, seconds (from"
      + " opening the input to the output on disk; the JVM's start is not in it), megabytesPerSecond, threads, lossless,"
      + " error (when lossy) and the tensors.")
  boolean json;

  @Option(names = "--progress", negatable = true,
      description = "Show a progress bar on stderr (default: on a terminal, for outputs of 64 MiB and more).")
  Boolean progress;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    long start = System.nanoTime(); // opening the input (reading and checking its index) counts too, as in compress
    try (TensorFileReader reader = TensorFileReader.open(input)) {
      if (base != null && reader.parentName().isEmpty()) {
        // said, not refused: a script may pass the parent to every file of a chain, whose first is whole
        PrintWriter err = spec.commandLine().getErr();
        err.println("dharmana decompress: WARNING: --base " + base + " is not used: " + input
            + " is not delta-coded, it decodes without a parent");
        err.flush();
      }
      Path target = CompressCommand.target(spec, output, defaultOutput(input));
      CompressionResult r = OutputFile.write(target, file -> {
        try (Progress bar = Progress.start("decompress " + input.getFileName(), reader.originalSize(), progress)) {
          return reader.decompress(file, base, threads, bar).withSeconds((System.nanoTime() - start) / 1e9);
        }
      });
      if (json) {
        out.println(CompressCommand.toJson(r, r.outputBytes() / (double) r.inputBytes(), r.outputBytes(), threads));
      } else {
        out.printf(Locale.ROOT, "%s: %,d -> %,d bytes, ratio %.3f, %.2f s, %.1f MB/s (%d thread%s), %s%n",
            target, r.inputBytes(), r.outputBytes(), r.outputBytes() / (double) r.inputBytes(), r.seconds(),
            r.megabytesPerSecond(r.outputBytes()), threads, threads == 1 ? "" : "s",
            r.lossless() ? "lossless, " + reader.outputCheck() + " verified" : "LOSSY (approximation, checksums verified)");
        if (!r.lossless()) {
          CompressCommand.printErrorTable(out, r);
        }
      }
      out.flush();
      return Main.OK;
    }
  }

  static Path defaultOutput(Path in) {
    String name = in.getFileName().toString();
    String stem = name.endsWith(".dhz") ? name.substring(0, name.length() - 4) : name + ".out";
    return in.resolveSibling(stem.endsWith(".safetensors") ? stem : stem + ".safetensors");
  }
}
