/**
 * The host names that always mean this machine, as `URL.hostname` spells them. Plain http is
 * tolerated only to these (local development, tests, and native apps' redirect URIs as in
 * RFC 8252 §7.3): any other name may resolve anywhere, so it gets https.
 */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '127.0.0.1' || hostname === '[::1]';
}

/** https, or plain http to a loopback host. */
export function isHttpsOrLoopback(url: URL): boolean {
  return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname));
}

/** What operators are told when a URL they configured breaks the rule. */
export const HTTPS_OR_LOOPBACK = 'must use https (plain http is allowed only for localhost, 127.0.0.1 and [::1])';
