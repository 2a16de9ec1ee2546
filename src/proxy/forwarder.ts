import type { Context } from 'hono';

/** What the MCP layer hands to forwarding once the caller is authorized. */
export interface ForwardRequest {
  /** Full downstream URL: the route's downstream origin and path plus the incoming query string. */
  readonly target: URL;
  /** Outbound request headers, already stripped of the client's credentials and given the downstream's. */
  readonly headers: Headers;
  /**
   * The proxy's own challenge, sent in place of the downstream's WWW-Authenticate when
   * the downstream answers 401: the client must come back to the proxy for a new token,
   * never go looking for the downstream's authorization server.
   */
  readonly unauthorizedChallenge?: string;
}

/**
 * Streams one request to the downstream and its response back, JSON or SSE,
 * without buffering either body. Implementations: undici on Node, fetch elsewhere.
 */
export interface Forwarder {
  forward(c: Context, request: ForwardRequest): Promise<Response>;
  close(): Promise<void>;
}
