import type { CapsulePayload } from '../crypto/capsule-schemas.js';
import { shortDigest } from '../crypto/encoding.js';

type Consent = CapsulePayload<'consent'>;

// The newest approvals win once a browser has approved this many clients.
const MAX_APPROVALS = 20;

/**
 * An approval is remembered per client and per registered redirect URI, as a
 * digest so the cookie stays small however long the URIs are. Keying on the
 * registered URI keeps a loopback client approved whatever port it picks.
 */
export function consentKey(cid: string, registeredRedirectUri: string): Promise<string> {
  return shortDigest(`${cid} ${registeredRedirectUri}`);
}

/** Whether this browser already approved this client for this redirect URI. */
export function hasApproval(consent: Consent | undefined, key: string): boolean {
  return consent?.approvals.some((approval) => approval.key === key) ?? false;
}

export function withApproval(consent: Consent | undefined, key: string, now: number, ttl: number): Consent {
  const others = (consent?.approvals ?? []).filter((approval) => approval.key !== key);
  return {
    approvals: [...others, { key, at: now }].slice(-MAX_APPROVALS),
    exp: now + ttl,
  };
}
