import type { Context } from 'hono';
import { decideStartup, partialConfigurationHint } from '../config/development-setup.js';
import { configFileOf, ConfigError, loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { endpointsFor } from '../oauth/endpoints.js';
import { createLogger, writeLine, type Logger } from '../observability/logger.js';
import { trustedForwardedFor } from '../proxy/forwarded-for.js';
import { isEventStream } from '../proxy/forwarder.js';
import type { UpstreamClient } from '../upstream/upstream-client.js';

/**
 * What every runtime entry point does the same way (Node's `mcp-capsule serve`,
 * Bun's and Deno's). Not runtime-neutral: reading the configuration file (config/load.ts)
 * takes node:fs, which Bun and Deno provide.
 */

type Env = Readonly<Record<string, string | undefined>>;

/** `http://host:port`, bracketing an IPv6 literal. */
export function listenUrlOf(hostname: string, port: number): string {
  return `http://${hostname.includes(':') ? `[${hostname}]` : hostname}:${port}`;
}

/**
 * The caller's address: the peer's, or with `hops` trusted reverse proxies in front,
 * the X-Forwarded-For entry the outermost of them appended. Entries further left are
 * client-supplied and never trusted.
 */
export function clientAddressFrom(hops: number, peer: (request: Request, env: unknown) => string | undefined): (c: Context) => string | undefined {
  return (c) => {
    if (hops === 0) return peer(c.req.raw, c.env);
    return trustedForwardedFor(hops, c.req.header('x-forwarded-for'))[0] ?? peer(c.req.raw, c.env);
  };
}

/** Logs where the proxy listens, and the identity providers' discovery as it finishes (a failure is retried on the first login). */
export function announceListening(
  logger: Logger,
  config: Config,
  listenUrl: string,
  upstreamClients: readonly UpstreamClient[],
  extra: { metricsUrl?: string | undefined } = {},
): void {
  for (const upstream of upstreamClients) {
    upstream.ready().then(
      () => logger.info('upstream provider ready'),
      (error: unknown) => logger.warn('upstream discovery failed; retrying on the next sign-in', { error }),
    );
  }
  const endpoints = endpointsFor(config);
  logger.info('mcp-capsule listening', {
    listen: listenUrl,
    issuer: endpoints.issuer,
    mcp_urls: endpoints.routes.map((route) => route.resource),
    upstream_redirect_uri: endpoints.callback,
    ...(extra.metricsUrl ? { metrics_url: extra.metricsUrl } : {}),
  });
}

/**
 * Wraps a fetch handler so shutdown can end the open GET event streams at once, as the Node
 * server does: a standalone SSE listener has no request in flight and would otherwise hold
 * the server until the grace period runs out. Calls in flight (POST streams) are left to finish.
 */
export function endableEventStreams<E>(handler: (request: Request, env: E) => Response | Promise<Response>): {
  fetch(request: Request, env: E): Promise<Response>;
  /** Ends every open GET event stream cleanly, and any opened from now on. */
  endAll(): void;
} {
  const open = new Set<() => void>();
  let ending = false;
  return {
    async fetch(request, env) {
      const response = await handler(request, env);
      if (request.method !== 'GET' || response.body === null || !isEventStream(response.headers.get('content-type'))) {
        return response;
      }
      const reader = response.body.getReader();
      let done = false;
      let end = () => {};
      const settle = () => {
        done = true;
        open.delete(end);
      };
      const body = new ReadableStream<Uint8Array>(
        {
          start(controller) {
            end = () => {
              if (done) return;
              settle();
              controller.close();
              reader.cancel().catch(() => {});
            };
            if (ending) end();
            else open.add(end);
          },
          async pull(controller) {
            let chunk: ReadableStreamReadResult<Uint8Array>;
            try {
              chunk = await reader.read();
            } catch (error) {
              if (done) return;
              settle();
              controller.error(error);
              return;
            }
            if (done) return;
            if (chunk.done) {
              settle();
              controller.close();
            } else controller.enqueue(chunk.value);
          },
          cancel(reason) {
            settle();
            return reader.cancel(reason);
          },
        },
        { highWaterMark: 0 },
      );
      return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
    },
    endAll() {
      ending = true;
      for (const end of [...open]) end();
    },
  };
}

/** The development setup's local servers, started by the runtime that can (Node). */
export interface DevelopmentSetup {
  /** Settings that stand in for the ones the operator left unset. */
  readonly env: Record<string, string>;
  readonly banner: string;
  close(): Promise<void>;
}

export interface ServeConfig {
  readonly config: Config;
  readonly logger: Logger;
  /** Set when the development setup runs: print its banner once listening, close it after the proxy. */
  readonly development?: DevelopmentSetup;
}

/**
 * The configuration `serve` runs with, on every runtime. Whether the development setup runs is
 * `decideStartup`'s call alone; only a runtime that passes `startDevelopment` can run it, the
 * others say it is Node only. A configuration error says why no development setup started.
 */
export async function loadServeConfig(
  env: Env,
  runtime: { readonly name: string; readonly startDevelopment?: (decision: { readonly publicUrl: string }) => Promise<DevelopmentSetup> },
  read?: (path: string) => string,
): Promise<ServeConfig> {
  const file = configFileOf(env, read);
  const decision = decideStartup(env, file);
  const development = decision.kind === 'development' && runtime.startDevelopment ? await runtime.startDevelopment(decision) : undefined;
  let loaded;
  try {
    loaded = loadConfig({ ...env, ...development?.env }, read, file);
  } catch (error) {
    await development?.close();
    if (!(error instanceof ConfigError)) throw error;
    const why =
      decision.kind === 'development'
        ? `the development setup (embedded identity provider and demo MCP server) runs on Node only ("mcp-capsule serve"); on ${runtime.name} configure CAPSULE_UPSTREAM_ISSUER (or CAPSULE_CONFIG) and CAPSULE_MCP_URL`
        : decision.kind === 'refused'
          ? decision.reason
          : partialConfigurationHint(decision);
    throw why === undefined ? error : new ConfigError([...error.problems, why]);
  }
  const { config, notes } = loaded;
  const logger = createLogger({ level: config.logLevel });
  for (const note of notes) logger.warn(note);
  return { config, logger, ...(development ? { development } : {}) };
}

export interface RuntimeHooks {
  /** Subscribes to SIGTERM and SIGINT. */
  onSignal(signal: 'SIGTERM' | 'SIGINT', handler: () => void): void;
  exit(code: number): never | void;
}

/**
 * Runs a server until SIGTERM or SIGINT, then closes it and exits 0. The handlers are set first:
 * a signal that arrives while starting still shuts down cleanly. A startup failure exits 78 for
 * a configuration problem, 1 otherwise, with one `mcp-capsule: ...` line (as the CLI does).
 */
export async function serveUntilSignalled(start: () => Promise<{ close(): Promise<void> }>, hooks: RuntimeHooks): Promise<void> {
  let running: Promise<{ close(): Promise<void> } | undefined> | undefined;
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    // Through the same batched writer as every other line, so it lands after them.
    writeLine(JSON.stringify({ time: new Date().toISOString(), level: 'info', msg: 'shutting down', signal }));
    void (running ?? Promise.resolve(undefined))
      .then((started) => started?.close())
      .catch((error: unknown) => console.error(`mcp-capsule: shutdown: ${error instanceof Error ? error.message : String(error)}`))
      .then(() => hooks.exit(0));
  };
  hooks.onSignal('SIGTERM', () => stop('SIGTERM'));
  hooks.onSignal('SIGINT', () => stop('SIGINT'));

  running = start().catch((error: unknown) => {
    console.error(`mcp-capsule: ${error instanceof Error ? error.message : String(error)}`);
    hooks.exit(error instanceof ConfigError ? 78 : 1);
    return undefined;
  });
  await running;
}
