import { randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectMcpRequest } from '../../src/mcp/inspection/inspect-request.js';
import type { Inspection } from '../../src/mcp/inspection/inspect-request.js';
import { compileToolPolicy } from '../../src/mcp/inspection/tool-policy.js';
import type { Forwarder } from '../../src/proxy/forwarder.js';
import { outboundRequestHeaders } from '../../src/proxy/outbound-headers.js';
import { UndiciForwarder } from '../../src/proxy/undici-forwarder.js';
import { drain, recordingLogger, serveApp } from '../proxy/harness.js';
import { startMcpDownstream } from '../proxy/mcp-downstream.js';
import type { McpDownstream, Seen } from '../proxy/mcp-downstream.js';

/**
 * The MCP route as the lead wires it: authorize (not here), inspect, answer locally or forward.
 * Served through undici (Node objects) and in-process (fetch fallback).
 */
const policy = compileToolPolicy({ disabled: ['delete_*'], restricted: { 'admin_*': ['admins'] } });
const inspections: Inspection[] = [];

function mcpApp(forwarder: Forwarder, origin: string): Hono {
  const app = new Hono();
  app.all('/mcp', async (c) => {
    c.header('x-request-id', 'req-42');
    const groups = (c.req.header('x-test-groups') ?? '').split(',').filter(Boolean);
    const inspection = await inspectMcpRequest(c, {
      isAllowed: policy.restrictsAnything ? (name) => policy.isAllowed(name, groups) : undefined,
    });
    inspections.push(inspection);
    if (inspection.kind === 'answer') return inspection.response;
    const target = new URL(`${c.req.header('x-target') ?? '/echo'}?case=${c.req.header('x-case') ?? ''}`, origin);
    const headers = outboundRequestHeaders(c.req.raw.headers, { credential: { authorization: 'Bearer downstream' } });
    return forwarder.forward(c, { target, headers, ...inspection.forward });
  });
  return app;
}

let downstream: McpDownstream;
const senders = new Map<string, (init: RequestInit) => Promise<Response>>();
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  downstream = await startMcpDownstream();
  const forwarder = new UndiciForwarder({ headersTimeoutMs: 2000, logger: recordingLogger(), closeGraceMs: 50 });
  cleanups.push(() => forwarder.close());
  const app = mcpApp(forwarder, downstream.origin);
  const served = await serveApp(app);
  cleanups.push(served.close);
  senders.set('served (undici)', (init) => fetch(`${served.origin}/mcp`, init));
  senders.set('in-process (fetch fallback)', async (init) => app.request('/mcp', init));
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await downstream.close();
});

describe.each(['served (undici)', 'in-process (fetch fallback)'])('the inspected MCP route, %s', (mode) => {
  const post = (body: string, headers: Record<string, string> = {}) => {
    const caseId = randomUUID();
    const response = senders.get(mode)!({
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'x-case': caseId, ...headers },
      body,
    });
    return { caseId, response };
  };
  const call = (id: number, name: string) => JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: {} } });

  it('forwards an allowed call with its exact body', async () => {
    const body = call(1, 'search').replace('{', '{ ');
    const { caseId, response } = post(body, { 'mcp-method': 'tools/call', 'mcp-name': 'search' });
    const res = await response;
    expect(res.status).toBe(200);
    expect(((await res.json()) as Seen).body).toBe(body);
    expect(downstream.seen(caseId)).toHaveLength(1);
  });

  it('answers a disabled tool with a JSON-RPC error, never reaching the server', async () => {
    const { caseId, response } = post(call(2, 'delete_user'));
    const res = await response;
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('req-42');
    expect(await res.json()).toEqual({ jsonrpc: '2.0', id: 2, error: { code: -32602, message: 'Tool delete_user is not available' } });
    expect(downstream.seen(caseId)).toHaveLength(0);
    expect(inspections.at(-1)).toMatchObject({ kind: 'answer', reason: 'tool_refused' });
  });

  it('lets group members call restricted tools, and refuses others', async () => {
    const refused = post(call(3, 'admin_reset'), { 'x-test-groups': 'staff' });
    expect(((await (await refused.response).json()) as { error: { code: number } }).error.code).toBe(-32602);
    expect(downstream.seen(refused.caseId)).toHaveLength(0);
    const allowed = post(call(3, 'admin_reset'), { 'x-test-groups': 'staff,admins' });
    expect((await allowed.response).status).toBe(200);
    expect(downstream.seen(allowed.caseId)).toHaveLength(1);
  });

  it('refuses an allowed tool name in Mcp-Name that hides a disabled call in the body', async () => {
    const { caseId, response } = post(call(4, 'delete_user'), { 'mcp-method': 'tools/call', 'mcp-name': 'search' });
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
    const json = post(list, { 'x-target': '/tools-json' });
    const tools = ((await (await json.response).json()) as { result: { tools: Array<{ name: string }> } }).result.tools;
    expect(tools.map((t) => t.name)).toEqual(['search', 'read']);

    const sse = post(list, { 'x-target': '/tools-sse' });
    const res = await sse.response;
    downstream.release(sse.caseId);
    const text = await drain(res.body!.getReader());
    const resultLine = text.split('\r\n').find((line) => line.includes('"result"'))!;
    expect((JSON.parse(resultLine.slice('data: '.length)) as { result: { tools: Array<{ name: string }> } }).result.tools.map((t) => t.name)).toEqual(['search', 'read']);
  });
});
