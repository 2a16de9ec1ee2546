import type { UpstreamClient } from './upstream-client.js';

/**
 * An upstream client whose code is loaded on its first call. The OAuth client library is a
 * large share of the code a start would otherwise compile before listening, and nothing
 * calls it until discovery, which starts once the port is bound.
 */
export function lazyUpstreamClient(load: () => Promise<UpstreamClient>): UpstreamClient {
  let client: Promise<UpstreamClient> | undefined;
  const loaded = () => (client ??= load());
  return {
    ready: async () => (await loaded()).ready(),
    tokenEndpoint: async () => (await loaded()).tokenEndpoint(),
    authorizationUrl: async (secrets, redirectUri) => (await loaded()).authorizationUrl(secrets, redirectUri),
    completeLogin: async (callbackUrl, secrets, redirectUri) => (await loaded()).completeLogin(callbackUrl, secrets, redirectUri),
    refresh: async (refreshToken) => (await loaded()).refresh(refreshToken),
    revoke: async (token, hint) => (await loaded()).revoke(token, hint),
  };
}
