import { describe, expect, it } from 'vitest';
import { loadConfig, loadConfigFromEnv } from '../../src/config/load.js';
import { redactConfig } from '../../src/config/redact.js';
import { BASE_ENV, configProblems } from '../support/config-problems.js';

const ENV = { ...BASE_ENV, CAPSULE_MCP_URL: 'http://mcp:3000/mcp', CAPSULE_UPSTREAM_CLIENT_SECRET: 'upstream-secret-value' };
const EXCHANGE = { CAPSULE_DOWNSTREAM_AUTH: 'token-exchange' };
const OBO = { CAPSULE_DOWNSTREAM_AUTH: 'entra-obo', CAPSULE_DOWNSTREAM_SCOPES: 'api://mcp-app/.default' };

const routeFrom = (env: Record<string, string>) => loadConfigFromEnv({ ...ENV, ...env }).routes[0]!;
const problems = (env: Record<string, string>, base: Record<string, string> = ENV) => configProblems(() => loadConfigFromEnv({ ...base, ...env }));
const fileProblems = (yaml: string) => {
  const { CAPSULE_MCP_URL: _route, ...env } = ENV;
  return configProblems(() => loadConfig({ ...env, CAPSULE_CONFIG: '/etc/capsule.yaml' }, () => yaml));
};

