package io.dharmana.testkit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.dharmana.InvalidDescriptorException;
import io.dharmana.stage.Stage;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class BytePlanesStageTest {

  static Stage planes(int width) {
    return BuiltinStages.create("byte-planes", Map.of("width", Integer.toString(width)));
  }

  @Nested
  class Width1 extends StageContractTest {
    @Override
    protected Stage newStage() {
      return planes(1);
    }
  }

  @Nested
  class Width2 extends StageContractTest {
    @Override
    protected Stage newStage() {
      return planes(2);
    }
  }

  @Nested
  class Width3 extends StageContractTest {
    @Override
    protected Stage newStage() {
      return planes(3);
    }
  }

  @Nested
  class DefaultWidth4 extends StageContractTest {
    @Override
    protected Stage newStage() {
      return BuiltinStages.create("byte-planes");
    }
  }

  @Nested
  class Width8 extends StageContractTest {
    @Override
    protected Stage newStage() {
      return planes(8);
    }
  }

  @Nested
  class Width16 extends StageContractTest {
    @Override
    protected Stage newStage() {
      return planes(16);
    }
  }

  @Test
  void putsByteIOfEveryValueInPlaneIAndKeepsTheTail() {
    byte[] input = {0x10, 0x11, 0x12, 0x13, 0x20, 0x21, 0x22, 0x23, 0x30, 0x31, 0x32, 0x33, 0x40, 0x41};
    byte[] expected = {0x10, 0x20, 0x30, 0x11, 0x21, 0x31, 0x12, 0x22, 0x32, 0x13, 0x23, 0x33, 0x40, 0x41};
    assertArrayEquals(expected, planes(4).encode(input));
  }

  /** The specialised widths must lay planes out exactly as the general loop does. */
  @ParameterizedTest
  @ValueSource(ints = {1, 2, 3, 4, 5, 7, 8, 9, 16})
  void layoutMatchesTheDefinitionForEveryWidth(int width) {
    Random random = new Random(width);
    for (int length : new int[] {0, 1, width - 1, width, width + 1, 1000, 4099}) {
      if (length < 0) {
        continue;
      }
      byte[] input = StageInputs.randomBytes(random, length);
      int count = length / width;
      byte[] expected = input.clone();
      for (int i = 0; i < count; i++) {
        for (int b = 0; b < width; b++) {
          expected[b * count + i] = input[i * width + b];
        }
      }
      assertArrayEquals(expected, planes(width).encode(input), "seed " + width + ", width " + width + ", length " + length);
    }
  }

  @Test
  void rejectsWidthsOutside1To16() {
    for (String width : new String[] {"0", "17", "-4", "four"}) {
      InvalidDescriptorException e = assertThrows(InvalidDescriptorException.class,
          () -> BuiltinStages.create("byte-planes", Map.of("width", width)));
      assertEquals("Invalid stage byte-planes: parameter width is '" + width + "'; allowed: an integer from 1 to 16", e.getMessage());
    }
  }

  @Test
  void keepsTheLength() {
    assertEquals(4099, planes(4).encode(new byte[4099]).length);
  }
}
