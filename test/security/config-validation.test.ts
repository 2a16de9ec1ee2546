import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ENV_BINDINGS } from '../../src/config/env.js';
import { loadConfig, type LoadedConfig } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';
import { configProblems } from '../support/config-problems.js';
import { inProcessApp, testConfig } from '../support/deps.js';

/**
 * Configuration mistakes that used to pass `check` and then weakened the running proxy:
 * a route the proxy's own endpoints silently shadow, and a misspelled setting dropped
 * without a word (a typo in `tools.disabled` left dangerous tools enabled). Each goes
 * through the real loader, as `mcp-capsule check` and `serve` do; controls show the
 * legitimate file still loads.
 */
const FILE = '/etc/mcp-capsule/config.yaml';
const ENV = {
  CAPSULE_KEYS: 'A'.repeat(43),
  CAPSULE_PUBLIC_URL: 'https://mcp.example.com',
  CAPSULE_UPSTREAM_ISSUER: 'https://accounts.example.com',
  CAPSULE_UPSTREAM_CLIENT_ID: 'proxy',
  CAPSULE_CONFIG: FILE,
};

function load(yaml: string): LoadedConfig {
  return loadConfig(ENV, (path) => {
    if (path !== FILE) throw Object.assign(new Error('missing'), { code: 'ENOENT' });
    return yaml;
  });
}

const problems = (yaml: string) => configProblems(() => load(yaml));

/** A file whose second route sits at `path`. */
const routeAt = (path: string, kind = 'mcp') => `
routes:
  - path: /first
    url: http://mcp:3000/mcp
  - path: ${path}
    url: http://other:3000/mcp
    kind: ${kind}
`;

describe('config validation: routes on paths the proxy serves itself', () => {
  it.each([
    ['/introspect', 'is served by the proxy itself (token introspection)'],
    ['/register', 'is served by the proxy itself (dynamic client registration)'],
    ['/token', 'is served by the proxy itself (token endpoint)'],
    ['/healthz', 'is served by the proxy itself (health check)'],
    ['/readyz', 'is served by the proxy itself (readiness check)'],
    ['/metrics', 'is served by the proxy itself (Prometheus metrics)'],
    ['/admin', 'is served by the proxy itself (admin API)'],
    ['/admin/x', 'lies under /admin, which is served by the proxy itself (admin API)'],
    ['/admin/revoke', 'is served by the proxy itself (admin revocation)'],
    ['/.well-known/x', 'lies under /.well-known, which is served by the proxy itself (discovery documents)'],
    ['/oauth/x', 'lies under /oauth, which is served by the proxy itself (sign-in flow)'],
    ['/oauth/callback/', 'is served by the proxy itself (sign-in callback)'],
  ])('refuses a route at %s, naming the route', (path, reason) => {
    const normalized = path.replace(/\/$/, '');
    expect(problems(routeAt(path))).toEqual([`routes[1] (${path}).path: ${normalized} ${reason}; choose another path`]);
  });

  it('refuses an http route whose forwarded subtree holds the proxy paths', () => {
    expect(problems(routeAt('/oauth', 'http'))).toEqual(['routes[1] (/oauth).path: /oauth is served by the proxy itself (sign-in flow); choose another path']);
  });

  it('refuses a route whose path comes from its URL, naming the URL and the endpoint', () => {
    const lines = problems('routes:\n  - url: http://mcp:3000/introspect\n');
    expect(lines).toEqual([
      'routes[0] (http://mcp:3000/introspect).url: needs a path such as /mcp (or give the route a path): /introspect is served by the proxy itself (token introspection); choose another path',
    ]);
  });

  it('refuses the single route of the environment, naming the variable', () => {
    const { CAPSULE_CONFIG: _file, ...env } = ENV;
    expect(() => loadConfig({ ...env, CAPSULE_MCP_URL: 'http://mcp:3000/admin/x' })).toThrow(
      /CAPSULE_MCP_URL: needs a path .*\/admin\/x lies under \/admin, which is served by the proxy itself/,
    );
  });

  it.each([['/mcp'], ['/api'], ['/introspection-tools'], ['/tokens'], ['/token/x'], ['/oauthx'], ['/mcp/admin'], ['/mcp/.well-known']])(
    'accepts a route at %s, which no endpoint of the proxy matches',
    (path) => {
      for (const kind of ['mcp', 'http']) expect(load(routeAt(path, kind)).config.routes[1]!.path).toBe(path);
    },
  );
});

