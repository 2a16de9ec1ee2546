import type { Config, Route } from '../config/schema.js';
import { CapsuleCodec } from '../crypto/capsule.js';
import type { Clock } from '../domain/clock.js';
import { KeyRing } from '../crypto/keyring.js';
import type { AppDeps } from '../http/deps.js';
import { ClientCredentialsTokens } from '../downstream/client-credentials/index.js';
import { downstreamCredential } from '../downstream/credentials.js';
import { TokenExchanges } from '../downstream/token-exchange/index.js';
import { clientKeySupport } from '../oauth/cimd/wiring.js';
import { ClientDirectory } from '../oauth/clients.js';
import { identityAssertionVerifier } from '../oauth/identity-assertion/wiring.js';
import { endpointsFor } from '../oauth/endpoints.js';
import { silentAudit, type AuditLog } from '../observability/audit.js';
import type { Logger } from '../observability/logger.js';
import { Metrics } from '../observability/metrics.js';
import type { Forwarder } from '../proxy/forwarder.js';
import type { RedisReplayStore } from '../store/redis-replay-store.js';
import { MemoryReplayStore, type ReplayStore } from '../store/replay-store.js';
import { SharedReplayStore } from '../store/shared-replay-store.js';
import { countingUpstreamErrors } from '../upstream/counting-client.js';
import { lazyUpstreamClient } from '../upstream/lazy-client.js';
import { resolveUpstream, signInHost } from '../upstream/settings.js';
import type { UpstreamClient } from '../upstream/upstream-client.js';
import { clientAddressFrom } from './serve-common.js';

export interface DepsOptions<F extends Forwarder> {
  readonly logger: Logger;
  /** Builds the forwarder of one route, given its response-header timeout. */
  readonly createForwarder: (headersTimeoutMs: number) => F;
  readonly clock?: Clock;
  readonly fetch?: typeof fetch;
  /** The socket peer's address, where the runtime knows it; the client address is derived from it and `trustProxyHops`. */
  readonly peerAddress?: AppDeps['peerAddress'];
  /** Where audit events go; silent when absent. */
  readonly audit?: AuditLog;
  /** The process's metrics; a fresh set when absent. */
  readonly metrics?: Metrics;
}

export interface BuiltDeps<F extends Forwarder = Forwarder> extends AppDeps<F> {
  /** Closes every route's forwarder. */
  close(): Promise<void>;
}

/**
 * Wires the production dependencies from a validated configuration, for every entry point. Not
 * runtime-neutral: what it wires uses node:crypto, node:dns, undici and ioredis, which Bun and
 * Deno provide through their Node compatibility (tsconfig.neutral.json lists the neutral code).
 */
