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
      ...(route.auth === 'api-key' ? { apiKey: '[redacted]' } : {}),
      ...('clientSecret' in route && route.clientSecret !== undefined ? { clientSecret: '[redacted]' } : {}),
    })),
    redis: { ...config.redis, url: config.redis.url === undefined ? undefined : redactedRedisUrl(config.redis.url) },
    admin: { token: config.admin.token === undefined ? undefined : '[redacted]' },
    clients: config.clients.map((client) => ({ ...client, client_secret: client.client_secret === undefined ? undefined : '[redacted]' })),
  };
}

/** The password in a Redis URL is a secret; the host is not. */
function redactedRedisUrl(value: string): string {
  const url = new URL(value);
  if (url.password) url.password = 'redacted';
  return url.href;
}