describe('config validation: a route next to a proxy path is served as the route', () => {
  it.each([['/token/x'], ['/introspection-tools'], ['/admin-tools']])('%s reaches the route (its bearer challenge), not the endpoint', async (path) => {
    const { app } = await inProcessApp(testConfig({ routes: [{ path, url: 'http://127.0.0.1:9/mcp' }] }));
    const response = await app.request(`https://proxy.example.com${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain(`/.well-known/oauth-protected-resource${path}`);
  });
});

describe('config validation: unknown keys are refused, with the nearest known name', () => {
  it('refuses a misspelled tools.disabled instead of leaving every tool enabled', () => {
    const yaml = `
routes:
  - path: /mcp
    url: http://mcp:3000/mcp
    tools:
      disabeld: [delete_*]
`;
    expect(problems(yaml)).toEqual(['routes[0] (/mcp).tools.disabeld: unknown key; did you mean disabled?']);
  });

  it('refuses a top-level key no version knows, listing the known ones', () => {
    const lines = problems('routes:\n  - url: http://mcp:3000/mcp\nfrobnicate: true\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^frobnicate: unknown key \(known: keys, publicUrl, .*routes.*\)$/);
  });

  it('refuses unknown keys in the upstream, a named upstream, a client, a policy, redis and ttl, one line per key', () => {
    const yaml = `
routes:
  - path: /mcp
    url: http://mcp:3000/mcp
    policy:
      emial: [alice@example.com]
      group: [admins]
upstream:
  clientSecert: from-the-file
upstreams:
  corp:
    issuer: https://login.example.com
    clientId: corp-client
    tenantId: x
clients:
  - client_id: dashboard
    redirect_uris: [https://dashboard.example.com/callback]
    requireConsent: true
redis:
  URL: redis://redis:6379
ttl:
  accesToken: 60
`;
    expect(problems(yaml).sort()).toEqual(
      [
        'upstream.clientSecert: unknown key; did you mean clientSecret?',
        'upstreams.corp.tenantId: unknown key; did you mean tenant?',
        'routes[0] (/mcp).policy.emial: unknown key; did you mean emails?',
        'routes[0] (/mcp).policy.group: unknown key; did you mean groups?',
        'clients[0].requireConsent: unknown key; did you mean require_consent?',
        'redis.URL: unknown key; did you mean url?',
        'ttl.accesToken: unknown key; did you mean accessToken?',
      ].sort(),
    );
  });

  it('reports an unknown key together with the other problems of the file', () => {
    const lines = problems('routes:\n  - url: http://mcp:3000/mcp\n    auth: magic\n    timout: 60\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        'routes[0] (http://mcp:3000/mcp).timout: unknown key; did you mean timeout?',
        expect.stringMatching(/^routes\[0\] \(http:\/\/mcp:3000\/mcp\)\.auth: must be one of/),
      ]),
    );
  });

  it('names the key too when a variable holding several fields carries an unknown one', () => {
    const { CAPSULE_CONFIG: _file, ...env } = ENV;
    const lines = configProblems(() => loadConfig({ ...env, CAPSULE_MCP_URL: 'http://mcp:3000/mcp', CAPSULE_UPSTREAM_CLAIMS: 'subjekt=sub groups=roles' }));
    expect(lines).toEqual(['CAPSULE_UPSTREAM_CLAIMS: subjekt: unknown key; did you mean subject?']);
  });

  it('leaves named upstreams and restricted tool globs free', () => {
    const { config } = load(`
upstreams:
  any-name.1:
    issuer: https://login.example.com
    clientId: corp-client
routes:
  - path: /mcp
    url: http://mcp:3000/mcp
    tools:
      restricted:
        "admin_*": [admins]
`);
    expect(Object.keys(config.upstreams)).toEqual(['any-name.1']);
    expect(config.routes[0]!.tools.restricted).toEqual({ 'admin_*': ['admins'] });
  });

  it('never trips on settings taken from the environment: every variable lands on a known key', () => {
    const env = Object.fromEntries(ENV_BINDINGS.filter((binding) => binding.path.length > 0).map((binding) => [binding.name, 'x']));
    const lines = configProblems(() => loadConfig(env));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.filter((line) => line.includes('unknown key'))).toEqual([]);
  });

  it('every object of the schema is strict, except the records keyed by name or glob', () => {
    const open: string[] = [];
    const visit = (node: unknown, at: string): void => {
      if (typeof node !== 'object' || node === null) return;
      const schema = node as { properties?: unknown; additionalProperties?: unknown };
      if (schema.properties !== undefined && schema.additionalProperties !== false) open.push(at);
      for (const [key, child] of Object.entries(node)) visit(child, `${at}/${key}`);
    };
    visit(z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }), '');
    expect(open).toEqual([]);
  });
});

describe('config validation controls: legitimate files load', () => {
  it('loads the README example configuration file', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const example = /```yaml\n(# \/etc\/mcp-capsule\/config\.yaml\n[\s\S]*?)```/.exec(readme)?.[1];
    expect(example).toBeDefined();
    const { config } = load(example!);
    expect(config.routes.map((route) => route.path)).toEqual(['/mcp/gmail', '/mcp/wiki']);
  });

  it('loads a file using every section', () => {
    const { config } = load(`
publicUrl: https://mcp.example.com
host: 0.0.0.0
port: 8080
logLevel: warn
upstream:
  provider: oidc
  issuer: https://accounts.example.com
  clientId: proxy
  clientSecret: from-the-file
  scopes: openid email
  timeout: 10s
  authParams: { prompt: consent }
  claims: { groups: roles }
upstreams:
  corp: { issuer: https://login.example.com, clientId: corp-client }
routes:
  - path: /mcp
    url: http://mcp:3000/mcp
    auth: identity-headers
    upstream: corp
    timeout: 60s
    policy: { emails: [alice@example.com], emailDomains: [example.com], groups: [staff], subjects: [u1] }
    tools: { disabled: [delete_*], enabled: [read_*, delete_*], restricted: { "read_secret": [admins] } }
  - path: /api
    url: http://llm:8000/v1
    kind: http
    auth: api-key
    apiKey: a-static-downstream-key
    header: X-Api-Key
clients:
  - client_id: dashboard
    client_secret: a-secret-of-sixteen+
    client_name: Dashboard
    redirect_uris: [https://dashboard.example.com/callback]
    grant_types: [authorization_code]
    require_consent: true
registration: { dynamic: false, perMinute: 5 }
clientMetadataDocuments: { enabled: true, allowPrivateNetwork: false }
auditLog: off
shutdownGrace: 10s
trustProxyHops: 1
scopes: [mcp]
redirectSchemes: [cursor]
redis: { url: redis://redis:6379, keyPrefix: "capsule:", requiredForReady: true }
admin: { token: ${'t'.repeat(32)} }
metrics: { enabled: true, port: 9090 }
ttl: { accessToken: 10m, refreshToken: 7d, authorizationCode: 30s, transaction: 5m, consent: 1d }
`);
    expect(config.routes[0]!.tools.disabled).toEqual(['delete_*']);
    expect(config.routes[1]!.kind).toBe('http');
    expect(config.clients[0]!.require_consent).toBe(true);
    expect(config.redis.requiredForReady).toBe(true);
  });
});
