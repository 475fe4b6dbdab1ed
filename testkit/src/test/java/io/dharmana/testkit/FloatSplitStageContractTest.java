package io.dharmana.testkit;

import io.dharmana.stage.Stage;
import io.dharmana.stage.StageContext;
import io.dharmana.stage.StageSpec;
import io.dharmana.stage.Stages;
import java.util.Map;
import org.junit.jupiter.api.Nested;

/** The stage contract for {@code float-split}: auto in every version (they encode differently), and one explicit dtype. */
class FloatSplitStageContractTest {

  @Nested
  class Auto extends StageContractTest {
    @Override
    protected Stage newStage() {
      return BuiltinStages.create("float-split");
    }
  }

  @Nested
  class AutoVersion1 extends StageContractTest {
    @Override
    protected Stage newStage() {
      return Stages.create(new StageSpec("float-split", 1, Map.of()), StageContext.system());
    }
  }

  @Nested
  class AutoVersion2 extends StageContractTest {
    @Override
    protected Stage newStage() {
      return Stages.create(new StageSpec("float-split", 2, Map.of()), StageContext.system());
    }
  }

  @Nested
  class Fp32 extends StageContractTest {
    @Override
    protected Stage newStage() {
      return BuiltinStages.create("float-split", Map.of("dtype", "f32"));
    }
  }
}
