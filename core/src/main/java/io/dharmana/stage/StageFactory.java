package io.dharmana.stage;

import java.util.Set;

/**
 * Creates stages of one name. Registered through {@link java.util.ServiceLoader} in {@code
 * META-INF/services/io.dharmana.stage.StageFactory}; the name is written beside the data, so a
 * factory must keep decoding every version it ever wrote.
 */
public interface StageFactory {

  /** The name this factory answers to in descriptors and manifests. */
  String name();

  /** The format version new data is written with. */
  int currentVersion();

  /** The parameter names this stage accepts, for validation messages. */
  Set<String> parameterNames();

  /** Whether stages of this kind are lossy (known without creating one, for validation). */
  default boolean lossy() {
    return false;
  }

  /** One line describing the stage, for {@code --help} and diagrams. */
  String description();

  /**
   * Creates a stage for {@code spec}. A spec with version 0 means the current version.
   *
   * @throws io.dharmana.InvalidDescriptorException naming the parameter, the value and what is
   *     allowed, when a parameter is unknown or invalid
   */
  Stage create(StageSpec spec, StageContext context);

  /**
   * Checks {@code spec}'s parameter values as {@link #create} does, without what create takes from
   * the machine it runs on (a key): what validating a descriptor can check on any machine. By
   * default it creates the stage, which for most stages only reads the parameters.
   *
   * @throws io.dharmana.InvalidDescriptorException as {@link #create} does
   */
  default void checkParameters(StageSpec spec) {
    create(spec, StageContext.system());
  }
}
