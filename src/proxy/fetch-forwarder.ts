import type { Context } from 'hono';
import type { Logger } from '../observability/logger.js';
import { applyProxyHeaders, bodyAlreadyRead, cachedBody } from './context.js';
import {
  DownstreamHeadersTimeoutError,
  reportDownstreamFailure,
  reportInterruptedResponse,
} from './failures.js';
import type { ForwardRequest, Forwarder } from './forwarder.js';
import { responseHeadersToForward } from './outbound-headers.js';

export interface FetchForwarderOptions {
  /** How long to wait for the downstream's response headers before answering 504. */
  readonly headersTimeoutMs: number;
  readonly logger: Logger;
  /** Defaults to the global fetch. */
  readonly fetch?: typeof fetch;
}

/** nginx's "client closed request": the status nobody will read, for a client that left. */
export const CLIENT_CLOSED_REQUEST = 499;

// Encodings every fetch implementation we target decodes by itself while keeping the header.
const DECODED_BY_FETCH = new Set(['gzip', 'x-gzip', 'deflate', 'br']);

function decodedByFetch(contentEncoding: string | null): boolean {
  if (contentEncoding === null) return false;
  return contentEncoding
    .split(',')
    .map((token) => token.trim().toLowerCase())
    .every((token) => token === 'identity' || DECODED_BY_FETCH.has(token));
}

/** Credentials in a URL are never sent (and fetch refuses them); the fragment is client-side only. */
export function requestUrl(target: URL): URL {
  const url = new URL(target);
  url.username = '';
  url.password = '';
  url.hash = '';
  return url;
}

/**
 * The portable path (Bun, Deno, `app.request()` in tests, HTTP/2 on Node): web fetch with a
 * streamed request body and the downstream's body handed back as the Response body.
 * On Node's HTTP/1 server use the undici forwarder instead: fetch costs ~5× the CPU there.
 */
export class FetchForwarder implements Forwarder {
  readonly #headersTimeoutMs: number;
  readonly #logger: Logger;
  readonly #fetch: typeof fetch;

  constructor(options: FetchForwarderOptions) {
    this.#headersTimeoutMs = options.headersTimeoutMs;
    this.#logger = options.logger;
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
  }

  async forward(c: Context, request: ForwardRequest): Promise<Response> {
    const { target } = request;
    const method = c.req.method;
    const headers = new Headers(request.headers);
    // The body is re-streamed (or re-sent from cache), so let fetch frame it.
    headers.delete('content-length');
    // fetch would decompress anyway; asking for identity spares both sides the work.
    headers.set('accept-encoding', 'identity');

    let body: BodyInit | null = null;
    if (method !== 'GET' && method !== 'HEAD') {
      body = bodyAlreadyRead(c) ? await cachedBody(c) : c.req.raw.body;
    }

    const clientSignal = c.req.raw.signal;
    const controller = new AbortController();
    const onClientAbort = () => controller.abort(clientSignal.reason);
    if (clientSignal.aborted) return new Response(null, { status: CLIENT_CLOSED_REQUEST });
    clientSignal.addEventListener('abort', onClientAbort, { once: true });
    const timer = setTimeout(
      () => controller.abort(new DownstreamHeadersTimeoutError(this.#headersTimeoutMs)),
      this.#headersTimeoutMs,
    );

    let response: Response;
    try {
      const init: RequestInit & { duplex: 'half' } = {
        method,
        headers,
        body,
        duplex: 'half',
        redirect: 'manual',
        signal: controller.signal,
      };
      response = await this.#fetch(requestUrl(target), init);
    } catch (error) {
      clientSignal.removeEventListener('abort', onClientAbort);
      if (clientSignal.aborted) {
        this.#logger.debug('client left before the downstream answered', { method });
        return new Response(null, { status: CLIENT_CLOSED_REQUEST });
      }
      const cause = controller.signal.aborted ? controller.signal.reason : error;
      return reportDownstreamFailure(this.#logger, target, method, cause);
    } finally {
      clearTimeout(timer);
    }

    if (response.status < 200 || response.status > 599) {
      await response.body?.cancel().catch(() => {});
      return reportDownstreamFailure(this.#logger, target, method, new Error(`unusable status ${response.status}`));
    }

    const forwarded = responseHeadersToForward(response.headers);
    if (response.status === 401 && request.unauthorizedChallenge) forwarded.set('www-authenticate', request.unauthorizedChallenge);
    if (decodedByFetch(response.headers.get('content-encoding'))) {
      forwarded.delete('content-encoding');
      forwarded.delete('content-length');
    }
    applyProxyHeaders(c, forwarded);

    const onInterrupted = (error: unknown) => {
      if (!clientSignal.aborted) reportInterruptedResponse(this.#logger, target, method, error);
    };
    const responseBody = response.body === null ? null : observeErrors(response.body, onInterrupted);
    return new Response(responseBody, { status: response.status, statusText: response.statusText, headers: forwarded });
  }

  async close(): Promise<void> {}
}

/** Passes a stream through chunk by chunk (no added buffering) and reports a read error before re-raising it. */
function observeErrors(body: ReadableStream<Uint8Array>, onError: (error: unknown) => void): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (error) {
        onError(error);
        controller.error(error);
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}
