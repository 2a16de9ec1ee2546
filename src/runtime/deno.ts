/**
 * Deno entry point: `deno run --allow-net --allow-env --unstable-no-legacy-abort dist/runtime/deno.js`,
 * from a directory holding the package's node_modules, configured by the same CAPSULE_* environment
 * variables as `mcp-capsule serve`. Forwards with fetch and serves with Deno.serve; the development
 * setup (nothing configured) is Node only.
 */
import { createApp } from '../http/app.js';
import { createMetricsApp } from '../http/metrics.js';
import { FetchForwarder } from '../proxy/fetch-forwarder.js';
import { buildDeps } from './deps.js';
import { nodeAuditLog } from './node-audit.js';
import { announceListening, endableEventStreams, listenUrlOf, loadServeConfig, serveUntilSignalled } from './serve-common.js';

/** The part of Deno's API used here (no Deno type definitions needed). */
interface DenoServeInfo {
  readonly remoteAddr: { readonly hostname: string; readonly port: number };
}
interface DenoServer {
  /** Stops listening and resolves once the requests in flight have finished. */
  shutdown(): Promise<void>;
}
interface DenoAddress {
  readonly hostname: string;
  readonly port: number;
}
declare const Deno: {
  readonly env: { toObject(): Record<string, string> };
  serve(options: {
    hostname: string;
    port: number;
    onListen(address: DenoAddress): void;
    handler(request: Request, info: DenoServeInfo): Response | Promise<Response>;
  }): DenoServer;
  addSignalListener(signal: 'SIGTERM' | 'SIGINT', handler: () => void): void;
  exit(code?: number): never;
};

/** Deno.serve, with the address it listens on (the port resolved when 0 was asked for). */
function serve(hostname: string, port: number, handler: (request: Request, info: DenoServeInfo) => Response | Promise<Response>) {
  let address!: DenoAddress;
  const server = Deno.serve({ hostname, port, onListen: (listening) => (address = listening), handler });
  // onListen runs before Deno.serve returns; a failure to listen throws from Deno.serve.
  return { server, address };
}

async function start(): Promise<{ close(): Promise<void> }> {
  const { config, logger } = await loadServeConfig(Deno.env.toObject(), { name: 'Deno' });
  const auditLog = nodeAuditLog(config.auditLog, Date.now);
  const deps = await buildDeps(config, {
    audit: auditLog.audit,
    logger,
    createForwarder: (headersTimeoutMs) => new FetchForwarder({ headersTimeoutMs, logger }),
    peerAddress: (_request, env) => (env as DenoServeInfo | undefined)?.remoteAddr?.hostname,
  });
  const app = createApp(deps);
  const streams = endableEventStreams((request, info: DenoServeInfo) => app.fetch(request, info));
  let main: ReturnType<typeof serve>;
  let metrics: ReturnType<typeof serve> | undefined;
  try {
    main = serve(config.host, config.port, streams.fetch);
    // metrics.port: /metrics on a listener of its own (same host), and not on the main one.
    if (config.metrics.enabled && config.metrics.port !== undefined) {
      const metricsApp = createMetricsApp(deps.metrics);
      try {
        metrics = serve(config.host, config.metrics.port, (request) => metricsApp.fetch(request));
      } catch (error) {
        await main.server.shutdown();
        throw error;
      }
    }
  } catch (error) {
    await deps.close();
    throw error;
  }
  const metricsUrl = metrics ? `${listenUrlOf(metrics.address.hostname, metrics.address.port)}/metrics` : undefined;
  announceListening(logger, config, listenUrlOf(main.address.hostname, main.address.port), deps.upstreamClients, { metricsUrl });

  return {
    async close() {
      // Stop accepting; end idle event streams now; let requests in flight finish until the deadline,
      // after which whatever is still open ends with the process.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, config.shutdownGrace * 1000)));
      try {
        const stopped = main.server.shutdown();
        streams.endAll();
        await Promise.race([Promise.all([stopped, metrics?.server.shutdown(), deps.close()]), deadline]);
      } finally {
        clearTimeout(timer);
      }
      await auditLog.close();
    },
  };
}

await serveUntilSignalled(start, {
  onSignal: (signal, handler) => Deno.addSignalListener(signal, handler),
  exit: (code) => Deno.exit(code),
});
