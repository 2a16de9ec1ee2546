import { headerSafe, type DownstreamCredential } from '../credential.js';

/** The oauth2-proxy and obot convention. Email only when the provider says it is verified. */
export const identityHeaders: DownstreamCredential = {
  signsIn: true,
  async credential({ token }) {
    const { identity, upstream } = token!;
    const headers: Record<string, string> = {
      'x-forwarded-user': headerSafe(identity.sub),
      'x-forwarded-access-token': upstream.access_token,
    };
    if (identity.email && identity.email_verified === true) headers['x-forwarded-email'] = headerSafe(identity.email);
    if (identity.name) headers['x-forwarded-name'] = headerSafe(identity.name);
    return { ok: true, headers };
  },
};
