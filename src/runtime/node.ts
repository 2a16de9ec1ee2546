import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config/schema.js';
import type { Clock } from '../domain/clock.js';
import type { AuditLog } from '../observability/audit.js';
import { createApp } from '../http/app.js';
import { createMetricsApp } from '../http/metrics.js';
import type { Logger } from '../observability/logger.js';
import { UndiciForwarder } from '../proxy/undici-forwarder.js';
import { buildDeps } from './deps.js';
import { nodeAuditLog } from './node-audit.js';
import { listen } from './node-listen.js';
import { claimRoutes } from './node-listener.js';
import { nodePeerAddress } from './node-peer-address.js';
import { announceListening } from './serve-common.js';

export interface RunningProxy {
  /** Where the server actually listens (the port resolved when 0 was asked for). */
  readonly listenUrl: string;
  /** Where /metrics is served when it has its own port (`metrics.port`). */
  readonly metricsUrl?: string;
  close(graceMs?: number): Promise<void>;
}

/** Starts the proxy on Node: undici forwarding, node:http server, graceful close. */
export async function startNodeProxy(config: Config, logger: Logger, options: { clock?: Clock; audit?: AuditLog } = {}): Promise<RunningProxy> {
  const auditLog = options.audit ? { audit: options.audit, close: async () => {} } : nodeAuditLog(config.auditLog, options.clock ?? Date.now);
  const deps = await buildDeps(config, {
    audit: auditLog.audit,
    logger,
    createForwarder: (headersTimeoutMs) => new UndiciForwarder({ headersTimeoutMs, logger, closeGraceMs: config.shutdownGrace * 1000 }),
    peerAddress: nodePeerAddress,
    ...options,
  });
  const app = createApp(deps);

  const server = await listen(app.endpoints.fetch, config.host, config.port, { claim: claimRoutes(app, deps.forwarderFor) });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  // metrics.port: /metrics on a listener of its own (same host), and not on the main one.
  let metricsServer: Server | undefined;
  if (config.metrics.enabled && config.metrics.port !== undefined) {
    try {
      metricsServer = await listen(createMetricsApp(deps.metrics).fetch, config.host, config.metrics.port);
    } catch (error) {
      server.close();
      await deps.close();
      throw error;
    }
  }
  const metricsUrl = metricsServer ? `http://${host}:${(metricsServer.address() as AddressInfo).port}/metrics` : undefined;

  // Discovery may finish after listening; a failure is retried on the first login.
  announceListening(logger, config, `http://${host}:${address.port}`, deps.upstreamClients, { metricsUrl });

  return {
    listenUrl: `http://${host}:${address.port}`,
    ...(metricsUrl ? { metricsUrl } : {}),
    async close(graceMs = config.shutdownGrace * 1000) {
      // Stop accepting; end idle connections and event streams now; let requests in flight finish until the deadline.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive connections become idle as their last response ends; close each one then, not at its keep-alive timeout.
      const sweeper = setInterval(() => server.closeIdleConnections(), 50);
      server.closeIdleConnections();
      const deadline = setTimeout(() => server.closeAllConnections(), graceMs);
      deadline.unref();
      // Scrapes are short: the metrics listener just stops, cutting its keep-alive connections.
      const metricsClosed = metricsServer ? new Promise<void>((resolve) => metricsServer.close(() => resolve())) : undefined;
      metricsServer?.closeAllConnections();
      await Promise.all([closed, deps.close(), metricsClosed]);
      await auditLog.close();
      clearInterval(sweeper);
      clearTimeout(deadline);
    },
  };
}
