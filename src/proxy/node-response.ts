import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';

/**
 * Hono may still try to write the handler's result after the forwarder wrote directly: when a
 * middleware touched `c.res` before `next()` (hono/cors does) or calls `c.header()` after it,
 * Hono clones RESPONSE_ALREADY_SENT, the clone loses the "already sent" meaning in
 * @hono/node-server, which then calls writeHead() and end() and, when writeHead throws,
 * end('Error: …'), cutting the proxied stream. Here a second head is ignored, and so is any
 * end() before the body piped into the response (`source`) has ended; the pipe's own end()
 * comes after its 'end'.
 * Must be installed before `pipe()` so this 'end' listener runs before the pipe's.
 */
export function shieldFromLateWrites(outgoing: ServerResponse, source: Readable): () => void {
  let bodyEnded = false;
  source.once('end', () => {
    bodyEnded = true;
  });
  const end = outgoing.end;
  outgoing.writeHead = function ignoreSecondHead(this: ServerResponse) {
    return this;
  } as ServerResponse['writeHead'];
  outgoing.end = function endAfterBody(this: ServerResponse, ...args: unknown[]) {
    return bodyEnded ? (end as (...a: unknown[]) => ServerResponse).apply(this, args) : this;
  } as ServerResponse['end'];
  // Shutdown's way to end the stream cleanly before the downstream body has ended.
  return () => {
    if (!outgoing.writableEnded) (end as () => ServerResponse).call(outgoing);
  };
}

/** Drops a downstream body nobody will read; destroying it also closes its connection. */
export function discard(body: Readable): void {
  body.on('error', () => {});
  body.destroy();
}
