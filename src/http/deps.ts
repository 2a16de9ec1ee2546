import type { Context } from 'hono';
import type { Config, Route } from '../config/schema.js';
import type { CapsuleCodec } from '../crypto/capsule.js';
import type { Clock } from '../domain/clock.js';
import type { KeyRing } from '../crypto/keyring.js';
import type { DownstreamCredential } from '../downstream/credential.js';
import type { AuditLog } from '../observability/audit.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { AssertionVerifier } from '../oauth/client-auth.js';
import type { ClientDirectory } from '../oauth/clients.js';
import type { IdentityAssertionVerifier } from '../oauth/identity-assertion/wiring.js';
import type { Forwarder } from '../proxy/forwarder.js';
import type { ReplayStore } from '../store/replay-store.js';
import type { UpstreamClient } from '../upstream/upstream-client.js';

/** Everything the HTTP layer needs, passed in so tests can swap the clock, the upstream or the store. */
export interface AppDeps<F extends Forwarder = Forwarder> {
  readonly config: Config;
  readonly keys: KeyRing;
  readonly capsules: CapsuleCodec;
  readonly replay: ReplayStore;
  /** The shared backend of the replay set (Redis), when one is configured: for /readyz. */
  readonly sharedReplay?: { reachable(): Promise<boolean> };
  /** Registered, configured and metadata-document clients. */
  readonly clients: ClientDirectory;
  /** private_key_jwt client authentication, for metadata-document and configured clients. */
  readonly verifyAssertion?: AssertionVerifier;
  /** Identity assertions (ID-JAG) of the trusted issuers, where the operator trusts any. */
  readonly verifyIdentityAssertion?: IdentityAssertionVerifier;
  /** The identity provider a route signs in with. */
  upstreamFor(route: Route): UpstreamClient;
  /** Every identity provider client, for readiness. */
  readonly upstreamClients: readonly UpstreamClient[];
  /** What the consent page says about a route's provider: where the user signs in, and the scopes asked for. */
  upstreamInfoFor(route: Route): { readonly host: string; readonly scopes: readonly string[] };
  /** The forwarder of a route (each has its own pools and timeout). */
  forwarderFor(route: Route): F;
  /** The credential mode of a route, built once at start-up (with the token caches it shares with other routes). */
  credentialFor(route: Route): DownstreamCredential;
  readonly logger: Logger;
  readonly audit: AuditLog;
  /** Prometheus metrics of this process (README "Metrics"). */
  readonly metrics: Metrics;
  readonly clock: Clock;
  /** The caller's network address, where the runtime knows it; used for rate limits only. */
  readonly clientAddress?: (c: Context) => string | undefined;
  /** The address of the socket's peer (the client, or the nearest reverse proxy), where the runtime knows it: for X-Forwarded-For. */
  readonly peerAddress?: (request: Request, env: unknown) => string | undefined;
}
