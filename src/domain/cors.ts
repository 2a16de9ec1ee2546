/**
 * CORS for browser-based MCP clients on metadata, registration, token and MCP endpoints (never
 * /authorize). Bearer tokens, not cookies, so any origin and no credentials mode.
 */
export const CORS_POLICY = {
  allowMethods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
  allowHeaders: ['Authorization', 'Content-Type', 'Accept', 'MCP-Protocol-Version', 'Mcp-Session-Id', 'Last-Event-ID', 'Mcp-Method', 'Mcp-Name'],
  exposeHeaders: ['WWW-Authenticate', 'Mcp-Session-Id', 'MCP-Protocol-Version'],
  maxAgeSeconds: 86400,
} as const;

/** What every answer to a browser carries (the request sent Origin). */
export const CORS_RESPONSE_HEADERS: Readonly<Record<string, string>> = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers': CORS_POLICY.exposeHeaders.join(','),
};

/** What the answer to a preflight carries besides. */
export const CORS_PREFLIGHT_HEADERS: Readonly<Record<string, string>> = {
  ...CORS_RESPONSE_HEADERS,
  'access-control-max-age': String(CORS_POLICY.maxAgeSeconds),
  'access-control-allow-methods': CORS_POLICY.allowMethods.join(','),
  'access-control-allow-headers': CORS_POLICY.allowHeaders.join(','),
  vary: 'Access-Control-Request-Headers',
};
