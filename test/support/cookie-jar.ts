export interface StoredCookie {
  name: string;
  value: string;
  /** Lower-case host (no port: cookies are not isolated by port). */
  domain: string;
  /** True without a Domain attribute: only the exact host gets it back. */
  hostOnly: boolean;
  path: string;
  /** Epoch milliseconds; Infinity for a session cookie. */
  expiresAt: number;
  secure: boolean;
  httpOnly: boolean;
  sameSite: string | undefined;
}

/**
 * RFC 6265 cookie storage, small enough to read in one sitting.
 *
 * Secure cookies are sent over https and also to loopback hosts (localhost, 127.0.0.0/8, [::1]) on
 * plain http, as current browsers do because they count loopback as a secure context. Every test
 * runs on http loopback, so without this the proxy's Secure (__Host-) cookies would never return.
 * The __Host- and __Secure- prefix rules are enforced, so a cookie a browser would refuse is
 * refused here too. SameSite is recorded for assertions but not enforced: every loopback port is
 * the same site.
 */
export class CookieJar {
  readonly #cookies = new Map<string, StoredCookie>();
  readonly #now: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  /** Stores every Set-Cookie of a response received from `url`. */
  storeFrom(url: URL, headers: Headers): void {
    for (const line of headers.getSetCookie()) this.store(url, line);
  }

  store(url: URL, setCookie: string): void {
    const cookie = parseSetCookie(url, setCookie, this.#now());
    if (!cookie) return;
    if (cookie.secure && !isTrustworthy(url)) return;
    if (cookie.name.startsWith('__Secure-') && !cookie.secure) return;
    if (cookie.name.startsWith('__Host-') && (!cookie.secure || !cookie.hostOnly || cookie.path !== '/')) return;
    const key = `${cookie.domain};${cookie.path};${cookie.name}`;
    if (cookie.expiresAt <= this.#now()) this.#cookies.delete(key);
    else this.#cookies.set(key, cookie);
  }

  /** Cookies a browser would send to `url`, most specific path first. */
  matching(url: URL): StoredCookie[] {
    const host = hostOf(url);
    const now = this.#now();
    return [...this.#cookies.values()]
      .filter((c) => c.expiresAt > now)
      .filter((c) => (c.hostOnly ? host === c.domain : domainMatches(host, c.domain)))
      .filter((c) => pathMatches(url.pathname, c.path))
      .filter((c) => !c.secure || isTrustworthy(url))
      .sort((a, b) => b.path.length - a.path.length);
  }

  /** The Cookie request header for `url`, or undefined when nothing matches. */
  header(url: URL): string | undefined {
    const cookies = this.matching(url);
    return cookies.length ? cookies.map((c) => `${c.name}=${c.value}`).join('; ') : undefined;
  }

  /** Everything stored and unexpired, for assertions on cookie attributes. */
  all(): StoredCookie[] {
    const now = this.#now();
    return [...this.#cookies.values()].filter((c) => c.expiresAt > now);
  }

  clear(): void {
    this.#cookies.clear();
  }
}

function parseSetCookie(url: URL, line: string, now: number): StoredCookie | undefined {
  const [pair = '', ...attributes] = line.split(';');
  const eq = pair.indexOf('=');
  if (eq <= 0) return undefined;
  const cookie: StoredCookie = {
    name: pair.slice(0, eq).trim(),
    value: pair.slice(eq + 1).trim(),
    domain: hostOf(url),
    hostOnly: true,
    path: defaultPath(url.pathname),
    expiresAt: Infinity,
    secure: false,
    httpOnly: false,
    sameSite: undefined,
  };
  let maxAgeSeen = false;
  for (const attribute of attributes) {
    const [rawKey = '', ...rest] = attribute.split('=');
    const key = rawKey.trim().toLowerCase();
    const value = rest.join('=').trim();
    if (key === 'secure') cookie.secure = true;
    else if (key === 'httponly') cookie.httpOnly = true;
    else if (key === 'samesite') cookie.sameSite = value.toLowerCase();
    else if (key === 'path' && value.startsWith('/')) cookie.path = value;
    else if (key === 'max-age' && /^-?\d+$/.test(value)) {
      // Max-Age wins over Expires whatever their order.
      maxAgeSeen = true;
      cookie.expiresAt = now + Number(value) * 1000;
    } else if (key === 'expires' && !maxAgeSeen) {
      const time = Date.parse(value);
      if (!Number.isNaN(time)) cookie.expiresAt = time;
    } else if (key === 'domain' && value) {
      const domain = value.replace(/^\./, '').toLowerCase();
      // A server may only widen a cookie to a domain it belongs to.
      if (!domainMatches(cookie.domain, domain)) return undefined;
      cookie.domain = domain;
      cookie.hostOnly = false;
    }
  }
  return cookie;
}

function hostOf(url: URL): string {
  return url.hostname.toLowerCase();
}

function isTrustworthy(url: URL): boolean {
  if (url.protocol === 'https:') return true;
  const host = hostOf(url);
  return host === 'localhost' || host.endsWith('.localhost') || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host);
}

function domainMatches(host: string, domain: string): boolean {
  return host === domain || (host.endsWith(`.${domain}`) && !/^[\d.]+$/.test(host));
}

function defaultPath(pathname: string): string {
  const slash = pathname.lastIndexOf('/');
  return slash <= 0 ? '/' : pathname.slice(0, slash);
}

function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath.charAt(cookiePath.length) === '/';
}
