import { randomToken } from '../crypto/encoding.js';
import { generateMasterKey } from '../crypto/keyring.js';
import { isLoopbackHost } from '../config/primitives.js';

type Env = Readonly<Record<string, string | undefined>>;

export interface DemoEnvironment {
  /** Settings that stand in for the ones the operator left unset. */
  readonly env: Record<string, string>;
  readonly banner: string;
  close(): Promise<void>;
}

const DEFAULT_PORT = '8080';

function isSet(env: Env, name: string): boolean {
  return (env[name] ?? '').trim() !== '';
}

/**
 * With no identity provider or no MCP server configured, development starts
 * local ones: node oidc-provider (any login works) and the demo MCP server.
 * Never in production, and never when the proxy would be reachable beyond
 * this machine, because anyone could then sign in.
 */
export async function prepareDemoEnvironment(env: Env): Promise<DemoEnvironment | undefined> {
  const needsIdp = !isSet(env, 'CAPSULE_UPSTREAM_ISSUER') && !isSet(env, 'CAPSULE_UPSTREAM_AUTHORIZATION_URL');
  const needsMcp = !isSet(env, 'CAPSULE_MCP_URL');
  if ((!needsIdp && !needsMcp) || env.NODE_ENV === 'production') return undefined;

  const port = env.PORT?.trim() || DEFAULT_PORT;
  const publicUrl = env.CAPSULE_PUBLIC_URL?.trim() || `http://localhost:${port}`;
  let publicHost: string;
  try {
    publicHost = new URL(publicUrl).hostname;
  } catch {
    return undefined;
  }
  if (!isLoopbackHost(publicHost)) return undefined;

  const overrides: Record<string, string> = { CAPSULE_PUBLIC_URL: publicUrl };
  const closers: Array<() => Promise<void>> = [];
  const lines = ['', '='.repeat(72), ' DEVELOPMENT SETUP: not for production use', '='.repeat(72)];
  try {
    if (needsIdp) {
      const { startEmbeddedIdp } = await import('./embedded-idp.js');
      const clientSecret = randomToken(24);
      const idp = await startEmbeddedIdp({
        clients: [{ client_id: 'mcp-capsule-dev', client_secret: clientSecret, redirect_uris: [`${publicUrl}/oauth/callback`] }],
      });
      closers.push(() => idp.close());
      Object.assign(overrides, {
        CAPSULE_UPSTREAM_ISSUER: idp.issuer,
        CAPSULE_UPSTREAM_CLIENT_ID: 'mcp-capsule-dev',
        CAPSULE_UPSTREAM_CLIENT_SECRET: clientSecret,
        CAPSULE_UPSTREAM_SCOPES: 'openid email profile offline_access',
      });
      lines.push(` Embedded identity provider: ${idp.issuer} (any login name and password sign in)`);
    }
    if (needsMcp) {
      const { startDemoMcpServer } = await import('./demo-mcp-server.js');
      const demo = await startDemoMcpServer();
      closers.push(() => demo.close());
      overrides.CAPSULE_MCP_URL = demo.url;
      lines.push(` Demo MCP server: ${demo.url} (tools: echo, whoami, countdown)`);
    }
  } catch (error) {
    await Promise.allSettled(closers.map((close) => close()));
    const missing = error instanceof Error && /Cannot find (module|package)/.test(error.message);
    throw new Error(
      missing
        ? 'The development setup needs the dev dependencies (run "npm install"), or configure CAPSULE_UPSTREAM_ISSUER and CAPSULE_MCP_URL.'
        : `Could not start the development setup: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (!isSet(env, 'CAPSULE_KEYS')) {
    overrides.CAPSULE_KEYS = generateMasterKey();
    lines.push(' CAPSULE_KEYS is unset: using a random key, so tokens and registrations end at restart.');
  }
  const mcpPath = new URL(overrides.CAPSULE_MCP_URL ?? env.CAPSULE_MCP_URL!).pathname;
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
