import { spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mcpPost, redeemCode, register, signIn, tokenRequest, type RegisteredClient } from '../support/oauth-flow.js';
import { RedisRelay, RedisServer } from '../support/redis.js';
import { Stack } from '../support/stack.js';
import { TEST_KEY_A } from '../support/deps.js';
import { eventually } from '../support/eventually.js';

const ADMIN_TOKEN = 'admin-token-for-the-shared-set-tests-0123456789';
const CLI = new URL('../../src/cli.ts', import.meta.url).pathname;
const INSTANCES = 3;

/**
 * Several proxy instances sharing one real redis-server, as behind a load
 * balancer: what one instance records, every other one honours. The last test
 * kills Redis under them and brings it back.
 */
describe(`${INSTANCES} instances sharing one Redis`, () => {
  let redis: RedisServer;
  /** Between the instances and Redis, so a test can hang Redis and see what the instances ask of it. */
  let relay: RedisRelay;
  let stack: Stack;
  let urls: string[];
  let client: RegisteredClient;

  beforeAll(async () => {
    redis = await RedisServer.start();
    relay = await RedisRelay.start(redis);
    stack = await Stack.start({ extra: { redis: { url: relay.url }, admin: { token: ADMIN_TOKEN } } });
    urls = [stack.publicUrl];
    for (let index = 1; index < INSTANCES; index += 1) urls.push((await stack.startSibling()).url);
    client = await register(stack.publicUrl);
  }, 30_000);
  afterAll(async () => {
    await stack?.close();
    await relay?.close();
    await redis?.stop();
  });

  /** Signs in (the browser always comes back to the public URL) and returns the code. */
  async function freshCode(login = 'alice'): Promise<string> {
    return (await signIn(stack.publicUrl, client, { login })).searchParams.get('code')!;
  }
  async function tokensAt(url: string, login = 'alice') {
    const answer = await redeemCode(url, client, await freshCode(login), { resource: stack.mcpUrl });
    expect(answer.status).toBe(200);
    return answer.body as { access_token: string; refresh_token: string };
  }
  const refreshAt = (url: string, refreshToken: string) =>
    tokenRequest(url, { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: client.client_id });
  const mcpStatusAt = async (url: string, accessToken: string) => (await mcpPost(`${url}/mcp`, accessToken)).status;
  const readyz = async (url: string) => {
    const response = await fetch(`${url}/readyz`);
    return { status: response.status, body: (await response.json()) as { checks: Record<string, string> } };
  };

  it('every instance reports Redis in /readyz', async () => {
    for (const url of urls) expect((await readyz(url)).body.checks['redis']).toBe('ok');
  });

  it('a code redeemed at one instance is refused at the others, and its grant ends everywhere', async () => {
    const code = await freshCode();
    const first = await redeemCode(urls[0]!, client, code, { resource: stack.mcpUrl });
    expect(first.status).toBe(200);
    for (const url of urls.slice(1)) {
      const replay = await redeemCode(url, client, code, { resource: stack.mcpUrl });
      expect(replay.status).toBe(400);
      expect(replay.body.error).toBe('invalid_grant');
    }
    // OAuth 2.1 §4.1.3: the replay revokes what the first redemption obtained, at every instance.
    for (const url of urls) expect(await mcpStatusAt(url, first.body.access_token as string)).toBe(401);
  });

  it('a refresh token reused at another instance after the grace window ends the grant', async () => {
    const tokens = await tokensAt(urls[0]!);
    const rotated = await refreshAt(urls[0]!, tokens.refresh_token);
    expect(rotated.status).toBe(200);
    // The 30 s reuse grace lives in Redis with a real TTL; deleting it stands for the window having passed.
    const admin = new Redis(redis.url);
    const graceKeys = await admin.keys(`${stack.config.redis.keyPrefix}rt-grace:*`);
    if (graceKeys.length > 0) await admin.del(...graceKeys);
    await admin.quit();

    const reuse = await refreshAt(urls[1]!, tokens.refresh_token);
    expect(reuse.status).toBe(400);
    expect(reuse.body.error).toBe('invalid_grant');
    // The honest client's newer tokens die too, wherever it presents them.
    expect((await refreshAt(urls[2]!, rotated.body.refresh_token as string)).body.error).toBe('invalid_grant');
    for (const url of urls) expect(await mcpStatusAt(url, rotated.body.access_token as string)).toBe(401);
  });

  it('a revocation at one instance is honoured at the others', async () => {
    const tokens = await tokensAt(urls[1]!);
    for (const url of urls) expect(await mcpStatusAt(url, tokens.access_token)).toBe(200);
    const revoked = await fetch(`${urls[0]}/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: tokens.refresh_token, client_id: client.client_id }).toString(),
    });
    expect(revoked.status).toBe(200);
    for (const url of urls) expect(await mcpStatusAt(url, tokens.access_token)).toBe(401);
    expect((await refreshAt(urls[2]!, tokens.refresh_token)).body.error).toBe('invalid_grant');
  });

  it('the admin API at one instance ends a user’s tokens at all of them, and no one else’s', async () => {
    const carol = await tokensAt(urls[0]!, 'carol');
    const dave = await tokensAt(urls[1]!, 'dave');
    const answer = await fetch(`${urls[2]}/admin/revoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'carol' }),
    });
    expect(answer.status).toBe(200);
    for (const url of urls) {
      expect(await mcpStatusAt(url, carol.access_token)).toBe(401);
      expect(await mcpStatusAt(url, dave.access_token)).toBe(200);
    }
    expect((await refreshAt(urls[1]!, carol.refresh_token)).body.error).toBe('invalid_grant');
  });

  it('`mcp-capsule revoke --user` writes the not-before time every instance reads', async () => {
    const erin = await tokensAt(urls[2]!, 'erin');
    expect(await mcpStatusAt(urls[0]!, erin.access_token)).toBe(200);
    const run = await runCli(['revoke', '--user', 'erin'], {
      CAPSULE_KEYS: TEST_KEY_A,
      CAPSULE_PUBLIC_URL: stack.publicUrl,
      CAPSULE_UPSTREAM_ISSUER: stack.idp.issuer,
      CAPSULE_UPSTREAM_CLIENT_ID: 'proxy',
      CAPSULE_UPSTREAM_CLIENT_SECRET: 'proxy-upstream-secret',
      CAPSULE_MCP_URL: stack.demo.url,
      CAPSULE_REDIS_URL: redis.url,
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ revoked: 'user', not_before: expect.any(Number) });
    for (const url of urls) expect(await mcpStatusAt(url, erin.access_token)).toBe(401);
  });

  it('a Redis that hangs costs one command timeout, then requests stop waiting for it until it answers again', async () => {
    const tokens = await tokensAt(urls[0]!, 'grace');
    const degradedBefore = stack.logs.lines.filter((line) => line.includes('shared replay set unreachable')).length;
    const beforeFreeze = relay.commands.length;
    relay.freeze();
    try {
      // The first request waits out the 1 s command timeout and is then served from the local copy.
      expect(await mcpStatusAt(urls[0]!, tokens.access_token)).toBe(200);
      const asked = relay.commands.length;
      expect(relay.commands.slice(beforeFreeze, asked).filter((command) => command !== 'PING')).not.toEqual([]);
      for (let index = 0; index < 5; index += 1) expect(await mcpStatusAt(urls[0]!, tokens.access_token)).toBe(200);
      // The next five asked Redis nothing (the probe's pings aside), so none of them waited for it.
      expect(relay.commands.slice(asked).filter((command) => command !== 'PING')).toEqual([]);
      expect(stack.logs.lines.filter((line) => line.includes('shared replay set unreachable')).length).toBe(degradedBefore + 1);
    } finally {
      relay.thaw();
    }
    await eventually(async () => (await readyz(urls[0]!)).body.checks['redis'] === 'ok');
  }, 30_000);

  it('keeps serving when Redis dies, reports it, and goes back to the shared set when Redis returns', async () => {
    await redis.stop();
    // Logins and MCP calls go on; replay detection falls back to each instance's own copy.
    const code = await freshCode('frank');
    const tokens = await redeemCode(urls[0]!, client, code, { resource: stack.mcpUrl });
    expect(tokens.status).toBe(200);
    for (const url of urls) expect(await mcpStatusAt(url, tokens.body.access_token as string)).toBe(200);
    // The instance that saw the code still refuses it, and revokes its grant, in its own copy.
    expect((await redeemCode(urls[0]!, client, code, { resource: stack.mcpUrl })).body.error).toBe('invalid_grant');
    expect(await mcpStatusAt(urls[0]!, tokens.body.access_token as string)).toBe(401);

    for (const url of urls) {
      const ready = await readyz(url);
      expect(ready.status).toBe(200);
      expect(ready.body.checks['redis']).toBe('degraded');
    }
    const metrics = await (await fetch(`${urls[0]}/metrics`)).text();
    expect(metrics).toMatch(/^mcp_capsule_replay_store_degraded 1$/m);
    const warnings = () => stack.logs.lines.filter((line) => line.includes('shared replay set unreachable'));
    // Logged once per instance (one more for the instance of the hang test), however many requests ran meanwhile.
    expect(warnings().length).toBe(INSTANCES + 1);

    await redis.resume();
    await eventually(async () => (await readyz(urls[1]!)).body.checks['redis'] === 'ok');
    const recoveries = () => stack.logs.lines.filter((line) => line.includes('shared replay set reachable again')).length;
    await eventually(() => recoveries() >= INSTANCES + 1);
    expect(recoveries()).toBe(INSTANCES + 1);
    // What was written while Redis was away reached it on recovery: the used code and the revoked grant hold everywhere now.
    const replay = await redeemCode(urls[2]!, client, code, { resource: stack.mcpUrl });
    expect(replay.body.error).toBe('invalid_grant');
    for (const url of urls) expect(await mcpStatusAt(url, tokens.body.access_token as string)).toBe(401);
    expect(warnings().length).toBe(INSTANCES + 1);
    // And new work is shared again.
    const fresh = await freshCode('frank');
    expect((await redeemCode(urls[1]!, client, fresh, { resource: stack.mcpUrl })).status).toBe(200);
    expect((await redeemCode(urls[0]!, client, fresh, { resource: stack.mcpUrl })).body.error).toBe('invalid_grant');
  }, 40_000);
});

function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const killer = setTimeout(() => child.kill('SIGKILL'), 25_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr });
    });
  });
}
