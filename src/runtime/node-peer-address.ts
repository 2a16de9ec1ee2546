import type { IncomingMessage } from 'node:http';

/** The address of the socket's peer on Node, for requests served through the web handler: the client, or the nearest reverse proxy. */
export function nodePeerAddress(_request: Request, env: unknown): string | undefined {
  return (env as { incoming?: IncomingMessage } | undefined)?.incoming?.socket?.remoteAddress;
}
