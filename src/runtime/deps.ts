import type { Config } from '../config/schema.js';
import { CapsuleCodec, type Clock } from '../crypto/capsule.js';
import { KeyRing } from '../crypto/keyring.js';
import type { AppDeps } from '../http/deps.js';
import type { Logger } from '../observability/logger.js';
import type { Forwarder } from '../proxy/forwarder.js';
import { MemoryReplayStore } from '../store/replay-store.js';
import { OidcUpstreamClient } from '../upstream/oidc-client.js';

export interface DepsOptions {
  readonly logger: Logger;
  readonly forwarder: Forwarder;
  readonly clock?: Clock;
  readonly fetch?: typeof fetch;
}

/** Wires the production dependencies from a validated configuration; runtime-neutral. */
export async function buildDeps(config: Config, options: DepsOptions): Promise<AppDeps> {
  const clock = options.clock ?? Date.now;
  const keys = await KeyRing.create(config.keys);
  return {
    config,
    keys,
    capsules: new CapsuleCodec(keys, clock),
    replay: new MemoryReplayStore({ clock }),
    upstream: new OidcUpstreamClient({
      ...config.upstream,
      timeoutMs: config.upstream.timeout * 1000,
      clock,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    }),
    forwarder: options.forwarder,
    logger: options.logger,
    clock,
  };
}
