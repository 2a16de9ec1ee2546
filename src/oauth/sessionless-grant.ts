import type { Config } from '../config/schema.js';
import type { CapsuleCodec } from '../crypto/capsule.js';
import { randomToken } from '../crypto/encoding.js';
import type { Identity } from '../domain/capsule-schemas.js';
import type { Endpoints, RouteEndpoints } from './endpoints.js';
import { invalidTarget, type OAuthError } from './errors.js';
import { issueGrant, type GrantResult } from './grants.js';

/** What the grants without a user's upstream session (client credentials, identity assertions) share. */
export interface SessionlessGrantContext {
  readonly capsules: CapsuleCodec;
  readonly config: Config;
  readonly endpoints: Pick<Endpoints, 'routeRequested'>;
  /** Told of each refusal by a route's access policy, for metrics. */
  readonly onPolicyDenied: () => void;
}

/**
 * The route such a grant issues a token for: the one `resource` names (RFC 8707; the first route
 * when it names none, as at /authorize), and only where the downstream needs no upstream token of
 * the user, which these tokens do not carry.
 */
export function sessionlessRoute(resource: string | undefined, endpoints: SessionlessGrantContext['endpoints']): RouteEndpoints {
  const route = endpoints.routeRequested(resource);
  if (!route) throw invalidTarget('The resource parameter does not name an MCP server behind this proxy.');
  if (!route.servesWithoutUpstreamSession) {
    throw invalidTarget(`The MCP server at ${route.path} receives the signed-in user's own upstream token, which a token of this grant does not carry; sign in through the browser instead.`);
  }
  return route;
}

/**
 * The access token, once the route's access policy admits `identity` (`refuse` makes the error of
 * a denial); never a refresh token: a new token comes from presenting the client's credential or
 * a new assertion again.
 */
export async function issueSessionless(
  route: RouteEndpoints,
  grant: { readonly identity: Identity; readonly cid: string; readonly scope: string },
  refuse: (reason: string) => OAuthError,
  ctx: SessionlessGrantContext,
): Promise<GrantResult> {
  const decision = route.access.decide(grant.identity);
  if (!decision.allowed) {
    ctx.onPolicyDenied();
    throw refuse(decision.reason);
  }
  return issueGrant({ ...grant, resource: route.resource, gid: randomToken(32) }, ctx);
}
