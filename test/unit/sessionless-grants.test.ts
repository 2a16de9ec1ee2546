import { describe, expect, it } from 'vitest';
import { decideStartup } from '../../src/config/development-setup.js';
import { routeServesWithoutUpstreamSession, routeSignsIn } from '../../src/config/schema.js';
import { clientIdOfSubject, clientSubject } from '../../src/domain/client-subject.js';
import { downstreamCredential } from '../../src/downstream/credentials.js';
import { compileAccessPolicy } from '../../src/policy/access-policy.js';
import { identityFromClaims } from '../../src/upstream/identity/claims.js';
import { testConfig } from '../support/deps.js';

const NO_TOKENS = { getToken: async () => ({ accessToken: 'x' }), invalidate: () => undefined };
const NO_EXCHANGES = { exchange: async () => ({ accessToken: 'x' }), invalidate: () => undefined };
const UPSTREAM = { clientId: 'proxy', clientSecret: 'proxy-secret', authMethod: 'client_secret_basic' as const, tokenEndpoint: async () => 'https://idp.example/token' };

describe('routes for tokens without an upstream session', () => {
  const routes = testConfig({
    routes: [
      { path: '/a', url: 'http://127.0.0.1:9/a', auth: 'upstream-token' },
      { path: '/b', url: 'http://127.0.0.1:9/b', auth: 'identity-headers' },
      { path: '/c', url: 'http://127.0.0.1:9/c', auth: 'api-key', apiKey: 'k' },
      { path: '/d', url: 'http://127.0.0.1:9/d', auth: 'client-credentials', tokenUrl: 'https://idp.example/token', clientId: 'p', clientSecret: 's' },
      { path: '/e', url: 'http://127.0.0.1:9/e', auth: 'client-credentials', tokenUrl: 'https://idp.example/token', credentialsFrom: 'request' },
      { path: '/f', url: 'http://127.0.0.1:9/f', auth: 'pat' },
      { path: '/g', url: 'http://127.0.0.1:9/g', auth: 'none' },
      { path: '/h', url: 'http://127.0.0.1:9/h', auth: 'token-exchange', audience: 'mcp' },
      { path: '/i', url: 'http://127.0.0.1:9/i', auth: 'entra-obo', scopes: ['api://mcp-app/.default'] },
    ],
  }).routes;

  it('are the signing-in routes whose mode needs no upstream token of the user, and no others', () => {
    expect(routes.filter(routeServesWithoutUpstreamSession).map((route) => route.path)).toEqual(['/b', '/c', '/d']);
    for (const route of routes) {
      const credential = downstreamCredential(route, { tokens: NO_TOKENS, exchanges: NO_EXCHANGES, upstream: UPSTREAM });
      // The predicate the grants use and what each mode declares it needs never disagree.
      if (routeSignsIn(route)) expect(routeServesWithoutUpstreamSession(route), route.path).toBe(!credential.needsUpstreamToken);
      else expect(routeServesWithoutUpstreamSession(route), route.path).toBe(false);
    }
  });
});

describe('a client as its own subject', () => {
  it('is client:<client_id>, read back only from that form', () => {
    expect(clientSubject('agent')).toBe('client:agent');
    expect(clientIdOfSubject('client:agent')).toBe('agent');
    expect(clientIdOfSubject('client:')).toBe('');
    expect(clientIdOfSubject('Client:agent')).toBeUndefined();
    expect(clientIdOfSubject('110169484474386276334')).toBeUndefined();
  });

  it('is never a user: a provider subject of that form does not become an identity', () => {
    expect(() => identityFromClaims({ sub: 'client:agent' }, { subject: 'sub' })).toThrow(expect.objectContaining({ detail: expect.stringMatching(/reserved for clients/) }));
    expect(identityFromClaims({ sub: 'clientele' }, { subject: 'sub' })).toEqual({ sub: 'clientele' });
  });

  it('is admitted by a policy only through its clients list', () => {
    const none = { emails: [], emailDomains: [], groups: [], subjects: [], clients: [] };
    const agent = { sub: clientSubject('agent'), name: 'Agent' };
    expect(compileAccessPolicy(none).decide(agent)).toEqual({ allowed: true, rule: 'open' });
    expect(compileAccessPolicy({ ...none, clients: ['agent'] }).decide(agent)).toEqual({ allowed: true, rule: 'client' });
    expect(compileAccessPolicy({ ...none, clients: ['other'] }).decide(agent).allowed).toBe(false);
    // A user list restricts the route, and matches no client, not even by the client's own subject.
    expect(compileAccessPolicy({ ...none, subjects: ['client:agent'], groups: ['client:agent'] }).decide({ ...agent, groups: ['client:agent'] }).allowed).toBe(false);
    // A clients list admits no user.
    expect(compileAccessPolicy({ ...none, clients: ['agent'] }).decide({ sub: 'agent' }).allowed).toBe(false);
  });
});

describe('a trusted identity issuer from the environment', () => {
  it('configures the proxy: no development setup starts around it', () => {
    const decision = decideStartup({ CAPSULE_ID_JAG_ISSUERS: 'https://corp.okta.example' }, undefined);
    expect(decision).toMatchObject({ kind: 'configured', by: ['CAPSULE_ID_JAG_ISSUERS'], missing: { idp: true, mcp: true } });
  });
});
