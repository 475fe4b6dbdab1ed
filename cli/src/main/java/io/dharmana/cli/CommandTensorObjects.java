package io.dharmana.cli;

import io.dharmana.checkpoint.TensorObjects;
import io.dharmana.repo.Repository;

/**
 * The one {@link TensorObjects} of a command, made when the command first meets a tensor-coded
 * object (a command that meets none makes no cache of decoded files), so that all the objects of
 * a {@code put -r} or {@code get -r} share its decoded files: a parent is decoded once, not once
 * per child, and a put leaves its input decoded for the next step's put. {@link #close} removes the
 * cache. Not thread-safe: one command's thread.
 */
final class CommandTensorObjects implements AutoCloseable {
  private final Repository repository;
  private TensorObjects tensors;

  CommandTensorObjects(Repository repository) {
    this.repository = repository;
  }

  TensorObjects tensors() {
    if (tensors == null) {
      tensors = new TensorObjects(repository, TensorObjects.DEFAULT_CACHE_BYTES);
    }
    return tensors;
  }

  @Override
  public void close() {
    if (tensors != null) {
      tensors.close();
      tensors = null;
    }
  }
}
