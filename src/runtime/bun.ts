/**
 * Bun entry point: `bun dist/runtime/bun.js` (or `bun src/runtime/bun.ts`), configured by the
 * same CAPSULE_* environment variables as `mcp-capsule serve`. Forwards with fetch and serves
 * with Bun.serve; the development setup (nothing configured) is Node only.
 */
import type { Config } from '../config/schema.js';
import { createApp } from '../http/app.js';
import { createMetricsApp } from '../http/metrics.js';
import type { Logger } from '../observability/logger.js';
import { FetchForwarder } from '../proxy/fetch-forwarder.js';
import { buildDeps } from './deps.js';
import { nodeAuditLog } from './node-audit.js';
import { announceListening, endableEventStreams, listenUrlOf, loadServeConfig, serveUntilSignalled } from './serve-common.js';

/** The part of Bun's API used here (no @types/bun needed). */
interface BunServer {
  readonly hostname: string;
  readonly port: number;
  requestIP(request: Request): { address: string; family: string; port: number } | null;
  /** Stops listening; resolves once open connections are done (`true` cuts them). */
  stop(closeActiveConnections?: boolean): Promise<void> | void;
}
declare const Bun: {
  serve(options: {
    hostname: string;
    port: number;
    /** Seconds a connection may stay silent; 0 never cuts one (MCP event streams idle for long). */
    idleTimeout?: number;
    fetch(request: Request, server: BunServer): Response | Promise<Response>;
  }): BunServer;
};

/**
 * Client ID metadata documents are fetched by src/net/safe-fetch.ts through an undici Agent whose
 * `connect.lookup` pins the socket to the addresses the SSRF guard checked. Bun swaps the `undici`
 * package for a built-in stand-in that ignores dispatchers, so that pin cannot hold: the feature is off.
 */
function withoutMetadataDocuments(config: Config, logger: Logger): Config {
  if (!config.clientMetadataDocuments.enabled) return config;
  logger.warn(
    'client ID metadata documents are off on Bun: its built-in undici cannot pin the document fetch to the checked addresses (run on Node or Deno to accept URL client_ids; CAPSULE_CLIENT_METADATA_DOCUMENTS=false silences this)',
  );
  return { ...config, clientMetadataDocuments: { ...config.clientMetadataDocuments, enabled: false } };
}

async function start(): Promise<{ close(): Promise<void> }> {
  const loaded = await loadServeConfig(process.env, { name: 'Bun' });
  const { logger } = loaded;
  const config = withoutMetadataDocuments(loaded.config, logger);
  const auditLog = nodeAuditLog(config.auditLog, Date.now);
  const deps = await buildDeps(config, {
    audit: auditLog.audit,
    logger,
    createForwarder: (headersTimeoutMs) => new FetchForwarder({ headersTimeoutMs, logger }),
    peerAddress: (request, env) => (env as BunServer | undefined)?.requestIP(request)?.address,
  });
  const app = createApp(deps);
  const streams = endableEventStreams((request, bunServer: BunServer) => app.fetch(request, bunServer));
  let server: BunServer;
  let metricsServer: BunServer | undefined;
  try {
    server = Bun.serve({ hostname: config.host, port: config.port, idleTimeout: 0, fetch: streams.fetch });
    // metrics.port: /metrics on a listener of its own (same host), and not on the main one.
    if (config.metrics.enabled && config.metrics.port !== undefined) {
      const metricsApp = createMetricsApp(deps.metrics);
      metricsServer = Bun.serve({ hostname: config.host, port: config.metrics.port, fetch: (request) => metricsApp.fetch(request) });
    }
  } catch (error) {
    await deps.close();
    throw error;
  }
  const listenUrl = listenUrlOf(server.hostname, server.port);
  const metricsUrl = metricsServer ? `${listenUrlOf(metricsServer.hostname, metricsServer.port)}/metrics` : undefined;
  announceListening(logger, config, listenUrl, deps.upstreamClients, { metricsUrl });

  return {
    async close() {
      // Stop accepting; end idle event streams now; let requests in flight finish until the deadline, then cut them.
      const deadline = setTimeout(() => void server.stop(true), config.shutdownGrace * 1000);
      try {
        const stopped = server.stop(false);
        streams.endAll();
        // Scrapes are short: the metrics listener just stops, cutting its connections.
        await Promise.all([stopped, metricsServer?.stop(true), deps.close()]);
      } finally {
        clearTimeout(deadline);
      }
      await auditLog.close();
    },
  };
}

await serveUntilSignalled(start, {
  onSignal: (signal, handler) => process.once(signal, handler),
  exit: (code) => process.exit(code),
});
