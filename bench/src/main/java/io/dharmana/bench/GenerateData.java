package io.dharmana.bench;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * Writes a benchmark input that neither repeats (so deduplication cannot flatter anyone) nor is
 * incompressible: alternating 1 MiB blocks of Zipf-distributed words (like logs, text or JSON
 * records) and fp32 values from a normal distribution (like weights). Seeded, so every run
 * benchmarks the same bytes.
 *
 * <p>Usage: {@code java -cp benchmarks.jar io.dharmana.bench.GenerateData FILE BYTES [SEED]}
 */
public final class GenerateData {
  private GenerateData() {}

  public static void main(String[] args) throws IOException {
    Path file = Path.of(args[0]);
    long size = Long.parseLong(args[1]);
    SplittableRandom random = new SplittableRandom(args.length > 2 ? Long.parseLong(args[2]) : 1);
    String[] vocabulary = new String[4096];
    for (int i = 0; i < vocabulary.length; i++) {
      StringBuilder w = new StringBuilder();
      int len = 2 + random.nextInt(9);
      for (int k = 0; k < len; k++) {
        w.append((char) ('a' + random.nextInt(26)));
      }
      vocabulary[i] = w.toString();
    }
    byte[] block = new byte[1 << 20];
    long written = 0;
    try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 20)) {
      for (long b = 0; written < size; b++) {
        if (b % 2 == 0) {
          int pos = 0;
          while (pos < block.length) {
            // Zipf-like: small indexes far more often
            int idx = (int) Math.min(vocabulary.length - 1, Math.floor(Math.pow(random.nextDouble(), 3) * vocabulary.length));
            byte[] word = (vocabulary[idx] + (random.nextInt(12) == 0 ? "\n" : " ")).getBytes(StandardCharsets.US_ASCII);
            int n = Math.min(word.length, block.length - pos);
            System.arraycopy(word, 0, block, pos, n);
            pos += n;
          }
        } else {
          ByteBuffer floats = ByteBuffer.wrap(block).order(ByteOrder.LITTLE_ENDIAN);
          while (floats.hasRemaining()) {
            floats.putFloat((float) (gaussian(random) * 0.02));
          }
        }
        int n = (int) Math.min(block.length, size - written);
        out.write(block, 0, n);
        written += n;
      }
    }
  }

  private static double gaussian(SplittableRandom r) {
    double u = 1 - r.nextDouble();
    double v = r.nextDouble();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}
