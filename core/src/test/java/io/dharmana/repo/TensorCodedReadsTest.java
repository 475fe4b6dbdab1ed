package io.dharmana.repo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.checkpoint.TensorObjects;
import io.dharmana.descriptor.PipelineDescriptor;
import io.dharmana.descriptor.StorageDescriptor;
import io.dharmana.runtime.ProgressListener;
import io.dharmana.runtime.Verification;
import io.dharmana.tensor.SafetensorsWriter;
import io.dharmana.tensor.Tensor;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * An object {@link TensorObjects} stored tensor-coded is refused by {@link Repository}'s reads by
 * name, with an error that says how to read it: before, they silently gave the tensor file's bytes
 * for the {@code .safetensors} file put. Its stored bytes stay readable by manifest, and gc keeps
 * what its chain needs.
 */
class TensorCodedReadsTest {
  @TempDir Path dir;

  /** A small model's state after {@code step} steps (seeded): one layer trained, one frozen. */
  static byte[] checkpoint(long seed, int step) {
    List<Tensor> tensors = new java.util.ArrayList<>();
    for (int layer = 0; layer < 2; layer++) {
      Random random = new Random(seed + layer);
      float[] w = new float[1 << 15];
      for (int i = 0; i < w.length; i++) {
        w[i] = (float) random.nextGaussian() * 0.02f;
        w[i] -= layer == 0 ? step * 1e-5f * (float) random.nextGaussian() : 0;
      }
      tensors.add(Tensor.ofFloats("layer" + layer, new long[] {128, 256}, w));
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    SafetensorsWriter.write(Map.of(), tensors, out);
    return out.toByteArray();
  }

  @Test
  void readsByNameRefuseATensorCodedObjectAndSayHowToReadIt() throws IOException {
    long seed = 3;
    byte[] step1 = checkpoint(seed, 1);
    byte[] step2 = checkpoint(seed, 2);
    byte[] notSafetensors = "not a safetensors file".getBytes(java.nio.charset.StandardCharsets.UTF_8);
    try (Repository r = Repository.init(dir.resolve("repo"), Repository.defaultPipeline());
        TensorObjects tensors = new TensorObjects(r, TensorObjects.DEFAULT_CACHE_BYTES)) {
      r.addPipeline(PipelineDescriptor.of("floats", StorageDescriptor.builder().stage("float-split", Map.of()).build()));
      PutOptions options = PutOptions.defaults().withPipeline("floats");
      tensors.put("ckpt/step-1.safetensors", new ByteArrayInputStream(step1), options);
      ObjectInfo coded = tensors.put("ckpt/step-2.safetensors", new ByteArrayInputStream(step2), options);
      tensors.put("ckpt/broken.safetensors", new ByteArrayInputStream(notSafetensors), options);
      assertTrue(coded.attributes().containsKey(TensorObjects.BASE), "delta-coded: " + coded.attributes());

      String name = coded.name();
      for (Executable read : List.<Executable>of(
          () -> r.get(name, sink()),
          () -> r.get(name, sink(), ProgressListener.NONE),
          () -> r.get(name, Channels.newChannel(sink()), Verification.CHUNKS, ProgressListener.NONE),
          () -> r.open(name).close(),
          () -> r.open(name, Verification.CHUNKS_AND_ORIGINAL).close(),
          () -> r.openRange(name, 0, 100).close())) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, read);
        assertTrue(e.getMessage().startsWith("Cannot read " + name + " by name: it is stored tensor-coded")
            && e.getMessage().contains("TensorObjects.open"), e.getMessage());
      }

      // as put through TensorObjects; the stored tensor file by manifest
      try (InputStream in = tensors.open(coded.manifestId(), name, 0, Long.MAX_VALUE)) {
        assertArrayEquals(step2, in.readAllBytes());
      }
      try (InputStream in = r.open(r.manifest(coded.manifestId()), name)) {
        assertEquals(coded.size(), in.readAllBytes().length, "the stored tensor file");
      }
      // a file stored as it came (not safetensors) reads by name as before
      ByteArrayOutputStream plain = new ByteArrayOutputStream();
      r.get("ckpt/broken.safetensors", plain);
      assertArrayEquals(notSafetensors, plain.toByteArray());

      // gc keeps the stored bytes a child's chain needs once its parent's name is gone
      r.remove("ckpt/step-1.safetensors");
      r.gc(Duration.ZERO);
    }
    try (Repository r = Repository.open(dir.resolve("repo"));
        TensorObjects cold = new TensorObjects(r, TensorObjects.DEFAULT_CACHE_BYTES);
        InputStream in = cold.open(r.stat("ckpt/step-2.safetensors").orElseThrow().manifestId(), "step 2", 0, Long.MAX_VALUE)) {
      assertArrayEquals(step2, in.readAllBytes());
    }
  }

  private static java.io.OutputStream sink() {
    return java.io.OutputStream.nullOutputStream();
  }
}
