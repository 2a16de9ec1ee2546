import type { Context } from 'hono';
import type { IncomingMessage } from 'node:http';
import { clientAddressFrom } from './serve-common.js';

/**
 * The caller's address on Node: the socket's, or with `hops` trusted reverse
 * proxies in front, the X-Forwarded-For entry the outermost of them appended.
 * Entries further left are client-supplied and never trusted.
 */
export function nodeClientAddress(hops: number): (c: Context) => string | undefined {
  return clientAddressFrom(hops, (c) => (c.env as { incoming?: IncomingMessage } | undefined)?.incoming?.socket?.remoteAddress);
}
