package io.dharmana.tensor.file;

import io.dharmana.CorruptDataException;
import io.dharmana.InvalidDescriptorException;
import io.dharmana.tensor.TensorInfo;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The pieces a tensor is stored in. A tensor larger than {@link #SPLIT_ABOVE} is stored as
 * consecutive pieces of whole rows of its first dimension, each at most {@link #PIECE_BYTES} and
 * coded on its own, as the tensor of those rows would be: index entries of the tensor's name, each
 * with its piece's shape and byte range. Every other tensor is one piece, itself.
 *
 * <p>Why: large models hold large tensors. Llama 3.1 405B's embedding is 128,256 x 16,384 bf16
 * values (4.2 GB), more than one Java array holds, and was refused; a 70B model's (2.1 GB) fitted
 * one array, but coding or decoding it held it and its encoding at once (~3.8 GB of heap) on each
 * thread that took such a tensor. Pieces bound that to about twice {@link #PIECE_BYTES} a thread,
 * whatever the tensor. A piece is coded in 256 KiB chunks as a tensor is, so pieces cost only
 * their index entries, their headers and a shorter chunk at each piece's end.
 */
public final class TensorPieces {
  /** The most a piece holds (less when a row does not divide it). */
  static final long PIECE_BYTES = 256L << 20;
  /** Tensors larger than this are stored in pieces. */
  static final long SPLIT_ABOVE = PIECE_BYTES;

  /** One piece to code: the tensor it belongs to, and its own rows as a tensor. */
  public record Piece(TensorInfo tensor, TensorInfo piece) {
    /** Where the piece starts in its tensor's bytes. */
    public long offset() {
      return piece.begin() - tensor.begin();
    }
  }

  private TensorPieces() {}

  /** The pieces of {@code tensors}, in file order, splitting those above {@code splitAbove} bytes into pieces of at most {@code pieceBytes}. */
  public static List<Piece> of(List<TensorInfo> tensors, long splitAbove, long pieceBytes) {
    List<Piece> pieces = new ArrayList<>(tensors.size());
    for (TensorInfo t : tensors) {
      if (t.byteSize() <= splitAbove) {
        pieces.add(new Piece(t, t));
        continue;
      }
      long[] shape = t.shape();
      long rowBytes = t.byteSize() / shape[0]; // a tensor this large has a first dimension > 0
      if (rowBytes > pieceBytes) {
        throw new InvalidDescriptorException("Cannot store tensor '" + t.name() + "' of " + t.byteSize() + " bytes: one row of its "
            + "first dimension (shape " + Arrays.toString(shape) + ") is " + rowBytes + " bytes, more than a piece of " + pieceBytes
            + " holds");
      }
      long rowsPerPiece = pieceBytes / rowBytes;
      for (long row = 0; row < shape[0]; row += rowsPerPiece) {
        long[] rows = shape.clone();
        rows[0] = Math.min(rowsPerPiece, shape[0] - row);
        long begin = t.begin() + row * rowBytes;
        pieces.add(new Piece(t, new TensorInfo(t.name(), t.dtype(), rows, begin, begin + rows[0] * rowBytes)));
      }
    }
    return pieces;
  }

  /**
   * Checks that the index {@code entries} stores {@code tensors} (the embedded safetensors header's),
   * each as one entry like it or as consecutive pieces of its rows (any number of rows each), and
   * returns each entry's offset in its tensor's bytes (0 for a tensor stored whole).
   *
   * @throws CorruptDataException naming the first entry that disagrees
   */
  static long[] check(Path path, List<TensorInfo> tensors, List<TensorFileEntry> entries) {
    long[] offsets = new long[entries.size()];
    int i = 0;
    for (TensorInfo t : tensors) {
      long at = t.begin();
      do {
        if (i == entries.size()) {
          throw new CorruptDataException("Cannot read tensor file " + path + ": the index ends before tensor " + t.name()
              + " of the original header is stored");
        }
        TensorFileEntry e = entries.get(i);
        if (!e.name().equals(t.name()) || e.dtype() != t.dtype() || e.begin() != at || e.end() > t.end()
            || !(e.end() == t.end() && at == t.begin() ? Arrays.equals(e.shape(), t.shape()) : rowsOf(e.shape(), t.shape()))) {
          throw new CorruptDataException("Cannot read tensor file " + path + ": index entry " + i + " (" + e.name()
              + ") disagrees with the original header");
        }
        offsets[i++] = at - t.begin();
        at = e.end();
      } while (at < t.end());
    }
    if (i != entries.size()) {
      throw new CorruptDataException("Cannot read tensor file " + path + ": index has " + entries.size() + " entries, the original "
          + "header's " + tensors.size() + " tensors take " + i);
    }
    return offsets;
  }

  /** Whether {@code piece} is a shape of some rows of {@code whole}: the same dimensions after the first. */
  private static boolean rowsOf(long[] piece, long[] whole) {
    return piece.length == whole.length && piece.length > 0 && piece[0] > 0
        && Arrays.equals(piece, 1, piece.length, whole, 1, whole.length);
  }
}
