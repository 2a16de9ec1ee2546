import net from 'node:net';
import tls from 'node:tls';
import type { TLSSocket } from 'node:tls';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { SafeFetchError } from '../../src/net/errors.js';
import { safeFetch, type SafeFetchOptions } from '../../src/net/safe-fetch.js';
import { json, selfSignedCertificate, startHttpsServer, startServer, stubLookup, type TestServer } from './servers.js';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1']);

/**
 * Every outbound socket goes through net.connect or tls.connect (undici calls them on
 * the shared module objects). The spies record each attempt and refuse anything but
 * loopback literals, so a guard bug can never send test traffic off this machine.
 */
let attempts: string[] = [];
beforeEach(() => {
  attempts = [];
  const realNet = net.connect.bind(net);
  const realTls = tls.connect.bind(tls);
  const gate = (options: unknown) => {
    const host = String((options as { host?: string }).host ?? '');
    attempts.push(host);
    if (LOOPBACK_HOSTS.has(host)) return;
    const pinned = (options as { lookup?: net.LookupFunction }).lookup;
    if (net.isIP(host) || !pinned) throw new Error(`test refused a connection to ${host}`);
    (options as { lookup: net.LookupFunction }).lookup = (name, opts, callback) =>
      pinned(name, opts, (error, address, family) => {
        const list = Array.isArray(address) ? address.map((a) => a.address) : [address];
        if (!error && list.some((a) => a !== '127.0.0.1' && a !== '::1')) callback(new Error('test refused a non-loopback address'), '', 4);
        else callback(error, address, family);
      });
  };
  vi.spyOn(net, 'connect').mockImplementation(((options: unknown, ...rest: unknown[]) => {
    gate(options);
    return (realNet as (...args: unknown[]) => net.Socket)(options, ...rest);
  }) as typeof net.connect);
  vi.spyOn(tls, 'connect').mockImplementation(((options: unknown, ...rest: unknown[]) => {
    gate(options);
    return (realTls as (...args: unknown[]) => tls.TLSSocket)(options, ...rest);
  }) as typeof tls.connect);
});
afterEach(() => {
  vi.restoreAllMocks();
});

async function failure(url: string, options: SafeFetchOptions): Promise<SafeFetchError> {
  const error = await safeFetch(url, options).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(SafeFetchError);
  return error as SafeFetchError;
}

