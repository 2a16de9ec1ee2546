import { describe, expect, it } from 'vitest';
import { idKey, parseJsonRpcBody, toolsListRequestIds } from '../../src/mcp/inspection/jsonrpc.js';
import type { JsonRpcParseResult, JsonRpcSummary } from '../../src/mcp/inspection/jsonrpc.js';
import { rawIdLexemes } from '../../src/mcp/inspection/raw-ids.js';

const bytes = (text: string) => new TextEncoder().encode(text);
const parse = (text: string) => parseJsonRpcBody(bytes(text));

function summaryOf(result: JsonRpcParseResult): JsonRpcSummary {
  if (!result.ok) throw new Error(`expected a summary, got ${result.error}: ${result.detail}`);
  return result.summary;
}

describe('parseJsonRpcBody: valid bodies', () => {
  it('summarizes a single tools/call request', () => {
    const summary = summaryOf(parse('{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"search","arguments":{"q":"x"}}}'));
    expect(summary).toEqual({
      batch: false,
      messages: [{ id: 7, idJson: '7', method: 'tools/call', toolName: 'search', mcpName: 'search', isNotification: false, isResponse: false }],
    });
  });

  it('takes Mcp-Name from params.uri for resources/read and sets no toolName', () => {
    const [message] = summaryOf(parse('{"jsonrpc":"2.0","id":"r1","method":"resources/read","params":{"uri":"file:///a.txt"}}')).messages;
    expect(message).toMatchObject({ id: 'r1', idJson: '"r1"', method: 'resources/read', mcpName: 'file:///a.txt' });
    expect(message!.toolName).toBeUndefined();
  });

  it('recognizes notifications (no id) and responses the client sends', () => {
    const summary = summaryOf(
      parse(
        '[{"jsonrpc":"2.0","method":"notifications/initialized"},' +
          '{"jsonrpc":"2.0","id":3,"result":{}},' +
          '{"jsonrpc":"2.0","id":4,"error":{"code":-1,"message":"no"}},' +
          '{"jsonrpc":"2.0","id":5,"method":"tools/list"}]',
      ),
    );
    expect(summary.batch).toBe(true);
    expect(summary.messages.map((m) => [m.id, m.method, m.isNotification, m.isResponse])).toEqual([
      [undefined, 'notifications/initialized', true, false],
      [3, undefined, false, true],
      [4, undefined, false, true],
      [5, 'tools/list', false, false],
    ]);
    expect(summary.messages[0]!.idJson).toBeUndefined();
  });

  it('treats a tools/call without id as a notification that still names its tool', () => {
    const [message] = summaryOf(parse('{"jsonrpc":"2.0","method":"tools/call","params":{"name":"delete_all"}}')).messages;
    expect(message).toMatchObject({ isNotification: true, toolName: 'delete_all', id: undefined });
  });

  it('accepts a null id and array params, and a UTF-8 BOM', () => {
    const summary = summaryOf(parse('\uFEFF{"jsonrpc":"2.0","id":null,"method":"ping","params":[]}'));
    expect(summary.messages[0]).toMatchObject({ id: null, idJson: 'null', method: 'ping', isNotification: false });
  });

  it('keeps the exact text of ids JSON numbers cannot round-trip', () => {
    const huge = '123456789012345678901234567890';
    const summary = summaryOf(parse(`[{"jsonrpc":"2.0","id":${huge},"method":"tools/list"},{"jsonrpc":"2.0","id":1.50,"method":"ping"},{"jsonrpc":"2.0","id":9007199254740993,"method":"ping"}]`));
    expect(summary.messages.map((m) => m.idJson)).toEqual([huge, '1.50', '9007199254740993']);
    expect(typeof summary.messages[0]!.id).toBe('number');
  });

  it('keeps minus zero as the client wrote it, the last of duplicate ids as JSON.parse does', () => {
    const summary = summaryOf(parse('{"jsonrpc":"2.0","id":"","id":\n\t-0,"method":"ping"}'));
    expect(summary.messages[0]!.idJson).toBe('-0');
    // The control: a plain zero is echoed from the parsed value.
    expect(summaryOf(parse('{"jsonrpc":"2.0","id":0,"method":"ping"}')).messages[0]!.idJson).toBe('0');
  });

  it('finds the raw id of the last duplicate and of escaped keys, past nested ids and strings with quotes', () => {
    const text = '[{"params":{"id":1,"s":"a\\"}{[id"},"id":11111111111111111111,"id":22222222222222222222}, 5, {"\\u0069d":33333333333333333333}]';
    expect(rawIdLexemes(text)).toEqual(['22222222222222222222', undefined, '33333333333333333333']);
    // And the parser agrees with JSON.parse about which duplicate wins.
    expect(JSON.parse(text)[0].id).toBe(22222222222222222222);
  });

  it('does not let __proto__ members change what is read', () => {
    const withProto = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"__proto__":{"name":"evil"},"name":"safe"}}';
    expect(summaryOf(parse(withProto)).messages[0]!.toolName).toBe('safe');
    // A name only reachable through a __proto__ member is no name at all.
    const onlyProto = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"__proto__":{"name":"evil"}}}';
    expect(parse(onlyProto)).toMatchObject({ ok: false, error: 'invalid_request' });
    const topProto = '{"__proto__":{"jsonrpc":"2.0","method":"tools/list"},"id":1}';
    expect(parse(topProto)).toMatchObject({ ok: false, error: 'invalid_request' });
    expect(({} as Record<string, unknown>)['name']).toBeUndefined();
  });
});

