import type { Logger } from '../observability/logger.js';
import { rewriterStream } from './body-rewriter.js';
import {
  describeTarget,
  DownstreamHeadersTimeoutError,
  reportDownstreamFailure,
  reportInterruptedResponse,
} from './failures.js';
import { clientSessionId, isEventStream, type BodyRewriter, type ForwardRequest, type Forwarder, type WebIncoming } from './forwarder.js';
import { responseHeadersToForward, type OutboundHeaders } from './outbound-headers.js';
import { retryHeadersFor } from './unauthorized-retry.js';
import { answerResponse } from './web-answer.js';

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
 * The portable path (Bun, Deno, the web adapter in-process): web fetch with a
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

  async forward(request: ForwardRequest, incoming: WebIncoming): Promise<Response> {
    const { target, method } = request;
    const failed = (error: unknown) => answerResponse(reportDownstreamFailure(this.#logger, target, method, error, request), request.responseHeaders);

    let body: BodyInit | null = null;
    if (method !== 'GET' && method !== 'HEAD') body = request.body === undefined ? incoming.body : asBodyInit(request.body);
    // A stream can be sent once; bytes (or nothing) can be sent again after a 401.
    const replayable = body === null || body instanceof Uint8Array;

    const clientSignal = incoming.signal;
    if (clientSignal.aborted) return new Response(null, { status: CLIENT_CLOSED_REQUEST });

    let sent = await this.#send(request, request.headers, body, clientSignal);
    if (sent.response?.status === 401 && replayable && request.retryOnUnauthorized !== undefined) {
      const retryHeaders = await retryHeadersFor(request, this.#logger, target, method);
      if (retryHeaders !== undefined) {
        await sent.response.body?.cancel().catch(() => {});
        sent = await this.#send(request, retryHeaders, body, clientSignal);
      }
    }
    if (sent.response === undefined) return sent.answer;
    const { response } = sent;

    if (response.status < 200 || response.status > 599) {
      await response.body?.cancel().catch(() => {});
      return failed(new Error(`unusable status ${response.status}`));
    }

    const forwarded = responseHeadersToForward(response.headers);
    if (response.status === 401 && request.unauthorizedChallenge) forwarded.set('www-authenticate', request.unauthorizedChallenge);
    try {
      const sessionId = clientSessionId(request, forwarded.get('mcp-session-id'));
      if (sessionId !== undefined) forwarded.set('mcp-session-id', await sessionId);
    } catch (error) {
      // The downstream's own session id must not reach the client in its place.
      await response.body?.cancel().catch(() => {});
      return failed(error);
    }
    const decoded = decodedByFetch(response.headers.get('content-encoding'));
    if (decoded) {
      forwarded.delete('content-encoding');
      forwarded.delete('content-length');
    }
    for (const name in request.responseHeaders) forwarded.set(name, request.responseHeaders[name]!);

    let responseBody: ReadableStream<Uint8Array> | null = response.body;
    if (responseBody !== null && request.transformResponse !== undefined && method !== 'HEAD') {
      let rewriter: BodyRewriter | undefined;
      try {
        rewriter = request.transformResponse(response.status, response.headers);
      } catch (error) {
        // A failing rewrite must not let the unrewritten body through.
        await responseBody.cancel().catch(() => {});
        return failed(error);
      }
      if (rewriter !== undefined && (decoded || response.headers.get('content-encoding') === null)) {
        forwarded.delete('content-length');
        responseBody = responseBody.pipeThrough(rewriterStream(rewriter));
      } else if (rewriter !== undefined) {
        this.#logger.warn('downstream response not rewritten: unknown content-encoding', {
          method,
          downstream: describeTarget(target),
          encoding: response.headers.get('content-encoding'),
        });
      }
    }

    const onInterrupted = (error: unknown) => {
      if (!clientSignal.aborted) reportInterruptedResponse(this.#logger, target, method, error, request);
    };
    // An event stream is open until its body ends, fails, or is cancelled (the client left).
    const streamClosed = responseBody !== null && isEventStream(forwarded.get('content-type')) ? request.observer?.streamOpened?.() : undefined;
    const observed = responseBody === null ? null : observeErrors(responseBody, onInterrupted, streamClosed);
    return new Response(observed, { status: response.status, statusText: response.statusText, headers: forwarded });
  }

  /** One request to the downstream, timed until its response headers; a failure comes back as the answer to give. */
  async #send(
    request: ForwardRequest,
    requestHeaders: Readonly<OutboundHeaders>,
    body: BodyInit | null,
    clientSignal: AbortSignal,
  ): Promise<{ response: Response; answer?: never } | { response?: never; answer: Response }> {
    const { method, target } = request;
    const headers = new Headers(requestHeaders);
    // The body is re-streamed (or re-sent from bytes), so let fetch frame it.
    headers.delete('content-length');
    // fetch would decompress anyway; asking for identity spares both sides the work.
    headers.set('accept-encoding', 'identity');

    const controller = new AbortController();
    const onClientAbort = () => controller.abort(clientSignal.reason);
    if (clientSignal.aborted) return { answer: new Response(null, { status: CLIENT_CLOSED_REQUEST }) };
    clientSignal.addEventListener('abort', onClientAbort, { once: true });
    const timer = setTimeout(
      () => controller.abort(new DownstreamHeadersTimeoutError(this.#headersTimeoutMs)),
      this.#headersTimeoutMs,
    );
    try {
      const init: RequestInit & { duplex: 'half' } = {
        method,
        headers,
        body,
        duplex: 'half',
        redirect: 'manual',
        signal: controller.signal,
      };
      return { response: await this.#fetch(requestUrl(target), init) };
    } catch (error) {
      clientSignal.removeEventListener('abort', onClientAbort);
      if (clientSignal.aborted) {
        this.#logger.debug('client left before the downstream answered', { method });
        return { answer: new Response(null, { status: CLIENT_CLOSED_REQUEST }) };
      }
      const cause = controller.signal.aborted ? controller.signal.reason : error;
      return { answer: answerResponse(reportDownstreamFailure(this.#logger, target, method, cause, request), request.responseHeaders) };
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {}
}

/** fetch takes bytes backed by an ArrayBuffer; anything else (a SharedArrayBuffer view) is copied. */
function asBodyInit(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);
}

/**
 * Passes a stream through chunk by chunk (no added buffering) and reports a read error before
 * re-raising it; `onEnd` (once) when the stream ends, fails or is cancelled.
 */
function observeErrors(body: ReadableStream<Uint8Array>, onError: (error: unknown) => void, onEnd?: () => void): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  // A cancel while a read is pending settles that read: the stream is gone, nothing to report.
  let cancelled = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (cancelled) return;
        if (done) {
          onEnd?.();
          controller.close();
        } else controller.enqueue(value);
      } catch (error) {
        if (cancelled) return;
        onEnd?.();
        onError(error);
        controller.error(error);
      }
    },
    cancel(reason) {
      cancelled = true;
      onEnd?.();
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}
