package io.dharmana.cost;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class QuantitiesTest {

  @ParameterizedTest
  @CsvSource({"368e9, 368 GB", "2.8e12, 2.8 TB", "115000, 115 KB", "999, 999 B", "999.6, 1 KB", "31.1111e9, 31.1 GB",
      "0, 0 B", "1.5556e9, 1.56 GB", "6.664e14, 666 TB"})
  void bytesInSiUnits(double bytes, String text) {
    assertEquals(text, Quantities.bytes(bytes));
  }

  @ParameterizedTest
  @CsvSource({"PT0.01S, 10 ms", "PT0.85S, 850 ms", "PT30M, 30 min", "PT1H, 60 min", "PT2H, 2 h", "PT168H, 7 d",
      "PT90S, 90 s", "PT0.00025S, 250 µs"})
  void durationsPeopleSay(String iso, String text) {
    assertEquals(text, Quantities.duration(Duration.parse(iso)));
  }

  /** One format for all amounts: before, the report wrote $0.009038 beside the cost report's $0.01 (of $0.0114). */
  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {"64.4|$64.40", "1234.567|$1,234.57", "0.0028|$0.0028", "0|$0.00", "453174.71|$453,174.71",
      "0.0114|$0.011", "0.009038|$0.0090", "0.000009|$0.0000090", "0.5|$0.50", "0.996|$1.00", "1|$1.00", "NaN|-"})
  void dollars(double value, String text) {
    assertEquals(text, Money.usd(value));
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {"0.023|$0.023", "0.00099|$0.00099", "0.14|$0.14", "4|$4"})
  void unitPricesKeepTheirDigits(double value, String text) {
    assertEquals(text, Quantities.price(value));
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {"2.8e12|2,800 GB", "147e9|147 GB", "51.2e6|0.0512 GB", "1e15|1,000,000 GB"})
  void billedGigabytes(double bytes, String text) {
    assertEquals(text, Quantities.gigabytes(bytes));
  }
}
