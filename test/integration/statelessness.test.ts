import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_KEY_A, TEST_KEY_B } from '../support/deps.js';
import { mcpPost, redeemCode, register, signIn, tokenRequest } from '../support/oauth-flow.js';
import { Stack } from '../support/stack.js';

/**
 * No database: any instance holding the keys serves any capsule. Instances
 * share nothing else here; each has its own in-memory replay set.
 */
describe('stateless instances', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await Stack.start({ keys: TEST_KEY_A });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('accepts at a second instance a code and a token minted by the first', async () => {
    const sibling = await stack.startSibling();
    const client = await register(stack.publicUrl);
    const callback = await signIn(stack.publicUrl, client);
    // The code, issued by the first instance, is redeemed at the second. The resource
    // names the public URL both instances serve.
    const redeemed = await redeemCode(sibling.url, client, callback.searchParams.get('code')!, {
      resource: stack.mcpUrl,
    });
    expect(redeemed.status).toBe(200);
    const token = redeemed.body.access_token as string;
    expect((await mcpPost(`${sibling.url}/mcp`, token)).status).toBe(200);
    expect((await mcpPost(stack.mcpUrl, token)).status).toBe(200);
    const refreshed = await tokenRequest(sibling.url, {
      grant_type: 'refresh_token',
      refresh_token: redeemed.body.refresh_token as string,
      client_id: client.client_id,
    });
    expect(refreshed.status).toBe(200);
  });

  it('keeps registrations and tokens valid across a restart, and through a key rotation', async () => {
    const client = await register(stack.publicUrl);
    const callback = await signIn(stack.publicUrl, client);
    const tokens = (await redeemCode(stack.publicUrl, client, callback.searchParams.get('code')!)).body;

    const restarted = await stack.startSibling({ keys: TEST_KEY_A });
    expect((await mcpPost(`${restarted.url}/mcp`, tokens.access_token as string)).status).toBe(200);
    await restarted.proxy.close(100);

    // Rotation: the new key seals, the old one still opens.
    const rotated = await stack.startSibling({ keys: `${TEST_KEY_B},${TEST_KEY_A}` });
    expect((await mcpPost(`${rotated.url}/mcp`, tokens.access_token as string)).status).toBe(200);
    const refreshed = await tokenRequest(rotated.url, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token as string,
      client_id: client.client_id,
    });
    expect(refreshed.status).toBe(200);
    const rotatedToken = refreshed.body.access_token as string;
    expect(JSON.parse(Buffer.from(rotatedToken.split('.')[0]!, 'base64url').toString()).kid).not.toBe(
      JSON.parse(Buffer.from((tokens.access_token as string).split('.')[0]!, 'base64url').toString()).kid,
    );

    // Dropping the old key ends what it sealed, and only that.
    const dropped = await stack.startSibling({ keys: TEST_KEY_B });
    expect((await mcpPost(`${dropped.url}/mcp`, tokens.access_token as string)).status).toBe(401);
    expect((await mcpPost(`${dropped.url}/mcp`, rotatedToken)).status).toBe(200);
    const stale = await tokenRequest(dropped.url, {
      grant_type: 'refresh_token',
      refresh_token: refreshed.body.refresh_token as string,
      client_id: client.client_id,
    });
    // The client_id itself was sealed with the dropped key: the client must register again.
    expect(stale.status).toBe(401);
    expect(stale.body.error).toBe('invalid_client');
  });
});
