import { serve } from '@hono/node-server';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config/schema.js';
import type { Clock } from '../crypto/capsule.js';
import { createApp } from '../http/app.js';
import { endpointsFor } from '../oauth/endpoints.js';
import type { Logger } from '../observability/logger.js';
import { createForwarder } from '../proxy/index.js';
import { buildDeps } from './deps.js';
import { nodeClientAddress } from './node-client-address.js';

export interface RunningProxy {
  /** Where the server actually listens (the port resolved when 0 was asked for). */
  readonly listenUrl: string;
  close(graceMs?: number): Promise<void>;
}

const DEFAULT_GRACE_MS = 10_000;

/** Starts the proxy on Node: undici forwarding, node:http server, graceful close. */
export async function startNodeProxy(config: Config, logger: Logger, options: { clock?: Clock } = {}): Promise<RunningProxy> {
  const deps = await buildDeps(config, {
    logger,
    createForwarder: (headersTimeoutMs) => createForwarder({ runtime: 'node', headersTimeoutMs, logger }),
    clientAddress: nodeClientAddress(config.trustProxyHops),
    ...options,
  });
  const app = createApp(deps);

  const server = await new Promise<Server>((resolve, reject) => {
    const created = serve({ fetch: app.fetch, hostname: config.host, port: config.port }, () => resolve(created as Server));
    created.once('error', reject);
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  // Discovery may finish after listening; a failure is retried on the first login.
  for (const upstream of deps.upstreamClients) {
    upstream.ready().then(
      () => logger.info('upstream provider ready'),
      (error: unknown) => logger.warn('upstream discovery failed; retrying on the next sign-in', { error }),
    );
  }

  const endpoints = endpointsFor(config);
  logger.info('mcp-capsule listening', {
    listen: `http://${host}:${address.port}`,
    issuer: endpoints.issuer,
    mcp_urls: endpoints.routes.map((route) => route.resource),
    upstream_redirect_uri: endpoints.callback,
  });

  return {
    listenUrl: `http://${host}:${address.port}`,
    async close(graceMs = DEFAULT_GRACE_MS) {
      // Stop accepting, let in-flight requests finish, then cut whatever is still open (long SSE streams).
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const deadline = setTimeout(() => server.closeAllConnections(), graceMs);
      deadline.unref();
      await closed;
      clearTimeout(deadline);
      await deps.close();
    },
  };
}
