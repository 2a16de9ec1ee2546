import { describe, expect, it } from 'vitest';
import { lazyUpstreamClient } from '../../src/upstream/lazy-client.js';
import { UpstreamError, type UpstreamClient } from '../../src/upstream/upstream-client.js';

/** A client that records its calls, and a loader that counts how often it was asked for one. */
function counted() {
  const calls: string[] = [];
  const client: UpstreamClient = {
    ready: async () => void calls.push('ready'),
    tokenEndpoint: async () => 'https://idp.example/token',
    authorizationUrl: async (secrets, redirectUri) => new URL(`https://idp.example/authorize?state=${secrets.state}&redirect_uri=${redirectUri}`),
    completeLogin: async () => {
      throw new UpstreamError('denied', 'access_denied');
    },
    refresh: async (refreshToken) => ({ access_token: `renewed-${refreshToken}`, expires_at: 1 }),
    revoke: async () => 'unsupported',
  };
  let loads = 0;
  const load = async () => {
    loads++;
    return client;
  };
  return { client: lazyUpstreamClient(load), calls, loads: () => loads };
}

describe('lazyUpstreamClient', () => {
  it('loads nothing until a method is called, then once for every call', async () => {
    const lazy = counted();
    expect(lazy.loads()).toBe(0);
    await Promise.all([lazy.client.ready(), lazy.client.tokenEndpoint(), lazy.client.ready()]);
    expect(lazy.loads()).toBe(1);
    await lazy.client.revoke('token', 'refresh_token');
    expect(lazy.loads()).toBe(1);
    expect(lazy.calls).toEqual(['ready', 'ready']);
  });

  it('hands over each method its arguments, results and errors', async () => {
    const { client } = counted();
    expect(await client.tokenEndpoint()).toBe('https://idp.example/token');
    expect((await client.authorizationUrl({ state: 's1', codeVerifier: 'v', nonce: 'n' }, 'https://proxy.example/cb')).searchParams.get('state')).toBe('s1');
    expect(await client.refresh('r1')).toEqual({ access_token: 'renewed-r1', expires_at: 1 });
    expect(await client.revoke('t', 'access_token')).toBe('unsupported');
    await expect(client.completeLogin(new URL('https://proxy.example/cb'), { state: 's', codeVerifier: 'v', nonce: 'n' }, 'https://proxy.example/cb')).rejects.toBeInstanceOf(UpstreamError);
  });
});
