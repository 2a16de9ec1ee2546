import { CONSENT_FORMAT, type CapsulePayload } from '../domain/capsule-schemas.js';
import { shortDigest } from '../crypto/encoding.js';

type Consent = CapsulePayload<'consent'>;

// The newest approvals win once a browser has approved this many clients and servers.
const MAX_APPROVALS = 20;

/**
 * An approval is remembered per client, registered redirect URI and MCP server (the route's
 * resource): the same client asking for another server, whose downstream may receive more of
 * the user's identity, asks again. A digest keeps the cookie small however long the URIs are;
 * keying on the registered URI keeps a loopback client approved whatever port it picks.
 */
export function consentKey(cid: string, registeredRedirectUri: string, resource: string): Promise<string> {
  return shortDigest(JSON.stringify([cid, registeredRedirectUri, resource]));
}

/** Whether this browser already approved this client, redirect URI and MCP server. */
export function hasApproval(consent: Consent | undefined, key: string): boolean {
  return consent?.approvals.some((approval) => approval.key === key) ?? false;
}

export function withApproval(consent: Consent | undefined, key: string, now: number, ttl: number): Consent {
  const others = (consent?.approvals ?? []).filter((approval) => approval.key !== key);
  return {
    v: CONSENT_FORMAT,
    approvals: [...others, { key, at: now }].slice(-MAX_APPROVALS),
    exp: now + ttl,
  };
}
