import { jsonAnswer, type Answer } from '../domain/answer.js';
import type { Logger } from '../observability/logger.js';
import type { FailureContext } from './forwarder.js';

/**
 * What went wrong with the downstream, as far as the client is allowed to know.
 * The client learns only "unavailable" (502) or "timed out" (504); the cause goes to the log.
 */
export type DownstreamFailure =
  | { readonly status: 502; readonly reason: string }
  | { readonly status: 504; readonly reason: string };

/** Raised (as an abort reason) by forwarders that time the wait for response headers themselves. */
export class DownstreamHeadersTimeoutError extends Error {
  readonly code = 'DOWNSTREAM_HEADERS_TIMEOUT';
  constructor(timeoutMs: number) {
    super(`no response headers from downstream within ${timeoutMs} ms`);
    this.name = 'DownstreamHeadersTimeoutError';
  }
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT', 'DOWNSTREAM_HEADERS_TIMEOUT']);

/** JSON-RPC "implementation-defined server error" codes; the MCP SDK reads -32001 as a request timeout. */
export const DOWNSTREAM_UNAVAILABLE_CODE = -32000;
export const DOWNSTREAM_TIMEOUT_CODE = -32001;

/** The `code` of an error or of the first cause that has one (fetch wraps socket errors in `cause`). */
export function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current !== null && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Classifies a failure that happened before any response header reached the client. */
export function classifyDownstreamError(error: unknown): DownstreamFailure {
  const code = errorCode(error);
  const name = error instanceof Error ? error.name : undefined;
  if ((code !== undefined && TIMEOUT_CODES.has(code)) || name === 'TimeoutError') {
    return { status: 504, reason: code ?? 'timeout' };
  }
  return { status: 502, reason: code ?? name ?? 'unknown' };
}

const REFUSED_CODES = new Set(['ECONNREFUSED']);
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'ECONNABORTED', 'UND_ERR_CLOSED']);
const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME']);
const TLS_CODE = /CERT|TLS|SSL|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/;

/** A fixed, small set of failure kinds for metrics: connect_refused, timeout, reset, dns, tls, shutdown or other. */
export function downstreamErrorKind(error: unknown): string {
  const code = errorCode(error);
  if (classifyDownstreamError(error).status === 504) return 'timeout';
  if (code === undefined) return 'other';
  if (REFUSED_CODES.has(code)) return 'connect_refused';
  if (RESET_CODES.has(code)) return 'reset';
  if (DNS_CODES.has(code)) return 'dns';
  if (code === 'FORWARDER_CLOSED') return 'shutdown';
  if (TLS_CODE.test(code)) return 'tls';
  return 'other';
}

/** Is this the failure of a request we aborted because the client went away? */
export function isAbortError(error: unknown): boolean {
  const code = errorCode(error);
  return code === 'UND_ERR_ABORTED' || code === 'ABORT_ERR' || (error instanceof Error && error.name === 'AbortError');
}

/** The JSON-RPC error the client gets; it never carries the cause, a stack, or the downstream URL. */
export function downstreamFailureAnswer(failure: DownstreamFailure): Answer {
  const code = failure.status === 504 ? DOWNSTREAM_TIMEOUT_CODE : DOWNSTREAM_UNAVAILABLE_CODE;
  return jsonAnswer(failure.status, { jsonrpc: '2.0', id: null, error: { code, message: 'Downstream MCP server unavailable' } });
}

/** Where the request went, for the log: origin and path only, so userinfo and query secrets stay out. */
export function describeTarget(target: URL): string {
  return `${target.origin}${target.pathname}`;
}

function causeOf(error: unknown): { name?: string; code?: string; message?: string } {
  if (!(error instanceof Error)) return { message: String(error) };
  const code = errorCode(error);
  const cause = (error as { cause?: unknown }).cause;
  const message = cause instanceof Error ? `${error.message}: ${cause.message}` : error.message;
  return { name: error.name, ...(code === undefined ? {} : { code }), message };
}

/** Logs a downstream failure with its cause and returns what the client should get. */
export function reportDownstreamFailure(logger: Logger, target: URL, method: string, error: unknown, context: FailureContext = {}): Answer {
  const failure = classifyDownstreamError(error);
  context.observer?.downstreamError?.(downstreamErrorKind(error));
  logger.warn('downstream request failed', {
    ...(context.requestId ? { request_id: context.requestId } : {}),
    status: failure.status,
    reason: failure.reason,
    method,
    downstream: describeTarget(target),
    cause: causeOf(error),
  });
  return downstreamFailureAnswer(failure);
}

/** Logs a failure after the response had started; the client's stream is cut, nothing else can be said. */
export function reportInterruptedResponse(logger: Logger, target: URL, method: string, error: unknown, context: FailureContext = {}): void {
  context.observer?.downstreamError?.('interrupted');
  logger.warn('downstream response interrupted', {
    ...(context.requestId ? { request_id: context.requestId } : {}),
    method,
    downstream: describeTarget(target),
    cause: causeOf(error),
  });
}
