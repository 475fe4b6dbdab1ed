package io.dharmana.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.descriptor.PipelineDescriptor;
import io.dharmana.descriptor.StorageDescriptor;
import io.dharmana.report.RepositoryCost;
import io.dharmana.repo.PutOptions;
import io.dharmana.repo.Repository;
import io.dharmana.stage.StageSpec;
import io.dharmana.tensor.SafetensorsWriter;
import io.dharmana.tensor.Tensor;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Named tensor-coded objects (the gateway's checkpoints bucket, {@code dharmana put}) share the
 * checkpoint pipeline and the {@code checkpoints/} names with checkpoint runs: what the repository
 * represents must count each once, and a bucket's keys are no runs.
 */
class CheckpointAccountingTest {
  @TempDir Path dir;

  private static byte[] safetensors(long seed, int elements) {
    Random random = new Random(seed);
    float[] values = new float[elements];
    for (int i = 0; i < values.length; i++) {
      values[i] = (float) (random.nextGaussian() * 0.02);
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    SafetensorsWriter.write(Map.of(), List.of(Tensor.ofFloats("w", new long[] {elements}, values)), out);
    return out.toByteArray();
  }

  @Test
  void tensorCodedObjectsCountAsPutBesideCheckpointSteps() throws Exception {
    long seed = 20_031;
    try (Repository repo = Repository.init(dir.resolve("repo"), Repository.defaultPipeline())) {
      repo.addPipeline(PipelineDescriptor.of("checkpoints", StorageDescriptor.of(List.of(StageSpec.of("float-split", Map.of())))));
      byte[] step1 = safetensors(seed, 50_000);
      byte[] step2 = safetensors(seed + 1, 50_000);
      long steps;
      try (TensorObjects objects = new TensorObjects(repo, 1 << 30)) {
        // as the gateway names them: bucket "checkpoints", keys run1/step-N/model.safetensors,
        // and one whose key looks like a run's step from afar
        objects.put("checkpoints/run1/step-1/model.safetensors", new ByteArrayInputStream(step1),
            PutOptions.defaults().withPipeline("checkpoints"));
        objects.put("checkpoints/gpt/steps/2/model.safetensors", new ByteArrayInputStream(step2),
            PutOptions.defaults().withPipeline("checkpoints"));
      }
      try (CheckpointManager m = CheckpointManager.open(repo, "gpt")) {
        m.save(1, TestStates.state(seed, 1, 3, 4000), Map.of()).join();
        m.save(2, TestStates.state(seed, 2, 3, 4000), Map.of()).join();
        steps = m.list().stream().mapToLong(CheckpointInfo::logicalBytes).sum();
        assertEquals(List.of(1L, 2L), m.listAll().stream().map(CheckpointInfo::step).toList());
      }
      repo.flush();
      String why = "seed " + seed;
      assertEquals(List.of("gpt"), CheckpointManager.runs(repo), why + ": the bucket's run1/ is not a run");
      var stats = repo.stats();
      long named = step1.length + step2.length;
      long others = stats.logicalBytes() - stats.logicalBytesOf(CheckpointManager.PIPELINE);
      assertEquals(others + named + steps, RepositoryCost.logicalBytes(repo, stats), why);
      RepositoryCost cost = RepositoryCost.of(repo, io.dharmana.cost.PriceTable.defaults());
      assertEquals(others + named + steps, cost.logicalBytes(), why);
      assertTrue(cost.savedBytes() > 0, why + "\n" + cost.toText());
      // the objects are the bucket's pipeline's, though the checkpoint pipeline stores them
      var byPipeline = cost.pipelines().stream().collect(java.util.stream.Collectors.toMap(RepositoryCost.PipelineCost::pipeline, p -> p));
      assertEquals(2, byPipeline.get("checkpoints").objects(), cost.toText());
      assertEquals(named, byPipeline.get("checkpoints").logicalBytes(), cost.toText());
      assertEquals(0, byPipeline.get(CheckpointManager.PIPELINE).objects(), cost.toText());
      assertEquals(2, byPipeline.get(CheckpointManager.PIPELINE).steps(), cost.toText());
      assertEquals(steps, byPipeline.get(CheckpointManager.PIPELINE).logicalBytes(), cost.toText());
      try (var listed = repo.list("checkpoints/")) {
        assertEquals(List.of("checkpoints", "checkpoints"), listed.filter(o -> o.name().endsWith(".safetensors"))
            .map(TensorObjects::asPut).map(io.dharmana.repo.ObjectInfo::pipeline).toList(),
            "listings name the pipeline put to");
      }
    }
  }
}
