import type { Config } from '../config/schema.js';
import type { CapsuleCodec } from '../crypto/capsule.js';
import type { Answer } from '../domain/answer.js';
import type { Clock } from '../domain/clock.js';
import type { DownstreamCredential } from '../downstream/credential.js';
import { bearerChallenge } from '../mcp/challenge.js';
import { compileToolPolicy, type ToolPolicy } from '../mcp/inspection/tool-policy.js';
import { compileToolScopes, type ToolScopes } from '../mcp/inspection/tool-scopes.js';
import { rebindingCheck } from '../mcp/origin-guard.js';
import type { RouteEndpoints } from '../oauth/endpoints.js';
import type { AuditEvent, AuditLog } from '../observability/audit.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { ForwardObserver } from '../proxy/forwarder.js';
import type { ReplayStore } from '../store/replay-store.js';
import { downstreamRequest } from './outbound.js';

/** What the route pipeline needs of the process: passed in, so tests can swap the clock or the store. */
export interface PipelineDeps {
  readonly config: Config;
  readonly capsules: CapsuleCodec;
  readonly replay: ReplayStore;
  readonly logger: Logger;
  readonly audit: AuditLog;
  readonly metrics: Metrics;
  readonly clock: Clock;
  /** Makes the id of a request whose caller sent no usable X-Request-Id. */
  readonly newRequestId: () => string;
}

export const INVALID_TOKEN = 'The access token is invalid or expired.';
export const INSUFFICIENT_SCOPE = 'This tool needs a scope the access token lacks; authorize again with the scopes named.';

/** What every step of one route reads: the process's dependencies and what the route's settings fix, worked out once at start-up. */
export interface RouteContext {
  readonly deps: PipelineDeps;
  readonly endpoint: RouteEndpoints;
  readonly credential: DownstreamCredential;
  /** The challenges of a 401 (no token, or a bad one), and of a 403 naming the scopes a call needs. */
  readonly challenges: { readonly missing: string; readonly invalid: string; insufficientScope(scope: string): string };
  /** Sent in place of the downstream's own challenge when it refuses the credential, where clients sign in here. */
  readonly downstreamRefusedChallenge: string | undefined;
  readonly bearerContext: { readonly capsules: CapsuleCodec; readonly replay: ReplayStore; readonly resource: string };
  readonly rebinding: ReturnType<typeof rebindingCheck>;
  readonly tools: ToolPolicy;
  /** The scopes each tool needs; undefined when no tool needs one. */
  readonly toolScopes: ToolScopes | undefined;
  readonly observer: ForwardObserver;
  readonly toDownstream: ReturnType<typeof downstreamRequest>;
  readonly auditEventName: 'mcp_request' | 'http_request';
}

export function routeContext(deps: PipelineDeps, endpoint: RouteEndpoints, credential: DownstreamCredential): RouteContext {
  const { route } = endpoint;
  // The basic scope only: a client asks for what a challenge names, else for every scope the metadata lists.
  const scope = endpoint.basicScope;
  const resourceMetadata = endpoint.protectedResourceMetadata;
  return {
    deps,
    endpoint,
    credential,
    challenges: {
      missing: bearerChallenge({ resourceMetadata, scope }),
      invalid: bearerChallenge({ resourceMetadata, scope, error: 'invalid_token', description: INVALID_TOKEN }),
      insufficientScope: (needed) => bearerChallenge({ resourceMetadata, scope: needed, error: 'insufficient_scope', description: INSUFFICIENT_SCOPE }),
    },
    // A downstream 401 means it refused the upstream credential: the client should refresh with us.
    downstreamRefusedChallenge: credential.signsIn
      ? bearerChallenge({ resourceMetadata, scope, error: 'invalid_token', description: 'The MCP server refused the credential; refresh the access token.' })
      : undefined,
    bearerContext: { capsules: deps.capsules, replay: deps.replay, resource: endpoint.resource },
    rebinding: rebindingCheck(route, deps.config.publicUrl),
    tools: compileToolPolicy(route.tools),
    toolScopes: compileToolScopes(route.tools.scopes),
    observer: {
      downstreamError: (kind) => deps.metrics.downstreamErrors.inc({ route: endpoint.path, kind }),
      streamOpened: () => deps.metrics.openStream(endpoint.path),
    },
    toDownstream: downstreamRequest(endpoint, deps.config),
    auditEventName: route.kind === 'mcp' ? 'mcp_request' : 'http_request',
  };
}

/** The answer of a step that stops the request, and the reason the audit record gives. */
export class Refusal {
  constructor(
    readonly answer: Answer,
    readonly reason: string,
  ) {}
}

/** What one request has gathered by the time it is recorded; the audit event grows as steps learn more. */
export interface RequestState {
  readonly requestId: string;
  readonly started: number;
  readonly startedPrecise: number;
  /** The proxy's own headers on whatever is sent: request id, no sniffing, and CORS once admitted. */
  responseHeaders: Readonly<Record<string, string>>;
  /** Undefined until the request is one the audit log records (it passed the rebinding check and CORS). */
  audit: { -readonly [K in keyof AuditEvent]: AuditEvent[K] } | undefined;
}
