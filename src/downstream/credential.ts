import type { HeaderSource } from '../domain/header-source.js';
import { hash } from 'node:crypto';
import type { AccessPayload } from '../domain/capsule-schemas.js';

/** An access token that carries the signed-in user's upstream access token; tokens of grants without an upstream session carry none. */
export type UpstreamBackedToken = AccessPayload & { readonly upstream: NonNullable<AccessPayload['upstream']> };

export function carriesUpstreamToken(token: AccessPayload): token is UpstreamBackedToken {
  return token.upstream !== undefined;
}

/** What a credential mode sees of one request. */
export interface CredentialRequest<Token extends AccessPayload | undefined = AccessPayload | undefined> {
  /** The verified proxy access token, for modes where the MCP client signs in. */
  readonly token: Token;
  /** The incoming request headers, for modes that take the client's own credential. */
  readonly headers: HeaderSource;
}

export type CredentialOutcome =
  | {
      readonly ok: true;
      /** Headers that carry the downstream's credential. */
      readonly headers: Readonly<Record<string, string>>;
      /** Incoming headers that carried the client's own credential and must not travel on. */
      readonly strip?: readonly string[];
      /** A fresh credential after the downstream answered 401, or undefined when there is none to try. */
      readonly renew?: () => Promise<Readonly<Record<string, string>> | undefined>;
      /** Where the client brings its own credential instead of signing in: that credential, digested (see `credentialDigest`). */
      readonly caller?: string;
    }
  | {
      readonly ok: false;
      readonly status: 401 | 503;
      readonly error: string;
      readonly description: string;
      /** WWW-Authenticate for a 401; without one, the route's own invalid_token challenge. */
      readonly challenge?: string;
      /** For the log only. */
      readonly detail?: string;
    };

/**
 * The credential the MCP server behind a route receives. One small
 * module per mode implements this; the MCP route knows nothing about any of them.
 * `signsIn`: whether MCP clients must sign in through the proxy and present its access token.
 * A mode that needs the user's upstream token says so, and is then handed only tokens that
 * carry one: its `credential` cannot be called with any other, so the pipeline must refuse them first.
 */
export type DownstreamCredential =
  | {
      readonly signsIn: boolean;
      readonly needsUpstreamToken: false;
      credential(request: CredentialRequest): Promise<CredentialOutcome>;
    }
  | {
      readonly signsIn: true;
      readonly needsUpstreamToken: true;
      credential(request: CredentialRequest<UpstreamBackedToken>): Promise<CredentialOutcome>;
    };

export type CredentialRefusal = Extract<CredentialOutcome, { ok: false }>;

/** A credential the proxy obtains for the downstream could not be had now; why is for the log only. */
export function credentialUnavailable(detail: string): CredentialRefusal {
  return { ok: false, status: 503, error: 'temporarily_unavailable', description: 'The credential for the MCP server could not be obtained.', detail };
}

/** Header values must be ByteStrings; a non-ASCII value travels percent-encoded. */
export function headerSafe(value: string): string {
  return /^[\x20-\x7E]*$/.test(value) ? value : encodeURIComponent(value);
}

/** Authorization carries a Bearer credential; any other header the raw value. */
export function credentialHeader(header: string, secret: string): Record<string, string> {
  return { [header.toLowerCase()]: header.toLowerCase() === 'authorization' ? `Bearer ${secret}` : secret };
}

/**
 * Names a caller by the credential it brought (a PAT, its client credentials) without keeping
 * the credential: SHA-256 of the parts as a JSON array, so no value can forge a separator.
 *
 * node:crypto's one-shot `hash` rather than Web Crypto: this runs on every proxied request, and
 * on Node 20 `crypto.subtle.digest` costs ~43 µs (a thread-pool round trip), `createHash` ~1 µs
 * (a Hash object per call) and `hash` ~0.25 µs. Bun and Deno provide `hash` too.
 */
export function credentialDigest(...parts: readonly string[]): string {
  return hash('sha256', JSON.stringify(parts), 'base64url');
}
