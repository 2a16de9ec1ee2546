import { jsonAnswer, type Answer } from '../domain/answer.js';
import { loggedError, ProblemError } from '../domain/errors.js';
import type { Logger } from '../observability/logger.js';
import type { FailureContext } from './forwarder.js';

/**
 * What went wrong with the downstream, as far as the client is allowed to know.
 * The client learns only "unavailable" (502) or "timed out" (504); the cause goes to the log.
 */
export type DownstreamFailure =
  | { readonly status: 502; readonly reason: string }
  | { readonly status: 504; readonly reason: string };

/** JSON-RPC "implementation-defined server error" codes; the MCP SDK reads -32001 as a request timeout. */
export const DOWNSTREAM_UNAVAILABLE_CODE = -32000;
export const DOWNSTREAM_TIMEOUT_CODE = -32001;

/** All a client learns of a downstream failure. */
const DOWNSTREAM_UNAVAILABLE = 'Downstream MCP server unavailable';

/** Raised (as an abort reason) by forwarders that time the wait for response headers themselves. */
export class DownstreamHeadersTimeoutError extends ProblemError {
  constructor(timeoutMs: number) {
    super('downstream_headers_timeout', DOWNSTREAM_UNAVAILABLE, { status: 504, detail: `no response headers from downstream within ${timeoutMs} ms` });
    this.name = 'DownstreamHeadersTimeoutError';
  }
}

/** Raised for a request that arrives while the forwarder is shutting down. */
export class ForwarderClosedError extends ProblemError {
  constructor() {
    super('forwarder_closed', DOWNSTREAM_UNAVAILABLE, { status: 502, detail: 'the forwarder is closed' });
    this.name = 'ForwarderClosedError';
  }
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT', 'downstream_headers_timeout']);

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
  if (code === 'forwarder_closed') return 'shutdown';
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
  return jsonAnswer(failure.status, { jsonrpc: '2.0', id: null, error: { code, message: DOWNSTREAM_UNAVAILABLE } });
}

/** Where the request went, for the log: origin and path only, so userinfo and query secrets stay out. */
export function describeTarget(target: URL): string {
  return `${target.origin}${target.pathname}`;
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
    cause: loggedError(error),
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
    cause: loggedError(error),
  });
}
