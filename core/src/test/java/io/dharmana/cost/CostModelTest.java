package io.dharmana.cost;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.InvalidDescriptorException;
import java.util.List;
import org.junit.jupiter.api.Test;

class CostModelTest {

  @Test
  void pricesTiersAgainstHandComputedFigures() {
    CostReport r = CostModel.defaults().monthly(List.of(
        TierUsage.stored("nvme", "local", null, 1_000_000_000_000L, 3_000_000_000_000L),
        new TierUsage("archive", "s3", "s3-standard-ia", 10_000_000_000_000L, 25_000_000_000_000L,
            100_000, 1_000_000, 500_000_000_000L)));
    // nvme: 1,000 GB × $0.03 = $30 (local tiers default to local-nvme)
    CostReport.Line nvme = r.lines().get(0);
    assertEquals("local-nvme", nvme.priceClass());
    assertEquals(30.0, nvme.total(), 1e-9);
    assertEquals("1,000 GB × $0.03/GB-month = $30.00", nvme.arithmetic());
    // archive: 10,000 GB × $0.0125 = $125; 100 × $0.01 + 1,000 × $0.001 = $2; 500 GB × $0.01 = $5
    CostReport.Line archive = r.lines().get(1);
    assertEquals(125.0, archive.storage(), 1e-9);
    assertEquals(2.0, archive.requests(), 1e-9);
    assertEquals(5.0, archive.retrieval(), 1e-9);
    assertEquals(132.0, archive.total(), 1e-9);
    assertEquals("10,000 GB × $0.0125/GB-month + 100,000 PUT × $0.01/1,000 + 1,000,000 GET × $0.001/1,000"
        + " + 500 GB retrieved × $0.01/GB = $132.00", archive.arithmetic());
    assertEquals(162.0, r.total(), 1e-9);
    // raw: 28,000 GB logical on s3-standard × $0.023 = $644
    assertEquals("s3-standard", r.raw().priceClass());
    assertEquals(644.0, r.raw().total(), 1e-9);
    assertEquals(1 - 162.0 / 644.0, r.savedFraction(), 1e-12);
    String text = r.toText();
    assertTrue(text.contains("total per month") && text.contains("$162.00") && text.contains("$644.00"), text);
    assertTrue(text.contains("saved: 74.8% of raw"), text);
  }

  /** Tiers that cost more than raw storage (incompressible data on a dearer class) say so, not "saved: -x%". */
  @Test
  void tiersDearerThanRawSayHowMuchMore() {
    // 1,000 GB on local NVMe at $0.03 against the same 1,000 GB raw on S3 standard at $0.023
    CostReport r = CostModel.defaults().monthly(List.of(TierUsage.stored("nvme", "local", null, 1_000_000_000_000L,
        1_000_000_000_000L)));
    assertEquals(1 - 30.0 / 23.0, r.savedFraction(), 1e-12);
    String text = r.toText();
    assertTrue(text.contains("costs 30.4% more than raw"), text);
    assertTrue(!text.contains("saved"), text);
  }

  @Test
  void builtInPricesAreThePublicListPrices() {
    PriceTable t = PriceTable.defaults();
    assertEquals(0.023, t.priceClass("s3-standard").storagePerGbMonth());
    assertEquals(0.0125, t.priceClass("s3-standard-ia").storagePerGbMonth());
    assertEquals(0.01, t.priceClass("s3-standard-ia").retrievalPerGb());
    assertEquals(0.004, t.priceClass("s3-glacier-ir").storagePerGbMonth());
    assertEquals(0.03, t.priceClass("s3-glacier-ir").retrievalPerGb());
    assertEquals(0.00099, t.priceClass("s3-deep-archive").storagePerGbMonth());
    assertEquals(0.08, t.priceClass("ebs-gp3").storagePerGbMonth());
    assertEquals(0.14, t.priceClass("fsx-lustre").storagePerGbMonth());
    assertEquals(0.005, t.priceClass("s3-standard").putPer1000());
    assertEquals(0.0004, t.priceClass("s3-standard").getPer1000());
    assertEquals(List.of("ebs-gp3", "fsx-lustre", "local-hdd", "local-nvme", "memory", "s3-deep-archive", "s3-glacier-ir",
        "s3-standard", "s3-standard-ia"), t.names());
    assertEquals("s3-standard", t.defaultClassName("s3"));
    assertEquals("local-nvme", t.defaultClassName("local"));
    assertEquals("memory", t.defaultClassName("memory"));
    // 2.8 TB of checkpoints in deep archive: 2,800 GB × $0.00099 = $2.772
    CostReport r = CostModel.defaults().monthly(List.of(TierUsage.stored("deep", "s3", "s3-deep-archive", 2_800_000_000_000L, 0)));
    assertEquals(2.772, r.total(), 1e-9);
    assertEquals("2,800 GB × $0.00099/GB-month = $2.77", r.lines().get(0).arithmetic());
  }

  @Test
  void loadsOverridesAndNewClassesFromYaml() {
    PriceTable t = PriceTable.parse("""
        classes:
          s3-standard: {storage: 0.021}
          on-prem-ceph: {storage: 0.012, description: our Ceph cluster}
        defaults: {local: local-hdd}
        baseline: on-prem-ceph
        """, "prices.yaml");
    assertEquals(0.021, t.priceClass("s3-standard").storagePerGbMonth());
    assertEquals(0.005, t.priceClass("s3-standard").putPer1000(), "fields left out keep the built-in value");
    assertEquals("our Ceph cluster", t.priceClass("on-prem-ceph").description());
    assertEquals("local-hdd", t.defaultClassName("local"));
    assertEquals("on-prem-ceph", t.baseline().name());
  }

  @Test
  void rejectsBadPriceTables() {
    assertMessage("classes: {s3-standard: {storage: cheap}}", "Invalid price table p.yaml: classes.s3-standard.storage = cheap: must be a number >= 0");
    assertMessage("classes: {s3-standard: {storge: 1}}", "classes.s3-standard.storge: unknown field; allowed are storage");
    assertMessage("classes: {new-class: {put: 1}}", "classes.new-class.storage: must be present for a new class");
    assertMessage("defaults: {tape: local-hdd}", "defaults.tape: unknown tier kind; allowed are [local, memory, s3]");
    assertMessage("defaults: {local: ssd}", "default class 'ssd' of tier kind local is not a class; known classes are ebs-gp3");
    assertMessage("baseline: nope", "baseline 'nope' is not a class");
    assertMessage("prices: {}", "prices: unknown field; allowed fields are classes, defaults, baseline, currency");
    assertMessage("classes: [a", "invalid YAML");
    InvalidDescriptorException e = assertThrows(InvalidDescriptorException.class, () -> PriceTable.defaults().priceClass("s3-glacier"));
    assertTrue(e.getMessage().contains("Invalid price class 's3-glacier': known classes are ebs-gp3, fsx-lustre"), e.getMessage());
  }

  private static void assertMessage(String yaml, String expected) {
    InvalidDescriptorException e = assertThrows(InvalidDescriptorException.class, () -> PriceTable.parse(yaml, "p.yaml"));
    assertTrue(e.getMessage().contains(expected), "expected\n  " + expected + "\nin\n  " + e.getMessage());
  }
}
