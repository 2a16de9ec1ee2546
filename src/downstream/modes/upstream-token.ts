import type { DownstreamCredential } from '../credential.js';

/** The user's own upstream access token, as Bearer. */
export const upstreamToken: DownstreamCredential = {
  signsIn: true,
  needsUpstreamToken: true,
  async credential({ token }) {
    return { ok: true, headers: { authorization: `Bearer ${token.upstream.access_token}` } };
  },
};
