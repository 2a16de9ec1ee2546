import type { Config, Route } from '../config/schema.js';
import { CapsuleCodec, type Clock } from '../crypto/capsule.js';
import { KeyRing } from '../crypto/keyring.js';
import type { AppDeps } from '../http/deps.js';
import { ClientCredentialsTokens } from '../downstream/client-credentials/index.js';
import { metadataDocumentSupport } from '../oauth/cimd/wiring.js';
import { ClientDirectory } from '../oauth/clients.js';
import { endpointsFor } from '../oauth/endpoints.js';
import { silentAudit, type AuditLog } from '../observability/audit.js';
import type { Logger } from '../observability/logger.js';
import type { Forwarder } from '../proxy/forwarder.js';
import { MemoryReplayStore } from '../store/replay-store.js';
import { createUpstreamClient } from '../upstream/create-upstream-client.js';
import { resolveUpstream, signInHost } from '../upstream/settings.js';
import type { UpstreamClient } from '../upstream/upstream-client.js';

export interface DepsOptions {
  readonly logger: Logger;
  /** Builds the forwarder of one route, given its response-header timeout. */
  readonly createForwarder: (headersTimeoutMs: number) => Forwarder;
  readonly clock?: Clock;
  readonly fetch?: typeof fetch;
  readonly clientAddress?: AppDeps['clientAddress'];
  /** Where audit events go; silent when absent. */
  readonly audit?: AuditLog;
}

export interface BuiltDeps extends AppDeps {
  /** Closes every route's forwarder. */
  close(): Promise<void>;
}

/** Wires the production dependencies from a validated configuration; runtime-neutral. */
export async function buildDeps(config: Config, options: DepsOptions): Promise<BuiltDeps> {
  const clock = options.clock ?? Date.now;
  const keys = await KeyRing.create(config.keys);
  const upstream = (settings: Config['upstream']) => {
    const resolved = resolveUpstream(settings);
    const client = createUpstreamClient(resolved, { clock, ...(options.fetch ? { fetch: options.fetch } : {}) });
    return { client, info: { host: signInHost(resolved), scopes: resolved.scopes } };
  };
  const defaultUpstream = upstream(config.upstream);
  const namedUpstreams = new Map(Object.entries(config.upstreams).map(([name, settings]) => [name, upstream(settings)]));
  const upstreamOf = (route: Route) => (route.upstream === undefined ? defaultUpstream : namedUpstreams.get(route.upstream)!);
  const capsules = new CapsuleCodec(keys, clock);
  const replay = new MemoryReplayStore({ clock });
  const endpoints = endpointsFor(config);
  const documentSupport = metadataDocumentSupport(config, {
    clock,
    logger: options.logger,
    replay,
    // RFC 7523 §3: the assertion's audience is the authorization server, named by its issuer or token endpoint.
    audiences: [endpoints.issuer, endpoints.token],
  });
  const clients = new ClientDirectory({ capsules, configured: config.clients, documents: documentSupport?.documents, logger: options.logger });
  const forwarders = new Map<Route, Forwarder>(config.routes.map((route) => [route, options.createForwarder(route.timeout * 1000)]));

  return {
    config,
    keys,
    capsules,
    clients,
    replay,
    ...(documentSupport ? { verifyAssertion: documentSupport.verifyAssertion } : {}),
    upstreamFor: (route) => upstreamOf(route).client,
    upstreamInfoFor: (route) => upstreamOf(route).info,
    forwarderFor: (route) => forwarders.get(route)!,
    upstreamClients: [defaultUpstream, ...namedUpstreams.values()].map((entry) => entry.client),
    downstreamTokens: new ClientCredentialsTokens({ clock, logger: options.logger, ...(options.fetch ? { fetch: options.fetch } : {}) }),
    logger: options.logger,
    audit: options.audit ?? silentAudit,
    clock,
    ...(options.clientAddress ? { clientAddress: options.clientAddress } : {}),
    close: async () => {
      await Promise.all([...forwarders.values()].map((forwarder) => forwarder.close()));
    },
  };
}
