import { Registry, type Counter, type Gauge, type Histogram } from './prometheus.js';

const PREFIX = 'mcp_capsule_';

/** Latency buckets in seconds: proxied MCP calls range from milliseconds to long tool runs. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** The route label of a request no registered route matched. */
export const OTHER_ROUTE = 'other';

const METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']);

/** The method label of a request: the standard methods as they are, any other as "other", so callers cannot create series. */
export function methodLabel(method: string): string {
  return METHODS.has(method) ? method : 'other';
}

/** Where a policy refused someone. */
export type PolicyStage = 'sign-in' | 'refresh' | 'request' | 'tool';

/** How a sign-in callback ended. */
export type LoginResult = 'success' | 'denied' | 'error' | 'rejected';

/** Which cache a lookup went to. */
export type CacheName = 'client_credentials_token' | 'exchanged_token' | 'client_metadata_document';

/** `process.memoryUsage.rss()` where the runtime has it (Node, Bun, Deno's node compatibility). */
function residentMemoryBytes(): number | undefined {
  const memoryUsage = (globalThis as { process?: { memoryUsage?: { rss?: () => number } } }).process?.memoryUsage;
  return typeof memoryUsage?.rss === 'function' ? memoryUsage.rss() : undefined;
}

/**
 * The proxy's metrics (README "Metrics"): one instance per process, shared by every
 * route and request. Label values are bounded: routes are route patterns or
 * configured paths, never raw request paths; kinds and results are fixed sets.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly httpRequests: Counter<'route' | 'method' | 'status'> = this.registry.counter({
    name: `${PREFIX}http_requests_total`,
    help: 'HTTP requests answered, by matched route pattern, method and status.',
    labelNames: ['route', 'method', 'status'],
  });

  readonly httpRequestDuration: Histogram<'route'> = this.registry.histogram({
    name: `${PREFIX}http_request_duration_seconds`,
    help: 'Time until the response head was ready (streams keep flowing after it), by matched route pattern.',
    labelNames: ['route'],
    buckets: LATENCY_BUCKETS,
  });

  readonly logins: Counter<'result'> = this.registry.counter({
    name: `${PREFIX}logins_total`,
    help: 'Sign-in callbacks from the identity provider: success, denied (by the user, provider or policy), error (provider failure), rejected (expired, replayed or foreign callback).',
    labelNames: ['result'],
  });

  readonly tokensIssued: Counter<'grant_type'> = this.registry.counter({
    name: `${PREFIX}tokens_issued_total`,
    help: 'Access tokens issued by the token endpoint, by grant type (authorization_code, refresh_token).',
    labelNames: ['grant_type'],
  });

  readonly tokenErrors: Counter<'error'> = this.registry.counter({
    name: `${PREFIX}token_errors_total`,
    help: 'Token endpoint requests refused, by OAuth error code.',
    labelNames: ['error'],
  });

  readonly policyDenials: Counter<'stage'> = this.registry.counter({
    name: `${PREFIX}policy_denials_total`,
    help: 'Users or calls refused by a route policy, by stage (sign-in, refresh, request, tool, scope).',
    labelNames: ['stage'],
  });

  readonly upstreamErrors: Counter<'kind'> = this.registry.counter({
    name: `${PREFIX}upstream_errors_total`,
    help: 'Failed calls to the identity provider, by kind (unavailable: unreachable, slow or unusable answer; invalid_grant: a code or refresh token refused).',
    labelNames: ['kind'],
  });

  readonly downstreamErrors: Counter<'route' | 'kind'> = this.registry.counter({
    name: `${PREFIX}downstream_errors_total`,
    help: 'Failures talking to the MCP server or HTTP API of a route, by kind (connect_refused, timeout, reset, dns, tls, interrupted, shutdown, other).',
    labelNames: ['route', 'kind'],
  });

  readonly cacheLookups: Counter<'cache' | 'result'> = this.registry.counter({
    name: `${PREFIX}cache_lookups_total`,
    help: 'Cache lookups, by cache (client_credentials_token, exchanged_token, client_metadata_document) and result (hit, miss).',
    labelNames: ['cache', 'result'],
  });

  readonly sseStreamsOpen: Gauge<'route'> = this.registry.gauge({
    name: `${PREFIX}sse_streams_open`,
    help: 'Event streams (text/event-stream responses) currently open to clients, by route.',
    labelNames: ['route'],
  });

  /** 1 while the shared replay store is unreachable and the proxy runs on its local fallback; set by the store. */
  readonly replayStoreDegraded: Gauge = this.registry.gauge({
    name: `${PREFIX}replay_store_degraded`,
    help: '1 while the shared replay and revocation store is unreachable, else 0.',
  });

  constructor(options: { readonly processMetrics?: boolean } = {}) {
    this.replayStoreDegraded.set(undefined, 0);
    if (options.processMetrics !== false) {
      this.registry.gauge({
        name: 'process_resident_memory_bytes',
        help: 'Resident memory size in bytes.',
        collect: residentMemoryBytes,
      });
      const startSeconds = Math.round(performance.timeOrigin) / 1000;
      this.registry.gauge({
        name: 'process_start_time_seconds',
        help: 'Start time of the process since the Unix epoch in seconds.',
        collect: () => startSeconds,
      });
    }
  }

  /** Counts one open event stream of a route; the returned function closes it (once, however often it is called). */
  openStream(route: string): () => void {
    this.sseStreamsOpen.inc({ route });
    let open = true;
    return () => {
      if (!open) return;
      open = false;
      this.sseStreamsOpen.dec({ route });
    };
  }

  cacheLookup(cache: CacheName, hit: boolean): void {
    this.cacheLookups.inc({ cache, result: hit ? 'hit' : 'miss' });
  }

  /** The exposition text (format 0.0.4). */
  render(): string {
    return this.registry.render();
  }
}
