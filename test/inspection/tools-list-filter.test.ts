import { describe, expect, it } from 'vitest';
import { idKey } from '../../src/mcp/inspection/jsonrpc.js';
import {
  createJsonToolsListRewriter,
  createSseToolsListRewriter,
  toolsListResponseRewrite,
} from '../../src/mcp/inspection/tools-list-filter.js';
import type { ToolsListFilterOptions } from '../../src/mcp/inspection/tools-list-filter.js';
import { dec, enc, parseSse, run, splitAt } from './sse-helpers.js';

const isAllowed = (name: string) => !name.startsWith('delete_') && name !== 'admin';
const tools = [
  { name: 'search', description: 'Find things', inputSchema: { type: 'object' } },
  { name: 'delete_user', inputSchema: { type: 'object' } },
  { name: 'admin', inputSchema: { type: 'object' } },
  { name: 'read', inputSchema: { type: 'object', properties: { n: { type: 'integer', maximum: 10 } } } },
];
const kept = [tools[0], tools[3]];

function options(ids: Array<string | number> | 'any', extra: Partial<ToolsListFilterOptions> = {}): ToolsListFilterOptions {
  return { requestIds: ids === 'any' ? 'any' : new Set(ids.map((id) => idKey(id))), isAllowed, ...extra };
}

const listResponse = (id: unknown, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ jsonrpc: '2.0', id, result: { tools, nextCursor: 'c2', ...extra } });

