import type { IncomingMessage } from 'node:http';

/** Request framing says there is a body (RFC 9112 §6.3); GET and DELETE usually have none. */
export function hasBody(incoming: IncomingMessage): boolean {
  const length = incoming.headers['content-length'];
  return incoming.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}
