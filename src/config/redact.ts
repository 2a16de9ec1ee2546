import type { Config } from './schema.js';

/** The effective configuration as `mcp-capsule check` prints it: secrets replaced, URLs as strings. */
export function redactConfig(config: Config, keyIds: readonly string[]): Record<string, unknown> {
  return {
    ...config,
    keys: keyIds.map((kid, index) => `[redacted key kid=${kid}${index === 0 ? ', seals' : ', opens only'}]`),
    upstream: {
      ...config.upstream,
      clientSecret: config.upstream.clientSecret === undefined ? undefined : '[redacted]',
    },
    upstreams: Object.fromEntries(
      Object.entries(config.upstreams).map(([name, upstream]) => [name, { ...upstream, clientSecret: upstream.clientSecret === undefined ? undefined : '[redacted]' }]),
    ),
    routes: config.routes.map((route) => ({
      ...route,
      url: route.url.href,
      apiKey: route.apiKey === undefined ? undefined : '[redacted]',
      clientSecret: route.clientSecret === undefined ? undefined : '[redacted]',
    })),
    clients: config.clients.map((client) => ({ ...client, client_secret: client.client_secret === undefined ? undefined : '[redacted]' })),
  };
}
