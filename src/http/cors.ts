import { cors } from 'hono/cors';

/**
 * CORS for browser-based MCP clients on metadata, registration, token and MCP
 * endpoints (never /authorize). Bearer tokens, not cookies, so no credentials mode.
 */
export const apiCors = () =>
  cors({
    origin: '*',
    allowMethods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
    allowHeaders: [
      'Authorization',
      'Content-Type',
      'Accept',
      'MCP-Protocol-Version',
      'Mcp-Session-Id',
      'Last-Event-ID',
      'Mcp-Method',
      'Mcp-Name',
    ],
    exposeHeaders: ['WWW-Authenticate', 'Mcp-Session-Id', 'MCP-Protocol-Version'],
    maxAge: 86400,
  });
