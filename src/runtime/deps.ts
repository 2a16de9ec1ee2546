import type { Config, Route } from '../config/schema.js';
import { CapsuleCodec, type Clock } from '../crypto/capsule.js';
import { KeyRing } from '../crypto/keyring.js';
import type { AppDeps } from '../http/deps.js';
import { ClientDirectory } from '../oauth/clients.js';
import type { Logger } from '../observability/logger.js';
import type { Forwarder } from '../proxy/forwarder.js';
import { MemoryReplayStore } from '../store/replay-store.js';
import { OidcUpstreamClient } from '../upstream/oidc-client.js';
import type { UpstreamClient } from '../upstream/upstream-client.js';

export interface DepsOptions {
  readonly logger: Logger;
  /** Builds the forwarder of one route, given its response-header timeout. */
  readonly createForwarder: (headersTimeoutMs: number) => Forwarder;
  readonly clock?: Clock;
  readonly fetch?: typeof fetch;
  readonly clientAddress?: AppDeps['clientAddress'];
}

export interface BuiltDeps extends AppDeps {
  /** Every upstream client, for readiness and discovery at startup. */
  readonly upstreamClients: readonly UpstreamClient[];
  /** Closes every route's forwarder. */
  close(): Promise<void>;
}

/** Wires the production dependencies from a validated configuration; runtime-neutral. */
export async function buildDeps(config: Config, options: DepsOptions): Promise<BuiltDeps> {
  const clock = options.clock ?? Date.now;
  const keys = await KeyRing.create(config.keys);
  const upstreamClient = (settings: Config['upstream']) =>
    new OidcUpstreamClient({
      ...settings,
      timeoutMs: settings.timeout * 1000,
      clock,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
  const defaultUpstream = upstreamClient(config.upstream);
  const namedUpstreams = new Map(Object.entries(config.upstreams).map(([name, settings]) => [name, upstreamClient(settings)]));
  const capsules = new CapsuleCodec(keys, clock);
  const clients = new ClientDirectory({ capsules, configured: config.clients, documents: undefined, logger: options.logger });
  const forwarders = new Map<Route, Forwarder>(config.routes.map((route) => [route, options.createForwarder(route.timeout * 1000)]));

  return {
    config,
    keys,
    capsules,
    clients,
    replay: new MemoryReplayStore({ clock }),
    upstreamFor: (route) => (route.upstream === undefined ? defaultUpstream : namedUpstreams.get(route.upstream)!),
    forwarderFor: (route) => forwarders.get(route)!,
    upstreamClients: [defaultUpstream, ...namedUpstreams.values()],
    logger: options.logger,
    clock,
    ...(options.clientAddress ? { clientAddress: options.clientAddress } : {}),
    close: async () => {
      await Promise.all([...forwarders.values()].map((forwarder) => forwarder.close()));
    },
  };
}
