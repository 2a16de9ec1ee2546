import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { SafeFetchError } from './errors.js';
import { classifyAddress, isLocalHostname } from './ip-address.js';

export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/** Resolves a host name to all its addresses; injectable so tests never ask real DNS. */
export type HostLookup = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemLookup: HostLookup = async (hostname) => {
  const results = await dnsLookup(hostname, { all: true, verbatim: true });
  return results.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));
};

/** A URL that passed the guard, and the addresses the connection must use. */
export interface CheckedTarget {
  readonly url: URL;
  /** Host name without IPv6 brackets. */
  readonly hostname: string;
  readonly addresses: readonly ResolvedAddress[];
}

export interface GuardOptions {
  /** Development only: permit loopback and private addresses, and plain http to loopback. */
  readonly allowPrivateNetwork: boolean;
  readonly lookup: HostLookup;
  readonly signal: AbortSignal;
}

function parseUrl(raw: string): URL {
  try {
    return new URL(raw);
  } catch (error) {
    throw new SafeFetchError('invalid_url', 'The URL is not absolute.', undefined, error);
  }
}

async function resolve(hostname: string, options: GuardOptions): Promise<ResolvedAddress[]> {
  const family = isIP(hostname);
  if (family !== 0) return [{ address: hostname, family: family === 6 ? 6 : 4 }];
  if (isLocalHostname(hostname) && !options.allowPrivateNetwork) {
    throw new SafeFetchError('forbidden_address', 'The host name is local to the network.');
  }
  let aborted: (() => void) | undefined;
  const abort = new Promise<never>((_, reject) => {
    aborted = () => reject(new SafeFetchError('timeout', 'Resolving the host name timed out.'));
    options.signal.addEventListener('abort', aborted, { once: true });
  });
  try {
    const addresses = await Promise.race([options.lookup(hostname), abort]);
    if (addresses.length === 0) throw new SafeFetchError('dns', 'The host name has no addresses.');
    return addresses;
  } catch (error) {
    if (error instanceof SafeFetchError) throw error;
    throw new SafeFetchError('dns', 'The host name could not be resolved.', undefined, error);
  } finally {
    options.signal.removeEventListener('abort', aborted!);
  }
}

/**
 * Checks a client-controlled URL before any connection: scheme, host name, and every
 * address the name resolves to (one bad address refuses the lot, so round-robin DNS
 * cannot smuggle one in). The caller must connect only to the returned addresses.
 */
export async function checkTarget(raw: string, options: GuardOptions): Promise<CheckedTarget> {
  const url = parseUrl(raw);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new SafeFetchError('not_https', 'Only https URLs may be fetched.');
  if (url.protocol === 'http:' && !options.allowPrivateNetwork) throw new SafeFetchError('not_https', 'Only https URLs may be fetched.');
  if (url.username || url.password) throw new SafeFetchError('invalid_url', 'The URL must not contain user information.');
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (!hostname) throw new SafeFetchError('invalid_url', 'The URL has no host.');

  const addresses = await resolve(hostname, options);
  for (const { address } of addresses) {
    const verdict = classifyAddress(address);
    if (!verdict) throw new SafeFetchError('dns', 'The host name resolved to something that is not an IP address.');
    const permitted = verdict.kind === 'public' || (options.allowPrivateNetwork && verdict.kind !== 'never');
    if (!permitted) throw new SafeFetchError('forbidden_address', `The host resolves to a non-public address (${verdict.range}).`);
    if (url.protocol === 'http:' && verdict.kind !== 'loopback') {
      throw new SafeFetchError('not_https', 'Plain http is allowed only to loopback addresses in development.');
    }
  }
  return { url, hostname, addresses };
}
