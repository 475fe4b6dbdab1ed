package io.dharmana.s3;

import java.net.ConnectException;
import java.util.Objects;
import java.util.function.Predicate;
import org.apache.hc.client5.http.ConnectTimeoutException;
import software.amazon.awssdk.core.exception.SdkServiceException;
import software.amazon.awssdk.retries.api.AcquireInitialTokenRequest;
import software.amazon.awssdk.retries.api.AcquireInitialTokenResponse;
import software.amazon.awssdk.retries.api.BackoffStrategy;
import software.amazon.awssdk.retries.api.RecordSuccessRequest;
import software.amazon.awssdk.retries.api.RecordSuccessResponse;
import software.amazon.awssdk.retries.api.RefreshRetryTokenRequest;
import software.amazon.awssdk.retries.api.RefreshRetryTokenResponse;
import software.amazon.awssdk.retries.api.RetryStrategy;
import software.amazon.awssdk.retries.api.TokenAcquisitionFailedException;

/**
 * Retries as the strategy it wraps does, except that until the endpoint has answered one request
 * of its client (with any status), a failure to connect (refused, no route, connect timeout) is
 * not retried.
 *
 * <p>Why: a store's first request is its open (a packed tier lists its packs), and an endpoint
 * that refuses it is most likely down, not restarting; retried with backoff it cost every command
 * about two seconds before the tiered store could go on without the tier (which opens it again
 * later on its own back-off). Once the endpoint has answered, a refused connection is more likely
 * a restart, and every failure is retried as before: transfers keep their retries on 5xx,
 * throttling, I/O errors and timeouts.
 */
final class FirstContactRetryStrategy implements RetryStrategy {
  private final RetryStrategy delegate;
  private volatile boolean answered;

  FirstContactRetryStrategy(RetryStrategy delegate) {
    this.delegate = Objects.requireNonNull(delegate, "delegate");
  }

  @Override
  public AcquireInitialTokenResponse acquireInitialToken(AcquireInitialTokenRequest request) {
    return delegate.acquireInitialToken(request);
  }

  @Override
  public RefreshRetryTokenResponse refreshRetryToken(RefreshRetryTokenRequest request) {
    if (request.failure() instanceof SdkServiceException) {
      answered = true; // an error status is an answer too
    } else if (!answered && connectFailure(request.failure())) {
      throw new TokenAcquisitionFailedException(
          "Not retrying: the endpoint has not answered yet and refused the connection", request.token(), request.failure());
    }
    return delegate.refreshRetryToken(request);
  }

  @Override
  public RecordSuccessResponse recordSuccess(RecordSuccessRequest request) {
    answered = true;
    return delegate.recordSuccess(request);
  }

  /** A connection that was never made: refused, no route, or its connect timed out. */
  static boolean connectFailure(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof ConnectException || t instanceof ConnectTimeoutException) {
        return true;
      }
    }
    return false;
  }

  @Override
  public int maxAttempts() {
    return delegate.maxAttempts();
  }

  @Override
  public boolean useClientDefaults() {
    return delegate.useClientDefaults();
  }

  @Override
  public Builder toBuilder() {
    return new Builder(delegate.toBuilder());
  }

  @Override
  public void close() {
    delegate.close();
  }

  /**
   * The wrapped strategy's builder, building it wrapped again: the SDK configures a client's
   * strategy through its builder (adding the service's retry conditions), which must not drop
   * this wrapping.
   */
  static final class Builder implements RetryStrategy.Builder<Builder, FirstContactRetryStrategy> {
    private final RetryStrategy.Builder<?, ?> delegate;

    Builder(RetryStrategy.Builder<?, ?> delegate) {
      this.delegate = delegate;
    }

    @Override
    public Builder retryOnException(Predicate<Throwable> shouldRetry) {
      delegate.retryOnException(shouldRetry);
      return this;
    }

    @Override
    public Builder maxAttempts(int maxAttempts) {
      delegate.maxAttempts(maxAttempts);
      return this;
    }

    @Override
    public Builder backoffStrategy(BackoffStrategy backoffStrategy) {
      delegate.backoffStrategy(backoffStrategy);
      return this;
    }

    @Override
    public Builder throttlingBackoffStrategy(BackoffStrategy backoffStrategy) {
      delegate.throttlingBackoffStrategy(backoffStrategy);
      return this;
    }

    @Override
    public Builder treatAsThrottling(Predicate<Throwable> treatAsThrottling) {
      delegate.treatAsThrottling(treatAsThrottling);
      return this;
    }

    @Override
    public Builder useClientDefaults(boolean useClientDefaults) {
      delegate.useClientDefaults(useClientDefaults);
      return this;
    }

    @Override
    public FirstContactRetryStrategy build() {
      return new FirstContactRetryStrategy(delegate.build());
    }
  }
}
