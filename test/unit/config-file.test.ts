import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { configProblems } from '../support/config-problems.js';

const BASE_ENV = {
  CAPSULE_KEYS: 'A'.repeat(43),
  CAPSULE_PUBLIC_URL: 'https://mcp.example.com',
  CAPSULE_UPSTREAM_ISSUER: 'https://accounts.example.com',
  CAPSULE_UPSTREAM_CLIENT_ID: 'proxy',
  CAPSULE_CONFIG: '/etc/mcp-capsule/config.yaml',
};

const YAML = `
upstream:
  clientSecret: from-the-file
upstreams:
  github:
    issuer: https://github.example.com
    clientId: gh-client
routes:
  - path: /mcp/gmail
    url: http://gmail-mcp:3000/mcp
    auth: identity-headers
  - url: http://github-mcp:8080/mcp/github
    upstream: github
clients:
  - client_id: dashboard
    client_secret: a-secret-of-sixteen+
    redirect_uris: [https://dashboard.example.com/callback]
`;

function load(files: Record<string, string>, env: Record<string, string> = BASE_ENV) {
  return loadConfig(env, (path) => {
    const text = files[path];
    if (text === undefined) throw Object.assign(new Error('missing'), { code: 'ENOENT' });
    return text;
  });
}

function problems(files: Record<string, string>, env: Record<string, string> = BASE_ENV): string[] {
  return configProblems(() => load(files, env));
}

describe('configuration files', () => {
  it('reads routes, named upstreams and clients from YAML, with the environment on top', () => {
    const { config } = load({ '/etc/mcp-capsule/config.yaml': YAML });
    expect(config.routes.map((route) => [route.path, route.url.href, route.auth, route.upstream])).toEqual([
      ['/mcp/gmail', 'http://gmail-mcp:3000/mcp', 'identity-headers', undefined],
      ['/mcp/github', 'http://github-mcp:8080/mcp/github', 'upstream-token', 'github'],
    ]);
    expect(config.upstream.clientId).toBe('proxy');
    expect(config.upstream.clientSecret).toBe('from-the-file');
    expect(config.upstreams.github!.clientId).toBe('gh-client');
    expect(config.clients[0]!.token_endpoint_auth_method).toBe('client_secret_basic');
  });

  it('reads JSON by extension', () => {
    const { config } = load(
      { '/c.json': JSON.stringify({ routes: [{ url: 'http://a:1/mcp' }] }) },
      { ...BASE_ENV, CAPSULE_CONFIG: '/c.json' },
    );
    expect(config.routes[0]!.path).toBe('/mcp');
  });

  it('names the route and the field of every problem', () => {
    const lines = problems({
      '/etc/mcp-capsule/config.yaml': `
routes:
  - path: /mcp/gmail
    url: http://gmail-mcp:3000/mcp
    auth: magic
  - path: /mcp/gmail
    url: not a url
  - url: http://x:1/token
  - url: http://y:1/mcp/y
    upstream: nowhere
clients:
  - client_id: c1
    redirect_uris: [http://evil.example/cb]
`,
    });
    expect(lines).toEqual(
      expect.arrayContaining([
        'routes[0] (/mcp/gmail).auth: must be one of upstream-token, identity-headers, api-key, client-credentials, token-exchange, entra-obo, pat, none',
        expect.stringMatching(/^routes\[1\] \(\/mcp\/gmail\)\.url: must be an absolute http\(s\) URL/),
        expect.stringMatching(/^routes\[2\] \(http:\/\/x:1\/token\)\.url: needs a path .*\/token is served by the proxy itself/),
        expect.stringMatching(/^routes\[3\] \(http:\/\/y:1\/mcp\/y\)\.upstream: names no entry of upstreams/),
        expect.stringMatching(/^clients\[0\]\.redirect_uris\[0\]: must use https/),
      ]),
    );
  });

  it('reports two routes on one path', () => {
    const lines = problems({ '/etc/mcp-capsule/config.yaml': 'routes:\n  - url: http://a:1/mcp\n  - url: http://b:1/mcp\n' });
    expect(lines).toEqual([expect.stringMatching(/^routes\[1\] \(http:\/\/b:1\/mcp\)\.path: \/mcp is already used by routes\[0\]/)]);
  });

  it('refuses routes in both the file and the environment, unreadable files and malformed YAML', () => {
    expect(problems({ '/etc/mcp-capsule/config.yaml': YAML }, { ...BASE_ENV, CAPSULE_MCP_URL: 'http://z:1/mcp' })).toEqual([
      expect.stringMatching(/^CAPSULE_MCP_URL: the config file declares routes/),
    ]);
    expect(problems({})).toEqual([expect.stringMatching(/^CAPSULE_CONFIG: cannot read \/etc\/mcp-capsule\/config.yaml \(ENOENT\)/)]);
    expect(problems({ '/etc/mcp-capsule/config.yaml': 'routes: [\n' })).toEqual([expect.stringMatching(/^CAPSULE_CONFIG: .* is not valid YAML/)]);
    expect(problems({ '/etc/mcp-capsule/config.yaml': '- a list\n' })).toEqual([expect.stringMatching(/must hold an object/)]);
  });

  it("reads obot mcp-oauth-proxy's variables as aliases and says so", () => {
    const { config, notes } = loadConfig({
      CAPSULE_PUBLIC_URL: 'https://mcp.example.com',
      OAUTH_CLIENT_ID: 'obot-client',
      OAUTH_CLIENT_SECRET: 'obot-secret',
      OAUTH_AUTHORIZE_URL: 'https://accounts.google.com',
      SCOPES_SUPPORTED: 'openid,profile,email',
      MCP_SERVER_URL: 'http://localhost:3000',
      ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
    });
    expect(config.upstream.clientId).toBe('obot-client');
    expect(config.upstream.clientSecret).toBe('obot-secret');
    expect(config.upstream.issuer).toBe('https://accounts.google.com');
    expect(config.upstream.scopes).toEqual(['openid', 'profile', 'email']);
    // obot proxies every path to its MCP server; its MCP endpoint is /mcp there.
    expect(config.routes[0]!.url.href).toBe('http://localhost:3000/mcp');
    expect(config.keys[0]).toEqual(new Uint8Array(32).fill(7));
    expect(notes).toEqual(expect.arrayContaining(['OAUTH_CLIENT_ID is read as CAPSULE_UPSTREAM_CLIENT_ID (obot mcp-oauth-proxy compatibility)']));
    // obot sent its server identity headers, to the redirect URI registered for it.
    expect(config.routes[0]!.auth).toBe('identity-headers');
    expect(config.upstreamCallback).toBe('obot');
    expect(notes).toHaveLength(8);
  });

  it('prefers our variables over obot aliases', () => {
    const { config, notes } = loadConfig({ ...BASE_ENV, CAPSULE_CONFIG: '', CAPSULE_MCP_URL: 'http://a:1/mcp', OAUTH_CLIENT_ID: 'ignored' });
    expect(config.upstream.clientId).toBe('proxy');
    expect(notes).toEqual([]);
  });
});
