import { createServer } from 'node:net';

/**
 * A loopback port held by a listening socket until `release()`, for a server whose public URL
 * must be known before it starts: releasing right before that server listens leaves other
 * sockets of the machine (outgoing connections take ports from the same range) no time to take it.
 * Releasing twice is releasing once.
 */
export async function reservePort(): Promise<{ port: number; release(): Promise<void> }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  let released: Promise<void> | undefined;
  return { port, release: () => (released ??= new Promise<void>((resolve) => server.close(() => resolve()))) };
}

/** A port that was free a moment ago, for servers whose public URL must be known before they listen. */
export async function freePort(): Promise<number> {
  const reserved = await reservePort();
  await reserved.release();
  return reserved.port;
}
