import { describe, expect, it } from 'vitest';
import { parseJsonRpcBody } from '../../src/mcp/inspection/jsonrpc.js';
import type { JsonRpcSummary } from '../../src/mcp/inspection/jsonrpc.js';
import { checkMcpHeaders, decodeMcpHeaderValue } from '../../src/mcp/inspection/mcp-headers.js';

function summary(message: unknown): JsonRpcSummary {
  const result = parseJsonRpcBody(new TextEncoder().encode(JSON.stringify(message)));
  if (!result.ok) throw new Error(result.detail);
  return result.summary;
}

const call = (name: string) => summary({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: {} } });
const b64 = (text: string) => `=?base64?${Buffer.from(text, 'utf8').toString('base64')}?=`;

describe('checkMcpHeaders', () => {
  it('passes when the headers are absent (clients before 2026-07-28)', () => {
    expect(checkMcpHeaders(new Headers(), call('search'))).toEqual({ ok: true });
  });

  it('passes when Mcp-Method and Mcp-Name match the body', () => {
    const headers = new Headers({ 'Mcp-Method': 'tools/call', 'MCP-NAME': 'search' });
    expect(checkMcpHeaders(headers, call('search'))).toEqual({ ok: true });
  });

  it('passes Mcp-Name for resources/read (uri) and prompts/get (name)', () => {
    const read = summary({ jsonrpc: '2.0', id: 2, method: 'resources/read', params: { uri: 'file:///projects/a.json' } });
    expect(checkMcpHeaders(new Headers({ 'mcp-method': 'resources/read', 'mcp-name': 'file:///projects/a.json' }), read).ok).toBe(true);
    const prompt = summary({ jsonrpc: '2.0', id: 3, method: 'prompts/get', params: { name: 'greet' } });
    expect(checkMcpHeaders(new Headers({ 'mcp-method': 'prompts/get', 'mcp-name': 'greet' }), prompt).ok).toBe(true);
  });

  it('passes Mcp-Method alone, and a header-only method without Mcp-Name', () => {
    expect(checkMcpHeaders(new Headers({ 'mcp-method': 'tools/call' }), call('search')).ok).toBe(true);
    const list = summary({ jsonrpc: '2.0', id: 4, method: 'tools/list' });
    expect(checkMcpHeaders(new Headers({ 'mcp-method': 'tools/list' }), list).ok).toBe(true);
  });

  it('refuses an Mcp-Method that disagrees with the body, compared case-sensitively', () => {
    expect(checkMcpHeaders(new Headers({ 'mcp-method': 'tools/list' }), call('search'))).toEqual({ ok: false, header: 'mcp-method', reason: 'mismatch' });
    expect(checkMcpHeaders(new Headers({ 'mcp-method': 'Tools/Call' }), call('search'))).toMatchObject({ ok: false, header: 'mcp-method' });
  });

  it('refuses an Mcp-Name that disagrees with the tool called (the header-routing bypass)', () => {
    const headers = new Headers({ 'mcp-method': 'tools/call', 'mcp-name': 'read_file' });
    expect(checkMcpHeaders(headers, call('delete_file'))).toEqual({ ok: false, header: 'mcp-name', reason: 'mismatch' });
  });

  it('refuses Mcp-Name on a message that has no name or uri, and Mcp-Method on a response', () => {
    const list = summary({ jsonrpc: '2.0', id: 4, method: 'tools/list' });
    expect(checkMcpHeaders(new Headers({ 'mcp-name': 'x' }), list)).toMatchObject({ ok: false, header: 'mcp-name', reason: 'mismatch' });
    const response = summary({ jsonrpc: '2.0', id: 4, result: {} });
    expect(checkMcpHeaders(new Headers({ 'mcp-method': 'tools/list' }), response)).toMatchObject({ ok: false, header: 'mcp-method' });
  });

  it('decodes a Base64 sentinel Mcp-Name before comparing', () => {
    const name = 'wetter_größe';
    expect(checkMcpHeaders(new Headers({ 'mcp-name': b64(name) }), call(name)).ok).toBe(true);
    expect(checkMcpHeaders(new Headers({ 'mcp-name': b64('other') }), call(name))).toMatchObject({ ok: false, reason: 'mismatch' });
    // A name that looks like a sentinel is sent encoded, and matches once decoded.
    expect(checkMcpHeaders(new Headers({ 'mcp-name': b64('=?base64?literal?=') }), call('=?base64?literal?=')).ok).toBe(true);
  });

  it('refuses a malformed sentinel', () => {
    expect(checkMcpHeaders(new Headers({ 'mcp-name': '=?base64?%%%?=' }), call('x'))).toEqual({ ok: false, header: 'mcp-name', reason: 'malformed' });
    expect(decodeMcpHeaderValue(`=?base64?${Buffer.from([0xff, 0xfe]).toString('base64')}?=`)).toBeUndefined();
    expect(decodeMcpHeaderValue('plain')).toBe('plain');
  });

  it('refuses a batch that carries either header, even when every element agrees', () => {
    const batch = summary([
      { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'a' } },
      { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'a' } },
    ]);
    expect(checkMcpHeaders(new Headers({ 'mcp-method': 'tools/call' }), batch)).toEqual({ ok: false, header: 'mcp-method', reason: 'batch' });
    expect(checkMcpHeaders(new Headers({ 'mcp-name': 'a' }), batch)).toEqual({ ok: false, header: 'mcp-name', reason: 'batch' });
    expect(checkMcpHeaders(new Headers(), batch).ok).toBe(true);
  });

  it('refuses a repeated header (values joined) that no body can match', () => {
    const headers = new Headers();
    headers.append('mcp-name', 'search');
    headers.append('mcp-name', 'delete');
    expect(checkMcpHeaders(headers, call('search')).ok).toBe(false);
  });
});
