import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { freePort } from '../support/ports.js';

const VALID = {
  CAPSULE_KEYS: 'A'.repeat(43),
  CAPSULE_PUBLIC_URL: 'https://mcp.example.com',
  CAPSULE_UPSTREAM_ISSUER: 'https://accounts.example.com',
  CAPSULE_UPSTREAM_CLIENT_ID: 'proxy',
  CAPSULE_UPSTREAM_CLIENT_SECRET: 'cli-test-secret-value',
  CAPSULE_MCP_URL: 'http://127.0.0.1:9/mcp',
};

describe('mcp-capsule command line', () => {
  it('keygen prints a fresh 32-byte base64url key', async () => {
    const [first, second] = await Promise.all([runCli(['keygen'], {}), runCli(['keygen'], {})]);
    expect(first.code).toBe(0);
    expect(first.stdout.trim()).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(first.stdout.trim(), 'base64url')).toHaveLength(32);
    expect(second.stdout.trim()).not.toBe(first.stdout.trim());
  });

  it('check prints the effective configuration with secrets redacted, and the redirect URI to register', async () => {
    const run = await runCli(['check'], VALID);
    expect(run.code).toBe(0);
    const printed = JSON.parse(run.stdout);
    expect(printed.publicUrl).toBe('https://mcp.example.com');
    expect(printed.upstream.clientSecret).toBe('[redacted]');
    expect(run.stdout + run.stderr).not.toContain('cli-test-secret-value');
    expect(run.stdout).not.toContain('A'.repeat(43));
    expect(run.stderr).toContain('https://mcp.example.com/oauth/callback');
  });

  it('refuses a bad configuration with exit code 78 and one line per problem naming the variable', async () => {
    const run = await runCli(['check'], { ...VALID, CAPSULE_KEYS: 'short', CAPSULE_DOWNSTREAM_AUTH: 'nope' });
    expect(run.code).toBe(78);
    expect(run.stderr).toMatch(/^\s+- CAPSULE_KEYS: .*32 bytes/m);
    expect(run.stderr).toMatch(/^\s+- CAPSULE_DOWNSTREAM_AUTH: must be one of/m);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('check refuses a misspelled setting in the configuration file with exit code 78, naming it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'capsule-cli-'));
    const file = join(dir, 'config.yaml');
    writeFileSync(file, 'routes:\n  - path: /mcp\n    url: http://127.0.0.1:9/mcp\n    tools:\n      disabeld: [delete_*]\n');
    const { CAPSULE_MCP_URL: _url, ...env } = VALID;
    try {
      const run = await runCli(['check'], { ...env, CAPSULE_CONFIG: file });
      expect(run.code).toBe(78);
      expect(run.stderr).toMatch(/^\s+- routes\[0\] \(\/mcp\)\.tools\.disabeld: unknown key; did you mean disabled\?$/m);
      expect(run.stdout).not.toContain('"disabled"');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('never starts the development setup in production: a missing provider is an error', async () => {
    const { CAPSULE_UPSTREAM_ISSUER: _issuer, ...withoutIssuer } = VALID;
    const run = await runCli(['serve'], { ...withoutIssuer, NODE_ENV: 'production', PORT: String(await freePort()) });
    expect(run.code).toBe(78);
    expect(run.stderr).toContain('CAPSULE_UPSTREAM_ISSUER: is required');
    expect(run.stderr).not.toContain('DEVELOPMENT SETUP');
  });

  it('rejects an unknown command with usage', async () => {
    const run = await runCli(['frobnicate'], {});
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('Usage: mcp-capsule');
  });

  it('serve with no configuration runs the development setup and stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    const run = await runCli(['serve'], { PORT: String(port) }, { until: /Connect your MCP client to/, thenSignal: 'SIGTERM' });
    expect(run.stderr).toContain('DEVELOPMENT SETUP: not for production use');
    expect(run.stderr).toContain(`http://localhost:${port}/mcp`);
    expect(run.stdout, JSON.stringify({ code: run.code, signal: run.signal, stderr: run.stderr.slice(-300) })).toContain('"msg":"shutting down"');
    expect(run.code).toBe(0);
  });
});
