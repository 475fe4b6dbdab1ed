/**
 * Service-loaded plumbing of the store package (the built-in {@link io.dharmana.store.StoreFactory}
 * implementations). Not an API: classes here are public only because {@link java.util.ServiceLoader}
 * requires it.
 */
package io.dharmana.store.internal;
