/**
 * Property-based fuzzing of the MCP route: bearer tokens of every wrong kind
 * and shape (401 with an RFC 6750 challenge), and, with a valid token, JSON-RPC
 * bodies of every wrong shape (a JSON-RPC error answered by the proxy, or the
 * downstream's answer when the body is valid). Never a 5xx nor an error log.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { useFixture, capsuleVariant, garbageText, readChecked, RESOURCE, runs, type Fixture } from './harness.js';

let f: Fixture;
useFixture((fixture) => (f = fixture));

const METADATA = 'https://proxy.example.com/.well-known/oauth-protected-resource/mcp';
const BEARER = /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)$/i;

function headerSafe(value: string): string {
  return value.replace(/[^\x20-\x7e\x80-\xff\t]/g, '');
}

describe('fuzzing /mcp without a valid access token', () => {
  const authorization = () =>
    fc.option(
      fc.oneof(
        // Every other kind of capsule, and broken access tokens, presented as bearer tokens.
        { weight: 4, arbitrary: fc.tuple(fc.constantFrom('Bearer ', 'bearer ', 'BEARER  ', 'Bearer\t', 'Token ', 'Basic ', ''), capsuleVariant(f.allCapsules.filter((c) => c !== f.valid.access))).map(([scheme, token]) => scheme + token) },
        { weight: 1, arbitrary: capsuleVariant([f.valid.access]).filter((token) => token !== f.valid.access).map((token) => `Bearer ${token}`) },
        { weight: 2, arbitrary: garbageText },
        { weight: 1, arbitrary: fc.constantFrom('Bearer', 'Bearer ', `Bearer ${f.valid.access} ${f.valid.access}`, `Bearer ${f.valid.access},Bearer x`, `Bearer "${f.valid.access}"`, 'Bearer =====') },
      ),
      { nil: undefined },
    );

  it('answers 401 with a Bearer challenge naming the resource metadata (405 to methods MCP does not use)', async () => {
    await fc.assert(
      fc.asyncProperty(
        authorization(),
        fc.constantFrom('GET', 'POST', 'DELETE', 'PUT', 'PATCH'),
        fc.option(garbageText, { nil: undefined }),
        async (auth, method, body) => {
          const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
          if (auth !== undefined) headers.authorization = headerSafe(auth);
          const init: RequestInit = { method, headers };
          if (body !== undefined && method !== 'GET') init.body = body;
          const response = await f.app.request('/mcp', init);
          const checked = await readChecked(response, method);
          f.errors.assertClean();
          // Methods MCP does not use are refused before any token is looked at.
          if (method === 'PUT' || method === 'PATCH') {
            expect(checked.status).toBe(405);
            expect(response.headers.get('allow')).toBe('GET, POST, DELETE, OPTIONS');
            return;
          }
          if (checked.status !== 401) {
            // Only a header that still carries a valid access token gets through (e.g. a base64 variant decoding to the same bytes).
            const token = BEARER.exec((headers.authorization ?? '').trim())?.[1];
            expect(token, `status ${checked.status} for ${headers.authorization?.slice(0, 80)}`).toBeDefined();
            await expect(f.capsules.open('access', token!)).resolves.toMatchObject({ aud: RESOURCE });
            return;
          }
          const challenge = response.headers.get('www-authenticate') ?? '';
          expect(challenge).toMatch(/^Bearer /);
          expect(challenge).toContain(`resource_metadata="${METADATA}"`);
          // A blank header is no credential at all (RFC 6750 §3.1: no error code then).
          if (headers.authorization?.trim()) expect(challenge).toContain('error="invalid_token"');
          else expect(challenge).not.toContain('error=');
          expect((checked.json as { error: string }).error).toBe('invalid_token');
        },
      ),
      runs(150),
    );
  });

  it('never reads an unauthenticated 5 MB body', async () => {
    const response = await f.app.request('/mcp', { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(5 * 1024 * 1024) });
    expect((await readChecked(response)).status).toBe(401);
  });
});

/** JSON-RPC ids as written: the ones JSON.parse cannot round-trip, the ones it refuses as ids, and plain ones. */
const rawId = fc.oneof(
  fc.constantFrom('1', '0', '-0', '1.0', '1.5', '1e3', '1E+2', '-1e-7', '123456789012345678901234567890', '9007199254740993', '1e400', '-1e400', 'null', '"x"', '"<script>alert(1)</script>"', '"\\u003cscript\\u003e"', '"\\ud800"', 'true', '{}', '[]', '""'),
  fc.integer().map(String),
  fc.string({ maxLength: 12 }).map((s) => JSON.stringify(s)),
  fc.integer({ min: 1, max: 400 }).map((n) => '9'.repeat(n)),
);

