/**
 * The S3-compatible gateway: an HTTP endpoint whose buckets are bound to pipelines, plus
 * Prometheus metrics and a live dashboard. Entered through {@link io.dharmana.server.Gateway}.
 */
package io.dharmana.server;
