import { Hono, type Context } from 'hono';
import type { AppDeps } from './deps.js';
import { requestIdOf } from './access-log.js';
import { apiCors } from './cors.js';
import { RateLimiter, rateLimitKey } from '../store/rate-limit.js';
import { auditUser } from '../observability/audit.js';
import { loggedCause } from '../domain/errors.js';
import { mediaTypeOf } from '../domain/media-type.js';
import { authenticateClient } from '../oauth/client-auth.js';
import { PATHS, type Endpoints } from '../oauth/endpoints.js';
import { invalidClientMetadata, OAuthError, serverError, tooManyRequests, unsupportedGrantType } from '../oauth/errors.js';
import { JWT_BEARER_GRANT_TYPE } from '../domain/grant-types.js';
import { clientCredentialsGrant } from '../oauth/client-credentials-grant.js';
import { identityAssertionGrant } from '../oauth/identity-assertion-grant.js';
import type { ResolvedClient } from '../oauth/clients.js';
import { authorizationCodeGrant, refreshTokenGrant, type GrantResult } from '../oauth/grants.js';
import { authorizationServerMetadata, protectedResourceMetadata } from '../oauth/metadata.js';
import { readFormParams, readLimitedText, type Params } from '../oauth/params.js';
import { registerClient } from '../oauth/register.js';
import { introspectToken } from '../oauth/introspect.js';
import { forwardRevocation } from '../oauth/forward-revocation.js';
import { revokeToken } from '../oauth/revoke.js';

const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' } as const;
const MAX_REGISTRATION_BYTES = 16 * 1024;