const method = fc.oneof(
  fc.constantFrom('tools/call', 'tools/list', 'initialize', 'notifications/initialized', 'resources/read', 'ping', ''),
  garbageText,
);
const toolName = fc.oneof(fc.constantFrom('search', 'delete_user', 'delete_', 'DELETE_user', 'delete_*'), garbageText);

/** One message as raw JSON text (so ids keep their spelling), sometimes broken on purpose. */
const rarely = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined, freq: 6 });
const message: fc.Arbitrary<string> = fc
  .record({
    jsonrpc: fc.oneof({ weight: 8, arbitrary: fc.constant('"2.0"') }, { weight: 1, arbitrary: fc.constantFrom('"1.0"', '2.0', 'null', undefined) }),
    id: fc.option(rawId, { nil: undefined, freq: 4 }),
    duplicateId: rarely(rawId),
    method: fc.oneof({ weight: 6, arbitrary: method }, { weight: 1, arbitrary: fc.constant(undefined) }),
    params: fc.oneof(
      { weight: 2, arbitrary: fc.constant(undefined) },
      { weight: 4, arbitrary: toolName.map((name) => JSON.stringify({ name, arguments: {} })) },
      { weight: 1, arbitrary: fc.constantFrom('null', '[]', '1', '"s"', '{"uri":"file:///x"}', '{"name":1}') },
    ),
    result: rarely(fc.constantFrom('{}', 'null')),
    error: rarely(fc.constantFrom('{"code":1,"message":"m"}')),
    spacing: fc.constantFrom('', ' ', '\n\t'),
  })
  .map(({ jsonrpc, id, duplicateId, method: name, params, result, error, spacing }) => {
    const members: string[] = [];
    if (jsonrpc !== undefined) members.push(`"jsonrpc":${jsonrpc}`);
    if (duplicateId !== undefined) members.push(`"id"${spacing}:${spacing}${duplicateId}`);
    if (id !== undefined) members.push(`"id":${spacing}${id}`);
    if (name !== undefined) members.push(`"method":${JSON.stringify(name)}`);
    if (params !== undefined) members.push(`"params":${params}`);
    if (result !== undefined) members.push(`"result":${result}`);
    if (error !== undefined) members.push(`"error":${error}`);
    return `{${spacing}${members.join(`,${spacing}`)}${spacing}}`;
  });

const body: fc.Arbitrary<string | Uint8Array<ArrayBuffer>> = fc.oneof(
  { weight: 5, arbitrary: message },
  { weight: 3, arbitrary: fc.array(message, { maxLength: 4 }).map((items) => `[${items.join(',')}]`) },
  { weight: 1, arbitrary: fc.array(message, { minLength: 1, maxLength: 3 }).map((items) => `[[${items.join(',')}]]`) },
  { weight: 1, arbitrary: fc.constantFrom('[]', '[[]]', '{}', 'null', '1', '"x"', 'true', '', ' ', '{"jsonrpc":"2.0"', '\ufeff{"jsonrpc":"2.0","id":1,"method":"ping"}') },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)) },
  { weight: 1, arbitrary: garbageText },
  {
    weight: 1,
    arbitrary: fc
      .tuple(message, fc.constantFrom([0xff], [0xfe, 0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80]))
      .map(([text, bytes]) => {
        const encoded = new TextEncoder().encode(text);
        const at = Math.floor(encoded.length / 2);
        return new Uint8Array([...encoded.slice(0, at), ...bytes, ...encoded.slice(at)]);
      }),
  },
);

/** What a strict reader makes of the body: the parsed value, or undefined when it is not UTF-8 JSON. */
function parseStrict(raw: string | Uint8Array): { value: unknown } | undefined {
  try {
    const text = typeof raw === 'string' ? raw : new TextDecoder('utf-8', { fatal: true }).decode(raw);
    return { value: JSON.parse(text.replace(/^\ufeff/, '')) };
  } catch {
    return undefined;
  }
}

interface RpcError {
  jsonrpc: string;
  id: unknown;
  error: { code: number; message: string };
}

function expectRpcError(entry: unknown): asserts entry is RpcError {
  const value = entry as RpcError;
  expect(value.jsonrpc).toBe('2.0');
  expect(Object.hasOwn(value, 'id')).toBe(true);
  expect(['string', 'number', 'object']).toContain(typeof value.id);
  expect(Number.isInteger(value.error.code)).toBe(true);
  expect(typeof value.error.message).toBe('string');
}

