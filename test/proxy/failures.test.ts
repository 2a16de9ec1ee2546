import { describe, expect, it } from 'vitest';
import {
  DownstreamHeadersTimeoutError,
  classifyDownstreamError,
  downstreamFailureAnswer,
  reportDownstreamFailure,
} from '../../src/proxy/failures.js';
import { answerResponse } from '../../src/proxy/web-answer.js';
import { recordingLogger } from './harness.js';

function coded(code: string, message = code): Error {
  return Object.assign(new Error(message), { code });
}

describe('classifyDownstreamError', () => {
  it.each([
    ['ECONNREFUSED', 502],
    ['ENOTFOUND', 502],
    ['EAI_AGAIN', 502],
    ['ECONNRESET', 502],
    ['UND_ERR_SOCKET', 502],
    ['UND_ERR_HEADERS_TIMEOUT', 504],
    ['UND_ERR_CONNECT_TIMEOUT', 504],
  ])('maps %s to %i', (code, status) => {
    expect(classifyDownstreamError(coded(code)).status).toBe(status);
  });

  it('finds the code in the cause chain that fetch wraps around socket errors', () => {
    const fetchError = new TypeError('fetch failed', { cause: coded('ECONNREFUSED') });
    expect(classifyDownstreamError(fetchError)).toEqual({ status: 502, reason: 'ECONNREFUSED' });
  });

  it('treats our own headers timeout and DOM TimeoutErrors as 504', () => {
    expect(classifyDownstreamError(new DownstreamHeadersTimeoutError(200)).status).toBe(504);
    expect(classifyDownstreamError(new DOMException('timed out', 'TimeoutError')).status).toBe(504);
  });

  it('maps anything unknown to 502', () => {
    expect(classifyDownstreamError(new Error('boom')).status).toBe(502);
    expect(classifyDownstreamError('not even an error').status).toBe(502);
  });
});

describe('downstream failure responses', () => {
  it('are JSON-RPC errors with no id, no-store, and nothing about the cause', async () => {
    const response = answerResponse(downstreamFailureAnswer({ status: 504, reason: 'UND_ERR_HEADERS_TIMEOUT' }), {});
    expect(response.status).toBe(504);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Downstream MCP server unavailable' } });
    expect(text).not.toContain('UND_ERR');
  });

  it('log the cause but not the URL credentials or query', async () => {
    const logger = recordingLogger();
    const target = new URL('http://svc:pw-s3cret@downstream.internal:8080/mcp?api_key=q-s3cret');
    const response = answerResponse(reportDownstreamFailure(logger, target, 'POST', new TypeError('fetch failed', { cause: coded('ENOTFOUND', 'getaddrinfo ENOTFOUND downstream.internal') })), {});
    expect(response.status).toBe(502);
    const body = await response.text();
    expect(body).not.toContain('downstream.internal');
    expect(logger.entries).toHaveLength(1);
    const [entry] = logger.entries;
    expect(entry!.level).toBe('warn');
    expect(entry!.fields).toMatchObject({ status: 502, reason: 'ENOTFOUND', method: 'POST', downstream: 'http://downstream.internal:8080/mcp' });
    expect(JSON.stringify(entry)).toContain('getaddrinfo ENOTFOUND');
    expect(JSON.stringify(entry)).not.toContain('s3cret');
  });
});
