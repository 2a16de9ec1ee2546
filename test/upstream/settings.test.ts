import { describe, expect, it } from 'vitest';
import { PRESET_DOCS, UPSTREAM_PROVIDERS } from '../../src/upstream/presets.js';
import { resolveUpstream, upstreamSettingsSchema, type ResolvedUpstream } from '../../src/upstream/settings.js';

const TENANT_ID = '72f988bf-86f1-41af-91ab-2d7cd011db47';

function resolve(input: Record<string, unknown>): ResolvedUpstream {
  return resolveUpstream(upstreamSettingsSchema.parse(input));
}

/** Every problem, keyed by the dotted path of the field at fault. */
function problems(input: Record<string, unknown>): Record<string, string[]> {
  const result = upstreamSettingsSchema.safeParse(input);
  if (result.success) return {};
  const byPath: Record<string, string[]> = {};
  for (const issue of result.error.issues) (byPath[issue.path.join('.')] ??= []).push(issue.message);
  return byPath;
}

describe('upstream presets resolve to their documented defaults', () => {
  it('oidc: discovery at the issuer, openid email profile, basic auth, 10 s', () => {
    const resolved = resolve({ issuer: 'https://idp.example.com', clientId: 'proxy', clientSecret: 's' });
    expect(resolved).toMatchObject({
      provider: 'oidc',
      protocol: 'oidc',
      issuer: 'https://idp.example.com',
      issuerValidation: 'exact',
      scopes: ['openid', 'email', 'profile'],
      tokenAuthMethod: 'client_secret_basic',
      timeoutMs: 10_000,
      maxResponseBytes: 1024 * 1024,
      authParams: {},
      userinfo: 'when-missing',
      claims: { subject: 'sub', email: 'email', emailVerified: 'email_verified', name: 'name', groups: 'groups' },
    });
  });

  it('google: accounts.google.com with access_type=offline and prompt=consent', () => {
    const resolved = resolve({ provider: 'google', clientId: 'x.apps.googleusercontent.com', clientSecret: 's' });
    expect(resolved).toMatchObject({
      protocol: 'oidc',
      issuer: 'https://accounts.google.com',
      scopes: ['openid', 'email', 'profile'],
      authParams: { access_type: 'offline', prompt: 'consent' },
    });
    expect(resolved.protocol === 'oidc' && resolved.claims.groups).toBeUndefined();
  });

  it('google: the issuer can be overridden and a preset parameter dropped with an empty value', () => {
    const resolved = resolve({
      provider: 'google',
      issuer: 'http://127.0.0.1:4000',
      clientId: 'c',
      clientSecret: 's',
      authParams: 'prompt=&hd=example.com',
    });
    expect(resolved).toMatchObject({ issuer: 'http://127.0.0.1:4000', authParams: { access_type: 'offline', hd: 'example.com' } });
    expect(resolved.authParams).not.toHaveProperty('prompt');
  });

  it('microsoft: the tenant issuer, offline_access, post auth, xms_edov, no userinfo', () => {
    const resolved = resolve({ provider: 'microsoft', tenant: TENANT_ID.toUpperCase(), clientId: 'c', clientSecret: 's' });
    expect(resolved).toMatchObject({
      protocol: 'oidc',
      issuer: `https://login.microsoftonline.com/${TENANT_ID}/v2.0`,
      issuerValidation: 'exact',
      scopes: ['openid', 'email', 'profile', 'offline_access'],
      tokenAuthMethod: 'client_secret_post',
      userinfo: 'never',
      claims: { subject: 'sub', emailVerified: 'xms_edov', groups: 'groups' },
    });
  });

  it('microsoft: a tenant domain resolves to discovery by domain with a tenant-GUID issuer check', () => {
    const resolved = resolve({ provider: 'microsoft', tenant: 'Contoso.com', clientId: 'c', clientSecret: 's', claims: 'subject=oid groups=roles' });
    expect(resolved).toMatchObject({
      issuer: 'https://login.microsoftonline.com/contoso.com/v2.0',
      issuerValidation: 'entra-domain',
      claims: { subject: 'oid', groups: 'roles', emailVerified: 'xms_edov' },
    });
  });

  it('github: github.com endpoints, the REST API, read:user user:email, post auth', () => {
    expect(resolve({ provider: 'github', clientId: 'Iv1.abc', clientSecret: 's' })).toEqual({
      provider: 'github',
      protocol: 'github',
      clientId: 'Iv1.abc',
      clientSecret: 's',
      tokenAuthMethod: 'client_secret_post',
      scopes: ['read:user', 'user:email'],
      authParams: {},
      timeoutMs: 10_000,
      maxResponseBytes: 1024 * 1024,
      authorizationUrl: 'https://github.com/login/oauth/authorize',
      tokenUrl: 'https://github.com/login/oauth/access_token',
      apiUrl: 'https://api.github.com',
    });
  });

  it('github: every URL can be overridden (GitHub Enterprise Server, tests)', () => {
    const resolved = resolve({
      provider: 'github',
      clientId: 'c',
      clientSecret: 's',
      authorizationUrl: 'https://ghe.example.com/login/oauth/authorize',
      tokenUrl: 'https://ghe.example.com/login/oauth/access_token',
      apiUrl: 'https://ghe.example.com/api/v3/',
    });
    expect(resolved).toMatchObject({
      authorizationUrl: 'https://ghe.example.com/login/oauth/authorize',
      tokenUrl: 'https://ghe.example.com/login/oauth/access_token',
      apiUrl: 'https://ghe.example.com/api/v3',
    });
  });

  it('oauth2: the three URLs, no scopes unless given, claim names merged over the defaults', () => {
    const resolved = resolve({
      provider: 'oauth2',
      authorizationUrl: 'https://sso.example.com/oauth/authorize',
      tokenUrl: 'https://sso.example.com/oauth/token',
      userinfoUrl: 'https://sso.example.com/api/me',
      clientId: 'c',
      claims: { subject: 'data.user.id', groups: 'roles', name: '' },
    });
    expect(resolved).toMatchObject({
      protocol: 'oauth2',
      scopes: [],
      userinfoUrl: 'https://sso.example.com/api/me',
      claims: { subject: 'data.user.id', email: 'email', emailVerified: 'email_verified', groups: 'roles', name: undefined },
    });
    expect(resolved).not.toHaveProperty('issuer');
  });

  it('reads lists, durations and parameters the way environment variables carry them', () => {
    const resolved = resolve({
      issuer: 'https://idp.example.com',
      clientId: 'c',
      scopes: 'openid, email  groups',
      timeout: '1m',
      tokenAuthMethod: 'client_secret_post',
      authParams: '?prompt=login&max_age=300',
    });
    expect(resolved).toMatchObject({
      scopes: ['openid', 'email', 'groups'],
      timeoutMs: 60_000,
      tokenAuthMethod: 'client_secret_post',
      authParams: { prompt: 'login', max_age: '300' },
    });
    expect(resolve({ issuer: 'https://idp.example.com', clientId: 'c', timeout: 3, authParams: { acr_values: 'mfa', max_age: 60 } })).toMatchObject({
      timeoutMs: 3000,
      authParams: { acr_values: 'mfa', max_age: '60' },
    });
  });

  it('documents every preset with the scopes and parameters it really uses', () => {
    for (const provider of UPSTREAM_PROVIDERS) {
      const doc = PRESET_DOCS[provider];
      expect(doc.callbackNote).toContain('<CAPSULE_PUBLIC_URL>/oauth/callback');
      expect(doc.notes.length).toBeGreaterThan(0);
      const minimal = {
        provider,
        clientId: 'c',
        clientSecret: 's',
        ...(provider === 'oidc' ? { issuer: 'https://idp.example.com' } : {}),
        ...(provider === 'microsoft' ? { tenant: TENANT_ID } : {}),
        ...(provider === 'oauth2'
          ? { authorizationUrl: 'https://a.example/auth', tokenUrl: 'https://a.example/token', userinfoUrl: 'https://a.example/me' }
          : {}),
      };
      const resolved = resolve(minimal);
      expect(resolved.scopes).toEqual(doc.scopes);
      expect(resolved.authParams).toEqual(doc.authParams);
    }
  });
});

