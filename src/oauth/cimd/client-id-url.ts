import { isLoopbackHost } from '../../net/loopback.js';

const MAX_CLIENT_ID_URL_LENGTH = 2000;
const DOT_SEGMENT = /^(?:\.|%2e){1,2}$/i;

export interface ClientIdUrlOptions {
  /** Development only: also accept http://127.0.0.1, http://localhost and http://[::1] URLs. */
  allowHttpLoopback?: boolean;
}

/** Cheap routing test: a URL client_id (CIMD) rather than a sealed capsule or a static id. */
export function looksLikeClientIdUrl(clientId: string): boolean {
  return /^https?:\/\//i.test(clientId);
}

/** The authority and path exactly as written, before the URL parser normalizes them away. */
function rawParts(clientId: string): { authority: string; path: string } {
  const afterScheme = clientId.indexOf('://') + 3;
  const rest = afterScheme < 3 ? '' : clientId.slice(afterScheme);
  const end = rest.search(/[/?#]/);
  const authority = end < 0 ? rest : rest.slice(0, end);
  const path = end < 0 ? '' : rest.slice(end).replace(/[?#].*$/, '');
  return { authority, path };
}

/**
 * Why a client_id is not a usable client metadata document URL (CIMD §3), or undefined:
 * https, a host, a path other than "/", no fragment, no user information, no dot
 * segments, no query (a SHOULD NOT we enforce), any port. It must also be in the
 * canonical form the URL parser produces, because the document's own client_id is
 * compared with it as a plain string and we fetch exactly the string we compare.
 */
export function clientIdUrlProblem(clientId: string, options: ClientIdUrlOptions = {}): string | undefined {
  if (clientId.length > MAX_CLIENT_ID_URL_LENGTH) return 'is too long';
  let url: URL;
  try {
    url = new URL(clientId);
  } catch {
    return 'is not an absolute URL';
  }
  const devHttp = options.allowHttpLoopback === true && url.protocol === 'http:' && isLoopbackHost(url.hostname);
  if (url.protocol !== 'https:' && !devHttp) return 'must use https';
  if (!url.hostname) return 'must name a host';
  const { authority, path } = rawParts(clientId);
  if (url.username || url.password || authority.includes('@')) return 'must not contain user information';
  if (clientId.includes('#')) return 'must not contain a fragment';
  if (clientId.includes('?')) return 'must not contain a query';
  if (url.port === '0') return 'must not use port 0';
  if (path === '' || path === '/') return 'must contain a path';
  if (path.split('/').some((segment) => DOT_SEGMENT.test(segment))) return 'must not contain . or .. segments';
  if (url.href !== clientId) return 'must be in canonical form (lowercase scheme and host, no default port, percent-encoded)';
  return undefined;
}

export function isClientIdMetadataUrl(clientId: string, options: ClientIdUrlOptions = {}): boolean {
  return clientIdUrlProblem(clientId, options) === undefined;
}
