import { concatBytes } from '../crypto/encoding.js';
import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';
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

function declaredTooLarge(c: Context, maxBytes: number): boolean {
  const declared = c.req.header('content-length');
  return declared !== undefined && Number(declared) > maxBytes;
}


/** Straight from Node's IncomingMessage: no web stream in between (the hot path on Node). */
function readIncoming(incoming: IncomingMessage, maxBytes: number): Promise<ReadBodyResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const finish = (result: ReadBodyResult) => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onAbort);
      incoming.off('close', onAbort);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      total += chunk.byteLength;
      if (total > maxBytes) {
        finish({ ok: false, reason: 'too_large' });
        incoming.resume(); // discard the rest so the connection stays usable for the answer
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => finish({ ok: true, body: concatBytes(chunks, total) });
    const onAbort = () => {
      if (!incoming.readableEnded) finish({ ok: false, reason: 'aborted' });
    };
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onAbort);
    incoming.on('close', onAbort);
  });
}

async function readWeb(stream: ReadableStream<Uint8Array>, maxBytes: number): Promise<ReadBodyResult> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { ok: true, body: concatBytes(chunks, total) };
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel().catch(() => {});
        return { ok: false, reason: 'too_large' };
      }
      chunks.push(value);
    }
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
  if (declaredTooLarge(c, maxBytes)) return { ok: false, reason: 'too_large' };

  let result: ReadBodyResult;
  const incoming = (c.env as { incoming?: unknown } | undefined)?.incoming;
  if (bodyAlreadyRead(c)) {
    const body = await cachedBody(c);
    result = body.byteLength > maxBytes ? { ok: false, reason: 'too_large' } : { ok: true, body };
  } else if (isIncomingMessage(incoming) && untouched(incoming)) {
    result = await readIncoming(incoming, maxBytes);
  } else if (c.req.raw.body === null) {
    result = { ok: true, body: new Uint8Array(0) };
  } else {
    result = await readWeb(c.req.raw.body, maxBytes);
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
