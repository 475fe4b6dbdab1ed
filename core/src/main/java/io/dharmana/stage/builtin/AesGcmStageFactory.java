package io.dharmana.stage.builtin;

import io.dharmana.InvalidDescriptorException;
import io.dharmana.stage.Stage;
import io.dharmana.stage.StageContext;
import io.dharmana.stage.StageSpec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

/**
 * {@code aes-gcm}: encryption at rest with AES-256-GCM, deterministic so that equal chunks still
 * deduplicate (see the stage's documentation for what that reveals). Exactly one of {@code
 * key-env} (an environment variable) or {@code key-file} (a file) must name where the key is,
 * written as 64 hex digits or base64 of 32 bytes; the key itself is never stored beside the data.
 * {@code key-id} is recorded by the stage and checked on decode.
 */
public final class AesGcmStageFactory extends BuiltinStageFactory {
  static final String NAME = "aes-gcm";
  private static final Set<String> PARAMETERS = Set.of("key-env", "key-file", "key-id");

  public AesGcmStageFactory() {
    super(NAME, PARAMETERS,
        "AES-256-GCM encryption at rest, deterministic for dedup (key-env or key-file)");
  }
  private static final String KEY_FORMAT = "64 hex digits or base64 of 32 bytes";
  private static final long MAX_KEY_FILE = 4096;

  @Override
  public Stage create(StageSpec spec, StageContext context) {
    StageParameters params = checkedParameters(spec);
    String env = params.optional("key-env");
    String file = params.optional("key-file");
    String keyId = params.optional("key-id");
    AesGcmKey key;
    Map.Entry<String, String> source;
    if (env != null) {
      String text = context.environment(env).orElseThrow(() -> new InvalidDescriptorException(
          "Invalid stage aes-gcm: parameter key-env is '" + env + "' but that environment variable is not set"));
      key = parseKey(text, "environment variable " + env);
      source = Map.entry("key-env", env);
    } else {
      key = parseKey(readKeyFile(file), "key file " + file);
      source = Map.entry("key-file", file);
    }
    return new AesGcmStage(key, source, keyId, params.version());
  }

  /** Where the key is and its id are checked; the key itself is not read, so this holds on any machine. */
  @Override
  public void checkParameters(StageSpec spec) {
    checkedParameters(spec);
  }

  private StageParameters checkedParameters(StageSpec spec) {
    StageParameters params = StageParameters.of(spec, PARAMETERS, currentVersion());
    String env = params.optional("key-env");
    String file = params.optional("key-file");
    if ((env == null) == (file == null)) {
      throw new InvalidDescriptorException(
          "Invalid stage aes-gcm: exactly one of key-env or key-file must be given, got "
              + (env == null ? "neither" : "both (key-env '" + env + "', key-file '" + file + "')"));
    }
    String keyId = params.optional("key-id");
    if (keyId != null && !keyId.matches("[0-9a-f]{16}")) {
      throw params.invalid("key-id", keyId, "16 lowercase hex digits (the first of the key's SHA-256)");
    }
    return params;
  }

  private static String readKeyFile(String file) {
    try {
      Path path = Path.of(file);
      // a key is under 100 characters; a larger file is a wrong path, not a key to read into memory
      if (Files.size(path) > MAX_KEY_FILE) {
        throw new InvalidDescriptorException(
            "Invalid stage aes-gcm: parameter key-file is '" + file + "', a file of " + Files.size(path)
                + " bytes; a key file holds " + KEY_FORMAT + " (at most " + MAX_KEY_FILE + " bytes)");
      }
      return Files.readString(path, StandardCharsets.US_ASCII);
    } catch (IOException | InvalidPathException e) {
      throw new InvalidDescriptorException(
          "Invalid stage aes-gcm: parameter key-file is '" + file + "' and cannot be read: " + e, e);
    }
  }

  private static AesGcmKey parseKey(String text, String source) {
    AesGcmKey key = AesGcmKey.parse(text);
    if (key == null) {
      // the text may be a near-miss of the real key: never echo it
      throw new InvalidDescriptorException(
          "Invalid stage aes-gcm: the key in " + source + " is not " + KEY_FORMAT + " (" + text.strip().length()
              + " characters)");
    }
    return key;
  }
}
