import { describe, expect, it } from 'vitest';
import { exchangeRefusal } from '../../src/downstream/modes/token-exchange.js';
import { TokenEndpointError } from '../../src/downstream/token-endpoint/index.js';
import { exchangeKey, grantParameters, type ExchangeGrant, type ExchangeRequest } from '../../src/downstream/token-exchange/index.js';
import { UpstreamError } from '../../src/upstream/upstream-client.js';

const RFC8693: ExchangeGrant = { kind: 'token-exchange', subjectToken: 'access_token', audience: 'mcp-server', resource: 'https://mcp.example.com/api', scopes: ['read', 'write'] };
const OBO: ExchangeGrant = { kind: 'entra-obo', scopes: ['api://mcp-server/.default'] };

const request = (overrides: Partial<ExchangeRequest> = {}): ExchangeRequest => ({
  tokenUrl: new URL('https://idp.example.com/token'),
  client: { clientId: 'proxy', clientSecret: 'secret', authMethod: 'client_secret_basic' },
  grant: RFC8693,
  subjectToken: 'alice-upstream-access-token',
  ...overrides,
});

describe('the exchange request (RFC 8693 §2.1, Entra on-behalf-of)', () => {
  it('asks for an access token for the audience, resource and scopes, with the typed subject token', () => {
    expect(Object.fromEntries(grantParameters(RFC8693, 'subject-value'))).toEqual({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: 'subject-value',
      subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      requested_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      audience: 'mcp-server',
      resource: 'https://mcp.example.com/api',
      scope: 'read write',
    });
  });

  it('types an ID token subject as one, and leaves out what the route does not ask for', () => {
    expect(Object.fromEntries(grantParameters({ kind: 'token-exchange', subjectToken: 'id_token', scopes: [] }, 'id-token-value'))).toEqual({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: 'id-token-value',
      subject_token_type: 'urn:ietf:params:oauth:token-type:id_token',
      requested_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    });
  });

  it("sends Entra's jwt-bearer grant with the token as assertion", () => {
    expect(Object.fromEntries(grantParameters(OBO, 'user-access-token'))).toEqual({
      grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      assertion: 'user-access-token',
      requested_token_use: 'on_behalf_of',
      scope: 'api://mcp-server/.default',
    });
  });
});

describe('the cache key of an exchanged token', () => {
  it('is the same for the same user and request, and holds the subject token only as a digest', () => {
    expect(exchangeKey(request())).toBe(exchangeKey(request()));
    expect(exchangeKey(request())).not.toContain('alice-upstream-access-token');
  });

  it('differs for another subject token, audience, resource, scope, client, endpoint or subject type', () => {
    const keys = [
      request(),
      request({ subjectToken: 'bob-upstream-access-token' }),
      request({ grant: { ...RFC8693, audience: 'other-server' } }),
      request({ grant: { ...RFC8693, resource: 'https://other.example.com' } }),
      request({ grant: { ...RFC8693, scopes: ['read'] } }),
      request({ grant: { ...RFC8693, audience: undefined, resource: undefined } }),
      request({ grant: { ...RFC8693, subjectToken: 'id_token' } }),
      request({ client: { clientId: 'other', clientSecret: 'secret', authMethod: 'client_secret_basic' } }),
      request({ tokenUrl: new URL('https://other-idp.example.com/token') }),
      request({ grant: OBO }),
    ].map(exchangeKey);
    expect(new Set(keys).size).toBe(keys.length);
  });
});

describe('a failed exchange as the client sees it', () => {
  it("is 401 invalid_token when the provider refuses the user's token, so the client signs in again", () => {
    for (const code of ['invalid_grant', 'invalid_request', 'interaction_required', 'consent_required', 'invalid_target']) {
      expect(exchangeRefusal(new TokenEndpointError('token_endpoint_error', `answered ${code}`, code, 400))).toMatchObject({ ok: false, status: 401, error: 'invalid_token' });
    }
  });

  it("is 503 when the provider refuses the proxy's own client, fails, or cannot be found", () => {
    for (const code of ['invalid_client', 'unauthorized_client', 'unsupported_grant_type']) {
      expect(exchangeRefusal(new TokenEndpointError('token_endpoint_error', `answered ${code}`, code, 400))).toMatchObject({ status: 503, error: 'temporarily_unavailable' });
    }
    expect(exchangeRefusal(new TokenEndpointError('unavailable', 'answered HTTP 502', undefined, 502))).toMatchObject({ status: 503, detail: 'unavailable: answered HTTP 502' });
    expect(exchangeRefusal(new TokenEndpointError('invalid_configuration', 'the token URL must use https'))).toMatchObject({ status: 503 });
    expect(exchangeRefusal(new UpstreamError('unavailable', 'discovery: the provider did not answer in time'))).toMatchObject({
      status: 503,
      detail: 'unavailable: discovery: the provider did not answer in time',
    });
  });

  it('names no challenge of its own: the route gives its invalid_token challenge', () => {
    expect(exchangeRefusal(new TokenEndpointError('token_endpoint_error', 'answered invalid_grant', 'invalid_grant', 400))).not.toHaveProperty('challenge');
  });
});
