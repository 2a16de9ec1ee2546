import { describe, expect, it } from 'vitest';
import { loadConfig, type LoadedConfig } from '../../src/config/load.js';
import { BASE_ENV, configProblems } from '../support/config-problems.js';

/**
 * A route's settings belong to its credential mode. A setting of another mode used to be accepted
 * and ignored: an `apiKey` on a route whose `auth: api-key` line was forgotten loaded as an
 * upstream-token route, and the MCP server then received each user's own upstream access token
 * instead of the static key. Each case goes through the real loader, as `check` and `serve` do;
 * controls show the same settings load under their own mode.
 */
const FILE = '/etc/mcp-capsule/config.yaml';

const fromFile = (yaml: string): LoadedConfig =>
  loadConfig({ ...BASE_ENV, CAPSULE_CONFIG: FILE }, (path) => {
    if (path !== FILE) throw Object.assign(new Error('missing'), { code: 'ENOENT' });
    return yaml;
  });

const route = (lines: string) => `routes:\n  - path: /mcp\n    url: http://mcp:3000/mcp\n${lines.replace(/^/gm, '    ')}\n`;

describe('route modes: a setting of another credential mode is refused, naming the mode', () => {
  it('refuses an api key on a route without auth api-key, instead of forwarding the user token', () => {
    expect(configProblems(() => fromFile(route('apiKey: a-static-downstream-key\nheader: X-Api-Key')))).toEqual([
      'routes[0] (/mcp).apiKey: unknown key for auth upstream-token (used by auth api-key)',
      'routes[0] (/mcp).header: unknown key for auth upstream-token (used by auth api-key, pat)',
    ]);
  });

  it('refuses the api key variable when the mode variable was left unset', () => {
    const lines = configProblems(() => loadConfig({ ...BASE_ENV, CAPSULE_MCP_URL: 'http://mcp:3000/mcp', CAPSULE_DOWNSTREAM_API_KEY: 'a-static-downstream-key' }));
    expect(lines).toEqual(['CAPSULE_DOWNSTREAM_API_KEY: unknown key for auth upstream-token (used by auth api-key)']);
  });

  it("refuses the proxy's own client credentials on a route whose clients bring their own", () => {
    const yaml = route('auth: client-credentials\ntokenUrl: https://login.example.com/token\ncredentialsFrom: request\nclientId: proxy-client\nclientSecret: proxy-secret');
    expect(configProblems(() => fromFile(yaml))).toEqual([
      'routes[0] (/mcp).clientId: unknown key for credentialsFrom request (used by credentialsFrom config)',
      'routes[0] (/mcp).clientSecret: unknown key for credentialsFrom request (used by credentialsFrom config)',
    ]);
  });

  it('refuses client-credentials settings on an identity-headers route', () => {
    expect(configProblems(() => fromFile(route('auth: identity-headers\ntokenUrl: https://login.example.com/token\nscopes: [mcp]')))).toEqual([
      'routes[0] (/mcp).tokenUrl: unknown key for auth identity-headers (used by auth client-credentials, token-exchange, entra-obo)',
      'routes[0] (/mcp).scopes: unknown key for auth identity-headers (used by auth client-credentials, token-exchange, entra-obo)',
    ]);
  });

  it('control: the same settings load under their own mode', () => {
    const { config } = fromFile(`routes:
  - path: /key
    url: http://mcp:3000/mcp
    auth: api-key
    apiKey: a-static-downstream-key
    header: X-Api-Key
  - path: /own
    url: http://mcp:3000/mcp
    auth: client-credentials
    tokenUrl: https://login.example.com/token
    clientId: proxy-client
    clientSecret: proxy-secret
  - path: /theirs
    url: http://mcp:3000/mcp
    auth: client-credentials
    tokenUrl: https://login.example.com/token
    credentialsFrom: request
`);
    const [key, own, theirs] = config.routes;
    expect(key).toMatchObject({ auth: 'api-key', apiKey: 'a-static-downstream-key', header: 'X-Api-Key' });
    expect(own).toMatchObject({ auth: 'client-credentials', credentialsFrom: 'config', clientId: 'proxy-client', clientSecret: 'proxy-secret' });
    expect(theirs).toMatchObject({ auth: 'client-credentials', credentialsFrom: 'request', clientIdHeader: 'X-Client-Id', clientSecretHeader: 'X-Client-Secret' });
  });
});
