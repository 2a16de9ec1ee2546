import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shortDigest } from '../../src/crypto/encoding.js';
import { inProcessApp, manualClock } from '../support/deps.js';
import { CLIENT_REDIRECT, mcpPost, redeemCode, register, signIn, tokenRequest, type RegisteredClient } from '../support/oauth-flow.js';
import { Stack } from '../support/stack.js';

const ADMIN_TOKEN = 'admin-token-for-tests-0123456789abcdefghijklmnop';
const INTROSPECTOR_SECRET = 'introspector-client-secret-0123456789';

/**
 * POST /admin/revoke: everything of a user, or of a client, issued until now
 * stops working, on the MCP route and at /token, and nothing of anyone else.
 */
describe('admin revocation API', () => {
  // The proxy's clock: a revocation covers tokens issued at or before its second, so tests move time on by hand.
  const clock = manualClock(Date.now());
  let stack: Stack;
  let client: RegisteredClient;

  beforeAll(async () => {
    stack = await Stack.start({
      clock,
      extra: {
        admin: { token: ADMIN_TOKEN },
        clients: [{ client_id: 'introspector', client_secret: INTROSPECTOR_SECRET, redirect_uris: [CLIENT_REDIRECT] }],
      },
    });
    client = await register(stack.publicUrl);
  });
  afterAll(async () => {
    const log = stack?.logs.lines.join('\n') ?? '';
    await stack?.close();
    expect(log).not.toContain(ADMIN_TOKEN);
  });

  const nowSeconds = () => Math.floor(clock() / 1000);

  async function adminRevoke(body: unknown, options: { authorization?: string | null; contentType?: string } = {}) {
    const authorization = options.authorization === undefined ? `Bearer ${ADMIN_TOKEN}` : options.authorization;
    const response = await fetch(`${stack.publicUrl}/admin/revoke`, {
      method: 'POST',
      headers: {
        'content-type': options.contentType ?? 'application/json',
        ...(authorization === null ? {} : { authorization }),
      },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
  }

  type Tokens = { access_token: string; refresh_token: string };
  async function grant(forClient: RegisteredClient, login: string): Promise<Tokens> {
    const callback = await signIn(stack.publicUrl, forClient, { login });
    const redeemed = await redeemCode(stack.publicUrl, forClient, callback.searchParams.get('code')!);
    expect(redeemed.status).toBe(200);
    return redeemed.body as Tokens;
  }
  const refresh = (forClient: RegisteredClient, tokens: Tokens) =>
    tokenRequest(stack.publicUrl, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: forClient.client_id });
  const mcpStatus = async (tokens: Tokens) => (await mcpPost(stack.mcpUrl, tokens.access_token)).status;

  async function expectRevoked(forClient: RegisteredClient, tokens: Tokens): Promise<void> {
    const mcp = await mcpPost(stack.mcpUrl, tokens.access_token);
    expect(mcp.status).toBe(401);
    expect(mcp.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
    const refused = await refresh(forClient, tokens);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('invalid_grant');
  }
  async function expectWorking(forClient: RegisteredClient, tokens: Tokens): Promise<void> {
    expect(await mcpStatus(tokens)).toBe(200);
    const renewed = await refresh(forClient, tokens);
    expect(renewed.status).toBe(200);
    expect(await mcpStatus(renewed.body as Tokens)).toBe(200);
  }

  async function introspect(token: string): Promise<Record<string, unknown>> {
    const response = await fetch(`${stack.publicUrl}/introspect`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`introspector:${INTROSPECTOR_SECRET}`).toString('base64')}`,
      },
      body: new URLSearchParams({ token }).toString(),
    });
    expect(response.status).toBe(200);
    return (await response.json()) as Record<string, unknown>;
  }

  const adminEvents = () => stack.logs.auditEvents.filter((event) => event['event'] === 'revoked_issued_before');

  it('refuses a request without the admin token, or with a wrong one, as RFC 6750 says', async () => {
    for (const authorization of [null, 'Bearer wrong-admin-token-0123456789abcdefghijklmnop', `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}`, 'Bearer']) {
      const answer = await adminRevoke({ user: 'alice' }, { authorization });
      expect(answer.status).toBe(401);
      expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer .*error="invalid_token"/);
      expect(answer.headers.get('cache-control')).toBe('no-store');
      expect(answer.body.error).toBe('invalid_token');
    }
    // The token is checked before the body is read.
    expect((await adminRevoke('{not json', { authorization: null })).status).toBe(401);
    expect(adminEvents()).toEqual([]);
  });

  it('refuses a body that is not exactly one of {"user"} and {"client"}', async () => {
    for (const body of [{}, { user: 'alice', client: 'some-client' }, { user: 'alice', extra: 'field' }, { user: '' }, { user: 42 }, [], 'null', '{not json', '']) {
      const answer = await adminRevoke(body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.error).toBe('invalid_request');
      expect(answer.headers.get('cache-control')).toBe('no-store');
    }
    expect(adminEvents()).toEqual([]);
  });

  it('revokes everything a user was issued until now, and nothing of anyone else', async () => {
    const other = await register(stack.publicUrl);
    const carol = await grant(client, 'carol');
    const carolElsewhere = await grant(other, 'carol');
    const dave = await grant(client, 'dave');
    const before = await introspect(carol.access_token);
    expect(before).toMatchObject({ active: true, sub: 'carol' });

    const answer = await adminRevoke({ user: 'carol' });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(answer.body).toEqual({ revoked: 'user', not_before: nowSeconds() });

    await expectRevoked(client, carol);
    await expectRevoked(other, carolElsewhere);
    expect(await introspect(carol.access_token)).toEqual({ active: false });
    await expectWorking(client, dave);
    expect(await introspect(dave.access_token)).toMatchObject({ active: true, sub: 'dave' });

    expect(adminEvents()).toEqual([expect.objectContaining({ event: 'revoked_issued_before', user: { sub: 'carol' }, outcome: 'allowed' })]);
    expect(adminEvents()[0]!['client']).toBeUndefined();
  });

  it('covers the second of the revocation itself; a login in a later second works again', async () => {
    await grant(client, 'grace');
    expect((await adminRevoke({ user: 'grace' })).status).toBe(200);
    // Still the same second: a code issued now may predate the revocation, so it is refused too.
    const sameSecond = await signIn(stack.publicUrl, client, { login: 'grace' });
    const refused = await redeemCode(stack.publicUrl, client, sameSecond.searchParams.get('code')!);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('invalid_grant');

    clock.advance(1);
    const fresh = await grant(client, 'grace');
    await expectWorking(client, fresh);
    expect(await introspect(fresh.access_token)).toMatchObject({ active: true, sub: 'grace' });
  });

  it('revokes everything a client was issued until now, named by its client_id', async () => {
    const revoked = await register(stack.publicUrl, { client_name: 'Client to revoke' });
    const kept = await register(stack.publicUrl);
    const revokedTokens = await grant(revoked, 'erin');
    const keptTokens = await grant(kept, 'erin');
    const events = adminEvents().length;

    const answer = await adminRevoke({ client: revoked.client_id });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ revoked: 'client', not_before: nowSeconds() });

    await expectRevoked(revoked, revokedTokens);
    expect(await introspect(revokedTokens.access_token)).toEqual({ active: false });
    await expectWorking(kept, keptTokens);
    // The audit log names the client by digest, as every other event does; a sealed client_id is never logged.
    expect(adminEvents().slice(events)).toEqual([
      expect.objectContaining({ event: 'revoked_issued_before', client: { id: await shortDigest(revoked.client_id) }, outcome: 'allowed' }),
    ]);

    clock.advance(1);
    await expectWorking(revoked, await grant(revoked, 'erin'));
  });

  it('revokes a client named by the digest the audit log shows', async () => {
    const revoked = await register(stack.publicUrl);
    const kept = await register(stack.publicUrl);
    const revokedTokens = await grant(revoked, 'frank');
    const keptTokens = await grant(kept, 'frank');
    // What an operator reads in the audit log.
    const digest = await shortDigest(revoked.client_id);
    const issued = stack.logs.auditEvents.filter((event) => event['event'] === 'token_issued' && (event['client'] as { id: string }).id === digest);
    expect(issued).toHaveLength(1);

    const answer = await adminRevoke({ client: digest });
    expect(answer.status).toBe(200);
    await expectRevoked(revoked, revokedTokens);
    await expectWorking(kept, keptTokens);
    expect(adminEvents().at(-1)).toMatchObject({ client: { id: digest } });
  });

  it('accepts a form-encoded body too', async () => {
    const tokens = await grant(client, 'heidi');
    const answer = await adminRevoke(new URLSearchParams({ user: 'heidi' }).toString(), { contentType: 'application/x-www-form-urlencoded' });
    expect(answer.status).toBe(200);
    expect(answer.body.revoked).toBe('user');
    await expectRevoked(client, tokens);
  });
});

describe('admin API without an admin token', () => {
  it('does not exist', async () => {
    const { app } = await inProcessApp();
    const response = await app.request('/admin/revoke', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({ user: 'alice' }),
    });
    expect(response.status).toBe(404);
  });
});
