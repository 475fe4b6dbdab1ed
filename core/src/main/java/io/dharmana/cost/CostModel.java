package io.dharmana.cost;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Monthly cost of storage from plain per-tier byte and request counts and a {@link PriceTable}.
 *
 * <p>For each tier: stored GB × storage price, plus requests per 1,000 × request price, plus
 * retrieved GB × retrieval price (GB = 10^9 bytes). Minimum storage durations are not prorated.
 * The "raw" comparison prices the same logical bytes, uncompressed and undeduplicated, on the
 * table's baseline class (S3 Standard unless the table says otherwise), storage only.
 */
public final class CostModel {
  private final PriceTable prices;

  private CostModel(PriceTable prices) {
    this.prices = Objects.requireNonNull(prices, "prices");
  }

  public static CostModel of(PriceTable prices) {
    return new CostModel(prices);
  }

  /** A model over the built-in prices. */
  public static CostModel defaults() {
    return new CostModel(PriceTable.defaults());
  }

  public PriceTable prices() {
    return prices;
  }

  /** The monthly cost of each tier, their total and the raw comparison. */
  public CostReport monthly(List<TierUsage> usage) {
    List<CostReport.Line> lines = new ArrayList<>();
    long logical = 0;
    for (TierUsage u : usage) {
      PriceClass pc = prices.forTier(u.kind(), u.priceClass());
      double storage = u.storedBytes() / 1e9 * pc.storagePerGbMonth();
      double requests = u.putsPerMonth() / 1000.0 * pc.putPer1000() + u.getsPerMonth() / 1000.0 * pc.getPer1000();
      double retrieval = u.retrievedBytesPerMonth() / 1e9 * pc.retrievalPerGb();
      StringBuilder arithmetic = new StringBuilder()
          .append(Quantities.gigabytes(u.storedBytes())).append(" × ").append(Quantities.price(pc.storagePerGbMonth()))
          .append("/GB-month");
      if (u.putsPerMonth() > 0 && pc.putPer1000() > 0) {
        arithmetic.append(" + ").append(Quantities.grouped(u.putsPerMonth())).append(" PUT × ")
            .append(Quantities.price(pc.putPer1000())).append("/1,000");
      }
      if (u.getsPerMonth() > 0 && pc.getPer1000() > 0) {
        arithmetic.append(" + ").append(Quantities.grouped(u.getsPerMonth())).append(" GET × ")
            .append(Quantities.price(pc.getPer1000())).append("/1,000");
      }
      if (u.retrievedBytesPerMonth() > 0 && pc.retrievalPerGb() > 0) {
        arithmetic.append(" + ").append(Quantities.gigabytes(u.retrievedBytesPerMonth())).append(" retrieved × ")
            .append(Quantities.price(pc.retrievalPerGb())).append("/GB");
      }
      double total = storage + requests + retrieval;
      arithmetic.append(" = ").append(Money.usd(total));
      lines.add(new CostReport.Line(u.tier(), pc.name(), u.storedBytes(), storage, requests, retrieval, total, arithmetic.toString()));
      logical += u.logicalBytes();
    }
    double total = lines.stream().mapToDouble(CostReport.Line::total).sum();
    PriceClass base = prices.baseline();
    double raw = logical / 1e9 * base.storagePerGbMonth();
    String rawArithmetic = Quantities.gigabytes(logical) + " × " + Quantities.price(base.storagePerGbMonth())
        + "/GB-month = " + Money.usd(raw);
    return new CostReport(List.copyOf(lines), total, new CostReport.Raw(base.name(), logical, raw, rawArithmetic));
  }
}
