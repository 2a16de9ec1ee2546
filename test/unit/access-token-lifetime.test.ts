import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { runCli } from '../support/cli.js';
import { BASE_ENV } from '../support/config-problems.js';

const CONFIGURED = { ...BASE_ENV, CAPSULE_MCP_URL: 'http://127.0.0.1:9/mcp' };

/** mcp-remote refreshes with under 60 s left and stops after 20 token exchanges in 30 s. */
describe('access token lifetimes too short for real clients', () => {
  it('check warns for 5 s, naming the setting, the value and what mcp-remote does', async () => {
    const run = await runCli(['check'], { ...CONFIGURED, CAPSULE_ACCESS_TOKEN_TTL: '5' });
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^warning: CAPSULE_ACCESS_TOKEN_TTL is 5 s, under 120 s: mcp-remote .* refreshes whenever under 60 s are left and stops after 20 token exchanges in 30 s/m);
  });

  it('check says nothing for 3600 s', async () => {
    const run = await runCli(['check'], { ...CONFIGURED, CAPSULE_ACCESS_TOKEN_TTL: '3600' });
    expect(run.code).toBe(0);
    expect(run.stderr).not.toContain('warning:');
    expect(run.stderr).not.toContain('mcp-remote');
  });

  it('is one of the notes every runtime logs at startup, naming the file field when the file set it', () => {
    const fromFile = loadConfig({ ...CONFIGURED, CAPSULE_CONFIG: '/c.json' }, () => JSON.stringify({ ttl: { accessToken: '90s' } }));
    expect(fromFile.notes).toEqual([expect.stringMatching(/^ttl\.accessToken is 90 s, under 120 s: mcp-remote/)]);
    expect(loadConfig({ ...CONFIGURED, CAPSULE_ACCESS_TOKEN_TTL: '2m' }).notes).toEqual([]);
    expect(loadConfig({ ...CONFIGURED, CAPSULE_ACCESS_TOKEN_TTL: '119' }).notes).toEqual([expect.stringContaining('CAPSULE_ACCESS_TOKEN_TTL is 119 s')]);
  });
});
