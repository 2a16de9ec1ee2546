/**
 * Every body the proxy holds in memory (a request to parse or inspect, an answer from the
 * provider, a token endpoint or a client's document) is read by one rule:
 * - a declared Content-Length above the cap refuses the body before a byte is read;
 * - the count is checked again on every chunk, because the length may be absent (chunked) or false;
 * - once past the cap, reading stops, nothing read is kept, and the rest is let go without
 *   waiting for it (a cancelled stream may never settle);
 * - a failure while reading (an abort, a reset, a timeout) reaches the caller, which names it.
 * Both readers give the body, or `undefined` when it is larger than the cap.
 */
import { concatBytes } from '../crypto/encoding.js';

/** The sender declared a Content-Length above `maxBytes`. */
export function declaresMoreThan(contentLength: string | null | undefined, maxBytes: number): boolean {
  return contentLength !== null && contentLength !== undefined && Number(contentLength) > maxBytes;
}

export interface CappedStreamOptions {
  readonly declaredLength?: string | null | undefined;
  /**
   * Ends the read with the signal's reason. Not every stream (a fetch wrapper's, a mock's) is
   * tied to the signal of its request, and a stalled body must still time out.
   */
  readonly signal?: AbortSignal | undefined;
}

/** A web stream (the body of a fetch `Request` or `Response`), read up to `maxBytes`. */
export async function readCappedStream<B extends ArrayBufferLike>(
  stream: ReadableStream<Uint8Array<B>> | null,
  maxBytes: number,
  options: CappedStreamOptions = {},
): Promise<Uint8Array<B | ArrayBuffer> | undefined> {
  if (declaresMoreThan(options.declaredLength, maxBytes)) {
    void stream?.cancel().catch(() => undefined);
    return undefined;
  }
  if (stream === null) return new Uint8Array(0);
  const reader = stream.getReader();
  const { signal } = options;
  let onAbort = () => {};
  const aborted =
    signal &&
    new Promise<never>((_resolve, reject) => {
      onAbort = () => reject(signal.reason);
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
  aborted?.catch(() => undefined);
  const chunks: Uint8Array<B>[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await (aborted ? Promise.race([reader.read(), aborted]) : reader.read());
      if (done) return concatBytes(chunks, total);
      total += value.byteLength;
      if (total > maxBytes) {
        void reader.cancel().catch(() => undefined);
        return undefined;
      }
      chunks.push(value);
    }
  } catch (error) {
    void reader.cancel().catch(() => undefined);
    throw error;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/** What is used of a Node readable (an `IncomingMessage`, undici's response body), so no Node types are needed. */
export interface NodeReadable {
  on(event: 'data', listener: (chunk: Uint8Array) => void): unknown;
  on(event: 'end' | 'close', listener: () => void): unknown;
  on(event: 'error', listener: (error: unknown) => void): unknown;
  off(event: 'data', listener: (chunk: Uint8Array) => void): unknown;
  off(event: 'end' | 'close', listener: () => void): unknown;
  off(event: 'error', listener: (error: unknown) => void): unknown;
  readonly readableEnded: boolean;
}

export interface CappedNodeOptions<S> {
  readonly declaredLength?: string | null | undefined;
  /**
   * How the unread rest is let go once the body is refused: a server drains a request so the
   * connection can still carry the answer; a client destroys a response it will not read.
   */
  readonly letGo: (stream: S) => void;
}

/** A Node stream read from its events, with no web stream in between (the hot path on Node). */
export function readCappedNode<S extends NodeReadable>(stream: S, maxBytes: number, options: CappedNodeOptions<S>): Promise<Uint8Array | undefined> {
  if (declaresMoreThan(options.declaredLength, maxBytes)) {
    options.letGo(stream);
    return Promise.resolve(undefined);
  }
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    let total = 0;
    const stop = () => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('close', onClose);
    };
    const onData = (chunk: Uint8Array) => {
      total += chunk.byteLength;
      if (total > maxBytes) {
        stop();
        options.letGo(stream);
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      stop();
      resolve(concatBytes(chunks, total));
    };
    const onError = (error: unknown) => {
      stop();
      reject(error);
    };
    const onClose = () => {
      if (!stream.readableEnded) onError(new Error('The stream closed before its end.'));
    };
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('close', onClose);
  });
}

/** A capped read of a request body as its reader sees it: the body, too large, or cut off by the client. */
export type BodyRead =
  | { readonly ok: true; readonly body: Uint8Array }
  | { readonly ok: false; readonly reason: 'too_large' | 'aborted' };

/** A capped read as a `BodyRead`: a request body whose read failed was cut off by the client, not by the proxy. */
export async function settleBodyRead(read: Promise<Uint8Array | undefined>): Promise<BodyRead> {
  try {
    const body = await read;
    return body === undefined ? { ok: false, reason: 'too_large' } : { ok: true, body };
  } catch {
    return { ok: false, reason: 'aborted' };
  }
}
