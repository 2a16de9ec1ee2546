import { describe, expect, it } from 'vitest';
import { decideStartup, partialConfigurationHint } from '../../src/config/development-setup.js';

describe('decideStartup: development setup or the configured proxy', () => {
  it('starts the development setup with nothing configured, at localhost on PORT', () => {
    expect(decideStartup({}, undefined)).toEqual({ kind: 'development', publicUrl: 'http://localhost:8080' });
    expect(decideStartup({ PORT: '9000' }, undefined)).toEqual({ kind: 'development', publicUrl: 'http://localhost:9000' });
    // Settings unrelated to the identity provider and the MCP server do not count as configuring the proxy.
    expect(decideStartup({ CAPSULE_KEYS: 'A'.repeat(43), CAPSULE_LOG_LEVEL: 'debug', CAPSULE_PUBLIC_URL: 'http://127.0.0.1:8081' }, undefined)).toEqual({
      kind: 'development',
      publicUrl: 'http://127.0.0.1:8081',
    });
  });

  it('never starts it for a config file, even an empty one, whatever the public URL', () => {
    for (const env of [{}, { CAPSULE_CONFIG: '/etc/mcp-capsule.yaml', CAPSULE_PUBLIC_URL: 'https://mcp.example.com' }]) {
      expect(decideStartup(env, {})).toEqual({ kind: 'configured', by: ['CAPSULE_CONFIG'], missing: { idp: false, mcp: false } });
    }
    expect(decideStartup({}, { upstream: { issuer: 'https://idp.example.com' }, publicUrl: 'https://mcp.example.com' })).toMatchObject({ kind: 'configured' });
  });

  it('never starts it for any identity provider or MCP server setting, ours or obot\'s, naming what is missing', () => {
    expect(decideStartup({ CAPSULE_MCP_URL: 'http://127.0.0.1:9/mcp' }, undefined)).toEqual({
      kind: 'configured',
      by: ['CAPSULE_MCP_URL'],
      missing: { idp: true, mcp: false },
    });
    expect(decideStartup({ CAPSULE_UPSTREAM_ISSUER: 'https://idp.example.com' }, undefined)).toEqual({
      kind: 'configured',
      by: ['CAPSULE_UPSTREAM_ISSUER'],
      missing: { idp: false, mcp: true },
    });
    expect(decideStartup({ CAPSULE_UPSTREAM_PROVIDER: 'github' }, undefined)).toMatchObject({ kind: 'configured', missing: { idp: false, mcp: true } });
    expect(decideStartup({ CAPSULE_ALLOW_EMAILS: 'a@example.com' }, undefined)).toMatchObject({ kind: 'configured', missing: { idp: true, mcp: true } });
    expect(decideStartup({ CAPSULE_DOWNSTREAM_AUTH: 'none' }, undefined)).toMatchObject({ kind: 'configured' });
    expect(decideStartup({ OAUTH_CLIENT_ID: 'obot-client' }, undefined)).toMatchObject({ kind: 'configured', by: ['OAUTH_CLIENT_ID'] });
    expect(decideStartup({ MCP_SERVER_URL: 'http://127.0.0.1:9' }, undefined)).toMatchObject({ kind: 'configured', by: ['MCP_SERVER_URL'], missing: { idp: true, mcp: false } });
    // Blank values are unset, as everywhere else.
    expect(decideStartup({ CAPSULE_MCP_URL: '  ', OAUTH_CLIENT_ID: '' }, undefined)).toMatchObject({ kind: 'development' });
  });

  it('refuses it in production and beyond loopback, saying why', () => {
    const production = decideStartup({ NODE_ENV: 'production' }, undefined);
    expect(production).toMatchObject({ kind: 'refused', reason: expect.stringContaining('NODE_ENV=production') });
    for (const publicUrl of ['https://mcp.example.com', 'http://192.168.1.5:8080', 'not a url']) {
      expect(decideStartup({ CAPSULE_PUBLIC_URL: publicUrl }, undefined)).toMatchObject({
        kind: 'refused',
        reason: expect.stringContaining(`CAPSULE_PUBLIC_URL (${publicUrl}) is not a loopback address`),
      });
    }
    // A configured proxy is not refused: its own settings decide, and loading reports what is wrong.
    expect(decideStartup({ NODE_ENV: 'production', CAPSULE_MCP_URL: 'http://127.0.0.1:9/mcp' }, undefined)).toMatchObject({ kind: 'configured' });
  });

  it('tells a partial configuration how to get the development setup or what to set', () => {
    const hint = partialConfigurationHint(decideStartup({ CAPSULE_MCP_URL: 'http://127.0.0.1:9/mcp' }, undefined));
    expect(hint).toMatch(/^CAPSULE_MCP_URL is set, so the development setup .* does not start: configure the identity provider \(CAPSULE_UPSTREAM_ISSUER.*\), or unset it to run the development setup$/);
    expect(partialConfigurationHint(decideStartup({ CAPSULE_UPSTREAM_ISSUER: 'https://idp.example.com', CAPSULE_UPSTREAM_CLIENT_ID: 'x' }, undefined))).toMatch(
      /^CAPSULE_UPSTREAM_ISSUER, CAPSULE_UPSTREAM_CLIENT_ID are set, .* configure the MCP server \(CAPSULE_MCP_URL\), or unset them/,
    );
    expect(partialConfigurationHint(decideStartup({ CAPSULE_UPSTREAM_ISSUER: 'https://idp.example.com', CAPSULE_MCP_URL: 'http://127.0.0.1:9/mcp' }, undefined))).toBeUndefined();
    expect(partialConfigurationHint(decideStartup({}, {}))).toBeUndefined();
    expect(partialConfigurationHint(decideStartup({}, undefined))).toBeUndefined();
  });
});
