package io.dharmana.descriptor;

import io.dharmana.stage.Stage;
import io.dharmana.stage.StageContext;
import io.dharmana.stage.StageFactory;
import io.dharmana.stage.StageSpec;
import java.util.Set;

/**
 * Two tiny stages registered for these tests only (names prefixed {@code test-} so they never
 * clash with the built-in stages): an identity stage with parameters and a lossy one.
 */
public final class TestStages {
  private TestStages() {}

  /** Identity with two accepted parameters. */
  public static final class Identity implements StageFactory {
    @Override
    public String name() {
      return "test-identity";
    }

    @Override
    public int currentVersion() {
      return 1;
    }

    @Override
    public Set<String> parameterNames() {
      return Set.of("level", "width");
    }

    @Override
    public String description() {
      return "passes bytes through unchanged (test stage)";
    }

    @Override
    public Stage create(StageSpec spec, StageContext context) {
      return new PassThrough(spec, false);
    }
  }

  /** Declares itself lossy, for the diagram's mark. */
  public static final class Lossy implements StageFactory {
    @Override
    public String name() {
      return "test-lossy";
    }

    @Override
    public int currentVersion() {
      return 1;
    }

    @Override
    public Set<String> parameterNames() {
      return Set.of("bits");
    }

    @Override
    public boolean lossy() {
      return true;
    }

    @Override
    public String description() {
      return "pretends to quantize (test stage)";
    }

    @Override
    public Stage create(StageSpec spec, StageContext context) {
      return new PassThrough(spec, true);
    }
  }

  private record PassThrough(StageSpec spec, boolean lossy) implements Stage {
    @Override
    public String name() {
      return spec.name();
    }

    @Override
    public int version() {
      return 1;
    }

    @Override
    public byte[] encode(byte[] input, int offset, int length) {
      return java.util.Arrays.copyOfRange(input, offset, offset + length);
    }

    @Override
    public byte[] decode(byte[] encoded) {
      return encoded.clone();
    }
  }
}
