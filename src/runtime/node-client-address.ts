import type { Context } from 'hono';
import type { IncomingMessage } from 'node:http';

/**
 * The caller's address on Node: the socket's, or with `hops` trusted reverse
 * proxies in front, the X-Forwarded-For entry the outermost of them appended.
 * Entries further left are client-supplied and never trusted.
 */
export function nodeClientAddress(hops: number): (c: Context) => string | undefined {
  return (c) => {
    const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
    const socketAddress = incoming?.socket?.remoteAddress;
    if (hops === 0) return socketAddress;
    const forwarded = (c.req.header('x-forwarded-for') ?? '').split(',').map((part) => part.trim()).filter(Boolean);
    return forwarded[forwarded.length - hops] ?? socketAddress;
  };
}
