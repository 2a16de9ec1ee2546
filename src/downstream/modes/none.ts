import type { DownstreamCredential } from '../credential.js';

/** A public route: no credential either way; policy-free, but still audited and measured. */
export const noCredential: DownstreamCredential = {
  signsIn: false,
  needsUpstreamToken: false,
  credential: async () => ({ ok: true, headers: {} }),
};
