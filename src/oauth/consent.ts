import { CONSENT_FORMAT, type CapsulePayload } from '../domain/capsule-schemas.js';
import { shortDigest } from '../crypto/encoding.js';
import { scopeTokens, scopesLacking, scopeUnion } from '../domain/scope.js';

type Consent = CapsulePayload<'consent'>;

// The newest approvals win once a browser has approved this many clients and servers,
const MAX_APPROVALS = 20;
// or once they hold this much JSON: sealed, it stays under the 4,096 bytes a browser keeps of a cookie (RFC 6265 §6.1).
const MAX_APPROVALS_JSON = 2_800;

/** The newest approvals that fit both bounds, oldest first. */
function newestThatFit(approvals: Consent['approvals']): Consent['approvals'] {
  const kept: Consent['approvals'] = [];
  let size = 0;
  for (const approval of approvals.slice(-MAX_APPROVALS).reverse()) {
    size += JSON.stringify(approval).length + 1;
    if (size > MAX_APPROVALS_JSON) break;
    kept.unshift(approval);
  }
  return kept;
}

/**
 * An approval is remembered per client, registered redirect URI and MCP server (the route's
 * resource): the same client asking for another server, whose downstream may receive more of
 * the user's identity, asks again. A digest keeps the cookie small however long the URIs are;
 * keying on the registered URI keeps a loopback client approved whatever port it picks.
 */
export function consentKey(cid: string, registeredRedirectUri: string, resource: string): Promise<string> {
  return shortDigest(JSON.stringify([cid, registeredRedirectUri, resource]));
}

/**
 * Whether this browser already approved this client, redirect URI and MCP server for every scope of `scope`: an
 * approval of a smaller scope does not cover a larger one, so a step-up asks the user again.
 */
export function hasApproval(consent: Consent | undefined, key: string, scope: string): boolean {
  const approval = consent?.approvals.find((candidate) => candidate.key === key);
  return approval !== undefined && scopesLacking(scopeTokens(approval.scope), scopeTokens(scope)).length === 0;
}

/** The approvals with this one added; an earlier approval of the same key adds its scopes, which the user approved too. */
export function withApproval(consent: Consent | undefined, key: string, scope: string, now: number, ttl: number): Consent {
  const approvals = consent?.approvals ?? [];
  const earlier = approvals.find((approval) => approval.key === key);
  const approved = scopeUnion(scopeTokens(earlier?.scope), scopeTokens(scope)).join(' ');
  return {
    v: CONSENT_FORMAT,
    approvals: newestThatFit([...approvals.filter((approval) => approval !== earlier), { key, at: now, scope: approved }]),
    exp: now + ttl,
  };
}
