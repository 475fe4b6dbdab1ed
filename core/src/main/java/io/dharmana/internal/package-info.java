/**
 * Plumbing shared by several packages of the library. Not an API: classes here are public only so
 * that packages of this library can use them, and may change without notice.
 */
package io.dharmana.internal;
