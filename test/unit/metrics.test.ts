import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { createMetricsApp, requestMetrics } from '../../src/http/metrics.js';
import { Metrics } from '../../src/observability/metrics.js';
import { escapeLabelValue, PROMETHEUS_CONTENT_TYPE, Registry } from '../../src/observability/prometheus.js';
import { ClientCredentialsTokens } from '../../src/downstream/client-credentials/index.js';
import { FetchCache } from '../../src/oauth/cimd/fetch-cache.js';
import { countingUpstreamErrors } from '../../src/upstream/counting-client.js';
import { UpstreamError, type UpstreamClient } from '../../src/upstream/upstream-client.js';

/** The sample lines of a rendering (no comments), for order-insensitive checks. */
function samples(text: string): string[] {
  return text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
}

describe('Prometheus text format', () => {
  it('renders HELP and TYPE lines, then one sample per label set', () => {
    const registry = new Registry();
    const requests = registry.counter({ name: 'app_requests_total', help: 'Requests.', labelNames: ['route', 'status'] });
    requests.inc({ route: '/mcp', status: 200 });
    requests.inc({ route: '/mcp', status: 200 }, 2);
    requests.inc({ route: '/token', status: 400 });
    const open = registry.gauge({ name: 'app_open', help: 'Open things.' });
    open.inc();
    open.inc();
    open.dec();
    expect(registry.render()).toBe(
      [
        '# HELP app_requests_total Requests.',
        '# TYPE app_requests_total counter',
        'app_requests_total{route="/mcp",status="200"} 3',
        'app_requests_total{route="/token",status="400"} 1',
        '# HELP app_open Open things.',
        '# TYPE app_open gauge',
        'app_open 1',
        '',
      ].join('\n'),
    );
    expect(requests.get({ route: '/mcp', status: 200 })).toBe(3);
    expect(requests.get({ route: '/none', status: 200 })).toBe(0);
  });

  it('escapes label values (backslash, double quote, newline) and HELP text (backslash, newline)', () => {
    expect(escapeLabelValue('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
    const registry = new Registry();
    const counter = registry.counter({ name: 'x_total', help: 'Line one\nback\\slash "quoted"', labelNames: ['v'] });
    counter.inc({ v: 'say "hi"\\\n' });
    const text = registry.render();
    expect(text).toContain('# HELP x_total Line one\\nback\\\\slash "quoted"\n');
    expect(text).toContain('x_total{v="say \\"hi\\"\\\\\\n"} 1\n');
    // Every line is one physical line: nothing a value contains can start a new sample.
    expect(text.split('\n').filter(Boolean)).toHaveLength(3);
  });

  it('renders histograms with cumulative buckets, +Inf, _sum and _count per label set', () => {
    const registry = new Registry();
    const histogram = registry.histogram({ name: 'lat_seconds', help: 'Latency.', labelNames: ['route'], buckets: [0.1, 0.5, 1] });
    for (const value of [0.05, 0.1, 0.3, 0.7, 3]) histogram.observe({ route: '/a' }, value);
    histogram.observe({ route: '/b' }, 0.2);
    const lines = samples(registry.render());
    expect(lines).toEqual([
      'lat_seconds_bucket{route="/a",le="0.1"} 2',
      'lat_seconds_bucket{route="/a",le="0.5"} 3',
      'lat_seconds_bucket{route="/a",le="1"} 4',
      'lat_seconds_bucket{route="/a",le="+Inf"} 5',
      'lat_seconds_sum{route="/a"} 4.15',
      'lat_seconds_count{route="/a"} 5',
      'lat_seconds_bucket{route="/b",le="0.1"} 0',
      'lat_seconds_bucket{route="/b",le="0.5"} 1',
      'lat_seconds_bucket{route="/b",le="1"} 1',
      'lat_seconds_bucket{route="/b",le="+Inf"} 1',
      'lat_seconds_sum{route="/b"} 0.2',
      'lat_seconds_count{route="/b"} 1',
    ]);
    expect(registry.render()).toContain('# TYPE lat_seconds histogram\n');
  });

  it('refuses bad names, a reserved le label, unsorted buckets, missing labels and decreasing counters', () => {
    const registry = new Registry();
    expect(() => registry.counter({ name: 'bad-name', help: '' })).toThrow(/metric name/);
    expect(() => registry.counter({ name: 'ok_total', help: '', labelNames: ['__reserved'] })).toThrow(/label name/);
    expect(() => registry.histogram({ name: 'h', help: '', labelNames: ['le'] })).toThrow(/label name/);
    expect(() => registry.histogram({ name: 'h2', help: '', buckets: [1, 0.5] })).toThrow(/increasing/);
    const counter = registry.counter({ name: 'c_total', help: '', labelNames: ['a', 'b'] });
    expect(() => counter.inc({ a: 'x' } as never)).toThrow(/missing label b/);
    expect(() => counter.inc({ a: 'x', b: 'y' }, -1)).toThrow(/decrease/);
    expect(() => registry.counter({ name: 'c_total', help: '' })).toThrow(/already registered/);
  });

  it('bounds the number of label sets a family keeps', () => {
    const registry = new Registry();
    const counter = registry.counter({ name: 'paths_total', help: 'Paths.', labelNames: ['path'], maxSeries: 3 });
    for (let index = 0; index < 10; index++) counter.inc({ path: `/p${index}` });
    counter.inc({ path: '/p0' });
    expect(samples(registry.render())).toEqual(['paths_total{path="/p0"} 2', 'paths_total{path="/p1"} 1', 'paths_total{path="/p2"} 1']);
  });

  it('reads collected gauges at render time and leaves out what cannot be read', () => {
    const registry = new Registry();
    let value: number | undefined = 5;
    registry.gauge({ name: 'collected', help: 'Read when scraped.', collect: () => value });
    expect(samples(registry.render())).toEqual(['collected 5']);
    value = undefined;
    expect(samples(registry.render())).toEqual([]);
    value = Infinity;
    expect(samples(registry.render())).toEqual(['collected +Inf']);
  });
});

describe('the proxy metrics', () => {
  it('declares every family up front, with the replay store healthy and process basics', () => {
    const metrics = new Metrics();
    const text = metrics.render();
    for (const name of [
      'mcp_capsule_http_requests_total counter',
      'mcp_capsule_http_request_duration_seconds histogram',
      'mcp_capsule_logins_total counter',
      'mcp_capsule_tokens_issued_total counter',
      'mcp_capsule_token_errors_total counter',
      'mcp_capsule_policy_denials_total counter',
      'mcp_capsule_upstream_errors_total counter',
      'mcp_capsule_downstream_errors_total counter',
      'mcp_capsule_cache_lookups_total counter',
      'mcp_capsule_sse_streams_open gauge',
      'mcp_capsule_replay_store_degraded gauge',
      'process_resident_memory_bytes gauge',
      'process_start_time_seconds gauge',
    ]) {
      expect(text).toContain(`# TYPE ${name}\n`);
    }
    expect(text).toContain('\nmcp_capsule_replay_store_degraded 0\n');
    metrics.replayStoreDegraded.set(undefined, 1);
    expect(metrics.render()).toContain('\nmcp_capsule_replay_store_degraded 1\n');
    expect(text).toMatch(/\nprocess_resident_memory_bytes \d+\n/);
    const start = Number(/\nprocess_start_time_seconds ([\d.]+)\n/.exec(text)?.[1]);
    expect(Math.abs(start - Date.now() / 1000)).toBeLessThan(24 * 3600);
  });

  it('closes an open stream once, however often its end is reported', () => {
    const metrics = new Metrics({ processMetrics: false });
    const close = metrics.openStream('/mcp');
    metrics.openStream('/mcp');
    expect(metrics.sseStreamsOpen.get({ route: '/mcp' })).toBe(2);
    close();
    close();
    expect(metrics.sseStreamsOpen.get({ route: '/mcp' })).toBe(1);
  });

  it('labels requests by route pattern, never by raw path, and leaves scrapes out', async () => {
    const metrics = new Metrics({ processMetrics: false });
    const app = new Hono();
    app.use(requestMetrics(metrics));
    app.get('/metrics', (c) => c.text('scrape'));
    app.get('/items/:id', (c) => c.text('item'));
    app.post('/fail', () => {
      throw new Error('boom');
    });
    app.onError((_error, c) => c.text('error', 500));
    await app.request('/items/1');
    await app.request('/items/2');
    await app.request('/random/path/1');
    await app.request('/random/path/2', { method: 'PROPFIND' });
    await app.request('/fail', { method: 'POST' });
    await app.request('/metrics');
    expect(samples(metrics.registry.render()).filter((line) => line.startsWith('mcp_capsule_http_requests_total'))).toEqual([
      'mcp_capsule_http_requests_total{route="/items/:id",method="GET",status="200"} 2',
      'mcp_capsule_http_requests_total{route="other",method="GET",status="404"} 1',
      'mcp_capsule_http_requests_total{route="other",method="other",status="404"} 1',
      'mcp_capsule_http_requests_total{route="/fail",method="POST",status="500"} 1',
    ]);
    expect(metrics.httpRequestDuration.get({ route: '/items/:id' }).count).toBe(2);
    expect(metrics.httpRequestDuration.get({ route: '/metrics' }).count).toBe(0);
  });

  it('serves the exposition format, uncached, from a standalone app', async () => {
    const metrics = new Metrics({ processMetrics: false });
    metrics.logins.inc({ result: 'success' });
    const app = createMetricsApp(metrics);
    const response = await app.request('/metrics');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(PROMETHEUS_CONTENT_TYPE);
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.text()).toContain('mcp_capsule_logins_total{result="success"} 1\n');
    expect((await app.request('/other')).status).toBe(404);
  });
});

describe('what feeds the metrics', () => {
  it('counts the kinds of upstream errors of every call but ready()', async () => {
    const kinds: string[] = [];
    const failing = {
      ready: async () => {
        throw new UpstreamError('unavailable', 'discovery');
      },
      authorizationUrl: async () => new URL('https://idp.example/authorize'),
      completeLogin: async () => {
        throw new UpstreamError('unavailable', 'down');
      },
      refresh: async () => {
        throw new UpstreamError('invalid_grant', 'expired');
      },
      revoke: async () => {
        throw new Error('not an UpstreamError');
      },
    } as unknown as UpstreamClient;
    const client = countingUpstreamErrors(failing, (kind) => kinds.push(kind));
    await expect(client.ready()).rejects.toThrow(UpstreamError);
    expect((await client.authorizationUrl({ state: 's', codeVerifier: 'v', nonce: 'n' }, 'https://proxy/cb')).href).toBe('https://idp.example/authorize');
    await expect(client.completeLogin(new URL('https://proxy/cb'), { state: 's', codeVerifier: 'v', nonce: 'n' }, 'https://proxy/cb')).rejects.toThrow(UpstreamError);
    await expect(client.refresh('r')).rejects.toThrow(UpstreamError);
    await expect((client as unknown as { revoke: () => Promise<unknown> }).revoke()).rejects.toThrow('not an UpstreamError');
    expect(kinds).toEqual(['unavailable', 'invalid_grant']);
  });

  it('reports client-credentials token cache hits and misses', async () => {
    const lookups: boolean[] = [];
    const tokens = new ClientCredentialsTokens({
      fetch: async () => new Response(JSON.stringify({ access_token: 'at-1', token_type: 'Bearer', expires_in: 3600 }), { headers: { 'content-type': 'application/json' } }),
      onCacheLookup: (hit) => lookups.push(hit),
    });
    const request = { tokenUrl: 'https://idp.example/token', clientId: 'svc', clientSecret: 'svc-secret-0123456789', scopes: [], authMethod: 'client_secret_basic' as const };
    await tokens.getToken(request);
    await tokens.getToken(request);
    expect(lookups).toEqual([false, true]);
  });

  it('reports metadata-document cache hits and misses', async () => {
    const lookups: boolean[] = [];
    const cache = new FetchCache<string>(10, Date.now, (hit) => lookups.push(hit));
    const load = async () => ({ value: 'doc', ttlSeconds: 60 });
    await cache.get('https://client.example/meta', load);
    await cache.get('https://client.example/meta', load);
    expect(lookups).toEqual([false, true]);
  });
});
