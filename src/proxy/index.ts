import type { Logger } from '../observability/logger.js';
import { FetchForwarder } from './fetch-forwarder.js';
import type { Forwarder } from './forwarder.js';
import { UndiciForwarder } from './undici-forwarder.js';

export interface CreateForwarderOptions {
  /** How long to wait for the downstream's response headers before answering 504. */
  readonly headersTimeoutMs: number;
  readonly logger: Logger;
  /** `node`: undici pools relayed into Node's raw response (falls back to fetch without Node objects). `web`: fetch only. */
  readonly runtime: 'node' | 'web';
  /** How long close() lets requests in flight finish before cutting them. */
  readonly closeGraceMs?: number;
}

export function createForwarder(options: CreateForwarderOptions): Forwarder {
  const { headersTimeoutMs, logger } = options;
  return options.runtime === 'node'
    ? new UndiciForwarder({ headersTimeoutMs, logger, ...(options.closeGraceMs !== undefined ? { closeGraceMs: options.closeGraceMs } : {}) })
    : new FetchForwarder({ headersTimeoutMs, logger });
}

export type { ForwardRequest, Forwarder, WebIncoming, BodyRewriter, ResponseRewrite } from './forwarder.js';
export { rewriterStream } from './body-rewriter.js';
export { rewriterTransform } from './node-body-rewriter.js';
export { FetchForwarder, CLIENT_CLOSED_REQUEST } from './fetch-forwarder.js';
export type { FetchForwarderOptions } from './fetch-forwarder.js';
export { UndiciForwarder } from './undici-forwarder.js';
export type { UndiciForwarderOptions, NodeIncoming } from './undici-forwarder.js';
export {
  outboundRequestHeaders,
  responseHeadersToForward,
  responseHeaderRecordToForward,
  connectionTokens,
  IDENTITY_HEADERS,
} from './outbound-headers.js';
export type { OutboundHeaderOptions, HeaderRecord } from './outbound-headers.js';
export {
  classifyDownstreamError,
  downstreamFailureAnswer,
  reportDownstreamFailure,
  DownstreamHeadersTimeoutError,
  DOWNSTREAM_UNAVAILABLE_CODE,
  DOWNSTREAM_TIMEOUT_CODE,
} from './failures.js';
export type { DownstreamFailure } from './failures.js';
