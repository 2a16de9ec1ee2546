import { randomUUID } from 'node:crypto';
import { delay, http, HttpResponse, type RequestHandler } from 'msw';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { oidcDiscovery } from '../support/oidc-discovery.js';

/** What the fake provider asserts about the person who "signs in" (there is no login form). */
export interface FakeIdentity {
  sub: string;
  email?: string;
  email_verified?: boolean;
  name?: string;
  groups?: string[];
}

/** How the token endpoint misbehaves; `none` answers a valid token response. */
export type TokenFault = 'none' | 'down' | 'http-500' | 'malformed-json' | 'html' | 'wrong-nonce' | 'wrong-issuer' | 'expired-id-token' | 'hang';

export interface FakeOidcProvider {
  readonly issuer: string;
  readonly handlers: RequestHandler[];
  /** Who the next sign-in is. */
  identity: FakeIdentity;
  tokenFault: TokenFault;
  /** Discovery fails (connection error) while true. */
  discoveryDown: boolean;
  tokenRequests: number;
}

/**
 * An OpenID provider played by msw: discovery, an authorization endpoint that signs
 * `identity` in at once (redirecting straight back with a code), and a token endpoint
 * that issues RS256 ID tokens carrying the nonce of that authorization request, or
 * misbehaves as `tokenFault` says. Browser (global fetch) and proxy both reach it through msw.
 */
export async function fakeOidcProvider(issuer: string, clientId: string): Promise<FakeOidcProvider> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'fake-1', alg: 'RS256', use: 'sig' };

  const provider: FakeOidcProvider = {
    issuer,
    identity: { sub: 'alice', email: 'alice@example.test', email_verified: true, name: 'Alice', groups: ['users'] },
    tokenFault: 'none',
    discoveryDown: false,
    tokenRequests: 0,
    handlers: [
      http.get(`${issuer}/.well-known/openid-configuration`, () =>
        provider.discoveryDown
          ? HttpResponse.error()
          : HttpResponse.json(
              oidcDiscovery(issuer, { code_challenge_methods_supported: ['S256'], authorization_response_iss_parameter_supported: true }),
            ),
      ),
      http.get(`${issuer}/jwks`, () => HttpResponse.json({ keys: [jwk] })),
      http.get(`${issuer}/authorize`, ({ request }) => {
        const url = new URL(request.url);
        const code = Buffer.from(JSON.stringify({ nonce: url.searchParams.get('nonce'), identity: provider.identity })).toString('base64url');
        const back = new URL(url.searchParams.get('redirect_uri')!);
        back.search = new URLSearchParams({ code, state: url.searchParams.get('state') ?? '', iss: issuer }).toString();
        return new HttpResponse(null, { status: 302, headers: { location: back.href } });
      }),
      http.post(`${issuer}/token`, async ({ request }) => {
        provider.tokenRequests++;
        const fault = provider.tokenFault;
        if (fault === 'down') return HttpResponse.error();
        if (fault === 'http-500') return HttpResponse.text('internal error at the IdP', { status: 500 });
        if (fault === 'malformed-json') return new HttpResponse('{"access_token": "abc", ', { headers: { 'content-type': 'application/json' } });
        if (fault === 'html') return new HttpResponse('<html>maintenance</html>', { headers: { 'content-type': 'text/html' } });
        if (fault === 'hang') await delay('infinite');
        const form = new URLSearchParams(await request.text());
        const { nonce, identity } = JSON.parse(Buffer.from(form.get('code') ?? '', 'base64url').toString()) as { nonce: string; identity: FakeIdentity };
        const now = Math.floor(Date.now() / 1000);
        const idToken = await new SignJWT({ ...identity, nonce: fault === 'wrong-nonce' ? 'a-nonce-from-another-login' : nonce })
          .setProtectedHeader({ alg: 'RS256', kid: jwk.kid })
          .setIssuer(fault === 'wrong-issuer' ? 'https://evil-idp.test' : issuer)
          .setAudience(clientId)
          .setSubject(identity.sub)
          .setIssuedAt(fault === 'expired-id-token' ? now - 7200 : now)
          .setExpirationTime(fault === 'expired-id-token' ? now - 3600 : now + 300)
          .sign(privateKey);
        return HttpResponse.json({ access_token: `fake-upstream-at-${randomUUID()}`, token_type: 'Bearer', expires_in: 3600, id_token: idToken });
      }),
    ],
  };
  return provider;
}
