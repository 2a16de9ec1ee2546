import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';

/** Request framing says there is a body (RFC 9112 §6.3); GET and DELETE usually have none. */
export function hasBody(incoming: IncomingMessage): boolean {
  const length = incoming.headers['content-length'];
  return incoming.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** Drops a downstream body nobody will read; destroying it also closes its connection. */
export function discard(body: Readable): void {
  body.on('error', () => {});
  body.destroy();
}
