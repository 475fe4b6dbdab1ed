package io.dharmana.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dharmana.InvalidDescriptorException;
import io.dharmana.NotFoundException;
import io.dharmana.checkpoint.CheckpointInfo;
import io.dharmana.checkpoint.CheckpointManager;
import io.dharmana.checkpoint.CheckpointOptions;
import io.dharmana.checkpoint.RestoredCheckpoint;
import io.dharmana.checkpoint.RetentionPolicy;
import io.dharmana.checkpoint.TensorEntry;
import io.dharmana.descriptor.Durations;
import io.dharmana.metrics.Timestamps;
import io.dharmana.repo.Repository;
import io.dharmana.runtime.ProgressListener;
import io.dharmana.store.AtomicFile;
import io.dharmana.tensor.Safetensors;
import io.dharmana.tensor.SafetensorsFile;
import io.dharmana.tensor.SafetensorsHeader;
import io.dharmana.tensor.SafetensorsWriter;
import io.dharmana.tensor.Tensor;
import io.dharmana.tensor.TensorInfo;
import io.dharmana.tensor.file.TensorPieces;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code dharmana checkpoint}: save, restore, list, prune, verify and diff the checkpoints of a
 * training run (see {@link CheckpointManager}). Safetensors files saved here keep their exact
 * header in the checkpoint's metadata, so a lossless restore writes them back byte-identical.
 */
@Command(name = "checkpoint", mixinStandardHelpOptions = true,
    description = {"Checkpoints of a training run: asynchronous, deduplicated, delta-coded, verified."},
    subcommands = {
      CheckpointCommand.Save.class,
      CheckpointCommand.Restore.class,
      CheckpointCommand.ListSteps.class,
      CheckpointCommand.Prune.class,
      CheckpointCommand.Verify.class,
      CheckpointCommand.Diff.class
    })
final class CheckpointCommand implements Runnable {
  /** Metadata key holding the saved safetensors files' names, tensor prefixes and exact headers. */
  static final String FILES_KEY = "dharmana.safetensors";
  private static final ObjectMapper JSON = new ObjectMapper();

  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** Options every subcommand takes. */
  static final class RunOptions {
    @Parameters(index = "0", paramLabel = "REPO", description = "Repository directory.")
    Path repo;

    @Option(names = "--run", required = true, paramLabel = "NAME", description = "The training run.")
    String run;
  }

  static long step(String text, CheckpointManager m) {
    if (text == null || text.equals("latest")) {
      OptionalLong latest = m.latest();
      return latest.orElseThrow(() -> new NotFoundException("Cannot find a complete checkpoint in run " + m.run()));
    }
    try {
      return Long.parseLong(text);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("Invalid step '" + text + "': must be a number or 'latest'");
    }
  }

  @Command(name = "save", mixinStandardHelpOptions = true,
      description = "Save safetensors files as one rank's shard of a step; returns when committed.")
  static final class Save implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin RunOptions common;

    @Option(names = "--step", required = true, paramLabel = "N", description = "The training step.")
    long step;

    @Option(names = "--rank", defaultValue = "0", paramLabel = "R", description = "This rank (default: ${DEFAULT-VALUE}).")
    int rank;

    @Option(names = "--world", defaultValue = "1", paramLabel = "W", description = "Ranks per step (default: ${DEFAULT-VALUE}).")
    int world;

    @Option(names = "--full-every", defaultValue = "8", paramLabel = "K",
        description = "Store a tensor whole when its delta chain would reach K links (default: ${DEFAULT-VALUE}).")
    int fullEvery;

    @Option(names = "--raw", description = "Store raw bytes, no float coding and no deltas (fastest).")
    boolean raw;

    @Option(names = "--lossy", defaultValue = "none", paramLabel = "none|int8|fp8",
        description = "Quantize fp32 tensors (an approximation, marked lossy; default: ${DEFAULT-VALUE}).")
    String lossy;

    @Option(names = "--meta", paramLabel = "KEY=VALUE", description = "Metadata, e.g. --meta loss=1.23 (retention ranks by it).")
    Map<String, String> meta = new LinkedHashMap<>();

    @Option(names = "--json", description = "Print as JSON.")
    boolean json;

