import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessTokenFor, initializeRequest, mcpPost, register, type RegisteredClient } from '../support/oauth-flow.js';
import { codecFor, inProcessApp, TEST_KEY_A, TEST_KEY_B } from '../support/deps.js';
import { Stack } from '../support/stack.js';

/**
 * MCP session hijacking, played from the attacker's side against the real stack (the SDK demo
 * server downstream issues the session ids): a session id is no credential, and one that is not
 * the caller's own is answered as an unknown session, before anything reaches the downstream.
 */
const CALL_ECHO = { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { text: 'mine' } } };
const PAT_ALICE = 'pat-of-alice-0123456789';
const PAT_BOB = 'pat-of-bob-9876543210';

describe('security: MCP session ids are bound to their user, client and route', () => {
  let stack: Stack;
  let base: string;
  let clientA: RegisteredClient;
  let clientB: RegisteredClient;

  beforeAll(async () => {
    stack = await Stack.start({
      routesFromDemo: (demoUrl) => [
        { path: '/mcp', url: demoUrl, auth: 'upstream-token', timeout: 2 },
        { path: '/other', url: demoUrl, auth: 'upstream-token', timeout: 2 },
        { path: '/pat', url: demoUrl, auth: 'pat', timeout: 2 },
      ],
    });
    base = stack.publicUrl;
    [clientA, clientB] = await Promise.all([register(base), register(base)]);
  });
  afterAll(async () => {
    await stack?.close();
  });

  /** Starts a session with a raw initialize; returns the id the client was given and the one the downstream issued. */
  async function startSession(path: string, headers: Record<string, string>) {
    const seenBefore = stack.demo.requests.length;
    const response = await mcpPost(`${base}${path}`, undefined, initializeRequest(), headers);
    expect(response.status).toBe(200);
    await response.text();
    const clientId = response.headers.get('mcp-session-id')!;
    expect(clientId).toBeTruthy();
    // The downstream's own id, learnt from what the client's next request carries to it.
    const initialized = await mcpPost(`${base}${path}`, undefined, { jsonrpc: '2.0', method: 'notifications/initialized' }, { ...headers, 'mcp-session-id': clientId });
    expect(initialized.status).toBe(202);
    const arrived = stack.demo.requests.slice(seenBefore).at(-1)!;
    return { clientId, downstreamId: arrived.headers['mcp-session-id']! };
  }

  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  /** A request with someone's session id: it must end at the proxy, as an unknown session, with nothing sent downstream. */
  async function expectUnknownSession(path: string, headers: Record<string, string>, method: 'POST' | 'GET' | 'DELETE' = 'POST') {
    const seenBefore = stack.demo.requests.length;
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
      ...(method === 'POST' ? { body: JSON.stringify(CALL_ECHO) } : {}),
    });
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Session not found' } });
    expect(stack.demo.requests.length).toBe(seenBefore);
  }

  it('another user: alice’s session id with bob’s valid token on the same route is an unknown session, on POST, GET and DELETE', async () => {
    const [alice, bob] = await Promise.all([accessTokenFor(base, clientA, { login: 'alice' }), accessTokenFor(base, clientA, { login: 'bob' })]);
    const session = await startSession('/mcp', bearer(alice));
    for (const method of ['POST', 'GET', 'DELETE'] as const) {
      await expectUnknownSession('/mcp', { ...bearer(bob), 'mcp-session-id': session.clientId }, method);
    }
    // Control: her own session goes on.
    const own = await mcpPost(`${base}/mcp`, alice, CALL_ECHO, { 'mcp-session-id': session.clientId });
    expect(own.status).toBe(200);
    expect(await own.text()).toContain('mine');
  });

  it('another route: alice’s session id on another route, with her token for that route, is an unknown session', async () => {
    const [alice, aliceOther] = await Promise.all([
      accessTokenFor(base, clientA, { login: 'alice' }),
      accessTokenFor(base, clientA, { login: 'alice', route: '/other' }),
    ]);
    const session = await startSession('/mcp', bearer(alice));
    await expectUnknownSession('/other', { ...bearer(aliceOther), 'mcp-session-id': session.clientId });
  });

  it('another client: a session id sealed for client A, used by client B of the same user, is an unknown session', async () => {
    const [viaA, viaB] = await Promise.all([accessTokenFor(base, clientA, { login: 'alice' }), accessTokenFor(base, clientB, { login: 'alice' })]);
    const session = await startSession('/mcp', bearer(viaA));
    await expectUnknownSession('/mcp', { ...bearer(viaB), 'mcp-session-id': session.clientId });
  });

  it('the raw downstream session id (learnt elsewhere), a forged session capsule and another kind of capsule are unknown sessions', async () => {
    const alice = await accessTokenFor(base, clientA, { login: 'alice' });
    const session = await startSession('/mcp', bearer(alice));
    expect(session.downstreamId).toMatch(/^[0-9a-f-]{36}$/);
    await expectUnknownSession('/mcp', { ...bearer(alice), 'mcp-session-id': session.downstreamId });
    // Everything right but the key it is sealed with.
    const { codec: ours } = await codecFor([TEST_KEY_A]);
    const token = await ours.open('access', alice);
    const owner = { sid: session.downstreamId, route: '/mcp', sub: token.identity.sub, cid: token.cid };
    const { codec: foreign } = await codecFor([TEST_KEY_B]);
    await expectUnknownSession('/mcp', { ...bearer(alice), 'mcp-session-id': await foreign.seal('session', owner) });
    await expectUnknownSession('/mcp', { ...bearer(alice), 'mcp-session-id': alice });
    // Control: the same capsule sealed with the proxy's key is the session.
    const genuine = await mcpPost(`${base}/mcp`, alice, CALL_ECHO, { 'mcp-session-id': await ours.seal('session', owner) });
    expect(genuine.status).toBe(200);
  });

  it('another PAT holder: a session started with one personal access token is an unknown session with another', async () => {
    const session = await startSession('/pat', bearer(PAT_ALICE));
    await expectUnknownSession('/pat', { ...bearer(PAT_BOB), 'mcp-session-id': session.clientId });
    const own = await mcpPost(`${base}/pat`, PAT_ALICE, CALL_ECHO, { 'mcp-session-id': session.clientId });
    expect(own.status).toBe(200);
  });

  it('through the fetch forwarder (Bun, Deno): the same sealing, the same refusal, and a session sealed by another instance goes on', async () => {
    const [alice, bob] = await Promise.all([accessTokenFor(base, clientA, { login: 'alice' }), accessTokenFor(base, clientA, { login: 'bob' })]);
    const { app, deps } = await inProcessApp(stack.config);
    const post = (token: string, body: unknown, sessionId?: string) =>
      app.request(`${base}/mcp`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...bearer(token), ...(sessionId ? { 'mcp-session-id': sessionId } : {}) },
        body: JSON.stringify(body),
      });
    try {
      const initialized = await post(alice, initializeRequest());
      expect(initialized.status).toBe(200);
      await initialized.text();
      const sealed = initialized.headers.get('mcp-session-id')!;
      expect(sealed.split('.')).toHaveLength(5);
      const downstreamId = (await deps.capsules.openSession(sealed)).sid;
      expect(stack.demo.requests.some((request) => request.headers['mcp-session-id'] === sealed)).toBe(false);

      const seenBefore = stack.demo.requests.length;
      const stolen = await post(bob, CALL_ECHO, sealed);
      expect(stolen.status).toBe(404);
      expect(await stolen.json()).toMatchObject({ id: null, error: { code: -32001 } });
      expect(stack.demo.requests.length).toBe(seenBefore);

      await post(alice, { jsonrpc: '2.0', method: 'notifications/initialized' }, sealed);
      expect(stack.demo.requests.at(-1)!.headers['mcp-session-id']).toBe(downstreamId);
      // The Node instance opens what this one sealed.
      const elsewhere = await mcpPost(`${base}/mcp`, alice, CALL_ECHO, { 'mcp-session-id': sealed });
      expect(elsewhere.status).toBe(200);
      expect(elsewhere.headers.get('mcp-session-id')).toBe(sealed);
    } finally {
      await deps.close();
    }
  });

  it('the SDK client sees only sealed session ids (initialize, calls, the GET event stream); its session works and DELETE ends it downstream', async () => {
    const alice = await accessTokenFor(base, clientA, { login: 'alice' });
    const seen: Array<{ method: string; sessionId: string | null }> = [];
    let streamOpened!: () => void;
    const getStream = new Promise<void>((resolve) => (streamOpened = resolve));
    const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
      requestInit: { headers: bearer(alice) },
      fetch: async (url, init) => {
        const response = await fetch(url, init);
        const method = init?.method ?? 'GET';
        seen.push({ method, sessionId: response.headers.get('mcp-session-id') });
        if (method === 'GET') streamOpened();
        return response;
      },
    });
    const client = new Client({ name: 'session-binding-test', version: '1.0.0' });
    await client.connect(transport);
    await getStream;
    const result = await client.callTool({ name: 'echo', arguments: { text: 'hello' } });
    expect(JSON.stringify(result)).toContain('hello');

    const downstreamIds = new Set(stack.demo.requests.map((request) => request.headers['mcp-session-id']).filter(Boolean));
    const sealed = transport.sessionId!;
    expect(sealed.split('.')).toHaveLength(5);
    expect(sealed).toMatch(/^[\x21-\x7E]+$/);
    expect(downstreamIds.has(sealed)).toBe(false);
    expect(seen.map((entry) => entry.method)).toEqual(expect.arrayContaining(['POST', 'GET']));
    for (const entry of seen) {
      if (entry.sessionId === null) continue;
      expect(downstreamIds.has(entry.sessionId)).toBe(false);
      expect(entry.sessionId).toBe(sealed);
    }
    expect(seen.find((entry) => entry.method === 'GET')?.sessionId).toBe(sealed);
    // The downstream always received its own id, unchanged.
    const downstreamId = stack.demo.requests.at(-1)!.headers['mcp-session-id']!;
    expect(downstreamId).toMatch(/^[0-9a-f-]{36}$/);

    const seenBefore = stack.demo.requests.length;
    await transport.terminateSession();
    const deleted = stack.demo.requests.slice(seenBefore).find((request) => request.method === 'DELETE');
    expect(deleted?.headers['mcp-session-id']).toBe(downstreamId);
    // Ended downstream: the sealed id is now the downstream's own unknown session.
    const after = await mcpPost(`${base}/mcp`, alice, CALL_ECHO, { 'mcp-session-id': sealed });
    expect(after.status).toBe(404);
    expect(stack.demo.requests.length).toBeGreaterThan(seenBefore + 1);
    await client.close();
  });
});
