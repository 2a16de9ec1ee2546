import { ClientCredentialsError } from './errors.js';

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
 * The body as text, up to `maxBytes`. Reads race the signal: not every fetch (a wrapper, a
 * mock) ties its body stream to the request's signal, and a stalled body must still time out.
 */
async function readCapped(response: Response, maxBytes: number, signal: AbortSignal, where: string): Promise<string> {
  const tooLarge = () => new ClientCredentialsError('unavailable', `${where} answered more than ${maxBytes} bytes`, undefined, response.status);
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    // Not awaited: a cancelled stream may never settle.
    void response.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  if (!response.body) return '';
  const reader = response.body.getReader();
  let onAbort = () => {};
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => undefined);
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await Promise.race([reader.read(), aborted]);
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) throw tooLarge();
      chunks.push(value);
    }
  } catch (error) {
    void reader.cancel().catch(() => undefined);
    throw error;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
  const decoder = new TextDecoder();
  return chunks.map((chunk) => decoder.decode(chunk, { stream: true })).join('') + decoder.decode();
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
      throw new ClientCredentialsError('unavailable', `${where} answered a redirect (HTTP ${response.status}), which is not followed`, undefined, response.status);
    }
    return { status: response.status, text: await readCapped(response, options.maxResponseBytes, signal, where) };
  } catch (error) {
    if (error instanceof ClientCredentialsError) throw error;
    if (signal.aborted) throw new ClientCredentialsError('unavailable', `${where} did not answer within ${options.timeoutMs} ms`);
    throw new ClientCredentialsError('unavailable', `${where} could not be reached: ${networkReason(error)}`);
  }
}

/** The error's name, message and system code; none of them carries request data. */
function networkReason(error: unknown): string {
  if (!(error instanceof Error)) return 'non-error thrown';
  const cause = error.cause as { code?: unknown } | undefined;
  const code = typeof cause?.code === 'string' ? ` (${cause.code})` : '';
  return `${error.name}: ${error.message}${code}`;
}
