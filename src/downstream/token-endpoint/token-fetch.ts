import { readCappedStream } from '../../net/capped-body.js';
import { TokenEndpointError } from './errors.js';

export const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024;

export interface SendOptions {
  readonly fetch: typeof fetch;
  readonly timeoutMs: number;
  readonly maxResponseBytes: number;
}

export interface RawTokenResponse {
  readonly status: number;
  readonly text: string;
}

/** `https://host/path` without query: enough to tell endpoints apart in a log. */
export function describeEndpoint(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/**
 * One POST to the token endpoint: redirects answered as errors rather than followed, a
 * timeout that covers the body too, and the body read up to a cap. Any status comes back
 * for the caller to judge; every failure to get one is `unavailable`.
 */
export async function sendTokenRequest(url: URL, init: { headers: Headers; body: URLSearchParams }, options: SendOptions): Promise<RawTokenResponse> {
  const where = describeEndpoint(url);
  const signal = AbortSignal.timeout(options.timeoutMs);
  try {
    const response = await options.fetch(url, { method: 'POST', headers: init.headers, body: init.body, redirect: 'manual', signal });
    if ((response.status >= 300 && response.status < 400) || response.type === 'opaqueredirect') {
      void response.body?.cancel().catch(() => undefined);
      throw new TokenEndpointError('unavailable', `${where} answered a redirect (HTTP ${response.status}), which is not followed`, undefined, response.status);
    }
    const body = await readCappedStream(response.body, options.maxResponseBytes, { declaredLength: response.headers.get('content-length'), signal });
    if (body === undefined) {
      throw new TokenEndpointError('unavailable', `${where} answered more than ${options.maxResponseBytes} bytes`, undefined, response.status);
    }
    return { status: response.status, text: new TextDecoder().decode(body) };
  } catch (error) {
    if (error instanceof TokenEndpointError) throw error;
    if (signal.aborted) throw new TokenEndpointError('unavailable', `${where} did not answer within ${options.timeoutMs} ms`, undefined, undefined, error);
    throw new TokenEndpointError('unavailable', `${where} could not be reached: ${networkReason(error)}`, undefined, undefined, error);
  }
}

/** The error's name, message and system code; none of them carries request data. */
function networkReason(error: unknown): string {
  if (!(error instanceof Error)) return 'non-error thrown';
  const cause = error.cause as { code?: unknown } | undefined;
  const code = typeof cause?.code === 'string' ? ` (${cause.code})` : '';
  return `${error.name}: ${error.message}${code}`;
}
