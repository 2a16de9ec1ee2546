import { headerSafe, type DownstreamCredential } from '../credential.js';

/**
 * The oauth2-proxy and obot convention. Email only when the provider says it is verified. A token
 * without an upstream session (a client's own, an identity assertion's) has no access token to pass.
 */
export const identityHeaders: DownstreamCredential = {
  signsIn: true,
  needsUpstreamToken: false,
  async credential({ token }) {
    const { identity, upstream } = token!;
    const headers: Record<string, string> = { 'x-forwarded-user': headerSafe(identity.sub) };
    if (upstream) headers['x-forwarded-access-token'] = upstream.access_token;
    if (identity.email && identity.email_verified === true) headers['x-forwarded-email'] = headerSafe(identity.email);
    if (identity.name) headers['x-forwarded-name'] = headerSafe(identity.name);
    return { ok: true, headers };
  },
};