describe('JSON tools/list filter', () => {
  it('removes disallowed tools from the matching response, keeping everything else', () => {
    const removed: string[][] = [];
    const out = JSON.parse(dec(run(createJsonToolsListRewriter(options([1], { onFiltered: (r) => removed.push([...r]) })), [enc(listResponse(1, { _meta: { a: 1 } }))])));
    expect(out).toEqual({ jsonrpc: '2.0', id: 1, result: { tools: kept, nextCursor: 'c2', _meta: { a: 1 } } });
    expect(removed).toEqual([['delete_user', 'admin']]);
  });

  it('gives the same result wherever the body is split', () => {
    const body = enc(listResponse('abc'));
    const expected = dec(run(createJsonToolsListRewriter(options(['abc'])), [body]));
    expect(JSON.parse(expected).result.tools).toEqual(kept);
    for (let at = 0; at <= body.length; at += 7) {
      expect(dec(run(createJsonToolsListRewriter(options(['abc'])), splitAt(body, [at, Math.min(body.length, at + 3)])))).toBe(expected);
    }
  });

  it.each([
    ['another id', listResponse(2)],
    ['the same id as a string', listResponse('1')],
    ['an error response', '{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"nope"}}'],
    ['a request from the server', '{"jsonrpc":"2.0","id":1,"method":"tools/list","result":{"tools":[{"name":"delete_x"}]}}'],
    ['invalid JSON', '{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"delete_x"}]'],
    ['nothing to remove', ' { "jsonrpc" : "2.0", "id": 1, "result": {"tools": [{"name": "search"}]} } '],
  ])('passes %s byte-identical', (_name, text) => {
    const body = enc(text);
    expect([...run(createJsonToolsListRewriter(options([1])), [body.slice(0, 5), body.slice(5)])]).toEqual([...body]);
  });

  it('filters the matching element of a batch and keeps the others exactly as written', () => {
    const other = '{"jsonrpc":"2.0","id":2,"result":{"big":12345678901234567890123, "s":"x"}}';
    const text = `[ ${listResponse(1)} , ${other} ]`;
    const out = dec(run(createJsonToolsListRewriter(options([1])), [enc(text)]));
    expect(out).toContain(other);
    const parsed = JSON.parse(out) as Array<{ result: { tools?: unknown } }>;
    expect(parsed[0]!.result.tools).toEqual(kept);
    expect(parsed).toHaveLength(2);
  });

  it('keeps an id that JSON numbers cannot hold exactly as written', () => {
    const huge = '123456789012345678901234567890';
    const text = listResponse(0).replace('"id":0', `"id":${huge}`);
    const out = dec(run(createJsonToolsListRewriter(options([Number(huge)])), [enc(text)]));
    expect(out.startsWith(`{"id":${huge},`)).toBe(true);
    expect(JSON.parse(out).result.tools).toEqual(kept);
  });

  it('keeps __proto__ members as data and pollutes nothing', () => {
    const text = `{"jsonrpc":"2.0","id":1,"result":{"__proto__":{"polluted":true},"tools":${JSON.stringify(tools)}}}`;
    const out = dec(run(createJsonToolsListRewriter(options([1])), [enc(text)]));
    expect(out).toContain('"__proto__":{"polluted":true}');
    expect(JSON.parse(out).result.tools).toEqual(kept);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it("filters any tools result in 'any' mode", () => {
    const out = JSON.parse(dec(run(createJsonToolsListRewriter(options('any')), [enc(listResponse('whatever'))])));
    expect(out.result.tools).toEqual(kept);
  });

  it('passes a body over the bound through unchanged and reports it', () => {
    const sizes: number[] = [];
    const body = enc(listResponse(1));
    const rewriter = createJsonToolsListRewriter(options([1], { maxBytes: 100, onOversize: (n) => sizes.push(n) }));
    const first = rewriter.push(body.slice(0, 60));
    expect(first).toEqual([]);
    const second = rewriter.push(body.slice(60, 120));
    expect(second.reduce((n, c) => n + c.length, 0)).toBe(120);
    expect(dec(run(rewriter, [body.slice(120)]))).toBe(dec(body.slice(120)));
    expect(sizes).toEqual([120]);
  });
});

describe('SSE tools/list filter', () => {
  const progress = 'event: message\r\nid: ev-1\r\ndata: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}\r\n\r\n';
  const comment = ': keep-alive\r\n';
  const list = (id: unknown) => {
    const json = listResponse(id);
    const middle = json.indexOf('"nextCursor"');
    // The response split over two data lines, as servers may.
    return `id: ev-2\nretry: 1000\nevent: message\ndata: ${json.slice(0, middle)}\ndata: ${json.slice(middle)}\n\n`;
  };
  const after = `data: ${listResponse(2)}\n\n`;
  const stream = `${comment}${progress}${list(1)}${comment}${after}`;

  function filtered(chunks: Uint8Array[], ids: Array<string | number> | 'any' = [1]): string {
    return dec(run(createSseToolsListRewriter(options(ids)), chunks));
  }

  it('filters the matching response event and passes every other event byte-identical', () => {
    const out = filtered([enc(stream)]);
    const events = parseSse(out);
    expect(events).toHaveLength(3);
    expect(events[1]).toMatchObject({ id: 'ev-2', retry: '1000', event: 'message' });
    expect(JSON.parse(events[1]!.data).result).toEqual({ tools: kept, nextCursor: 'c2' });
    expect(out.startsWith(`${comment}${progress}id: ev-2\nretry: 1000\nevent: message\ndata: {`)).toBe(true);
    // Only the expected id is rewritten: the later response (id 2) is untouched.
    expect(out.endsWith(`${comment}${after}`)).toBe(true);
  });

  it('gives the same bytes wherever the stream is split, at every byte position', () => {
    const bytes = enc(stream);
    const expected = filtered([bytes]);
    for (let at = 0; at <= bytes.length; at++) {
      const out = filtered(splitAt(bytes, [at]));
      if (out !== expected) expect.fail(`split at byte ${at}`);
    }
  });

  it('gives the same bytes for random multi-way splits', () => {
    const bytes = enc(stream);
    const expected = filtered([bytes]);
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let round = 0; round < 300; round++) {
      const cuts = Array.from({ length: 1 + Math.floor(random() * 12) }, () => Math.floor(random() * bytes.length)).sort((a, b) => a - b);
      if (filtered(splitAt(bytes, cuts)) !== expected) expect.fail(`split at ${cuts.join(',')}`);
    }
  });

  it('passes a stream without the expected id byte-identical', () => {
    const bytes = enc(stream);
    expect(filtered(splitAt(bytes, [100]), [99])).toBe(stream);
  });

  it('filters responses in a data-line batch and in any mode', () => {
    const batch = `data: [${listResponse(1)},${listResponse(3)}]\n\n`;
    const out = parseSse(filtered([enc(batch)], [1]));
    const [first, second] = JSON.parse(out[0]!.data) as Array<{ result: { tools: unknown[] } }>;
    expect(first!.result.tools).toEqual(kept);
    expect(second!.result.tools).toEqual(tools);
    expect(JSON.parse(parseSse(filtered([enc(after)], 'any'))[0]!.data).result.tools).toEqual(kept);
  });

  it('stops inspecting once every expected response went by', () => {
    // After id 1 is answered, even an event that would otherwise match in 'any' mode passes untouched.
    const out = filtered([enc(`${list(1)}data: ${listResponse(1)}\n\n`)]);
    expect(out.endsWith(`data: ${listResponse(1)}\n\n`)).toBe(true);
  });
});

describe('toolsListResponseRewrite', () => {
  const choose = toolsListResponseRewrite(options([1]));
  it('picks SSE or JSON by content type, only for 200', () => {
    expect(choose(200, new Headers({ 'content-type': 'text/event-stream; charset=utf-8' }))).toBeDefined();
    expect(choose(200, new Headers({ 'content-type': 'Application/JSON' }))).toBeDefined();
    expect(choose(200, new Headers({ 'content-type': 'application/vnd.x+json' }))).toBeDefined();
    expect(choose(200, new Headers({ 'content-type': 'text/plain' }))).toBeUndefined();
    expect(choose(200, new Headers())).toBeUndefined();
    expect(choose(202, new Headers({ 'content-type': 'application/json' }))).toBeUndefined();
    expect(choose(500, new Headers({ 'content-type': 'application/json' }))).toBeUndefined();
  });

  it('gives each response its own expected ids', () => {
    const a = choose(200, new Headers({ 'content-type': 'application/json' }))!;
    const b = choose(200, new Headers({ 'content-type': 'application/json' }))!;
    expect(JSON.parse(dec(run(a, [enc(listResponse(1))]))).result.tools).toEqual(kept);
    expect(JSON.parse(dec(run(b, [enc(listResponse(1))]))).result.tools).toEqual(kept);
  });
});
