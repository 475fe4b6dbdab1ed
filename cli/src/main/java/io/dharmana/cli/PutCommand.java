package io.dharmana.cli;

import io.dharmana.metrics.MetricsSnapshot;
import io.dharmana.metrics.PipelineMetrics;
import io.dharmana.repo.ObjectInfo;
import io.dharmana.repo.PutOptions;
import io.dharmana.repo.Repository;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "put", mixinStandardHelpOptions = true,
    description = "Store a file (or standard input) as an object: chunk, encode through the pipeline, deduplicate, commit atomically.")
final class PutCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(index = "0", paramLabel = "REPO", description = "Repository directory.")
  Path repo;

  @Parameters(index = "1", paramLabel = "NAME", description = "Object name, e.g. runs/7/data.bin.")
  String name;

  @Parameters(index = "2", paramLabel = "FILE", arity = "0..1", description = "File to store; '-' or absent for standard input.")
  String file;

  @Option(names = "--pipeline", paramLabel = "NAME", description = "Pipeline to write through (default: the repository's).")
  String pipeline;

  @Option(names = "--if-absent", description = "Fail (exit 4) if NAME already exists instead of replacing it.")
  boolean ifAbsent;

  @Option(names = "--json", description = "Print the result as JSON.")
  boolean json;

  @Option(names = "--progress", negatable = true, description = "Show a progress bar (default: on a terminal, for large inputs).")
  Boolean progress;

  /** Standard input and whether a person types it; fields so that tests can stand in for a terminal. */
  InputStream stdin = System.in;
  boolean stdinIsTerminal = System.console() != null;

  @Override
  public Integer call() throws IOException {
    boolean fromStdin = file == null || file.equals("-");
    if (file == null && stdinIsTerminal) {
      // `put repo weights.bin` meant to store the file weights.bin would wait for typed bytes
      throw new IllegalArgumentException("No FILE given and standard input is a terminal: give the file to store"
          + " (dharmana put " + repo + " " + name + " FILE), or pipe the bytes in; '-' reads what you type");
    }
    try (Repository r = Repository.open(repo)) {
      long size = fromStdin ? -1 : Files.size(Path.of(file));
      PutOptions options = (ifAbsent ? PutOptions.ifAbsent() : PutOptions.defaults()).withExpectedSize(size);
      if (pipeline != null) {
        options = options.withPipeline(pipeline);
      }
      long start = System.nanoTime();
      ObjectInfo info;
      try (InputStream in = fromStdin ? stdin : Files.newInputStream(Path.of(file));
          Progress bar = Progress.start("put " + name, size, progress)) {
        info = r.put(name, new BufferedInputStream(in, 1 << 20), options, bar);
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      MetricsSnapshot snapshot = r.metrics(info.pipeline()).snapshot("put " + name);
      r.history().append(snapshot);
      if (file == null && info.size() == 0) {
        // the usual cause is a FILE left off in a script, whose standard input is empty
        var err = spec.commandLine().getErr();
        err.println("dharmana put: standard input was empty: stored " + name + " as an empty object (give FILE to store a file)");
        err.flush();
      }
      var out = spec.commandLine().getOut();
      if (json) {
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("object", info);
        result.put("seconds", seconds);
        result.put("newStoredBytes", snapshot.counter(PipelineMetrics.NEW_STORED_BYTES));
        result.put("dedupChunks", snapshot.counter(PipelineMetrics.DEDUP_CHUNKS));
        result.put("chunks", snapshot.counter(PipelineMetrics.CHUNKS));
        Output.json(out, result);
      } else {
        out.printf("put %s: %s -> %s stored (%s), %s new after dedup, %s in %.2f s (%s) [version %d]%n",
            name, Output.bytes(info.size()), Output.bytes(info.storedBytes()), Output.ratio(info.ratio()),
            Output.bytes(snapshot.counter(PipelineMetrics.NEW_STORED_BYTES)),
            Output.count(snapshot.counter(PipelineMetrics.CHUNKS), "chunk"), seconds, Output.rate(info.size(), seconds),
            info.version());
        out.flush();
      }
    }
    return Main.OK;
  }
}
