package io.dharmana.descriptor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.InvalidDescriptorException;
import java.time.Duration;
import java.util.Random;
import java.util.stream.LongStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class ByteSizeTest {

  @ParameterizedTest
  @CsvSource({
    "0, 0", "4096, 4096", "1B, 1", "64KiB, 65536", "64 KiB, 65536", "1.5GiB, 1610612736", "2TB, 2000000000000",
    "115KB, 115000", "115 kb, 115000", "8KiB, 8192", "84GB, 84000000000", "2TiB, 2199023255552", "1_000, 1000",
    "1e3, 1000", "0.5KB, 500", "1PiB, 1125899906842624"
  })
  void parsesSizes(String text, long bytes) {
    assertEquals(bytes, ByteSize.parse(text), text);
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "KiB", "12XB", "-5GiB", "1.2.3MB", "ten", "64 K", "99999999999PB"})
  void rejectsNonSizes(String text) {
    InvalidDescriptorException e = assertThrows(InvalidDescriptorException.class, () -> ByteSize.parse(text));
    assertTrue(e.getMessage().startsWith("Invalid size '" + text + "'"), e.getMessage());
  }

  @ParameterizedTest
  @CsvSource({
    "0, 0 B", "17, 17 B", "1024, 1 KiB", "67108864, 64 MiB", "84000000000, 84 GB", "1536, 1.5 KiB",
    "115000, 115 KB", "2199023255552, 2 TiB", "1000, 1 KB", "1234567891, 1.15 GiB"
  })
  void formatsForPeople(long bytes, String text) {
    assertEquals(text, ByteSize.format(bytes));
  }

  @ParameterizedTest
  @CsvSource({
    "0, 0 B", "17, 17 B", "1000, 1000 B", "1024, 1 KiB", "3000000, 2.86 MiB", "67108864, 64 MiB",
    "84000000000, 78.23 GiB", "1536, 1.5 KiB", "115000, 112.3 KiB", "1234567891, 1.15 GiB"
  })
  void formatsInBinaryUnitsOnly(long bytes, String text) {
    assertEquals(text, ByteSize.formatBinary(bytes));
  }

  static LongStream seeds() {
    return LongStream.range(0, 20).map(i -> 0x5eed_0000L + i);
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void toTextParsesBackExactly(long seed) {
    Random random = new Random(seed);
    for (int i = 0; i < 200; i++) {
      long bytes = switch (random.nextInt(4)) {
        case 0 -> random.nextLong() & Long.MAX_VALUE;
        case 1 -> (long) random.nextInt(10_000) << (10 * random.nextInt(5));
        case 2 -> random.nextInt(10_000) * (long) Math.pow(1000, random.nextInt(5));
        default -> random.nextInt(1 << 20);
      };
      String text = ByteSize.toText(bytes);
      assertEquals(bytes, ByteSize.parse(text), "seed " + seed + ": " + bytes + " -> " + text);
    }
  }

  @ParameterizedTest
  @CsvSource({
    "10ms, PT0.01S", "850ms, PT0.85S", "30s, PT30S", "30m, PT30M", "2h, PT2H", "7d, PT168H", "1.5h, PT1H30M",
    "PT30M, PT30M", "pt1h, PT1H", "250us, PT0.00025S", "5 s, PT5S"
  })
  void parsesDurations(String text, String iso) {
    assertEquals(Duration.parse(iso), Durations.parse(text), text);
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "10", "10 minutes", "-5s", "PT", "1.5.2h", "d"})
  void rejectsNonDurations(String text) {
    InvalidDescriptorException e = assertThrows(InvalidDescriptorException.class, () -> Durations.parse(text));
    assertTrue(e.getMessage().startsWith("Invalid duration '" + text + "'"), e.getMessage());
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void durationsFormatAndParseBack(long seed) {
    Random random = new Random(seed);
    for (int i = 0; i < 200; i++) {
      Duration d = Duration.ofNanos((random.nextLong() & Long.MAX_VALUE) >>> random.nextInt(63));
      String text = Durations.format(d);
      assertEquals(d, Durations.parse(text), "seed " + seed + ": " + d + " -> " + text);
    }
    assertEquals("30m", Durations.format(Duration.ofMinutes(30)));
    assertEquals("90s", Durations.format(Duration.ofSeconds(90)));
    assertEquals("7d", Durations.format(Duration.ofDays(7)));
    assertEquals("850ms", Durations.format(Duration.ofMillis(850)));
  }
}
