import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CapsuleCodec } from '../../src/crypto/capsule.js';
import { KeyRing } from '../../src/crypto/keyring.js';
import { mcpPost, redeemCode, register, signIn, tokenRequest, type RegisteredClient } from '../support/oauth-flow.js';
import { Stack } from '../support/stack.js';

/** RFC 7009 revocation at /revoke. */
describe('token revocation', () => {
  let stack: Stack;
  let client: RegisteredClient;

  beforeAll(async () => {
    stack = await Stack.start();
    client = await register(stack.publicUrl);
  });
  afterAll(async () => {
    await stack?.close();
  });

  async function grant(forClient = client) {
    const callback = await signIn(stack.publicUrl, forClient);
    return (await redeemCode(stack.publicUrl, forClient, callback.searchParams.get('code')!)).body as { access_token: string; refresh_token: string };
  }

  const revoke = async (params: Record<string, string>, headers: Record<string, string> = {}) => {
    const response = await fetch(`${stack.publicUrl}/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(params).toString(),
    });
    return { status: response.status, text: await response.text(), headers: response.headers };
  };
  const refresh = (refreshToken: string) => tokenRequest(stack.publicUrl, { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: client.client_id });

  it('revoking a refresh token ends its whole grant, access tokens included', async () => {
    const tokens = await grant();
    const answer = await revoke({ token: tokens.refresh_token, token_type_hint: 'refresh_token', client_id: client.client_id });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect((await refresh(tokens.refresh_token)).body.error).toBe('invalid_grant');
    expect((await mcpPost(stack.mcpUrl, tokens.access_token)).status).toBe(401);
  });

  it('revokes an access token alone, whatever the hint says', async () => {
    const tokens = await grant();
    expect((await revoke({ token: tokens.access_token, token_type_hint: 'refresh_token', client_id: client.client_id })).status).toBe(200);
    expect((await mcpPost(stack.mcpUrl, tokens.access_token)).status).toBe(401);
    const renewed = await refresh(tokens.refresh_token);
    expect(renewed.status).toBe(200);
    expect((await mcpPost(stack.mcpUrl, renewed.body.access_token as string)).status).toBe(200);
  });

  it('answers 200 for unknown tokens and refuses another client’s token without revoking it', async () => {
    expect((await revoke({ token: 'not-a-token', client_id: client.client_id })).status).toBe(200);
    const other = await register(stack.publicUrl);
    const tokens = await grant(other);
    const refused = await revoke({ token: tokens.refresh_token, client_id: client.client_id });
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.text).error).toBe('unauthorized_client');
    expect((await mcpPost(stack.mcpUrl, tokens.access_token)).status).toBe(200);
  });

  /** The upstream refresh token inside a proxy refresh token, as only the proxy can read it. */
  async function upstreamRefreshToken(refreshToken: string): Promise<string> {
    const codec = new CapsuleCodec(await KeyRing.create(stack.config.keys), Date.now);
    const token = (await codec.open('refresh', refreshToken)).upstream.refresh_token;
    expect(token).toBeTruthy();
    return token!;
  }
  /** The proxy's own refresh at the provider, done by hand: does the provider still honour this refresh token? */
  const refreshAtIdp = async (upstreamToken: string) => {
    const response = await fetch(`${stack.idp.issuer}/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from('proxy:proxy-upstream-secret').toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: upstreamToken }).toString(),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const upstreamRevocationLines = () =>
    stack.logs.lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => String(line['msg']).startsWith('upstream revocation'));

  it('forwards a refresh token revocation to the provider, which ends its grant there too', async () => {
    const discovery = (await (await fetch(`${stack.idp.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(discovery['revocation_endpoint']).toBeTruthy();
    const kept = await grant();
    const revoked = await grant();
    const keptUpstream = await upstreamRefreshToken(kept.refresh_token);
    const revokedUpstream = await upstreamRefreshToken(revoked.refresh_token);
    const logged = upstreamRevocationLines().length;

    expect((await revoke({ token: revoked.refresh_token, client_id: client.client_id })).status).toBe(200);
    expect(upstreamRevocationLines().slice(logged)).toEqual([
      expect.objectContaining({ level: 'info', msg: 'upstream revocation', outcome: 'revoked', token_type_hint: 'refresh_token' }),
    ]);
    const dead = await refreshAtIdp(revokedUpstream);
    expect(dead.status).toBe(400);
    expect(dead.body.error).toBe('invalid_grant');
    // The same request with a grant nobody revoked works: the provider revoked that one grant, not the client.
    expect((await refreshAtIdp(keptUpstream)).status).toBe(200);
  });

  it('keeps one revoked access token to itself: the provider’s grant, shared by the grant’s other tokens, lives on', async () => {
    const tokens = await grant();
    const upstream = await upstreamRefreshToken(tokens.refresh_token);
    const logged = upstreamRevocationLines().length;
    expect((await revoke({ token: tokens.access_token, token_type_hint: 'access_token', client_id: client.client_id })).status).toBe(200);
    expect(upstreamRevocationLines().slice(logged)).toEqual([]);
    expect((await refreshAtIdp(upstream)).status).toBe(200);
  });

  it('authenticates confidential clients and requires the token parameter', async () => {
    const confidential = await register(stack.publicUrl, { token_endpoint_auth_method: 'client_secret_basic' });
    const tokens = await grant(confidential);
    const basic = (secret: string) => ({ authorization: `Basic ${Buffer.from(`${encodeURIComponent(confidential.client_id)}:${secret}`).toString('base64')}` });
    const wrong = await revoke({ token: tokens.refresh_token }, basic('x'.repeat(43)));
    expect(wrong.status).toBe(401);
    expect((await revoke({}, basic(confidential.client_secret!))).status).toBe(400);
    expect((await revoke({ token: tokens.refresh_token }, basic(confidential.client_secret!))).status).toBe(200);
    expect((await mcpPost(stack.mcpUrl, tokens.access_token)).status).toBe(401);
  });
});
