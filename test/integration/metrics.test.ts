import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.js';
import { connectWithOAuth, TestOAuthProvider, textOf } from '../support/mcp-client.js';
import { mcpPost, redeemCode, register, signIn, tokenRequest } from '../support/oauth-flow.js';
import { freePort } from '../support/ports.js';
import { Stack } from '../support/stack.js';

/** Sample values of a scrape by series (`name{labels}` exactly as rendered). */
function parseScrape(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    values.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return values;
}

async function scrape(url: string): Promise<Map<string, number>> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  return parseScrape(await response.text());
}

describe('Prometheus metrics on the main listener', () => {
  let stack: Stack;
  let closedPort: number;

  beforeAll(async () => {
    closedPort = await freePort();
    stack = await Stack.start({
      routesFromDemo: (demoUrl) => [
        { path: '/mcp', url: demoUrl, policy: { emails: ['alice@example.test'] }, tools: { disabled: ['whoami'] } },
        { path: '/down', url: `http://127.0.0.1:${closedPort}/mcp`, auth: 'none', timeout: 2 },
      ],
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  const metricsUrl = () => `${stack.publicUrl}/metrics`;

  it('serves the exposition format, uncached', async () => {
    const response = await fetch(metricsUrl());
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-store');
    const text = await response.text();
    expect(text).toContain('# TYPE mcp_capsule_http_requests_total counter\n');
    expect(text.endsWith('\n')).toBe(true);
  });

  it('counts a login, the token issue, MCP requests and their event streams, and a refused tool call', async () => {
    const provider = new TestOAuthProvider({ login: 'alice' });
    const { client } = await connectWithOAuth(stack.mcpUrl, provider);
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'counted' } }))).toBe('counted');
    await client.callTool({ name: 'whoami', arguments: {} }).then(
      () => expect.unreachable('whoami is disabled on this route'),
      () => undefined,
    );
    // The SDK keeps a GET event stream open while connected.
    await eventually(async () => ((await scrape(metricsUrl())).get('mcp_capsule_sse_streams_open{route="/mcp"}') ?? 0) >= 1);
    await client.close();
    await eventually(async () => (await scrape(metricsUrl())).get('mcp_capsule_sse_streams_open{route="/mcp"}') === 0);

    const values = await scrape(metricsUrl());
    expect(values.get('mcp_capsule_logins_total{result="success"}')).toBe(1);
    expect(values.get('mcp_capsule_tokens_issued_total{grant_type="authorization_code"}')).toBe(1);
    expect(values.get('mcp_capsule_http_requests_total{route="/mcp",method="POST",status="200"}')).toBeGreaterThanOrEqual(3);
    expect(values.get('mcp_capsule_http_requests_total{route="/mcp",method="POST",status="401"}')).toBeGreaterThanOrEqual(1);
    expect(values.get('mcp_capsule_http_requests_total{route="/token",method="POST",status="200"}')).toBe(1);
    expect(values.get('mcp_capsule_http_requests_total{route="/oauth/callback",method="GET",status="302"}')).toBe(1);
    expect(values.get('mcp_capsule_http_request_duration_seconds_count{route="/mcp"}')).toBeGreaterThanOrEqual(4);
    expect(values.get('mcp_capsule_http_request_duration_seconds_bucket{route="/mcp",le="+Inf"}')).toBe(
      values.get('mcp_capsule_http_request_duration_seconds_count{route="/mcp"}'),
    );
    expect(values.get('mcp_capsule_policy_denials_total{stage="tool"}')).toBe(1);
    // Scrapes themselves are not counted.
    expect([...values.keys()].some((series) => series.includes('route="/metrics"'))).toBe(false);
  });

  it('counts a sign-in the route policy refuses, and token errors', async () => {
    const client = await register(stack.publicUrl);
    const callback = await signIn(stack.publicUrl, client, { login: 'mallory' });
    expect(callback.searchParams.get('error')).toBe('access_denied');
    await fetch(`${stack.publicUrl}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'password', client_id: client.client_id }).toString(),
    });
    const values = await scrape(metricsUrl());
    expect(values.get('mcp_capsule_policy_denials_total{stage="sign-in"}')).toBe(1);
    expect(values.get('mcp_capsule_logins_total{result="denied"}')).toBe(1);
    expect(values.get('mcp_capsule_token_errors_total{error="unsupported_grant_type"}')).toBe(1);
  });

  it('counts policy denials at request and at refresh, where the policy changed', async () => {
    const client = await register(stack.publicUrl);
    const callback = await signIn(stack.publicUrl, client, { login: 'alice' });
    const tokens = (await redeemCode(stack.publicUrl, client, callback.searchParams.get('code')!)).body;
    // Another instance of the deployment, with alice no longer on the list; each instance has its own counters.
    const stricter = await stack.startSibling({
      settings: { routes: [{ path: '/mcp', url: stack.demo.url, policy: { emailDomains: ['corp.test'] } }] },
    });
    expect((await mcpPost(`${stricter.url}/mcp`, tokens.access_token as string)).status).toBe(403);
    const refresh = await tokenRequest(stricter.url, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token as string, client_id: client.client_id });
    expect(refresh.status).toBe(400);
    const values = await scrape(`${stricter.url}/metrics`);
    expect(values.get('mcp_capsule_policy_denials_total{stage="request"}')).toBe(1);
    expect(values.get('mcp_capsule_policy_denials_total{stage="refresh"}')).toBe(1);
    expect(values.get('mcp_capsule_token_errors_total{error="invalid_grant"}')).toBe(1);
    expect(values.get('mcp_capsule_http_requests_total{route="/mcp",method="POST",status="403"}')).toBe(1);
  });

  it('counts downstream failures by route and kind, and labels unknown paths "other"', async () => {
    const refused = await mcpPost(`${stack.publicUrl}/down`, undefined);
    expect(refused.status).toBe(502);
    await fetch(`${stack.publicUrl}/no/such/path/${Math.random()}`);
    const values = await scrape(metricsUrl());
    expect(values.get('mcp_capsule_downstream_errors_total{route="/down",kind="connect_refused"}')).toBe(1);
    expect(values.get('mcp_capsule_http_requests_total{route="/down",method="POST",status="502"}')).toBe(1);
    expect(values.get('mcp_capsule_http_requests_total{route="other",method="GET",status="404"}')).toBeGreaterThanOrEqual(1);
    expect([...values.keys()].some((series) => series.includes('/no/such/path'))).toBe(false);
  });
});

describe('Prometheus metrics on a separate port', () => {
  let stack: Stack;
  let metricsPort: number;

  beforeAll(async () => {
    metricsPort = await freePort();
    stack = await Stack.start({ extra: { metrics: { port: metricsPort } } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('serves /metrics only on the metrics port, on the same host', async () => {
    expect((await fetch(`${stack.publicUrl}/metrics`)).status).toBe(404);
    expect(stack.proxies[0]!.metricsUrl).toBe(`http://127.0.0.1:${metricsPort}/metrics`);
    await fetch(`${stack.publicUrl}/healthz`);
    const response = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const values = parseScrape(await response.text());
    // The main listener's requests are counted there, its 404 for /metrics included.
    expect(values.get('mcp_capsule_http_requests_total{route="/healthz",method="GET",status="200"}')).toBe(1);
    expect(values.get('mcp_capsule_http_requests_total{route="other",method="GET",status="404"}')).toBe(1);
    expect((await fetch(`http://127.0.0.1:${metricsPort}/healthz`)).status).toBe(404);
  });

  it('stops the metrics listener with the proxy', async () => {
    const sibling = await stack.startSibling({ settings: { metrics: { port: await freePort() } } });
    const url = sibling.proxy.metricsUrl!;
    expect((await fetch(url)).status).toBe(200);
    await sibling.proxy.close(100);
    await expect(fetch(url)).rejects.toThrow();
  });
});
