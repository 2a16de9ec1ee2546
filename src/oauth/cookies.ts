import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';

/**
 * The proxy's two cookies. On https they are __Host- prefixed, Secure,
 * HttpOnly and SameSite=Lax; on http://localhost (development) the prefix and
 * Secure are dropped so the flow works in a real browser.
 */
export const COOKIE = {
  /** A random value that binds an authorization in progress to this browser. */
  binding: 'capsule-binding',
  /** The sealed list of clients this browser approved. */
  consent: 'capsule-consent',
} as const;

type CookieName = (typeof COOKIE)[keyof typeof COOKIE];

export function readCookie(c: Context, name: CookieName, secure: boolean): string | undefined {
  return secure ? getCookie(c, name, 'host') : getCookie(c, name);
}

export function writeCookie(c: Context, name: CookieName, value: string, maxAgeSeconds: number, secure: boolean): void {
  setCookie(c, name, value, {
    path: '/',
    httpOnly: true,
    sameSite: 'Lax',
    maxAge: maxAgeSeconds,
    ...(secure ? { secure: true, prefix: 'host' as const } : {}),
  });
}

export function clearCookie(c: Context, name: CookieName, secure: boolean): void {
  deleteCookie(c, name, { path: '/', ...(secure ? { secure: true, prefix: 'host' as const } : {}) });
}
