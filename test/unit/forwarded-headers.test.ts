import { describe, expect, it } from 'vitest';
import { refusedMethodAllow } from '../../src/mcp/allowed-methods.js';
import { trustedForwardedFor } from '../../src/proxy/forwarded-for.js';
import { outboundRequestHeaders, type HeaderPairs, type OutboundHeaderOptions } from '../../src/proxy/outbound-headers.js';

/**
 * The one header rule both forwarders send, fed the two shapes it receives: Node's raw header
 * list (the undici forwarder's path) and a web `Headers` (the fetch forwarder's, on Bun and Deno).
 */
const SENT: Array<[string, string]> = [
  ['X_Forwarded_User', 'mallory'],
  ['x-forwarded_email', 'mallory@evil.example'],
  ['X_FORWARDED_GROUPS', 'admins'],
  ['X_Forwarded_Access_Token', 'stolen'],
  ['X_Forwarded_For', '10.6.6.6'],
  ['X_Real_IP', '10.6.6.7'],
  ['X_Request_Id', 'forged-id'],
  ['Proxy_Authorization', 'Basic Zm9vOmJhcg=='],
  ['Transfer_Encoding', 'chunked'],
  ['X_Api_Key', 'client-key'],
  ['X_Pat', 'client-pat'],
  ['X-Pat', 'client-pat'],
  ['X-Forwarded-For', '1.1.1.1, 2.2.2.2'],
  ['X-Forwarded-For', '3.3.3.3'],
  ['X-Real-IP', '10.6.6.7'],
  ['Forwarded', 'for=10.6.6.8'],
  ['X-Forwarded-Proto', 'https'],
  ['X-Forwarded-Host', 'evil.example'],
  ['X_Custom_Thing', 'kept'],
  ['__proto__', 'kept too'],
];

const shapes: Record<string, () => HeaderPairs> = {
  'raw pairs (undici forwarder)': () => SENT,
  'web Headers (fetch forwarder)': () => {
    const headers = new Headers();
    for (const [name, value] of SENT) headers.append(name, value);
    return headers;
  },
};

const options = (trustedHops: number): OutboundHeaderOptions => ({
  credential: { 'x-api-key': 'route-key', 'x-forwarded-user': 'alice' },
  requestId: 'req-1',
  strip: ['X-Pat'],
  forwarding: { trustedHops, proto: 'https', host: 'mcp.example.com' },
  peer: '127.0.0.1',
});

describe.each(Object.entries(shapes))('outbound headers from %s', (_shape, incoming) => {
  it('drops every refused name in any spelling, keeps other underscore names, and says where the request came from itself', () => {
    expect({ ...outboundRequestHeaders(incoming(), options(0)) }).toEqual({
      x_custom_thing: 'kept',
      ['__proto__']: 'kept too',
      'x-forwarded-for': '127.0.0.1',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'mcp.example.com',
      'x-request-id': 'req-1',
      'x-api-key': 'route-key',
      'x-forwarded-user': 'alice',
    });
  });

  it('keeps the entries the trusted proxies appended, then the peer', () => {
    expect(outboundRequestHeaders(incoming(), options(1))['x-forwarded-for']).toBe('3.3.3.3, 127.0.0.1');
    expect(outboundRequestHeaders(incoming(), options(2))['x-forwarded-for']).toBe('2.2.2.2, 3.3.3.3, 127.0.0.1');
  });

  it('sends no X-Forwarded-* without forwarding details, and no X-Forwarded-For without a peer or a trusted entry', () => {
    const { forwarding, peer: _peer, ...bare } = options(0);
    expect(Object.keys(outboundRequestHeaders(incoming(), bare)).filter((name) => name.includes('forwarded-') && name !== 'x-forwarded-user')).toEqual([]);
    const unknownPeer = outboundRequestHeaders(incoming(), { ...bare, ...(forwarding ? { forwarding } : {}) });
    expect(unknownPeer['x-forwarded-for']).toBeUndefined();
    expect(unknownPeer['x-forwarded-host']).toBe('mcp.example.com');
  });
});

describe('trustedForwardedFor', () => {
  it('keeps the rightmost `hops` entries, none when the chain is shorter, none with no hops', () => {
    expect(trustedForwardedFor(0, '1.1.1.1')).toEqual([]);
    expect(trustedForwardedFor(1, undefined)).toEqual([]);
    expect(trustedForwardedFor(1, ' 1.1.1.1 ,, 2.2.2.2 ')).toEqual(['2.2.2.2']);
    expect(trustedForwardedFor(2, '1.1.1.1, 2.2.2.2, 3.3.3.3')).toEqual(['2.2.2.2', '3.3.3.3']);
    expect(trustedForwardedFor(3, '1.1.1.1, 2.2.2.2')).toEqual([]);
  });
});

describe('refusedMethodAllow', () => {
  it('MCP routes forward GET, POST and DELETE only', () => {
    for (const method of ['GET', 'POST', 'DELETE']) expect(refusedMethodAllow('mcp', method), method).toBeUndefined();
    for (const method of ['TRACE', 'TRACK', 'CONNECT', 'PUT', 'PATCH', 'HEAD', 'get']) {
      expect(refusedMethodAllow('mcp', method), method).toBe('GET, POST, DELETE, OPTIONS');
    }
  });

  it('http routes forward any method but TRACE, TRACK and CONNECT, in any case', () => {
    for (const method of ['GET', 'HEAD', 'PUT', 'PATCH', 'PROPFIND']) expect(refusedMethodAllow('http', method), method).toBeUndefined();
    for (const method of ['TRACE', 'TRACK', 'CONNECT', 'trace', 'Track']) expect(refusedMethodAllow('http', method), method).toBeDefined();
  });
});
