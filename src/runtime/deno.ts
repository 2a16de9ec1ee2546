/**
 * Deno entry point: `deno run --allow-net --allow-env --allow-read dist/runtime/deno.js`, from a
 * directory holding the package's node_modules, configured by the same CAPSULE_* environment
 * variables as `mcp-capsule serve`. Forwards with fetch and serves with Deno.serve; the
 * development setup (no identity provider configured) is Node only.
 */
import type { Context } from 'hono';
import { createApp } from '../http/app.js';
import { FetchForwarder } from '../proxy/fetch-forwarder.js';
import { buildDeps } from './deps.js';
import { nodeAuditLog } from './node-audit.js';
import { announceListening, clientAddressFrom, listenUrlOf, loadRuntimeConfig, serveUntilSignalled } from './serve-common.js';

/** The part of Deno's API used here (no Deno type definitions needed). */
interface DenoServeInfo {
  readonly remoteAddr: { readonly hostname: string; readonly port: number };
}
interface DenoServer {
  /** Stops listening and resolves once the requests in flight have finished. */
  shutdown(): Promise<void>;
}
declare const Deno: {
  readonly env: { toObject(): Record<string, string> };
  serve(options: {
    hostname: string;
    port: number;
    onListen(address: { hostname: string; port: number }): void;
    handler(request: Request, info: DenoServeInfo): Response | Promise<Response>;
  }): DenoServer;
  addSignalListener(signal: 'SIGTERM' | 'SIGINT', handler: () => void): void;
  exit(code?: number): never;
};

async function start(): Promise<{ close(): Promise<void> }> {
  const { config, logger } = loadRuntimeConfig(Deno.env.toObject(), 'Deno');
  const auditLog = nodeAuditLog(config.auditLog, Date.now);
  const deps = await buildDeps(config, {
    audit: auditLog.audit,
    logger,
    createForwarder: (headersTimeoutMs) => new FetchForwarder({ headersTimeoutMs, logger }),
    clientAddress: clientAddressFrom(config.trustProxyHops, (c: Context) => (c.env as DenoServeInfo | undefined)?.remoteAddr?.hostname),
  });
  const app = createApp(deps);
  let listening!: (address: { hostname: string; port: number }) => void;
  const listened = new Promise<{ hostname: string; port: number }>((resolve) => (listening = resolve));
  const server = Deno.serve({
    hostname: config.host,
    port: config.port,
    onListen: (address) => listening(address),
    handler: (request, info) => app.fetch(request, info),
  });
  const address = await listened;
  announceListening(logger, config, listenUrlOf(address.hostname, address.port), deps.upstreamClients);

  return {
    async close() {
      // Stop accepting and let requests in flight finish; whatever is still open at the deadline ends with the process.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, config.shutdownGrace * 1000)));
      try {
        await Promise.race([server.shutdown(), deadline]);
      } finally {
        clearTimeout(timer);
      }
      await deps.close();
      await auditLog.close();
    },
  };
}

await serveUntilSignalled(start, {
  onSignal: (signal, handler) => Deno.addSignalListener(signal, handler),
  exit: (code) => Deno.exit(code),
});
