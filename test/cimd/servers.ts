import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostLookup } from '../../src/net/target-guard.js';

export type Handler = (req: IncomingMessage, res: ServerResponse, origin: string) => void;

/** A real server on 127.0.0.1 that counts every connection and every request per path. */
export interface TestServer {
  readonly origin: string;
  readonly port: number;
  /** Requests per path. */
  readonly hits: Map<string, number>;
  readonly seen: { connections: number; requests: number; hosts: string[] };
  route(path: string, handler: Handler): void;
  close(): Promise<void>;
}

async function listen(server: Server, scheme: string, host = '127.0.0.1'): Promise<TestServer> {
  const routes = new Map<string, Handler>();
  const hits = new Map<string, number>();
  const seen = { connections: 0, requests: 0, hosts: [] as string[] };
  server.on(scheme === 'https' ? 'secureConnection' : 'connection', () => seen.connections++);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    seen.requests++;
    seen.hosts.push(req.headers.host ?? '');
    const path = (req.url ?? '/').split('?')[0]!;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const handler = routes.get(path);
    if (handler) handler(req, res, origin);
    else res.writeHead(404).end('not found');
  });
  return {
    origin,
    port,
    hits,
    seen,
    route: (path, handler) => void routes.set(path, handler),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

export function startServer(host = '127.0.0.1'): Promise<TestServer> {
  return listen(createServer(), 'http', host);
}

export function json(body: unknown, headers: Record<string, string> = {}): Handler {
  return (_req, res) => {
    const text = JSON.stringify(body);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers }).end(text);
  };
}

/** A self-signed certificate for `hostname`, made with the openssl binary; undefined when it is missing. */
export function selfSignedCertificate(hostname: string): { key: string; cert: string } | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'cimd-tls-'));
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', `/CN=${hostname}`,
        '-addext', `subjectAltName=DNS:${hostname}`, '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
      { stdio: 'ignore' },
    );
    return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
  } catch {
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function startHttpsServer(tls: { key: string; cert: string }): Promise<TestServer> {
  return listen(createHttpsServer(tls), 'https');
}

/** DNS answers from a table; counts questions. Unknown names fail like NXDOMAIN. */
export function stubLookup(table: Record<string, string[]>): HostLookup & { calls: string[] } {
  const calls: string[] = [];
  const lookup = async (hostname: string) => {
    calls.push(hostname);
    const addresses = table[hostname];
    if (!addresses) throw Object.assign(new Error(`stub: no such host ${hostname}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: (address.includes(':') ? 6 : 4) as 4 | 6 }));
  };
  return Object.assign(lookup, { calls });
}

/** A clock tests move by hand. */
export function manualClock(start = Date.UTC(2026, 0, 1)): { now: () => number; advance: (seconds: number) => void } {
  let current = start;
  return { now: () => current, advance: (seconds) => void (current += seconds * 1000) };
}
