import type { Answer } from '../domain/answer.js';
import type { HeaderSource } from '../domain/header-source.js';
import type { ForwardRequest } from '../proxy/forwarder.js';
import type { OutboundHeaderOptions, OutboundHeaders } from '../proxy/outbound-headers.js';
import type { BodyRead } from '../net/capped-body.js';

/** How a response left: its status, and what the runtime needs back (a web Response, or nothing on Node). */
export interface Sent<R> {
  readonly status: number;
  readonly result: R;
}

/**
 * One request as the route pipeline sees it, made by a runtime adapter over its own request and
 * response objects (Node's, or the web's). The pipeline reads plain values from it and hands it
 * plain values back: an answer of its own, or a request to forward.
 */
export interface Exchange<R> {
  readonly method: string;
  /** The request target as sent: path and query. */
  readonly target: string;
  readonly headers: HeaderSource;
  /** The headers for the downstream, built from the request's own as sent (see `outboundRequestHeaders`). */
  outboundHeaders(options: OutboundHeaderOptions): OutboundHeaders;
  /** The address of the socket's peer (the client, or the nearest reverse proxy), where the runtime knows it. */
  readonly peer: string | undefined;
  /**
   * Reads the body, at most `maxBytes` of it. After this the incoming stream is spent: the bytes
   * travel on as `ForwardRequest.body`. A refused body is drained, so the connection can still
   * carry the answer.
   */
  readBody(maxBytes: number): Promise<BodyRead>;
  /** Sends an answer of the proxy's own, with its response headers. */
  reply(answer: Answer, responseHeaders: Readonly<Record<string, string>>): R;
  /** Sends the request on, and the downstream's answer back (or the proxy's 502/504). */
  forward(request: ForwardRequest): Promise<Sent<R>>;
  /** Whether a response head can still be sent (an unexpected failure is answered 500 only then). */
  canReply(): boolean;
  /**
   * Runs `task` once the response is on its way, and on Node once its body is sent too (a stream
   * that stays open is not waited for past a bound): what only the record needs (log lines, audit,
   * metrics) does not hold back the bytes the client waits for. `task` must not throw.
   */
  afterResponse(task: () => void): void;
}
