import { credentialDigest, credentialHeader, type DownstreamCredential } from '../credential.js';

const BEARER = /^Bearer[ ]+(\S+)$/i;
const PRINTABLE = /^[\x21-\x7E]{1,4096}$/;

/**
 * The client's own personal access token, passed to the downstream per request.
 * No OAuth at all: outside the MCP authorization profile, and said so in the README.
 */
export function personalAccessToken(options: { incomingHeader: string; outboundHeader: string }): DownstreamCredential {
  const incoming = options.incomingHeader.toLowerCase();
  const challenge = `Bearer realm="mcp-capsule"`;
  return {
    signsIn: false,
    needsUpstreamToken: false,
    async credential({ headers }) {
      const raw = headers.get(incoming)?.trim();
      const value = incoming === 'authorization' ? BEARER.exec(raw ?? '')?.[1] : raw;
      if (!value || !PRINTABLE.test(value)) {
        return {
          ok: false,
          status: 401,
          error: 'invalid_token',
          description: `Send your personal access token in ${incoming === 'authorization' ? 'Authorization: Bearer <token>' : options.incomingHeader}.`,
          challenge,
        };
      }
      return { ok: true, headers: credentialHeader(options.outboundHeader, value), strip: [incoming], caller: credentialDigest(value) };
    },
  };
}
