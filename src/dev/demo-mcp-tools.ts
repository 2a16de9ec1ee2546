import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import * as z from 'zod';

/** The credential-bearing headers a proxy may add; whoami reports exactly these. */
export const FORWARDED_CREDENTIAL_HEADERS = [
  'authorization',
  'x-forwarded-user',
  'x-forwarded-email',
  'x-forwarded-name',
  'x-forwarded-access-token',
] as const;

const MAX_DELAY_MS = 5_000;

/**
 * One MCP server per session (the SDK binds a server to one transport). The tools exist to show
 * and test what a proxy does: echo round-trips, whoami reveals forwarded credentials, countdown
 * streams progress over SSE.
 */
export function createDemoMcpTools(): McpServer {
  const server = new McpServer({ name: 'mcp-capsule-demo', version: '1.0.0' });

  server.registerTool(
    'echo',
    { description: 'Returns the text it was given.', inputSchema: { text: z.string() } },
    async ({ text }) => ({ content: [{ type: 'text', text }] }),
  );

  server.registerTool(
    'whoami',
    { description: 'Shows the credentials this server received on the HTTP request that carried the call.' },
    async (extra) => {
      const headers = extra.requestInfo?.headers ?? {};
      const seen = Object.fromEntries(
        FORWARDED_CREDENTIAL_HEADERS.map((name) => {
          const value = headers[name];
          return [name, Array.isArray(value) ? value.join(', ') : (value ?? null)];
        }),
      );
      return { content: [{ type: 'text', text: JSON.stringify(seen, null, 2) }] };
    },
  );

  server.registerTool(
    'countdown',
    {
      description: 'Counts down, sending notifications/progress for each step when asked for progress, then returns "liftoff".',
      inputSchema: {
        from: z.number().int().min(1).max(10),
        delayMs: z.number().int().min(0).max(MAX_DELAY_MS).optional(),
      },
    },
    async ({ from, delayMs = 100 }, extra) => {
      const progressToken = extra._meta?.progressToken;
      for (let remaining = from; remaining >= 1; remaining--) {
        if (extra.signal.aborted) return { content: [{ type: 'text', text: `aborted at ${remaining}` }], isError: true };
        if (progressToken !== undefined) {
          await extra.sendNotification({
            method: 'notifications/progress',
            params: { progressToken, progress: from - remaining + 1, total: from, message: String(remaining) },
          });
        }
        // The pause between events is what proves a proxy streams instead of buffering.
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
      return { content: [{ type: 'text', text: 'liftoff' }] };
    },
  );

  return server;
}
