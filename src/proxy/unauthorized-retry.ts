import type { Logger } from '../observability/logger.js';
import { describeTarget, errorCode } from './failures.js';
import type { ForwardRequest } from './forwarder.js';
import type { OutboundHeaders } from './outbound-headers.js';

/**
 * The caller's new headers for one retry after a downstream 401, or undefined for none.
 * A failing callback means "no retry": the client gets the 401 (with the proxy's challenge);
 * only the error's name and code are logged, since token-endpoint messages can carry secrets.
 */
export async function retryHeadersFor(
  request: ForwardRequest,
  logger: Logger,
  target: URL,
  method: string,
): Promise<Readonly<OutboundHeaders> | undefined> {
  try {
    return await request.retryOnUnauthorized?.();
  } catch (error) {
    const code = errorCode(error);
    logger.warn('no retry after downstream 401: new credentials failed', {
      ...(request.requestId ? { request_id: request.requestId } : {}),
      method,
      downstream: describeTarget(target),
      cause: { name: error instanceof Error ? error.name : typeof error, ...(code === undefined ? {} : { code }) },
    });
    return undefined;
  }
}
