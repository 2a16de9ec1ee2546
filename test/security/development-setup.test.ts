import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoMcpServer, type DemoMcpServer } from '../../src/dev/demo-mcp-server.js';
import { prepareDemoEnvironment } from '../../src/dev/demo-environment.js';
import { startEmbeddedIdp, type EmbeddedIdp } from '../../src/dev/embedded-idp.js';
import { loadServeConfig, type DevelopmentSetup } from '../../src/runtime/serve-common.js';
import { CliProcess, runCli } from '../support/cli.js';
import { CLIENT_REDIRECT, authorizeUrl } from '../support/oauth-flow.js';
import { freePort } from '../support/ports.js';

/**
 * The development setup signs anyone in (its embedded provider takes any login). An operator who
 * configured the proxy, in a file or by any provider or MCP server setting, must never get it: the
 * attacker here is anyone who reaches a proxy whose operator forgot NODE_ENV=production.
 */
const PUBLIC_URL = 'https://mcp.example.com';
const PROBE_CLIENT = 'configured-probe';

describe('the development setup never replaces a configured identity provider', () => {
  let operatorIdp: EmbeddedIdp;
  let mcp: DemoMcpServer;
  let dir: string;
  let configFile: string;
  let fileWithRoutes: string;

  beforeAll(async () => {
    // The operator's identity provider: a real OpenID provider, at an issuer the proxy must use.
    operatorIdp = await startEmbeddedIdp({
      clients: [{ client_id: 'proxy-at-operator-idp', client_secret: 'operator-idp-client-secret', redirect_uris: [`${PUBLIC_URL}/oauth/callback`] }],
    });
    mcp = await startDemoMcpServer();
    dir = mkdtempSync(join(tmpdir(), 'capsule-devsetup-'));
    const settings = {
      keys: 'A'.repeat(43),
      publicUrl: PUBLIC_URL,
      upstream: { issuer: operatorIdp.issuer, clientId: 'proxy-at-operator-idp', clientSecret: 'operator-idp-client-secret' },
      clients: [{ client_id: PROBE_CLIENT, redirect_uris: [CLIENT_REDIRECT], token_endpoint_auth_method: 'none' }],
    };
    configFile = join(dir, 'capsule.json');
    writeFileSync(configFile, JSON.stringify(settings));
    fileWithRoutes = join(dir, 'capsule-routes.json');
    writeFileSync(fileWithRoutes, JSON.stringify({ ...settings, routes: [{ path: '/mcp', url: mcp.url }] }));
  });
  afterAll(async () => {
    await Promise.allSettled([operatorIdp?.close(), mcp?.close()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Starts `serve` without NODE_ENV and reads what a caller on the network sees. */
  async function probeServe(env: Record<string, string>) {
    const port = await freePort();
    const cli = CliProcess.start(['serve'], { PORT: String(port), ...env }, { killAfterMs: 60_000 });
    try {
      await cli.waitFor(/"msg":"mcp-capsule listening"/);
      const origin = `http://127.0.0.1:${port}`;
      const metadata = (await (await fetch(`${origin}/.well-known/oauth-authorization-server`)).json()) as { issuer: string };
      const authorize = await fetch(await authorizeUrl(origin, { client_id: PROBE_CLIENT, redirect_uris: [CLIENT_REDIRECT], token_endpoint_auth_method: 'none' }, { resource: `${PUBLIC_URL}/mcp` }), {
        redirect: 'manual',
      });
      return { metadata, authorize, location: new URL(authorize.headers.get('location') ?? 'about:blank'), run: await cli.stop() };
    } finally {
      await cli.stop('SIGKILL');
    }
  }

  for (const [name, env] of [
    ['a config file with the provider, the MCP server from CAPSULE_MCP_URL', () => ({ CAPSULE_CONFIG: configFile, CAPSULE_MCP_URL: mcp.url })],
    ['a config file with the provider and the MCP server', () => ({ CAPSULE_CONFIG: fileWithRoutes })],
  ] as const) {
    it(`serve without NODE_ENV, ${name}: no embedded provider, no banner, sign-in goes to the configured issuer`, async () => {
      const { metadata, authorize, location, run } = await probeServe(env());
      expect(run.stderr).not.toContain('DEVELOPMENT SETUP');
      expect(run.stderr).not.toContain('any login name');
      expect(metadata.issuer).toBe(PUBLIC_URL);
      expect(authorize.status).toBe(302);
      expect(location.origin).toBe(new URL(operatorIdp.issuer).origin);
      expect(location.searchParams.get('client_id')).toBe('proxy-at-operator-idp');
      expect(location.searchParams.get('redirect_uri')).toBe(`${PUBLIC_URL}/oauth/callback`);
      expect(run.code).toBe(0);
    }, 90_000);
  }

  it('Bun and Deno decide the same way: the configured provider, no development setup', async () => {
    const started: DevelopmentSetup[] = [];
    const startDevelopment = async (decision: { publicUrl: string }) => {
      const development = await prepareDemoEnvironment({}, decision);
      started.push(development);
      return development;
    };
    try {
      for (const name of ['Node', 'Bun', 'Deno']) {
        const { config, development } = await loadServeConfig({ CAPSULE_CONFIG: fileWithRoutes }, { name, startDevelopment });
        expect(development).toBeUndefined();
        expect(config.publicUrl).toBe(PUBLIC_URL);
        expect(config.upstream.issuer).toBe(operatorIdp.issuer);
        expect(config.routes[0]!.url.href).toBe(mcp.url);
      }
      expect(started).toHaveLength(0);
    } finally {
      await Promise.allSettled(started.map((development) => development.close()));
    }
  });

  it('a partial configuration is an error naming what is missing and how to get the development setup, never the embedded provider', async () => {
    const run = await runCli(['serve'], { PORT: String(await freePort()), CAPSULE_MCP_URL: mcp.url, CAPSULE_KEYS: 'A'.repeat(43) });
    expect(run.code).toBe(78);
    expect(run.stderr).not.toContain('DEVELOPMENT SETUP');
    expect(run.stderr).toMatch(/^\s+- CAPSULE_UPSTREAM_ISSUER: is required/m);
    expect(run.stderr).toMatch(/^\s+- CAPSULE_MCP_URL is set, so the development setup .* does not start: configure the identity provider .*, or unset it to run the development setup$/m);
  });

  it('nothing configured but NODE_ENV=production or a public URL beyond loopback: an error saying why, no embedded provider', async () => {
    const production = await runCli(['serve'], { PORT: String(await freePort()), NODE_ENV: 'production' });
    expect(production.code).toBe(78);
    expect(production.stderr).not.toContain('DEVELOPMENT SETUP');
    expect(production.stderr).toContain('the development setup never starts with NODE_ENV=production');
    const exposed = await runCli(['serve'], { PORT: String(await freePort()), CAPSULE_PUBLIC_URL: PUBLIC_URL });
    expect(exposed.code).toBe(78);
    expect(exposed.stderr).not.toContain('DEVELOPMENT SETUP');
    expect(exposed.stderr).toContain(`CAPSULE_PUBLIC_URL (${PUBLIC_URL}) is not a loopback address`);
  });

  it('control: with nothing configured, Node still runs the development setup (embedded provider and demo MCP server)', async () => {
    const port = await freePort();
    let development: DevelopmentSetup | undefined;
    try {
      const loaded = await loadServeConfig(
        { PORT: String(port) },
        { name: 'Node', startDevelopment: (decision) => prepareDemoEnvironment({}, decision) },
      );
      development = loaded.development;
      expect(development?.banner).toContain('DEVELOPMENT SETUP');
      expect(loaded.config.publicUrl).toBe(`http://localhost:${port}`);
      expect(loaded.config.upstream.issuer).toBe(development!.env.CAPSULE_UPSTREAM_ISSUER);
      expect(loaded.config.upstream.issuer).not.toBe(operatorIdp.issuer);
      expect(loaded.config.routes[0]!.url.href).toBe(development!.env.CAPSULE_MCP_URL);
    } finally {
      await development?.close();
    }
  });
});
