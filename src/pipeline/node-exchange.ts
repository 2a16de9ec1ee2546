import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HeaderSource } from '../domain/header-source.js';
import { readCappedNode, settleBodyRead } from '../net/capped-body.js';
import { writeAnswer } from '../proxy/node-answer.js';
import { outboundRequestHeadersFromRaw } from '../proxy/outbound-headers.js';
import type { UndiciForwarder } from '../proxy/undici-forwarder.js';
import type { Exchange } from './exchange.js';

/**
 * Node's raw header list ([name, value, name, value …]) looked up the way web `Headers` does:
 * names in any case, repeats joined with ", ". Built on first lookup, once per request.
 */
class RawHeaders implements HeaderSource {
  readonly #raw: readonly string[];
  #byName: Record<string, string> | undefined;
  constructor(raw: readonly string[]) {
    this.#raw = raw;
  }
  get(name: string): string | null {
    if (this.#byName === undefined) {
      const byName: Record<string, string> = Object.create(null) as Record<string, string>;
      for (let i = 0; i + 1 < this.#raw.length; i += 2) {
        const key = this.#raw[i]!.toLowerCase();
        const existing = byName[key];
        byName[key] = existing === undefined ? this.#raw[i + 1]! : `${existing}, ${this.#raw[i + 1]!}`;
      }
      this.#byName = byName;
    }
    return this.#byName[name.toLowerCase()] ?? null;
  }
}

/** The Node adapter: node:http's request and response, forwarded with undici and piped straight through. */
export function nodeExchange(incoming: IncomingMessage, outgoing: ServerResponse, forwarder: UndiciForwarder): Exchange<void> {
  const headers = new RawHeaders(incoming.rawHeaders);
  return {
    method: incoming.method ?? 'GET',
    target: incoming.url ?? '/',
    headers,
    outboundHeaders: (options) => outboundRequestHeadersFromRaw(incoming.rawHeaders, options),
    peer: incoming.socket.remoteAddress,
    readBody: (maxBytes) =>
      settleBodyRead(readCappedNode(incoming, maxBytes, { declaredLength: headers.get('content-length'), letGo: (stream) => stream.resume() })),
    reply: (answer, responseHeaders) => writeAnswer(outgoing, answer, responseHeaders),
    async forward(request) {
      return { status: await forwarder.forwardNode(request, { incoming, outgoing }), result: undefined };
    },
    canReply: () => !outgoing.headersSent && !outgoing.destroyed,
  };
}
