import { tryUrl } from '../domain/url.js';
import { isLoopbackHost } from '../net/loopback.js';

const MAX_REDIRECT_URI_LENGTH = 2000;
const NEVER_SCHEMES = new Set(['javascript:', 'data:', 'file:', 'vbscript:', 'blob:', 'about:']);

/**
 * Why a redirect URI may not be registered, or undefined when it may. Allowed:
 * https; http on a loopback host; a private-use scheme on the operator's
 * allowlist (Cursor's `cursor://…`). Never fragments, userinfo or script schemes.
 */
export function redirectUriProblem(uri: string, allowedSchemes: readonly string[]): string | undefined {
  if (uri.length > MAX_REDIRECT_URI_LENGTH) return 'is too long';
  const url = tryUrl(uri);
  if (!url) return 'is not an absolute URI';
  if (uri.includes('#')) return 'must not contain a fragment';
  if (url.username || url.password) return 'must not contain user information';
  if (NEVER_SCHEMES.has(url.protocol)) return `uses the forbidden scheme ${url.protocol}`;
  if (url.protocol === 'https:') return url.hostname ? undefined : 'must name a host';
  if (url.protocol === 'http:') {
    return isLoopbackHost(url.hostname) ? undefined : 'must use https unless it is a loopback address (localhost, 127.0.0.1, [::1])';
  }
  const scheme = url.protocol.slice(0, -1);
  return allowedSchemes.includes(scheme) ? undefined : `uses the scheme ${scheme}, which is not on the allowlist`;
}

/**
 * Finds the registered redirect URI a request names: an exact string match, or
 * for loopback http URIs the same URI on any port (RFC 8252 §7.3, OAuth 2.1 §2.3.1).
 */
export function matchRedirectUri(requested: string, registered: readonly string[]): string | undefined {
  if (registered.includes(requested)) return requested;
  const url = tryUrl(requested);
  if (!url || url.protocol !== 'http:' || !isLoopbackHost(url.hostname)) return undefined;
  if (requested.includes('#') || url.username || url.password) return undefined;
  return registered.find((candidate) => {
    const other = tryUrl(candidate);
    return (
      other !== undefined &&
      other.protocol === url.protocol &&
      other.hostname === url.hostname &&
      other.pathname === url.pathname &&
      other.search === url.search
    );
  });
}

/**
 * Resolves a client's `resource` parameter (RFC 8707) to our canonical resource:
 * scheme and host compared without case, one trailing slash tolerated.
 */
export function matchResource(requested: string, canonical: string): boolean {
  const url = tryUrl(requested);
  if (!url || requested.includes('#')) return false;
  const target = new URL(canonical);
  const strip = (path: string) => (path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path);
  return url.origin === target.origin && strip(url.pathname) === strip(target.pathname) && url.search === target.search;
}
