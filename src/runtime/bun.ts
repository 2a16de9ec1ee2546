/**
 * Bun entry point: `bun dist/runtime/bun.js` (or `bun src/runtime/bun.ts`), configured by the
 * same CAPSULE_* environment variables as `mcp-capsule serve`. Forwards with fetch and serves
 * with Bun.serve; the development setup (no identity provider configured) is Node only.
 */
import type { Context } from 'hono';
import { createApp } from '../http/app.js';
import { FetchForwarder } from '../proxy/fetch-forwarder.js';
import { buildDeps } from './deps.js';
import { nodeAuditLog } from './node-audit.js';
import { announceListening, clientAddressFrom, listenUrlOf, loadRuntimeConfig, serveUntilSignalled } from './serve-common.js';

/** The part of Bun's API used here (no @types/bun needed). */
interface BunServer {
  readonly hostname: string;
  readonly port: number;
  requestIP(request: Request): { address: string; family: string; port: number } | null;
  /** Stops listening; resolves once open connections are done (`true` cuts them). */
  stop(closeActiveConnections?: boolean): Promise<void> | void;
}
declare const Bun: {
  readonly version: string;
  serve(options: {
    hostname: string;
    port: number;
    /** Seconds a connection may stay silent; 0 never cuts one (MCP event streams idle for long). */
    idleTimeout?: number;
    fetch(request: Request, server: BunServer): Response | Promise<Response>;
  }): BunServer;
};

async function start(): Promise<{ close(): Promise<void> }> {
  const { config, logger } = loadRuntimeConfig(process.env, 'Bun');
  const auditLog = nodeAuditLog(config.auditLog, Date.now);
  const deps = await buildDeps(config, {
    audit: auditLog.audit,
    logger,
    createForwarder: (headersTimeoutMs) => new FetchForwarder({ headersTimeoutMs, logger }),
    clientAddress: clientAddressFrom(config.trustProxyHops, (c: Context) => (c.env as BunServer | undefined)?.requestIP(c.req.raw)?.address),
  });
  const app = createApp(deps);
  const server = Bun.serve({
    hostname: config.host,
    port: config.port,
    idleTimeout: 0,
    fetch: (request, bunServer) => app.fetch(request, bunServer),
  });
  announceListening(logger, config, listenUrlOf(server.hostname, server.port), deps.upstreamClients);

  return {
    async close() {
      // Stop accepting and let requests in flight finish; cut whatever is still open at the deadline.
      const deadline = setTimeout(() => void server.stop(true), config.shutdownGrace * 1000);
      try {
        await server.stop(false);
      } finally {
        clearTimeout(deadline);
      }
      await deps.close();
      await auditLog.close();
    },
  };
}

await serveUntilSignalled(start, {
  onSignal: (signal, handler) => process.once(signal, handler),
  exit: (code) => process.exit(code),
});
