package io.dharmana.server;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The access keys the gateway accepts, kept in a file with owner-only permissions ({@code rw-------}),
 * one {@code ACCESS_KEY_ID SECRET_KEY} pair a line ('#' starts a comment).
 *
 * <p>{@link #loadOrCreate} generates one pair when the file does not exist, writes it with
 * owner-only permissions from the start (never readable by others, even briefly) and hands it to
 * {@code announce} once, so it can be printed for the user.
 */
public final class AccessKeys {
  private static final String ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  private static final String SECRET_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");

  /** An access key pair. {@link #toString()} does not show the secret. */
  public record AccessKey(String id, String secret) {
    public AccessKey {
      if (id == null || !id.matches("[A-Za-z0-9]{3,128}")) {
        throw new IllegalArgumentException("Invalid access key id '" + id + "': use 3-128 letters and digits");
      }
      if (secret == null || secret.length() < 8 || secret.chars().anyMatch(Character::isWhitespace)) {
        throw new IllegalArgumentException("Invalid secret key for " + id + ": use at least 8 characters, no spaces");
      }
    }

    @Override
    public String toString() {
      return "AccessKey[" + id + "]";
    }
  }

  private final Map<String, AccessKey> keys;

  private AccessKeys(Map<String, AccessKey> keys) {
    this.keys = Map.copyOf(keys);
  }

  public static AccessKeys of(AccessKey... keys) {
    Map<String, AccessKey> map = new LinkedHashMap<>();
    for (AccessKey k : keys) {
      map.put(k.id(), k);
    }
    if (map.isEmpty()) {
      throw new IllegalArgumentException("Invalid access keys: at least one is required");
    }
    return new AccessKeys(map);
  }

  /** Loads the keys in {@code file}, generating and announcing one pair when it does not exist. */
  public static AccessKeys loadOrCreate(Path file, Consumer<AccessKey> announce) {
    try {
      if (!Files.exists(file)) {
        AccessKey generated = generate(new SecureRandom());
        Files.createDirectories(file.toAbsolutePath().getParent());
        try {
          Files.createFile(file, PosixFilePermissions.asFileAttribute(OWNER_ONLY));
          Files.writeString(file, "# Dharmana gateway access keys: ACCESS_KEY_ID SECRET_KEY\n"
              + generated.id() + " " + generated.secret() + "\n", StandardCharsets.UTF_8);
          announce.accept(generated);
          return of(generated);
        } catch (FileAlreadyExistsException raced) {
          // another process created it first: use theirs
        }
      }
      return load(file);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot load or create gateway credentials " + file, e);
    }
  }

  public static AccessKeys load(Path file) {
    try {
      Map<String, AccessKey> map = new LinkedHashMap<>();
      int lineNo = 0;
      for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
        lineNo++;
        String l = line.trim();
        if (l.isEmpty() || l.startsWith("#")) {
          continue;
        }
        String[] parts = l.split("\\s+");
        if (parts.length != 2) {
          throw new IllegalArgumentException("Invalid credentials line " + lineNo + " in " + file + ": expected ACCESS_KEY_ID SECRET_KEY");
        }
        map.put(parts[0], new AccessKey(parts[0], parts[1]));
      }
      if (map.isEmpty()) {
        throw new IllegalArgumentException("Invalid credentials file " + file + ": no access keys");
      }
      return new AccessKeys(map);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read gateway credentials " + file, e);
    }
  }

  static AccessKey generate(SecureRandom random) {
    StringBuilder id = new StringBuilder("DHAR");
    for (int i = 0; i < 16; i++) {
      id.append(ID_ALPHABET.charAt(random.nextInt(ID_ALPHABET.length())));
    }
    StringBuilder secret = new StringBuilder();
    for (int i = 0; i < 40; i++) {
      secret.append(SECRET_ALPHABET.charAt(random.nextInt(SECRET_ALPHABET.length())));
    }
    return new AccessKey(id.toString(), secret.toString());
  }

  /** The secret of {@code id}, or null when the id is unknown. */
  String secret(String id) {
    AccessKey k = keys.get(id);
    return k == null ? null : k.secret();
  }

  /** The first key (the generated one, for a fresh repository). */
  public AccessKey first() {
    return keys.values().iterator().next();
  }
}
