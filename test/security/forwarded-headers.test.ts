import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedRequest } from '../../src/dev/demo-mcp-server.js';
import { createApp } from '../../src/http/app.js';
import { FetchForwarder } from '../../src/proxy/fetch-forwarder.js';
import { buildDeps, type BuiltDeps } from '../../src/runtime/deps.js';
import { nodePeerAddress } from '../../src/runtime/node-peer-address.js';
import { initializeRequest, mcpPost, redeemCode, register, signIn, type RegisteredClient } from '../support/oauth-flow.js';
import { Stack } from '../support/stack.js';
import { serveApp } from '../proxy/harness.js';

/**
 * What a client can make the proxy say to the MCP server behind it, played from the attacker's
 * side against the real stack (the SDK demo MCP server downstream records every request it
 * receives). The attacker holds a valid token and tries to speak through headers the downstream
 * trusts because they come from the proxy: underscore spellings of identity headers, TRACE, and
 * forged X-Forwarded-For / X-Real-IP / Forwarded.
 */
const API_KEY = 'downstream-api-key-0123456789';

/** A header name as Rack, Puma, CGI and WSGI servers read it: `_` and `-` are the same. */
const folded = (name: string) => name.toLowerCase().replaceAll('_', '-');

interface RawAnswer {
  status?: number;
  headers?: Record<string, string | string[] | undefined>;
  body?: string;
  error?: string;
}

/** A request with any method (fetch refuses TRACE and CONNECT), on a connection of its own. */
function rawRequest(url: string, method: string, headers: Record<string, string>): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const target = new URL(url);
    const req = httpRequest({ host: target.hostname, port: target.port, path: target.pathname, method, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('connect', (res) => {
      res.socket.destroy();
      resolve({ status: res.statusCode!, headers: res.headers });
    });
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    req.end();
  });
}