describe('fuzzing /mcp with a valid access token', () => {
  const post = (payload: string | Uint8Array<ArrayBuffer>, headers: Record<string, string> = {}) =>
    f.app.request('/mcp', {
      method: 'POST',
      headers: { authorization: `Bearer ${f.valid.access}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
      body: payload,
    });

  it('forwards valid JSON-RPC and answers everything else with a JSON-RPC error', async () => {
    await fc.assert(
      fc.asyncProperty(
        body,
        fc.oneof(
          { weight: 3, arbitrary: fc.constant({}) },
          {
            weight: 2,
            arbitrary: fc.record(
              {
                'content-type': fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', ''),
                'mcp-method': fc.oneof(method, fc.constantFrom('tools/call')),
                'mcp-name': fc.oneof(toolName, fc.constantFrom('=?base64?c2VhcmNo?=', '=?base64?!!!?=', '=?base64??=')),
                'mcp-protocol-version': fc.constantFrom('2025-03-26', '2025-06-18', '2026-07-28', 'garbage'),
              },
              { requiredKeys: [] },
            ),
          },
        ),
        async (payload, extra) => {
          const headers = Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, headerSafe(v)]));
          const response = await post(payload, headers);
          const checked = await readChecked(response);
          f.errors.assertClean();
          const parsed = parseStrict(payload);
          if (response.headers.get('x-fuzz-downstream') === '1') {
            // Forwarded: the body was JSON-RPC the proxy could read.
            expect(parsed, 'forwarded a body that is not UTF-8 JSON').toBeDefined();
            expect(checked.status).toBe(200);
            return;
          }
          if (parsed === undefined) {
            expect(checked.status).toBe(400);
            expectRpcError(checked.json);
            expect((checked.json as RpcError).error.code).toBe(-32700);
            return;
          }
          expect([200, 400]).toContain(checked.status);
          if (checked.text === '') {
            expect(checked.status).toBe(400);
            return;
          }
          expect(checked.contentType).toMatch(/^application\/json/);
          const entries = Array.isArray(checked.json) ? checked.json : [checked.json];
          for (const entry of entries) expectRpcError(entry);
          // A refused lone request is answered under its own id, as the client wrote it.
          const sent = parsed.value as { id?: unknown } | undefined;
          if (!Array.isArray(checked.json) && checked.status === 200 && sent && typeof sent === 'object' && !Array.isArray(sent)) {
            expect((checked.json as RpcError).id).toEqual(sent.id);
          }
        },
      ),
      runs(200),
    );
  });

  it('refuses bodies over 4 MB with 413 and a JSON-RPC error', async () => {
    for (const size of [4 * 1024 * 1024 + 1, 5 * 1024 * 1024]) {
      const payload = `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"${'x'.repeat(size)}"}}`;
      const response = await post(payload);
      const checked = await readChecked(response);
      expect(checked.status).toBe(413);
      expectRpcError(checked.json);
      // Undeclared too: a stream with no Content-Length.
      const streamed = await post(new TextEncoder().encode(payload), { 'transfer-encoding': 'chunked' });
      expect((await readChecked(streamed)).status).toBe(413);
    }
    f.errors.assertClean();
  });

  it('handles batches of 1000 and 10000 messages and deep nesting without a 5xx', async () => {
    const call = (id: number, name: string) => `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"${name}"}}`;
    const cases = [
      `[${Array.from({ length: 1000 }, (_, i) => call(i, 'search')).join(',')}]`,
      `[${Array.from({ length: 1000 }, (_, i) => call(i, i === 999 ? 'delete_all' : 'search')).join(',')}]`,
      `[${Array.from({ length: 10_000 }, () => '{"jsonrpc":"2.0","method":"notifications/x"}').join(',')}]`,
      `${'['.repeat(10_000)}${']'.repeat(10_000)}`,
      `{"jsonrpc":"2.0","id":1,"method":"ping","params":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`,
    ];
    for (const payload of cases) {
      const response = await post(payload);
      const checked = await readChecked(response);
      f.errors.assertClean();
      if (response.headers.get('x-fuzz-downstream') === '1') continue;
      expect([200, 400]).toContain(checked.status);
      const entries = Array.isArray(checked.json) ? checked.json : [checked.json];
      for (const entry of entries) expectRpcError(entry);
    }
    // The refused batch answers each request under its own id.
    const refused = (await (await post(cases[1]!)).json()) as RpcError[];
    expect(refused).toHaveLength(1000);
    expect(refused.map((entry) => entry.id)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });

  it('passes GET and DELETE with a valid token on to the downstream', async () => {
    for (const method of ['GET', 'DELETE']) {
      const response = await f.app.request('/mcp', { method, headers: { authorization: `Bearer ${f.valid.access}`, 'last-event-id': 'x' } });
      expect(response.status).toBe(200);
      expect(response.headers.get('x-fuzz-downstream')).toBe('1');
      await response.text();
    }
    f.errors.assertClean();
  });
});
