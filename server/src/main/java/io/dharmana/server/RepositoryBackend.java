package io.dharmana.server;

import io.dharmana.AlreadyExistsException;
import io.dharmana.checkpoint.TensorObjects;
import io.dharmana.manifest.ObjectManifest;
import io.dharmana.repo.ObjectInfo;
import io.dharmana.repo.PutOptions;
import io.dharmana.repo.Ref;
import io.dharmana.repo.RefStore;
import io.dharmana.repo.Repository;
import io.dharmana.store.TierStats;
import java.io.InputStream;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The gateway's objects kept in a Dharmana {@link Repository}: every put goes through the pipeline
 * the bucket is bound to, and reads are verified by the repository while they stream (chunk by
 * chunk: puts leave the whole-object SHA-256 out, so {@link StoredObject#sha256()} is empty). The
 * repository stays owned by the caller: {@link #close} does not close it, it removes the cache of
 * decoded tensor files this backend keeps under {@code REPO/cache} (a {@link Gateway} closes the
 * backend it serves when it stops).
 */
public final class RepositoryBackend implements ObjectBackend, SupportsTierUsage, SupportsPackMerging, AutoCloseable {
  private final Repository repository;
  private final TensorObjects tensors;

  public RepositoryBackend(Repository repository) {
    this(repository, TensorObjects.DEFAULT_CACHE_BYTES);
  }

  /**
   * @param decodedCacheBytes the disk the decoded safetensors objects of float-coding buckets may
   *     take in the repository's {@code cache/} directory: their reads decode a whole file once
   *     and serve ranges from it
   */
  public RepositoryBackend(Repository repository, long decodedCacheBytes) {
    this.repository = Objects.requireNonNull(repository, "repository");
    this.tensors = new TensorObjects(repository, decodedCacheBytes);
  }

  @Override
  public StoredObject put(String name, InputStream data, PutRequest request) {
    // no whole-object SHA-256: a third pass over every byte, while the client's MD5 (the ETag)
    // and the chunks' SHA-256 ids (verified on every read) already cover the content
    PutOptions options = PutOptions.defaults().withAttributes(request.attributes()).withoutOriginalHash();
    if (request.pipeline() != null) {
      options = options.withPipeline(request.pipeline());
    }
    if (request.requireAbsent()) {
      // one read of the head decides both: a live head exists; a removed name keeps its version log,
      // so "absent" is "still at the version of its removal". Reading the object and then the head
      // (as before) let a racing writer commit in between, and this put then expected its version
      // and replaced it: two racing If-None-Match PUTs both succeeded (GatewaySdkTest, seed 32)
      Optional<Ref> head = repository.refs().head("objects/" + RefStore.checkName(name));
      if (head.isPresent() && !head.get().deleted()) {
        throw new AlreadyExistsException("Cannot put " + name + ": it already exists");
      }
      options = options.withExpectedVersion(head.map(Ref::version).orElse(0L));
    } else if (request.requireVersion() >= 0) {
      options = options.withExpectedVersion(request.requireVersion());
    }
    if (TensorObjects.applies(repository, request.pipeline(), name)) {
      return stored(tensors.put(name, data, options));
    }
    return stored(repository.put(name, data, options));
  }

  @Override
  public int mergeSmallPacks() {
    return repository.mergeSmallPacks().smallPacksMerged();
  }

  @Override
  public void releaseDeletedPacks() {
    repository.releaseDeletedPacks();
  }

  @Override
  public InputStream open(StoredObject object, long offset, long length) {
    ObjectManifest manifest = repository.manifest(object.contentId());
    if (TensorObjects.coded(manifest)) {
      return tensors.open(object.contentId(), object.name(), offset, length);
    }
    return repository.runtime().open(manifest, offset, length, repository.metrics(manifest.pipeline()), object.name());
  }

  @Override
  public Optional<StoredObject> stat(String name) {
    return repository.stat(name).map(RepositoryBackend::stored);
  }

  @Override
  public Stream<StoredObject> list(String prefix) {
    return repository.list(prefix).map(RepositoryBackend::stored);
  }

  @Override
  public boolean remove(String name) {
    return repository.remove(name);
  }

  @Override
  public boolean hasPipeline(String pipeline) {
    return repository.pipeline(pipeline).isPresent();
  }

  @Override
  public String defaultPipeline() {
    return repository.descriptor().name();
  }

  @Override
  public Map<String, Long> bytesByTier() {
    Map<String, Long> bytes = new LinkedHashMap<>();
    for (TierStats t : repository.tiers().stats()) {
      bytes.put(t.name(), t.bytesHeld());
    }
    return bytes;
  }

  /** Removes the cache of decoded tensor files; the repository stays open. Idempotent. */
  @Override
  public void close() {
    tensors.close();
  }

  private static StoredObject stored(ObjectInfo stored) {
    ObjectInfo info = TensorObjects.asPut(stored);
    // decided by the manifest's attributes the stat or listing read already
    StoredObject.Reads reads = stored.attributes().containsKey(TensorObjects.CODING)
        ? StoredObject.Reads.FROM_LOCAL_FILE : StoredObject.Reads.THROUGH_PIPELINE;
    return new StoredObject(info.name(), info.size(), info.storedBytes(), info.sha256(), info.created(), info.pipeline(),
        info.attributes(), info.version(), info.manifestId(), reads);
  }
}
