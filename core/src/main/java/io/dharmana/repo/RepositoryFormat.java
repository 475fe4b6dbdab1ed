package io.dharmana.repo;

import io.dharmana.CorruptDataException;
import io.dharmana.DharmanaException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * The version of a repository's on-disk layout, in {@code REPO/meta/format}, so that a binary
 * refuses a repository written in a layout it does not know instead of misreading it (as Git's
 * {@code core.repositoryformatversion} and Iceberg's {@code format-version} do). Raise {@link
 * #CURRENT} with every change that an older binary would misread, and say what changed below.
 *
 * <ul>
 *   <li>1: every version of a ref in its log, {@code refs/<name>/@v/...}. Repositories made
 *       before this file existed have none and are version 1.
 *   <li>2: a ref's first version beside its name, {@code refs/<parent>/@@<last>} (see {@link
 *       RefStore}); binaries of version 1 do not see such refs.
 *   <li>3: manifests in the tiers beside the chunks, {@code tiers/TIER/.../manifests/<2 hex>/<id>}
 *       (in a packed tier, inside its packs), so that one commit barrier makes a put's chunks and
 *       manifest durable; binaries of version 2 look for them in {@code meta/manifests} only.
 * </ul>
 *
 * <p>A binary reads and writes repositories of every older version, and writes the new way in
 * them (first versions of refs beside their names; manifests in the tiers, while those already
 * in {@code meta/manifests} stay and are read there), so opening one marks it as the current
 * version. Binaries made before this file existed do not look for it: they can still misread a
 * newer repository.
 */
final class RepositoryFormat {
  static final int CURRENT = 3;
  static final String FILE = "format";

  private RepositoryFormat() {}

  /** Writes the current version into a new repository's {@code meta} directory. */
  static void init(Path meta) throws IOException {
    io.dharmana.store.AtomicFile.write(meta.resolve(FILE), CURRENT + "\n");
  }

  /**
   * Checks that this binary knows the layout of the repository whose {@code meta} directory is
   * given, and marks an older one as the current version (only when it can be written: a
   * read-only repository of an older version is read as it is).
   *
   * @throws DharmanaException if the repository's layout is newer than this binary's
   * @throws CorruptDataException if the file holds no version number
   */
  static void check(Path meta) {
    Path file = meta.resolve(FILE);
    int version = read(file);
    if (version > CURRENT) {
      throw new DharmanaException("Cannot open repository " + meta.getParent() + ": its format version is " + version
          + " (" + file + "), and this dharmana reads versions 1 to " + CURRENT + "; use a newer dharmana");
    }
    if (version < CURRENT) {
      try {
        init(meta);
      } catch (IOException e) {
        // a repository this process cannot write is only read, which works at any older version
      }
    }
  }

  /** The version in {@code file}, or 1 when there is none. */
  static int read(Path file) {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8).strip();
    } catch (NoSuchFileException e) {
      return 1;
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read " + file + ": " + e.getMessage(), e);
    }
    if (!text.matches("[1-9][0-9]{0,8}")) {
      throw new CorruptDataException("Invalid repository format version in " + file + ": '"
          + (text.length() > 40 ? text.substring(0, 40) + "..." : text) + "' (expected a whole number such as " + CURRENT + ")");
    }
    return Integer.parseInt(text);
  }
}
