import { StoreError } from './errors.js';

/**
 * Wraps a driver's error (connection refused, timeout, missing table, ...) in a
 * {@link StoreError} whose message names the store and what it was doing, keeping the driver's
 * error as `cause`.
 *
 * @param storeName - e.g. `PostgresStore`
 * @param action - what failed, e.g. `load a session`
 * @param hint - appended to the message, e.g. how to create a missing table
 * @see https://github.com/django/django/blob/main/django/db/utils.py (Django lets the driver's
 *   `DatabaseError` through; keepstate gives every store one error type)
 */
export function driverFailure(
  storeName: string,
  action: string,
  cause: unknown,
  hint?: string,
): StoreError {
  const message = `keepstate: ${storeName} could not ${action}: ${reasonOf(cause)}${hint ? ` (${hint})` : ''}`;
  return new StoreError(message, { cause });
}

function reasonOf(cause: unknown): string {
  const error = cause as { message?: unknown; code?: unknown; errors?: unknown } | null;
  if (typeof error?.message === 'string' && error.message !== '') return error.message;
  // Node reports a refused connection to every address of `localhost` as an AggregateError with
  // an empty message; the reasons are in its `errors`.
  if (Array.isArray(error?.errors) && error.errors.length > 0) {
    return error.errors.map(reasonOf).join('; ');
  }
  if (typeof error?.code === 'string') return error.code;
  return String(cause);
}
