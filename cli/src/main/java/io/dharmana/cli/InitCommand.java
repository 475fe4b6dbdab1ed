package io.dharmana.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.dharmana.descriptor.DescriptorDiagram;
import io.dharmana.descriptor.Descriptors;
import io.dharmana.descriptor.PipelineDescriptor;
import io.dharmana.repo.Repository;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "init", mixinStandardHelpOptions = true,
    description = "Create a repository: a directory holding its pipeline descriptor, refs, manifests and local tiers.")
final class InitCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(index = "0", paramLabel = "REPO", description = "Directory to create the repository in.")
  Path repo;

  @Option(names = "--pipeline", paramLabel = "FILE",
      description = "Pipeline descriptor (YAML) to use as the default pipeline. Default: cdc chunking, zstd level 3, one local tier.")
  Path pipeline;

  @Option(names = "--json", description = "Print the result as JSON instead of the diagram: repository (absolute path),"
      + " pipeline (its name) and descriptor (the validated descriptor, as 'dharmana describe --json' prints it).")
  boolean json;

  @Override
  public Integer call() throws IOException {
    PipelineDescriptor descriptor = pipeline == null ? Repository.defaultPipeline() : Descriptors.load(pipeline);
    try (Repository r = Repository.init(repo, descriptor)) {
      var out = spec.commandLine().getOut();
      if (json) {
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("repository", repo.toAbsolutePath().toString());
        result.put("pipeline", descriptor.name());
        result.put("descriptor", new ObjectMapper().readTree(Descriptors.toJson(descriptor)));
        Output.json(out, result);
        return Main.OK;
      }
      out.println("Initialized repository " + repo.toAbsolutePath() + " with pipeline '" + descriptor.name() + "'");
      out.println(DescriptorDiagram.render(descriptor, false));
      out.flush();
    }
    return Main.OK;
  }
}
