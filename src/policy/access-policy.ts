import type { Identity } from '../domain/capsule-schemas.js';
import { clientIdOfSubject } from '../domain/client-subject.js';

export interface AccessPolicySettings {
  readonly emails: readonly string[];
  readonly emailDomains: readonly string[];
  readonly groups: readonly string[];
  readonly subjects: readonly string[];
  readonly clients: readonly string[];
}

export type AccessDecision = { readonly allowed: true; readonly rule: string } | { readonly allowed: false; readonly reason: string };

export interface AccessPolicy {
  /** Whether any allow list is set; without one every signed-in user is allowed. */
  readonly restricted: boolean;
  decide(identity: Identity): AccessDecision;
}

/**
 * Who may use a route. A user is allowed by any one matching list. Emails count
 * only when the provider says they are verified: an unverified address is
 * whatever the user typed. A client acting for itself (client credentials) has no
 * email, groups or user subject: only `clients` can name it.
 */
export function compileAccessPolicy(settings: AccessPolicySettings): AccessPolicy {
  const emails = new Set(settings.emails.map((email) => email.toLowerCase()));
  const domains = new Set(settings.emailDomains.map((domain) => domain.toLowerCase().replace(/^@/, '')));
  const groups = new Set(settings.groups);
  const subjects = new Set(settings.subjects);
  const clients = new Set(settings.clients);
  const restricted = emails.size + domains.size + groups.size + subjects.size + clients.size > 0;

  return {
    restricted,
    decide(identity) {
      if (!restricted) return { allowed: true, rule: 'open' };
      const clientId = clientIdOfSubject(identity.sub);
      if (clientId !== undefined) return clients.has(clientId) ? { allowed: true, rule: 'client' } : { allowed: false, reason: 'the client is not on the allow list' };
      if (subjects.has(identity.sub)) return { allowed: true, rule: 'subject' };
      const verifiedEmail = identity.email_verified === true ? identity.email?.toLowerCase() : undefined;
      if (verifiedEmail && emails.has(verifiedEmail)) return { allowed: true, rule: 'email' };
      const domain = verifiedEmail?.slice(verifiedEmail.lastIndexOf('@') + 1);
      if (domain && verifiedEmail!.includes('@') && domains.has(domain)) return { allowed: true, rule: 'email_domain' };
      if (identity.groups?.some((group) => groups.has(group))) return { allowed: true, rule: 'group' };
      const unverified = identity.email && identity.email_verified !== true ? ' (the email address is not verified by the identity provider)' : '';
      return { allowed: false, reason: `not on the allow list${unverified}` };
    },
  };
}