describe('upstream settings problems name the field at fault', () => {
  it('requires clientId, and issuer for oidc, reporting both at once', () => {
    expect(problems({})).toEqual({ clientId: [expect.any(String)], issuer: ['is required for the oidc provider'] });
  });

  it('refuses an unknown provider, token auth method and malformed timeout', () => {
    const found = problems({ provider: 'okta', clientId: 'c', tokenAuthMethod: 'private_key_jwt', timeout: '10 minutes' });
    expect(Object.keys(found).sort()).toEqual(['provider', 'timeout', 'tokenAuthMethod']);
    expect(problems({ issuer: 'https://idp.example.com', clientId: 'c', timeout: 0 })).toHaveProperty('timeout');
    expect(problems({ issuer: 'https://idp.example.com', clientId: 'c', timeout: '1h' })).toHaveProperty('timeout');
  });

  it('refuses plain http except on loopback, and URLs with credentials or fragments', () => {
    expect(problems({ issuer: 'http://idp.example.com', clientId: 'c' })['issuer']?.[0]).toMatch(/https/);
    expect(problems({ issuer: 'http://localhost:8080', clientId: 'c' })).toEqual({});
    expect(problems({ issuer: 'http://[::1]:8080', clientId: 'c' })).toEqual({});
    expect(problems({ issuer: 'https://idp.example.com', tokenUrl: 'https://u:p@idp.example.com/t', clientId: 'c' })).toHaveProperty('tokenUrl');
    expect(problems({ issuer: 'https://idp.example.com/?tenant=1', clientId: 'c' })).toHaveProperty('issuer');
    expect(problems({ issuer: 'not a url', clientId: 'c' })['issuer']).toEqual(['must be an absolute http(s) URL']);
  });

  it('refuses scopes without openid for the OpenID Connect presets, and malformed scope tokens', () => {
    expect(problems({ issuer: 'https://idp.example.com', clientId: 'c', scopes: 'email profile' })).toEqual({
      scopes: ['must include openid for the oidc provider'],
    });
    expect(problems({ issuer: 'https://idp.example.com', clientId: 'c', scopes: ['openid', 'a"b'] })).toHaveProperty('scopes.1');
  });

  it.each([
    ['client_id', /use clientId/],
    ['redirect_uri', /oauth\/callback/],
    ['state', /sets it/],
    ['nonce', /sets it/],
    ['code_challenge', /PKCE/],
    ['code_challenge_method', /S256/],
    ['scope', /use scopes/],
    ['response_type', /authorization code/],
    ['request_uri', /request objects/],
  ])('refuses the reserved authorization parameter %s', (name, reason) => {
    const asString = problems({ issuer: 'https://idp.example.com', clientId: 'c', authParams: `prompt=login&${name}=x` });
    expect(asString['authParams']).toHaveLength(1);
    expect(asString['authParams']![0]).toContain(`"${name}"`);
    expect(asString['authParams']![0]).toMatch(reason);
    const asObject = problems({ issuer: 'https://idp.example.com', clientId: 'c', authParams: { [name.toUpperCase()]: 'x' } });
    expect(asObject['authParams']).toHaveLength(1);
  });

  it('refuses authParams that are neither a query string nor an object', () => {
    expect(problems({ issuer: 'https://idp.example.com', clientId: 'c', authParams: ['prompt=consent'] })).toHaveProperty('authParams');
    expect(problems({ issuer: 'https://idp.example.com', clientId: 'c', authParams: { prompt: { nested: true } } })).toHaveProperty('authParams');
  });

  it('oauth2 requires its three URLs', () => {
    expect(problems({ provider: 'oauth2', clientId: 'c' })).toEqual({
      authorizationUrl: ['is required for the oauth2 provider'],
      tokenUrl: ['is required for the oauth2 provider'],
      userinfoUrl: ['is required for the oauth2 provider'],
    });
    expect(problems({ provider: 'oauth2', clientId: 'c', authorizationUrl: 'https://a.example/auth', tokenUrl: 'https://a.example/token' })).toEqual({
      userinfoUrl: ['is required for the oauth2 provider'],
    });
  });

  it('google, microsoft and github require a client secret', () => {
    expect(problems({ provider: 'google', clientId: 'c' })).toEqual({ clientSecret: ['is required for the google provider'] });
    expect(problems({ provider: 'github', clientId: 'c' })).toEqual({ clientSecret: ['is required for the github provider'] });
    expect(problems({ provider: 'microsoft', tenant: TENANT_ID, clientId: 'c' })).toEqual({ clientSecret: ['is required for the microsoft provider'] });
  });

  it('refuses settings a preset does not use, rather than ignoring them', () => {
    expect(problems({ provider: 'github', clientId: 'c', clientSecret: 's', issuer: 'https://github.com', claims: 'subject=login' })).toEqual({
      issuer: ['is not used by the github provider'],
      claims: ['is not used by the github provider'],
    });
    expect(problems({ issuer: 'https://idp.example.com', clientId: 'c', tenant: TENANT_ID, apiUrl: 'https://api.example.com' })).toEqual({
      tenant: ['is not used by the oidc provider'],
      apiUrl: ['is not used by the oidc provider'],
    });
  });

  it('refuses unknown claim fields, an empty subject and pairs without =', () => {
    expect(problems({ issuer: 'https://idp.example.com', clientId: 'c', claims: { subject: 'sub', role: 'roles' } })['claims']?.[0]).toMatch(
      /"role"/,
    );
    expect(problems({ issuer: 'https://idp.example.com', clientId: 'c', claims: 'subject=' })).toHaveProperty('claims.subject');
    expect(problems({ issuer: 'https://idp.example.com', clientId: 'c', claims: 'groups' })['claims']?.[0]).toMatch(/field=claim/);
  });
});

