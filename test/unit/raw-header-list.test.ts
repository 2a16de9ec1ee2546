import { describe, expect, it } from 'vitest';
import {
  outboundRequestHeaders,
  outboundRequestHeadersFromRaw,
  type OutboundHeaderOptions,
  type RawHeaderList,
} from '../../src/proxy/outbound-headers.js';

const LISTS: Record<string, RawHeaderList> = {
  'a usual MCP request': [
    'Host', 'proxy.example', 'Connection', 'keep-alive', 'Content-Type', 'application/json', 'Accept', 'application/json, text/event-stream',
    'Authorization', 'Bearer client-capsule', 'Mcp-Session-Id', 's-1', 'MCP-Protocol-Version', '2025-06-18', 'Content-Length', '42',
  ],
  'forged identity, forwarding and underscore spellings': [
    'X-Forwarded-User', 'mallory', 'X_Forwarded_Email', 'm@evil.example', 'X-Forwarded-For', '1.1.1.1', 'x-forwarded-for', '2.2.2.2',
    'X_Request_Id', 'forged', 'X-Pat', 'client-pat', 'X_Api_Key', 'client-key', 'Forwarded', 'for=6.6.6.6', 'X_Custom', 'kept',
  ],
  'Connection naming headers, repeats and odd names': [
    'Connection', 'close, X-Hop', 'X-Hop', 'secret', 'Connection', 'X-Other', 'X-Other', 'gone', 'Accept', 'a', 'ACCEPT', 'b',
    '__proto__', 'p', 'constructor', 'c', ':path', '/mcp', 'TE', 'trailers',
  ],
  'a name left without a value': ['Accept', 'a', 'X-Dangling'],
  'nothing': [],
};

const OPTIONS: OutboundHeaderOptions[] = [
  { credential: {} },
  {
    credential: { Authorization: 'Bearer upstream', 'x-api-key': 'route-key' },
    requestId: 'req-1',
    strip: ['X-Pat'],
    forwarding: { trustedHops: 1, proto: 'https', host: 'mcp.example.com' },
    peer: '127.0.0.1',
  },
];

function pairsOf(raw: RawHeaderList): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i + 1 < raw.length; i += 2) pairs.push([raw[i]!, raw[i + 1]!]);
  return pairs;
}

describe('outboundRequestHeadersFromRaw', () => {
  it.each(Object.entries(LISTS))('sends for %s what the paired-up list sends, in the same order', (_name, raw) => {
    for (const options of OPTIONS) {
      const fromRaw = outboundRequestHeadersFromRaw(raw, options);
      expect(Object.entries(fromRaw)).toEqual(Object.entries(outboundRequestHeaders(pairsOf(raw), options)));
      expect(Object.entries(fromRaw)).toEqual(Object.entries(outboundRequestHeaders(pairsOf(raw).values(), options)));
    }
  });

  it('drops what the client may not send and keeps the rest', () => {
    const out = outboundRequestHeadersFromRaw(LISTS['forged identity, forwarding and underscore spellings']!, OPTIONS[1]!);
    expect({ ...out }).toEqual({
      x_custom: 'kept',
      'x-forwarded-for': '2.2.2.2, 127.0.0.1',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'mcp.example.com',
      'x-request-id': 'req-1',
      authorization: 'Bearer upstream',
      'x-api-key': 'route-key',
    });
  });
});