describe('token-exchange and entra-obo settings', () => {
  it('take every setting from the environment, and default to the access token as subject', () => {
    expect(routeFrom(EXCHANGE)).toMatchObject({ auth: 'token-exchange', subjectToken: 'access_token', scopes: [] });
    expect(routeFrom(EXCHANGE)).not.toHaveProperty('tokenUrl');
    expect(
      routeFrom({
        ...EXCHANGE,
        CAPSULE_DOWNSTREAM_AUDIENCE: 'mcp-server',
        CAPSULE_DOWNSTREAM_RESOURCE: 'https://mcp.example.com/api',
        CAPSULE_DOWNSTREAM_SCOPES: 'read write',
        CAPSULE_DOWNSTREAM_SUBJECT_TOKEN: 'id_token',
        CAPSULE_DOWNSTREAM_TOKEN_URL: 'https://idp.example.com/token',
        CAPSULE_DOWNSTREAM_CLIENT_ID: 'exchanger',
        CAPSULE_DOWNSTREAM_CLIENT_SECRET: 'exchanger-secret',
        CAPSULE_DOWNSTREAM_TOKEN_AUTH: 'client_secret_post',
      }),
    ).toMatchObject({
      audience: 'mcp-server',
      resource: 'https://mcp.example.com/api',
      scopes: ['read', 'write'],
      subjectToken: 'id_token',
      tokenUrl: 'https://idp.example.com/token',
      clientId: 'exchanger',
      clientSecret: 'exchanger-secret',
      tokenAuth: 'client_secret_post',
    });
    expect(routeFrom(OBO)).toMatchObject({ auth: 'entra-obo', scopes: ['api://mcp-app/.default'] });
  });

  it('are read from a config file route, whose client secret check prints redacted', () => {
    const { CAPSULE_MCP_URL: _route, ...env } = ENV;
    const yaml = [
      'routes:',
      '  - path: /mcp',
      '    url: http://mcp:3000/mcp',
      '    auth: token-exchange',
      '    audience: mcp-server',
      '    scopes: [read]',
      '    clientId: exchanger',
      '    clientSecret: exchanger-secret-value',
      '  - path: /graph',
      '    url: http://graph:3000/mcp',
      '    auth: entra-obo',
      '    scopes: api://graph-mcp/.default',
    ].join('\n');
    const { config } = loadConfig({ ...env, CAPSULE_CONFIG: '/etc/capsule.yaml' }, () => yaml);
    expect(config.routes.map((route) => route.auth)).toEqual(['token-exchange', 'entra-obo']);
    const printed = JSON.stringify(redactConfig(config, ['kid1']));
    expect(printed).not.toContain('exchanger-secret-value');
    expect(printed).toContain('"clientSecret":"[redacted]"');
  });

  it('refuse entra-obo without a scope, and settings of another mode, naming each', () => {
    expect(problems({ CAPSULE_DOWNSTREAM_AUTH: 'entra-obo', CAPSULE_DOWNSTREAM_AUDIENCE: 'x', CAPSULE_DOWNSTREAM_SUBJECT_TOKEN: 'id_token' }).sort()).toEqual(
      [
        'CAPSULE_DOWNSTREAM_SCOPES: is required for auth entra-obo',
        'CAPSULE_DOWNSTREAM_AUDIENCE: unknown key for auth entra-obo (used by auth token-exchange)',
        'CAPSULE_DOWNSTREAM_SUBJECT_TOKEN: unknown key for auth entra-obo (used by auth token-exchange)',
      ].sort(),
    );
    expect(problems({ CAPSULE_DOWNSTREAM_AUTH: 'api-key', CAPSULE_DOWNSTREAM_API_KEY: 'k', CAPSULE_DOWNSTREAM_RESOURCE: 'https://x.example.com' })).toEqual([
      'CAPSULE_DOWNSTREAM_RESOURCE: unknown key for auth api-key (used by auth token-exchange)',
    ]);
    expect(fileProblems('routes:\n  - path: /mcp\n    url: http://mcp:3000/mcp\n    auth: entra-obo\n    scopes: []\n')).toEqual([
      'routes[0] (/mcp).scopes: needs a scope such as api://<app>/.default',
    ]);
  });

  it('refuse a bad token URL, resource or subject token, naming each', () => {
    expect(
      problems({
        ...EXCHANGE,
        CAPSULE_DOWNSTREAM_TOKEN_URL: 'http://idp.example.com/token',
        CAPSULE_DOWNSTREAM_RESOURCE: 'https://mcp.example.com/api#part',
        CAPSULE_DOWNSTREAM_SUBJECT_TOKEN: 'refresh_token',
      }),
    ).toEqual([
      'CAPSULE_DOWNSTREAM_TOKEN_URL: must use https (plain http is allowed only for localhost, 127.0.0.1 and [::1])',
      'CAPSULE_DOWNSTREAM_RESOURCE: must be an absolute URI without a fragment',
      'CAPSULE_DOWNSTREAM_SUBJECT_TOKEN: must be one of access_token, id_token',
    ]);
    expect(problems({ ...EXCHANGE, CAPSULE_DOWNSTREAM_RESOURCE: 'mcp-server' })).toEqual(['CAPSULE_DOWNSTREAM_RESOURCE: must be an absolute URI without a fragment']);
  });

  it('need a client secret for the token endpoint: both of a client of their own, or the upstream client having one', () => {
    expect(problems({ ...EXCHANGE, CAPSULE_DOWNSTREAM_CLIENT_ID: 'exchanger' })).toEqual([
      "CAPSULE_DOWNSTREAM_CLIENT_SECRET: is required: the route's own client needs its id and secret both (neither: the upstream client's)",
    ]);
    expect(problems({ ...OBO, CAPSULE_DOWNSTREAM_CLIENT_SECRET: 'exchanger-secret' })).toEqual([
      "CAPSULE_DOWNSTREAM_CLIENT_ID: is required: the route's own client needs its id and secret both (neither: the upstream client's)",
    ]);
    const { CAPSULE_UPSTREAM_CLIENT_SECRET: _secret, ...publicUpstream } = ENV;
    expect(problems(OBO, publicUpstream)).toEqual([
      'CAPSULE_DOWNSTREAM_CLIENT_SECRET: is required for auth entra-obo: the upstream client has no secret to authenticate at the token endpoint with',
    ]);
    // Control: a client of the route's own needs no upstream secret.
    expect(loadConfigFromEnv({ ...publicUpstream, ...OBO, CAPSULE_DOWNSTREAM_CLIENT_ID: 'obo-app', CAPSULE_DOWNSTREAM_CLIENT_SECRET: 'obo-secret' }).routes[0]).toMatchObject({
      clientId: 'obo-app',
    });
  });

  it('refuse an ID token subject where the provider issues none', () => {
    const github = { ...ENV, CAPSULE_UPSTREAM_PROVIDER: 'github', CAPSULE_UPSTREAM_ISSUER: '' };
    expect(problems({ ...EXCHANGE, CAPSULE_DOWNSTREAM_SUBJECT_TOKEN: 'id_token' }, github)).toEqual([
      'CAPSULE_DOWNSTREAM_SUBJECT_TOKEN: id_token needs an OpenID Connect provider; the github provider issues none',
    ]);
    expect(loadConfigFromEnv({ ...github, ...EXCHANGE }).routes[0]).toMatchObject({ subjectToken: 'access_token' });
  });
});
