import { randomToken } from '../crypto/encoding.js';
import { generateMasterKey } from '../crypto/keyring.js';
import { PATHS } from '../oauth/endpoints.js';
import type { DevelopmentSetup } from '../runtime/serve-common.js';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Starts the development setup's local servers: node oidc-provider (any login works) and
 * the demo MCP server. Whether it may start at all is decided by `decideStartup`
 * (src/config/development-setup.ts); this only runs once it said yes.
 */
export async function prepareDemoEnvironment(env: Env, { publicUrl }: { readonly publicUrl: string }): Promise<DevelopmentSetup> {
  const overrides: Record<string, string> = { CAPSULE_PUBLIC_URL: publicUrl };
  const closers: Array<() => Promise<void>> = [];
  const lines = ['', '='.repeat(72), ' DEVELOPMENT SETUP: not for production use', '='.repeat(72)];
  let mcpUrl: string;
  try {
    const { startEmbeddedIdp } = await import('./embedded-idp.js');
    const clientSecret = randomToken(24);
    const idp = await startEmbeddedIdp({
      clients: [{ client_id: 'mcp-capsule-dev', client_secret: clientSecret, redirect_uris: [publicUrl + PATHS.callback] }],
    });
    closers.push(() => idp.close());
    Object.assign(overrides, {
      CAPSULE_UPSTREAM_ISSUER: idp.issuer,
      CAPSULE_UPSTREAM_CLIENT_ID: 'mcp-capsule-dev',
      CAPSULE_UPSTREAM_CLIENT_SECRET: clientSecret,
      CAPSULE_UPSTREAM_SCOPES: 'openid email profile offline_access',
    });
    lines.push(` Embedded identity provider: ${idp.issuer} (any login name and password sign in)`);
    const { startDemoMcpServer } = await import('./demo-mcp-server.js');
    const demo = await startDemoMcpServer();
    closers.push(() => demo.close());
    overrides.CAPSULE_MCP_URL = mcpUrl = demo.url;
    lines.push(` Demo MCP server: ${demo.url} (tools: echo, whoami, countdown)`);
  } catch (error) {
    await Promise.allSettled(closers.map((close) => close()));
    const missing = error instanceof Error && /Cannot find (module|package)/.test(error.message);
    throw new Error(
      missing
        ? 'The development setup needs the dev dependencies (run "npm install"), or configure CAPSULE_UPSTREAM_ISSUER and CAPSULE_MCP_URL.'
        : `Could not start the development setup: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if ((env.CAPSULE_KEYS ?? '').trim() === '') {
    overrides.CAPSULE_KEYS = generateMasterKey();
    lines.push(' CAPSULE_KEYS is unset: using a random key, so tokens and registrations end at restart.');
  }
  const mcpPath = new URL(mcpUrl).pathname;
  lines.push(
    '',
    ` Connect your MCP client to:  ${publicUrl}${mcpPath.replace(/\/+$/, '')}`,
    ' Use this exact URL (localhost and 127.0.0.1 are different sites to a browser).',
    ' The client opens a browser: approve it, then sign in with any name.',
    '='.repeat(72),
    '',
  );
  return {
    env: overrides,
    banner: lines.join('\n'),
    close: async () => {
      await Promise.allSettled(closers.map((close) => close()));
    },
  };
}