describe('parseJsonRpcBody: refused bodies', () => {
  it.each([
    ['empty', ''],
    ['truncated', '{"jsonrpc":"2.0","id":1,'],
    ['not JSON', 'hello'],
    ['trailing garbage', '{"jsonrpc":"2.0","id":1,"method":"ping"} x'],
  ])('answers parse_error for %s', (_name, text) => {
    expect(parse(text)).toMatchObject({ ok: false, error: 'parse_error' });
  });

  it('answers parse_error for invalid UTF-8', () => {
    const body = new Uint8Array([...bytes('{"jsonrpc":"2.0","id":1,"method":"'), 0xff, 0xfe, ...bytes('"}')]);
    expect(parseJsonRpcBody(body)).toMatchObject({ ok: false, error: 'parse_error' });
  });

  it.each([
    ['a number', '42'],
    ['a string', '"tools/call"'],
    ['null', 'null'],
    ['an empty batch', '[]'],
    ['a wrong version', '{"jsonrpc":"1.0","id":1,"method":"ping"}'],
    ['no version', '{"id":1,"method":"ping"}'],
    ['a numeric method', '{"jsonrpc":"2.0","id":1,"method":5}'],
    ['an object id', '{"jsonrpc":"2.0","id":{},"method":"ping"}'],
    ['a boolean id', '{"jsonrpc":"2.0","id":true,"method":"ping"}'],
    ['scalar params', '{"jsonrpc":"2.0","id":1,"method":"ping","params":"x"}'],
    ['null params', '{"jsonrpc":"2.0","id":1,"method":"ping","params":null}'],
    ['tools/call without a name', '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"arguments":{}}}'],
    ['tools/call with a numeric name', '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":1}}'],
    ['tools/call without params', '{"jsonrpc":"2.0","id":1,"method":"tools/call"}'],
    ['a response without id', '{"jsonrpc":"2.0","result":{}}'],
    ['both result and error', '{"jsonrpc":"2.0","id":1,"result":{},"error":{}}'],
    ['neither method nor result', '{"jsonrpc":"2.0","id":1}'],
    ['a batch with one bad element', '[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":2}]'],
    ['a nested batch', '[[{"jsonrpc":"2.0","id":1,"method":"ping"}]]'],
  ])('answers invalid_request for %s', (_name, text) => {
    const result = parse(text);
    expect(result).toMatchObject({ ok: false, error: 'invalid_request' });
    if (!result.ok) expect(result.detail.length).toBeGreaterThan(0);
  });
});

describe('ids', () => {
  it('idKey tells strings from numbers', () => {
    expect(idKey(1)).not.toBe(idKey('1'));
    expect(idKey('a')).toBe(idKey('a'));
  });

  it('toolsListRequestIds lists the tools/list requests, not notifications or other methods', () => {
    const summary = summaryOf(
      parse('[{"jsonrpc":"2.0","id":1,"method":"tools/list"},{"jsonrpc":"2.0","method":"tools/list"},{"jsonrpc":"2.0","id":"2","method":"tools/list"},{"jsonrpc":"2.0","id":3,"method":"ping"}]'),
    );
    expect([...toolsListRequestIds(summary)]).toEqual([idKey(1), idKey('2')]);
  });
});
