package io.dharmana.server;

import io.dharmana.repo.Repository;
import java.nio.file.Files;
import java.nio.file.Path;

/** Starts a gateway on a repository for manual and script tests: DevServer REPO PORT ACCESS_KEY SECRET. */
public final class DevServer {
  private DevServer() {}

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    Repository repository = Files.exists(dir.resolve(Repository.DESCRIPTOR_FILE))
        ? Repository.open(dir) : Repository.init(dir, Repository.defaultPipeline());
    Gateway g = Gateway.builder(new RepositoryBackend(repository), dir.resolve("gateway")).port(Integer.parseInt(args[1]))
        .accessKeys(AccessKeys.of(new AccessKeys.AccessKey(args[2], args[3]))).start();
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      g.close();
      repository.close();
    }));
    System.out.println("listening on " + g.endpoint());
    Thread.currentThread().join();
  }
}
