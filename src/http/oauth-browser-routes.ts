import { Hono, type Context } from 'hono';
import { isLoopbackHost } from '../net/loopback.js';
import { CapsuleError } from '../crypto/capsule.js';
import { loggedCause } from '../domain/errors.js';
import { rateLimitKey } from '../store/rate-limit.js';
import type { AuthorizationRequest } from '../domain/capsule-schemas.js';
import { randomToken, shortDigest } from '../crypto/encoding.js';
import type { AppDeps } from './deps.js';
import { requestIdOf } from './access-log.js';
import { replayKeys } from '../store/replay-keys.js';
import { UpstreamError } from '../upstream/upstream-client.js';
import { pendingAuthorization, validateAuthorizationRequest } from '../oauth/authorize.js';
import { authorizationResponseUrl, ErrorPage, RedirectToClient } from '../oauth/browser-errors.js';
import { hasApproval, withApproval } from '../oauth/consent.js';
import { COOKIE, readCookie, writeCookie } from '../oauth/cookies.js';
import { PATHS, type Endpoints } from '../oauth/endpoints.js';
import { auditUser } from '../observability/audit.js';
import type { LoginResult } from '../observability/metrics.js';
import { OAuthError } from '../oauth/errors.js';
import { consentPage, errorPage, PAGE_SECURITY_HEADERS } from '../oauth/pages.js';
import { readFormParams } from '../oauth/params.js';

const BINDING_VALUE = /^[A-Za-z0-9_-]{43}$/;

/** True when the issuer is plain-http loopback and the request came in under another loopback name for the same port. */
function loopbackAliasOfIssuer(host: string | undefined, issuer: string): boolean {
  const expected = new URL(issuer);
  if (expected.protocol !== 'http:' || !isLoopbackHost(expected.hostname) || host === undefined) return false;
  let actual: URL;
  try {
    actual = new URL(`http://${host}`);
  } catch {
    return false;
  }
  return actual.host !== expected.host && isLoopbackHost(actual.hostname) && actual.port === expected.port;
}

/** How a failed sign-in callback is counted: refused by someone, failed, or not a valid callback at all. */
function loginFailure(error: unknown): LoginResult {
  if (error instanceof RedirectToClient) return error.code === 'access_denied' ? 'denied' : 'error';
  return error instanceof ErrorPage && error.status < 500 ? 'rejected' : 'error';
}

/**
 * The endpoints a person's browser visits: /authorize, the consent form and
 * the upstream callback. Their errors are pages or redirects to a validated
 * client redirect URI, never JSON.
 */
