import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HeaderSource } from '../domain/header-source.js';
import { readCappedNode, settleBodyRead } from '../net/capped-body.js';
import { writeAnswer } from '../proxy/node-answer.js';
import { lowercaseRawNames, outboundRequestHeadersFromRaw } from '../proxy/outbound-headers.js';
import type { UndiciForwarder } from '../proxy/undici-forwarder.js';
import type { Exchange } from './exchange.js';

/**
 * Node's raw header list ([name, value, name, value …]) looked up the way web `Headers` does:
 * names in any case, repeats joined with ", ". Names are lowercased once per request, on first
 * use, for lookups and for the downstream's headers alike.
 */
class RawHeaders implements HeaderSource {
  readonly raw: readonly string[];
  #names: readonly string[] | undefined;
  #byName: Record<string, string> | undefined;
  constructor(raw: readonly string[]) {
    this.raw = raw;
  }
  /** The names, lowercased, one per name and value pair. */
  names(): readonly string[] {
    return (this.#names ??= lowercaseRawNames(this.raw));
  }
  get(name: string): string | null {
    if (this.#byName === undefined) {
      const names = this.names();
      const byName: Record<string, string> = Object.create(null) as Record<string, string>;
      for (let i = 0; i < names.length; i++) {
        const key = names[i]!;
        const existing = byName[key];
        byName[key] = existing === undefined ? this.raw[2 * i + 1]! : `${existing}, ${this.raw[2 * i + 1]!}`;
      }
      this.#byName = byName;
    }
    return this.#byName[name.toLowerCase()] ?? null;
  }
}

/** The Node adapter: node:http's request and response, forwarded with undici and relayed straight through. */
export function nodeExchange(incoming: IncomingMessage, outgoing: ServerResponse, forwarder: UndiciForwarder): Exchange<void> {
  const headers = new RawHeaders(incoming.rawHeaders);
  return {
    method: incoming.method ?? 'GET',
    target: incoming.url ?? '/',
    headers,
    outboundHeaders: (options) => outboundRequestHeadersFromRaw(headers.raw, options, headers.names()),
    peer: incoming.socket.remoteAddress,
    readBody: (maxBytes) =>
      settleBodyRead(readCappedNode(incoming, maxBytes, { declaredLength: headers.get('content-length'), letGo: (stream) => stream.resume() })),
    reply: (answer, responseHeaders) => writeAnswer(outgoing, answer, responseHeaders),
    async forward(request) {
      return { status: await forwarder.forwardNode(request, { incoming, outgoing }), result: undefined };
    },
    canReply: () => !outgoing.headersSent && !outgoing.destroyed,
    afterResponse: (task) => afterSent(outgoing, task),
  };
}

/** How long the record of a response whose body is still coming waits for its end: a stream still open then is recorded while it runs. */
const OPEN_RESPONSE_RECORD_MS = 1000;

/**
 * Runs `task` once `outgoing` is sent. A body that came with the downstream's head is relayed
 * before the forward resolves, and an immediate runs after it. A body still coming when the head
 * went out (an SDK server writes an event stream's head, then its event) is waited for: the task
 * would otherwise run between the two, while the client waits for the event. A response still
 * open after OPEN_RESPONSE_RECORD_MS is a stream that stays open, and is not waited for longer.
 */
function afterSent(outgoing: ServerResponse, task: () => void): void {
  if (outgoing.writableFinished || outgoing.closed) {
    setImmediate(task);
    return;
  }
  // Whichever comes first takes the other away: the task runs once.
  const run = () => {
    clearTimeout(timer);
    outgoing.off('close', run);
    task();
  };
  const timer = setTimeout(run, OPEN_RESPONSE_RECORD_MS).unref();
  outgoing.once('close', run);
}
