import type { LookupFunction } from 'node:net';
import type { Agent, Dispatcher } from 'undici';
import { readCappedNode } from './capped-body.js';
import { SafeFetchError } from './errors.js';
import { undiciClients } from './undici.js';
import { checkTarget, systemLookup, type HostLookup, type ResolvedAddress } from './target-guard.js';

export const DEFAULT_FETCH_TIMEOUT_MS = 5_000;
/** CIMD §6.6 suggests about 5 KB for a client metadata document. */
export const DEFAULT_MAX_BYTES = 5 * 1024;

export interface SafeFetchOptions {
  /** Development only: permit loopback and private addresses, and plain http to loopback. */
  allowPrivateNetwork?: boolean;
  /** Covers resolving, connecting, the headers and the whole body. */
  timeoutMs?: number;
  /** The largest body accepted, checked against Content-Length and again while reading. */
  maxBytes?: number;
  accept?: string;
  /** DNS resolution; tests inject a stub so no real name is ever resolved. */
  lookup?: HostLookup;
  /** Extra trusted certificate authorities (tests with a self-signed server). */
  ca?: string | readonly string[];
}

export interface SafeResponse {
  readonly status: 200;
  readonly headers: Headers;
  readonly body: Uint8Array;
}

/**
 * A lookup that answers only with the addresses already checked, so the socket goes
 * exactly where the guard looked (no DNS rebinding between check and use). TLS still
 * verifies the certificate against the URL's host name (SNI and Host are unchanged).
 */
function pinnedLookup(hostname: string, addresses: readonly ResolvedAddress[]): LookupFunction {
  return (requested, options, reply) => {
    if (requested !== hostname) {
      reply(new SafeFetchError('forbidden_address', 'Unexpected host name at connect time.'), '');
      return;
    }
    const wanted = options.family === 4 || options.family === 6 ? addresses.filter((a) => a.family === options.family) : addresses;
    if (wanted.length === 0) {
      reply(Object.assign(new Error('No pinned address of the requested family.'), { code: 'ENOTFOUND' }), '');
    } else if (options.all) {
      reply(null, wanted.map(({ address, family }) => ({ address, family })));
    } else {
      reply(null, wanted[0]!.address, wanted[0]!.family);
    }
  };
}

function toHeaders(raw: Record<string, string | string[] | undefined>): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item);
  }
  return headers;
}

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

function failure(error: unknown, timedOut: boolean): SafeFetchError {
  if (error instanceof SafeFetchError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (timedOut || (typeof code === 'string' && TIMEOUT_CODES.has(code))) return new SafeFetchError('timeout', 'The fetch timed out.', undefined, error);
  return new SafeFetchError('network', 'The fetch failed.', undefined, error);
}

/** Drops a body we will not read; destroying it emits an abort error that nobody needs. */
function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => undefined);
  body.destroy();
}

/**
 * GET a URL that a client controls (a client metadata document, its jwks_uri) without
 * letting it reach the proxy's own network: https only, every resolved address public
 * (unless in development), the socket pinned to the checked addresses, no redirects,
 * only 200, a timeout over the whole exchange and a byte cap enforced while streaming.
 */
export async function safeFetch(url: string, options: SafeFetchOptions = {}): Promise<SafeResponse> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  let agent: Agent | undefined;
  try {
    const target = await checkTarget(url, {
      allowPrivateNetwork: options.allowPrivateNetwork ?? false,
      lookup: options.lookup ?? systemLookup,
      signal: controller.signal,
    });
    const { Agent } = await undiciClients();
    agent = new Agent({
      connections: 1,
      pipelining: 0,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      connect: {
        lookup: pinnedLookup(target.hostname, target.addresses),
        timeout: timeoutMs,
        ...(options.ca ? { ca: typeof options.ca === 'string' ? options.ca : [...options.ca] } : {}),
      },
    });
    const response = await agent.request({
      origin: target.url.origin,
      path: `${target.url.pathname}${target.url.search}`,
      method: 'GET',
      signal: controller.signal,
      headers: { accept: options.accept ?? 'application/json', 'accept-encoding': 'identity', 'user-agent': 'mcp-capsule' },
    });
    if (response.statusCode >= 300 && response.statusCode < 400) {
      discard(response.body);
      throw new SafeFetchError('redirect', 'The server answered with a redirect, which is not followed.', response.statusCode);
    }
    if (response.statusCode !== 200) {
      discard(response.body);
      throw new SafeFetchError('http_status', `The server answered with status ${response.statusCode}.`, response.statusCode);
    }
    const headers = toHeaders(response.headers);
    const body = await readCappedNode(response.body, maxBytes, { declaredLength: headers.get('content-length'), letGo: discard });
    if (body === undefined) throw new SafeFetchError('too_large', `The response is larger than ${maxBytes} bytes.`);
    return { status: 200, headers, body };
  } catch (error) {
    throw failure(error, timedOut);
  } finally {
    clearTimeout(timer);
    agent?.destroy().catch(() => undefined);
  }
}
