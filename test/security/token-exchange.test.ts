import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearerSeenByServer } from '../support/mcp-client.js';
import { accessTokenFor, mcpPost, register, type RegisteredClient } from '../support/oauth-flow.js';
import { Stack } from '../support/stack.js';
import { TOKEN_EXCHANGE, TokenExchangeGrant } from '../support/token-exchange-grant.js';

/**
 * The token-exchange mode from the attacker's side, against the real stack (oidc-provider with an
 * RFC 8693 grant upstream, the SDK demo server downstream): the per-user cache of exchanged tokens,
 * where users' subject tokens may travel, and what reaches the log. Each attack has a control.
 */

const UPSTREAM_SECRET = 'proxy-upstream-secret';

interface Received {
  readonly authorization: string | undefined;
  readonly body: URLSearchParams;
}

/** A loopback token endpoint played by `answer`, recording every request it receives. */
async function tokenEndpoint(answer: (request: Received, res: ServerResponse) => void | Promise<void>) {
  const received: Received[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => {
      const request = { authorization: req.headers.authorization, body: new URLSearchParams(text) };
      received.push(request);
      void Promise.resolve(answer(request, res)).catch(() => res.writeHead(500).end());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

describe('token-exchange attacked', () => {
  const grant = new TokenExchangeGrant();
  const idpToken = { url: '' };
  let attacker: Awaited<ReturnType<typeof tokenEndpoint>>;
  let redirector: Awaited<ReturnType<typeof tokenEndpoint>>;
  let relay: Awaited<ReturnType<typeof tokenEndpoint>>;
  let echoing: Awaited<ReturnType<typeof tokenEndpoint>>;
  let stack: Stack;
  let client: RegisteredClient;

  beforeAll(async () => {
    attacker = await tokenEndpoint((_request, res) => json(res, 200, { access_token: 'attacker-minted-token', token_type: 'Bearer', expires_in: 3600 }));
    redirector = await tokenEndpoint((_request, res) => void res.writeHead(307, { location: attacker.url }).end());
    // The configured token URL of one route: it passes requests on to the provider, as a gateway in front of one would.
    relay = await tokenEndpoint(async (request, res) => {
      const answer = await fetch(idpToken.url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...(request.authorization ? { authorization: request.authorization } : {}) },
        body: request.body,
      });
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(await answer.text());
    });
    // A provider that quotes everything it was sent in its refusal.
    echoing = await tokenEndpoint((request, res) =>
      json(res, 400, { error: 'invalid_grant', error_description: `refused ${request.body.get('subject_token')} from ${request.authorization}` }),
    );
    stack = await Stack.start({
      proxyGrantTypes: [TOKEN_EXCHANGE],
      extendIdp: grant.install,
      routesFromDemo: (demoUrl) => [
        { path: '/mcp', url: demoUrl, auth: 'token-exchange', audience: 'demo-mcp', timeout: 2 },
        { path: '/relayed', url: demoUrl, auth: 'token-exchange', audience: 'relayed-mcp', tokenUrl: relay.url, timeout: 2 },
        { path: '/redirected', url: demoUrl, auth: 'token-exchange', audience: 'demo-mcp', tokenUrl: redirector.url, timeout: 2 },
        { path: '/echoing', url: demoUrl, auth: 'token-exchange', audience: 'demo-mcp', tokenUrl: echoing.url, timeout: 2 },
      ],
    });
    idpToken.url = `${stack.idp.issuer}/token`;
    client = await register(stack.publicUrl);
  });
  afterAll(async () => {
    await stack?.close();
    await Promise.all([attacker, redirector, relay, echoing].map((server) => server?.close()));
  });

  it("another user never gets a user's cached exchanged token: each gets one the provider issued to them", async () => {
    const alice = await bearerSeenByServer(stack.mcpUrl, 'alice');
    const exchangesBefore = grant.issued.length;
    // bob comes second, with alice's exchanged token in the cache: he gets his own, exchanged for him.
    const bob = await bearerSeenByServer(stack.mcpUrl, 'bob');
    expect(alice).toBeDefined();
    expect(bob).not.toBe(alice);
    expect(grant.issued.length - exchangesBefore).toBe(1);
    expect(await grant.introspect(alice!)).toMatchObject({ accountId: 'alice', aud: 'demo-mcp' });
    expect(await grant.introspect(bob!)).toMatchObject({ accountId: 'bob', aud: 'demo-mcp' });

    // Even with one client registration and a warm cache, mallory's requests carry only mallory's token.
    const aliceToken = await accessTokenFor(stack.publicUrl, client, { login: 'alice' });
    const malloryToken = await accessTokenFor(stack.publicUrl, client, { login: 'mallory' });
    expect((await mcpPost(stack.mcpUrl, aliceToken)).status).toBe(200);
    const aliceExchanged = stack.demo.requests.at(-1)!.headers['authorization'];
    expect((await mcpPost(stack.mcpUrl, malloryToken)).status).toBe(200);
    const malloryExchanged = stack.demo.requests.at(-1)!.headers['authorization'];
    expect(malloryExchanged).not.toBe(aliceExchanged);
    expect(await grant.introspect(malloryExchanged!.slice('Bearer '.length))).toMatchObject({ accountId: 'mallory' });
    // Control: alice again gets her own cached token.
    const before = grant.seen.length;
    expect((await mcpPost(stack.mcpUrl, aliceToken)).status).toBe(200);
    expect(stack.demo.requests.at(-1)!.headers['authorization']).toBe(aliceExchanged);
    expect(grant.seen.length).toBe(before);
  });

  it('a subject token goes only to the route’s token URL: the discovered one, the configured one, never where a token endpoint redirects', async () => {
    // Discovered: the provider's own endpoint receives the exchange, the configured relay of another route nothing.
    const token = await accessTokenFor(stack.publicUrl, client, { login: 'grace' });
    const seenBefore = grant.seen.length;
    expect((await mcpPost(stack.mcpUrl, token)).status).toBe(200);
    const subject = grant.seen.slice(seenBefore)[0]?.params['subject_token'];
    expect(subject).toBeDefined();
    expect(relay.received).toHaveLength(0);

    // Configured: the route's own token URL receives it (control: the exchange works through it).
    const relayedToken = await accessTokenFor(stack.publicUrl, client, { login: 'grace', route: '/relayed' });
    expect((await mcpPost(`${stack.publicUrl}/relayed`, relayedToken)).status).toBe(200);
    expect(relay.received).toHaveLength(1);
    expect(await grant.introspect(relay.received[0]!.body.get('subject_token')!)).toMatchObject({ accountId: 'grace' });

    // A token endpoint that redirects elsewhere: the redirect is not followed; the client is told to retry later.
    const redirectedToken = await accessTokenFor(stack.publicUrl, client, { login: 'grace', route: '/redirected' });
    const redirected = await mcpPost(`${stack.publicUrl}/redirected`, redirectedToken);
    expect(redirected.status).toBe(503);
    expect(await redirected.json()).toEqual({ error: 'temporarily_unavailable', error_description: 'The credential for the MCP server could not be obtained.' });
    expect(redirector.received).toHaveLength(1);
    expect(attacker.received).toHaveLength(0);
    expect(stack.demo.requests.map((request) => request.headers['authorization'])).not.toContain('Bearer attacker-minted-token');
  });

  it('no subject token, exchanged token or client secret reaches the log, even when the provider quotes them', async () => {
    const working = await accessTokenFor(stack.publicUrl, client, { login: 'heidi' });
    expect((await mcpPost(stack.mcpUrl, working)).status).toBe(200);
    const token = await accessTokenFor(stack.publicUrl, client, { login: 'heidi', route: '/echoing' });
    const refused = await mcpPost(`${stack.publicUrl}/echoing`, token);
    expect(refused.status).toBe(401);
    const body = await refused.text();
    const quoted = echoing.received.at(-1)!;
    const subject = quoted.body.get('subject_token')!;
    expect(body).not.toContain(subject);

    const log = stack.logs.lines.join('\n');
    // Control: the refusal was logged, with the provider's error code.
    expect(stack.logs.lines.some((line) => line.includes('exchanged token request failed') && line.includes('invalid_grant'))).toBe(true);
    const secrets = [
      subject,
      quoted.authorization!,
      quoted.authorization!.replace(/^Basic /, ''),
      UPSTREAM_SECRET,
      ...grant.seen.map((exchange) => exchange.params['subject_token']!),
      ...grant.issued.map((exchange) => exchange.issued!),
      ...relay.received.map((request) => request.body.get('subject_token')!),
    ];
    expect(new Set(secrets).size).toBeGreaterThanOrEqual(6);
    for (const secret of secrets) expect(log).not.toContain(secret);
  });
});
