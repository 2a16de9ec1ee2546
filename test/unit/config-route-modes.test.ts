import { describe, expect, expectTypeOf, it } from 'vitest';
import { loadConfig, loadConfigFromEnv } from '../../src/config/load.js';
import { redactConfig } from '../../src/config/redact.js';
import type { Route } from '../../src/config/schema.js';
import { BASE_ENV, configProblems } from '../support/config-problems.js';

const ENV = { ...BASE_ENV, CAPSULE_MCP_URL: 'http://mcp:3000/mcp' };
const TOKEN_URL = { CAPSULE_DOWNSTREAM_AUTH: 'client-credentials', CAPSULE_DOWNSTREAM_TOKEN_URL: 'https://login.example.com/token' };

const routeFrom = (env: Record<string, string>): Route => loadConfigFromEnv({ ...ENV, ...env }).routes[0]!;
const problems = (env: Record<string, string>) => configProblems(() => loadConfigFromEnv({ ...ENV, ...env }));
const fileProblems = (yaml: string) => {
  const { CAPSULE_MCP_URL: _route, ...env } = ENV;
  return configProblems(() => loadConfig({ ...env, CAPSULE_CONFIG: '/etc/capsule.yaml' }, () => yaml));
};

describe('route modes: required settings', () => {
  it('names the mode that requires a missing setting', () => {
    expect(problems({ CAPSULE_DOWNSTREAM_AUTH: 'api-key' })).toEqual(['CAPSULE_DOWNSTREAM_API_KEY: is required for auth api-key']);
    expect(problems({ CAPSULE_DOWNSTREAM_AUTH: 'client-credentials' })).toEqual([
      'CAPSULE_DOWNSTREAM_TOKEN_URL: is required for auth client-credentials',
      'CAPSULE_DOWNSTREAM_CLIENT_ID: is required for auth client-credentials, credentialsFrom config',
      'CAPSULE_DOWNSTREAM_CLIENT_SECRET: is required for auth client-credentials, credentialsFrom config',
    ]);
  });

  it('says an empty required setting is too short, once', () => {
    expect(problems({ CAPSULE_DOWNSTREAM_AUTH: 'api-key', CAPSULE_DOWNSTREAM_API_KEY: ' ' })).toEqual(['CAPSULE_DOWNSTREAM_API_KEY: is required for auth api-key']);
    const lines = fileProblems('routes:\n  - path: /mcp\n    url: http://mcp:3000/mcp\n    auth: api-key\n    apiKey: ""\n');
    expect(lines).toEqual(['routes[0] (/mcp).apiKey: Too small: expected string to have >=1 characters']);
  });

  it('needs no client of its own where each MCP client brings one', () => {
    expect(routeFrom({ ...TOKEN_URL, CAPSULE_DOWNSTREAM_CREDENTIALS_FROM: 'request' })).toMatchObject({ credentialsFrom: 'request' });
  });
});

describe('route modes: a mode that does not exist', () => {
  it('is named with the modes that do, together with every other problem of the route', () => {
    const lines = fileProblems('routes:\n  - path: /mcp\n    url: http://mcp:3000/mcp\n    auth: magic\n    timeout: 0\n    timout: 60\n    policy: { emial: [a@example.com] }\n');
    expect(lines.sort()).toEqual(
      [
        'routes[0] (/mcp).auth: must be one of upstream-token, identity-headers, api-key, client-credentials, token-exchange, entra-obo, pat, none',
        'routes[0] (/mcp).timeout: must be a positive duration such as 3600, 60m, 1h or 30d',
        'routes[0] (/mcp).timout: unknown key; did you mean timeout?',
        'routes[0] (/mcp).policy.emial: unknown key; did you mean emails?',
      ].sort(),
    );
  });

  it('is named for credentialsFrom too, with the route settings still checked', () => {
    expect(problems({ CAPSULE_DOWNSTREAM_AUTH: 'client-credentials', CAPSULE_DOWNSTREAM_CREDENTIALS_FROM: 'both', CAPSULE_DOWNSTREAM_TIMEOUT: 'soon' }).sort()).toEqual(
      [
        'CAPSULE_DOWNSTREAM_CREDENTIALS_FROM: must be one of config, request',
        'CAPSULE_DOWNSTREAM_TIMEOUT: must be a positive duration such as 3600, 60m, 1h or 30d',
        'CAPSULE_DOWNSTREAM_TOKEN_URL: is required for auth client-credentials',
      ].sort(),
    );
  });
});

describe('route modes: each route holds its own mode settings', () => {
  it('fills in the defaults of its mode, and only those', () => {
    expect(routeFrom({})).not.toHaveProperty('header');
    expect(routeFrom({ CAPSULE_DOWNSTREAM_AUTH: 'pat' })).toMatchObject({ patHeader: 'Authorization', header: 'Authorization' });
    expect(routeFrom({ CAPSULE_DOWNSTREAM_AUTH: 'pat' })).not.toHaveProperty('scopes');
    const own = routeFrom({ ...TOKEN_URL, CAPSULE_DOWNSTREAM_CLIENT_ID: 'id', CAPSULE_DOWNSTREAM_CLIENT_SECRET: 'secret' });
    expect(own).toMatchObject({ credentialsFrom: 'config', scopes: [], tokenAuth: 'client_secret_basic' });
    expect(own).not.toHaveProperty('clientIdHeader');
    const theirs = routeFrom({ ...TOKEN_URL, CAPSULE_DOWNSTREAM_CREDENTIALS_FROM: 'request' });
    expect(theirs).toMatchObject({ clientIdHeader: 'X-Client-Id', clientSecretHeader: 'X-Client-Secret' });
    expect(theirs).not.toHaveProperty('clientId');
  });

  it('check prints the route with its mode settings only, secrets redacted', () => {
    const config = loadConfigFromEnv({ ...ENV, ...TOKEN_URL, CAPSULE_DOWNSTREAM_CLIENT_ID: 'id', CAPSULE_DOWNSTREAM_CLIENT_SECRET: 'downstream-secret-value' });
    const [printed] = redactConfig(config, ['kid1']).routes as Record<string, unknown>[];
    expect(printed).toMatchObject({ auth: 'client-credentials', clientId: 'id', clientSecret: '[redacted]', url: 'http://mcp:3000/mcp' });
    expect(Object.keys(printed!)).not.toContain('apiKey');
    expect(Object.keys(printed!)).not.toContain('patHeader');
    expect(JSON.stringify(printed)).not.toContain('downstream-secret-value');
  });

  it("gives a mode's settings their types once the route is narrowed to it", () => {
    const route = routeFrom({ CAPSULE_DOWNSTREAM_AUTH: 'api-key', CAPSULE_DOWNSTREAM_API_KEY: 'key-123456' });
    // @ts-expect-error apiKey exists only on api-key routes
    void route.apiKey;
    expect(route.auth).toBe('api-key');
    if (route.auth !== 'api-key') return;
    expectTypeOf(route.apiKey).toEqualTypeOf<string>();
    expect(route.apiKey).toBe('key-123456');
  });
});
