package io.dharmana.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * What this JVM holds of a file, from Linux's {@code /proc/self}: a deleted file's disk space is
 * freed only once no descriptor and no mapping of it is left. Tests that use it assume {@code /proc}.
 */
public final class OpenFiles {
  private OpenFiles() {}

  /** The open descriptors and mappings of this JVM that name {@code fileName}. */
  public static List<String> held(String fileName) throws IOException {
    List<String> held = new ArrayList<>();
    try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
      for (Path fd : fds.toList()) {
        try {
          held.add("descriptor " + Files.readSymbolicLink(fd));
        } catch (IOException closedMeanwhile) {
          // the listing's own descriptor
        }
      }
    }
    Files.readAllLines(Path.of("/proc/self/maps")).forEach(line -> held.add("mapping " + line));
    return held.stream().filter(h -> h.contains(fileName)).toList();
  }

  /**
   * {@link #held} once nothing more is let go within {@code patience}: a mapping goes when the
   * collector has freed its buffer, and a background task lets go on its own schedule.
   */
  public static List<String> heldAfter(String fileName, Duration patience) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + patience.toNanos();
    while (!held(fileName).isEmpty() && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    return held(fileName);
  }
}
