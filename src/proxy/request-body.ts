import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';
import { declaresMoreThan, readCappedNode, readCappedStream } from '../net/capped-body.js';
import { bodyAlreadyRead, cachedBody } from './context.js';

export type ReadBodyResult =
  | { readonly ok: true; readonly body: Uint8Array }
  | { readonly ok: false; readonly reason: 'too_large' | 'aborted' };

/** Request framing says there is a body (RFC 9112 §6.3); GET and DELETE usually have none. */
export function hasBody(incoming: IncomingMessage): boolean {
  const length = incoming.headers['content-length'];
  return incoming.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** Nobody has read from or attached to the raw request stream yet, so it can be handed to undici. */
export function untouched(incoming: IncomingMessage): boolean {
  return incoming.readableFlowing === null && !incoming.readableDidRead && !incoming.readableEnded;
}

/** Node's request stream, recognized without importing node:http (this module also serves the portable path). */
function isIncomingMessage(value: unknown): value is IncomingMessage {
  const candidate = value as Partial<IncomingMessage> | null | undefined;
  return typeof candidate?.on === 'function' && typeof candidate.headers === 'object' && 'readableFlowing' in candidate;
}

// Bodies read here, so a forwarder given no explicit `body` re-sends them instead of a spent stream.
const readBodies = new WeakMap<Request, Uint8Array>();

/** The body `readRequestBody` read for this request, if it did. */
export function bodyReadEarlier(c: Context): Uint8Array | undefined {
  return readBodies.get(c.req.raw);
}

/** A capped read as this module's result: a read that failed is the client's abort, not our error. */
async function settle(read: Promise<Uint8Array | undefined>): Promise<ReadBodyResult> {
  try {
    const body = await read;
    return body === undefined ? { ok: false, reason: 'too_large' } : { ok: true, body };
  } catch {
    return { ok: false, reason: 'aborted' };
  }
}

/**
 * Reads the request body, at most `maxBytes` of it, for inspection. On Node it reads the raw
 * IncomingMessage directly; elsewhere the web stream. The body is remembered for the
 * forwarders, so passing it as `ForwardRequest.body` is optional (but clearer).
 */
export async function readRequestBody(c: Context, maxBytes: number): Promise<ReadBodyResult> {
  const earlier = readBodies.get(c.req.raw);
  if (earlier !== undefined) return { ok: true, body: earlier };
  if (declaresMoreThan(c.req.header('content-length'), maxBytes)) return { ok: false, reason: 'too_large' };

  let result: ReadBodyResult;
  const incoming = (c.env as { incoming?: unknown } | undefined)?.incoming;
  if (bodyAlreadyRead(c)) {
    const body = await cachedBody(c);
    result = body.byteLength > maxBytes ? { ok: false, reason: 'too_large' } : { ok: true, body };
  } else if (isIncomingMessage(incoming) && untouched(incoming)) {
    // Straight from Node's stream, no web stream in between (the hot path on Node); the rest of
    // a refused body is drained so that the connection can still carry the answer.
    result = await settle(readCappedNode(incoming, maxBytes, { letGo: (stream) => stream.resume() }));
  } else {
    result = await settle(readCappedStream(c.req.raw.body, maxBytes));
  }
  if (result.ok) readBodies.set(c.req.raw, result.body);
  return result;
}

/**
 * The request body as bytes when something already consumed the stream: the caller's own
 * `body`, one `readRequestBody` read, or Hono's body cache (`c.req.json()` …). `undefined`
 * means the incoming stream is untouched and can be streamed through.
 */
export async function bodyAsBytes(c: Context, explicit: Uint8Array | undefined): Promise<Uint8Array | undefined> {
  if (explicit !== undefined) return explicit;
  const earlier = readBodies.get(c.req.raw);
  if (earlier !== undefined) return earlier;
  return bodyAlreadyRead(c) ? cachedBody(c) : undefined;
}
