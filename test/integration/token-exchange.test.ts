import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codecFor, TEST_KEY_A } from '../support/deps.js';
import { bearerSeenByServer, connectWithOAuth, TestOAuthProvider, textOf } from '../support/mcp-client.js';
import { Browser, driveLogin } from '../support/browser.js';
import { accessTokenFor, authorizeUrl, mcpPost, register, type RegisteredClient } from '../support/oauth-flow.js';
import { Stack } from '../support/stack.js';
import { TOKEN_EXCHANGE, TokenExchangeGrant } from '../support/token-exchange-grant.js';

/**
 * token-exchange end to end: the MCP SDK client signs in through the proxy, whose upstream is a real
 * oidc-provider with an RFC 8693 grant; each proxied request carries a token the provider exchanged
 * for the user's upstream token, cached per user until shortly before it expires.
 */

const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const ID_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:id_token';

/** A downstream that answers 401 to the tokens it is told to refuse, recording every Authorization header. */
async function strictDownstream() {
  const seen: string[] = [];
  const refused = new Set<string>();
  const state = { refuseAll: false };
  const server: Server = createServer((req, res) => {
    const authorization = req.headers.authorization ?? '';
    seen.push(authorization);
    req.resume();
    req.on('end', () => {
      if (state.refuseAll || refused.has(authorization)) return void res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"jsonrpc":"2.0","id":1,"result":{}}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`, seen, refused, state, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

function cacheLookups(metrics: string): { hits: number; misses: number } {
  const value = (result: string) => Number(new RegExp(`mcp_capsule_cache_lookups_total\\{cache="exchanged_token",result="${result}"\\} (\\d+)`).exec(metrics)?.[1] ?? 0);
  return { hits: value('hit'), misses: value('miss') };
}

describe('token-exchange against oidc-provider', () => {
  const grant = new TokenExchangeGrant();
  let strict: Awaited<ReturnType<typeof strictDownstream>>;
  let stack: Stack;
  let client: RegisteredClient;

  beforeAll(async () => {
    strict = await strictDownstream();
    stack = await Stack.start({
      proxyGrantTypes: [TOKEN_EXCHANGE],
      extendIdp: grant.install,
      routesFromDemo: (demoUrl) => [
        { path: '/mcp', url: demoUrl, auth: 'token-exchange', audience: 'demo-mcp', scopes: 'tools:call tools:list', timeout: 2 },
        { path: '/strict', url: strict.url, auth: 'token-exchange', audience: 'strict-mcp', timeout: 2 },
      ],
    });
    client = await register(stack.publicUrl);
  });
  afterAll(async () => {
    await stack?.close();
    await strict?.close();
  });

  it('the SDK client calls a tool, and the MCP server receives the token the provider exchanged, for its audience, not the upstream token', async () => {
    const before = grant.seen.length;
    const exchanged = await bearerSeenByServer(stack.mcpUrl, 'alice');
    expect(exchanged).toBeDefined();

    const [exchange, ...more] = grant.seen.slice(before);
    expect(more).toEqual([]);
    expect(exchange).toMatchObject({
      clientId: 'proxy',
      issued: exchanged,
      accountId: 'alice',
      params: { subject_token_type: ACCESS_TOKEN_TYPE, requested_token_type: ACCESS_TOKEN_TYPE, audience: 'demo-mcp', scope: 'tools:call tools:list' },
    });
    // At the provider: the token the MCP server got is alice's, for the requested audience; the subject was her own upstream token.
    expect(await grant.introspect(exchanged!)).toMatchObject({ accountId: 'alice', aud: 'demo-mcp', gty: 'token_exchange' });
    const subject = exchange!.params['subject_token']!;
    expect(await grant.introspect(subject)).toMatchObject({ accountId: 'alice', aud: undefined });
    expect(subject).not.toBe(exchanged);
    expect(stack.demo.requests.map((request) => request.headers['authorization'])).not.toContain(`Bearer ${subject}`);
  });

  it("the consent page tells the user the MCP server gets a token for their account, not the proxy's own credential", async () => {
    const pages: string[] = [];
    await driveLogin(new Browser(), await authorizeUrl(stack.publicUrl, client), {
      login: 'alice',
      stopAt: (url) => url.href.startsWith(client.redirect_uris[0]!),
      onConsentPage: (html) => {
        pages.push(html);
        return undefined;
      },
    });
    expect(pages).toHaveLength(1);
    expect(pages[0]).toContain('receives an access token for your account that');
    expect(pages[0]).not.toContain('receives nothing of yours');
  });

  it('exchanges once per sign-in: later requests reuse it, concurrent first requests share one exchange, another user gets their own', async () => {
    const alice = await accessTokenFor(stack.publicUrl, client, { login: 'alice' });
    let before = grant.seen.length;
    await Promise.all(Array.from({ length: 20 }, () => mcpPost(stack.mcpUrl, alice).then((response) => expect(response.status).toBe(200))));
    expect(grant.seen.length - before).toBe(1);
    for (let i = 0; i < 10; i++) expect((await mcpPost(stack.mcpUrl, alice)).status).toBe(200);
    expect(grant.seen.length - before).toBe(1);

    before = grant.seen.length;
    const bob = await accessTokenFor(stack.publicUrl, client, { login: 'bob' });
    expect((await mcpPost(stack.mcpUrl, bob)).status).toBe(200);
    expect((await mcpPost(stack.mcpUrl, bob)).status).toBe(200);
    expect(grant.seen.slice(before).map((exchange) => exchange.accountId)).toEqual(['bob']);
  });

  it('a refused exchange sends the client to sign in again, and is not cached: the next request asks again', async () => {
    const token = await accessTokenFor(stack.publicUrl, client, { login: 'carol' });
    const before = grant.seen.length;
    grant.refuseNext = 1;
    const refused = await mcpPost(stack.mcpUrl, token);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toContain('error="invalid_token"');
    expect(refused.headers.get('www-authenticate')).toContain(`resource_metadata="${stack.publicUrl}/.well-known/oauth-protected-resource/mcp"`);
    expect(await refused.json()).toMatchObject({ error: 'invalid_token' });

    expect((await mcpPost(stack.mcpUrl, token)).status).toBe(200);
    expect(grant.seen.slice(before).map((exchange) => exchange.refused ?? 'issued')).toEqual(['invalid_grant', 'issued']);
  });

  it('a downstream 401 drops the exchanged token and retries once with a new one', async () => {
    const token = await accessTokenFor(stack.publicUrl, client, { login: 'dave', route: '/strict' });
    const strictUrl = `${stack.publicUrl}/strict`;
    expect((await mcpPost(strictUrl, token)).status).toBe(200);
    const first = strict.seen.at(-1)!;
    const exchangesBefore = grant.issued.length;

    strict.refused.add(first);
    const seenBefore = strict.seen.length;
    expect((await mcpPost(strictUrl, token)).status).toBe(200);
    const [refusedOne, renewed, ...rest] = strict.seen.slice(seenBefore);
    expect(refusedOne).toBe(first);
    expect(renewed).toMatch(/^Bearer /);
    expect(renewed).not.toBe(first);
    expect(rest).toEqual([]);
    expect(grant.issued.length - exchangesBefore).toBe(1);
    expect(await grant.introspect(renewed!.slice('Bearer '.length))).toMatchObject({ accountId: 'dave', aud: 'strict-mcp' });

    // A downstream that refuses every token gets one retry, then the client the proxy's own challenge.
    strict.state.refuseAll = true;
    const countBefore = strict.seen.length;
    const refused = await mcpPost(strictUrl, token);
    expect(strict.seen.length - countBefore).toBe(2);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toContain(`resource_metadata="${stack.publicUrl}/.well-known/oauth-protected-resource/strict"`);
    strict.state.refuseAll = false;
  });

  it('hit ratio over a realistic run: 5 users, 20 tool calls each, one exchange per user', async () => {
    const USERS = 5;
    const CALLS = 20;
    const metricsBefore = cacheLookups(await (await fetch(`${stack.publicUrl}/metrics`)).text());
    const exchangesBefore = grant.seen.length;
    for (let user = 0; user < USERS; user++) {
      const provider = new TestOAuthProvider({ login: `user${user}` });
      const { client: mcp } = await connectWithOAuth(stack.mcpUrl, provider);
      for (let call = 0; call < CALLS; call++) expect(textOf(await mcp.callTool({ name: 'echo', arguments: { text: `call ${call}` } }))).toBe(`call ${call}`);
      await mcp.close();
    }
    const after = cacheLookups(await (await fetch(`${stack.publicUrl}/metrics`)).text());
    const hits = after.hits - metricsBefore.hits;
    const misses = after.misses - metricsBefore.misses;
    expect(grant.seen.length - exchangesBefore).toBe(USERS);
    expect(misses).toBeGreaterThanOrEqual(USERS);
    const ratio = hits / (hits + misses);
    console.info(`exchanged-token cache over ${USERS} users x ${CALLS} tool calls: ${hits} hits, ${misses} misses, hit ratio ${ratio.toFixed(3)}; ${USERS} exchanges at the provider for ${hits + misses} proxied requests`);
    expect(hits).toBeGreaterThan(misses);
  });
});

describe('token-exchange of the ID token', () => {
  const grant = new TokenExchangeGrant();
  let withIdToken: Stack;
  let withAccessToken: Stack;

  beforeAll(async () => {
    const start = (subjectToken: 'id_token' | 'access_token', idpGrant: TokenExchangeGrant) =>
      Stack.start({
        proxyGrantTypes: [TOKEN_EXCHANGE],
        extendIdp: idpGrant.install,
        routesFromDemo: (demoUrl) => [{ path: '/mcp', url: demoUrl, auth: 'token-exchange', audience: 'demo-mcp', subjectToken, timeout: 2 }],
      });
    withIdToken = await start('id_token', grant);
    withAccessToken = await start('access_token', new TokenExchangeGrant());
  });
  afterAll(async () => {
    await withIdToken?.close();
    await withAccessToken?.close();
  });

  it('sends the upstream ID token as the subject, typed as one, and the provider issues the user a token for the audience', async () => {
    const before = grant.seen.length;
    const exchanged = await bearerSeenByServer(withIdToken.mcpUrl, 'erin');
    const [exchange] = grant.seen.slice(before);
    expect(exchange?.params['subject_token_type']).toBe(ID_TOKEN_TYPE);
    const idClaims = JSON.parse(Buffer.from(exchange!.params['subject_token']!.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    expect(idClaims).toMatchObject({ sub: 'erin', aud: 'proxy' });
    expect(exchanged).toBe(exchange!.issued);
    expect(await grant.introspect(exchange!.issued!)).toMatchObject({ accountId: 'erin', aud: 'demo-mcp' });
  });

  it('carries the ID token in access tokens only where a route exchanges it', async () => {
    const { codec } = await codecFor([TEST_KEY_A]);
    const sizes: Record<string, number> = {};
    for (const [name, stack] of [['with', withIdToken], ['without', withAccessToken]] as const) {
      const token = await accessTokenFor(stack.publicUrl, await register(stack.publicUrl), { login: 'frank' });
      const payload = await codec.open('access', token);
      expect(payload.upstream?.id_token !== undefined).toBe(name === 'with');
      sizes[name] = token.length;
    }
    console.info(`access token (capsule) size: ${sizes['without']} bytes without the upstream ID token, ${sizes['with']} bytes with it`);
    expect(sizes['with']).toBeGreaterThan(sizes['without']!);
  });
});
