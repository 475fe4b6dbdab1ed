package io.dharmana.cli;

import io.dharmana.InvalidDescriptorException;
import io.dharmana.checkpoint.TensorObjects;
import io.dharmana.repo.ObjectInfo;
import io.dharmana.repo.Repository;
import io.dharmana.runtime.ProgressListener;
import io.dharmana.runtime.Verification;
import io.dharmana.store.AtomicFile;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "get", mixinStandardHelpOptions = true,
    description = {"Read an object back, verifying every chunk against its id.",
        "With -r, read every object whose name starts with NAME into the directory -o, each at its name's rest."})
final class GetCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(index = "0", paramLabel = "REPO", description = "Repository directory.")
  Path repo;

  @Parameters(index = "1", paramLabel = "NAME", description = "Object name.")
  String name;

  @Option(names = {"-o", "--output"}, paramLabel = "FILE",
      description = "Write to FILE (atomically: a temporary file renamed when complete and verified); a directory (one that"
          + " exists, or FILE ending in '/', made if missing) gets the file named as NAME's last segment, as cp does."
          + " Default (or '-', as put reads '-'): standard output.")
  Path output;

  @Option(names = {"-r", "--recursive"}, description = "Read every object under the prefix NAME (e.g. runs/7/) into the"
      + " directory -o DIR (created if missing), runs/7/a/b.bin as DIR/a/b.bin; each file written atomically.")
  boolean recursive;

  @Option(names = "--verify-original",
      description = "Also check the SHA-256 of the whole decoded object (every chunk is always verified against its id).")
  boolean verifyOriginal;

  @Option(names = "--progress", negatable = true, description = "Show a progress bar (default: on a terminal, for large objects).")
  Boolean progress;

  @Option(names = "--json", description = "Print the result as JSON on standard output instead of the summary on standard"
      + " error: name, version, bytes, seconds, output, chunksVerified (each checked against its id), originalVerified"
      + " (whether the whole object's SHA-256 was checked: with --verify-original, unless it was written without one or"
      + " by a lossy stage), sha256 (empty when not recorded). Needs -o FILE: without it the object's bytes are the output.")
  boolean json;

  private Verification verification() {
    return verifyOriginal ? Verification.CHUNKS_AND_ORIGINAL : Verification.CHUNKS;
  }

  @Override
  public Integer call() throws IOException {
    if (output != null && output.toString().equals("-")) {
      output = null; // as put takes '-' for standard input: not a file named '-'
    }
    if (json && output == null) {
      // checked before the repository is opened: nothing is read for a command line that cannot be served
      throw new InvalidDescriptorException("Invalid --json: the object's bytes go to standard output without -o;"
          + " write them to a file with -o FILE (-o /dev/null to only verify), or leave out --json");
    }
    if (recursive) {
      return getTree();
    }
    if (output != null && OutputFile.namesDirectory(spec, "-o", output)) {
      output = output.resolve(name.substring(name.lastIndexOf('/') + 1));
    }
    try (Repository r = Repository.open(repo); CommandTensorObjects tensors = new CommandTensorObjects(r)) {
      ObjectInfo info = r.stat(name).orElseThrow(() -> new io.dharmana.NotFoundException("Cannot read " + name + ": no such object"));
      long start = System.nanoTime();
      if (output == null) {
        try (Progress bar = Progress.start("get " + name, TensorObjects.asPut(info).size(), progress)) {
          // straight to the file descriptor through a channel: decoded chunks are written from the
          // native buffers they were decoded into, where a stream would copy each into one first
          read(r, tensors, info, new java.io.FileOutputStream(java.io.FileDescriptor.out).getChannel(), bar);
        }
      } else {
        // atomically, with the umask's mode (a temporary file renamed when complete and verified);
        // a device such as /dev/null is written in place
        ObjectInfo[] read = {info};
        OutputFile.write(output, file -> {
          try (Progress bar = Progress.start("get " + name, TensorObjects.asPut(info).size(), progress)) {
            AtomicFile.write(file, channel -> read[0] = read(r, tensors, info, channel, bar));
          }
          return file;
        });
        double seconds = (System.nanoTime() - start) / 1e9;
        // the version read, which a put between the stat above and the read may have replaced
        ObjectInfo got = read[0];
        if (json) {
          Map<String, Object> result = new LinkedHashMap<>();
          result.put("name", got.name());
          result.put("version", got.version());
          result.put("bytes", got.size());
          result.put("seconds", seconds);
          result.put("output", output.toString());
          result.put("chunksVerified", r.manifest(got.manifestId()).chunks().size());
          result.put("originalVerified", verification().checksOriginal(got.lossy(), got.sha256()));
          result.put("sha256", got.sha256());
          Output.json(spec.commandLine().getOut(), result);
        } else {
          spec.commandLine().getErr().printf("get %s: %s in %.2f s (%s) -> %s%n", name, Output.bytes(got.size()), seconds,
              Output.rate(got.size(), seconds), output);
          spec.commandLine().getErr().flush();
        }
      }
      r.history().append(r.metrics(info.pipeline()).snapshot("get " + name));
    }
    return Main.OK;
  }

  /** {@code get -r}: every object under the prefix {@code name}, into the directory {@code output}. */
  private int getTree() throws IOException {
    if (output == null || (java.nio.file.Files.exists(output) && !java.nio.file.Files.isDirectory(output))) {
      throw new InvalidDescriptorException("Invalid -o for -r: " + (output == null ? "missing" : output + " is not a directory")
          + "; give the directory to read the objects into (-o DIR)");
    }
    // one cache of decoded files for every object: each parent of a chain is decoded once
    try (Repository r = Repository.open(repo); CommandTensorObjects tensors = new CommandTensorObjects(r)) {
      List<ObjectInfo> objects;
      try (var listed = r.list(name)) {
        objects = listed.toList();
      }
      if (objects.isEmpty()) {
        throw new io.dharmana.NotFoundException("Cannot read " + name + ": no object's name starts with it");
      }
      // the rest of each name after the prefix's last '/' (runs/7/a/b.bin under runs/7/ is a/b.bin)
      int cut = name.lastIndexOf('/') + 1;
      long total = objects.stream().mapToLong(o -> TensorObjects.asPut(o).size()).sum();
      List<Map<String, Object>> read = new ArrayList<>();
      long start = System.nanoTime();
      try (Progress bar = Progress.start("get " + name, total, progress)) {
        long done = 0;
        for (ObjectInfo o : objects) {
          Path file = output.resolve(o.name().substring(cut));
          java.nio.file.Files.createDirectories(file.getParent());
          long base = done;
          ObjectInfo[] got = {o};
          AtomicFile.write(file, channel -> got[0] = read(r, tensors, o, channel,
              (bytes, ignored) -> bar.progress(base + bytes, -1)));
          done += got[0].size();
          Map<String, Object> one = new LinkedHashMap<>();
          one.put("name", got[0].name());
          one.put("version", got[0].version());
          one.put("bytes", got[0].size());
          one.put("output", file.toString());
          read.add(one);
          if (!json) {
            spec.commandLine().getErr().printf("get %s: %s -> %s%n", o.name(), Output.bytes(got[0].size()), file);
          }
        }
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      if (json) {
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("objects", read);
        result.put("files", read.size());
        result.put("bytes", total);
        result.put("seconds", seconds);
        Output.json(spec.commandLine().getOut(), result);
      } else {
        spec.commandLine().getErr().printf("get %s: %s in %s in %.2f s (%s) -> %s%n", name, Output.bytes(total),
            Output.count(read.size(), "file"), seconds, Output.rate(total, seconds), output);
        spec.commandLine().getErr().flush();
      }
      r.history().append(r.metrics(objects.get(0).pipeline()).snapshot("get " + name));
    }
    return Main.OK;
  }

  /**
   * Writes {@code info}'s object to {@code out}: the current version, or exactly {@code info}'s
   * when it is a tensor-coded checkpoint the gateway stored (decoded here, as the gateway serves it).
   */
  private ObjectInfo read(Repository r, CommandTensorObjects tensors, ObjectInfo info, java.nio.channels.WritableByteChannel out,
      ProgressListener progress) throws IOException {
    if (!info.attributes().containsKey(TensorObjects.CODING)) { // the manifest's attributes: no second read of it
      return r.get(info.name(), out, verification(), progress);
    }
    try (java.io.InputStream in = tensors.tensors().open(info.manifestId(), info.name(), 0, Long.MAX_VALUE)) {
      ObjectInfo asPut = TensorObjects.asPut(info);
      long done = 0;
      byte[] buffer = new byte[1 << 20];
      for (int n; (n = in.read(buffer)) > 0; ) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(buffer, 0, n);
        while (b.hasRemaining()) {
          out.write(b);
        }
        done += n;
        progress.progress(done, asPut.size());
      }
      return asPut;
    }
  }
}
