import { Hono } from 'hono';
import { issuedBeforeRequestSchema, revokeEverythingIssuedBefore } from '../admin/revoke-issued-before.js';
import { shortDigest, timingSafeEqualStrings } from '../crypto/encoding.js';
import { wireSafe } from '../oauth/errors.js';
import { requestIdOf } from './access-log.js';
import type { AppDeps } from './deps.js';
import { PATHS } from '../domain/paths.js';

const NO_STORE = { 'Cache-Control': 'no-store' } as const;
const BEARER = /^Bearer[ ]+(\S+)$/i;

/**
 * The operator's API, behind its own bearer token (CAPSULE_ADMIN_TOKEN); absent
 * when no token is configured. Errors follow RFC 6750 like the rest of the proxy.
 */
export function adminRoutes(deps: AppDeps, token: string): Hono {
  const app = new Hono();

  app.use(`${PATHS.admin}/*`, async (c, next) => {
    const presented = BEARER.exec(c.req.header('authorization') ?? '')?.[1];
    if (presented === undefined || !timingSafeEqualStrings(presented, token)) {
      deps.logger.warn('admin request refused', { path: c.req.path });
      return c.json({ error: 'invalid_token', error_description: 'A valid admin token is required.' }, 401, {
        ...NO_STORE,
        'WWW-Authenticate': 'Bearer realm="mcp-capsule-admin", error="invalid_token"',
      });
    }
    await next();
  });

  app.post(PATHS.adminRevoke, async (c) => {
    const body = await readBody(c.req.raw);
    const parsed = issuedBeforeRequestSchema.safeParse(body);
    if (!parsed.success) {
      const description = parsed.error.issues.map((issue) => issue.message).join('; ');
      // The schema's messages quote the caller's input (unknown keys): keep them to RFC 6749 §5.2's character set.
      return c.json({ error: 'invalid_request', error_description: wireSafe(`Send {user: subject} or {client: client_id}: ${description}.`) }, 400, NO_STORE);
    }
    const result = await revokeEverythingIssuedBefore(deps.replay, parsed.data, {
      nowSeconds: Math.floor(deps.clock() / 1000),
      refreshTtlSeconds: deps.config.ttl.refreshToken,
    });
    deps.audit.record({
      event: 'revoked_issued_before',
      request_id: requestIdOf(c),
      ...(parsed.data.user !== undefined ? { user: { sub: parsed.data.user } } : {}),
      // A client_id may be a long sealed registration; the audit log names clients by digest.
      ...(parsed.data.client !== undefined ? { client: { id: parsed.data.client.length <= 64 ? parsed.data.client : await shortDigest(parsed.data.client) } } : {}),
      outcome: 'allowed',
    });
    deps.logger.info('tokens issued before now revoked', { target: parsed.data.user !== undefined ? 'user' : 'client', not_before: result.not_before });
    return c.json({ revoked: parsed.data.user !== undefined ? 'user' : 'client', ...result }, 200, NO_STORE);
  });

  return app;
}

/** JSON or form-encoded; anything unreadable becomes a value the schema refuses. */
async function readBody(request: Request): Promise<unknown> {
  const type = request.headers.get('content-type') ?? '';
  const text = await request.text().catch(() => '');
  if (text.length > 16_384) return null;
  if (type.startsWith('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(text));
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
