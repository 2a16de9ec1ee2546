import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { outboundRecord } from '../../src/proxy/undici-headers.js';

describe('outboundRecord', () => {
  const bytes = new TextEncoder().encode('{"jsonrpc":"2.0"}');

  it('passes the record as is when the declared length matches the bytes sent', () => {
    const headers = { 'content-type': 'application/json', 'content-length': String(bytes.byteLength) };
    expect(outboundRecord(headers, bytes, false)).toBe(headers);
  });

  it('drops a declared length that differs from the bytes, without touching the caller’s record', () => {
    const headers = { 'content-length': '999' };
    const sent = outboundRecord(headers, bytes, false);
    expect(sent).not.toHaveProperty('content-length');
    expect(headers['content-length']).toBe('999');
  });

  it('keeps the declared length of a streamed body, which undici cannot count', () => {
    const headers = { 'content-length': '5' };
    expect(outboundRecord(headers, Readable.from(['hello']), false)).toEqual({ 'content-length': '5' });
  });

  it('asks for an unencoded response when the body will be rewritten', () => {
    const headers = { 'accept-encoding': 'gzip, br' };
    expect(outboundRecord(headers, null, true)).toEqual({ 'accept-encoding': 'identity' });
    expect(headers['accept-encoding']).toBe('gzip, br');
  });
});
