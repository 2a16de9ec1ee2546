import { Transform } from 'node:stream';
import type { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { contentCodings } from './body-rewriter.js';
import type { BodyRewriter } from './forwarder.js';

/** A Node Transform around a BodyRewriter (the undici path pipes Node streams). */
export function rewriterTransform(rewriter: BodyRewriter): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      try {
        for (const out of rewriter.push(chunk)) this.push(out);
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    flush(callback) {
      try {
        for (const out of rewriter.end()) this.push(out);
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
  });
}

/** zlib decoders for a Content-Encoding (innermost first), to rewrite what a downstream compressed anyway. */
export function nodeDecoders(contentEncoding: string | string[] | undefined): Transform[] {
  const value = Array.isArray(contentEncoding) ? contentEncoding.join(',') : contentEncoding;
  return contentCodings(value)
    .reverse()
    .map((coding) => (coding === 'br' ? createBrotliDecompress() : coding === 'deflate' ? createInflate() : createGunzip()));
}

/** Pipes `source` through `stages` with `.pipe()` (not `pipeline`, measured slower), returning the last stream. */
export function pipeStages(source: Readable, stages: readonly Transform[]): Readable {
  let current: Readable = source;
  for (const stage of stages) current = current.pipe(stage);
  return current;
}
