package io.dharmana.runtime;

import java.util.Iterator;

/**
 * Walks a computation over the items storage delivers (batches of a data loader, say): for each
 * item, waits for storage to deliver it, then computes on it. The runtime records how the time
 * splits between computing and waiting, which is what accelerator utilization measures.
 *
 * <p>Implementations must consume every item of the iterator, in order, on the calling thread,
 * and must time the wait for an item as the time spent in {@link Iterator#hasNext()} and {@link
 * Iterator#next()}.
 *
 * @param <T> the item type
 */
public interface ComputationRuntime<T> {

  /** Consumes every item and returns how the time was spent. */
  AcceleratorStats run(Iterator<? extends T> items);
}
