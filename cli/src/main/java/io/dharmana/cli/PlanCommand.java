package io.dharmana.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.ser.std.ToStringSerializer;
import io.dharmana.cost.PlanAssumptions;
import io.dharmana.cost.Planner;
import io.dharmana.cost.PriceTable;
import io.dharmana.cost.StoragePlan;
import io.dharmana.descriptor.ComputationDescriptor;
import io.dharmana.descriptor.Descriptors;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code dharmana plan FILE.yaml}: from a computation alone (a pipeline descriptor or a bare
 * {@code computation:} document), what the storage must deliver and what it costs, every figure
 * with its arithmetic. Exit code 0, 2 for an invalid descriptor or price table, 3 when a file does
 * not exist, 1 when one cannot be read.
 */
@Command(
    name = "plan",
    mixinStandardHelpOptions = true,
    description = "Say what a computation needs from storage: read and checkpoint bandwidth, capacity, and the storage"
        + " class per ML stage with monthly costs, each figure with its arithmetic.")
public final class PlanCommand implements Callable<Integer> {

  @Parameters(index = "0", paramLabel = "FILE.yaml", description = "A pipeline descriptor or a file with a computation: block.")
  private Path file;

  @Option(names = "--prices", paramLabel = "FILE", description = "A price table (YAML) laid over the built-in list prices.")
  private Path prices;

  @Option(names = "--stall", paramLabel = "FRACTION", defaultValue = "0.05",
      description = "Share of the checkpoint interval a blocking save may stall training (default: ${DEFAULT-VALUE}).")
  private double stall;

  @Option(names = "--retain", paramLabel = "N", defaultValue = "3",
      description = "Checkpoints kept at once (default: ${DEFAULT-VALUE}).")
  private int retain;

  @Option(names = "--json", description = "Print the plan as JSON.")
  private boolean json;

  @Spec
  private CommandSpec spec;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    // errors go to Main, which prints them as every command's are: "dharmana plan: Invalid descriptor ..."
    ComputationDescriptor computation = Descriptors.loadComputation(file);
    PriceTable table = prices == null ? PriceTable.defaults() : PriceTable.load(prices);
    PlanAssumptions assumptions = PlanAssumptions.DEFAULT.withStallFraction(stall).withRetainedCheckpoints(retain);
    StoragePlan plan = Planner.plan(computation, table, assumptions);
    out.print(json ? toJson(plan) + "\n" : plan.toText());
    out.flush();
    return Main.OK;
  }

  private static String toJson(StoragePlan plan) {
    ObjectMapper mapper = JsonMapper.builder()
        // durations as ISO-8601 (PT30M), without pulling in the java.time module for one type
        .addModule(new SimpleModule().addSerializer(java.time.Duration.class, ToStringSerializer.instance))
        .enable(SerializationFeature.INDENT_OUTPUT)
        .build();
    try {
      return mapper.writeValueAsString(plan);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("Cannot write plan as JSON: " + e.getMessage(), e);
    }
  }
}