describe('safeFetch against a real server (development setting)', () => {
  let server: TestServer;
  const dev = { allowPrivateNetwork: true } as const;
  beforeAll(async () => {
    server = await startServer();
    server.route('/doc', json({ hello: 'world' }, { 'cache-control': 'max-age=120' }));
    server.route('/moved', (_req, res) => res.writeHead(302, { location: '/doc' }).end());
    server.route('/missing', (_req, res) => res.writeHead(404).end('{}'));
    server.route('/empty', (_req, res) => res.writeHead(204).end());
    server.route('/big-declared', (_req, res) => res.writeHead(200, { 'content-length': 6000 }).end('x'.repeat(6000)));
    server.route('/big-chunked', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      for (let i = 0; i < 12; i++) res.write('y'.repeat(512));
      res.end();
    });
    server.route('/exact', (_req, res) => res.writeHead(200).end('z'.repeat(5 * 1024)));
    server.route('/hang', () => undefined);
    server.route('/trickle', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{');
    });
  });
  afterAll(() => server.close());

  it('returns status, headers and body, and the connection really goes through the spied connect', async () => {
    const response = await safeFetch(`${server.origin}/doc`, dev);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('max-age=120');
    expect(JSON.parse(new TextDecoder().decode(response.body))).toEqual({ hello: 'world' });
    expect(attempts).toEqual(['127.0.0.1']);
  });

  it('pins the connection to the checked address and keeps the Host header', async () => {
    const lookup = stubLookup({ 'cimd.example': ['127.0.0.1'] });
    const before = server.seen.hosts.length;
    const response = await safeFetch(`http://cimd.example:${server.port}/doc`, { ...dev, lookup });
    expect(response.status).toBe(200);
    expect(lookup.calls).toEqual(['cimd.example']);
    expect(server.seen.hosts.slice(before)).toEqual([`cimd.example:${server.port}`]);
  });

  it('reaches an IPv6 loopback server in development', async (context) => {
    const server6 = await startServer('::1').catch(() => undefined);
    if (!server6) return context.skip();
    server6.route('/doc', json({ v6: true }));
    try {
      const response = await safeFetch(`${server6.origin}/doc`, dev);
      expect(JSON.parse(new TextDecoder().decode(response.body))).toEqual({ v6: true });
      expect(server6.seen.requests).toBe(1);
    } finally {
      await server6.close();
    }
  });

  it('does not follow a redirect', async () => {
    const docHits = server.hits.get('/doc') ?? 0;
    const error = await failure(`${server.origin}/moved`, dev);
    expect(error.code).toBe('redirect');
    expect(error.status).toBe(302);
    expect(server.hits.get('/doc') ?? 0).toBe(docHits);
  });

  it.each([
    ['/missing', 404],
    ['/empty', 204],
  ])('accepts only 200 (%s)', async (path, status) => {
    const error = await failure(`${server.origin}${path}`, dev);
    expect(error.code).toBe('http_status');
    expect(error.status).toBe(status);
  });

  it('refuses a body over the cap, announced by Content-Length', async () => {
    expect((await failure(`${server.origin}/big-declared`, dev)).code).toBe('too_large');
  });

  it('refuses a body over the cap while streaming it without Content-Length', async () => {
    expect((await failure(`${server.origin}/big-chunked`, dev)).code).toBe('too_large');
  });

  it('accepts a body of exactly the cap, and honours a configured cap', async () => {
    expect((await safeFetch(`${server.origin}/exact`, dev)).body.byteLength).toBe(5 * 1024);
    expect((await failure(`${server.origin}/exact`, { ...dev, maxBytes: 1024 })).code).toBe('too_large');
  });

  it('times out when the server never answers', async () => {
    expect((await failure(`${server.origin}/hang`, { ...dev, timeoutMs: 300 })).code).toBe('timeout');
  });

  it('times out when the body never finishes', async () => {
    expect((await failure(`${server.origin}/trickle`, { ...dev, timeoutMs: 300 })).code).toBe('timeout');
  });

  it('reports a refused connection as a network error without the URL in the message', async () => {
    const closed = await startServer();
    const origin = closed.origin;
    await closed.close();
    const error = await failure(`${origin}/secret-path?token=abc`, dev);
    expect(error.code).toBe('network');
    expect(error.message).not.toMatch(/secret-path|abc|127\.0\.0\.1/);
  });
});

describe('safeFetch over TLS with a pinned address', () => {
  const certificate = selfSignedCertificate('cimd.test');
  let server: TestServer;
  const servernames: string[] = [];
  beforeAll(async () => {
    if (!certificate) return;
    server = await startHttpsServer(certificate);
    server.route('/doc', (req, res) => {
      servernames.push(String((req.socket as TLSSocket).servername));
      json({ ok: true })(req, res, server.origin);
    });
  });
  afterAll(() => server?.close());

  it.skipIf(!certificate)('sends SNI and Host for the original name and verifies the certificate against it', async () => {
    const lookup = stubLookup({ 'cimd.test': ['127.0.0.1'], 'other.test': ['127.0.0.1'] });
    const response = await safeFetch(`https://cimd.test:${server.port}/doc`, { allowPrivateNetwork: true, lookup, ca: certificate!.cert });
    expect(response.status).toBe(200);
    expect(servernames).toEqual(['cimd.test']);
    expect(server.seen.hosts.at(-1)).toBe(`cimd.test:${server.port}`);

    const mismatch = await failure(`https://other.test:${server.port}/doc`, { allowPrivateNetwork: true, lookup, ca: certificate!.cert });
    expect(mismatch.code).toBe('network');
    expect(servernames).toEqual(['cimd.test']);
  });
});

