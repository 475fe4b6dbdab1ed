package io.dharmana.cli;

import io.dharmana.checkpoint.TensorObjects;
import io.dharmana.metrics.MetricsSnapshot;
import io.dharmana.metrics.PipelineMetrics;
import io.dharmana.repo.ObjectInfo;
import io.dharmana.repo.PutOptions;
import io.dharmana.repo.Repository;
import io.dharmana.runtime.ProgressListener;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "put", mixinStandardHelpOptions = true,
    description = {"Store a file (or standard input) as an object: chunk, encode through the pipeline, deduplicate, commit atomically.",
        "With -r, store every file under a directory, each as NAME/its path under the directory."})
final class PutCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(index = "0", paramLabel = "REPO", description = "Repository directory.")
  Path repo;

  @Parameters(index = "1", paramLabel = "NAME", description = "Object name, e.g. runs/7/data.bin.")
  String name;

  @Parameters(index = "2", paramLabel = "FILE", arity = "0..1",
      description = "File to store; '-' or absent for standard input; with -r, a directory.")
  String file;

  @Option(names = {"-r", "--recursive"}, description = "Store every regular file under the directory FILE as NAME/<its path"
      + " under FILE> (NAME '.' for none), one object each, in name order (each commit is atomic; a failure leaves the files before it stored).")
  boolean recursive;

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
    if (recursive || (!fromStdin && Files.isDirectory(Path.of(file)))) {
      return putTree();
    }
    if (file == null && stdinIsTerminal) {
      // `put repo weights.bin` meant to store the file weights.bin would wait for typed bytes
      throw new IllegalArgumentException("No FILE given and standard input is a terminal: give the file to store"
          + " (dharmana put " + repo + " " + name + " FILE), or pipe the bytes in; '-' reads what you type");
    }
    try (Repository r = Repository.open(repo); CommandTensorObjects tensors = new CommandTensorObjects(r)) {
      long size = fromStdin ? -1 : Files.size(Path.of(file));
      PutOptions options = options().withExpectedSize(size);
      long start = System.nanoTime();
      ObjectInfo info;
      try (InputStream in = fromStdin ? stdin : Files.newInputStream(Path.of(file));
          Progress bar = Progress.start("put " + name, size, progress)) {
        info = put(r, tensors, name, in, options, bar);
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

  /**
   * Stores {@code in} as {@code object}: a .safetensors file going into a float-coding pipeline
   * tensor by tensor, delta-coded against the previous step's, as the gateway stores it.
   */
  private ObjectInfo put(Repository r, CommandTensorObjects tensors, String object, InputStream in, PutOptions options,
      ProgressListener progress) {
    InputStream buffered = new BufferedInputStream(in, 1 << 20);
    if (!TensorObjects.applies(r, pipeline, object)) {
      return r.put(object, buffered, options, progress);
    }
    return TensorObjects.asPut(tensors.tensors().put(object, buffered, options, progress));
  }

  private PutOptions options() {
    PutOptions options = ifAbsent ? PutOptions.ifAbsent() : PutOptions.defaults();
    return pipeline == null ? options : options.withPipeline(pipeline);
  }

  /** {@code put -r}: every regular file under the directory {@code file}, as {@code name/<relative path>}. */
  private int putTree() throws IOException {
    if (!recursive) {
      throw new IllegalArgumentException("Cannot put " + file + ": it is a directory; store every file under it with -r"
          + " (dharmana put -r " + repo + " " + name + " " + file + ")");
    }
    Path dir = file == null || file.equals("-") ? null : Path.of(file);
    if (dir == null || !Files.isDirectory(dir)) {
      throw new IllegalArgumentException("Invalid FILE for -r: " + (dir == null ? "standard input" : file)
          + (dir != null && !Files.exists(dir) ? " does not exist" : " is not a directory") + "; give the directory to store");
    }
    List<Path> files;
    try (Stream<Path> walk = Files.walk(dir)) {
      files = walk.filter(Files::isRegularFile).sorted().toList();
    }
    if (files.isEmpty()) {
      throw new IllegalArgumentException("Cannot put -r " + file + ": it holds no files");
    }
    long total = 0;
    for (Path f : files) {
      total += Files.size(f);
    }
    // "" or "." stores the tree at the top: dir/a.bin as a.bin
    String prefix = name.isEmpty() || name.equals(".") ? "" : name.endsWith("/") ? name : name + "/";
    String shown = prefix.isEmpty() ? "./" : prefix;
    var out = spec.commandLine().getOut();
    List<ObjectInfo> stored = new ArrayList<>();
    long start = System.nanoTime();
    // one cache of decoded files for every file: a put leaves its input there, where the next step's put finds its parent
    try (Repository r = Repository.open(repo); CommandTensorObjects tensors = new CommandTensorObjects(r);
        Progress bar = Progress.start("put " + shown, total, progress)) {
      long[] done = {0};
      for (Path f : files) {
        String object = prefix + StreamSupport.stream(dir.relativize(f).spliterator(), false)
            .map(Path::toString).collect(Collectors.joining("/"));
        long size = Files.size(f);
        ObjectInfo info;
        try (InputStream in = Files.newInputStream(f)) {
          long base = done[0];
          info = put(r, tensors, object, in, options().withExpectedSize(size), (bytes, ignored) -> bar.progress(base + bytes, -1));
        }
        done[0] += size;
        stored.add(info);
        if (!json) {
          out.printf("put %s: %s -> %s stored (%s) [version %d]%n", object, Output.bytes(info.size()),
              Output.bytes(info.storedBytes()), Output.ratio(info.ratio()), info.version());
        }
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      // one recorded run for the whole tree: the pipelines' metrics add up over its puts
      MetricsSnapshot snapshot = r.metrics(stored.get(0).pipeline()).snapshot("put " + shown);
      r.history().append(snapshot);
      long logical = stored.stream().mapToLong(ObjectInfo::size).sum();
      long storedBytes = stored.stream().mapToLong(ObjectInfo::storedBytes).sum();
      if (json) {
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("objects", stored);
        result.put("files", stored.size());
        result.put("bytes", logical);
        result.put("storedBytes", storedBytes);
        result.put("newStoredBytes", snapshot.counter(PipelineMetrics.NEW_STORED_BYTES));
        result.put("seconds", seconds);
        Output.json(out, result);
      } else {
        out.printf("put %s: %s in %s -> %s stored (%s), %s new after dedup, in %.2f s (%s)%n", shown,
            Output.bytes(logical), Output.count(stored.size(), "file"), Output.bytes(storedBytes),
            Output.ratio(storedBytes == 0 ? 1 : (double) logical / storedBytes),
            Output.bytes(snapshot.counter(PipelineMetrics.NEW_STORED_BYTES)), seconds, Output.rate(logical, seconds));
        out.flush();
      }
    }
    return Main.OK;
  }
}
