import type { BodyRewriter } from './forwarder.js';

/** A web TransformStream around a BodyRewriter (the fetch path and other runtimes). */
export function rewriterStream(rewriter: BodyRewriter): TransformStream<Uint8Array, Uint8Array> {
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      for (const out of rewriter.push(chunk)) controller.enqueue(out);
    },
    flush(controller) {
      for (const out of rewriter.end()) controller.enqueue(out);
    },
  });
}

// Encodings the rewriters can see through: fetch decodes these itself, the undici path with zlib.
const DECODABLE = new Set(['gzip', 'x-gzip', 'deflate', 'br']);

/** The codings of a Content-Encoding value, outermost last; empty for none or identity. */
export function contentCodings(value: string | null | undefined): string[] {
  if (value === null || value === undefined) return [];
  return value
    .split(',')
    .map((token) => token.trim().toLowerCase())
    .filter((token) => token !== '' && token !== 'identity');
}

/** Can a body with this Content-Encoding be decoded for rewriting? */
export function decodableEncoding(value: string | null | undefined): boolean {
  return contentCodings(value).every((coding) => DECODABLE.has(coding));
}