describe('SSRF guard (production setting): refused before any connection', () => {
  let server: TestServer;
  let server6: TestServer | undefined;
  beforeAll(async () => {
    server = await startServer();
    server.route('/doc', json({ should: 'never be served' }));
    server6 = await startServer('::1').catch(() => undefined);
    server6?.route('/doc', json({ should: 'never be served' }));
  });
  afterAll(async () => {
    await server.close();
    await server6?.close();
  });
  let baseline = 0;
  const seenByServers = () => server.seen.connections + server.seen.requests + (server6?.seen.connections ?? 0);
  beforeEach(() => {
    baseline = seenByServers();
  });
  afterEach(() => {
    expect(attempts).toEqual([]);
    expect(seenByServers()).toBe(baseline);
  });

  const publicDns = stubLookup({
    'rebind.example': ['127.0.0.1'],
    'metadata.example': ['169.254.169.254'],
    'mixed.example': ['93.184.216.34', '10.0.0.1'],
    'mapped.example': ['::ffff:127.0.0.1'],
    'ula.example': ['fd12:3456::1'],
    'public.example': ['93.184.216.34'],
  });
  const prod = { allowPrivateNetwork: false, lookup: publicDns };

  it.each([
    ['loopback IPv4', (s: TestServer) => `https://127.0.0.1:${s.port}/doc`],
    ['loopback IPv6', (s: TestServer) => `https://[::1]:${s.port}/doc`],
    ['IPv4-mapped loopback', (s: TestServer) => `https://[::ffff:127.0.0.1]:${s.port}/doc`],
    ['unspecified', (s: TestServer) => `https://0.0.0.0:${s.port}/doc`],
    ['decimal loopback', (s: TestServer) => `https://2130706433:${s.port}/doc`],
    ['private 10/8', () => 'https://10.0.0.1/doc'],
    ['private 192.168/16', () => 'https://192.168.1.1/doc'],
    ['private 172.16/12', () => 'https://172.16.5.4/doc'],
    ['cloud metadata', () => 'https://169.254.169.254/latest/meta-data/'],
    ['CGNAT', () => 'https://100.64.0.1/doc'],
    ['unique-local IPv6', () => 'https://[fd00::1]/doc'],
    ['link-local IPv6', () => 'https://[fe80::1]/doc'],
    ['multicast', () => 'https://224.0.0.1/doc'],
    ['IPv4-mapped private, hex form', () => 'https://[::ffff:a00:1]/doc'],
    ['a name that resolves to loopback', (s: TestServer) => `https://rebind.example:${s.port}/doc`],
    ['a name that resolves to cloud metadata', () => 'https://metadata.example/doc'],
    ['a name with one private address among public ones', () => 'https://mixed.example/doc'],
    ['a name that resolves to an IPv4-mapped loopback', (s: TestServer) => `https://mapped.example:${s.port}/doc`],
    ['a name that resolves to a unique-local address', () => 'https://ula.example/doc'],
  ])('refuses %s', async (_label, url) => {
    expect((await failure(url(server), prod)).code).toBe('forbidden_address');
  });

  it('refuses localhost by name without asking DNS', async () => {
    const lookup = stubLookup({ localhost: ['127.0.0.1'] });
    expect((await failure(`https://localhost:${server.port}/doc`, { allowPrivateNetwork: false, lookup })).code).toBe('forbidden_address');
    expect((await failure(`https://app.localhost:${server.port}/doc`, { allowPrivateNetwork: false, lookup })).code).toBe('forbidden_address');
    expect(lookup.calls).toEqual([]);
  });

  it('refuses plain http, even to a public name, without asking DNS', async () => {
    const lookup = stubLookup({ 'public.example': ['93.184.216.34'] });
    expect((await failure(`http://127.0.0.1:${server.port}/doc`, { allowPrivateNetwork: false, lookup })).code).toBe('not_https');
    expect((await failure('http://public.example/doc', { allowPrivateNetwork: false, lookup })).code).toBe('not_https');
    expect(lookup.calls).toEqual([]);
  });

  it('refuses other schemes and user information', async () => {
    expect((await failure('file:///etc/passwd', prod)).code).toBe('not_https');
    expect((await failure('https://user:pw@public.example/doc', prod)).code).toBe('invalid_url');
    expect((await failure('not a url', prod)).code).toBe('invalid_url');
  });

  it('reports a name that does not resolve', async () => {
    expect((await failure('https://nxdomain.example/doc', prod)).code).toBe('dns');
  });

  it('still refuses link-local and plain http to private addresses in development', async () => {
    const dev = { allowPrivateNetwork: true, lookup: stubLookup({ 'lan.example': ['10.1.2.3'] }) };
    expect((await failure('https://169.254.169.254/latest/meta-data/', dev)).code).toBe('forbidden_address');
    expect((await failure('http://lan.example/doc', dev)).code).toBe('not_https');
  });
});
