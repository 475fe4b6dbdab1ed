package io.dharmana.stage;

import io.dharmana.InvalidDescriptorException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.TreeMap;

/** The stage registry: every {@link StageFactory} found through {@link ServiceLoader}. */
public final class Stages {
  private static final Map<String, StageFactory> FACTORIES = load();

  private Stages() {}

  private static Map<String, StageFactory> load() {
    Map<String, StageFactory> byName = new TreeMap<>();
    for (StageFactory factory : ServiceLoader.load(StageFactory.class, Stages.class.getClassLoader())) {
      StageFactory previous = byName.putIfAbsent(factory.name(), factory);
      if (previous != null && previous.getClass() != factory.getClass()) {
        throw new IllegalStateException(
            "Cannot register stage " + factory.name() + ": both " + previous.getClass().getName()
                + " and " + factory.getClass().getName() + " claim it");
      }
    }
    return Collections.unmodifiableMap(byName);
  }

  /** Names of all registered stages, sorted. */
  public static List<String> names() {
    return new ArrayList<>(FACTORIES.keySet());
  }

  public static boolean exists(String name) {
    return FACTORIES.containsKey(name);
  }

  /**
   * The factory registered under {@code name}.
   *
   * @throws InvalidDescriptorException naming the registered stages when there is none
   */
  public static StageFactory factory(String name) {
    StageFactory factory = FACTORIES.get(name);
    if (factory == null) {
      throw new InvalidDescriptorException(
          "Invalid stage '" + name + "': no such stage; known stages: " + String.join(", ", FACTORIES.keySet()));
    }
    return factory;
  }

  /** Creates the stage a spec describes; version 0 means the factory's current version. */
  public static Stage create(StageSpec spec, StageContext context) {
    StageFactory factory = factory(spec.name());
    StageSpec resolved = spec.version() == 0 ? spec.withVersion(factory.currentVersion()) : spec;
    if (resolved.version() > factory.currentVersion()) {
      throw new InvalidDescriptorException(
          "Invalid stage " + spec.name() + ": format version " + resolved.version()
              + " is newer than this build reads (up to " + factory.currentVersion() + ")");
    }
    return factory.create(resolved, context);
  }

  /** Creates a chain of stages, applied in list order on encode and in reverse on decode. */
  public static StageChain chain(List<StageSpec> specs, StageContext context) {
    List<Stage> stages = new ArrayList<>(specs.size());
    for (StageSpec spec : specs) {
      stages.add(create(spec, context));
    }
    return new StageChain(stages);
  }
}
