import { createRequire } from 'node:module';

/** The attributes keepstate puts on a span. */
export type SpanAttributes = Record<string, string | number | boolean>;

/**
 * The part of an OpenTelemetry `Span` keepstate uses, so that `@opentelemetry/api`'s spans fit
 * without keepstate depending on it.
 */
export interface Span {
  setStatus(status: { code: number; message?: string }): unknown;
  end(): void;
}

/**
 * The part of an OpenTelemetry `Tracer` keepstate uses: `trace.getTracer('my-app')` of
 * `@opentelemetry/api` fits. Spans start in the active context, so they nest under the request's.
 *
 * @see https://opentelemetry.io/docs/languages/js/instrumentation/#create-spans
 */
export interface Tracer {
  startSpan(name: string, options?: { attributes?: SpanAttributes }): Span;
}

/** `SpanStatusCode.ERROR` of the OpenTelemetry API. */
export const SPAN_STATUS_ERROR = 2;

interface OpenTelemetryApi {
  trace: { getTracer(name: string): Tracer };
}

/**
 * The global tracer of `@opentelemetry/api` named `keepstate`, when the application has that
 * package installed; `undefined` when it has not. Its spans are recorded once the application
 * registers an OpenTelemetry SDK, before or after this call.
 */
export function findTracer(): Tracer | undefined {
  let api: OpenTelemetryApi;
  try {
    // Resolved from the application's dependencies, synchronously, so a SessionManager can be
    // made without awaiting; the package ships CommonJS.
    api = createRequire(import.meta.url)('@opentelemetry/api') as OpenTelemetryApi;
  } catch {
    return undefined;
  }
  return api.trace.getTracer('keepstate');
}
