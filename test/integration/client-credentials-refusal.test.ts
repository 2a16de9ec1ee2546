import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mcpPost, redeemCode, register, signIn } from '../support/oauth-flow.js';
import { Stack } from '../support/stack.js';

/** A downstream that stops accepting the cached client-credentials token makes the proxy fetch a new one, once. */
describe('client-credentials token refused by the downstream', () => {
  let downstream: Server;
  let stack: Stack;
  const rejected = new Set<string>();
  let rejectAll = false;
  const seen: string[] = [];

  beforeAll(async () => {
    downstream = createServer((req, res) => {
      const authorization = req.headers.authorization ?? '';
      seen.push(authorization);
      req.resume();
      req.on('end', () => {
        if (rejectAll || rejected.has(authorization)) return void res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"jsonrpc":"2.0","id":1,"result":{}}');
      });
    });
    await new Promise<void>((resolve) => downstream.listen(0, '127.0.0.1', resolve));
    stack = await Stack.start({
      idpClients: [{ client_id: 'cc', client_secret: 'cc-secret-0123456789', redirect_uris: [], grant_types: ['client_credentials'] }],
      routesFromDemo: () => [
        {
          path: '/mcp',
          url: `http://127.0.0.1:${(downstream.address() as AddressInfo).port}/mcp`,
          auth: 'client-credentials',
          tokenUrl: 'IDP/token',
          clientId: 'cc',
          clientSecret: 'cc-secret-0123456789',
        },
      ],
    });
  });
  afterAll(async () => {
    await stack?.close();
    await new Promise<void>((resolve) => downstream?.close(() => resolve()));
  });

  it('refetches the token and repeats the request once, with the same body', async () => {
    const client = await register(stack.publicUrl);
    const callback = await signIn(stack.publicUrl, client);
    const token = (await redeemCode(stack.publicUrl, client, callback.searchParams.get('code')!)).body.access_token as string;

    expect((await mcpPost(stack.mcpUrl, token)).status).toBe(200);
    const first = seen.at(-1)!;
    rejected.add(first);
    const before = seen.length;
    const retried = await mcpPost(stack.mcpUrl, token);
    expect(retried.status).toBe(200);
    expect(seen.slice(before)).toEqual([first, expect.not.stringMatching(first)]);
    const renewed = seen.at(-1)!;
    expect(renewed).toMatch(/^Bearer /);

    // A downstream that refuses every token gets one retry, then its 401 goes back as the proxy's own challenge.
    rejectAll = true;
    const countBefore = seen.length;
    const refused = await mcpPost(stack.mcpUrl, token);
    expect(seen.length - countBefore).toBe(2);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toContain(`resource_metadata="${stack.publicUrl}/.well-known/oauth-protected-resource/mcp"`);
  });
});
