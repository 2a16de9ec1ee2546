import type { OutboundHeaders } from './outbound-headers.js';

/**
 * A synchronous, incremental rewrite of a response body: bytes in, bytes out. It may hold
 * back an incomplete unit (an SSE event, a JSON document) until it is complete. Runtime-free,
 * so each forwarder wraps it in its own stream type (Node `Transform`, web `TransformStream`).
 */
export interface BodyRewriter {
  push(chunk: Uint8Array): readonly Uint8Array[];
  /** The body ended: whatever is still held. */
  end(): readonly Uint8Array[];
}

/**
 * Chooses a rewrite for a downstream response from its status and headers, or none.
 * A rewritten response loses `content-length` (and `content-encoding` once decoded).
 */
export type ResponseRewrite = (status: number, headers: Headers) => BodyRewriter | undefined;

/** What a forwarder reports about one exchange (for metrics); every part is optional. */
export interface ForwardObserver {
  /** A failure talking to the downstream, before or after the response head (see `downstreamErrorKind`). */
  downstreamError?(kind: string): void;
  /** An event stream to the client starts; the returned function is called when it ends, however it ends. */
  streamOpened?(): () => void;
}

/** What failure reports carry besides the error: the request's id for the log, the observer. */
export interface FailureContext {
  readonly requestId?: string;
  readonly observer?: ForwardObserver;
}

// The media type alone, in any case, with optional whitespace and parameters (RFC 9110 §8.3.1).
const EVENT_STREAM = /^\s*text\/event-stream\s*(?:;|$)/i;

/** Is this response an event stream (SSE), by its content type? */
export function isEventStream(contentType: string | readonly string[] | null | undefined): boolean {
  const value = Array.isArray(contentType) ? contentType[0] : contentType;
  return typeof value === 'string' && EVENT_STREAM.test(value);
}

/** What the route pipeline hands to forwarding once the caller is authorized: plain values, no runtime objects. */
export interface ForwardRequest extends FailureContext {
  readonly method: string;
  /** Full downstream URL: the route's downstream origin and path plus the incoming query string. */
  readonly target: URL;
  /** Outbound request headers, already stripped of the client's credentials and given the downstream's. */
  readonly headers: Readonly<OutboundHeaders>;
  /**
   * The proxy's own response headers (request id, CORS …), set over the downstream's. Lowercase
   * names; never `set-cookie`.
   */
  readonly responseHeaders: Readonly<Record<string, string>>;
  /**
   * The proxy's own challenge, sent in place of the downstream's WWW-Authenticate when
   * the downstream answers 401: the client must come back to the proxy for a new token,
   * never go looking for the downstream's authorization server.
   */
  readonly unauthorizedChallenge?: string;
  /**
   * The request body when the pipeline read it (to inspect it): sent instead of the incoming
   * stream, with its own content-length. Ignored for GET and HEAD. Without it the incoming
   * stream is streamed through untouched.
   */
  readonly body?: Uint8Array;
  /** Rewrites the response body (e.g. filtering `tools/list`); SSE still streams event by event. */
  readonly transformResponse?: ResponseRewrite;
  /**
   * Called once when the downstream answers 401 and the body can be replayed (given as bytes,
   * already read, or absent). Returning headers resends the request once with them, in full
   * place of `headers` (the 401 is discarded); returning undefined forwards the 401.
   */
  readonly retryOnUnauthorized?: () => Promise<Readonly<OutboundHeaders> | undefined>;
  /** What the client gets in place of the downstream's `Mcp-Session-Id` (see `clientSessionId`); without it, that id. */
  readonly sessionId?: (downstreamId: string) => Promise<string>;
}

/**
 * The `Mcp-Session-Id` the client gets for the downstream's response header, when the request
 * replaces it (else undefined, with nothing to wait for: the header passes as it is). One rule
 * for every forwarder: a repeated header is taken joined, as fetch's `Headers` joins it.
 */
export function clientSessionId(
  request: ForwardRequest,
  downstream: string | readonly string[] | null | undefined,
): Promise<string> | undefined {
  if (request.sessionId === undefined || downstream === null || downstream === undefined) return undefined;
  return request.sessionId(typeof downstream === 'string' ? downstream : downstream.join(', '));
}

/** The incoming side of an exchange on the portable path: its body stream, and a signal for the client leaving. */
export interface WebIncoming {
  readonly body: ReadableStream<Uint8Array> | null;
  readonly signal: AbortSignal;
}

/**
 * Streams one request to the downstream and its response back, JSON or SSE, without
 * buffering either body. This is the portable contract (web streams in, a Response out);
 * the Node adapter's undici forwarder also writes straight to Node's response.
 */
export interface Forwarder {
  forward(request: ForwardRequest, incoming: WebIncoming): Promise<Response>;
  close(): Promise<void>;
}
