import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/http/app.js';
import { createForwarder } from '../../src/proxy/index.js';
import { buildDeps, type BuiltDeps } from '../../src/runtime/deps.js';
import { accessTokenFor, register } from '../support/oauth-flow.js';
import { LogCapture, Stack } from '../support/stack.js';
import { drain } from '../proxy/harness.js';
import { startMcpDownstream } from '../proxy/mcp-downstream.js';
import type { McpDownstream, Seen } from '../proxy/mcp-downstream.js';

/**
 * The MCP routes as the app mounts them (authenticate, inspect, answer locally or forward), with a
 * tool policy and an MCP-shaped downstream. Served by the Node proxy (undici) and, with the same
 * configuration and tokens, by the app in-process (the fetch forwarder).
 */
const TOOLS = { disabled: ['delete_*'], restricted: { 'admin_*': ['admins'] } };
/** Each route forwards to one of the downstream's behaviours. */
const ROUTES = { '/mcp': '/echo', '/mcp-json': '/tools-json', '/mcp-sse': '/tools-sse' } as const;
type RoutePath = keyof typeof ROUTES;

let downstream: McpDownstream;
let stack: Stack;
/** Access tokens by login and route; stateless, so the in-process app accepts the stack's. */
const tokens = new Map<string, string>();
const inProcessLogs = new LogCapture();
let inProcess: { app: ReturnType<typeof createApp>; deps: BuiltDeps };

beforeAll(async () => {
  downstream = await startMcpDownstream();
  stack = await Stack.start({
    routesFromDemo: () => Object.entries(ROUTES).map(([path, target]) => ({ path, url: `${downstream.origin}${target}`, tools: TOOLS, timeout: 2 })),
  });
  const client = await register(stack.publicUrl);
  // The embedded identity provider puts logins starting with "admin" in the admins group.
  for (const login of ['nina', 'admin-otto']) {
    for (const route of Object.keys(ROUTES)) tokens.set(`${login} ${route}`, await accessTokenFor(stack.publicUrl, client, { login, route }));
  }
  const deps = await buildDeps(stack.config, {
    logger: inProcessLogs.logger,
    audit: inProcessLogs.audit,
    createForwarder: (headersTimeoutMs) => createForwarder({ runtime: 'web', headersTimeoutMs, logger: inProcessLogs.logger }),
  });
  inProcess = { app: createApp(deps), deps };
});

afterAll(async () => {
  await inProcess?.deps.close();
  await stack?.close();
  await downstream?.close();
});

interface Mode {
  /** `target` is a route's path and query. */
  send(target: string, init: RequestInit): Promise<Response>;
  /** The audit event the app recorded for a request id. */
  audited(requestId: string): Record<string, unknown> | undefined;
}

const MODES: Record<string, () => Mode> = {
  'served (undici)': () => ({
    send: (target, init) => fetch(`${stack.publicUrl}${target}`, init),
    audited: (id) => stack.logs.auditEvents.find((event) => event.event === 'mcp_request' && event.request_id === id),
  }),
  'in-process (fetch fallback)': () => ({
    send: async (target, init) => inProcess.app.request(`${stack.publicUrl}${target}`, init),
    audited: (id) => inProcessLogs.auditEvents.find((event) => event.event === 'mcp_request' && event.request_id === id),
  }),
};

describe.each(Object.keys(MODES))('the inspected MCP route, %s', (mode) => {
  const post = (body: string, options: { headers?: Record<string, string>; route?: RoutePath; login?: string } = {}) => {
    const caseId = randomUUID();
    const requestId = `req-${caseId}`;
    const route = options.route ?? '/mcp';
    // The incoming query reaches the downstream, which files what it saw under the case id.
    const response = MODES[mode]!().send(`${route}?case=${caseId}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${tokens.get(`${options.login ?? 'nina'} ${route}`)!}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'x-request-id': requestId,
        ...options.headers,
      },
      body,
    });
    return { caseId, requestId, response };
  };
  const call = (id: number, name: string) => JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: {} } });

  it('forwards an allowed call with its exact body', async () => {
    const body = call(1, 'search').replace('{', '{ ');
    const { caseId, response } = post(body, { headers: { 'mcp-method': 'tools/call', 'mcp-name': 'search' } });
    const res = await response;
    expect(res.status).toBe(200);
    expect(((await res.json()) as Seen).body).toBe(body);
    expect(downstream.seen(caseId)).toHaveLength(1);
  });

  it('answers a disabled tool with a JSON-RPC error, never reaching the server', async () => {
    const { caseId, requestId, response } = post(call(2, 'delete_user'));
    const res = await response;
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe(requestId);
    expect(await res.json()).toEqual({ jsonrpc: '2.0', id: 2, error: { code: -32602, message: 'Tool delete_user is not available' } });
    expect(downstream.seen(caseId)).toHaveLength(0);
    expect(MODES[mode]!().audited(requestId)).toMatchObject({ outcome: 'denied', reason: 'tool_refused' });
  });

  it('lets group members call restricted tools, and refuses others', async () => {
    const refused = post(call(3, 'admin_reset'), { login: 'nina' });
    expect(((await (await refused.response).json()) as { error: { code: number } }).error.code).toBe(-32602);
    expect(downstream.seen(refused.caseId)).toHaveLength(0);
    const allowed = post(call(3, 'admin_reset'), { login: 'admin-otto' });
    expect((await allowed.response).status).toBe(200);
    expect(downstream.seen(allowed.caseId)).toHaveLength(1);
  });

  it('refuses an allowed tool name in Mcp-Name that hides a disabled call in the body', async () => {
    const { caseId, response } = post(call(4, 'delete_user'), { headers: { 'mcp-method': 'tools/call', 'mcp-name': 'search' } });
    const res = await response;
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ id: 4, error: { code: -32020 } });
    expect(downstream.seen(caseId)).toHaveLength(0);
  });

  it('refuses a batch containing a disabled call as a whole', async () => {
    const { caseId, response } = post(`[${call(5, 'search')},${call(6, 'delete_user')}]`);
    const res = await response;
    const answers = (await res.json()) as Array<{ id: number; error: { code: number } }>;
    expect(answers.map((a) => [a.id, a.error.code])).toEqual([[5, -32600], [6, -32602]]);
    expect(downstream.seen(caseId)).toHaveLength(0);
  });

  it('answers bodies that are not JSON-RPC with 400', async () => {
    const notJson = post('{"jsonrpc":');
    expect((await notJson.response).status).toBe(400);
    const notRpc = post('{"hello":"world"}');
    const res = await notRpc.response;
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: number } }).error.code).toBe(-32600);
    expect(downstream.seen(notJson.caseId)).toHaveLength(0);
  });

  it('filters tools/list in JSON and SSE responses', async () => {
    const list = JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' });
    const json = post(list, { route: '/mcp-json' });
    const tools = ((await (await json.response).json()) as { result: { tools: Array<{ name: string }> } }).result.tools;
    expect(tools.map((t) => t.name)).toEqual(['search', 'read']);

    const sse = post(list, { route: '/mcp-sse' });
    const res = await sse.response;
    downstream.release(sse.caseId);
    const text = await drain(res.body!.getReader());
    const resultLine = text.split('\r\n').find((line) => line.includes('"result"'))!;
    expect((JSON.parse(resultLine.slice('data: '.length)) as { result: { tools: Array<{ name: string }> } }).result.tools.map((t) => t.name)).toEqual(['search', 'read']);
  });
});
