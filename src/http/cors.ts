import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import { CORS_POLICY } from '../domain/cors.js';

/** CORS on the OAuth endpoints and metadata, for browser-based MCP clients (the MCP routes apply the same policy themselves). */
export const apiCors = (): MiddlewareHandler =>
  cors({
    origin: '*',
    allowMethods: [...CORS_POLICY.allowMethods],
    allowHeaders: [...CORS_POLICY.allowHeaders],
    exposeHeaders: [...CORS_POLICY.exposeHeaders],
    maxAge: CORS_POLICY.maxAgeSeconds,
  });
