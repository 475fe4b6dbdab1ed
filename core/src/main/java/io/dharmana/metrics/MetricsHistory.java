package io.dharmana.metrics;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.module.SimpleModule;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The metrics of past runs, kept with the repository as one JSON line per run in {@code
 * metrics/history.jsonl}. Appends are single writes of one line with O_APPEND, so concurrent
 * processes do not interleave within a line; a line torn by a crash is skipped on read.
 */
public final class MetricsHistory {
  static final ObjectMapper JSON = new ObjectMapper()
      .registerModule(new SimpleModule()
          .addSerializer(Instant.class, instantsAs(Instant::toString))
          .addDeserializer(Instant.class, new JsonDeserializer<>() {
            @Override
            public Instant deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
              return Instant.parse(p.getValueAsString());
            }
          }))
      .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

  /** The history's mapper, but with times as {@link Timestamps#toMillisecond}: what {@code --json} prints. */
  private static final ObjectMapper SHOWN = JSON.copy()
      .registerModule(new SimpleModule().addSerializer(Instant.class, instantsAs(Timestamps::toMillisecond)));

  private static JsonSerializer<Instant> instantsAs(java.util.function.Function<Instant, String> format) {
    return new JsonSerializer<>() {
      @Override
      public void serialize(Instant value, JsonGenerator gen, SerializerProvider serializers) throws IOException {
        gen.writeString(format.apply(value));
      }
    };
  }

  private final Path dir;

  public MetricsHistory(Path dir) {
    this.dir = dir;
  }

  public Path file() {
    return dir.resolve("history.jsonl");
  }

  public void append(MetricsSnapshot snapshot) {
    try {
      Files.createDirectories(dir);
      byte[] line = (JSON.writeValueAsString(snapshot) + "\n").getBytes(StandardCharsets.UTF_8);
      Files.write(file(), line, StandardOpenOption.CREATE, StandardOpenOption.APPEND, StandardOpenOption.WRITE);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot record metrics in " + file() + ": " + e.getMessage(), e);
    }
  }

  /** Every recorded run, oldest first. */
  public List<MetricsSnapshot> read() {
    List<MetricsSnapshot> runs = new ArrayList<>();
    if (!Files.exists(file())) {
      return runs;
    }
    try {
      for (String line : Files.readAllLines(file(), StandardCharsets.UTF_8)) {
        if (line.isBlank()) {
          continue;
        }
        try {
          runs.add(JSON.readValue(line, MetricsSnapshot.class));
        } catch (IOException torn) {
          // a line cut short by a crash; the rest of the history is still good
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read metrics history " + file() + ": " + e.getMessage(), e);
    }
    return runs;
  }

  /**
   * JSON of a value for {@code --json} outputs: as the history writes it, except that times are to
   * the millisecond ({@link Timestamps#toMillisecond}), not the recorded nanoseconds.
   */
  public static String toJson(Object value) {
    try {
      return SHOWN.writerWithDefaultPrettyPrinter().writeValueAsString(value);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
