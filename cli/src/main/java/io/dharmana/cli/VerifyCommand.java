package io.dharmana.cli;

import io.dharmana.repo.Repository;
import io.dharmana.repo.VerifyResult;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "verify", mixinStandardHelpOptions = true,
    description = {"Check every copy, in every tier, of the manifests and chunks objects need against its SHA-256 id:"
        + " bit rot is found before a read needs the data.",
        "Exit code 0 when every copy is good (or was repaired), 1 otherwise; --repair replaces a damaged copy with a good one"
            + " another tier holds."})
final class VerifyCommand implements Callable<Integer> {
  /** Blobs from which a check takes long enough for a bar by default. */
  private static final long WORTH_SHOWING = 2_000;
  /** Problems listed in text; --json lists them all. */
  private static final int SHOWN = 20;

  @Spec CommandSpec spec;

  @Parameters(index = "0", paramLabel = "REPO", description = "Repository directory.")
  Path repo;

  @Parameters(index = "1", arity = "0..1", paramLabel = "PREFIX", defaultValue = "",
      description = "Check only the objects whose names start with this (default: all); one that no name starts with"
          + " is not found (exit 3).")
  String prefix;

  @Option(names = "--repair", description = "Replace each damaged copy with a good copy another tier holds.")
  boolean repair;

  @Option(names = "--json", description = "Print the result as JSON: counts, problems (kind, object, blob, tier, detail, repaired).")
  boolean json;

  @Option(names = "--progress", negatable = true,
      description = "Show on stderr the manifests and chunks checked (default: on a terminal, for large repositories).")
  Boolean progress;

  @Override
  public Integer call() {
    VerifyResult result;
    try (Repository r = Repository.open(repo);
        Progress bar = Progress.counting("verify", " blobs", WORTH_SHOWING, progress)) {
      result = r.verify(prefix, repair, bar);
    }
    if (!prefix.isEmpty() && result.objects() == 0) {
      // as rm -r answers it: a mistyped prefix checked nothing, which is not "sound"
      throw new io.dharmana.NotFoundException("Cannot verify " + prefix + ": no object's name starts with it (nothing was checked)");
    }
    PrintWriter out = spec.commandLine().getOut();
    if (json) {
      java.util.Map<String, Object> fields = new java.util.LinkedHashMap<>();
      fields.put("objects", result.objects());
      fields.put("manifests", result.manifests());
      fields.put("chunks", result.blobs() - result.manifests());
      fields.put("copies", result.copies());
      fields.put("bytesRead", result.bytesRead());
      fields.put("unreachableTiers", result.unreachableTiers());
      fields.put("readable", result.readable());
      fields.put("sound", result.sound());
      fields.put("problems", result.problems());
      Output.json(out, fields);
    } else {
      out.printf("verified %s: %s and %s, %s read (%s)%s%n", Output.count(result.objects(), "object"),
          Output.count(result.manifests(), "manifest"), Output.count(result.blobs() - result.manifests(), "chunk"),
          Output.count(result.copies(), "copy", "copies"), Output.bytes(result.bytesRead()),
          result.unreachableTiers().isEmpty() ? "" : "; tiers " + result.unreachableTiers() + " could not be read: their copies are unchecked");
      result.problems().stream().limit(SHOWN).forEach(p -> out.printf("%-8s %s%s (object %s): %s%s%n",
          p.kind().name().toLowerCase(java.util.Locale.ROOT).replace('_', ' '), p.blob(), p.tier() == null ? "" : " in tier " + p.tier(),
          p.object(), p.detail(), p.kind() != VerifyResult.Kind.DAMAGED_COPY ? "" : p.repaired() ? "; repaired" : "; --repair replaces it"));
      if (result.problems().size() > SHOWN) {
        out.printf("... and %d more (--json lists them all)%n", result.problems().size() - SHOWN);
      }
      out.println(result.sound() ? "sound: every copy checked is good" + (result.problems().isEmpty() ? "" : " now")
          : result.readable() ? "readable, but damaged copies remain: run with --repair"
          : "NOT READABLE: objects above have lost or missing data");
    }
    out.flush();
    return result.sound() ? Main.OK : Main.FAILED;
  }
}
