import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mcpPost, redeemCode, register, signIn, tokenRequest } from '../support/oauth-flow.js';
import { freePort } from '../support/ports.js';
import { Stack } from '../support/stack.js';

const GENERATED = /^[\w.-]{1,64}$/;

/** Request ids: kept or made at the edge, echoed back, forwarded downstream, and on the log and audit lines. */
describe('request ids', () => {
  let stack: Stack;
  let token: string;

  beforeAll(async () => {
    const closedPort = await freePort();
    stack = await Stack.start({
      routesFromDemo: (demoUrl) => [
        { path: '/mcp', url: demoUrl },
        { path: '/down', url: `http://127.0.0.1:${closedPort}/mcp`, auth: 'none' },
      ],
    });
    const client = await register(stack.publicUrl);
    const callback = await signIn(stack.publicUrl, client, { login: 'alice' });
    token = (await redeemCode(stack.publicUrl, client, callback.searchParams.get('code')!)).body.access_token as string;
  });
  afterAll(async () => {
    await stack?.close();
  });

  /** The parsed log lines (access, warn, audit) that carry this request id. */
  const linesWith = (id: string) =>
    stack.logs.lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.request_id === id);

  it('makes one when the caller sent none, and returns it', async () => {
    const first = (await fetch(`${stack.publicUrl}/healthz`)).headers.get('x-request-id');
    const second = (await fetch(`${stack.publicUrl}/healthz`)).headers.get('x-request-id');
    expect(first).toMatch(GENERATED);
    expect(second).toMatch(GENERATED);
    expect(first).not.toBe(second);
    expect(linesWith(first!).some((entry) => entry.msg === 'request' && entry.path === '/healthz')).toBe(true);
  });

  it('keeps a well-formed incoming id and replaces a malformed one', async () => {
    const kept = await fetch(`${stack.publicUrl}/healthz`, { headers: { 'x-request-id': 'trace-abc.123_x' } });
    expect(kept.headers.get('x-request-id')).toBe('trace-abc.123_x');
    for (const malformed of ['has space', 'x'.repeat(65), 'semi;colon', 'quote"d']) {
      const replaced = (await fetch(`${stack.publicUrl}/healthz`, { headers: { 'x-request-id': malformed } })).headers.get('x-request-id');
      expect(replaced).toMatch(GENERATED);
      expect(replaced).not.toBe(malformed);
    }
  });

  it('is on errors and pages too: 404, OAuth errors', async () => {
    const missing = await fetch(`${stack.publicUrl}/nowhere`, { headers: { 'x-request-id': 'missing-1' } });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('x-request-id')).toBe('missing-1');
    const refused = await tokenRequest(stack.publicUrl, { grant_type: 'authorization_code', code: 'nope', client_id: 'nobody' }, { 'x-request-id': 'token-err-1' });
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(refused.headers.get('x-request-id')).toBe('token-err-1');
    expect(linesWith('token-err-1').some((entry) => entry.audit === true && entry.event === 'token_refused')).toBe(true);
  });

  it('goes to the MCP server, comes back on the streamed response, and is on the audit line with the access line', async () => {
    const response = await mcpPost(stack.mcpUrl, token, undefined, { 'x-request-id': 'mcp-call-7' });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toBe('mcp-call-7');
    await response.text();
    expect(stack.demo.requests.at(-1)?.headers['x-request-id']).toBe('mcp-call-7');
    const lines = linesWith('mcp-call-7');
    expect(lines.find((entry) => entry.msg === 'request')).toMatchObject({ path: '/mcp', status: 200 });
    expect(lines.find((entry) => entry.audit === true)).toMatchObject({ event: 'mcp_request', route: '/mcp', status: 200, outcome: 'allowed' });
  });

  it('the MCP server gets the proxy’s id, not a malformed one the client sent', async () => {
    const response = await mcpPost(stack.mcpUrl, token, undefined, { 'x-request-id': 'bad id with spaces' });
    const id = response.headers.get('x-request-id');
    await response.text();
    expect(id).toMatch(GENERATED);
    expect(stack.demo.requests.at(-1)?.headers['x-request-id']).toBe(id);
    expect(linesWith(id!).some((entry) => entry.audit === true && entry.event === 'mcp_request')).toBe(true);
  });

  it('is on the audit line of a token issue, and on a refused MCP request', async () => {
    const client = await register(stack.publicUrl);
    const callback = await signIn(stack.publicUrl, client, { login: 'alice' });
    const issued = await tokenRequest(
      stack.publicUrl,
      {
        grant_type: 'authorization_code',
        code: callback.searchParams.get('code')!,
        client_id: client.client_id,
        redirect_uri: client.redirect_uris[0],
        code_verifier: 'a-test-code-verifier-that-is-long-enough-for-pkce-0123456789',
        resource: stack.mcpUrl,
      },
      { 'x-request-id': 'issue-1' },
    );
    expect(issued.status).toBe(200);
    expect(issued.headers.get('x-request-id')).toBe('issue-1');
    expect(linesWith('issue-1').find((entry) => entry.audit === true)).toMatchObject({ event: 'token_issued' });

    const unauthorized = await mcpPost(stack.mcpUrl, 'not-a-token', undefined, { 'x-request-id': 'unauth-1' });
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.headers.get('x-request-id')).toBe('unauth-1');
    expect(linesWith('unauth-1').find((entry) => entry.audit === true)).toMatchObject({ event: 'mcp_request', outcome: 'denied' });
  });

  it('is on the answer and the warning when the downstream cannot be reached', async () => {
    const response = await mcpPost(`${stack.publicUrl}/down`, undefined, undefined, { 'x-request-id': 'down-1' });
    expect(response.status).toBe(502);
    expect(response.headers.get('x-request-id')).toBe('down-1');
    expect(linesWith('down-1').some((entry) => entry.level === 'warn' && entry.msg === 'downstream request failed')).toBe(true);
  });
});