describe('security: headers and methods the proxy forwards downstream', () => {
  let stack: Stack;
  let base: string;
  let client: RegisteredClient;
  const tokens = new Map<string, string>();
  let probes = 0;

  beforeAll(async () => {
    stack = await Stack.start({
      routesFromDemo: (demoUrl) => [
        { path: '/mcp', url: demoUrl, auth: 'upstream-token', timeout: 2 },
        { path: '/team', url: demoUrl, auth: 'identity-headers', timeout: 2 },
        { path: '/keyed', url: demoUrl, auth: 'api-key', header: 'X-Api-Key', apiKey: API_KEY, timeout: 2 },
        { path: '/api', url: demoUrl, kind: 'http', auth: 'upstream-token', timeout: 2 },
      ],
    });
    base = stack.publicUrl;
    client = await register(base);
    for (const route of ['/mcp', '/team', '/keyed', '/api']) {
      const resource = `${base}${route}`;
      const callback = await signIn(base, client, { login: 'alice', extra: { resource } });
      const redeemed = await redeemCode(base, client, callback.searchParams.get('code')!, { resource });
      expect(redeemed.status).toBe(200);
      tokens.set(route, redeemed.body.access_token as string);
    }
  });
  afterAll(async () => {
    await stack?.close();
  });

  /** A fresh marker, so the request can be found among those the downstream recorded. */
  const probe = () => `probe-${++probes}`;
  const arrived = (id: string): RecordedRequest | undefined => stack.demo.requests.find((seen) => seen.headers['x-probe'] === id);

  /** Every header the downstream received whose name folds to `name`, with its value. */
  const spellingsOf = (seen: RecordedRequest, name: string) => Object.entries(seen.headers).filter(([header]) => folded(header) === name);

  const IDENTITY_SPOOF = {
    X_Forwarded_User: 'attacker-admin',
    X_Forwarded_Email: 'attacker@corp.test',
    X_Forwarded_Groups: 'attacker-admins',
    X_Forwarded_Access_Token: 'attacker-token',
    X_Forwarded_For: 'attacker-10.6.6.6',
    Proxy_Authorization: 'Basic attacker',
    X_Custom_Thing: 'kept-value',
  };

  it('underscore spellings of identity, forwarding and credential headers never reach the downstream; the proxy\'s own do, and other underscore headers pass', async () => {
    const id = probe();
    const response = await mcpPost(`${base}/team`, tokens.get('/team')!, undefined, { ...IDENTITY_SPOOF, 'x-probe': id });
    expect(response.status).toBe(200);
    const seen = arrived(id)!;
    expect(seen).toBeDefined();
    // Nothing the attacker wrote arrived, under any name.
    expect(Object.values(seen.headers).filter((value) => value.includes('attacker'))).toEqual([]);
    // The proxy's own identity header is the only one that reads as X-Forwarded-User.
    expect(spellingsOf(seen, 'x-forwarded-user')).toEqual([['x-forwarded-user', expect.any(String)]]);
    expect(seen.headers['x-forwarded-user']).not.toBe('');
    expect(spellingsOf(seen, 'x-forwarded-email').every(([name]) => name === 'x-forwarded-email')).toBe(true);
    expect(spellingsOf(seen, 'x-forwarded-groups')).toEqual([]);
    expect(spellingsOf(seen, 'x-forwarded-for')).toEqual([['x-forwarded-for', '127.0.0.1']]);
    expect(spellingsOf(seen, 'proxy-authorization')).toEqual([]);
    // Control: a header of the client's own with an underscore still arrives.
    expect(seen.headers['x_custom_thing']).toBe('kept-value');
  });

  it('an underscore spelling of the route\'s configured credential header never reaches the downstream', async () => {
    const id = probe();
    const response = await mcpPost(`${base}/keyed`, tokens.get('/keyed')!, undefined, { X_Api_Key: 'attacker-key', 'x-probe': id });
    expect(response.status).toBe(200);
    const seen = arrived(id)!;
    expect(spellingsOf(seen, 'x-api-key')).toEqual([['x-api-key', API_KEY]]);
  });

  it('TRACE, TRACK, CONNECT and methods MCP does not use are refused before the downstream, with a valid token', async () => {
    const token = tokens.get('/mcp')!;
    for (const method of ['TRACE', 'PUT', 'PATCH', 'HEAD']) {
      const id = probe();
      const answer = await rawRequest(`${base}/mcp`, method, { authorization: `Bearer ${token}`, 'x-probe': id });
      expect(answer.status, method).toBe(405);
      expect(answer.headers?.['allow'], method).toBe('GET, POST, DELETE, OPTIONS');
      if (method !== 'HEAD') expect(JSON.parse(answer.body!), method).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32000 } });
      expect(arrived(id), method).toBeUndefined();
    }
    // Node's HTTP parser answers these itself (TRACK is no method it knows; CONNECT has no handler): never the downstream.
    for (const method of ['TRACK', 'CONNECT']) {
      const id = probe();
      const answer = await rawRequest(`${base}/mcp`, method, { authorization: `Bearer ${token}`, 'x-probe': id });
      expect(answer.status === undefined || answer.status >= 400, `${method}: ${JSON.stringify(answer)}`).toBe(true);
      expect(arrived(id), method).toBeUndefined();
    }
  });

  it('an http route forwards PUT but answers TRACE with 405, before and without authentication', async () => {
    const token = tokens.get('/api')!;
    const put = probe();
    const forwarded = await rawRequest(`${base}/api`, 'PUT', { authorization: `Bearer ${token}`, 'x-probe': put });
    expect(forwarded.status).not.toBe(405);
    expect(arrived(put)?.method).toBe('PUT');

    for (const headers of [{ authorization: `Bearer ${token}` }, {} as Record<string, string>]) {
      const id = probe();
      const trace = await rawRequest(`${base}/api/anything`, 'TRACE', { ...headers, 'x-probe': id });
      expect(trace.status).toBe(405);
      expect(trace.headers?.['allow']).toBe('GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS');
      expect(JSON.parse(trace.body!)).toMatchObject({ error: 'method_not_allowed' });
      expect(arrived(id)).toBeUndefined();
    }
  });

  it('GET, POST and DELETE still reach an MCP route (control)', async () => {
    const token = tokens.get('/mcp')!;
    const post = probe();
    const initialized = await mcpPost(`${base}/mcp`, token, undefined, { 'x-probe': post });
    expect(initialized.status).toBe(200);
    const session = initialized.headers.get('mcp-session-id')!;
    expect(arrived(post)?.method).toBe('POST');
    // GET opens the session's event stream: its headers are enough, then it is dropped.
    for (const method of ['GET', 'DELETE']) {
      const id = probe();
      const answer = await fetch(`${base}/mcp`, {
        method,
        headers: { authorization: `Bearer ${token}`, accept: 'application/json, text/event-stream', 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18', 'x-probe': id },
      });
      await answer.body?.cancel();
      expect(answer.status, method).not.toBe(405);
      expect(arrived(id)?.method, method).toBe(method);
    }
  });

  it('with no trusted proxy in front, a forged X-Forwarded-For, X-Real-IP and Forwarded are replaced by the real peer', async () => {
    const id = probe();
    const response = await mcpPost(`${base}/mcp`, tokens.get('/mcp')!, undefined, {
      'X-Forwarded-For': '10.6.6.6',
      'X-Real-IP': '10.6.6.7',
      Forwarded: 'for=10.6.6.8;proto=https;host=evil.example',
      'X-Forwarded-Proto': 'https',
      'X-Forwarded-Host': 'evil.example',
      'x-probe': id,
    });
    expect(response.status).toBe(200);
    const seen = arrived(id)!;
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen.headers['x-real-ip']).toBeUndefined();
    expect(seen.headers['forwarded']).toBeUndefined();
    // The proxy's public origin, whatever the client claimed.
    expect(seen.headers['x-forwarded-proto']).toBe('http');
    expect(seen.headers['x-forwarded-host']).toBe(new URL(base).host);
  });

  it('behind one trusted proxy, only the entry it appended is kept, followed by the peer', async () => {
    const sibling = await stack.startSibling({ settings: { trustProxyHops: 1 } });
    const id = probe();
    const response = await mcpPost(`${sibling.url}/mcp`, tokens.get('/mcp')!, undefined, {
      'X-Forwarded-For': '1.1.1.1, 2.2.2.2',
      'X-Real-IP': '1.1.1.1',
      'x-probe': id,
    });
    expect(response.status).toBe(200);
    const seen = arrived(id)!;
    expect(seen.headers['x-forwarded-for']).toBe('2.2.2.2, 127.0.0.1');
    expect(seen.headers['x-real-ip']).toBeUndefined();
  });

  describe('through the fetch forwarder (Bun, Deno)', () => {
    let deps: BuiltDeps;
    let served: { origin: string; close(): Promise<void> };
    let app: ReturnType<typeof createApp>;

    beforeAll(async () => {
      const { logger } = stack.logs;
      deps = await buildDeps(stack.config, {
        logger,
        audit: stack.logs.audit,
        createForwarder: (headersTimeoutMs) => new FetchForwarder({ headersTimeoutMs, logger }),
        peerAddress: nodePeerAddress,
      });
      app = createApp(deps);
      served = await serveApp(app);
    });
    afterAll(async () => {
      await served?.close();
      await deps?.close();
    });

    const spoofed = (id: string) => ({ ...IDENTITY_SPOOF, 'X-Forwarded-For': '10.6.6.6', 'X-Real-IP': '10.6.6.7', Forwarded: 'for=10.6.6.8', 'x-probe': id });

    it('applies the same rules to Node\'s raw headers', async () => {
      const id = probe();
      // The token names the public URL as its audience; this server is another port of the same configuration.
      const response = await mcpPost(`${served.origin}/team`, tokens.get('/team')!, undefined, spoofed(id));
      expect(response.status).toBe(200);
      const seen = arrived(id)!;
      expect(Object.values(seen.headers).filter((value) => value.includes('attacker') || value.includes('10.6.6.'))).toEqual([]);
      expect(spellingsOf(seen, 'x-forwarded-user')).toEqual([['x-forwarded-user', expect.any(String)]]);
      expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
      expect(seen.headers['x_custom_thing']).toBe('kept-value');
    });

    it('applies the same rules to a web Request\'s headers (no peer known)', async () => {
      const id = probe();
      const response = await app.request(`${base}/team`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${tokens.get('/team')!}`, ...spoofed(id) },
        body: JSON.stringify(initializeRequest()),
      });
      expect(response.status).toBe(200);
      const seen = arrived(id)!;
      expect(Object.values(seen.headers).filter((value) => value.includes('attacker') || value.includes('10.6.6.'))).toEqual([]);
      expect(spellingsOf(seen, 'x-forwarded-user')).toEqual([['x-forwarded-user', expect.any(String)]]);
      // The peer is unknown here: no X-Forwarded-For at all rather than the client's.
      expect(seen.headers['x-forwarded-for']).toBeUndefined();
      expect(seen.headers['x_custom_thing']).toBe('kept-value');
    });
  });
});
