package io.dharmana.tensor.lossy;

import io.dharmana.CorruptDataException;
import io.dharmana.InvalidDescriptorException;
import io.dharmana.stage.Stage;
import io.dharmana.stage.StageContext;
import io.dharmana.stage.StageFactory;
import io.dharmana.stage.StageSpec;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Map;
import java.util.Set;

/**
 * The {@code quantize} stage: treats its input as little-endian fp32 values and stores each as one
 * byte with a per-block scale ({@link BlockQuantizer}). Lossy and opt-in.
 *
 * <p>Parameters: {@code format} ({@code int8}, the default, or {@code fp8}) and {@code block}
 * (values per scale, default {@value BlockQuantizer#DEFAULT_BLOCK}). Input length must be a
 * multiple of 4 and every value finite.
 */
public final class QuantizeStageFactory implements StageFactory {
  public static final String NAME = "quantize";

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public int currentVersion() {
    return 1;
  }

  @Override
  public Set<String> parameterNames() {
    return Set.of("format", "block");
  }

  @Override
  public boolean lossy() {
    return true;
  }

  @Override
  public String description() {
    return "lossy: fp32 to int8 or fp8 E4M3 with one absmax scale per block (params format=int8|fp8, block=256)";
  }

  @Override
  public Stage create(StageSpec spec, StageContext context) {
    if (spec.version() > currentVersion()) {
      throw new InvalidDescriptorException(
          "Invalid stage quantize: version " + spec.version() + " is newer than " + currentVersion());
    }
    for (String key : spec.params().keySet()) {
      if (!parameterNames().contains(key)) {
        throw new InvalidDescriptorException("Invalid parameter '" + key + "' of stage quantize: allowed are format, block");
      }
    }
    BlockQuantizer.Format format = BlockQuantizer.Format.parse(spec.param("format", "int8"));
    String blockText = spec.param("block", Integer.toString(BlockQuantizer.DEFAULT_BLOCK));
    int block;
    try {
      block = Integer.parseInt(blockText);
    } catch (NumberFormatException e) {
      throw new InvalidDescriptorException(
          "Invalid parameter block='" + blockText + "' of stage quantize: must be an integer from 1 to " + BlockQuantizer.MAX_BLOCK);
    }
    BlockQuantizer quantizer = BlockQuantizer.of(format, block);
    StageSpec recorded = new StageSpec(NAME, currentVersion(), Map.of("format", format.id(), "block", Integer.toString(block)));
    return new QuantizeStage(quantizer, recorded);
  }

  private record QuantizeStage(BlockQuantizer quantizer, StageSpec spec) implements Stage {

    @Override
    public boolean lossy() {
      return true;
    }

    @Override
    public byte[] encode(byte[] input, int offset, int length) {
      if (length % 4 != 0) {
        throw new InvalidDescriptorException(
            "Invalid input of stage quantize: " + length + " bytes is not a whole number of fp32 values");
      }
      return quantizer.encode(ByteBuffer.wrap(input, offset, length).slice().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer());
    }

    @Override
    public byte[] decode(byte[] encoded) {
      int count = BlockQuantizer.count(encoded);
      if (count > (Integer.MAX_VALUE - 8) / 4) {
        throw new CorruptDataException("Cannot dequantize " + count + " values: too many for one array");
      }
      byte[] out = new byte[count * 4];
      quantizer.decode(encoded, ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer());
      return out;
    }
  }
}