describe('microsoft tenant handling', () => {
  const base = { provider: 'microsoft', clientId: 'c', clientSecret: 's' };

  it('requires a tenant', () => {
    expect(problems(base)).toEqual({ tenant: ['is required for the microsoft provider'] });
  });

  it.each(['common', 'organizations', 'consumers', 'Organizations'])('refuses the multi-tenant alias %s', (tenant) => {
    const found = problems({ ...base, tenant });
    expect(found['tenant']?.[0]).toMatch(/any Microsoft tenant/);
  });

  it('refuses a tenant that is neither a GUID nor a domain name', () => {
    expect(problems({ ...base, tenant: 'not a tenant' })['tenant']?.[0]).toMatch(/tenant\) ID/);
    expect(problems({ ...base, tenant: 'contoso' })).toHaveProperty('tenant');
  });

  it('accepts an issuer override instead of a tenant (sovereign clouds), but not both, nor a multi-tenant issuer', () => {
    const sovereign = `https://login.microsoftonline.us/${TENANT_ID}/v2.0`;
    expect(resolve({ ...base, issuer: sovereign })).toMatchObject({ issuer: sovereign, issuerValidation: 'exact' });
    expect(problems({ ...base, issuer: sovereign, tenant: TENANT_ID })).toEqual({ issuer: ['give either tenant or issuer, not both'] });
    expect(problems({ ...base, issuer: 'https://login.microsoftonline.com/organizations/v2.0' })['issuer']?.[0]).toMatch(/any Microsoft tenant/);
  });
});