export async function buildDeps<F extends Forwarder>(config: Config, options: DepsOptions<F>): Promise<BuiltDeps<F>> {
  const clock = options.clock ?? Date.now;
  const metrics = options.metrics ?? new Metrics();
  const keys = await KeyRing.create(config.keys);
  // An upstream keeps users' ID tokens only where a route of it exchanges them.
  const idTokenUpstreams = new Set(config.routes.filter((route) => route.auth === 'token-exchange' && route.subjectToken === 'id_token').map((route) => route.upstream));
  const upstream = (settings: Config['upstream'], name: string | undefined) => {
    const resolved = resolveUpstream(settings);
    const client = countingUpstreamErrors(
      lazyUpstreamClient(async () =>
        (await import('../upstream/create-upstream-client.js')).createUpstreamClient(resolved, {
          clock,
          keepIdToken: idTokenUpstreams.has(name),
          ...(options.fetch ? { fetch: options.fetch } : {}),
        }),
      ),
      // A user who declines at the provider is a login result, not a provider failure.
      (kind) => kind !== 'denied' && metrics.upstreamErrors.inc({ kind }),
    );
    const clientDefaults = {
      tokenEndpoint: () => client.tokenEndpoint(),
      clientId: resolved.clientId,
      clientSecret: resolved.clientSecret,
      authMethod: resolved.tokenAuthMethod,
    };
    return { client, clientDefaults, info: { host: signInHost(resolved), scopes: resolved.scopes } };
  };
  const defaultUpstream = upstream(config.upstream, undefined);
  const namedUpstreams = new Map(Object.entries(config.upstreams).map(([name, settings]) => [name, upstream(settings, name)]));
  const upstreamOf = (route: Route) => (route.upstream === undefined ? defaultUpstream : namedUpstreams.get(route.upstream)!);
  const capsules = new CapsuleCodec(keys, clock);
  const { replay, shared } = await replayStoreFor(config, { clock, logger: options.logger, metrics });
  const endpoints = endpointsFor(config);
  const keySupport = clientKeySupport(config, {
    clock,
    logger: options.logger,
    replay,
    // RFC 7523 §3: the assertion's audience is the authorization server, named by its issuer or token endpoint.
    audiences: [endpoints.issuer, endpoints.token],
    onDocumentCacheLookup: (hit) => metrics.cacheLookup('client_metadata_document', hit),
  });
  const verifyIdentityAssertion = identityAssertionVerifier(config, {
    clock,
    logger: options.logger,
    replay,
    audience: endpoints.issuer,
    chargeFetch: keySupport.chargeFetch,
  });
  const clients = new ClientDirectory({ capsules, configured: config.clients, documents: keySupport.documents, logger: options.logger });
  const forwarders = new Map<Route, F>(config.routes.map((route) => [route, options.createForwarder(route.timeout * 1000)]));
  const tokenCacheOptions = { clock, logger: options.logger, ...(options.fetch ? { fetch: options.fetch } : {}) };
  const tokens = new ClientCredentialsTokens({ ...tokenCacheOptions, onCacheLookup: (hit) => metrics.cacheLookup('client_credentials_token', hit) });
  const exchanges = new TokenExchanges({ ...tokenCacheOptions, onCacheLookup: (hit) => metrics.cacheLookup('exchanged_token', hit) });
  const credentials = new Map(
    config.routes.map((route) => [route, downstreamCredential(route, { tokens, exchanges, upstream: upstreamOf(route).clientDefaults })]),
  );

  return {
    config,
    keys,
    capsules,
    clients,
    replay,
    ...(shared ? { sharedReplay: shared.store } : {}),
    verifyAssertion: keySupport.verifyAssertion,
    ...(verifyIdentityAssertion ? { verifyIdentityAssertion } : {}),
    upstreamFor: (route) => upstreamOf(route).client,
    upstreamInfoFor: (route) => upstreamOf(route).info,
    forwarderFor: (route) => forwarders.get(route)!,
    upstreamClients: [defaultUpstream, ...namedUpstreams.values()].map((entry) => entry.client),
    credentialFor: (route) => credentials.get(route)!,
    logger: options.logger,
    audit: options.audit ?? silentAudit,
    metrics,
    clock,
    ...(options.peerAddress ? { peerAddress: options.peerAddress, clientAddress: clientAddressFrom(config.trustProxyHops, options.peerAddress) } : {}),
    close: async () => {
      await Promise.all([...forwarders.values()].map((forwarder) => forwarder.close()));
      shared?.store.close();
      await shared?.backend.close();
    },
  };
}

// How long start-up waits for Redis before serving degraded (it joins as soon as it connects).
const REDIS_STARTUP_WAIT_MS = 500;

/** In memory for one instance, or Redis shared by all with a local copy to fall back on. */
async function replayStoreFor(
  config: Config,
  deps: { clock: Clock; logger: Logger; metrics: Metrics },
): Promise<{ replay: ReplayStore; shared?: { store: SharedReplayStore; backend: RedisReplayStore } }> {
  const local = new MemoryReplayStore({ clock: deps.clock });
  if (config.redis.url === undefined) return { replay: local };
  // Imported only when configured: the Redis client is a sizeable share of start-up time.
  const { RedisReplayStore } = await import('../store/redis-replay-store.js');
  const backend = RedisReplayStore.connect(config.redis.url, { keyPrefix: config.redis.keyPrefix });
  await backend.waitUntilReady(REDIS_STARTUP_WAIT_MS);
  const store = new SharedReplayStore(backend, local, {
    logger: deps.logger,
    clock: deps.clock,
    onStateChange: (state) => deps.metrics.replayStoreDegraded.set(undefined, state === 'degraded' ? 1 : 0),
  });
  return { replay: store, shared: { store, backend } };
}
