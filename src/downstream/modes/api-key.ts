import { credentialHeader, type DownstreamCredential } from '../credential.js';

/** A static secret in a configured header; users still sign in, for policy and audit. */
export function apiKey(options: { header: string; key: string }): DownstreamCredential {
  const headers = credentialHeader(options.header, options.key);
  return { signsIn: true, needsUpstreamToken: false, credential: async () => ({ ok: true, headers }) };
}
