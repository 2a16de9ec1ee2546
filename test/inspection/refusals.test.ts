import { answerResponse } from '../../src/proxy/web-answer.js';
import { describe, expect, it } from 'vitest';
import { parseJsonRpcBody } from '../../src/mcp/inspection/jsonrpc.js';
import type { JsonRpcSummary } from '../../src/mcp/inspection/jsonrpc.js';
import { checkMcpHeaders } from '../../src/mcp/inspection/mcp-headers.js';
import {
  bodyTooLargeAnswer,
  headerMismatchAnswer,
  localAnswer,
  malformedBodyAnswer,
  refusedToolCalls,
  toolRefusal,
} from '../../src/mcp/inspection/refusals.js';
import type { LocalAnswer } from '../../src/mcp/inspection/refusals.js';

function summary(text: string): JsonRpcSummary {
  const result = parseJsonRpcBody(new TextEncoder().encode(text));
  if (!result.ok) throw new Error(result.detail);
  return result.summary;
}

const allowed = (name: string) => !name.startsWith('delete_');
const json = (answer: LocalAnswer) => JSON.parse(answer.body!) as unknown;

describe('tool refusals', () => {
  it('finds the refused calls, notifications included, and nothing else', () => {
    const s = summary(
      '[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete_x"}},' +
        '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"read_x"}},' +
        '{"jsonrpc":"2.0","method":"tools/call","params":{"name":"delete_y"}},' +
        '{"jsonrpc":"2.0","id":3,"method":"prompts/get","params":{"name":"delete_z"}}]',
    );
    expect(refusedToolCalls(s, allowed).map((m) => m.toolName)).toEqual(['delete_x', 'delete_y']);
  });

  it('answers a single refused call with HTTP 200 and a -32602 error carrying its id', () => {
    const s = summary('{"jsonrpc":"2.0","id":"abc","method":"tools/call","params":{"name":"delete_x"}}');
    const answer = toolRefusal(s, refusedToolCalls(s, allowed));
    expect(answer.status).toBe(200);
    expect(json(answer)).toEqual({ jsonrpc: '2.0', id: 'abc', error: { code: -32602, message: 'Tool delete_x is not available' } });
  });

  it('echoes an id that JSON numbers cannot hold, exactly', () => {
    const s = summary('{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"tools/call","params":{"name":"delete_x"}}');
    const answer = toolRefusal(s, refusedToolCalls(s, allowed));
    expect(answer.body).toContain('"id":123456789012345678901234567890,');
  });

  it('answers a whole batch locally: refused calls -32602, the other requests -32600, notifications nothing', () => {
    const s = summary(
      '[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete_x"}},' +
        '{"jsonrpc":"2.0","id":2,"method":"tools/list"},' +
        '{"jsonrpc":"2.0","method":"notifications/initialized"},' +
        '{"jsonrpc":"2.0","id":9,"result":{}}]',
    );
    const answer = toolRefusal(s, refusedToolCalls(s, allowed));
    expect(answer.status).toBe(200);
    expect(json(answer)).toEqual([
      { jsonrpc: '2.0', id: 1, error: { code: -32602, message: 'Tool delete_x is not available' } },
      { jsonrpc: '2.0', id: 2, error: { code: -32600, message: 'Batch refused: it contains a call to a tool that is not available' } },
    ]);
  });

  it('gives a refused lone notification, or a batch of notifications, HTTP 400 and no body', () => {
    const single = summary('{"jsonrpc":"2.0","method":"tools/call","params":{"name":"delete_x"}}');
    expect(toolRefusal(single, refusedToolCalls(single, allowed))).toEqual({ status: 400, body: null });
    const batch = summary('[{"jsonrpc":"2.0","method":"tools/call","params":{"name":"delete_x"}},{"jsonrpc":"2.0","method":"notifications/x"}]');
    expect(toolRefusal(batch, refusedToolCalls(batch, allowed))).toEqual({ status: 400, body: null });
  });

  it('shortens very long tool names in the message', () => {
    const name = `delete_${'x'.repeat(10_000)}`;
    const s = summary(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name } }));
    const message = (json(toolRefusal(s, refusedToolCalls(s, allowed))) as { error: { message: string } }).error.message;
    expect(message.length).toBeLessThan(200);
    expect(message.startsWith('Tool delete_xxx')).toBe(true);
  });
});

describe('other local answers', () => {
  it('malformed bodies: -32700 and -32600 with HTTP 400 and a null id', () => {
    expect(malformedBodyAnswer('parse_error').status).toBe(400);
    expect(json(malformedBodyAnswer('parse_error'))).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } });
    expect(json(malformedBodyAnswer('invalid_request'))).toMatchObject({ id: null, error: { code: -32600 } });
  });

  it('header mismatch: HTTP 400, -32020, the request id echoed', () => {
    const s = summary('{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"read_x"}}');
    const check = checkMcpHeaders(new Headers({ 'mcp-name': 'other' }), s);
    if (check.ok) throw new Error('expected a mismatch');
    const answer = headerMismatchAnswer(check, s);
    expect(answer.status).toBe(400);
    expect(json(answer)).toEqual({ jsonrpc: '2.0', id: 5, error: { code: -32020, message: 'Header mismatch: Mcp-Name does not match the request body' } });
  });

  it('header mismatch on a batch has a null id', () => {
    const s = summary('[{"jsonrpc":"2.0","id":5,"method":"ping"}]');
    const check = checkMcpHeaders(new Headers({ 'mcp-method': 'ping' }), s);
    if (check.ok) throw new Error('expected a refusal');
    expect(json(headerMismatchAnswer(check, s))).toMatchObject({ id: null, error: { code: -32020 } });
  });

  it('too large: HTTP 413', () => {
    const answer = bodyTooLargeAnswer(4 * 1024 * 1024);
    expect(answer.status).toBe(413);
    expect(json(answer)).toMatchObject({ id: null, error: { code: -32600 } });
  });

  it('localAnswer, as sent, keeps the headers the proxy set and marks answers no-store', async () => {
    const response = answerResponse(localAnswer(malformedBodyAnswer('parse_error')), { 'x-request-id': 'req-9' });
    expect(response.status).toBe(400);
    expect(response.headers.get('x-request-id')).toBe('req-9');
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(((await response.json()) as { error: { code: number } }).error.code).toBe(-32700);
    const empty = answerResponse(localAnswer({ status: 400, body: null }), { 'x-request-id': 'req-9' });
    expect(empty.status).toBe(400);
    expect(await empty.text()).toBe('');
    expect(empty.headers.get('content-type')).toBeNull();
  });
});
