import { serve } from '@hono/node-server';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config/schema.js';
import type { Clock } from '../crypto/capsule.js';
import type { AuditLog } from '../observability/audit.js';
import { createApp } from '../http/app.js';
import { endpointsFor } from '../oauth/endpoints.js';
import type { Logger } from '../observability/logger.js';
import { createForwarder } from '../proxy/index.js';
import { buildDeps } from './deps.js';
import { nodeAuditLog } from './node-audit.js';
import { nodeClientAddress } from './node-client-address.js';

export interface RunningProxy {
  /** Where the server actually listens (the port resolved when 0 was asked for). */
  readonly listenUrl: string;
  close(graceMs?: number): Promise<void>;
}

/** Starts the proxy on Node: undici forwarding, node:http server, graceful close. */
export async function startNodeProxy(config: Config, logger: Logger, options: { clock?: Clock; audit?: AuditLog } = {}): Promise<RunningProxy> {
  const auditLog = options.audit ? { audit: options.audit, close: async () => {} } : nodeAuditLog(config.auditLog, options.clock ?? Date.now);
  const deps = await buildDeps(config, {
    audit: auditLog.audit,
    logger,
    createForwarder: (headersTimeoutMs) =>
      createForwarder({ runtime: 'node', headersTimeoutMs, logger, closeGraceMs: config.shutdownGrace * 1000 }),
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
    async close(graceMs = config.shutdownGrace * 1000) {
      // Stop accepting; end idle connections and event streams now; let requests in flight finish until the deadline.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive connections become idle as their last response ends; close each one then, not at its keep-alive timeout.
      const sweeper = setInterval(() => server.closeIdleConnections(), 50);
      server.closeIdleConnections();
      const deadline = setTimeout(() => server.closeAllConnections(), graceMs);
      deadline.unref();
      await Promise.all([closed, deps.close()]);
      await auditLog.close();
      clearInterval(sweeper);
      clearTimeout(deadline);
    },
  };
}
