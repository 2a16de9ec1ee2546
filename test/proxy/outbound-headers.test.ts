import { describe, expect, it } from 'vitest';
import {
  connectionTokens,
  outboundRequestHeaders,
  responseHeaderRecordToForward,
  responseHeadersToForward,
} from '../../src/proxy/outbound-headers.js';

describe('outboundRequestHeaders', () => {
  const incoming = () =>
    new Headers({
      Host: 'proxy.example',
      Connection: 'keep-alive, X-Hop-Secret',
      'X-Hop-Secret': 'connection-scoped',
      'Keep-Alive': 'timeout=5',
      'Proxy-Connection': 'keep-alive',
      'Transfer-Encoding': 'chunked',
      TE: 'trailers',
      Trailer: 'x-checksum',
      Upgrade: 'websocket',
      Expect: '100-continue',
      Authorization: 'Bearer client-capsule',
      Cookie: '__Host-consent=1',
      'Proxy-Authorization': 'Basic Zm9vOmJhcg==',
      'X-Forwarded-User': 'mallory',
      'x-FORWARDED-email': 'mallory@evil.example',
      'X-Forwarded-Name': 'Mallory',
      'X-Forwarded-Access-Token': 'stolen',
      'Content-Type': 'application/json',
      'Content-Length': '42',
      Accept: 'application/json, text/event-stream',
      'Mcp-Session-Id': 'session-1',
      'MCP-Protocol-Version': '2025-06-18',
      'Last-Event-ID': '7',
      'Mcp-Method': 'tools/call',
      'Mcp-Name': 'search',
      'Mcp-Param-Query': 'cats',
      'X-Custom': 'kept',
    });

  it('drops hop-by-hop, Connection-named, host, credential, cookie and identity headers', () => {
    const out = outboundRequestHeaders(incoming(), { credential: {} });
    for (const name of [
      'host', 'connection', 'x-hop-secret', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer',
      'upgrade', 'expect', 'authorization', 'cookie', 'proxy-authorization', 'x-forwarded-user', 'x-forwarded-email',
      'x-forwarded-name', 'x-forwarded-access-token',
    ]) {
      expect(name in out, name).toBe(false);
    }
  });

  it('keeps MCP headers, accept, content-type, content-length and anything else', () => {
    const out = outboundRequestHeaders(incoming(), { credential: {} });
    expect({ ...out }).toEqual({
      'content-type': 'application/json',
      'content-length': '42',
      accept: 'application/json, text/event-stream',
      'mcp-session-id': 'session-1',
      'mcp-protocol-version': '2025-06-18',
      'last-event-id': '7',
      'mcp-method': 'tools/call',
      'mcp-name': 'search',
      'mcp-param-query': 'cats',
      'x-custom': 'kept',
    });
  });

  it('sets the credential after stripping, replacing anything the client sent under that name', () => {
    const out = outboundRequestHeaders(incoming(), {
      credential: { Authorization: 'Bearer upstream-token', 'X-Forwarded-User': 'alice@example.com' },
    });
    expect(out['authorization']).toBe('Bearer upstream-token');
    expect(out['x-forwarded-user']).toBe('alice@example.com');
    expect(out['x-forwarded-email']).toBeUndefined();
  });

  it('does not modify the incoming headers', () => {
    const original = incoming();
    outboundRequestHeaders(original, { credential: { authorization: 'Bearer x' } });
    expect(original.get('authorization')).toBe('Bearer client-capsule');
  });

  it('sends the proxy’s request id in place of the one the client sent', () => {
    const sent = new Headers({ 'X-Request-Id': 'bad id from the client', 'X-Custom': 'kept' });
    expect(outboundRequestHeaders(sent, { credential: {}, requestId: 'proxy-id-1' })['x-request-id']).toBe('proxy-id-1');
    expect(outboundRequestHeaders(sent, { credential: {} })['x-request-id']).toBe('bad id from the client');
  });
});

describe('outboundRequestHeaders from raw pairs (Node parser order and case)', () => {
  const raw: Array<[string, string]> = [
    ['Host', 'proxy.example'],
    ['Accept', 'application/json'],
    ['X-Multi', 'one'],
    ['Connection', 'keep-alive'],
    ['x-multi', 'two'],
    ['Connection', 'X-Second-Hop'],
    ['X-Second-Hop', 'hop'],
    [':path', '/mcp'],
    ['__proto__', 'plain'],
    ['Constructor', 'plain too'],
    ['Authorization', 'Bearer client-capsule'],
  ];

  it('lowercases names, joins repeats as fetch does, and honours every Connection header', () => {
    const out = outboundRequestHeaders(raw, { credential: { Authorization: 'Bearer downstream' } });
    expect(Object.entries(out)).toEqual([
      ['accept', 'application/json'],
      ['x-multi', 'one, two'],
      ['__proto__', 'plain'],
      ['constructor', 'plain too'],
      ['authorization', 'Bearer downstream'],
    ]);
    expect(Object.getPrototypeOf(out)).toBeNull();
  });

  it('gives the same result as from a web Headers with the same fields', () => {
    const fromWeb = outboundRequestHeaders(new Headers(raw.filter(([name]) => !name.startsWith(':') && name !== '__proto__')), { credential: {} });
    const fromRaw = outboundRequestHeaders(raw, { credential: {} });
    delete fromRaw['__proto__'];
    expect({ ...fromRaw }).toEqual({ ...fromWeb });
  });
});

describe('response header filters', () => {
  it('drop hop-by-hop headers, Connection-named headers and set-cookie from a Headers object', () => {
    const downstream = new Headers([
      ['connection', 'keep-alive, X-Internal'],
      ['x-internal', 'hop'],
      ['keep-alive', 'timeout=5'],
      ['transfer-encoding', 'chunked'],
      ['proxy-authenticate', 'Basic'],
      ['set-cookie', 'a=1'],
      ['set-cookie', 'b=2'],
      ['content-type', 'text/event-stream'],
      ['mcp-session-id', 'session-1'],
      ['www-authenticate', 'Bearer error="invalid_token"'],
    ]);
    expect(Object.fromEntries(responseHeadersToForward(downstream))).toEqual({
      'content-type': 'text/event-stream',
      'mcp-session-id': 'session-1',
      'www-authenticate': 'Bearer error="invalid_token"',
    });
  });

  it('apply the same filter to an undici header record, keeping repeated values and content-length', () => {
    const forwarded = responseHeaderRecordToForward({
      connection: 'close, x-internal',
      'x-internal': 'hop',
      'set-cookie': ['a=1', 'b=2'],
      'content-length': '12',
      vary: ['accept', 'origin'],
      'mcp-session-id': 'session-1',
      trailer: 'x-checksum',
      absent: undefined,
    });
    expect(forwarded).toEqual({ 'content-length': '12', vary: ['accept', 'origin'], 'mcp-session-id': 'session-1' });
  });

  it('parses Connection tokens case-insensitively across repeated values', () => {
    expect([...(connectionTokens(['Keep-Alive, X-A', ' x-b ,']) ?? [])]).toEqual(['keep-alive', 'x-a', 'x-b']);
    expect(connectionTokens(null)).toBeUndefined();
    expect(connectionTokens(' , ')).toBeUndefined();
  });
});