export function browserRoutes(deps: AppDeps, endpoints: Endpoints): Hono {
  const app = new Hono();
  const secure = endpoints.secureCookies;
  const { capsules, config, logger } = deps;

  const openOrUndefined = async <K extends 'consent' | 'pending' | 'transaction'>(kind: K, value: string | undefined) => {
    if (value === undefined) return undefined;
    try {
      return await capsules.open(kind, value);
    } catch (error) {
      if (error instanceof CapsuleError) {
        logger.debug('capsule refused', { kind, reason: error.detail });
        return undefined;
      }
      throw error;
    }
  };

  /** The browser-binding value: reused while valid so concurrent sign-ins in one browser all work. */
  const bindBrowser = (c: Context): string => {
    const existing = readCookie(c, COOKIE.binding, secure);
    const value = existing && BINDING_VALUE.test(existing) ? existing : randomToken(32);
    writeCookie(c, COOKIE.binding, value, config.ttl.transaction, secure);
    return value;
  };

  const checkBinding = async (c: Context, request: AuthorizationRequest): Promise<void> => {
    const value = readCookie(c, COOKIE.binding, secure);
    if (!value || (await shortDigest(value)) !== request.binding) {
      throw new ErrorPage(
        'Sign-in not started here',
        `This sign-in was started in another browser, or at another address than ${endpoints.issuer}, or has expired. Start again from your MCP client, using ${endpoints.issuer}.`,
        403,
        'browser binding mismatch',
      );
    }
  };

  /** The identity provider of the route the request is for; the resource was validated when the request was sealed. */
  const upstreamOf = (request: AuthorizationRequest) => {
    const route = endpoints.routeForAudience(request.resource);
    if (!route) throw new ErrorPage('Sign-in expired', 'This MCP server is no longer served here. Start again from your MCP client.', 400, `no route for ${request.resource}`);
    return deps.upstreamFor(route.route);
  };

  const redirectUpstream = async (c: Context, request: AuthorizationRequest, status: 302 | 303) => {
    const upstream = upstreamOf(request);
    const state = await capsules.seal('transaction', request);
    let target: URL;
    try {
      target = await upstream.authorizationUrl(
        { state, codeVerifier: request.upstream_verifier, nonce: request.upstream_nonce },
        endpoints.callback,
      );
    } catch (error) {
      throw new RedirectToClient(request.redirect_uri, request.state, 'temporarily_unavailable', 'The identity provider is unavailable; try again shortly.', error instanceof UpstreamError ? error.detail : String(error), error);
    }
    return c.redirect(target.href, status);
  };

  app.get(PATHS.authorize, async (c) => {
    // Locally, localhost and 127.0.0.1 are different cookie sites: a browser sent to the other
    // name would lose its binding cookie at the callback, so send it to the issuer's own host.
    const sameMachineAlias = loopbackAliasOfIssuer(c.req.header('host'), endpoints.issuer);
    if (sameMachineAlias) return c.redirect(endpoints.issuer + PATHS.authorize + new URL(c.req.url).search, 302);
    const validated = await validateAuthorizationRequest(new URL(c.req.url).searchParams, rateLimitKey(deps.clientAddress?.(c)), { clients: deps.clients, endpoints });
    const request = await pendingAuthorization(validated, bindBrowser(c), { capsules, config });
    if (!validated.client.requireConsent) return redirectUpstream(c, request, 302);
    const consent = await openOrUndefined('consent', readCookie(c, COOKIE.consent, secure));
    if (hasApproval(consent, request.consent_key, request.scope)) return redirectUpstream(c, request, 302);

    const route = endpoints.routeForAudience(request.resource)!.route;
    const html = consentPage({
      clientName: request.client_name,
      clientSource: validated.client.kind === 'metadata-document' ? { kind: 'metadata-document', url: validated.client.clientId } : { kind: validated.client.kind },
      redirectUri: request.redirect_uri,
      resource: request.resource,
      providerHost: deps.upstreamInfoFor(route).host,
      upstreamScopes: deps.upstreamInfoFor(route).scopes,
      downstreamReceives: route.auth,
      grantedScope: request.scope,
      requestCapsule: await capsules.seal('pending', request),
      action: PATHS.consent,
    });
    return c.body(html, 200, PAGE_SECURITY_HEADERS);
  });

  app.post(PATHS.consent, async (c) => {
    // Browsers send Origin and Sec-Fetch-Site on form posts; either naming another site is a forged submission.
    const origin = c.req.header('origin');
    const fetchSite = c.req.header('sec-fetch-site');
    if ((origin !== undefined && origin !== 'null' && origin !== endpoints.issuer) || (fetchSite !== undefined && fetchSite !== 'same-origin')) {
      throw new ErrorPage('Request refused', 'The consent form was submitted from another site.', 403, `origin ${origin} sec-fetch-site ${fetchSite}`);
    }
    const params = await readFormParams(c.req.raw);
    const request = await openOrUndefined('pending', params.optional('request'));
    if (!request) throw new ErrorPage('Consent expired', 'This consent form is no longer valid. Start again from your MCP client.');
    await checkBinding(c, request);

    const decision = params.optional('decision');
    if (decision !== 'approve') {
      logger.info('consent denied', { cid: request.cid });
      deps.audit.record({ event: 'consent', client: { id: request.cid, ...(request.client_name ? { name: request.client_name } : {}) }, outcome: 'denied', request_id: requestIdOf(c) });
      throw new RedirectToClient(request.redirect_uri, request.state, 'access_denied', 'The user denied the request.');
    }
    const consent = await openOrUndefined('consent', readCookie(c, COOKIE.consent, secure));
    const now = capsules.nowSeconds();
    const updated = withApproval(consent, request.consent_key, request.scope, now, config.ttl.consent);
    writeCookie(c, COOKIE.consent, await capsules.seal('consent', updated), config.ttl.consent, secure);
    logger.info('consent approved', { cid: request.cid });
    deps.audit.record({ event: 'consent', client: { id: request.cid, ...(request.client_name ? { name: request.client_name } : {}) }, outcome: 'allowed', request_id: requestIdOf(c) });
    return redirectUpstream(c, request, 303);
  });

  app.on('GET', [...endpoints.callbackPaths], async (c) => {
    const current = new URL(c.req.url);
    const request = await openOrUndefined('transaction', current.searchParams.get('state') ?? undefined);
    if (!request) throw new ErrorPage('Sign-in expired', 'This sign-in link is invalid or has expired. Start again from your MCP client.');
    await checkBinding(c, request);
    if (!(await deps.replay.markOnce(replayKeys.usedTransaction(request.jti), config.ttl.transaction))) {
      throw new ErrorPage('Sign-in already completed', 'This sign-in response was already used. Start again from your MCP client.');
    }

    const upstream = upstreamOf(request);
    let login;
    try {
      const callbackUrl = new URL(endpoints.callback);
      callbackUrl.search = current.search;
      login = await upstream.completeLogin(
        callbackUrl,
        { state: current.searchParams.get('state')!, codeVerifier: request.upstream_verifier, nonce: request.upstream_nonce },
        endpoints.callback,
      );
    } catch (error) {
      const upstreamError = error instanceof UpstreamError ? error : new UpstreamError('unavailable', String(error), error);
      const denied = upstreamError.kind === 'denied';
      throw new RedirectToClient(
        request.redirect_uri,
        request.state,
        denied ? 'access_denied' : 'server_error',
        denied ? 'The identity provider denied the sign-in.' : 'Sign-in at the identity provider failed.',
        upstreamError.detail,
        upstreamError,
      );
    }

    const routeEndpoint = endpoints.routeForAudience(request.resource)!;
    const decision = routeEndpoint.access.decide(login.identity);
    if (!decision.allowed) {
      deps.metrics.policyDenials.inc({ stage: 'sign-in' });
      deps.audit.record({ event: 'login_denied', user: auditUser(login.identity), client: { id: request.cid, ...(request.client_name ? { name: request.client_name } : {}) }, route: routeEndpoint.path, outcome: 'denied', reason: decision.reason, request_id: requestIdOf(c) });
      throw new RedirectToClient(request.redirect_uri, request.state, 'access_denied', 'Your account is not allowed to use this MCP server.', decision.reason);
    }
    const code = await capsules.seal('code', {
      identity: login.identity,
      upstream: login.tokens,
      cid: request.cid,
      redirect_uri: request.redirect_uri,
      code_challenge: request.code_challenge,
      scope: request.scope,
      resource: request.resource,
      refresh: request.refresh,
      jti: request.jti,
      exp: capsules.nowSeconds() + config.ttl.authorizationCode,
    });
    logger.info('login completed', { sub: login.identity.sub, cid: request.cid });
    deps.metrics.logins.inc({ result: 'success' });
    deps.audit.record({ event: 'login', user: auditUser(login.identity), client: { id: request.cid, ...(request.client_name ? { name: request.client_name } : {}) }, route: routeEndpoint.path, outcome: 'allowed', request_id: requestIdOf(c) });
    return c.redirect(authorizationResponseUrl(request.redirect_uri, endpoints.issuer, { code, state: request.state }), 302);
  });

  app.onError((error, c) => {
    const requestId = requestIdOf(c);
    if (endpoints.callbackPaths.includes(c.req.path)) deps.metrics.logins.inc({ result: loginFailure(error) });
    if (error instanceof RedirectToClient) {
      logger.info('authorization error returned to client', { error: error.code, detail: error.detail, ...loggedCause(error), request_id: requestId });
      const target = authorizationResponseUrl(error.redirectUri, endpoints.issuer, {
        error: error.code,
        error_description: error.description,
        state: error.state,
      });
      return c.redirect(target, c.req.method === 'POST' ? 303 : 302);
    }
    if (error instanceof ErrorPage) {
      logger.info('authorization request refused', { title: error.title, detail: error.detail, ...loggedCause(error), request_id: requestId });
      return c.body(errorPage(error.title, error.description), error.status as 400, PAGE_SECURITY_HEADERS);
    }
    if (error instanceof OAuthError) {
      return c.body(errorPage('Invalid request', error.description), 400, PAGE_SECURITY_HEADERS);
    }
    logger.error('unexpected error in the authorization flow', { error, request_id: requestId });
    return c.body(errorPage('Something went wrong', 'The sign-in could not be completed. Try again.'), 500, PAGE_SECURITY_HEADERS);
  });

  return app;
}
