import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mcpPost, redeemCode, register, signIn, tokenRequest } from '../support/oauth-flow.js';
import { Stack } from '../support/stack.js';

/** Who may use a route: checked at sign-in, at refresh, and on every request. */
describe('access policy', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await Stack.start({
      routesFromDemo: (demoUrl) => [
        { path: '/mcp', url: demoUrl, policy: { emails: ['alice@example.test'], emailDomains: ['corp.test'], subjects: ['svc-bot', 'admin-ann'] } },
      ],
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('lets allowed users sign in, by email or subject', async () => {
    for (const login of ['alice', 'svc-bot']) {
      const client = await register(stack.publicUrl);
      const callback = await signIn(stack.publicUrl, client, { login });
      expect(callback.searchParams.get('code')).toBeTruthy();
    }
  });

  it('allows by upstream group', async () => {
    const grouped = await stack.startSibling({
      settings: { routes: [{ path: '/mcp', url: stack.demo.url, policy: { groups: ['admins'] } }] },
    });
    // Sign-in happens at the first instance's public URL; the group rule applies where the token is used.
    const client = await register(stack.publicUrl);
    const admin = await signIn(stack.publicUrl, client, { login: 'admin-ann' });
    const token = (await redeemCode(stack.publicUrl, client, admin.searchParams.get('code')!)).body.access_token as string;
    expect((await mcpPost(`${grouped.url}/mcp`, token)).status).toBe(200);
    const other = await signIn(stack.publicUrl, client, { login: 'alice' });
    const aliceToken = (await redeemCode(stack.publicUrl, client, other.searchParams.get('code')!)).body.access_token as string;
    expect((await mcpPost(`${grouped.url}/mcp`, aliceToken)).status).toBe(403);
  });

  it('refuses a user who is not on the list at sign-in, with access_denied to the client, and audits it', async () => {
    const client = await register(stack.publicUrl);
    const callback = await signIn(stack.publicUrl, client, { login: 'mallory' });
    expect(callback.searchParams.get('error')).toBe('access_denied');
    expect(callback.searchParams.get('code')).toBeNull();
    expect(callback.searchParams.get('iss')).toBe(stack.publicUrl);
    const denied = stack.logs.auditEvents.find((event) => event.event === 'login_denied');
    expect(denied).toMatchObject({ user: { sub: 'mallory' }, outcome: 'denied', route: '/mcp' });
  });

  it('checks again on every request and at refresh, since policy can change while tokens live', async () => {
    const client = await register(stack.publicUrl);
    const callback = await signIn(stack.publicUrl, client, { login: 'alice' });
    const tokens = (await redeemCode(stack.publicUrl, client, callback.searchParams.get('code')!)).body;
    expect((await mcpPost(stack.mcpUrl, tokens.access_token as string)).status).toBe(200);

    // The same deployment, now with alice removed from the list.
    const stricter = await stack.startSibling({
      settings: { routes: [{ path: '/mcp', url: stack.demo.url, policy: { emailDomains: ['corp.test'] } }] },
    });
    const refused = await mcpPost(`${stricter.url}/mcp`, tokens.access_token as string);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: string }).error).toBe('access_denied');
    expect(stack.logs.auditEvents.some((event) => event.event === 'policy_denied' && (event.user as { sub: string }).sub === 'alice')).toBe(true);
    const refresh = await tokenRequest(stricter.url, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token as string, client_id: client.client_id });
    expect(refresh.status).toBe(400);
    expect(refresh.body.error).toBe('invalid_grant');
  });
});
