import type { Context } from 'hono';
import type { IncomingMessage } from 'node:http';

/** The address of the socket's peer on Node: the client, or the nearest reverse proxy. */
export function nodePeerAddress(c: Context): string | undefined {
  return (c.env as { incoming?: IncomingMessage } | undefined)?.incoming?.socket?.remoteAddress;
}
