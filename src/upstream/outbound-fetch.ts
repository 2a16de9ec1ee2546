import { readCappedStream } from '../net/capped-body.js';
import { isHttpsOrLoopback } from '../net/loopback.js';
import { UpstreamError } from './upstream-client.js';

export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;

export interface OutboundOptions {
  readonly timeoutMs: number;
  readonly maxResponseBytes: number;
  readonly fetch?: typeof fetch | undefined;
}

const REDIRECT = new Set([301, 302, 303, 307, 308]);
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

function requestUrl(input: RequestInfo | URL): URL {
  return new URL(input instanceof Request ? input.url : String(input));
}

/**
 * Every request to the provider goes through here: https only (http to loopback),
 * a timeout that covers the body too, redirects answered as errors rather than
 * followed, and bodies buffered up to a cap before anyone parses them.
 */
export function createOutboundFetch(options: OutboundOptions): typeof fetch {
  return async function outboundFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    const url = requestUrl(input);
    if (!isHttpsOrLoopback(url)) {
      throw new UpstreamError('unavailable', `refusing a non-https request to ${url.host}`);
    }
    const timeout = AbortSignal.timeout(options.timeoutMs);
    const signal = init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    const headers = new Headers(init?.headers);
    if (!headers.has('user-agent')) headers.set('user-agent', 'mcp-capsule');
    // Resolved at call time, so a fetch patched after construction (msw) is the one used.
    const base = options.fetch ?? globalThis.fetch;
    try {
      const response = await base(input, { ...init, headers, signal, redirect: 'manual' });
      if (REDIRECT.has(response.status) || response.type === 'opaqueredirect') {
        void response.body?.cancel().catch(() => undefined);
        throw new UpstreamError('unavailable', `${url.host}${url.pathname} answered a redirect (HTTP ${response.status}), which is not followed`);
      }
      const body = await readCappedStream(response.body, options.maxResponseBytes, { declaredLength: response.headers.get('content-length') });
      if (body === undefined) throw new UpstreamError('unavailable', `${url.host} answered more than ${options.maxResponseBytes} bytes`);
      const copied = new Headers(response.headers);
      copied.delete('content-length');
      copied.delete('content-encoding');
      return new Response(NULL_BODY.has(response.status) ? null : body, {
        status: response.status,
        statusText: response.statusText,
        headers: copied,
      });
    } catch (error) {
      if (error instanceof UpstreamError) throw error;
      if (timeout.aborted) throw new UpstreamError('unavailable', `${url.host}${url.pathname} did not answer within ${options.timeoutMs} ms`, error);
      throw error;
    }
  };
}