/** The machine-facing authorization server endpoints; every error is OAuth JSON. */
export function apiRoutes(deps: AppDeps, endpoints: Endpoints): Hono {
  const app = new Hono();
  const { capsules, config, keys, logger } = deps;
  const asMetadata = authorizationServerMetadata(config, endpoints);
  /** What client authentication reads from a request; the address counts metadata document fetches. */
  const requestOf = (c: Context, params: Params) => ({ authorization: c.req.header('authorization'), params, address: rateLimitKey(deps.clientAddress?.(c)) });

  for (const path of [PATHS.authorizationServerMetadata, `${PATHS.protectedResourceMetadata}/*`, PATHS.protectedResourceMetadata, PATHS.register, PATHS.token, PATHS.revoke]) {
    app.use(path, apiCors());
  }

  app.get(PATHS.authorizationServerMetadata, (c) => c.json(asMetadata));
  // RFC 9728 §3: path-inserted for each route, and at the root (the first route) for clients that fall back to it.
  for (const route of endpoints.protectedRoutes) {
    const document = protectedResourceMetadata(config, endpoints, route);
    app.get(PATHS.protectedResourceMetadata + route.path, (c) => c.json(document));
  }
  const firstProtected = endpoints.protectedRoutes[0];
  if (firstProtected) {
    const rootDocument = protectedResourceMetadata(config, endpoints, firstProtected);
    app.get(PATHS.protectedResourceMetadata, (c) => c.json(rootDocument));
  }

  const registrations = new RateLimiter({ perMinute: config.registration.perMinute, clock: deps.clock });
  // With open registration off, /register does not exist and the metadata does not name it.
  if (endpoints.registration) app.post(PATHS.register, async (c) => {
    const wait = registrations.take(rateLimitKey(deps.clientAddress?.(c)));
    if (wait > 0) {
      logger.warn('registration rate limit reached', { address: deps.clientAddress?.(c), request_id: requestIdOf(c) });
      throw tooManyRequests('Too many registrations from this address; try again later.', wait);
    }
    if (mediaTypeOf(c.req.header('content-type')) !== 'application/json') throw invalidClientMetadata('The request body must be application/json.');
    const text = await readLimitedText(c.req.raw, MAX_REGISTRATION_BYTES);
    if (text === undefined) throw invalidClientMetadata('The client metadata is too large.');
    let input: unknown;
    try {
      input = JSON.parse(text);
    } catch {
      throw invalidClientMetadata('The request body is not valid JSON.');
    }
    const { body } = await registerClient(input, { capsules, keys, redirectSchemes: config.redirectSchemes });
    logger.info('client registered', { client_name: body.client_name, auth_method: body.token_endpoint_auth_method });
    return c.json(body, 201, NO_STORE);
  });

  const grantContext = {
    capsules,
    config,
    replay: deps.replay,
    routeOf: (audience: string) => {
      const route = endpoints.routeForAudience(audience);
      if (!route) return undefined;
      // Only a refresh consults the policy here; its denials are counted as such.
      const access = route.access;
      const decide: typeof access.decide = (identity) => {
        const decision = access.decide(identity);
        if (!decision.allowed) deps.metrics.policyDenials.inc({ stage: 'refresh' });
        return decision;
      };
      return { upstream: deps.upstreamFor(route.route), access: { restricted: access.restricted, decide } };
    },
    logger,
  };
  // Grants without a browser are where a user or client is first admitted: their denials count as sign-in's.
  const sessionlessContext = { capsules, config, endpoints, onPolicyDenied: () => deps.metrics.policyDenials.inc({ stage: 'sign-in' }) };
  type Grant = (client: ResolvedClient, params: Params, address: string) => Promise<GrantResult>;
  const grants = new Map<string, Grant>([
    ['authorization_code', (client, params) => authorizationCodeGrant(client, params, grantContext)],
    ['refresh_token', (client, params) => refreshTokenGrant(client, params, grantContext)],
    ['client_credentials', (client, params) => clientCredentialsGrant(client, params, sessionlessContext)],
  ]);
  const { verifyIdentityAssertion: verify } = deps;
  // Only where the operator trusts an identity provider to issue assertions for this server.
  if (verify) grants.set(JWT_BEARER_GRANT_TYPE, (client, params, address) => identityAssertionGrant(client, params, address, { ...sessionlessContext, verify }));

  app.post(PATHS.token, async (c) => {
    const params = await readFormParams(c.req.raw);
    const grantType = params.required('grant_type');
    const grant = grants.get(grantType);
    if (!grant) throw unsupportedGrantType(`Supported grant types: ${[...grants.keys()].join(', ')}.`);
    const request = requestOf(c, params);
    const client = await authenticateClient(request, {
      clients: deps.clients,
      keys,
      ...(deps.verifyAssertion ? { verifyAssertion: deps.verifyAssertion } : {}),
    });
    if (!client.registration.grant_types.includes(grantType)) {
      throw new OAuthError('unauthorized_client', `This client did not register the ${grantType} grant.`);
    }
    const result = await grant(client, params, request.address);
    deps.metrics.tokensIssued.inc({ grant_type: grantType });
    deps.audit.record({
      event: grantType === 'refresh_token' ? 'token_refreshed' : 'token_issued',
      user: auditUser(result.identity),
      client: { id: client.cid, ...(client.registration.client_name ? { name: client.registration.client_name } : {}) },
      route: endpoints.routeForAudience(result.resource)?.path ?? result.resource,
      outcome: 'allowed',
      request_id: requestIdOf(c),
    });
    return c.json(result.response, 200, NO_STORE);
  });

  app.post(PATHS.revoke, async (c) => {
    const params = await readFormParams(c.req.raw);
    const client = await authenticateClient(requestOf(c, params), {
      clients: deps.clients,
      keys,
      ...(deps.verifyAssertion ? { verifyAssertion: deps.verifyAssertion } : {}),
    });
    const result = await revokeToken(client, params, { capsules, replay: deps.replay, refreshTtl: config.ttl.refreshToken });
    logger.info('revocation', { cid: client.cid, result: result.outcome, ...(result.outcome === 'revoked' ? { kind: result.revoked.kind } : {}) });
    if (result.outcome === 'revoked') {
      const { token } = result.revoked;
      deps.audit.record({
        event: 'token_revoked',
        user: auditUser(token.identity),
        client: { id: client.cid, ...(client.registration.client_name ? { name: client.registration.client_name } : {}) },
        route: endpoints.routeForAudience(token.aud)?.path ?? token.aud,
        outcome: 'allowed',
        request_id: requestIdOf(c),
      });
      const route = endpoints.routeForAudience(token.aud);
      if (route) await forwardRevocation(deps.upstreamFor(route.route), result.revoked, logger);
    }
    return c.body(null, 200, NO_STORE);
  });

  app.post(PATHS.introspect, async (c) => {
    const params = await readFormParams(c.req.raw);
    const caller = await authenticateClient(requestOf(c, params), { clients: deps.clients, keys });
    return c.json(await introspectToken(caller, params, { capsules, replay: deps.replay, endpoints }), 200, NO_STORE);
  });

  app.onError((error, c) => {
    const oauthError = error instanceof OAuthError ? error : serverError(error instanceof Error ? error.message : String(error), error);
    const requestId = requestIdOf(c);
    if (oauthError.status >= 500) logger.error('token endpoint failure', { error: oauthError.code, detail: oauthError.detail ?? oauthError.message, ...loggedCause(oauthError), request_id: requestId });
    else logger.info('oauth request refused', { path: c.req.path, error: oauthError.code, detail: oauthError.detail, ...loggedCause(oauthError), request_id: requestId });
    if (c.req.path === PATHS.token) {
      deps.metrics.tokenErrors.inc({ error: oauthError.code });
      deps.audit.record({ event: 'token_refused', status: oauthError.status, outcome: 'denied', reason: oauthError.code, request_id: requestId });
    }
    const headers: Record<string, string> = { ...NO_STORE };
    if (oauthError.challenge) headers['WWW-Authenticate'] = oauthError.challenge;
    if (oauthError.retryAfterSeconds !== undefined) headers['Retry-After'] = String(oauthError.retryAfterSeconds);
    return c.json(oauthError.toJSON(), oauthError.status as 400, headers);
  });

  return app;
}
