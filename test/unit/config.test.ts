import { describe, expect, it } from 'vitest';
import { ENV_BINDINGS } from '../../src/config/env.js';
import { ConfigError, loadConfigFromEnv } from '../../src/config/load.js';
import { redactConfig } from '../../src/config/redact.js';

const VALID = {
  CAPSULE_KEYS: 'A'.repeat(43),
  CAPSULE_PUBLIC_URL: 'https://mcp.example.com',
  CAPSULE_UPSTREAM_ISSUER: 'https://accounts.example.com',
  CAPSULE_UPSTREAM_CLIENT_ID: 'proxy',
  CAPSULE_UPSTREAM_CLIENT_SECRET: 'very-secret-value',
  CAPSULE_MCP_URL: 'http://mcp-server:3000/mcp',
};

function problems(env: Record<string, string>): string[] {
  try {
    loadConfigFromEnv(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).problems];
  }
  throw new Error('expected a configuration error');
}

describe('configuration from the environment', () => {
  it('loads a valid environment with documented defaults', () => {
    const config = loadConfigFromEnv(VALID);
    expect(config.publicUrl).toBe('https://mcp.example.com');
    expect(config.port).toBe(8080);
    expect(config.host).toBe('127.0.0.1');
    expect(config.routes).toHaveLength(1);
    expect(config.routes[0]!.auth).toBe('upstream-token');
    expect(config.routes[0]!.path).toBe('/mcp');
    expect(config.upstream.scopes).toEqual(['openid', 'email', 'profile']);
    expect(config.ttl.accessToken).toBe(3600);
    expect(config.keys[0]).toHaveLength(32);
  });

  it('parses lists, durations and both base64 alphabets', () => {
    const config = loadConfigFromEnv({
      ...VALID,
      CAPSULE_KEYS: `${'_'.repeat(43)}, ${'/'.repeat(43)}=`,
      CAPSULE_UPSTREAM_SCOPES: 'openid,email offline_access',
      CAPSULE_ACCESS_TOKEN_TTL: '15m',
      CAPSULE_REFRESH_TOKEN_TTL: '7d',
    });
    expect(config.keys).toHaveLength(2);
    expect(config.upstream.scopes).toEqual(['openid', 'email', 'offline_access']);
    expect(config.ttl.accessToken).toBe(900);
    expect(config.ttl.refreshToken).toBe(7 * 86400);
  });

  it('names every missing variable, one line each', () => {
    const lines = problems({});
    expect(lines).toEqual(
      expect.arrayContaining([
        'CAPSULE_KEYS: is required',
        'CAPSULE_PUBLIC_URL: is required',
        'CAPSULE_UPSTREAM_CLIENT_ID: is required',
        'CAPSULE_MCP_URL: is required',
        expect.stringMatching(/^CAPSULE_UPSTREAM_ISSUER: is required/),
      ]),
    );
  });

  it.each([
    ['CAPSULE_KEYS', 'too-short', /32 bytes/],
    ['CAPSULE_PUBLIC_URL', 'http://mcp.example.com', /https/],
    ['CAPSULE_PUBLIC_URL', 'https://mcp.example.com/base', /origin/],
    ['CAPSULE_UPSTREAM_ISSUER', 'not-a-url', /URL/],
    ['CAPSULE_MCP_URL', 'http://mcp-server:3000', /path/],
    ['CAPSULE_MCP_URL', 'http://mcp-server:3000/token', /\/token is served by the proxy itself \(token endpoint\)/],
    ['CAPSULE_DOWNSTREAM_AUTH', 'magic', /upstream-token, identity-headers/],
    ['PORT', 'eighty', /.+/],
    ['CAPSULE_ACCESS_TOKEN_TTL', '1 week', /duration/],
    ['CAPSULE_REDIRECT_SCHEMES', 'Cursor://', /scheme/],
  ])('reports a bad %s (%s)', (name, value, message) => {
    const lines = problems({ ...VALID, [name]: value });
    expect(lines.some((line) => line.startsWith(`${name}: `) && message.test(line))).toBe(true);
  });

  it('redacts secrets when printing the effective configuration', () => {
    const printed = JSON.stringify(
      redactConfig(loadConfigFromEnv({ ...VALID, CAPSULE_DOWNSTREAM_AUTH: 'api-key', CAPSULE_DOWNSTREAM_API_KEY: 'route-api-key-value' }), ['kid1']),
    );
    expect(printed).not.toContain('route-api-key-value');
    expect(printed).not.toContain('very-secret-value');
    expect(printed).not.toContain('AAAA');
    expect(printed).toContain('[redacted key kid=kid1, seals]');
  });

  it('binds every variable to a distinct schema path', () => {
    const paths = ENV_BINDINGS.map((binding) => binding.path.join('.'));
    expect(new Set(paths).size).toBe(paths.length);
    expect(new Set(ENV_BINDINGS.map((binding) => binding.name)).size).toBe(ENV_BINDINGS.length);
  });
});