    @Option(names = "--progress", negatable = true,
        description = "Show a progress bar of the tensor bytes stored (default: on a terminal, for large checkpoints).")
    Boolean progress;

    @Parameters(index = "1..*", arity = "1..*", paramLabel = "FILE", description = "safetensors files.")
    List<Path> files;

    @Override
    public Integer call() throws IOException {
      CheckpointOptions options = CheckpointOptions.DEFAULT.withRank(rank, world).withFullEvery(fullEvery);
      if (raw) {
        options = options.withRawBytes();
      }
      options = options.withLossy(lossy);
      List<SafetensorsFile> open = new ArrayList<>();
      try (Repository r = Repository.open(common.repo); CheckpointManager m = CheckpointManager.open(r, common.run, options)) {
        List<Tensor> tensors = new ArrayList<>();
        ArrayNode fileTable = JSON.createArrayNode();
        java.util.Set<String> names = new java.util.HashSet<>();
        for (Path file : files) {
          SafetensorsFile f = Safetensors.open(file);
          open.add(f);
          String fileName = file.getFileName().toString();
          if (!names.add(fileName)) {
            throw new IllegalArgumentException("Invalid files: two are named " + fileName);
          }
          String prefix = files.size() == 1 ? "" : fileName + "/";
          for (TensorInfo info : f.infos()) {
            tensors.addAll(pieces(f, info, prefix));
          }
          fileTable.addObject().put("file", fileName).put("prefix", prefix)
              .put("header", Base64.getEncoder().encodeToString(f.headerBytes()));
        }
        Map<String, String> metadata = new LinkedHashMap<>(meta);
        metadata.put(FILES_KEY, fileTable.toString());
        long t0 = System.nanoTime();
        long blocked;
        CheckpointInfo info;
        try (Progress bar = Progress.start("save " + common.run + "@" + step, tensors.stream().mapToLong(Tensor::byteSize).sum(), progress)) {
          // the files stay mapped and unchanged until the save completes: stored from there, not staged on the heap
          var future = m.saveUnchanging(step, tensors, metadata, bar);
          blocked = System.nanoTime() - t0;
          info = future.join();
        }
        // time per stage in the history, where stat and report show it
        r.history().append(r.metrics(CheckpointManager.PIPELINE).snapshot("checkpoint save " + common.run + "@" + step));
        long total = System.nanoTime() - t0;
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
          Map<String, Object> result = new LinkedHashMap<>();
          result.put("checkpoint", info);
          result.put("blockedSeconds", blocked / 1e9);
          result.put("committedSeconds", total / 1e9);
          Output.json(out, result);
        } else {
          out.printf(Locale.ROOT, "saved %s@%d rank %d/%d: %s, %s logical, %s stored (%s), %s; blocked %.3f s, committed in %.3f s%n",
              common.run, step, rank, world, Output.count(info.tensors(), "tensor"), Output.bytes(info.logicalBytes()),
              Output.bytes(info.storedBytes()), Output.ratio(info.ratio()), info.complete() ? "step complete" : "step waits for other ranks",
              blocked / 1e9, total / 1e9);
        }
        out.flush();
      } finally {
        for (SafetensorsFile f : open) {
          f.close();
        }
      }
      return Main.OK;
    }
  }

  @Command(name = "restore", mixinStandardHelpOptions = true,
      description = "Restore a step, verified, into a directory (the saved safetensors files, byte-identical).")
  static final class Restore implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin RunOptions common;

    @Option(names = "--step", defaultValue = "latest", paramLabel = "N|latest", description = "Step (default: ${DEFAULT-VALUE}).")
    String step;

    @Option(names = "--rank", defaultValue = "0", paramLabel = "R", description = "Rank's shard (default: ${DEFAULT-VALUE}).")
    int rank;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Directory to write into (created).")
    Path out;

    @Option(names = "--json", description = "Print as JSON: run, step, rank, files (path and bytes of each).")
    boolean json;

    @Option(names = "--progress", negatable = true,
        description = "Show a progress bar of the tensor bytes restored (default: on a terminal, for large checkpoints).")
    Boolean progress;

    @Override
    public Integer call() throws IOException {
      try (Repository r = Repository.open(common.repo);
          CheckpointManager m = CheckpointManager.open(r, common.run)) {
        long s = step(step, m);
        Files.createDirectories(out);
        List<Path> written;
        // sized by restore's first report: the shard's tensor table is read once, by restore
        try (Progress bar = Progress.whenTold("restore " + common.run + "@" + s, progress)) {
          written = write(m, s, rank, out, bar);
        }
        r.history().append(r.metrics(CheckpointManager.PIPELINE).snapshot("checkpoint restore " + common.run + "@" + s));
        PrintWriter pw = spec.commandLine().getOut();
        if (json) {
          List<Map<String, Object>> files = new ArrayList<>();
          for (Path p : written) {
            Map<String, Object> file = new LinkedHashMap<>();
            file.put("path", p.toString());
            file.put("bytes", Files.size(p));
            files.add(file);
          }
          Map<String, Object> result = new LinkedHashMap<>();
          result.put("run", common.run);
          result.put("step", s);
          result.put("rank", rank);
          result.put("files", files);
          Output.json(pw, result);
        } else {
          for (Path p : written) {
            pw.printf("restored %s@%d rank %d -> %s%n", common.run, s, rank, p);
          }
        }
        pw.flush();
      }
      return Main.OK;
    }
  }

  /** Marks a piece of a file's tensor in the checkpoint's tensor names: {@code NAME#piece@OFFSET}, its first byte's offset in the tensor. */
  static final String PIECE = "#piece@";
  /**
   * Tensors larger than this are saved in pieces of whole rows of at most this: a restore thread
   * holds a piece's stored and decoded bytes at once, so this is what bounds its heap (with 256 MiB,
   * a 2 GiB heap shared with other work ran out).
   */
  static final long PIECE_BYTES = 64L << 20;

  /**
   * The tensors to save for {@code info} of file {@code f}, named with {@code prefix}: the tensor
   * itself, or, when it is larger than {@link #PIECE_BYTES}, pieces of its rows (views of the
   * mapped file), each saved, deduplicated and delta-coded against the same piece of the previous
   * step as a tensor of its own. So a tensor larger than one buffer (2 GiB) is saved, and the heap
   * a save or restore takes is a piece per thread; restore writes the pieces back in place.
   */
  static List<Tensor> pieces(SafetensorsFile f, TensorInfo info, String prefix) {
    if (info.name().contains(PIECE)) {
      throw new InvalidDescriptorException("Invalid tensor name '" + info.name() + "' in " + f.path() + ": '" + PIECE
          + "' marks the pieces of large tensors in a checkpoint");
    }
    List<TensorPieces.Piece> rows;
    try {
      rows = TensorPieces.of(List.of(info), PIECE_BYTES, PIECE_BYTES); // as .dhz files store large tensors
    } catch (InvalidDescriptorException e) {
      throw new InvalidDescriptorException(e.getMessage() + " (in " + f.path() + ")", e);
    }
    List<Tensor> pieces = new ArrayList<>();
    for (TensorPieces.Piece p : rows) {
      if (p.piece() == p.tensor()) {
        Tensor t = f.tensor(info.name());
        pieces.add(prefix.isEmpty() ? t : Tensor.of(prefix + t.name(), t.dtype(), t.shape(), t.data()));
      } else {
        TensorInfo piece = p.piece();
        pieces.add(Tensor.of(prefix + info.name() + PIECE + p.offset(), piece.dtype(), piece.shape(),
            f.data(info.name(), p.offset(), (int) piece.byteSize())));
      }
    }
    return pieces;
  }

  /**
   * Restores {@code rank}'s shard of {@code step} into {@code dir} as the safetensors files it was
   * saved from, each tensor written to its place as soon as it is restored, so the heap holds a
   * tensor per thread, not the checkpoint; or as one file, whole, if it was saved through the API.
   */
  static List<Path> write(CheckpointManager m, long step, int rank, Path dir, ProgressListener progress) throws IOException {
    String table = m.restoreEach(step, rank, List.of(), ProgressListener.NONE, t -> {}).get(FILES_KEY);
    List<Path> written = new ArrayList<>();
    if (table == null) {
      RestoredCheckpoint restored = m.restore(step, rank, null, progress);
      Path file = dir.resolve(String.format("%s-step%d-rank%d.safetensors", restored.run(), restored.step(), restored.rank()));
      Map<String, String> meta = new LinkedHashMap<>(restored.metadata());
      SafetensorsWriter.write(meta.isEmpty() ? null : meta, restored.tensors(), file);
      written.add(file);
      return written;
    }
    Map<String, Long> sizes = new HashMap<>();
    m.tensors(step, rank).forEach(e -> sizes.put(e.name(), e.byteSize()));
    long total = sizes.values().stream().mapToLong(Long::longValue).sum();
    long[] before = {0}; // bytes of the files restored already: one progress over all of them
    for (JsonNode f : JSON.readTree(table)) {
      String fileName = f.get("file").asText();
      if (fileName.contains("/") || fileName.contains("\\") || fileName.startsWith(".")) {
        throw new InvalidDescriptorException("Invalid file name '" + fileName + "' in checkpoint metadata");
      }
      String prefix = f.get("prefix").asText();
      byte[] header = Base64.getDecoder().decode(f.get("header").asText());
      long dataLength = sizes.entrySet().stream().filter(e -> e.getKey().startsWith(prefix)).mapToLong(Map.Entry::getValue).sum();
      SafetensorsHeader parsed = SafetensorsHeader.parse(header, dataLength);
      Map<String, Long> offsets = new HashMap<>();
      long dataStart = 8L + header.length;
      for (TensorInfo info : parsed.tensors()) {
        String name = prefix + info.name();
        if (sizes.containsKey(name)) {
          offsets.put(name, dataStart + info.begin());
          continue;
        }
        // saved in pieces (see pieces): each goes to its place in the tensor
        List<String> parts = sizes.keySet().stream().filter(n -> n.startsWith(name + PIECE)).toList();
        if (parts.isEmpty()) {
          throw new NotFoundException("Cannot restore " + fileName + ": tensor " + info.name() + " is not in the checkpoint");
        }
        for (String part : parts) {
          offsets.put(part, dataStart + info.begin() + Long.parseLong(part.substring(name.length() + PIECE.length())));
        }
      }
      Path file = dir.resolve(fileName);
      long done = before[0];
      AtomicFile.write(file, channel -> {
        ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length);
        writeFully(channel, length, 0);
        writeFully(channel, ByteBuffer.wrap(header), 8);
        try {
          m.restoreEach(step, rank, offsets.keySet(), (bytes, all) -> progress.progress(done + bytes, total), t -> {
            try {
              writeFully(channel, t.data(), offsets.get(t.name()));
            } catch (IOException e) {
              throw new UncheckedIOException("Cannot write " + file, e);
            }
          });
        } catch (NotFoundException missing) {
          throw new NotFoundException("Cannot restore " + fileName + ": " + missing.getMessage(), missing);
        }
      });
      before[0] += dataLength;
      written.add(file);
    }
    return written;
  }

  /** Writes all of {@code b} at {@code position}: threads restoring tensors write their own places. */
  private static void writeFully(FileChannel channel, ByteBuffer b, long position) throws IOException {
    for (long at = position; b.hasRemaining(); ) {
      at += channel.write(b, at);
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true,
      description = "List a run's steps: sizes logical and stored, ratio, complete or not, durability, lossy or not.")
  static final class ListSteps implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin RunOptions common;

    @Option(names = "--json", description = "Print as JSON.")
    boolean json;

    @Override
    public Integer call() {
      try (Repository r = Repository.open(common.repo);
          CheckpointManager m = CheckpointManager.open(r, common.run)) {
        List<CheckpointInfo> steps = m.listWithDurability();
        long logical = steps.stream().filter(CheckpointInfo::complete).mapToLong(CheckpointInfo::logicalBytes).sum();
        long stored = steps.stream().filter(CheckpointInfo::complete).mapToLong(CheckpointInfo::storedBytes).sum();
        long unique = m.uniqueStoredBytes(steps.stream().filter(CheckpointInfo::complete).map(CheckpointInfo::step).toList());
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
          List<Map<String, Object>> rows = new ArrayList<>();
          for (CheckpointInfo c : steps) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("step", c.step());
            row.put("complete", c.complete());
            row.put("ranks", c.ranks());
            row.put("world", c.world());
            row.put("tensors", c.tensors());
            row.put("logicalBytes", c.logicalBytes());
            row.put("storedBytes", c.storedBytes());
            row.put("ratio", Double.isInfinite(c.ratio()) ? null : c.ratio());
            row.put("durability", c.durability());
            row.put("lossy", c.lossy());
            row.put("created", c.created());
            Map<String, String> meta = new LinkedHashMap<>(c.metadata());
            meta.remove(FILES_KEY);
            row.put("metadata", meta);
            rows.add(row);
          }
          Map<String, Object> result = new LinkedHashMap<>();
          result.put("run", common.run);
          result.put("latest", m.latest().isPresent() ? m.latest().getAsLong() : null);
          result.put("steps", rows);
          result.put("totalLogicalBytes", logical);
          result.put("totalStoredBytes", stored);
          result.put("uniqueStoredBytes", unique);
          Output.json(out, result);
          return Main.OK;
        }
        out.printf("%-12s %-10s %-7s %8s %12s %12s %9s %-16s %-5s %s%n", "STEP", "STATE", "RANKS", "TENSORS", "LOGICAL", "STORED",
            "RATIO", "DURABILITY", "LOSSY", "CREATED");
        for (CheckpointInfo c : steps) {
          out.printf(Locale.ROOT, "%-12d %-10s %-7s %8d %12s %12s %9s %-16s %-5s %s%n", c.step(),
              c.complete() ? "complete" : "partial", c.ranks() + "/" + c.world(), c.tensors(), Output.bytes(c.logicalBytes()),
              Output.bytes(c.storedBytes()), Output.ratio(c.ratio()), c.durability(), c.lossy() ? "yes" : "no",
              Timestamps.toSecond(c.created()));
        }
        out.printf(Locale.ROOT, "total: %s logical, %s stored by the steps, %s unique chunks (%s)%n", Output.bytes(logical),
            Output.bytes(stored), Output.bytes(unique), Output.ratio(unique == 0 ? Double.POSITIVE_INFINITY : (double) logical / unique));
        out.flush();
      }
      return Main.OK;
    }
  }

  @Command(name = "prune", mixinStandardHelpOptions = true,
      description = {"Apply a retention policy (rules combine: a step any rule keeps is kept).",
          "With rule options, they become the run's policy; without, the run's stored policy applies. Data goes at the next gc."})
  static final class Prune implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin RunOptions common;

    @Option(names = "--keep-last", defaultValue = "0", paramLabel = "N", description = "Keep the newest N steps.")
    int keepLast;

    @Option(names = "--keep-every", defaultValue = "0", paramLabel = "K", description = "Keep steps that are multiples of K.")
    long keepEvery;

    @Option(names = "--keep-best", defaultValue = "0", paramLabel = "N", description = "Keep the best N steps by --metric.")
    int keepBest;

    @Option(names = "--metric", paramLabel = "KEY", description = "Metadata key for --keep-best (lower is better, e.g. loss).")
    String metric;

    @Option(names = "--higher-is-better", description = "For --keep-best: a larger metric is better (an accuracy).")
    boolean higherIsBetter;

    @Option(names = "--keep-for", paramLabel = "DURATION", description = "Keep steps younger than this, e.g. 7d.")
    String keepFor;

    @Option(names = "--abandon-after", defaultValue = "1h", paramLabel = "DURATION",
        description = "Remove shards of incomplete steps older than this and than the newest complete step (default: ${DEFAULT-VALUE}).")
    String abandonAfter;

    @Option(names = "--dry-run", description = "Only show what would be removed.")
    boolean dryRun;

    @Option(names = "--json", description = "Print as JSON.")
    boolean json;

    @Override
    public Integer call() {
      try (Repository r = Repository.open(common.repo);
          CheckpointManager m = CheckpointManager.open(r, common.run)) {
        RetentionPolicy given = new RetentionPolicy(keepLast, keepEvery, keepBest, metric, !higherIsBetter,
            keepFor == null ? null : Durations.parse(keepFor));
        RetentionPolicy policy;
        if (given.equals(new RetentionPolicy(0, 0, 0, metric, !higherIsBetter, null))) {
          policy = m.retention().orElseThrow(() -> new IllegalArgumentException("Cannot prune run " + common.run
              + ": it has no retention policy; give one with --keep-last, --keep-every, --keep-best or --keep-for"));
        } else {
          policy = given;
          if (!dryRun) {
            m.retention(policy);
          }
        }
        Duration abandon = Durations.parse(abandonAfter);
        CheckpointManager.PruneResult result = dryRun ? m.planPrune(policy, abandon) : m.prune(policy, abandon);
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
          Map<String, Object> map = new LinkedHashMap<>();
          map.put("dryRun", dryRun);
          map.put("policy", policy);
          map.put("kept", result.kept());
          map.put("removed", result.removed());
          map.put("abandoned", result.abandoned());
          Output.json(out, map);
        } else {
          out.printf("%s %s: kept %s, %s %s, incomplete steps %s %s%n", dryRun ? "would prune" : "pruned", common.run,
              result.kept(), dryRun ? "would remove" : "removed", result.removed(), dryRun ? "would go" : "gone",
              result.abandoned());
          out.flush();
        }
      }
      return Main.OK;
    }
  }

  @Command(name = "verify", mixinStandardHelpOptions = true,
      description = "Re-read every chunk of a step (or every step of the run) and check every tensor's SHA-256.")
  static final class Verify implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin RunOptions common;

    @Option(names = "--step", paramLabel = "N|latest", description = "One step; omit for the whole run.")
    String step;

    @Option(names = "--json", description = "Print as JSON: run, steps (step and tensors verified of each), tensors."
        + " A step that fails is an error (exit code and message), as without --json.")
    boolean json;

    @Override
    public Integer call() {
      try (Repository r = Repository.open(common.repo);
          CheckpointManager m = CheckpointManager.open(r, common.run)) {
        List<Long> steps = step == null ? m.listAll().stream().map(CheckpointInfo::step).toList() : List.of(step(step, m));
        PrintWriter out = spec.commandLine().getOut();
        int tensors = 0;
        List<Map<String, Object>> verified = new ArrayList<>();
        for (long s : steps) {
          int n = m.verify(s);
          tensors += n;
          Map<String, Object> one = new LinkedHashMap<>();
          one.put("step", s);
          one.put("tensors", n);
          verified.add(one);
          if (!json) {
            out.printf("verified %s@%d: %s ok%n", common.run, s, Output.count(n, "tensor"));
          }
        }
        if (json) {
          Map<String, Object> result = new LinkedHashMap<>();
          result.put("run", common.run);
          result.put("steps", verified);
          result.put("tensors", tensors);
          Output.json(out, result);
        } else {
          out.printf("verified %s, %s: every chunk and tensor hash matches%n", Output.count(steps.size(), "step"),
              Output.count(tensors, "tensor"));
        }
        out.flush();
      }
      return Main.OK;
    }
  }

  @Command(name = "diff", mixinStandardHelpOptions = true,
      description = "Per tensor: changed between two steps or not, and how the second stores it (delta size).")
  static final class Diff implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin RunOptions common;

    @Option(names = "--from", required = true, paramLabel = "N") String from;

    @Option(names = "--to", defaultValue = "latest", paramLabel = "N|latest") String to;

    @Option(names = "--rank", defaultValue = "0", paramLabel = "R") int rank;

    @Option(names = "--json", description = "Print as JSON.")
    boolean json;

    @Override
    public Integer call() {
      try (Repository r = Repository.open(common.repo);
          CheckpointManager m = CheckpointManager.open(r, common.run, CheckpointOptions.DEFAULT.withRank(rank, rank + 1))) {
        long a = step(from, m);
        long b = step(to, m);
        List<CheckpointManager.TensorDiff> diffs = m.diff(a, b);
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
          Output.json(out, diffs);
          return Main.OK;
        }
        int changed = 0;
        for (CheckpointManager.TensorDiff d : diffs) {
          TensorEntry e = d.to();
          String how = e == null ? "removed" : e.encoding().name().toLowerCase(Locale.ROOT)
              + (e.encoding() == TensorEntry.Encoding.DELTA ? " against " + e.baseStep() : "");
          out.printf(Locale.ROOT, "%-9s %-50s %-24s %12s%n", !d.inFrom() ? "added" : d.changed() ? "changed" : "same",
              d.name(), how, e == null ? "-" : Output.bytes(e.storedBytes()));
          changed += d.changed() ? 1 : 0;
        }
        out.printf("%d of %s changed from %d to %d%n", changed, Output.count(diffs.size(), "tensor"), a, b);
        out.flush();
      }
      return Main.OK;
    }
  }
}
