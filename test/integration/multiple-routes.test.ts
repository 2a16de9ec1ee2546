import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectWithOAuth, TestOAuthProvider, textOf } from '../support/mcp-client.js';
import { mcpPost, redeemCode, register, signIn } from '../support/oauth-flow.js';
import { startEmbeddedIdp } from '../../src/dev/embedded-idp.js';
import { Stack } from '../support/stack.js';

/**
 * Two MCP servers behind one proxy, each its own protected resource with its
 * own downstream credential; one upstream callback serves both.
 */
describe('several MCP servers behind one proxy', () => {
  let stack: Stack;
  let corpIssuer: string;

  beforeAll(async () => {
    stack = await Stack.start({
      // The team route signs in at a second identity provider of its own.
      prepare: async (publicUrl) => {
        const corp = await startEmbeddedIdp({
          clients: [{ client_id: 'proxy-at-corp', client_secret: 'corp-secret', redirect_uris: [`${publicUrl}/oauth/callback`] }],
        });
        corpIssuer = corp.issuer;
        return {
          extra: { upstreams: { corp: { issuer: corp.issuer, clientId: 'proxy-at-corp', clientSecret: 'corp-secret', scopes: 'openid email profile' } } },
          close: () => corp.close(),
        };
      },
      routesFromDemo: (demoUrl) => [
        { path: '/mcp', url: demoUrl, auth: 'upstream-token' },
        { path: '/team/tools', url: demoUrl, auth: 'identity-headers', upstream: 'corp' },
      ],
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('publishes a metadata document per route, each naming its own resource', async () => {
    for (const path of ['/mcp', '/team/tools']) {
      const metadata = (await (await fetch(`${stack.publicUrl}/.well-known/oauth-protected-resource${path}`)).json()) as { resource: string };
      expect(metadata.resource).toBe(`${stack.publicUrl}${path}`);
    }
    const root = (await (await fetch(`${stack.publicUrl}/.well-known/oauth-protected-resource`)).json()) as { resource: string };
    expect(root.resource).toBe(`${stack.publicUrl}/mcp`);
  });

  it('signs the SDK client in to each route and forwards with that route credential; tokens stay on their route', async () => {
    const teamProvider = new TestOAuthProvider({ login: 'heidi' });
    const team = await connectWithOAuth(`${stack.publicUrl}/team/tools`, teamProvider);
    expect(teamProvider.authorizations[0]!.authorizationUrl.searchParams.get('resource')).toBe(`${stack.publicUrl}/team/tools`);
    const teamSeen = JSON.parse(textOf(await team.client.callTool({ name: 'whoami', arguments: {} })));
    // The team route signed in at its own provider, through the one shared callback: its upstream
    // token is good at that provider's userinfo endpoint and unknown to the default provider.
    const userinfo = (issuer: string) =>
      fetch(`${issuer}/me`, { headers: { authorization: `Bearer ${teamSeen['x-forwarded-access-token']}` } });
    expect((await userinfo(corpIssuer)).status).toBe(200);
    expect((await userinfo(stack.idp.issuer)).status).toBe(401);
    expect(teamSeen['x-forwarded-user']).toBe('heidi');
    expect(teamSeen.authorization).toBeNull();

    const mcpProvider = new TestOAuthProvider({ login: 'ivan' });
    const mcp = await connectWithOAuth(stack.mcpUrl, mcpProvider);
    const mcpSeen = JSON.parse(textOf(await mcp.client.callTool({ name: 'whoami', arguments: {} })));
    expect(mcpSeen.authorization).toMatch(/^Bearer /);
    expect(mcpSeen['x-forwarded-user']).toBeNull();

    // A token for one route is refused at the other, both ways.
    const teamToken = teamProvider.savedTokens!.access_token;
    const mcpToken = mcpProvider.savedTokens!.access_token;
    expect((await mcpPost(stack.mcpUrl, teamToken)).status).toBe(401);
    expect((await mcpPost(`${stack.publicUrl}/team/tools`, mcpToken)).status).toBe(401);
    expect((await mcpPost(`${stack.publicUrl}/team/tools`, teamToken)).status).toBe(200);
    await team.client.close();
    await mcp.client.close();
  });

  it('serves a 2025-03-26 client that sends no resource: metadata at the MCP origin, tokens for the first route', async () => {
    const metadata = await fetch(`${new URL(stack.mcpUrl).origin}/.well-known/oauth-authorization-server`);
    expect(metadata.status).toBe(200);
    const client = await register(stack.publicUrl);
    const callback = await signIn(stack.publicUrl, client, { extra: { resource: undefined } });
    const tokens = await redeemCode(stack.publicUrl, client, callback.searchParams.get('code')!, { resource: undefined });
    expect(tokens.status).toBe(200);
    expect((await mcpPost(stack.mcpUrl, tokens.body.access_token as string)).status).toBe(200);
    expect((await mcpPost(`${stack.publicUrl}/team/tools`, tokens.body.access_token as string)).status).toBe(401);
  });
});
