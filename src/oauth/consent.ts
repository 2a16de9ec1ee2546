import type { CapsulePayload } from '../crypto/capsule-schemas.js';

type Consent = CapsulePayload<'consent'>;

// The newest approvals win once a browser has approved this many clients.
const MAX_APPROVALS = 20;

/** Whether this browser already approved this client for this redirect URI. */
export function hasApproval(consent: Consent | undefined, cid: string, redirectUri: string): boolean {
  return consent?.approvals.some((approval) => approval.cid === cid && approval.redirect_uri === redirectUri) ?? false;
}

export function withApproval(consent: Consent | undefined, cid: string, redirectUri: string, now: number, ttl: number): Consent {
  const others = (consent?.approvals ?? []).filter((approval) => !(approval.cid === cid && approval.redirect_uri === redirectUri));
  return {
    approvals: [...others, { cid, redirect_uri: redirectUri, at: now }].slice(-MAX_APPROVALS),
    exp: now + ttl,
  };
}
